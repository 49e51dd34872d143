//! The hand-off between the event loop and the threads calling `recv()`, and who runs the
//! event loop (leader/followers).
//!
//! ```text
//!   recv() ──a request is queued──────────────────────────────────────────► return it
//!     │ nothing queued, nobody leads: LEAD ─► Reactor::turn ─► queue the batch ─┐
//!     │ nothing queued, someone leads: sleep as a FOLLOWER (woken for a request) │
//!     └──────────────────────────────────────────────────────── loop ◄──────────┘
//!
//!   a handler waiting for its connection (body bytes, output room, its turn):
//!     nobody leads ─► LEAD until something changes; someone leads ─► sleep, registered as an
//!     I/O waiter (the leader's events wake it; a leader leaving wakes one to take over)
//!
//!   background thread: leads when nobody has for a moment (every worker busy, or none, or
//!   the Server dropped), hands the loop back as soon as a worker asks; sleeps without a
//!   timeout while a leader is blocked in the poller and nothing happens (an idle server
//!   does not wake up).
//! ```
//!
//! Under load a worker polls, parses a batch and answers the requests of that batch itself,
//! one after another, without sleeping or waking anyone: no hand-off between threads on the
//! per-request path. Other workers are woken only when there is more work than one thread.
//!
//! # Invariants
//! - At most one thread runs the event loop at a time (`State::leader`, under the state
//!   lock; the reactor's mutex is therefore uncontended).
//! - A thread that leaves the leader role while another thread needs the loop (an I/O
//!   waiter) wakes one of them; otherwise a dormant background thread is woken, which leads
//!   after a moment unless a worker does. So readiness is never left unwatched for longer
//!   than the background's watch interval while anything is in progress.
//! - Items leave in the order they entered, except that a request whose connection already
//!   has a request out in a handler waits (only the thread holding that one may take it):
//!   one client's pipelined requests occupy one handler at a time. `unblock()` is an item
//!   that releases exactly one receiver.
//! - With no traffic and no deadline due, every thread sleeps: the leader in the poller
//!   (woken by events, the waker or its earliest deadline), followers and the background
//!   thread on condition variables without timeouts.
//!
//! Lock order: a connection's lock, then the state lock, then the reactor's lock (taken only
//! by the leader, without holding the state lock). Messages to the loop take the mailbox lock
//! alone.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::Waker;

use crate::runtime::conn::{Conn, ConnState, Incoming, Msg, Woken};
use crate::runtime::reactor::Reactor;
use crate::runtime::reply::Reply;
use crate::runtime::Settings;
use crate::types::StatusCode;

#[derive(Debug)]
enum Item {
    Request(Incoming),
    Unblock,
}

