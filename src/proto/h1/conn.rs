//! The HTTP/1.1 connection lifecycle, sans-IO: one state machine for the read side, the
//! response count and the keep-alive decision, with the reason the connection ends as data.
//!
//! ```text
//!   read side                                                  responses (in request order)
//!   ─────────                                                  ────────────────────────────
//!   Head ──head, no body──────────────────────────► Head       written: 0, 1, 2, ...
//!    │  └─head + body──► Body(seq) ──body done────► Head       response_written(seq, end):
//!    │                     │ (read by the loop up to             keep_alive == false
//!    │                     │  `preread`, then by the handler)      ─► reading ends after seq
//!    ├─head, may switch ─► Switching(seq) ──response seq──► Head | Upgraded
//!    ├─Connection: close / HTTP/1.0 / a bad head / EOF / a broken body / shutdown ─► Ended
//!    └─too many responses pending: `parse` waits (no state change)
//!
//!   finished() when reading has ended and every request read has its response written.
//! ```
//!
//! The runtime owns the bytes (input buffer, output queue) and the socket; it asks this
//! machine what to do with them. Nothing here reads a clock: functions that need the time are
//! handed an `Instant`.
//!
//! # Invariants
//! - Requests are numbered 0, 1, 2, ... in arrival order; responses are written in the same
//!   order, so `written <= next_seq` always, and `written == next_seq` means nothing is
//!   pending.
//! - Once reading has ended (`read_end` is set) no request is numbered at or past it, and the
//!   first [`CloseReason`] recorded is the one reported: later ones never overwrite it.
//! - A request with a body is followed by the next head only once its body is complete: the
//!   body's framing alone says where the next request starts.
//! - [`persists`] is the only place that decides whether a connection carries another
//!   request after a response.

use std::time::{Duration, Instant};

use crate::proto::error::ProtoError;
use crate::proto::h1::decode::BodyDecoder;
use crate::proto::h1::head::{parse_head, BodyKind, HeadLimits, RequestHead};
use crate::types::StatusCode;

/// Why a connection ends (or stopped reading requests). Logged with [`explain`], and it says
/// what the client gets when no response is under way ([`status`]).
///
/// [`explain`]: CloseReason::explain
/// [`status`]: CloseReason::status
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The client closed its side (end of stream) between requests.
    ClientClosed,
    /// The client closed its side in the middle of a request head or body.
    ClientClosedEarly,
    /// The request said `Connection: close`.
    ClientAskedClose,
    /// An HTTP/1.0 request without `Connection: keep-alive`.
    Http10,
    /// The request broke the protocol; answered with the error's status.
    ProtocolError(ProtoError),
    /// The request body could not be read to its end (bad framing, early end, too slow, or
    /// the handler answered without reading it and it could not be drained).
    BodyUnread,
    /// A request head did not arrive in time (slowloris); answered 408.
    HeadTimeout,
    /// A request body did not arrive in time while the server read it; answered 408.
    BodyTimeout,
    /// A keep-alive connection stayed idle past the idle timeout.
    IdleTimeout,
    /// The client did not accept response bytes in time (stopped reading, or too slowly).
    WriteTimeout,
    /// The TLS handshake did not complete in time.
    HandshakeTimeout,
    /// The TLS handshake failed.
    HandshakeFailed,
    /// A response said the connection closes after it (close-delimited body, an error while
    /// producing it, a raw writer).
    ResponseClose,
    /// The connection switched protocols (`upgrade`); the upgraded stream owns it now.
    Upgrade,
    /// Reading or writing the socket failed.
    IoError,
    /// The server is shutting down.
    Shutdown,
}

