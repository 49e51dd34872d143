//! How a handler's response reaches its connection's output queue, and the raw streams
//! (`into_writer`, `upgrade`) that write through it.
//!
//! ```text
//!   Reply::send          a rendered response ─► written at once when it is due and the
//!                        socket takes it (one write), else queued; never waits
//!   Reply::send_owned    head + a body the runtime owns (a file, in-memory bytes) ─► queued
//!                        whole; the event loop sends it (sendfile on Linux); never waits
//!   Reply::send_streamed head + pieces read from the handler's reader ─► queued while the
//!                        connection's output buffer has room; waits for room otherwise
//!   RawWriter / Upgraded raw bytes through the same queue
//! ```
//!
//! The only waits: a streamed body larger than the output buffer waits for the client to
//! take bytes (the event loop's write deadlines bound that), and a response answered ahead
//! of an earlier one of the same connection waits for its turn once it fills the buffer.
//!
//! # Invariants
//! - Every response is ended exactly once (`End` pushed), whatever happens: success, an
//!   error from the reader, a panic in the reader (the `Unwinding` guard), a closed client.
//!   So a connection's later responses are never stuck behind an unfinished one.
//! - A thread never waits for the turn of a response whose earlier response it holds itself
//!   (that would wait forever): it gets an error instead.

use std::fs::File;
use std::io::{self, Read};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use crate::proto::h1::conn::{CloseReason, ReadState, ResponseEnd};
use crate::proto::h1::encode::{ChunkFrame, LAST_CHUNK};
use crate::runtime::body::closed;
use crate::runtime::conn::{Conn, ConnState};
use crate::runtime::hub::receiver_tag;
use crate::runtime::output::{Chunk, FileBody, SharedBytes};
use crate::types::StatusCode;

/// A response body read from the handler's reader in pieces of this size.
const PIECE: usize = 64 * 1024;
/// Rendered responses up to this size may be held back to leave with the next responses of
/// a pipelining client.
const CORK_LIMIT: usize = 64 * 1024;

/// A body the runtime takes over whole.
#[derive(Debug)]
pub(crate) enum Owned {
    /// Bytes in memory.
    Shared(SharedBytes),
    /// `len` bytes of a file, from its position.
    File(File, u64),
}

/// How a streamed body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes (a reader with more is cut there; one with less is an error).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Raw bytes until the reader ends; the connection closes after them.
    UntilClose,
}

/// The right to send response `seq` on a connection. Dropped without a response having
/// been sent, it sends an empty `500` (a handler that panicked or forgot to answer loses
/// only its own request).
#[derive(Debug)]
pub(crate) struct Reply {
    conn: Arc<Conn>,
    seq: u64,
    /// A response (or an error in its place) has been queued.
    ended: std::cell::Cell<bool>,
    /// The request was handed to a handler by `recv` (counted in the connection's hand-out
    /// rule until this reply is done).
    handed: bool,
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.ended.get() {
            self.send_error(StatusCode(500));
        }
        if self.handed {
            self.conn.handler_done();
        }
    }
}

impl Reply {
    /// The reply to request `seq`; `handed`: the request went to a handler through `recv`.
    pub(crate) fn new(conn: Arc<Conn>, seq: u64, handed: bool) -> Reply {
        Reply {
            conn,
            seq,
            ended: std::cell::Cell::new(false),
            handed,
        }
    }

    /// Whether the connection may persist after this response (its request allows it and
    /// the server is not closing it).
    pub(crate) fn request_persists(&self) -> bool {
        !self.conn.is_closing() || self.conn.lock().lc.request_persists(self.seq)
    }

