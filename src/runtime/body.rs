//! Request bodies as a handler reads them, and the raw read side of an upgraded stream.
//!
//! ```text
//!   BodyReader::read ─► bytes the event loop read ahead (a small body: all of it)
//!                    ─► Conn::read_body: decode buffered input, else read the socket
//!                         (straight into the caller's buffer for a Content-Length body),
//!                         else wait (stall and minimum-rate deadline), leading the loop
//!                         when nobody does
//!   body complete    ─► the read side moves on: the next pipelined request is parsed now
//! ```
//!
//! # Invariants
//! - A body reader never reads past its body: bytes after it are the next request's.
//! - The first read of a body whose client sent `Expect: 100-continue` queues the interim
//!   `100 Continue` (in response order) before waiting for the body.
//! - A body that cannot be read to its end makes its request the connection's last.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;

use crate::proto::h1::conn::{BodyReader as Owner, CloseReason, ReadState};
use crate::runtime::conn::{BodyStart, Conn, ConnState, Incoming, Woken, CONTINUE};

/// How much of a drained body (a handler answered without reading it) is read and thrown
/// away, without waiting, to keep the connection; beyond, the connection closes instead.
const DRAIN_LIMIT: u64 = 1024 * 1024;

/// Where a body reader stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes remain (in the prefix, on the connection, or both).
    Reading,
    /// The whole body was read.
    Done,
    /// It could not be read to its end.
    Failed,
}

/// The body of one request, as its handler reads it.
#[derive(Debug)]
pub(crate) struct BodyReader {
    conn: Option<Arc<Conn>>,
    seq: u64,
    /// What the event loop read before handing the request out.
    prefix: Vec<u8>,
    prefix_pos: usize,
    /// The rest of the body comes from the connection.
    more: bool,
    state: State,
    /// `100 Continue` is still to be sent (on the first read).
    continue_due: bool,
    /// When the handler first waited for bytes, and how many came since (minimum rate).
    started: Option<Instant>,
    received: u64,
    /// The body failed because the client was too slow (an unanswered request gets 408).
    timed_out: bool,
}

impl BodyReader {
    /// The body of a request the runtime handed out.
    pub(crate) fn new(incoming: &mut Incoming, expect_continue: bool) -> BodyReader {
        let (prefix, more) = match std::mem::replace(&mut incoming.body, BodyStart::None) {
            BodyStart::None => (Vec::new(), false),
            BodyStart::Complete(b) => (b, false),
            BodyStart::Partial(b) => (b, true),
            BodyStart::Streamed => (Vec::new(), true),
        };
        BodyReader {
            conn: more.then(|| incoming.conn.clone()),
            seq: incoming.seq,
            continue_due: more && expect_continue,
            prefix,
            prefix_pos: 0,
            more,
            state: State::Reading,
            started: None,
            received: 0,
            timed_out: false,
        }
    }

    /// A body held in memory (`TestRequest`).
    pub(crate) fn in_memory(body: Vec<u8>) -> BodyReader {
        BodyReader {
            conn: None,
            seq: 0,
            prefix: body,
            prefix_pos: 0,
            more: false,
            state: State::Reading,
            continue_due: false,
            started: None,
            received: 0,
            timed_out: false,
        }
    }

    /// The body failed because the client sent it too slowly.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Prepares for the response: returns whether the body was (or now is) read to its end,
    /// so that the connection can carry another request. A body the handler did not read is
    /// drained if it has already arrived (up to a bound, without waiting); a body whose
    /// client waits for `100 Continue` is never requested, and ends the connection.
    pub(crate) fn finish(&mut self) -> bool {
        if self.state == State::Reading && !self.more {
            self.state = State::Done;
        }
        match self.state {
            State::Done => return true,
            State::Failed => return false,
            State::Reading => {}
        }
        let Some(conn) = self.conn.clone() else {
            return true;
        };
        if self.continue_due {
            // The client waits for our go-ahead: without it the body never comes.
            self.fail(&conn, CloseReason::BodyUnread);
            return false;
        }
        let mut sink = [0u8; 8192];
        let mut drained = 0u64;
        loop {
            match conn.read_body(
                self.seq,
                &mut sink,
                &mut self.started,
                &mut self.received,
                false,
            ) {
                Ok((_, true)) => {
                    self.state = State::Done;
                    return true;
                }
                Ok((n, false)) => {
                    drained += n as u64;
                    if drained > DRAIN_LIMIT {
                        self.fail(&conn, CloseReason::BodyUnread);
                        return false;
                    }
                }
                Err(_) => {
                    self.fail(&conn, CloseReason::BodyUnread);
                    return false;
                }
            }
        }
    }

