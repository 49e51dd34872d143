//! One connection, shared by the event loop and the handler threads working on its
//! requests: the socket, and behind one lock the lifecycle, the TLS session, the input buffer
//! and the output queue.
//!
//! ```text
//!   event loop (leader)                          handler threads
//!   ───────────────────                          ───────────────
//!   readable: pump() ─ read, parse ─► Incoming ─► recv() ─► Request
//!             (a handler waits for the bytes?        │ body: read_body() ─ input, then the
//!              then only wake it)                    │       socket; waits on `cond`
//!   writable: flush() ◄─ output queue ◄─────────────┤ respond: pushes chunks, writes at once
//!   deadline: expire() ─ 408 / close                 │          when it is due and fits
//!   finished: linger, then forget it                 └ upgrade: raw bytes both ways
//! ```
//!
//! # Invariants
//! - Every read or write on a connection's socket happens under its state lock, by whichever
//!   thread holds it; the socket is non-blocking, so the lock is never held across a wait.
//!   (Changing what the poller watches for, and a Linux handler's wait for readability on
//!   its own poller, need no state lock: they move no bytes.)
//! - The input buffer is consumed only by the read side's owner: the loop while it wants
//!   heads or pre-reads a body, the handler while it reads its body, the upgraded stream
//!   after an upgrade. A readable event for another owner only wakes that owner, or, while
//!   a handler is reading its body, leaves it a hint and stops the poller reporting
//!   readability until the handler waits or its body ends (`reading`, `read_parked`).
//! - A thread waits on `cond` only after a non-blocking attempt found nothing to do, and is
//!   woken by whoever changes what it waits for (bytes, room, its turn, the close).
//! - Once `closed` is set no byte is read or written again, and every waiter is woken (a
//!   handler waiting on the socket itself wakes too: closing shuts the socket down).
//! - While the connection is in the event loop's table and waits on its client, a deadline
//!   is queued for it no later than the earliest one that applies (`armed`); handler threads
//!   that make a deadline earlier tell the loop (`Msg::Arm`).
//!
//! Lock order: a connection's state lock may be held while taking the hub's lock, never the
//! reverse; no thread holds two connections' locks.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use mio::Interest;

use crate::proto::h1::conn::{
    earliest, rate_deadline, CloseReason, Lifecycle, ReadState, ReadTimeout, ResponseEnd,
};
use crate::proto::h1::encode::error_response;
use crate::proto::h1::head::RequestHead;
use crate::runtime::hub::Hub;
use crate::runtime::output::{Chunk, Output, Sink};
use crate::runtime::rate::WriteMeter;
use crate::runtime::readbuf::ReadBuf;
use crate::transport::{Socket, Stream, TlsSession};
use crate::types::{HTTPVersion, StatusCode};

/// Identifies a connection in the event loop's table: `index` is its slot, `gen` tells apart
/// the connections that used the slot over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnKey {
    pub(crate) index: usize,
    pub(crate) gen: u32,
}

/// A request ready for a handler: plain data, which the API layer wraps into a `Request`.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) head: RequestHead,
    pub(crate) seq: u64,
    pub(crate) conn: Arc<Conn>,
    pub(crate) body: BodyStart,
}

/// Where a handed-out request's body stands.
#[derive(Debug)]
pub(crate) enum BodyStart {
    /// No body.
    None,
    /// The whole body, read by the event loop.
    Complete(Vec<u8>),
    /// The start of the body, read by the event loop; the rest comes from the connection.
    Partial(Vec<u8>),
    /// Nothing read yet: the body comes from the connection.
    Streamed,
}

/// Messages to the event loop from other threads.
#[derive(Debug)]
pub(crate) enum Msg {
    /// The connection's deadline may have moved earlier (output blocked, a head started).
    Arm(ConnKey),
    /// The connection finished or failed on a handler thread: forget it (after lingering).
    Finished(ConnKey),
    /// The server is going away: stop accepting, end idle connections.
    Shutdown,
}

/// What a connection's deadline guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Handshake,
    Write,
    Read(ReadTimeout),
    /// Handlers are working: check whether the connection became idle meanwhile.
    Recheck,
}