    /// Locks the connection for writing this answer; `Err` (the lock released through
    /// `settle`) when the connection has closed.
    fn lock_open(&self) -> io::Result<MutexGuard<'_, ConnState>> {
        let st = self.conn.lock();
        match st.closed {
            Some(reason) => {
                self.conn.settle(st);
                Err(closed(reason))
            }
            None => Ok(st),
        }
    }

    /// Sends a whole rendered response: written at once when it is due and the socket takes
    /// it, otherwise queued (held back a moment when the client pipelined the next request,
    /// so that the responses leave together). Never waits.
    pub(crate) fn send(&self, bytes: &[u8], end: ResponseEnd) -> io::Result<()> {
        self.ended.set(true);
        let conn = &self.conn;
        let mut st = self.lock_open()?;
        let now = Instant::now();
        let due = self.seq == st.output.turn();
        let cork = due
            && end == ResponseEnd::KeepAlive
            && bytes.len() <= CORK_LIMIT
            && st.lc.next_seq() > self.seq + 1
            && st.output.buffered() + bytes.len() <= CORK_LIMIT;
        let mut corked = false;
        if due && st.output.is_drained() && !cork {
            // The fast path: one write, no copy into the queue.
            match conn.write_direct(&mut st, bytes) {
                // All of it went out and nothing more is to be said: no `End` to queue.
                Ok(n) if n == bytes.len() && end == ResponseEnd::KeepAlive && st.tls.is_none() => {
                    conn.end_direct(&mut st, self.seq, now)
                }
                Ok(n) => {
                    st.output.push_bytes(self.seq, &bytes[n..]);
                    conn.push_end(&mut st, self.seq, end, now);
                }
                Err(e) => {
                    log::debug!("{:?}: write failed: {e}", conn.remote_addr);
                    conn.abort(&mut st, CloseReason::IoError);
                    conn.settle(st);
                    return Err(e);
                }
            }
        } else {
            st.output.push_bytes(self.seq, bytes);
            st.output.push(self.seq, Chunk::End(self.seq, end));
            if cork {
                corked = true;
            } else if st.output.turn() > self.seq {
                conn.flush(&mut st, now);
            }
        }
        let result = st.closed.map_or(Ok(()), |reason| Err(closed(reason)));
        conn.settle_at(st, now);
        if corked {
            conn.hub.cork(conn.clone());
        }
        result
    }

    /// Sends a head and a body the runtime owns (files go out with `sendfile` where the
    /// platform allows), then `tail` (the end of a chunked body). Never waits.
    pub(crate) fn send_owned(
        &self,
        head: &[u8],
        body: Owned,
        tail: &[u8],
        end: ResponseEnd,
    ) -> io::Result<()> {
        self.ended.set(true);
        let conn = &self.conn;
        let mut st = self.lock_open()?;
        st.output.push_bytes(self.seq, head);
        st.output.push(
            self.seq,
            match body {
                Owned::Shared(bytes) => Chunk::Shared(bytes),
                Owned::File(file, len) => Chunk::File(FileBody::new(file, len)),
            },
        );
        st.output.push_bytes(self.seq, tail);
        st.output.push(self.seq, Chunk::End(self.seq, end));
        if st.output.turn() > self.seq {
            conn.flush(&mut st, Instant::now());
        }
        let result = st.closed.map_or(Ok(()), |reason| Err(closed(reason)));
        conn.settle(st);
        result
    }

    /// Sends a head and a body read from `reader`, framed as `framing`. The first piece
    /// travels with the head. Waits only while the connection's output buffer is full.
    ///
    /// Errors: the reader's (the client then gets a `500` if nothing was sent, else the
    /// connection closes after what was sent), `UnexpectedEof` when the reader ends before a
    /// declared length, or the connection's when the client went away or was cut off.
    pub(crate) fn send_streamed(
        &self,
        head: Vec<u8>,
        reader: &mut dyn Read,
        framing: Framing,
        end: ResponseEnd,
    ) -> io::Result<()> {
        let mut guard = Unwinding {
            reply: self,
            started: false,
            armed: true,
        };
        let mut frame = ChunkFrame::new(PIECE);
        let mut plain = Vec::new();
        let mut head = Some(head);
        let mut remaining = match framing {
            Framing::Length(n) => Some(n),
            Framing::Chunked | Framing::UntilClose => None,
        };
        let end = if framing == Framing::UntilClose {
            ResponseEnd::Close
        } else {
            end
        };
        while remaining != Some(0) {
            let room = match framing {
                Framing::Chunked => frame.data_mut().len(),
                _ => PIECE,
            };
            let want = remaining.map_or(room, |r| usize::try_from(r).map_or(room, |r| r.min(room)));
            let got = match framing {
                Framing::Chunked => read_some(reader, &mut frame.data_mut()[..want]),
                _ => {
                    plain.resize(want, 0);
                    read_some(reader, &mut plain[..want])
                }
            };
            let n = match got {
                Ok(0) if remaining.is_some() => {
                    // Shorter than its declared length: a 500 if nothing went out yet,
                    // otherwise what went out cannot be completed and the connection closes.
                    guard.fail();
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "response body ended before its declared length",
                    ));
                }
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    guard.fail();
                    return Err(e);
                }
            };
            if let Some(r) = &mut remaining {
                *r -= n as u64;
            }
            let piece: &[u8] = match framing {
                Framing::Chunked => frame.frame(n),
                _ => &plain[..n],
            };
            guard.started = true;
            match head.take() {
                Some(mut h) => {
                    h.extend_from_slice(piece);
                    self.write_piece(&h)?;
                }
                None => self.write_piece(piece)?,
            }
        }
        guard.armed = false;
        self.ended.set(true);
        let mut tail = head.take().unwrap_or_default();
        if framing == Framing::Chunked {
            tail.extend_from_slice(LAST_CHUNK);
        }
        let conn = &self.conn;
        let mut st = self.lock_open()?;
        st.output.push_bytes(self.seq, &tail);
        conn.push_end(&mut st, self.seq, end, Instant::now());
        let result = st.closed.map_or(Ok(()), |reason| Err(closed(reason)));
        conn.settle(st);
        result
    }

    /// Queues one piece of a streamed response (written at once when due), then waits while
    /// the output buffer is full.
    fn write_piece(&self, piece: &[u8]) -> io::Result<()> {
        let conn = &self.conn;
        let st = conn.lock();
        match conn.write_raw(st, self.seq, piece) {
            Ok(st) => {
                conn.settle(st);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Answered ahead of an earlier response this thread holds: nothing of this
                // one was written (it waited for its turn), so the client gets a 500 in its
                // place, after the earlier response, and the connection closes.
                self.send_error(StatusCode(500));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends the library's own error response in this response's place (dropping what it
    /// parked, none of which was written), then closes.
    pub(crate) fn send_error(&self, status: StatusCode) {
        self.ended.set(true);
        let conn = &self.conn;
        let mut st = conn.lock();
        if st.closed.is_none() {
            st.output.discard_parked(self.seq);
            conn.push_error(&mut st, self.seq, status, Instant::now());
        }
        conn.settle(st);
    }

    /// Ends this response as it stands and closes the connection after it (an error after
    /// part of it was sent).
    pub(crate) fn cut_short(&self) {
        self.ended.set(true);
        let conn = &self.conn;
        let mut st = conn.lock();
        if st.closed.is_none() {
            conn.set_closing();
            conn.push_end(&mut st, self.seq, ResponseEnd::Close, Instant::now());
        }
        conn.settle(st);
    }

    /// Turns this reply into a raw writer: bytes go out as they are, after the earlier
    /// responses, and the connection closes when the writer is dropped.
    pub(crate) fn into_raw_writer(self) -> RawWriter {
        {
            let mut st = self.conn.lock();
            st.meter.set_stall_only();
        }
        RawWriter { reply: Some(self) }
    }

    /// Sends the upgrade response (its head, `head`) and hands the connection over: the
    /// returned stream reads what the client sent after its request and writes raw bytes.
    pub(crate) fn upgrade(self, head: &[u8]) -> io::Result<Upgraded> {
        self.send(head, ResponseEnd::Upgrade)?;
        Ok(Upgraded {
            conn: self.conn.clone(),
            seq: self.seq + 1,
        })
    }

    /// Whether a response (or an error in its place) was queued.
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.get()
    }
}

/// Keeps a response's place when its reader fails or panics: the response is ended (with a
/// `500` when nothing was sent yet) and the connection closes after it, so the responses
/// behind it are not stuck.
struct Unwinding<'a> {
    reply: &'a Reply,
    /// Part of the response was queued.
    started: bool,
    /// The response is not ended yet.
    armed: bool,
}

impl Unwinding<'_> {
    fn fail(&mut self) {
        if self.armed && !self.reply.is_ended() {
            self.armed = false;
            if self.started {
                self.reply.cut_short();
            } else {
                self.reply.send_error(StatusCode(500));
            }
        }
    }
}

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        // A panic in the reader, or a write that failed because the connection closed.
        self.fail();
    }
}

