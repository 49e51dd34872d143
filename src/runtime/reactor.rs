//! The event loop: the poller, the listener, the connection table and its deadlines. One
//! pass is [`Reactor::turn`]; the hub decides which thread runs it.
//!
//! ```text
//!   poll (until an event, the waker, or the earliest deadline)
//!     ├─ listener readable ─► accept ─► register ─► Conn (deadline: idle or handshake)
//!     ├─ connection event  ─► writable: flush output │ readable: pump (or wake the handler
//!     │                                               │ that waits for the bytes)
//!     ├─ messages          ─► Arm (re-arm a deadline) │ Finished (linger, forget) │ Shutdown
//!     └─ due deadlines     ─► Conn::expire (408, close, reset) │ lingering ends
//! ```
//!
//! # Invariants
//! - The loop never waits on a client: sockets are non-blocking, every write it makes is a
//!   single attempt, and file reads are the only blocking calls (the page cache).
//! - Every readiness event is acted on until `WouldBlock` (mio's edge-triggered contract),
//!   or handed to the connection's reader, which reads until `WouldBlock` itself; spurious
//!   events are harmless.
//! - A token names a slot and its generation, so an event for a connection that is gone is
//!   ignored even when a new connection uses the slot.
//! - Each connection has at most one live timer; a deadline moved later is picked up when
//!   the earlier timer fires, one moved earlier is queued at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::runtime::conn::{Conn, ConnKey, Incoming, Msg};
use crate::runtime::hub::Hub;
use crate::transport::socket::{is_resource_exhaustion, FAST_PATH};
use crate::transport::{ListenSocket, Socket};

const WAKER: Token = Token(usize::MAX);
const LISTENER: Token = Token(usize::MAX - 1);
/// The timer slot of the accept back-off.
const ACCEPT_TIMER: usize = usize::MAX;
/// Back-off after running out of descriptors or memory before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Bits of a token that hold the slot index (the rest hold the generation).
const INDEX_BITS: u32 = usize::BITS / 2;

pub(crate) fn token(key: ConnKey) -> Token {
    let gen = (key.gen as usize) & ((1usize << (usize::BITS - INDEX_BITS)) - 1);
    Token(key.index | (gen << INDEX_BITS))
}

fn untoken(token: Token) -> (usize, usize) {
    (
        token.0 & ((1usize << INDEX_BITS) - 1),
        token.0 >> INDEX_BITS,
    )
}

#[derive(Debug, Default)]
struct Slot {
    gen: u32,
    conn: Option<Arc<Conn>>,
    /// The connection is closed and drains the client's bytes until then.
    linger_until: Option<Instant>,
}

/// The event loop's state.
#[derive(Debug)]
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
    listener: Option<ListenSocket>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    open: usize,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    accept_paused: bool,
    /// Accepting stopped at `max_connections`.
    at_capacity: bool,
    max_connections: usize,
    /// A connection closed while at capacity: accept again at the end of this pass.
    resume_accept: bool,
    shutting_down: bool,
    /// The time, read once per pass after the poll returns.
    now: Instant,
    msgs: Vec<Msg>,
    scratch: Vec<u8>,
    /// Threads with socket I/O that had exited when the sockets were last registered
    /// (portable path; see `transport::socket`, "Threads that exit").
    #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
    exits_seen: u64,
}