/// What a receiver got.
#[derive(Debug)]
pub(crate) enum Received {
    Request(Incoming),
    /// `unblock()` was called.
    Unblocked,
    /// The deadline passed (or, for `try_recv`, nothing was there).
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leader {
    Nobody,
    Worker,
    Background,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Item>,
    leader: Leader,
    /// Receivers asleep in `recv`, by tag: a request only one of them may take wakes all.
    sleeping: Vec<u64>,
    /// Handler threads asleep waiting for their connection.
    io_waiters: Vec<Arc<Conn>>,
    /// A worker asked the background leader to hand the event loop over.
    yield_asked: bool,
    /// The background thread sleeps without a timeout (nothing to watch).
    background_dormant: bool,
    /// The `Server` is gone: requests are no longer queued.
    closed: bool,
}

/// Shared by the `Server`, its receivers, the background thread and every connection.
#[derive(Debug)]
pub(crate) struct Hub {
    pub(crate) settings: Settings,
    /// Open connections (upgraded ones included), for `Server::num_connections`.
    pub(crate) live: AtomicUsize,
    state: Mutex<State>,
    /// Followers wait here.
    ready: Condvar,
    /// The background thread waits here.
    background: Condvar,
    reactor: Mutex<Reactor>,
    mailbox: Mutex<Vec<Msg>>,
    waker: Arc<Waker>,
    /// The poller's registrations, for handler threads (see `Conn::readable_for_reader`).
    pub(crate) registry: mio::Registry,
    /// Connections with responses held back to leave with the next ones (see `cork`).
    corks: Mutex<Vec<Arc<Conn>>>,
    cork_count: AtomicUsize,
    /// Counts calls to `recv`, so the background thread can tell whether workers are around.
    recv_calls: AtomicU64,
    /// The event loop has finished (server dropped, every connection closed).
    finished: AtomicBool,
    /// The process may run on one CPU only: a second thread cannot handle requests at the
    /// same time, so a leader keeps its whole batch.
    single_core: bool,
}

/// A receiver whose recent handlers took longer than this wakes a follower to lead while it
/// handles the next request; faster ones come back before a wake-up would pay off.
const SLOW_HANDLER: Duration = Duration::from_micros(200);
/// How often the background thread checks on the workers while something is in progress, at
/// first and at most.
const WATCH_MIN: Duration = Duration::from_millis(1);
const WATCH_MAX: Duration = Duration::from_millis(50);

/// A spare batch vector kept by each thread that leads the event loop, up to this many
/// requests' room: a pass's requests are collected without growing a vector each time.
const SPARE_BATCH_MAX: usize = 256;

/// This thread's spare batch vector (empty; a new one when there is none).
fn spare_batch() -> Vec<Incoming> {
    SPARE_BATCH.try_with(Cell::take).unwrap_or_default()
}

/// Keeps `batch` (emptied) as this thread's spare when it is not too large and has more
/// room than the spare it would replace.
fn keep_spare_batch(mut batch: Vec<Incoming>) {
    batch.clear();
    if batch.capacity() <= SPARE_BATCH_MAX {
        let _ = SPARE_BATCH.try_with(|spare| {
            let kept = spare.take();
            spare.set(if kept.capacity() >= batch.capacity() {
                kept
            } else {
                batch
            });
        });
    }
}

thread_local! {
    /// See [`spare_batch`].
    static SPARE_BATCH: Cell<Vec<Incoming>> = const { Cell::new(Vec::new()) };
    /// This thread's tag as a receiver (never 0).
    static RECEIVER_TAG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// When this thread last left `recv` with a request, and a moving average of how long
    /// its handlers take, in nanoseconds.
    static HANDLER_CLOCK: std::cell::Cell<(Option<Instant>, u64)> =
        const { std::cell::Cell::new((None, 0)) };
    /// Requests handed out on this thread (the clock samples some of them).
    static HANDLER_SAMPLE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A number that identifies the calling thread among receivers (never 0).
pub(crate) fn receiver_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    RECEIVER_TAG.with(|tag| {
        if tag.get() == 0 {
            tag.set(NEXT.fetch_add(1, Relaxed));
        }
        tag.get()
    })
}

/// How long this thread's handlers take (the time between leaving `recv` and coming back).
struct HandlerClock;

impl HandlerClock {
    /// Entering `recv`: folds the last handler's time into the average; true when this
    /// thread's handlers are slow.
    fn arrive() -> bool {
        HANDLER_CLOCK.with(|c| {
            let (left, average) = c.get();
            let average = match left {
                Some(t) => {
                    let took = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    average.saturating_mul(3).saturating_add(took) / 4
                }
                None => average,
            };
            c.set((None, average));
            average > SLOW_HANDLER.as_nanos() as u64
        })
    }

