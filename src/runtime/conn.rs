//! One connection as shared between the event loop and handler threads.
//!
//! ```text
//!   event loop (driver)                     handler threads
//!   ───────────────────                     ───────────────
//!   parses heads, numbers requests 0,1,2..  Request #k holds Arc<Conn> and seq k
//!   lends the read side to a body reader ─► body bytes read straight from the socket
//!   gets it back when the body is done   ◄─ ReadReturned
//!                                           response #k waits for its *turn* (k == next),
//!                                           or, when small, is rendered and parked in
//!                                           `pending` for whoever finishes #k-1 to write
//!   closes (lingering) on Close          ◄─ the last response is out and no request follows
//! ```
//!
//! # Invariants
//! - Bytes of response k are written only while `next == k` and by the one thread that set
//!   `writing`; responses therefore leave in request order whatever order handlers finish in.
//! - After `closed` is set no byte is written: later responses are discarded silently.
//! - The driver is told `Close` exactly once, when `closed` is set or when every request that
//!   will ever exist (`read_end`) has been answered.

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::config::Settings;
use crate::runtime::driver::{ConnKey, DriverHandle, Msg};
use crate::transport::{self, Stream};

/// A connection shared by the driver and the requests handed out on it.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) key: ConnKey,
    pub(crate) settings: Arc<Settings>,
    driver: Arc<DriverHandle>,
    live: Arc<AtomicUsize>,
    writes: Mutex<WriteState>,
    turn: Condvar,
    /// How many requests the event loop has handed out on this connection.
    parsed: AtomicU64,
    /// Requests of this connection that `recv()` gave to handlers and that are not answered
    /// (or dropped) yet, and the receiving thread that took the last of them: while one is
    /// out, the connection's next requests go to that thread only (see `may_hand_to`).
    handed_out: AtomicU32,
    holder: AtomicU64,
}

#[derive(Debug, Default)]
struct WriteState {
    /// The sequence number of the response that may be written next.
    next: u64,
    /// A thread is writing response `next` (or pending bytes) right now.
    writing: bool,
    /// No more bytes will be written on this connection.
    closed: bool,
    /// No request with a sequence number at or above this will ever exist.
    read_end: Option<u64>,
    /// The driver has been told to close the connection.
    close_sent: bool,
    /// Whole responses rendered ahead of their turn: (bytes, keep the connection alive after).
    pending: BTreeMap<u64, (Vec<u8>, bool)>,
    /// Interim responses (100 Continue) waiting for their requests' turns, by sequence number
    /// (rarely more than one: each needs its own request body to be awaited).
    interim: Vec<(u64, Vec<u8>)>,
    /// The event loop paused reading (too many requests in flight): resume it when `next`
    /// reaches this.
    resume_at: Option<u64>,
    /// Threads blocked in `wait_turn` (signalling the condvar costs a system call even with
    /// no waiter, so it is skipped then).
    waiters: u32,
    /// Responses from `next` on are parked on purpose (corked) while nobody writes: the
    /// client pipelined more requests, whose responses will join them in one write.
    corked: bool,
    /// Bytes parked by corking (bounded by `CORK_LIMIT`).
    corked_bytes: usize,
    /// Bytes of responses already taken off `pending` (`next` is past them) that a
    /// non-blocking flush could not write: whoever writes next sends them first.
    unsent: Vec<u8>,
    /// Close the connection once `unsent` is out (the last of those responses said so).
    unsent_closes: bool,
    /// Since when `unsent` has been waiting (a client that stops reading is cut off after the
    /// write deadline).
    unsent_since: Option<Instant>,
}

impl WriteState {
    /// Due bytes are held back (corked, or left unsent by a non-blocking flush) while nobody
    /// writes: the next writer must send them before anything else.
    fn holds_back(&self) -> bool {
        self.corked || !self.unsent.is_empty()
    }

    /// Takes the writer role; anything corked is now due.
    fn begin_writing(&mut self) {
        self.corked = false;
        self.corked_bytes = 0;
        self.writing = true;
    }
}

