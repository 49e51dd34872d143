//! The hand-off between the event loop and the threads calling `recv()`, and who runs the
//! event loop: leader/followers.
//!
//! ```text
//!   recv() ──queue has a request──────────────────────────────► return it
//!     │ empty, nobody polling: become the LEADER ─► Driver::turn ─► queue the batch ─┐
//!     │ empty, someone polling: sleep as a FOLLOWER ◄── woken by a queued request   │
//!     └────────────────────────────────────────────────────────────── loop ◄────────┘
//!
//!   background thread: leads only when no thread has come to recv() for a moment
//!   (every worker busy, or none at all, or the Server dropped), and hands the role back
//!   as soon as a worker asks.
//! ```
//!
//! Under load a worker polls, parses a batch, and answers the requests of that batch itself,
//! one after another, without sleeping or waking anyone: no hand-off between threads on the
//! per-request path. Other workers are woken only when there is more work than one thread.
//!
//! # Invariants
//! - At most one thread runs the event loop at a time (`State::leader`, guarded by the state
//!   lock; the driver mutex is then uncontended).
//! - A follower sleeps only while a leader exists; a leader that stops leading while
//!   followers sleep wakes one, so readiness is never left unwatched while a thread waits.
//! - Items leave in the order they entered, except that a request whose connection already
//!   has a request out in a handler waits (only the thread holding that one may take it):
//!   one client's pipelined requests occupy one handler at a time and never go ahead of
//!   other clients' requests. `unblock()` is an item that releases exactly one receiver.
//! - A request left waiting that way becomes takeable when its connection's handler finishes;
//!   that thread normally comes back to `recv` and takes it, and the background thread wakes
//!   a receiver when none came back for a moment.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::runtime::conn::Conn;
use crate::runtime::driver::{Driver, DriverHandle};
use crate::Request;

#[derive(Debug)]
enum Item {
    Request(Request),
    Unblock,
}

/// What a receiver got.
#[derive(Debug)]
pub(crate) enum Received {
    Request(Request),
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
    /// Receivers asleep in `recv`, by tag (see `receiver_tag`): a request only one of them may
    /// take wakes them all.
    sleeping: Vec<u64>,
    /// A worker asked the background leader to hand the event loop over.
    yield_asked: bool,
    /// The `Server` is gone: requests are no longer queued.
    closed: bool,
}

/// Shared by the `Server`, its receivers and the background thread.
#[derive(Debug)]
pub(crate) struct Hub {
    state: Mutex<State>,
    /// Followers wait here.
    ready: Condvar,
    /// The background thread waits here.
    background: Condvar,
    driver: Mutex<Driver>,
    handle: Arc<DriverHandle>,
    /// Counts calls to `recv`, so the background thread can tell whether workers are around.
    recv_calls: AtomicU64,
    /// The event loop has finished (server dropped, every connection closed).
    finished: AtomicBool,
    /// The process may run on one CPU only (affinity or quota): a second thread cannot
    /// handle requests at the same time, so queued requests wake no follower for
    /// parallelism (followers still take over from slow handlers).
    single_core: bool,
}

/// A receiver whose recent handlers took longer than this wakes a follower to lead while it
/// handles the next request; faster ones come back before a wake-up would pay off.
const SLOW_HANDLER: Duration = Duration::from_micros(200);

/// Per thread: when it last left `recv` with a request, and a moving average of how long its
/// handlers take (the time until it calls `recv` again), in nanoseconds.
///
/// The clock is std's `Instant` (libc's vDSO `clock_gettime`, no system call). A coarse clock
/// read through rustix's own vDSO lookup was tried: no measurable gain, and that lookup
/// crashes programs run under valgrind (rustix issue 1559), which our users must be able to do.
struct HandlerClock;