    fn fail(&mut self, conn: &Arc<Conn>, reason: CloseReason) {
        self.state = State::Failed;
        conn.body_abandoned(self.seq, reason);
    }

    /// The body is complete and the bytes after it belong to an upgraded protocol: hands
    /// over the read side (the handler answers with `upgrade`). False when the body was not
    /// read to its end.
    pub(crate) fn ready_for_upgrade(&mut self) -> bool {
        self.finish()
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if let Some(conn) = &self.conn {
            conn.reader_gone();
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.prefix_pos < self.prefix.len() {
            let n = (self.prefix.len() - self.prefix_pos).min(out.len());
            out[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            if self.prefix_pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.prefix_pos = 0;
            }
            return Ok(n);
        }
        match self.state {
            State::Done => return Ok(0),
            State::Failed => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the request body could not be read",
                ))
            }
            State::Reading => {}
        }
        let Some(conn) = self.conn.clone().filter(|_| self.more) else {
            self.state = State::Done;
            return Ok(0);
        };
        if self.continue_due {
            self.continue_due = false;
            conn.send_interim(self.seq, CONTINUE);
        }
        match conn.read_body(self.seq, out, &mut self.started, &mut self.received, true) {
            Ok((n, done)) => {
                if done {
                    self.state = State::Done;
                }
                Ok(n)
            }
            Err(e) => {
                self.state = State::Failed;
                self.timed_out = e.kind() == io::ErrorKind::TimedOut;
                log::debug!("request body: {e}");
                Err(e)
            }
        }
    }
}