/// The state behind a connection's lock.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Where the HTTP/1.1 exchange stands.
    pub(crate) lc: Lifecycle,
    /// The TLS session, on a secure connection.
    pub(crate) tls: Option<TlsSession>,
    /// Bytes read and not consumed yet.
    pub(crate) input: ReadBuf,
    /// The head of the request whose body the loop pre-reads, and the body so far.
    pub(crate) pending_head: Option<RequestHead>,
    pub(crate) prefix: Vec<u8>,
    /// Responses waiting for the socket.
    pub(crate) output: Output,
    /// How long the client kept us waiting to take response bytes.
    pub(crate) meter: WriteMeter,
    /// When the connection last had nothing in progress.
    pub(crate) idle_since: Instant,
    /// Threads waiting on the connection's condition variable.
    pub(crate) waiters: u32,
    /// A handler waits for bytes from the socket (body, upgraded stream).
    pub(crate) reader_waiting: bool,
    /// A readable event came while a handler owned the read side: the next reader must read
    /// until `WouldBlock`.
    pub(crate) readable: bool,
    /// The connection is closed, and why: no more I/O.
    pub(crate) closed: Option<CloseReason>,
    /// After closing, drain the client's bytes for a moment (lingering close).
    pub(crate) lingering: bool,
    /// A handler thread closed the connection: the loop must hear of it.
    pub(crate) notice: bool,
    /// The deadline the event loop has queued for this connection.
    pub(crate) armed: Option<Instant>,
    /// When the TLS handshake must be complete.
    pub(crate) handshake_deadline: Option<Instant>,
    /// The server is shutting down.
    pub(crate) shutting_down: bool,
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) key: ConnKey,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) socket: Socket,
    pub(crate) secure: bool,
    pub(crate) hub: Arc<Hub>,
    state: Mutex<ConnState>,
    cond: Condvar,
    /// Requests of this connection handed to handlers and not answered (or dropped) yet, and
    /// the receiver that took the last of them (the hub's per-connection hand-out rule).
    handed_out: AtomicU32,
    holder: AtomicU64,
    /// Responses rendered from now on say `Connection: close`.
    closing: AtomicBool,
    /// A handler reads this connection's request body from the socket itself and is not
    /// waiting for it: the first readable event then only leaves `readable_hint` and stops
    /// the poller watching for readability (`read_parked`), so an upload does not wake the
    /// event loop at every arriving packet. The handler watches again before it waits, and
    /// when the body is done (`stop_reading`). `read_parked`'s lock makes the loop's check
    /// of `reading` and its change of interest one step against the handler's.
    reading: AtomicBool,
    readable_hint: AtomicBool,
    read_parked: Mutex<bool>,
    /// Output waits for the socket to take it (the last write would have blocked): a
    /// writable event must then be handled even while a handler reads.
    write_blocked: AtomicBool,
}

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// Something may have changed: check again.
    Changed,
    /// The deadline passed.
    TimedOut,
}

/// The output sink over a connection's stream.
struct StreamSink<'a> {
    stream: Stream<'a>,
}

impl Sink for StreamSink<'_> {
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs)
    }

    fn can_send_file(&mut self, file: &std::fs::File) -> bool {
        self.stream.can_send_file(file)
    }

    fn send_file(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        max: u64,
    ) -> Option<io::Result<u64>> {
        self.stream.socket.send_file(file, offset, max)
    }
}

/// The `100 Continue` interim response.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

mod read;

impl Conn {
    /// A connection for an accepted socket (registered already).
    pub(crate) fn new(
        key: ConnKey,
        socket: Socket,
        remote_addr: Option<SocketAddr>,
        tls: Option<TlsSession>,
        hub: Arc<Hub>,
        now: Instant,
    ) -> Conn {
        let handshake_deadline = tls
            .as_ref()
            .and(hub.settings.handshake_timeout)
            .and_then(|d| now.checked_add(d));
        hub.live.fetch_add(1, Ordering::Relaxed);
        Conn {
            key,
            remote_addr,
            secure: tls.is_some(),
            socket,
            state: Mutex::new(ConnState {
                lc: Lifecycle::new(),
                tls,
                input: ReadBuf::default(),
                pending_head: None,
                prefix: Vec::new(),
                output: Output::default(),
                meter: WriteMeter::default(),
                idle_since: now,
                waiters: 0,
                reader_waiting: false,
                readable: false,
                closed: None,
                lingering: false,
                notice: false,
                armed: None,
                handshake_deadline,
                shutting_down: false,
            }),
            cond: Condvar::new(),
            hub,
            handed_out: AtomicU32::new(0),
            holder: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            reading: AtomicBool::new(false),
            readable_hint: AtomicBool::new(false),
            read_parked: Mutex::new(false),
            write_blocked: AtomicBool::new(false),
        }
    }