thread_local! {
    static HANDLER_CLOCK: std::cell::Cell<(Option<Instant>, u64)> =
        const { std::cell::Cell::new((None, 0)) };
    /// Requests handed out on this thread (for sampling).
    static HANDLER_SAMPLE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl HandlerClock {
    /// Called on entering `recv`: folds the last handler's time into the average and says
    /// whether this thread's handlers are slow.
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

    /// Called when `recv` hands out a request. After a thread's first handlers, only one in
    /// `SAMPLE` is timed (two clock reads per request were a measurable share of a fast
    /// handler's cost); the average converges all the same.
    fn leave() {
        const SAMPLE: u32 = 8;
        /// The first handlers of a thread are all timed, so that slow ones are known at once.
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

/// Longest poll of the background thread while it leads (it yields sooner when asked).
const BACKGROUND_TURN: Duration = Duration::from_millis(50);
thread_local! {
    /// This thread's tag as a receiver (see `Conn::may_hand_to`), 0 until first needed.
    static RECEIVER_TAG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A number that identifies the calling thread among receivers (never 0).
fn receiver_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    RECEIVER_TAG.with(|tag| {
        if tag.get() == 0 {
            tag.set(NEXT.fetch_add(1, Relaxed));
        }
        tag.get()
    })
}

/// Where the first item `receiver` may take is in the queue, if any. (The scan stops at the
/// front in the common case; it goes further only past requests of busy connections, which
/// are at most `max_pipelined_requests` per connection.)
fn first_takeable(items: &VecDeque<Item>, receiver: u64) -> Option<usize> {
    items.iter().position(|item| match item {
        Item::Unblock => true,
        Item::Request(r) => r.connection().map_or(true, |c| c.may_hand_to(receiver)),
    })
}

/// Is a queued item takeable by any receiver (an `unblock()`, or a request with no request
/// of its connection in a handler)?
fn has_unheld_item(items: &VecDeque<Item>) -> bool {
    items.iter().any(|item| match item {
        Item::Request(r) => r.connection().map_or(true, |c| !c.in_handler()),
        Item::Unblock => true,
    })
}

/// How often the background thread checks whether workers still come to `recv`, at first.
const WATCH_MIN: Duration = Duration::from_millis(1);
/// ... and at most, after a long quiet period.
const WATCH_MAX: Duration = Duration::from_millis(50);

impl Hub {
    pub(crate) fn new(driver: Driver, handle: Arc<DriverHandle>) -> Hub {
        Hub {
            state: Mutex::new(State {
                items: VecDeque::new(),
                leader: Leader::Nobody,
                sleeping: Vec::new(),
                yield_asked: false,
                closed: false,
            }),
            ready: Condvar::new(),
            background: Condvar::new(),
            driver: Mutex::new(driver),
            handle,
            recv_calls: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            single_core: std::thread::available_parallelism().is_ok_and(|n| n.get() == 1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one pass of the event loop (the caller is the leader) and returns its requests.
    fn drive(&self, timeout: Option<Duration>) -> Vec<Request> {
        // Should the pass ever panic, the leader role must not stay taken, or every receiver
        // would wait for a leader that is gone.
        struct Abdicate<'a>(&'a Hub);
        impl Drop for Abdicate<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut st = self.0.lock();
                    st.leader = Leader::Nobody;
                    self.0.hand_over(&st);
                }
            }
        }
        let _guard = Abdicate(self);
        let mut batch = Vec::new();
        let mut driver = self.driver.lock().unwrap_or_else(|p| p.into_inner());
        if driver.turn(timeout, &mut batch) {
            self.finished.store(true, Relaxed);
        }
        batch
    }

    /// Queues a batch (or, once closed, discards it) and wakes followers to take it. `leader`
    /// is the receiver that ran the pass and takes one request itself (`None`: the
    /// background thread).
    fn enqueue(&self, st: &mut State, batch: Vec<Request>, leader: Option<u64>) {
        let keep_one = leader.is_some();
        if batch.is_empty() {
            return;
        }
        if st.closed {
            for request in batch {
                // Nobody will receive it: close its connection, then drop it (its reply finds
                // the connection closed and writes nothing).
                if let Some(conn) = request.connection() {
                    conn.mark_closed();
                }
            }
            return;
        }
        // Requests of one connection are handled one after another (see `first_takeable`):
        // count the connections, which the parser leaves next to each other in a batch.
        let mut n = 0;
        let mut last: Option<*const Conn> = None;
        // A request only the thread holding its connection's previous one may take: when that
        // thread is asleep here (it collects requests), it must be woken for it.
        let mut holder_asleep = false;
        for request in &batch {
            let conn = request.connection();
            let ptr = conn.map(|c| c as *const Conn);
            if ptr.is_none() || ptr != last {
                n += 1;
            }
            last = ptr;
            holder_asleep |=
                conn.is_some_and(|c| c.in_handler() && st.sleeping.contains(&c.holder()));
        }
        st.items.extend(batch.into_iter().map(Item::Request));
        // A leading worker handles one request itself; others go to sleeping followers.
        // On one CPU, a woken follower would only take turns with the leader on that CPU
        // (context switches, and requests left half-handled while the other runs): the leader
        // handles its batch alone, and the background thread wakes one follower for its.
        let extra = match (keep_one, self.single_core) {
            (true, false) => n - 1,
            (true, true) => 0,
            (false, false) => n,
            (false, true) => n.min(1),
        };
        if holder_asleep {
            // Cannot wake that one thread alone: wake them all (rare: a thread collecting
            // pipelined requests, asleep in `recv` while another runs the event loop).
            self.ready.notify_all();
        } else {
            for _ in 0..extra.min(st.sleeping.len()) {
                self.ready.notify_one();
            }
        }
    }

    /// Takes the next item, running the event loop when nobody else does; waits until
    /// `deadline` (forever with `None`, not at all with `Some(now)`).
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Received {
        self.recv_calls.fetch_add(1, Relaxed);
        let slow_handlers = HandlerClock::arrive();
        let me = receiver_tag();
        let mut st = self.lock();
        if self.handle.has_corks() {
            // Responses this (or another) thread corked leave now, except those whose
            // connection's next request is the one about to be taken: they may join it.
            let keep = match first_takeable(&st.items, me).map(|at| &st.items[at]) {
                Some(Item::Request(r)) => r.connection().map(|c| c as *const Conn),
                _ => None,
            };
            drop(st);
            self.handle.flush_corks(keep);
            st = self.lock();
        }
        // Once before each time this thread leads or sleeps (a connection whose client does
        // not read keeps its bytes registered: flushing it again at once would spin).
        let mut flushed = false;
        loop {
            let takeable = first_takeable(&st.items, me);
            if takeable.is_none() && !flushed && self.handle.has_corks() {
                // About to lead or sleep: nothing held back may wait for that.
                flushed = true;
                drop(st);
                self.handle.flush_corks(None);
                st = self.lock();
                continue;
            }
            if let Some(item) = takeable.and_then(|at| st.items.remove(at)) {
                if slow_handlers {
                    // This thread's handlers take a while: wake a follower (if nobody leads) to
                    // watch the sockets meanwhile. (Fast handlers come back sooner than a
                    // wake-up takes; the background thread wakes a follower if one ever does
                    // not.)
                    self.hand_over(&st);
                }
                return match item {
                    Item::Request(mut r) => {
                        r.hand_out(me);
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
                self.enqueue(&mut st, batch, Some(me));
                if left == Some(Duration::ZERO) && first_takeable(&st.items, me).is_none() {
                    self.hand_over(&st);
                    return Received::Empty;
                }
                continue;
            }
            if left == Some(Duration::ZERO) {
                return Received::Empty;
            }
            if st.leader == Leader::Background && !st.yield_asked {
                // Take the event loop back from the background thread.
                st.yield_asked = true;
                self.handle.wake();
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

    /// Wakes a follower to lead, if one sleeps (called when leaving the leader role).
    fn hand_over(&self, st: &State) {
        if st.leader == Leader::Nobody && !st.sleeping.is_empty() {
            self.ready.notify_one();
        }
    }

    /// Lets exactly one receiver (current or future) return without a request.
    pub(crate) fn unblock(&self) {
        let mut st = self.lock();
        st.items.push_back(Item::Unblock);
        if !st.sleeping.is_empty() {
            self.ready.notify_one();
        }
        if st.leader == Leader::Worker {
            // A receiver may be the leader, asleep in the poller (also when followers sleep:
            // two unblocks in a row may count the same sleeper, and a woken follower may take
            // a request it holds instead).
            self.handle.wake();
        }
    }

    /// The `Server` is gone: stop queueing, and return the requests nobody received (the
    /// caller answers them 503 outside the lock).
    pub(crate) fn close(&self) -> Vec<Request> {
        let mut st = self.lock();
        st.closed = true;
        let mut out = Vec::new();
        for item in st.items.drain(..) {
            if let Item::Request(r) = item {
                out.push(r);
            }
        }
        drop(st);
        self.background.notify_one();
        out
    }

    /// The background thread's sleep between checks (woken early by `close`).
    fn background_wait<'a>(
        &self,
        st: MutexGuard<'a, State>,
        wait: Duration,
    ) -> MutexGuard<'a, State> {
        self.background
            .wait_timeout(st, wait)
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    /// The background thread: leads the event loop whenever no worker has come to `recv`
    /// for a moment, and always once the server is closed, until the loop finishes.
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
            if quiet && self.handle.has_corks() {
                // A thread corked responses and has not come back to recv() since: flush.
                drop(st);
                self.handle.flush_corks(None);
                st = self.lock();
            }
            if quiet && !st.closed && has_unheld_item(&st.items) {
                // A request waited for its connection's handler, which finished without its
                // thread coming back to recv() (or an unblock found no receiver awake): wake
                // a receiver to take it.
                if !st.sleeping.is_empty() {
                    self.ready.notify_one();
                } else if st.leader == Leader::Worker {
                    self.handle.wake();
                }
            }
            if !st.closed {
                let wait = if st.leader != Leader::Nobody && st.sleeping.is_empty() {
                    // Someone runs the event loop and nobody waits on it: check back less and
                    // less often.
                    watch = (watch * 2).min(WATCH_MAX);
                    Some(watch)
                } else if st.leader != Leader::Nobody {
                    // The leader may go off to handle a request without waking the sleeping
                    // follower: check often enough to wake it then (below).
                    watch = WATCH_MIN;
                    Some(WATCH_MIN)
                } else if !st.sleeping.is_empty() {
                    // Nobody leads but a follower sleeps: a leader went to handle a request
                    // without waking it. If no thread came to recv() for a whole interval,
                    // that handler is slow: wake the follower to lead.
                    if quiet {
                        self.ready.notify_one();
                    }
                    Some(WATCH_MIN)
                } else if !quiet {
                    // Workers are busy but keep coming back: they will lead.
                    Some(WATCH_MIN)
                } else {
                    None
                };
                if let Some(wait) = wait {
                    st = self.background_wait(st, wait);
                    continue;
                }
            } else if st.leader != Leader::Nobody {
                // Closed, but a receiver still leads (it is finishing its pass).
                st = self.background_wait(st, WATCH_MIN);
                continue;
            }
            // Every worker is busy (or there are none): lead until one comes back.
            watch = WATCH_MIN;
            st.leader = Leader::Background;
            st.yield_asked = false;
            loop {
                let closed = st.closed;
                drop(st);
                self.handle.flush_corks(None);
                let batch = self.drive(Some(BACKGROUND_TURN));
                st = self.lock();
                self.enqueue(&mut st, batch, None);
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
            self.hand_over(&st);
        }
    }
}