impl CloseReason {
    /// A short explanation for logs.
    pub(crate) fn explain(&self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client closed the connection",
            CloseReason::ClientClosedEarly => "client closed the connection mid-request",
            CloseReason::ClientAskedClose => "client asked to close",
            CloseReason::Http10 => "HTTP/1.0 request without keep-alive",
            CloseReason::ProtocolError(e) => e.explain(),
            CloseReason::BodyUnread => "request body not read to its end",
            CloseReason::HeadTimeout => "request head not received in time",
            CloseReason::BodyTimeout => "request body not received in time",
            CloseReason::IdleTimeout => "keep-alive connection idle too long",
            CloseReason::WriteTimeout => "client did not accept the response in time",
            CloseReason::HandshakeTimeout => "TLS handshake not completed in time",
            CloseReason::HandshakeFailed => "TLS handshake failed",
            CloseReason::ResponseClose => "the response ends the connection",
            CloseReason::Upgrade => "switched protocols",
            CloseReason::IoError => "socket error",
            CloseReason::Shutdown => "server shutting down",
        }
    }

    /// The status the client is answered with when nothing of a response to the request in
    /// progress was written yet; `None`: close without a word.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            CloseReason::ProtocolError(e) => e.status(),
            // RFC 9110 §15.5.9: the server did not receive a complete request in time.
            CloseReason::HeadTimeout | CloseReason::BodyTimeout => Some(StatusCode(408)),
            _ => None,
        }
    }

    /// Whether this is routine (logged at `trace`) rather than worth an `info` line.
    pub(crate) fn is_routine(&self) -> bool {
        matches!(
            self,
            CloseReason::ClientClosed
                | CloseReason::ClientAskedClose
                | CloseReason::Http10
                | CloseReason::ResponseClose
                | CloseReason::Upgrade
                | CloseReason::Shutdown
        )
    }

    /// Whether the client may still be sending when we close: then the server drains its
    /// bytes for a moment (lingering close, RFC 9112 §9.6) so that a reset does not destroy
    /// the last response before the client has read it.
    pub(crate) fn lingers(&self) -> bool {
        !matches!(
            self,
            CloseReason::ClientClosed
                | CloseReason::ClientClosedEarly
                | CloseReason::IoError
                | CloseReason::WriteTimeout
                | CloseReason::HandshakeTimeout
                | CloseReason::HandshakeFailed
                | CloseReason::Upgrade
        )
    }
}

/// Limits on the read side. Configuration: passed in, never stored beside live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadLimits {
    /// Limits on one request head.
    pub(crate) head: HeadLimits,
    /// Most requests read ahead of their responses; beyond, parsing waits (back-pressure).
    pub(crate) max_in_flight: u64,
    /// Bodies up to this size (decoded) are read by the event loop before the request is
    /// handed out, so that a slow sender never holds a handler. (The runtime hands a chunked
    /// body's request out once it has read what arrived: its length is unknown.)
    pub(crate) preread: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            head: HeadLimits::default(),
            max_in_flight: 32,
            preread: 64 * 1024,
        }
    }
}

/// Read-side deadlines (`None` disables one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadTimeouts {
    /// From the first byte of a head to its end.
    pub(crate) head: Option<Duration>,
    /// A connection with nothing in progress.
    pub(crate) idle: Option<Duration>,
    /// Longest wait for the next body bytes.
    pub(crate) body_stall: Option<Duration>,
    /// Minimum average body rate (bytes/s), enforced once the grace period has passed.
    pub(crate) min_body_rate: Option<(u64, Duration)>,
}

/// Who reads a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyReader {
    /// The event loop, before the request is handed out (a body small enough to buffer).
    Loop,
    /// The handler, at its own pace.
    Handler,
}

/// What follows a request once its body (if any) is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// The next request head.
    Next,
    /// Nothing: reading ends for this reason.
    End(CloseReason),
    /// Parsing waits for this request's response (it may switch protocols).
    Switch,
}

/// A request body in progress.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    /// The request it belongs to.
    pub(crate) seq: u64,
    /// Its framing, and where it stands.
    pub(crate) decoder: BodyDecoder,
    /// Who reads it now.
    pub(crate) reader: BodyReader,
    /// When reading it started, and when bytes last arrived (the rate and stall clocks).
    pub(crate) started: Instant,
    pub(crate) last_progress: Instant,
    /// Body bytes received so far (framing included).
    pub(crate) received: u64,
    after: After,
}

/// Where the read side is.
#[derive(Debug, Clone)]
pub(crate) enum ReadState {
    /// Waiting for a request head; `started` is when its first byte arrived.
    Head { started: Option<Instant> },
    /// A request body is being received.
    Body(Body),
    /// Request `seq` may switch protocols: its following bytes belong to its handler until
    /// its response is written, so nothing is parsed.
    Switching { seq: u64 },
    /// The connection switched protocols: bytes belong to the upgraded stream.
    Upgraded,
    /// No more requests will be read.
    Ended,
}

/// How a parsed request's body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyPlan {
    /// No body.
    None,
    /// The event loop reads it first (up to [`ReadLimits::preread`]); hand the request out
    /// when [`Lifecycle::body`] is done or handed to the handler.
    Preread,
    /// Hand the request out now; the handler reads the body.
    Stream,
}