    /// The state lock. (No update under it leaves the state inconsistent if a panic
    /// interrupts it, so a poisoned lock is used as is.)
    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // -----------------------------------------------------------------------------------
    // The hub's per-connection hand-out rule (atomics: read under the hub's lock)
    // -----------------------------------------------------------------------------------

    /// May receiver `tag` take this connection's next request? Yes when none of its
    /// requests is out in a handler, or when `tag` holds the one that is.
    pub(crate) fn may_hand_to(&self, tag: u64) -> bool {
        self.handed_out.load(Ordering::SeqCst) == 0 || self.holder.load(Ordering::Relaxed) == tag
    }

    /// A request of this connection goes to receiver `tag`.
    pub(crate) fn hand_out(&self, tag: u64) {
        self.handed_out.fetch_add(1, Ordering::SeqCst);
        self.holder.store(tag, Ordering::Relaxed);
    }

    /// A handler is done with a request of this connection (answered or dropped).
    pub(crate) fn handler_done(&self) {
        self.handed_out.fetch_sub(1, Ordering::SeqCst);
    }

    /// Some request of this connection is out in a handler.
    pub(crate) fn in_handler(&self) -> bool {
        self.handed_out.load(Ordering::SeqCst) > 0
    }

    /// The receiver holding this connection's requests (meaningful while `in_handler`).
    pub(crate) fn holder(&self) -> u64 {
        self.holder.load(Ordering::Relaxed)
    }