/// One read, retried on `Interrupted`.
fn read_some(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl Conn {
    /// Queues raw bytes as part of response `seq` (written at once when due), then waits
    /// while the output buffer is over its bound. A response ahead of its turn whose earlier
    /// response this very thread holds gets an error instead of waiting for ever.
    pub(crate) fn write_raw<'a>(
        self: &'a Arc<Self>,
        mut st: std::sync::MutexGuard<'a, ConnState>,
        seq: u64,
        bytes: &[u8],
    ) -> io::Result<std::sync::MutexGuard<'a, ConnState>> {
        if let Some(reason) = st.closed {
            self.settle(st);
            return Err(closed(reason));
        }
        let now = Instant::now();
        if seq == st.output.turn() && st.output.is_drained() {
            match self.write_direct(&mut st, bytes) {
                Ok(n) => {
                    if n > 0 {
                        st.meter.progress(n as u64, now);
                    }
                    if n < bytes.len() {
                        st.output.push_bytes(seq, &bytes[n..]);
                        st.meter.blocked(now);
                        self.note_write_blocked(true);
                    }
                }
                Err(e) => {
                    self.abort(&mut st, CloseReason::IoError);
                    self.settle(st);
                    return Err(e);
                }
            }
        } else {
            st.output.push_bytes(seq, bytes);
            if seq == st.output.turn() {
                self.flush(&mut st, now);
            }
        }
        // A response whose turn has come waits while the connection holds more than the
        // output buffer (the client drains it); one ahead of its turn waits only once its
        // own parked bytes exceed the buffer (they cannot drain before its turn).
        let limit = self.hub.settings.output_buffer;
        loop {
            if let Some(reason) = st.closed {
                self.settle(st);
                return Err(closed(reason));
            }
            let in_turn = seq == st.output.turn();
            let over = if in_turn {
                st.output.buffered() > limit
            } else {
                st.output.parked_bytes(seq) > limit
            };
            if !over {
                break;
            }
            if !in_turn && self.in_handler() && self.holder() == receiver_tag() {
                // The earlier response belongs to a request this thread received: it cannot
                // be answered while this thread waits here.
                self.settle(st);
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "a response larger than the output buffer was given before the response \
                     to an earlier request of the same connection, which this thread holds: \
                     answer the requests of a connection in order",
                ));
            }
            self.arm_now(&mut st);
            let (guard, _) = self.wait(st, None);
            st = guard;
        }
        match st.closed {
            Some(reason) => {
                self.settle(st);
                Err(closed(reason))
            }
            None => Ok(st),
        }
    }

    /// Tells the event loop at once when the connection's deadline moved earlier (before a
    /// wait: the loop must cut off a client that never reads).
    fn arm_now(&self, st: &mut ConnState) {
        if let Some((at, _)) = self.deadline(st, Instant::now()) {
            if st.armed.map_or(true, |armed| at < armed) {
                self.hub.send(crate::runtime::conn::Msg::Arm(self.key));
            }
        }
    }
}