/// What [`Conn::submit`] did with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// Written (or discarded: the connection is closed).
    Written,
    /// Kept for the thread that finishes an earlier response, or added to a corked run.
    Parked,
    /// Corked: kept back although due, to leave with the responses to requests already
    /// pipelined after it. The caller registers the connection so that it is flushed soon
    /// whatever happens (`DriverHandle::add_cork`).
    Corked,
}

/// Most bytes held back by corking on one connection.
const CORK_LIMIT: usize = 64 * 1024;

/// The outcome of waiting for a response's turn.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// It is this response's turn; the caller must call [`Conn::end_turn`] when done.
    Go,
    /// The connection is closed; the response is discarded.
    Closed,
}

impl Conn {
    pub(crate) fn new(
        stream: Stream,
        remote_addr: Option<SocketAddr>,
        key: ConnKey,
        settings: Arc<Settings>,
        driver: Arc<DriverHandle>,
        live: Arc<AtomicUsize>,
    ) -> Conn {
        live.fetch_add(1, Ordering::Relaxed);
        Conn {
            stream,
            remote_addr,
            key,
            settings,
            driver,
            live,
            writes: Mutex::new(WriteState::default()),
            turn: Condvar::new(),
            parsed: AtomicU64::new(0),
            handed_out: AtomicU32::new(0),
            holder: AtomicU64::new(0),
        }
    }

    /// May the receiving thread `receiver` take this connection's next request? Yes when no
    /// request of it is out in a handler, or when `receiver` took the one that is (a thread
    /// may collect several requests before answering them). So one client's pipelined
    /// requests occupy one handler at a time, however many it sends: they cannot pin every
    /// thread waiting for their turns, nor go ahead of other clients' requests.
    /// (Called under the hub's lock, like `hand_out`.)
    pub(crate) fn may_hand_to(&self, receiver: u64) -> bool {
        self.handed_out.load(Ordering::SeqCst) == 0
            || self.holder.load(Ordering::Relaxed) == receiver
    }

    /// A request of this connection goes to a handler on thread `receiver`.
    pub(crate) fn hand_out(&self, receiver: u64) {
        self.handed_out.fetch_add(1, Ordering::SeqCst);
        self.holder.store(receiver, Ordering::Relaxed);
    }

    /// A handler is done with a request of this connection (answered or dropped).
    pub(crate) fn handler_done(&self) {
        self.handed_out.fetch_sub(1, Ordering::SeqCst);
    }

    /// True while a handler holds a request of this connection.
    pub(crate) fn in_handler(&self) -> bool {
        self.handed_out.load(Ordering::SeqCst) > 0
    }