impl Reactor {
    /// A poller with the listener registered, the waker that interrupts it, and a handle
    /// on its registrations for other threads (a handler parking a socket's read interest).
    pub(crate) fn new(
        mut listener: ListenSocket,
        max_connections: usize,
    ) -> io::Result<(Reactor, Arc<Waker>, Registry)> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        crate::transport::socket::thread_exits::watch(&waker);
        listener.register(poll.registry(), LISTENER)?;
        let reactor = Reactor {
            poll,
            events: Events::with_capacity(1024),
            listener: Some(listener),
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            timers: BinaryHeap::new(),
            accept_paused: false,
            at_capacity: false,
            max_connections,
            resume_accept: false,
            shutting_down: false,
            now: Instant::now(),
            msgs: Vec::new(),
            scratch: vec![0; 16 * 1024],
            #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
            exits_seen: crate::transport::socket::thread_exits::count(),
        };
        Ok((reactor, waker, registry))
    }

    /// One pass: waits for readiness (at most `timeout`, never past the earliest deadline),
    /// then handles every event, message and due deadline. Requests ready for handlers are
    /// appended to `batch`. Returns `true` once the server is shut down and every connection
    /// closed: the loop is finished.
    pub(crate) fn turn(
        &mut self,
        hub: &Arc<Hub>,
        timeout: Option<Duration>,
        batch: &mut Vec<Incoming>,
    ) -> bool {
        let next_timer = self
            .timers
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()));
        let timeout = match (timeout, next_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.events.capacity() == 0 {
            // A pass that panicked left the borrowed buffer behind: take a new one.
            self.events = Events::with_capacity(1024);
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.events.clear(),
            Err(e) => {
                log::error!("event loop: poll failed: {e}");
                self.events.clear();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.now = Instant::now();
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        self.rearm_after_thread_exits();
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                LISTENER => self.accept(hub),
                token => self.on_event(
                    token,
                    event.is_readable() || event.is_error(),
                    event.is_writable() || event.is_error(),
                    event.is_read_closed(),
                    batch,
                ),
            }
        }
        self.events = events;
        self.handle_messages(hub, batch);
        self.fire_timers(hub, batch);
        if std::mem::take(&mut self.resume_accept) {
            self.accept(hub);
        }
        self.shutting_down && self.open == 0
    }

    /// Registers every socket again from this thread when a thread that did socket I/O has
    /// exited since the last time (see `transport::socket`, "Threads that exit"). Events
    /// the fresh registrations report are handled like any other (at worst, a read or write
    /// that finds nothing to do).
    #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
    fn rearm_after_thread_exits(&mut self) {
        let exits = crate::transport::socket::thread_exits::count();
        if exits == self.exits_seen {
            return;
        }
        self.exits_seen = exits;
        crate::transport::socket::thread_exits::note_io();
        let registry = self.poll.registry();
        if let Some(listener) = self.listener.as_mut() {
            listener.rearm(registry, LISTENER);
        }
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(conn) = &slot.conn {
                let key = ConnKey {
                    index,
                    gen: slot.gen,
                };
                conn.socket.rearm(
                    registry,
                    token(key),
                    Interest::READABLE | Interest::WRITABLE,
                );
            }
        }
    }

    fn slot(&mut self, index: usize, gen_bits: usize) -> Option<&mut Slot> {
        let mask = (1usize << (usize::BITS - INDEX_BITS)) - 1;
        self.slots
            .get_mut(index)
            .filter(|s| (s.gen as usize) & mask == gen_bits && s.conn.is_some())
    }

    fn on_event(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
        read_closed: bool,
        batch: &mut Vec<Incoming>,
    ) {
        let (index, gen) = untoken(token);
        let now = self.now;
        let Some(slot) = self.slot(index, gen) else {
            return; // a connection that is gone
        };
        let conn = slot.conn.clone().expect("slot checked");
        if slot.linger_until.is_some() {
            if readable && self.drain_lingering(&conn) {
                self.remove(index);
            }
            return;
        }
        if readable && !read_closed && conn.readable_for_reader(writable) {
            return; // a handler is reading this socket: it takes the bytes itself
        }
        let mut st = conn.lock();
        if writable {
            conn.flush(&mut st, now);
            // Responses written out may let requests already read go ahead (they were held
            // by the pipelining limit): no readable event will come for them.
            if !readable && conn.may_resume_reading(&st) {
                conn.pump(&mut st, now, batch, false);
            }
        }
        if readable && st.closed.is_none() {
            if st.reader_waiting {
                // A handler waits for these bytes: it reads them itself.
                st.readable = true;
                conn.wake(&st);
            } else {
                st.readable = true;
                // On the fast path a read shorter than the buffer proves the socket empty
                // after an edge that did not report the end of the stream.
                conn.pump(&mut st, now, batch, FAST_PATH && !read_closed);
            }
        }
        let closed = Conn::take_notice(&mut st);
        if closed {
            let linger = st.lingering;
            drop(st);
            self.closed(index, &conn, linger);
        } else {
            self.arm(index, &conn, &mut st);
        }
    }

    /// Queues the connection's deadline when it is earlier than the one queued.
    fn arm(&mut self, index: usize, conn: &Conn, st: &mut crate::runtime::conn::ConnState) {
        if let Some((at, _)) = conn.deadline(st, self.now) {
            if st.armed.map_or(true, |armed| at < armed) {
                st.armed = Some(at);
                self.timers.push(Reverse((at, index, conn.key.gen)));
            }
        }
    }

    /// A connection closed: it lingers (our side shut down, its bytes drained until it
    /// closes or the linger deadline) or is forgotten now.
    fn closed(&mut self, index: usize, conn: &Arc<Conn>, linger: bool) {
        let linger_for = conn.hub.settings.linger;
        if linger && !linger_for.is_zero() && !self.drain_lingering(conn) {
            let until = self.now + linger_for;
            self.slots[index].linger_until = Some(until);
            self.timers.push(Reverse((until, index, conn.key.gen)));
        } else {
            self.remove(index);
        }
    }

    /// Reads and discards what a lingering connection sends; true when it is done (end of
    /// stream, an error, or more than a client worth waiting for).
    fn drain_lingering(&mut self, conn: &Conn) -> bool {
        let mut budget = 1024 * 1024;
        loop {
            match conn.socket.read(&mut self.scratch) {
                Ok(0) => return true,
                Ok(n) if n < budget => budget -= n,
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }

    fn remove(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let Some(conn) = slot.conn.take() else {
            return;
        };
        slot.linger_until = None;
        slot.gen = slot.gen.wrapping_add(1);
        if Arc::strong_count(&conn) > 1 {
            // A handler still holds it: its socket stays open until then, and must not
            // report events to whatever connection takes this slot.
            conn.socket.deregister(self.poll.registry());
        }
        drop(conn);
        self.free.push(index);
        self.open -= 1;
        if self.at_capacity && self.open < self.max_connections {
            self.at_capacity = false;
            self.accept_paused = false;
            self.resume_accept = true;
        }
    }

    fn accept(&mut self, hub: &Arc<Hub>) {
        loop {
            if self.accept_paused || self.listener.is_none() {
                return;
            }
            if self.open >= self.max_connections {
                // At the limit, new connections wait in the kernel's listen backlog;
                // accepting resumes when one closes (`remove`).
                if !self.at_capacity {
                    log::warn!("{} connections open: not accepting more for now", self.open);
                }
                self.at_capacity = true;
                self.accept_paused = true;
                return;
            }
            let result = self.listener.as_ref().map(ListenSocket::accept);
            match result {
                Some(Ok((socket, addr))) => self.add_connection(hub, socket, addr),
                Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => return,
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Some(Err(e)) if is_resource_exhaustion(&e) => {
                    // Pending connections stay in the backlog; try again shortly instead of
                    // spinning or giving up.
                    log::warn!("accept: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    self.accept_paused = true;
                    self.timers
                        .push(Reverse((self.now + ACCEPT_BACKOFF, ACCEPT_TIMER, 0)));
                    return;
                }
                // ECONNABORTED and the like concern one connection only.
                Some(Err(e)) => log::debug!("accept: {e}; continuing"),
                None => return,
            }
        }
    }

    fn add_connection(
        &mut self,
        hub: &Arc<Hub>,
        socket: Socket,
        addr: Option<std::net::SocketAddr>,
    ) {
        let tls = match &hub.settings.tls {
            Some(config) => match config.session() {
                Ok(session) => Some(session),
                Err(e) => {
                    log::warn!("cannot start a TLS session: {e}");
                    return;
                }
            },
            None => None,
        };
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        let key = ConnKey {
            index,
            gen: self.slots[index].gen,
        };
        if let Err(e) = socket.register(
            self.poll.registry(),
            token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("cannot register a new connection: {e}");
            self.free.push(index);
            return;
        }
        let conn = Arc::new(Conn::new(key, socket, addr, tls, hub.clone(), self.now));
        self.slots[index].conn = Some(conn.clone());
        self.open += 1;
        let mut st = conn.lock();
        self.arm(index, &conn, &mut st);
    }

    fn handle_messages(&mut self, hub: &Arc<Hub>, batch: &mut Vec<Incoming>) {
        let mut msgs = std::mem::take(&mut self.msgs);
        hub.take_messages(&mut msgs);
        for msg in msgs.drain(..) {
            match msg {
                Msg::Arm(key) | Msg::Finished(key) => {
                    let Some(conn) = self
                        .slots
                        .get(key.index)
                        .filter(|s| s.gen == key.gen && s.linger_until.is_none())
                        .and_then(|s| s.conn.clone())
                    else {
                        continue;
                    };
                    let mut st = conn.lock();
                    if st.closed.is_some() {
                        let _ = Conn::take_notice(&mut st);
                        let linger = st.lingering;
                        drop(st);
                        self.closed(key.index, &conn, linger);
                    } else {
                        if conn.may_resume_reading(&st) {
                            // The read side came back with bytes waiting in the socket.
                            conn.pump(&mut st, self.now, batch, false);
                        }
                        self.arm(key.index, &conn, &mut st);
                    }
                }
                Msg::Shutdown => self.shutdown(batch),
            }
        }
        self.msgs = msgs;
    }

    /// Stops accepting and ends every connection at its next request boundary.
    fn shutdown(&mut self, _batch: &mut Vec<Incoming>) {
        self.shutting_down = true;
        if let Some(mut listener) = self.listener.take() {
            listener.deregister(self.poll.registry());
        }
        for index in 0..self.slots.len() {
            let Some(conn) = self.slots[index].conn.clone() else {
                continue;
            };
            if self.slots[index].linger_until.is_some() {
                continue;
            }
            let mut st = conn.lock();
            conn.shutdown(&mut st, self.now);
            if Conn::take_notice(&mut st) {
                let linger = st.lingering;
                drop(st);
                self.closed(index, &conn, linger);
            } else {
                self.arm(index, &conn, &mut st);
            }
        }
    }

    fn fire_timers(&mut self, hub: &Arc<Hub>, batch: &mut Vec<Incoming>) {
        let now = self.now;
        while let Some(&Reverse((at, index, gen))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            if index == ACCEPT_TIMER {
                self.accept_paused = false;
                self.accept(hub);
                continue;
            }
            let Some(slot) = self.slots.get_mut(index).filter(|s| s.gen == gen) else {
                continue;
            };
            let Some(conn) = slot.conn.clone() else {
                continue;
            };
            if let Some(until) = slot.linger_until {
                if until <= now {
                    self.remove(index);
                }
                continue;
            }
            let mut st = conn.lock();
            if st.armed != Some(at) {
                continue; // stale: a newer timer is queued
            }
            st.armed = None;
            conn.expire(&mut st, now);
            if Conn::take_notice(&mut st) {
                let linger = st.lingering;
                drop(st);
                self.closed(index, &conn, linger);
            } else {
                if conn.may_resume_reading(&st) {
                    conn.pump(&mut st, now, batch, false);
                }
                self.arm(index, &conn, &mut st);
            }
        }
    }
}