/// The writer behind `Request::into_writer`: raw bytes after the earlier responses; the
/// connection closes when it is dropped.
#[derive(Debug)]
pub(crate) struct RawWriter {
    reply: Option<Reply>,
}

impl io::Write for RawWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(reply) = &self.reply else {
            return Ok(buf.len());
        };
        if buf.is_empty() {
            return Ok(0);
        }
        reply.write_piece(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply.cut_short();
        }
    }
}

/// The stream behind `Request::upgrade`: what the client sent after its request, then the
/// socket; writes go out raw, in order. Dropping it closes the connection.
#[derive(Debug)]
pub(crate) struct Upgraded {
    conn: Arc<Conn>,
    /// Raw writes are queued as this "response" (the one after the upgrade's).
    seq: u64,
}

impl Read for Upgraded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.conn.read_raw(out)
    }
}

impl io::Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let st = self.conn.lock();
        let st = self.conn.write_raw(st, self.seq, buf)?;
        self.conn.settle(st);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        let mut st = self.conn.lock();
        if st.closed.is_none() {
            // Whatever the upgraded protocol still queued goes out first (best effort, one
            // attempt), then the connection closes.
            self.conn.flush(&mut st, Instant::now());
            if matches!(st.lc.read_state(), ReadState::Upgraded) || st.closed.is_none() {
                self.conn.abort(&mut st, CloseReason::Upgrade);
            }
        }
        self.conn.settle(st);
    }
}