    /// The receiver that took the last request of this connection handed to a handler.
    pub(crate) fn holder(&self) -> u64 {
        self.holder.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, WriteState> {
        // A panic while holding this lock cannot leave the state inconsistent (every update is
        // a plain assignment), so a poisoned lock is used as is.
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deadline for the next write to make progress.
    pub(crate) fn write_deadline(&self) -> Option<Instant> {
        self.settings
            .timeouts
            .write_stall
            .and_then(|d| Instant::now().checked_add(d))
    }

    /// Waits until queued TLS records are on the wire, up to the write deadline; plain
    /// sockets have nothing to flush (and no clock is read for them).
    pub(crate) fn flush(&self) -> io::Result<()> {
        if self.stream.is_tls() {
            self.stream.flush(self.write_deadline())
        } else {
            Ok(())
        }
    }

    /// Blocks until response `seq` may be written (or the connection is closed).
    pub(crate) fn wait_turn(&self, seq: u64) -> Turn {
        let mut st = self.state();
        loop {
            if st.closed {
                return Turn::Closed;
            }
            if st.holds_back() && !st.writing {
                // Responses before this one are held back: send them now.
                self.write_corked(st);
                st = self.state();
                continue;
            }
            if st.next == seq && !st.writing {
                st.writing = true;
                let interim = take_interim(&mut st, seq);
                drop(st);
                if let Some(bytes) = interim {
                    if self.write_bytes(&bytes).is_err() {
                        self.end_turn(seq, false);
                        return Turn::Closed;
                    }
                }
                return Turn::Go;
            }
            st.waiters += 1;
            st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
            st.waiters -= 1;
        }
    }

    /// Writes a whole rendered response now if it is its turn, or parks it for the thread
    /// that finishes the response before it. Never blocks on other handlers.
    pub(crate) fn submit(
        &self,
        seq: u64,
        bytes: Vec<u8>,
        keep_alive: bool,
    ) -> io::Result<Submitted> {
        let mut st = self.state();
        if st.closed {
            return Ok(Submitted::Written);
        }
        let due = !st.writing
            && (st.next == seq
                || (st.corked && (st.next..seq).all(|s| st.pending.contains_key(&s))));
        if !due {
            st.pending.insert(seq, (bytes, keep_alive));
            return Ok(Submitted::Parked);
        }
        // Due now. When the client already pipelined a later request, hold this response back
        // so that it leaves with that one's in a single write (bounded in size; flushed by the
        // hub whenever the thread does anything but answer that next request).
        // (No point when the next response is already parked: both can leave now.)
        let later_request =
            self.parsed.load(Ordering::Acquire) > seq + 1 && !st.pending.contains_key(&(seq + 1));
        if keep_alive
            && later_request
            && st.interim.is_empty()
            && st.corked_bytes + bytes.len() <= CORK_LIMIT
        {
            st.corked_bytes += bytes.len();
            st.pending.insert(seq, (bytes, keep_alive));
            let newly = !std::mem::replace(&mut st.corked, true);
            return Ok(if newly {
                Submitted::Corked
            } else {
                Submitted::Parked
            });
        }
        st.begin_writing();
        if st.pending.is_empty() && st.unsent.is_empty() && st.interim.is_empty() {
            // Nothing else is due: write it now, without parking it first.
            drop(st);
            let result = self.write_bytes(&bytes);
            crate::response::recycle(bytes);
            let mut st = self.state();
            st.next = seq + 1;
            st.closed |= !(result.is_ok() && keep_alive);
            let more = self.write_parked(st);
            return result.and(more).map(|()| Submitted::Written);
        }
        st.pending.insert(seq, (bytes, keep_alive));
        self.write_parked(st).map(|()| Submitted::Written)
    }

    fn write_corked<'a>(&'a self, mut st: MutexGuard<'a, WriteState>) {
        st.begin_writing();
        let _ = self.write_parked(st);
    }

    /// Records how many requests the event loop has handed out (for corking).
    pub(crate) fn set_parsed(&self, count: u64) {
        self.parsed.store(count, Ordering::Release);
    }

    /// [`submit`](Self::submit) for the event loop, which must never wait on a client: the
    /// bytes are written with a single non-blocking attempt and the connection then closes.
    pub(crate) fn submit_from_driver(&self, seq: u64, bytes: Vec<u8>) -> io::Result<()> {
        let mut st = self.state();
        if st.closed {
            return Ok(());
        }
        if st.next != seq || st.writing || st.corked || !st.unsent.is_empty() {
            // After the responses before it (a corked run is flushed by the hub soon).
            st.pending.insert(seq, (bytes, false));
            return Ok(());
        }
        st.writing = true;
        let interim = take_interim(&mut st, seq);
        drop(st);
        // A deadline of "now": one attempt, no waiting.
        let deadline = || Some(Instant::now());
        let mut result = Ok(());
        if let Some(interim) = interim {
            result = self.write_bytes_until(&interim, deadline);
        }
        if result.is_ok() {
            result = self.write_bytes_until(&bytes, deadline);
        }
        self.end_turn(seq, false);
        result
    }

    /// Sends an interim response (100 Continue) for request `seq`: now if it is its turn,
    /// otherwise right before that request's final response.
    pub(crate) fn send_interim(&self, seq: u64, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.state();
        if st.holds_back() && !st.writing {
            self.write_corked(st);
            st = self.state();
        }
        if st.closed {
            return Ok(());
        }
        if st.next != seq || st.writing {
            st.interim.retain(|(s, _)| *s != seq);
            st.interim.push((seq, bytes.to_vec()));
            return Ok(());
        }
        st.writing = true;
        drop(st);
        let result = self.write_bytes(bytes);
        let mut st = self.state();
        st.closed |= result.is_err();
        let _ = self.write_parked(st);
        result
    }

    /// Ends response `seq`'s turn: advances to the next response and writes any that were
    /// parked, in order. `keep_alive == false` closes the connection after this response.
    pub(crate) fn end_turn(&self, seq: u64, keep_alive: bool) {
        let mut st = self.state();
        debug_assert!(st.writing && st.next == seq);
        st.next = seq + 1;
        if !keep_alive {
            st.closed = true;
        }
        let _ = self.write_parked(st);
    }

    /// Writes whatever was parked for the responses now due, then releases the writer role.
    fn write_parked<'a>(&'a self, mut st: MutexGuard<'a, WriteState>) -> io::Result<()> {
        let mut result = Ok(());
        while !st.closed {
            let (out, next, keep) = gather(&mut st);
            if out.is_empty() {
                break;
            }
            drop(st);
            result = self.write_bytes(&out);
            crate::response::recycle(out);
            let ok = result.is_ok();
            st = self.state();
            st.next = next;
            st.closed |= !(ok && keep);
        }
        st.writing = false;
        self.after_write(st);
        result
    }