    /// Leaving `recv` with a request: after a thread's first handlers only one in `SAMPLE`
    /// is timed (two clock reads per request are a measurable share of a fast handler).
    fn leave() {
        const SAMPLE: u32 = 8;
        const FIRST: u32 = 16;
        HANDLER_SAMPLE.with(|n| {
            let count = n.get().saturating_add(1);
            n.set(if count >= FIRST + SAMPLE {
                FIRST
            } else {
                count
            });
            if count < FIRST || count % SAMPLE == 0 {
                HANDLER_CLOCK.with(|c| c.set((Some(Instant::now()), c.get().1)));
            }
        });
    }
}

/// Answers requests nobody will receive (the server was dropped): `503`.
fn refuse(requests: Vec<Incoming>) {
    for request in requests {
        Reply::new(request.conn, request.seq, false).send_error(StatusCode(503));
    }
}

/// Where the first item `receiver` may take is in the queue, if any.
fn first_takeable(items: &VecDeque<Item>, receiver: u64) -> Option<usize> {
    items.iter().position(|item| match item {
        Item::Unblock => true,
        Item::Request(r) => r.conn.may_hand_to(receiver),
    })
}

/// Is some queued item takeable by any receiver?
fn has_unheld_item(items: &VecDeque<Item>) -> bool {
    items.iter().any(|item| match item {
        Item::Request(r) => !r.conn.in_handler(),
        Item::Unblock => true,
    })
}

impl Hub {
    pub(crate) fn new(
        settings: Settings,
        reactor: Reactor,
        waker: Arc<Waker>,
        registry: mio::Registry,
    ) -> Hub {
        Hub {
            settings,
            live: AtomicUsize::new(0),
            state: Mutex::new(State {
                items: VecDeque::new(),
                leader: Leader::Nobody,
                sleeping: Vec::new(),
                io_waiters: Vec::new(),
                yield_asked: false,
                background_dormant: false,
                closed: false,
            }),
            ready: Condvar::new(),
            background: Condvar::new(),
            reactor: Mutex::new(reactor),
            mailbox: Mutex::new(Vec::new()),
            waker,
            registry,
            corks: Mutex::new(Vec::new()),
            cork_count: AtomicUsize::new(0),
            recv_calls: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            single_core: std::thread::available_parallelism().is_ok_and(|n| n.get() == 1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // -----------------------------------------------------------------------------------
    // The mailbox to the event loop
    // -----------------------------------------------------------------------------------

    /// Queues a message for the event loop and wakes it (once per batch of messages).
    pub(crate) fn send(&self, msg: Msg) {
        let mut msgs = self.mailbox.lock().unwrap_or_else(|p| p.into_inner());
        let first = msgs.is_empty();
        msgs.push(msg);
        drop(msgs);
        if first {
            self.wake_loop();
        }
    }

    /// Takes the queued messages (the event loop's side), swapping buffers.
    pub(crate) fn take_messages(&self, into: &mut Vec<Msg>) {
        let mut msgs = self.mailbox.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *msgs, into);
    }

    /// Interrupts the poll in progress, whichever thread runs it.
    pub(crate) fn wake_loop(&self) {
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the event loop: {e}");
        }
    }

    // -----------------------------------------------------------------------------------
    // Corking: the responses of a pipelined burst leave in one write
    // -----------------------------------------------------------------------------------

    /// Registers a connection whose due responses were held back because its next request
    /// is already queued: they leave when this thread does anything else.
    pub(crate) fn cork(&self, conn: Arc<Conn>) {
        let mut corks = self.corks.lock().unwrap_or_else(|p| p.into_inner());
        if !corks.iter().any(|c| Arc::ptr_eq(c, &conn)) {
            corks.push(conn);
        }
        self.cork_count.store(corks.len(), Relaxed);
        drop(corks);
        // Should this thread not come back to `recv` soon, the background thread flushes them:
        // it must be watching, not asleep or blocked in the poller.
        let mut st = self.lock();
        if st.background_dormant {
            st.background_dormant = false;
            self.background.notify_one();
        } else if st.leader == Leader::Background {
            self.wake_loop();
        }
    }

    fn has_corks(&self) -> bool {
        self.cork_count.load(Relaxed) > 0
    }

    /// Writes the held-back responses of every corked connection but `keep` (whose next
    /// request the calling thread is about to take: its responses may join those).
    fn flush_corks(&self, keep: Option<*const Conn>) {
        if !self.has_corks() {
            return;
        }
        let mut corks = self.corks.lock().unwrap_or_else(|p| p.into_inner());
        let mut flush = Vec::new();
        corks.retain(|conn| {
            if keep == Some(Arc::as_ptr(conn)) {
                true
            } else {
                flush.push(conn.clone());
                false
            }
        });
        self.cork_count.store(corks.len(), Relaxed);
        drop(corks);
        let now = Instant::now();
        for conn in flush {
            let mut st = conn.lock();
            conn.flush(&mut st, now);
            conn.settle(st);
        }
    }

    // -----------------------------------------------------------------------------------
    // Running the event loop
    // -----------------------------------------------------------------------------------

    /// Runs one pass of the event loop (the caller is the leader) and returns its requests.
    fn drive(self: &Arc<Self>, timeout: Option<Duration>) -> Vec<Incoming> {
        // Should the pass panic, the leader role must not stay taken.
        struct Abdicate<'a>(&'a Hub);
        impl Drop for Abdicate<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut st = self.0.lock();
                    st.leader = Leader::Nobody;
                    self.0.left_leadership(&mut st);
                }
            }
        }
        let _guard = Abdicate(self);
        let mut batch = spare_batch();
        let mut reactor = self.reactor.lock().unwrap_or_else(|p| p.into_inner());
        if reactor.turn(self, timeout, &mut batch) {
            self.finished.store(true, Relaxed);
        }
        batch
    }

    /// The leader role was just given up: whoever needs the loop must get it. An I/O waiter
    /// is woken to lead; otherwise a dormant background thread starts watching.
    fn left_leadership(&self, st: &mut State) -> Option<Arc<Conn>> {
        if st.leader != Leader::Nobody {
            return None;
        }
        if let Some(conn) = st.io_waiters.first() {
            return Some(conn.clone());
        }
        if st.background_dormant {
            st.background_dormant = false;
            self.background.notify_one();
        }
        None
    }

    /// Queues requests (or, once closed, refuses them) and wakes followers to take them.
    /// `keep_one`: the calling thread takes one itself (it leads, or it just finished a body
    /// of the connection whose next request this is).
    pub(crate) fn enqueue(&self, batch: Vec<Incoming>, keep_one: bool) {
        if batch.is_empty() {
            return;
        }
        let mut st = self.lock();
        let refused = self.enqueue_locked(&mut st, batch, keep_one);
        drop(st);
        refuse(refused);
    }

    /// [`enqueue`](Self::enqueue) under the state lock. Once the server is closed nobody
    /// will receive requests: they are returned, for the caller to answer `503` once it has
    /// released the lock (lock order).
    #[must_use]
    fn enqueue_locked(
        &self,
        st: &mut State,
        mut batch: Vec<Incoming>,
        keep_one: bool,
    ) -> Vec<Incoming> {
        if batch.is_empty() {
            keep_spare_batch(batch);
            return Vec::new();
        }
        if st.closed {
            return batch;
        }
        // Requests of one connection go to one handler at a time: count the connections.
        let mut n = 0;
        let mut last: Option<*const Conn> = None;
        let mut holder_asleep = false;
        for request in &batch {
            let ptr = Arc::as_ptr(&request.conn);
            if Some(ptr) != last {
                n += 1;
            }
            last = Some(ptr);
            holder_asleep |=
                request.conn.in_handler() && st.sleeping.contains(&request.conn.holder());
        }
        st.items.extend(batch.drain(..).map(Item::Request));
        keep_spare_batch(batch);
        let extra = match (keep_one, self.single_core) {
            (true, false) => n - 1,
            (true, true) => 0,
            (false, false) => n,
            (false, true) => n.min(1),
        };
        if holder_asleep {
            // That one thread cannot be woken alone: wake them all (rare).
            self.ready.notify_all();
        } else {
            for _ in 0..extra.min(st.sleeping.len()) {
                self.ready.notify_one();
            }
        }
        Vec::new()
    }

    /// Takes the next item, running the event loop when nobody else does; waits until
    /// `deadline` (forever with `None`, not at all with `Some(now)`).
    pub(crate) fn recv(self: &Arc<Self>, deadline: Option<Instant>) -> Received {
        self.recv_calls.fetch_add(1, Relaxed);
        let slow_handlers = HandlerClock::arrive();
        let me = receiver_tag();
        let mut st = self.lock();
        if self.has_corks() {
            // Corked responses leave now, except those whose connection's next request is
            // the one about to be taken: they may join it.
            let keep = match first_takeable(&st.items, me).map(|at| &st.items[at]) {
                Some(Item::Request(r)) => Some(Arc::as_ptr(&r.conn)),
                _ => None,
            };
            drop(st);
            self.flush_corks(keep);
            st = self.lock();
        }
        let mut flushed = false;
        loop {
            let takeable = first_takeable(&st.items, me);
            if takeable.is_none() && !flushed && self.has_corks() {
                flushed = true;
                drop(st);
                self.flush_corks(None);
                st = self.lock();
                continue;
            }
            if let Some(item) = takeable.and_then(|at| st.items.remove(at)) {
                if slow_handlers {
                    // This thread's handlers take a while: someone else should watch the
                    // sockets meanwhile.
                    if st.leader == Leader::Nobody && !st.sleeping.is_empty() {
                        self.ready.notify_one();
                    }
                }
                return match item {
                    Item::Request(r) => {
                        r.conn.hand_out(me);
                        HandlerClock::leave();
                        Received::Request(r)
                    }
                    Item::Unblock => Received::Unblocked,
                };
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if st.leader == Leader::Nobody && !self.finished.load(Relaxed) {
                st.leader = Leader::Worker;
                drop(st);
                let batch = self.drive(left);
                flushed = false;
                st = self.lock();
                st.leader = Leader::Nobody;
                let refused = self.enqueue_locked(&mut st, batch, true);
                if !refused.is_empty() {
                    drop(st);
                    refuse(refused);
                    st = self.lock();
                }
                if first_takeable(&st.items, me).is_none() {
                    if left == Some(Duration::ZERO) {
                        let waiter = self.left_leadership(&mut st);
                        drop(st);
                        if let Some(conn) = waiter {
                            conn.nudge();
                        }
                        return Received::Empty;
                    }
                    continue;
                }
                // This thread takes a request and goes off to handle it.
                if let Some(conn) = self.left_leadership(&mut st) {
                    drop(st);
                    conn.nudge();
                    st = self.lock();
                }
                continue;
            }
            if left == Some(Duration::ZERO) {
                return Received::Empty;
            }
            if st.leader == Leader::Background && !st.yield_asked {
                // Take the event loop back from the background thread.
                st.yield_asked = true;
                self.wake_loop();
            }
            st.sleeping.push(me);
            st = match left {
                None => self.ready.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(left) => {
                    self.ready
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            if let Some(at) = st.sleeping.iter().position(|&tag| tag == me) {
                st.sleeping.swap_remove(at);
            }
            flushed = false;
        }
    }

    /// A handler thread waits for its connection (`conn`, whose lock it holds as `cst`):
    /// when nobody runs the event loop it runs one pass itself; otherwise it sleeps on the
    /// connection, registered so that a leader giving up the role wakes it to take over.
    pub(crate) fn wait_for_io<'a>(
        self: &Arc<Self>,
        conn: &'a Arc<Conn>,
        cst: MutexGuard<'a, ConnState>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, ConnState>, Woken) {
        let mut st = self.lock();
        if st.leader == Leader::Nobody && !self.finished.load(Relaxed) {
            st.leader = Leader::Worker;
            drop(st);
            drop(cst);
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let batch = self.drive(left);
            let mut st = self.lock();
            st.leader = Leader::Nobody;
            // This thread is busy with its handler: every request goes to others.
            let refused = self.enqueue_locked(&mut st, batch, false);
            let waiter = self.left_leadership(&mut st);
            drop(st);
            refuse(refused);
            if let Some(other) = waiter.filter(|c| !Arc::ptr_eq(c, conn)) {
                other.nudge();
            }
            return (conn.lock(), Woken::Changed);
        }
        st.io_waiters.push(Arc::clone(conn));
        drop(st);
        let (cst, woken) = conn.sleep(cst, deadline);
        let mut st = self.lock();
        if let Some(at) = st.io_waiters.iter().position(|c| Arc::ptr_eq(c, conn)) {
            st.io_waiters.swap_remove(at);
        }
        drop(st);
        (cst, woken)
    }

    /// Lets exactly one receiver (current or future) return without a request.
    pub(crate) fn unblock(&self) {
        let mut st = self.lock();
        st.items.push_back(Item::Unblock);
        if !st.sleeping.is_empty() {
            self.ready.notify_one();
        }
        if st.leader == Leader::Worker {
            // A receiver may be the leader, asleep in the poller.
            self.wake_loop();
        }
    }

    /// The `Server` is gone: stop queueing, and return the requests nobody received (they
    /// are answered `503` when dropped, outside the lock).
    pub(crate) fn close(&self) -> Vec<Incoming> {
        let mut st = self.lock();
        st.closed = true;
        let out = st
            .items
            .drain(..)
            .filter_map(|item| match item {
                Item::Request(r) => Some(r),
                Item::Unblock => None,
            })
            .collect();
        st.background_dormant = false;
        self.background.notify_one();
        out
    }

    fn background_wait<'a>(
        &self,
        st: MutexGuard<'a, State>,
        wait: Option<Duration>,
    ) -> MutexGuard<'a, State> {
        match wait {
            Some(wait) => {
                self.background
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => self.background.wait(st).unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// The background thread: leads the event loop whenever no worker has for a moment,
    /// and always once the server is closed, until the loop finishes.
    pub(crate) fn background(self: Arc<Self>) {
        let mut watch = WATCH_MIN;
        let mut seen_calls = u64::MAX;
        let mut st = self.lock();
        loop {
            if self.finished.load(Relaxed) {
                return;
            }
            let calls = self.recv_calls.load(Relaxed);
            let quiet = calls == seen_calls;
            seen_calls = calls;
            if quiet && self.has_corks() {
                // A thread corked responses and has not come back to recv() since.
                drop(st);
                self.flush_corks(None);
                st = self.lock();
            }
            if quiet && !st.closed && has_unheld_item(&st.items) {
                // A request waits that anyone may take, and no receiver came for it.
                if !st.sleeping.is_empty() {
                    self.ready.notify_one();
                } else if st.leader == Leader::Worker {
                    self.wake_loop();
                }
            }
            if !st.closed {
                if st.leader != Leader::Nobody {
                    if quiet && st.io_waiters.is_empty() {
                        // A leader watches the sockets and nothing is happening: sleep until
                        // a leader gives up the role.
                        st.background_dormant = true;
                        st = self.background_wait(st, None);
                        st.background_dormant = false;
                        watch = WATCH_MIN;
                        seen_calls = u64::MAX;
                    } else {
                        watch = (watch * 2).min(WATCH_MAX);
                        st = self.background_wait(st, Some(watch));
                    }
                    continue;
                }
                if let Some(conn) = st.io_waiters.first().cloned() {
                    // A handler waits for its connection while nobody leads: it leads.
                    drop(st);
                    conn.nudge();
                    st = self.lock();
                    st = self.background_wait(st, Some(WATCH_MIN));
                    continue;
                }
                if !st.sleeping.is_empty() {
                    // A follower sleeps while nobody leads: let it lead.
                    self.ready.notify_one();
                    watch = WATCH_MIN;
                    st = self.background_wait(st, Some(watch));
                    continue;
                }
                if !quiet {
                    // Workers are busy but keep coming back: one of them will lead.
                    watch = WATCH_MIN;
                    st = self.background_wait(st, Some(watch));
                    continue;
                }
            } else if st.leader != Leader::Nobody {
                // Closed, but a receiver still leads (it is finishing its pass).
                st = self.background_wait(st, Some(WATCH_MIN));
                continue;
            }
            // Nobody has led for a whole interval: lead until a worker wants the loop back.
            watch = WATCH_MIN;
            st.leader = Leader::Background;
            st.yield_asked = false;
            loop {
                let closed = st.closed;
                drop(st);
                self.flush_corks(None);
                // Corked responses are flushed on every pass: look again soon while any exist.
                let timeout = self.has_corks().then_some(WATCH_MIN);
                let batch = self.drive(timeout);
                st = self.lock();
                let refused = self.enqueue_locked(&mut st, batch, false);
                if !refused.is_empty() {
                    drop(st);
                    refuse(refused);
                    st = self.lock();
                }
                if self.finished.load(Relaxed) {
                    st.leader = Leader::Nobody;
                    return;
                }
                let calls = self.recv_calls.load(Relaxed);
                if !closed && (st.yield_asked || !st.sleeping.is_empty() || calls != seen_calls) {
                    seen_calls = calls;
                    break;
                }
            }
            st.leader = Leader::Nobody;
            st.yield_asked = false;
            if !st.sleeping.is_empty() {
                self.ready.notify_one();
            }
            if let Some(conn) = st.io_waiters.first().cloned() {
                drop(st);
                conn.nudge();
                st = self.lock();
            }
        }
    }
}