/// What [`Lifecycle::parse`] found.
#[derive(Debug)]
pub(crate) enum Parse {
    /// Nothing to do until more bytes arrive (or responses catch up, or the state changes).
    Wait,
    /// A request head, numbered `seq`, that used the first `used` bytes of the input.
    Request {
        seq: u64,
        head: RequestHead,
        used: usize,
        body: BodyPlan,
    },
    /// The input breaks the protocol: answer response number `seq` with the error's status
    /// (if any) and close. Reading has ended.
    Error { seq: u64, error: ProtoError },
}

/// How a response ended, as the writer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseEnd {
    /// The connection may carry the next request.
    KeepAlive,
    /// The connection closes after this response.
    Close,
    /// The connection switched protocols after this response.
    Upgrade,
}

/// Everything that decides whether a connection persists after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Persistence {
    /// The request allows it: HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
    /// `Connection: keep-alive`, and it is not the last request before reading ended.
    pub(crate) request: bool,
    /// The request body was read to its end (or drained).
    pub(crate) body_complete: bool,
    /// The response's length is known to the client (not delimited by closing).
    pub(crate) delimited: bool,
    /// The server is not closing this connection (shutdown, an error).
    pub(crate) server: bool,
}

/// THE keep-alive decision (RFC 9112 §9.3, §9.6): a connection carries another request
/// after a response only when the request asked for persistence, its body was consumed
/// entirely (otherwise the next request's start is unknown), the response is self-delimited,
/// and the server is not closing the connection.
pub(crate) fn persists(p: Persistence) -> bool {
    p.request && p.body_complete && p.delimited && p.server
}