    /// Writes what is due without waiting (the hub's flush of corked responses, from a thread
    /// that must not block on this client): what the socket does not take now stays in
    /// `unsent`, for the next writer or the next flush. Returns true while bytes remain.
    pub(crate) fn flush_nonblocking(&self) -> bool {
        let mut st = self.state();
        if st.writing || st.closed || !st.holds_back() {
            return false;
        }
        st.begin_writing();
        // Like `write_parked`, loop: responses parked while this thread wrote are due next.
        while !st.closed {
            let since = st.unsent_since.take();
            let (out, next, keep) = gather(&mut st);
            if out.is_empty() {
                break;
            }
            drop(st);
            let mut written = 0;
            let mut failed = false;
            while written < out.len() && !failed {
                match self.stream.write(&out[written..]) {
                    Ok(0) => failed = true,
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => failed = true,
                }
            }
            failed |= self.stream.flush_nonblocking().is_err();
            st = self.state();
            st.next = next;
            if failed {
                st.closed = true;
            } else if written < out.len() {
                let now = Instant::now();
                // The deadline bounds the wait for progress (as for blocking writes): bytes
                // taken now restart it.
                let since = if written > 0 {
                    now
                } else {
                    since.unwrap_or(now)
                };
                let stalled = self
                    .settings
                    .timeouts
                    .write_stall
                    .is_some_and(|d| now.saturating_duration_since(since) > d);
                if stalled {
                    log::info!("{:?}: client stopped reading responses", self.remote_addr);
                    self.stream.reset_on_close();
                    st.closed = true;
                } else {
                    st.unsent = out[written..].to_vec();
                    st.unsent_closes = !keep;
                    st.unsent_since = Some(since);
                }
                break;
            } else {
                st.closed |= !keep;
            }
        }
        st.writing = false;
        if st.closed {
            self.stream.shutdown(Shutdown::Both);
        }
        let more = !st.unsent.is_empty() && !st.closed;
        self.after_write(st);
        more
    }

    /// Records that no request numbered `end` or higher will be handed out (the client closed,
    /// asked to close, broke the protocol, or an unread body made the stream unusable).
    pub(crate) fn set_read_end(&self, end: u64) {
        let mut st = self.state();
        if st.read_end.map_or(true, |e| end < e) {
            st.read_end = Some(end);
        }
        self.after_write(st);
    }

    /// Closes the connection for writing now (server-side error, upgrade hand-over).
    pub(crate) fn mark_closed(&self) {
        let mut st = self.state();
        st.closed = true;
        self.after_write(st);
    }