    /// Responses rendered now must say `Connection: close`.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// From now on responses say `Connection: close` (reading has ended, or will).
    pub(crate) fn set_closing(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    // -----------------------------------------------------------------------------------
    // Waiting
    // -----------------------------------------------------------------------------------

    /// Waits until another thread changes the connection's state, or `deadline`; leads the
    /// event loop meanwhile when nobody does (see `Hub::wait_for_io`).
    pub(crate) fn wait<'a>(
        self: &'a Arc<Self>,
        mut st: MutexGuard<'a, ConnState>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, ConnState>, Woken) {
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return (st, Woken::TimedOut);
        }
        st.waiters += 1;
        let (mut st, woken) = self.hub.wait_for_io(self, st, deadline);
        st.waiters -= 1;
        (st, woken)
    }

    /// Sleeps on the condition variable (the hub decided this thread does not lead).
    pub(crate) fn sleep<'a>(
        &'a self,
        st: MutexGuard<'a, ConnState>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, ConnState>, Woken) {
        match deadline {
            None => (
                self.cond.wait(st).unwrap_or_else(|p| p.into_inner()),
                Woken::Changed,
            ),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                let (st, result) = self
                    .cond
                    .wait_timeout(st, left)
                    .unwrap_or_else(|p| p.into_inner());
                let woken = if result.timed_out() {
                    Woken::TimedOut
                } else {
                    Woken::Changed
                };
                (st, woken)
            }
        }
    }

    /// Wakes the threads waiting on this connection (no system call when there are none).
    pub(crate) fn wake(&self, st: &ConnState) {
        if st.waiters > 0 {
            self.cond.notify_all();
        }
    }

    /// Wakes this connection's waiters so that one of them leads the event loop.
    pub(crate) fn nudge(&self) {
        let st = self.lock();
        self.wake(&st);
    }

    /// Queues the library's own error response as response `seq` (its end closes the
    /// connection) and writes what can be written now.
    pub(crate) fn push_error(
        &self,
        st: &mut ConnState,
        seq: u64,
        status: StatusCode,
        now: Instant,
    ) {
        let bytes = error_response(status, &HTTPVersion(1, 1));
        st.output.push(seq, Chunk::Bytes(bytes));
        self.push_end(st, seq, ResponseEnd::Close, now);
    }

    /// Ends response `seq` and writes what can be written now.
    pub(crate) fn push_end(&self, st: &mut ConnState, seq: u64, end: ResponseEnd, now: Instant) {
        st.output.push(seq, Chunk::End(seq, end));
        self.flush(st, now);
    }

    /// Response `seq` (due, nothing queued) went out whole in one direct write on plain TCP
    /// and keeps the connection alive: what `flush` does on reaching its `End`, without
    /// queueing one (the keep-alive fast path).
    pub(crate) fn end_direct(&self, st: &mut ConnState, seq: u64, now: Instant) {
        st.lc.response_written(seq, ResponseEnd::KeepAlive);
        if st.output.end_direct(seq) {
            // Later responses were parked waiting for this one: `flush` sends them and
            // settles the rest.
            self.flush(st, now);
            return;
        }
        self.note_write_blocked(false);
        st.meter.idle(now);
        self.responses_ended(st, now);
        self.wake(st);
    }

    /// Writes one buffer straight to the connection (the fast path of a response whose turn
    /// it is with nothing queued before it): how much the socket took, 0 when it took none.
    pub(crate) fn write_direct(&self, st: &mut ConnState, bytes: &[u8]) -> io::Result<usize> {
        let result = Stream {
            socket: &self.socket,
            tls: st.tls.as_mut(),
        }
        .write_vectored(&[io::IoSlice::new(bytes)]);
        match result {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Writes queued output until done or the socket is full, and settles what that
    /// changed: responses completed, the write deadline, waiters, the end of the connection.
    pub(crate) fn flush(&self, st: &mut ConnState, now: Instant) {
        if st.closed.is_some() {
            return;
        }
        let mut ended = false;
        let result = {
            let ConnState {
                tls, output, lc, ..
            } = &mut *st;
            let mut sink = StreamSink {
                stream: Stream {
                    socket: &self.socket,
                    tls: tls.as_mut(),
                },
            };
            output
                .flush(&mut sink, &mut |seq, end| {
                    lc.response_written(seq, end);
                    ended = true;
                })
                .and_then(|flushed| sink.stream.flush().map(|done| (flushed, done)))
        };
        match result {
            Ok((flushed, tls_done)) => {
                if flushed.written > 0 {
                    st.meter.progress(flushed.written, now);
                }
                let blocked = flushed.blocked || !tls_done;
                self.note_write_blocked(blocked);
                if blocked {
                    st.meter.blocked(now);
                } else if st.output.is_drained() {
                    st.meter.idle(now);
                }
            }
            Err(e) => {
                log::debug!("{:?}: write failed: {e}", self.remote_addr);
                self.abort(st, CloseReason::IoError);
                return;
            }
        }
        if ended {
            self.responses_ended(st, now);
        }
        // Writers wait for room, or for their turn (which an `End` may have brought).
        self.wake(st);
    }

    /// Responses were completed on the wire: the idle clock starts when none is left, an
    /// upgraded stream keeps only the stall deadline, a finished connection closes.
    fn responses_ended(&self, st: &mut ConnState, now: Instant) {
        if st.lc.in_flight() == 0 && st.output.is_empty() {
            st.idle_since = now;
        }
        if matches!(st.lc.read_state(), ReadState::Upgraded) {
            st.meter.set_stall_only();
        }
        self.check_finished(st, now);
    }

    /// The connection has nothing more to do: close it gracefully.
    fn check_finished(&self, st: &mut ConnState, now: Instant) {
        if st.closed.is_none()
            && st.lc.finished()
            && !matches!(st.lc.read_state(), ReadState::Upgraded)
        {
            self.finish(st, now);
        }
    }

    /// Closes after the last response: a TLS close_notify, our FIN, and, when the client may
    /// still be sending, a lingering drain of its bytes (RFC 9112 §9.6) by the event loop.
    fn finish(&self, st: &mut ConnState, now: Instant) {
        let reason = st.lc.reason().unwrap_or(CloseReason::ResponseClose);
        if reason.is_routine() {
            log::trace!("{:?}: closing: {}", self.remote_addr, reason.explain());
        } else {
            log::info!("{:?}: closing: {}", self.remote_addr, reason.explain());
        }
        if let Some(tls) = &mut st.tls {
            tls.close(&self.socket);
        }
        st.lingering =
            reason.lingers() && (!st.input.is_empty() || reason != CloseReason::ClientAskedClose);
        self.socket.shutdown(if st.lingering {
            Shutdown::Write
        } else {
            Shutdown::Both
        });
        self.close(st, reason);
        let _ = now;
    }

    /// Ends the connection now, whatever is pending (a failed read or write, a client that
    /// stopped reading, a failed or stalled handshake).
    pub(crate) fn abort(&self, st: &mut ConnState, reason: CloseReason) {
        if st.closed.is_some() {
            return;
        }
        if !reason.is_routine() {
            log::info!("{:?}: closing: {}", self.remote_addr, reason.explain());
        }
        st.lc.abort(reason);
        if reason == CloseReason::WriteTimeout {
            // What the kernel still holds for this client is discarded with a reset.
            self.socket.reset_on_close();
        }
        st.lingering = false;
        self.socket.shutdown(Shutdown::Both);
        self.close(st, reason);
    }

    fn close(&self, st: &mut ConnState, reason: CloseReason) {
        st.closed = Some(reason);
        st.notice = true;
        self.closing.store(true, Ordering::Relaxed);
        st.output.clear();
        st.input = ReadBuf::default();
        st.pending_head = None;
        st.prefix = Vec::new();
        self.wake(st);
    }

    // -----------------------------------------------------------------------------------
    // Deadlines
    // -----------------------------------------------------------------------------------

    /// The connection's earliest deadline and what it guards (`None`: nothing is awaited
    /// from the client, or the connection is closed; lingering is the loop's).
    pub(crate) fn deadline(&self, st: &ConnState, now: Instant) -> Option<(Instant, Expiry)> {
        if st.closed.is_some() {
            return None;
        }
        let settings = &self.hub.settings;
        let mut best: Option<(Instant, Expiry)> = None;
        let mut consider = |at: Option<Instant>, what: Expiry| {
            if let Some(at) = at {
                if best.map_or(true, |(b, _)| at < b) {
                    best = Some((at, what));
                }
            }
        };
        if st.tls.as_ref().is_some_and(TlsSession::is_handshaking) {
            consider(st.handshake_deadline, Expiry::Handshake);
        }
        consider(st.meter.deadline(&settings.write), Expiry::Write);
        match st.lc.read_deadline(&settings.read_timeouts, st.idle_since) {
            Some((at, kind)) => consider(Some(at), Expiry::Read(kind)),
            None => {
                // Handlers work on requests of an otherwise idle connection: look again an
                // idle period from now (the idle deadline proper starts when they are done).
                if matches!(st.lc.read_state(), ReadState::Head { started: None })
                    && st.lc.in_flight() > 0
                {
                    let again = settings.read_timeouts.idle.and_then(|d| now.checked_add(d));
                    consider(again, Expiry::Recheck);
                }
            }
        }
        best
    }

    /// A deadline came (the event loop's timer): acts on whatever expired by `now`.
    pub(crate) fn expire(&self, st: &mut ConnState, now: Instant) {
        let Some((at, what)) = self.deadline(st, now) else {
            return;
        };
        if at > now {
            return;
        }
        match what {
            Expiry::Handshake => self.abort(st, CloseReason::HandshakeTimeout),
            Expiry::Write => {
                log::info!(
                    "{:?}: client stopped reading (or reads too slowly)",
                    self.remote_addr
                );
                self.abort(st, CloseReason::WriteTimeout)
            }
            Expiry::Read(kind) => {
                if let Some((seq, status)) = st.lc.timed_out(kind) {
                    st.pending_head = None;
                    st.prefix.clear();
                    self.closing.store(true, Ordering::Relaxed);
                    self.push_error(st, seq, status, now);
                }
                self.closing.store(true, Ordering::Relaxed);
                self.check_finished(st, now);
                self.wake(st);
            }
            Expiry::Recheck => {}
        }
    }

    /// The server is shutting down: requests in progress finish (their responses say
    /// `Connection: close`), nothing more is read, an idle connection closes now.
    pub(crate) fn shutdown(&self, st: &mut ConnState, now: Instant) {
        st.shutting_down = true;
        self.closing.store(true, Ordering::Relaxed);
        if st.pending_head.is_some() {
            // A request whose body the loop was still reading was never handed out.
            st.pending_head = None;
            st.prefix.clear();
            st.lc.body_failed(CloseReason::Shutdown);
        }
        st.lc.shutdown();
        self.check_finished(st, now);
        self.wake(st);
    }

    /// The event loop's side of a readable event: `true` when a handler reading the socket
    /// takes it (see `reading`), so the loop need not lock the connection; the poller then
    /// stops reporting readability until the handler asks again.
    pub(crate) fn readable_for_reader(&self, writable: bool) -> bool {
        if writable && self.write_blocked.load(Ordering::SeqCst) {
            return false; // the loop has output to write
        }
        self.readable_hint.store(true, Ordering::SeqCst);
        if !self.reading.load(Ordering::SeqCst) {
            return false;
        }
        let mut parked = self
            .read_parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.reading.load(Ordering::SeqCst) {
            return false;
        }
        if !*parked {
            match self.watch(Interest::WRITABLE) {
                Ok(()) => *parked = true,
                Err(e) => log::debug!("{:?}: cannot change interest: {e}", self.remote_addr),
            }
        }
        true
    }

    /// A handler starts reading its request body from the socket (see `reading`).
    pub(crate) fn start_reading(&self) {
        self.reading.store(true, Ordering::SeqCst);
    }

    /// A handler stops reading the socket (it is about to wait, or the body is over): the
    /// poller watches for readability again, and a readable event left meanwhile goes into
    /// `st.readable`. Returns whether there was one.
    pub(crate) fn stop_reading(&self, st: &mut ConnState) -> bool {
        {
            let mut parked = self
                .read_parked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.reading.store(false, Ordering::SeqCst);
            if *parked {
                *parked = false;
                // Re-watching reports readiness that is already there.
                if let Err(e) = self.watch(Interest::READABLE | Interest::WRITABLE) {
                    if st.closed.is_none() {
                        log::debug!("{:?}: cannot change interest: {e}", self.remote_addr);
                        self.abort(st, CloseReason::IoError);
                    }
                }
            }
        }
        let hint = self.readable_hint.swap(false, Ordering::SeqCst);
        if hint {
            st.readable = true;
        }
        hint
    }

    /// The handler's body reader is gone while it still had the read side: the poller
    /// watches the socket again (a request dropped mid-body; its reply ends the body).
    pub(crate) fn reader_gone(self: &Arc<Self>) {
        if self.reading.load(Ordering::SeqCst) {
            let mut st = self.lock();
            self.stop_reading(&mut st);
            self.settle(st);
        }
    }

    /// Sets what the poller watches this connection's socket for.
    fn watch(&self, interest: Interest) -> io::Result<()> {
        let token = crate::runtime::reactor::token(self.key);
        self.socket.reregister(&self.hub.registry, token, interest)
    }

    /// Records whether output waits for the socket (see `write_blocked`).
    pub(crate) fn note_write_blocked(&self, blocked: bool) {
        self.write_blocked.store(blocked, Ordering::SeqCst);
    }

    /// Ends an operation of a handler thread on this connection: releases the lock and tells
    /// the event loop what it must know (the connection closed, or a deadline moved earlier).
    pub(crate) fn settle(self: &Arc<Self>, st: MutexGuard<'_, ConnState>) {
        self.settle_at(st, Instant::now());
    }

    /// Whether bytes already read (or a readable socket nobody has read) wait for a pump:
    /// responses going out may have lifted the pipelining limit or ended a switch. Whoever
    /// writes the end of a response checks this afterwards, handler or event loop.
    pub(crate) fn may_resume_reading(&self, st: &ConnState) -> bool {
        st.closed.is_none()
            && !st.reader_waiting
            && (!st.input.is_empty() || st.readable)
            && st.lc.wants_input(&self.hub.settings.read)
    }

    /// [`settle`](Self::settle) with the time the caller read before writing (deadlines
    /// worked out from it can only come early, never late).
    pub(crate) fn settle_at(self: &Arc<Self>, mut st: MutexGuard<'_, ConnState>, now: Instant) {
        // Responses going out may have let reading resume (pipelining back-pressure, a
        // request that could switch protocols): requests already here are parsed now.
        let mut next = Vec::new();
        if self.may_resume_reading(&st) {
            self.pump(&mut st, now, &mut next, false);
        }
        let notice = std::mem::take(&mut st.notice);
        let arm = !notice && {
            match self.deadline(&st, now) {
                Some((at, _)) => st.armed.map_or(true, |armed| at < armed),
                None => false,
            }
        };
        drop(st);
        if notice {
            self.hub.send(Msg::Finished(self.key));
        } else if arm {
            self.hub.send(Msg::Arm(self.key));
        }
        self.hub.enqueue(next, true);
    }

    /// The event loop's counterpart of [`settle`](Self::settle): whether the connection
    /// closed (the loop then lingers or forgets it).
    pub(crate) fn take_notice(st: &mut ConnState) -> bool {
        std::mem::take(&mut st.notice)
    }

    /// For a request body read by a handler: when the wait for more bytes must end, given
    /// when the handler started reading and how much has come (stall and minimum rate).
    pub(crate) fn body_deadline(
        &self,
        started: Instant,
        received: u64,
        now: Instant,
    ) -> Option<Instant> {
        let t = &self.hub.settings.read_timeouts;
        let stall = t.body_stall.and_then(|d| now.checked_add(d));
        let rate = t
            .min_body_rate
            .and_then(|rate| rate_deadline(started, received, rate));
        earliest(stall, rate)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.hub.live.fetch_sub(1, Ordering::Relaxed);
    }
}