impl Conn {
    /// Reads request `seq`'s body (its handler owns the read side): decodes buffered bytes,
    /// else reads the socket, else waits (with `wait`; otherwise `WouldBlock`). Returns the
    /// bytes read and whether the body is now complete (the next request is then parsed at
    /// once).
    pub(crate) fn read_body(
        self: &Arc<Self>,
        seq: u64,
        out: &mut [u8],
        started: &mut Option<Instant>,
        received: &mut u64,
        wait: bool,
    ) -> io::Result<(usize, bool)> {
        let mut st = self.lock();
        self.start_reading();
        let mut next = Vec::new();
        let result = loop {
            if let Some(reason) = st.closed {
                break Err(closed(reason));
            }
            let ConnState { lc, input, .. } = &mut *st;
            let Some(body) = lc
                .body()
                .filter(|b| b.seq == seq && b.reader == Owner::Handler)
            else {
                break Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the request body is no longer readable",
                ));
            };
            if body.decoder.is_done() {
                self.body_complete(&mut st, &mut next);
                break Ok((0, true));
            }
            if !input.is_empty() {
                match body.decoder.decode(input.filled(), out) {
                    Ok((used, produced)) => {
                        input.consume(used);
                        body.received += used as u64;
                        let done = body.decoder.is_done();
                        if done {
                            self.body_complete(&mut st, &mut next);
                        }
                        if produced > 0 || done {
                            break Ok((produced, done));
                        }
                        if used > 0 {
                            continue;
                        }
                    }
                    Err(e) => {
                        st.lc.body_failed(CloseReason::BodyUnread);
                        self.set_closing();
                        break Err(e.into());
                    }
                }
            }
            // Read more: straight into the caller's buffer when nothing is buffered and the
            // length is known, else into the input buffer.
            let direct = if st.input.is_empty() {
                st.lc.body().and_then(|b| b.decoder.remaining_length())
            } else {
                None
            };
            let now = Instant::now();
            let result = match direct {
                Some(left) => {
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
                    self.read_into(&mut st, &mut out[..want])
                }
                None => {
                    st.input.attach_pooled();
                    let ConnState { tls, input, .. } = &mut *st;
                    crate::transport::Stream {
                        socket: &self.socket,
                        tls: tls.as_mut(),
                    }
                    .read(input.spare())
                }
            };
            match result {
                Ok(0) => {
                    st.lc.body_failed(CloseReason::ClientClosedEarly);
                    self.set_closing();
                    break Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection before the end of the body",
                    ));
                }
                Ok(n) => {
                    *received += n as u64;
                    match direct {
                        Some(_) => {
                            let body = st.lc.body().expect("checked above");
                            body.decoder.consume_direct(n);
                            body.received += n as u64;
                            body.last_progress = now;
                            let done = body.decoder.is_done();
                            if done {
                                self.body_complete(&mut st, &mut next);
                            }
                            break Ok((n, done));
                        }
                        None => {
                            st.input.commit(n);
                            if let Some(body) = st.lc.body() {
                                body.last_progress = now;
                            }
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.readable = false;
                    if !wait {
                        break Err(e);
                    }
                    let since = *started.get_or_insert(now);
                    let deadline = self.body_deadline(since, *received, now);
                    // Linux: wait on the socket itself, the event loop's interest in it
                    // staying parked, so no other thread is woken while a body trickles in.
                    #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
                    let direct = {
                        drop(st);
                        let timeout = deadline.map(|at| at.saturating_duration_since(now));
                        let ready = self.socket.wait_readable(timeout);
                        st = self.lock();
                        ready
                    };
                    #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
                    let direct: Option<bool> = None;
                    let woken = match direct {
                        Some(true) => Woken::Changed,
                        Some(false) => Woken::TimedOut,
                        None => {
                            if self.stop_reading(&mut st) {
                                // Bytes arrived since the read (an event the loop left).
                                self.start_reading();
                                continue;
                            }
                            st.reader_waiting = true;
                            let (guard, woken) = self.wait(st, deadline);
                            st = guard;
                            st.reader_waiting = false;
                            self.start_reading();
                            woken
                        }
                    };
                    if woken == Woken::TimedOut && !st.readable {
                        st.lc.body_failed(CloseReason::BodyTimeout);
                        self.set_closing();
                        break Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client sent the request body too slowly",
                        ));
                    }
                }
                Err(e) => {
                    self.abort(&mut st, CloseReason::IoError);
                    break Err(e);
                }
            }
        };
        // While the body goes on, the handler keeps the read side (and the poller stays
        // quiet about it); once it is over or failed, readability is watched again and
        // what follows is parsed (settle).
        if !matches!(result, Ok((_, false))) {
            self.stop_reading(&mut st);
        }
        self.settle(st);
        self.hub.enqueue(next, true);
        result
    }

    /// The body in progress is complete: the read side moves on, and requests already here
    /// behind it are parsed now (`next`, queued by the caller once the lock is released).
    fn body_complete(self: &Arc<Self>, st: &mut ConnState, next: &mut Vec<Incoming>) {
        st.lc.body_done();
        if !matches!(st.lc.read_state(), ReadState::Head { .. }) {
            st.input.release_pooled();
            return;
        }
        // Bytes behind the body, or readiness nobody consumed: parse and read now. (Reading
        // until `WouldBlock`: nothing else will report bytes that are already here.)
        self.pump(st, Instant::now(), next, false);
    }

    /// The handler gave up on request `seq`'s body: no request follows it.
    pub(crate) fn body_abandoned(self: &Arc<Self>, seq: u64, reason: CloseReason) {
        let mut st = self.lock();
        self.stop_reading(&mut st);
        if st.lc.body().is_some_and(|b| b.seq == seq) {
            st.lc.body_failed(reason);
        }
        self.set_closing();
        self.settle(st);
    }

    /// Queues an interim response (`100 Continue`) for request `seq`, in response order.
    pub(crate) fn send_interim(self: &Arc<Self>, seq: u64, bytes: &[u8]) {
        let mut st = self.lock();
        if st.closed.is_none() {
            st.output.push_bytes(seq, bytes);
            if seq == st.output.turn() {
                self.flush(&mut st, Instant::now());
            }
        }
        self.settle(st);
    }

    /// Reads raw bytes after an upgrade: what was read ahead, then the socket; waits (no
    /// deadline: the new protocol decides how long silence may last). `Ok(0)` at the end.
    pub(crate) fn read_raw(self: &Arc<Self>, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut st = self.lock();
        let result = loop {
            if !st.input.is_empty() {
                let n = st.input.filled().len().min(out.len());
                out[..n].copy_from_slice(&st.input.filled()[..n]);
                st.input.consume(n);
                st.input.release_pooled();
                break Ok(n);
            }
            if let Some(reason) = st.closed {
                break if reason == CloseReason::ClientClosed {
                    Ok(0)
                } else {
                    Err(closed(reason))
                };
            }
            match self.read_into(&mut st, out) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.readable = false;
                    st.reader_waiting = true;
                    let (guard, _) = self.wait(st, None);
                    st = guard;
                    st.reader_waiting = false;
                }
                Err(e) => break Err(e),
            }
        };
        self.settle(st);
        result
    }
}

/// The error for an operation on a connection that closed.
pub(crate) fn closed(reason: CloseReason) -> io::Error {
    let kind = match reason {
        CloseReason::WriteTimeout | CloseReason::BodyTimeout => io::ErrorKind::TimedOut,
        CloseReason::ClientClosed | CloseReason::ClientClosedEarly => {
            io::ErrorKind::ConnectionAborted
        }
        _ => io::ErrorKind::NotConnected,
    };
    io::Error::new(kind, format!("connection closed: {}", reason.explain()))
}