    /// The event loop's mailbox.
    pub(crate) fn driver(&self) -> &DriverHandle {
        &self.driver
    }

    /// The connection was upgraded after response `seq`: no HTTP response follows, and the
    /// event loop forgets the connection without closing it (the upgraded stream owns it now).
    pub(crate) fn detach(&self, seq: u64) {
        let mut st = self.state();
        st.next = seq + 1;
        st.writing = false;
        st.closed = true;
        st.close_sent = true;
        st.pending.clear();
        drop(st);
        self.turn.notify_all(); // rare (upgrade): no need to count waiters here
        self.driver.send(Msg::Detach(self.key));
    }

    /// How many responses have been completed (for the driver's idle check).
    pub(crate) fn responses_done(&self) -> u64 {
        let st = self.state();
        // Responses still partly unsent are not done.
        st.next.saturating_sub(u64::from(!st.unsent.is_empty()))
    }

    /// Pauses the event loop's reading until `done` responses are complete; false when they
    /// already are (do not pause).
    pub(crate) fn pause_reading_until(&self, done: u64) -> bool {
        let mut st = self.state();
        if st.next >= done || st.closed {
            return false;
        }
        st.resume_at = Some(done);
        true
    }

    /// Wakes waiters and, when nothing more will be written, tells the driver to close.
    fn after_write<'a>(&'a self, mut st: MutexGuard<'a, WriteState>) {
        let resume = st.resume_at.is_some_and(|at| st.next >= at) && !st.closed;
        if resume {
            st.resume_at = None;
        }
        let finished =
            st.closed || (st.read_end.is_some_and(|end| st.next >= end) && st.unsent.is_empty());
        let notify = finished && !st.writing && !st.close_sent;
        if notify {
            st.close_sent = true;
            st.closed = true;
            st.pending.clear();
            st.unsent = Vec::new();
        }
        let waiters = st.waiters > 0;
        drop(st);
        if waiters {
            self.turn.notify_all();
        }
        if notify {
            self.driver.send(Msg::Close(self.key));
        } else if resume {
            self.driver.send(Msg::Resume(self.key));
        }
    }

    /// Writes bytes for the current turn, waiting for writability up to the write deadline.
    /// A client that let the deadline pass is reset: what is still queued for it is dropped.
    fn write_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        let result = self.write_bytes_until(bytes, || self.write_deadline());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::TimedOut) {
            self.stream.reset_on_close();
        }
        result
    }

    fn write_bytes_until(
        &self,
        bytes: &[u8],
        deadline: impl Fn() -> Option<Instant>,
    ) -> io::Result<()> {
        let result = transport::write_all(&self.stream, bytes, deadline);
        if let Err(e) = &result {
            log::debug!("connection {:?}: write failed: {e}", self.remote_addr);
            self.stream.shutdown(Shutdown::Both);
        }
        result
    }
}

/// Takes everything now due, in order, as one buffer: bytes left `unsent`, then each interim
/// and parked response from `next` on until a gap (or a response that closes the
/// connection). Returns the bytes, the `next` after them, and whether the connection stays
/// open after them.
fn gather(st: &mut WriteState) -> (Vec<u8>, u64, bool) {
    let mut out = std::mem::take(&mut st.unsent);
    let mut keep = !std::mem::take(&mut st.unsent_closes);
    st.unsent_since = None;
    let mut next = st.next;
    while keep {
        if let Some(interim) = take_interim(st, next) {
            out.extend_from_slice(&interim);
        }
        match st.pending.remove(&next) {
            Some((bytes, keep_alive)) => {
                if out.is_empty() {
                    out = bytes;
                } else {
                    out.extend_from_slice(&bytes);
                }
                next += 1;
                keep = keep_alive;
            }
            None => break,
        }
    }
    (out, next, keep)
}

fn take_interim(st: &mut WriteState, seq: u64) -> Option<Vec<u8>> {
    let at = st.interim.iter().position(|(s, _)| *s == seq)?;
    Some(st.interim.swap_remove(at).1)
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}
