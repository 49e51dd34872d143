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
    /// handed out, so that a slow sender never holds a handler.
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
        head: Box<RequestHead>,
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
            head: Box::new(head),
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
mod tests {
    use super::*;

    fn limits() -> ReadLimits {
        ReadLimits {
            max_in_flight: 4,
            preread: 16,
            ..ReadLimits::default()
        }
    }

    /// Parses every request in `input` (bodies are consumed as if read whole at once),
    /// answering each as it comes; returns what happened, as short strings.
    fn run(input: &[u8]) -> Vec<String> {
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match lc.parse(&input[pos..], &limits(), now) {
                Parse::Wait => break,
                Parse::Error { seq, error } => {
                    out.push(format!(
                        "#{seq} error {}",
                        error.status().map_or(0, |s| s.0)
                    ));
                    break;
                }
                Parse::Request {
                    seq,
                    head,
                    used,
                    body,
                } => {
                    pos += used;
                    out.push(format!("#{seq} {} {:?}", head.target, body));
                    if let Some(b) = lc.body() {
                        let mut sink = vec![0; 1024];
                        let (n, _) = b.decoder.decode(&input[pos..], &mut sink).unwrap();
                        pos += n;
                        assert!(b.decoder.is_done(), "body incomplete in test input");
                        lc.body_done();
                    }
                    let end = if lc.request_persists(seq) {
                        ResponseEnd::KeepAlive
                    } else {
                        ResponseEnd::Close
                    };
                    lc.response_written(seq, end);
                }
            }
        }
        out.push(format!(
            "finished={} reason={:?}",
            lc.finished(),
            lc.reason()
        ));
        out
    }

    #[test]
    fn keep_alive_then_close() {
        let got = run(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
        assert_eq!(
            got,
            [
                "#0 /a None",
                "#1 /b None",
                "finished=true reason=Some(ClientAskedClose)"
            ]
        );
    }

    #[test]
    fn http10_ends_after_one_request_unless_keep_alive() {
        let got = run(b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
        assert_eq!(got, ["#0 /a None", "finished=true reason=Some(Http10)"]);
        let got = run(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
        assert_eq!(
            got,
            [
                "#0 /a None",
                "#1 /b None",
                "finished=true reason=Some(Http10)"
            ]
        );
    }

    #[test]
    fn bodies_small_are_preread_large_or_continue_are_streamed() {
        let got = run(b"POST /s HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /e HTTP/1.1\r\n\r\n");
        assert_eq!(
            got,
            [
                "#0 /s Preread",
                "#1 /c Preread",
                "#2 /e None",
                "finished=false reason=None"
            ]
        );
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        match lc.parse(
            b"POST /big HTTP/1.1\r\nContent-Length: 17\r\n\r\n",
            &limits(),
            now,
        ) {
            Parse::Request { body, .. } => assert_eq!(body, BodyPlan::Stream),
            other => panic!("{other:?}"),
        }
        let mut lc = Lifecycle::new();
        match lc.parse(
            b"POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            &limits(),
            now,
        ) {
            Parse::Request { body, .. } => assert_eq!(body, BodyPlan::Stream),
            other => panic!("{other:?}"),
        }
        assert!(matches!(lc.read_state(), ReadState::Body(b) if b.reader == BodyReader::Handler));
    }

    #[test]
    fn a_bad_head_is_numbered_after_the_good_ones_and_ends_reading() {
        let got = run(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: x\r\n\r\n");
        assert_eq!(
            got,
            [
                "#0 /a None",
                "#1 error 400",
                "finished=false reason=Some(ProtocolError(BadRequest(\"invalid Content-Length value\")))"
            ]
        );
        // The error response is #1: once it is written, the connection is finished.
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        assert!(matches!(
            lc.parse(b"BAD\x01 / HTTP/1.1\r\n\r\n", &limits(), now),
            Parse::Error { seq: 0, .. }
        ));
        assert!(!lc.finished());
        lc.response_written(0, ResponseEnd::Close);
        assert!(lc.finished());
        assert!(matches!(
            lc.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), now),
            Parse::Wait
        ));
    }

    #[test]
    fn parsing_waits_when_too_many_responses_are_pending() {
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        let req = b"GET / HTTP/1.1\r\n\r\n";
        for seq in 0..4 {
            assert!(
                matches!(lc.parse(req, &limits(), now), Parse::Request { seq: s, .. } if s == seq)
            );
        }
        assert!(!lc.wants_input(&limits()));
        assert!(matches!(lc.parse(req, &limits(), now), Parse::Wait));
        lc.response_written(0, ResponseEnd::KeepAlive);
        assert!(lc.wants_input(&limits()));
        assert!(matches!(
            lc.parse(req, &limits(), now),
            Parse::Request { seq: 4, .. }
        ));
    }

    #[test]
    fn upgrade_candidates_pause_parsing_until_their_response() {
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        let req = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
        let Parse::Request { used, .. } = lc.parse(req, &limits(), now) else {
            panic!()
        };
        assert!(matches!(lc.read_state(), ReadState::Switching { seq: 0 }));
        assert!(matches!(
            lc.parse(&req[used..], &limits(), now),
            Parse::Wait
        ));
        // Answered without switching: parsing resumes.
        lc.response_written(0, ResponseEnd::KeepAlive);
        assert!(matches!(
            lc.parse(&req[used..], &limits(), now),
            Parse::Request { seq: 1, .. }
        ));

        let mut lc = Lifecycle::new();
        let _ = lc.parse(req, &limits(), now);
        lc.response_written(0, ResponseEnd::Upgrade);
        assert!(matches!(lc.read_state(), ReadState::Upgraded));
        assert_eq!(lc.reason(), Some(CloseReason::Upgrade));
        assert!(
            lc.finished(),
            "the HTTP side is finished; the upgraded stream owns the socket"
        );
    }

    #[test]
    fn eof_between_requests_and_mid_request() {
        let mut lc = Lifecycle::new();
        lc.eof();
        assert_eq!(lc.reason(), Some(CloseReason::ClientClosed));
        assert!(lc.finished());

        let mut lc = Lifecycle::new();
        let now = Instant::now();
        assert!(matches!(lc.parse(b"GET / HT", &limits(), now), Parse::Wait));
        lc.eof();
        assert_eq!(lc.reason(), Some(CloseReason::ClientClosedEarly));
        assert!(lc.finished());

        // A request whose body was cut short is still answered, then the connection ends.
        let mut lc = Lifecycle::new();
        let _ = lc.parse(
            b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n",
            &limits(),
            now,
        );
        lc.eof();
        assert!(!lc.finished());
        assert!(!lc.request_persists(0));
        lc.response_written(0, ResponseEnd::Close);
        assert!(lc.finished());
    }

    #[test]
    fn shutdown_stops_at_the_next_request_boundary() {
        let now = Instant::now();
        let mut idle = Lifecycle::new();
        idle.shutdown();
        assert!(idle.finished());

        let mut busy = Lifecycle::new();
        let _ = busy.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), now);
        busy.shutdown();
        assert!(!busy.finished());
        assert!(
            !busy.request_persists(0),
            "its response says Connection: close"
        );
        busy.response_written(0, ResponseEnd::Close);
        assert!(busy.finished());
        assert_eq!(busy.reason(), Some(CloseReason::Shutdown));

        let mut body = Lifecycle::new();
        let _ = body.parse(
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
            &limits(),
            now,
        );
        body.shutdown();
        body.body_done();
        assert!(matches!(body.read_state(), ReadState::Ended));
        assert!(!body.finished());
        body.response_written(0, ResponseEnd::Close);
        assert!(body.finished());
    }

    #[test]
    fn the_first_reason_wins() {
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        let _ = lc.parse(
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            &limits(),
            now,
        );
        lc.abort(CloseReason::IoError);
        assert_eq!(lc.reason(), Some(CloseReason::ClientAskedClose));
        assert!(lc.finished());
    }

    #[test]
    fn read_deadlines_by_state() {
        let t = ReadTimeouts {
            head: Some(Duration::from_secs(10)),
            idle: Some(Duration::from_secs(60)),
            body_stall: Some(Duration::from_secs(5)),
            min_body_rate: Some((100, Duration::from_secs(2))),
        };
        let t0 = Instant::now();
        let mut lc = Lifecycle::new();
        assert_eq!(
            lc.read_deadline(&t, t0),
            Some((t0 + Duration::from_secs(60), ReadTimeout::Idle))
        );
        let _ = lc.parse(b"GET", &limits(), t0);
        assert_eq!(
            lc.read_deadline(&t, t0),
            Some((t0 + Duration::from_secs(10), ReadTimeout::Head))
        );
        let mut lc = Lifecycle::new();
        let _ = lc.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), t0);
        assert_eq!(
            lc.read_deadline(&t, t0),
            None,
            "a handler is working: not idle"
        );
        lc.response_written(0, ResponseEnd::KeepAlive);
        assert!(lc.read_deadline(&t, t0).is_some());

        // A body the loop reads: the minimum rate (2 s grace: 100 B/s) before the stall.
        let mut lc = Lifecycle::new();
        let _ = lc.parse(
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
            &limits(),
            t0,
        );
        assert_eq!(
            lc.read_deadline(&t, t0),
            Some((t0 + Duration::from_secs(2), ReadTimeout::Body))
        );
        let body = lc.body().unwrap();
        body.received = 1000; // 10 s of allowance at 100 B/s: the stall bounds it now
        body.last_progress = t0 + Duration::from_secs(1);
        assert_eq!(
            lc.read_deadline(&t, t0),
            Some((t0 + Duration::from_secs(6), ReadTimeout::Body))
        );
        assert_eq!(lc.timed_out(ReadTimeout::Body), Some((0, StatusCode(408))));
        // A handler reading its body has no read deadline here (it keeps its own).
        let mut lc = Lifecycle::new();
        let _ = lc.parse(
            b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n",
            &limits(),
            t0,
        );
        assert_eq!(lc.read_deadline(&t, t0), None);
    }

    #[test]
    fn timeouts_answer_408_only_for_a_request_in_progress() {
        let t0 = Instant::now();
        let mut lc = Lifecycle::new();
        assert_eq!(lc.timed_out(ReadTimeout::Idle), None);
        assert!(lc.finished());
        let mut lc = Lifecycle::new();
        let _ = lc.parse(b"GET /slow", &limits(), t0);
        assert_eq!(lc.timed_out(ReadTimeout::Head), Some((0, StatusCode(408))));
        assert!(!lc.finished(), "the 408 is still to be written");
        lc.response_written(0, ResponseEnd::Close);
        assert!(lc.finished());
    }

    #[test]
    fn persistence_table() {
        let all = Persistence {
            request: true,
            body_complete: true,
            delimited: true,
            server: true,
        };
        assert!(persists(all));
        for off in 0..4 {
            let mut p = all;
            match off {
                0 => p.request = false,
                1 => p.body_complete = false,
                2 => p.delimited = false,
                _ => p.server = false,
            }
            assert!(!persists(p), "{p:?}");
        }
    }

    /// Drives a lifecycle the way the runtime does, with bytes arriving in pieces of `step`:
    /// a growing input buffer, heads parsed as they complete, bodies decoded as they arrive,
    /// every response written as soon as its request is complete.
    fn drive_in_pieces(input: &[u8], step: usize) -> Vec<String> {
        let mut lc = Lifecycle::new();
        let now = Instant::now();
        let (mut buf, mut fed, mut out) = (Vec::new(), 0, Vec::new());
        let mut body_of: Option<(u64, Vec<u8>)> = None;
        loop {
            // Make all the progress possible with the bytes at hand.
            loop {
                if let Some(b) = lc.body() {
                    let mut sink = vec![0; 64];
                    let (used, n) = b.decoder.decode(&buf, &mut sink).unwrap();
                    buf.drain(..used);
                    body_of.as_mut().unwrap().1.extend_from_slice(&sink[..n]);
                    if !b.decoder.is_done() {
                        break;
                    }
                    lc.body_done();
                    let (seq, body) = body_of.take().unwrap();
                    out.push(format!("#{seq} body {:?}", String::from_utf8_lossy(&body)));
                    let end = if lc.request_persists(seq) {
                        ResponseEnd::KeepAlive
                    } else {
                        ResponseEnd::Close
                    };
                    lc.response_written(seq, end);
                    continue;
                }
                match lc.parse(&buf, &limits(), now) {
                    Parse::Wait => break,
                    Parse::Error { seq, .. } => {
                        out.push(format!("#{seq} error"));
                        break;
                    }
                    Parse::Request {
                        seq,
                        head,
                        used,
                        body,
                    } => {
                        buf.drain(..used);
                        out.push(format!("#{seq} {}", head.target));
                        if body == BodyPlan::None {
                            let end = if lc.request_persists(seq) {
                                ResponseEnd::KeepAlive
                            } else {
                                ResponseEnd::Close
                            };
                            lc.response_written(seq, end);
                        } else {
                            body_of = Some((seq, Vec::new()));
                        }
                    }
                }
            }
            if fed == input.len() {
                break;
            }
            let next = (fed + step).min(input.len());
            buf.extend_from_slice(&input[fed..next]);
            fed = next;
        }
        out.push(format!(
            "finished={} reason={:?}",
            lc.finished(),
            lc.reason()
        ));
        out
    }

    #[test]
    fn the_outcome_does_not_depend_on_how_bytes_arrive() {
        let input =
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\
POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
GET /d HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
        let whole = drive_in_pieces(input, input.len());
        assert_eq!(
            whole,
            [
                "#0 /a",
                "#1 /b",
                "#1 body \"hi\"",
                "#2 /c",
                "#2 body \"abc\"",
                "#3 /d",
                "finished=true reason=Some(ClientAskedClose)"
            ]
        );
        for step in 1..input.len() {
            assert_eq!(drive_in_pieces(input, step), whole, "pieces of {step}");
        }
    }

    #[test]
    fn rate_allowance_is_exact_and_bounded() {
        let rate = (1000, Duration::from_secs(1));
        assert_eq!(rate_allowance(0, rate), Duration::from_secs(1));
        assert_eq!(rate_allowance(5000, rate), Duration::from_secs(5));
        assert_eq!(rate_allowance(u64::MAX, (0, Duration::ZERO)), Duration::MAX);
        let t0 = Instant::now();
        assert_eq!(
            rate_deadline(t0, 2000, rate),
            Some(t0 + Duration::from_secs(2))
        );
        assert_eq!(earliest(None, Some(t0)), Some(t0));
        assert_eq!(
            earliest(Some(t0 + Duration::from_secs(1)), Some(t0)),
            Some(t0)
        );
    }
}