/// The read side and response count of one HTTP/1.1 connection.
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    read: ReadState,
    /// The number the next request parsed gets.
    next_seq: u64,
    /// Responses completely written: requests `0..written` are done.
    written: u64,
    /// No request is numbered at or past this (set when reading ends).
    read_end: Option<u64>,
    /// Why the connection ends, once known (the first reason wins).
    reason: Option<CloseReason>,
    /// The connection must close now, without waiting for pending responses.
    abort: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl Lifecycle {
    /// A connection that has read nothing yet.
    pub(crate) fn new() -> Lifecycle {
        Lifecycle {
            read: ReadState::Head { started: None },
            next_seq: 0,
            written: 0,
            read_end: None,
            reason: None,
            abort: false,
        }
    }

    /// Where the read side is.
    pub(crate) fn read_state(&self) -> &ReadState {
        &self.read
    }

    /// The request body in progress, if any.
    pub(crate) fn body(&mut self) -> Option<&mut Body> {
        match &mut self.read {
            ReadState::Body(body) => Some(body),
            _ => None,
        }
    }

    /// The number the next parsed request gets (= how many were parsed).
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Requests parsed whose responses are not written yet.
    pub(crate) fn in_flight(&self) -> u64 {
        self.next_seq - self.written
    }

    /// Why the connection ends, once known.
    pub(crate) fn reason(&self) -> Option<CloseReason> {
        self.reason
    }

    /// Whether reading goes on: the event loop should read the socket for heads (or a body
    /// it pre-reads).
    pub(crate) fn wants_input(&self, limits: &ReadLimits) -> bool {
        match &self.read {
            ReadState::Head { .. } => self.in_flight() < limits.max_in_flight,
            ReadState::Body(body) => body.reader == BodyReader::Loop,
            _ => false,
        }
    }

    /// Whether request `seq` allows the connection to persist after its response: it is not
    /// the last request before reading ended. (Its own `Connection` header is part of this:
    /// a request saying `close` ends reading right after itself.)
    pub(crate) fn request_persists(&self, seq: u64) -> bool {
        self.read_end.map_or(true, |end| seq + 1 < end)
    }

    /// The connection is done: it must close now. True once reading has ended and every
    /// request read has its response written, or at once after a hard failure.
    pub(crate) fn finished(&self) -> bool {
        self.abort || self.read_end.is_some_and(|end| self.written >= end)
    }

    /// Ends reading: no request is numbered `end` or beyond. The first reason is kept.
    fn end_reading(&mut self, end: u64, reason: CloseReason) {
        self.read = ReadState::Ended;
        self.read_end = Some(self.read_end.map_or(end, |e| e.min(end)));
        self.reason.get_or_insert(reason);
    }

    /// Parses the next request head from `input`, when the read side is waiting for one and
    /// fewer than `limits.max_in_flight` responses are pending. `now` starts the head
    /// deadline at its first byte.
    pub(crate) fn parse(&mut self, input: &[u8], limits: &ReadLimits, now: Instant) -> Parse {
        let ReadState::Head { started } = &mut self.read else {
            return Parse::Wait;
        };
        if input.is_empty() || self.next_seq - self.written >= limits.max_in_flight {
            return Parse::Wait;
        }
        let (head, used) = match parse_head(input, &limits.head) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => {
                started.get_or_insert(now);
                return Parse::Wait;
            }
            Err(error) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.end_reading(seq + 1, CloseReason::ProtocolError(error));
                return Parse::Error { seq, error };
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let after = if !head.keep_alive {
            After::End(if head.version.at_least_1_1() {
                CloseReason::ClientAskedClose
            } else {
                CloseReason::Http10
            })
        } else if head.may_switch {
            After::Switch
        } else {
            After::Next
        };
        let plan = match head.body {
            // A zero length is no body to read (`body_length()` still says 0).
            BodyKind::Empty | BodyKind::Length(0) => BodyPlan::None,
            // An interim `100 Continue` goes out only when the handler reads: the client
            // waits for it, so the loop must not wait for the body.
            _ if head.expect_continue || limits.preread == 0 => BodyPlan::Stream,
            BodyKind::Length(n) if n > limits.preread => BodyPlan::Stream,
            BodyKind::Length(_) | BodyKind::Chunked => BodyPlan::Preread,
        };
        if plan == BodyPlan::None {
            self.follow(seq, after);
        } else {
            self.read = ReadState::Body(Body {
                seq,
                decoder: BodyDecoder::new(&head.body, limits.head.max_body_size),
                reader: if plan == BodyPlan::Preread {
                    BodyReader::Loop
                } else {
                    BodyReader::Handler
                },
                started: now,
                last_progress: now,
                received: 0,
                after,
            });
        }
        Parse::Request {
            seq,
            head,
            used,
            body: plan,
        }
    }

    /// Moves on after request `seq` (its body, if any, complete).
    fn follow(&mut self, seq: u64, after: After) {
        match after {
            After::Next => self.read = ReadState::Head { started: None },
            After::Switch => self.read = ReadState::Switching { seq },
            After::End(reason) => self.end_reading(seq + 1, reason),
        }
    }

    /// The body in progress is complete: the read side moves on (next head, switching, or
    /// end). No effect without a body in progress.
    pub(crate) fn body_done(&mut self) {
        if let ReadState::Body(body) = &self.read {
            let (seq, after) = (body.seq, body.after);
            self.follow(seq, after);
        }
    }

    /// The loop stops pre-reading the body in progress: the handler reads the rest.
    pub(crate) fn body_to_handler(&mut self) {
        if let ReadState::Body(body) = &mut self.read {
            body.reader = BodyReader::Handler;
        }
    }

    /// The body in progress will not be read to its end: its request is the last one.
    pub(crate) fn body_failed(&mut self, reason: CloseReason) {
        if let ReadState::Body(body) = &self.read {
            let seq = body.seq;
            self.end_reading(seq + 1, reason);
        }
    }

    /// Response `seq` is completely written (responses are written in order, so all before
    /// it are too).
    pub(crate) fn response_written(&mut self, seq: u64, end: ResponseEnd) {
        self.written = self.written.max(seq + 1);
        match end {
            ResponseEnd::KeepAlive => {
                if matches!(self.read, ReadState::Switching { seq: s } if s == seq) {
                    self.read = ReadState::Head { started: None };
                }
            }
            ResponseEnd::Close => self.end_reading(seq + 1, CloseReason::ResponseClose),
            ResponseEnd::Upgrade => {
                self.reason.get_or_insert(CloseReason::Upgrade);
                self.read_end = Some(seq + 1);
                self.read = ReadState::Upgraded;
            }
        }
    }

    /// The client ended its side of the stream (end of file on a read).
    pub(crate) fn eof(&mut self) {
        let reason = match &self.read {
            ReadState::Head { started: None } => CloseReason::ClientClosed,
            ReadState::Head { started: Some(_) } | ReadState::Body(_) => {
                CloseReason::ClientClosedEarly
            }
            // The handler of the switching request or the upgraded stream sees it.
            ReadState::Switching { .. } | ReadState::Upgraded | ReadState::Ended => return,
        };
        // A request whose body was cut short is the last one; it is still answered when a
        // handler has it, and never existed for anyone when the loop was pre-reading it.
        let end = match &self.read {
            ReadState::Body(body) if body.reader == BodyReader::Handler => body.seq + 1,
            ReadState::Body(body) => body.seq,
            _ => self.next_seq,
        };
        self.end_reading(end, reason);
    }

    /// Stops reading at the next request boundary: requests already read are answered
    /// (their responses say `Connection: close` where they can), nothing more is read.
    pub(crate) fn shutdown(&mut self) {
        match &self.read {
            ReadState::Head { .. } => self.end_reading(self.next_seq, CloseReason::Shutdown),
            ReadState::Body(body) => {
                let seq = body.seq;
                if let ReadState::Body(body) = &mut self.read {
                    body.after = After::End(CloseReason::Shutdown);
                }
                self.read_end = Some(seq + 1);
                self.reason.get_or_insert(CloseReason::Shutdown);
            }
            ReadState::Switching { seq } => {
                self.read_end = Some(seq + 1);
                self.reason.get_or_insert(CloseReason::Shutdown);
            }
            ReadState::Upgraded | ReadState::Ended => {}
        }
    }

    /// The connection must close now, whatever is pending (write failure, write timeout,
    /// handshake failure).
    pub(crate) fn abort(&mut self, reason: CloseReason) {
        self.end_reading(self.next_seq, reason);
        self.abort = true;
    }

    /// A read-side deadline expired (see [`read_deadline`](Self::read_deadline)): reading
    /// ends. Returns the response to send, numbered `seq` (`408` for a request in progress),
    /// if any.
    pub(crate) fn timed_out(&mut self, what: ReadTimeout) -> Option<(u64, StatusCode)> {
        let reason = match what {
            ReadTimeout::Head => CloseReason::HeadTimeout,
            ReadTimeout::Idle => CloseReason::IdleTimeout,
            ReadTimeout::Body => CloseReason::BodyTimeout,
        };
        match &self.read {
            ReadState::Body(body) if body.reader == BodyReader::Loop => {
                // The request was never handed out: its answer is the 408.
                let seq = body.seq;
                self.end_reading(seq + 1, reason);
                reason.status().map(|status| (seq, status))
            }
            ReadState::Head { started: Some(_) } => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.end_reading(seq + 1, reason);
                reason.status().map(|status| (seq, status))
            }
            _ => {
                self.end_reading(self.next_seq, reason);
                None
            }
        }
    }

    /// The earliest read-side deadline and what it guards, given the configured timeouts and
    /// when the connection last became idle (`idle_since`). `None` while nothing is awaited
    /// from the client on the read side (a handler reads the body, or responses are pending).
    pub(crate) fn read_deadline(
        &self,
        timeouts: &ReadTimeouts,
        idle_since: Instant,
    ) -> Option<(Instant, ReadTimeout)> {
        match &self.read {
            ReadState::Head {
                started: Some(start),
            } => timeouts
                .head
                .and_then(|d| start.checked_add(d))
                .map(|at| (at, ReadTimeout::Head)),
            ReadState::Head { started: None } if self.in_flight() == 0 => timeouts
                .idle
                .and_then(|d| idle_since.checked_add(d))
                .map(|at| (at, ReadTimeout::Idle)),
            ReadState::Body(body) if body.reader == BodyReader::Loop => {
                let stall = timeouts
                    .body_stall
                    .and_then(|d| body.last_progress.checked_add(d));
                let rate = timeouts
                    .min_body_rate
                    .and_then(|rate| rate_deadline(body.started, body.received, rate));
                earliest(stall, rate).map(|at| (at, ReadTimeout::Body))
            }
            _ => None,
        }
    }
}

/// A read-side deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadTimeout {
    /// The head of a request did not complete in time.
    Head,
    /// The connection stayed idle too long.
    Idle,
    /// A body the event loop reads stalled or came too slowly.
    Body,
}

/// How long moving `bytes` may take at `rate` bytes/s, never less than `grace`; a rate of 0
/// counts as 1 byte/s.
pub(crate) fn rate_allowance(bytes: u64, (rate, grace): (u64, Duration)) -> Duration {
    let rate = u128::from(rate.max(1));
    let nanos = u128::from(bytes) * 1_000_000_000 / rate;
    let earned = u64::try_from(nanos).map_or(Duration::MAX, Duration::from_nanos);
    earned.max(grace)
}

/// When a transfer that started at `started` and moved `bytes` so far falls below `rate`.
pub(crate) fn rate_deadline(
    started: Instant,
    bytes: u64,
    rate: (u64, Duration),
) -> Option<Instant> {
    started.checked_add(rate_allowance(bytes, rate))
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
