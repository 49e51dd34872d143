//! The event loop: accepts connections, reads and parses request heads, enforces connection
//! deadlines, and returns the requests it parsed. One pass is [`Driver::turn`]; the hub
//! decides which thread runs it.
//!
//! ```text
//!            accept ──► Parsing ──head──► (no body) request queued, keep Parsing
//!                        │   ▲   └─head──► (body / upgrade) request queued, read side Lent
//!                        │   └──────────── ReadReturned (body done) ◄─┘
//!   EOF, error, timeout, │
//!   Connection: close ──►Ended ──Close (last response out)──► Lingering ──EOF/deadline──► gone
//! ```
//!
//! # Invariants
//! - The loop never blocks on a client: sockets are non-blocking, and the only writes it makes
//!   (error responses) are attempted once and abandoned if the socket is full.
//! - Every readiness event is drained until `WouldBlock` (mio's edge-triggered contract); a
//!   read side coming back from a handler is parsed at once, without waiting for an event.
//! - A connection's deadline is always armed while the loop owns its read side.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::config::Settings;
use crate::proto::encode::error_response;
use crate::proto::error::ProtoError;
use crate::proto::head::{parse_head, BodyKind, RequestHead};
use crate::runtime::conn::Conn;
use crate::runtime::readbuf::{BufferPool, ReadBuf};
use crate::transport::Stream;
use crate::{HTTPVersion, Request, StatusCode};

const WAKER: Token = Token(usize::MAX);
const LISTENER: Token = Token(usize::MAX - 1);
/// Timer slot used for retrying `accept` after running out of file descriptors.
const ACCEPT_TIMER: usize = usize::MAX;
/// Back-off after EMFILE/ENFILE before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Identifies a connection in the driver's table; `id` guards against slot reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnKey {
    index: usize,
    id: u64,
}

/// Messages from handler threads (and the `Server`) to the event loop.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A request body was consumed: parse the next request from these bytes and the socket.
    ReadReturned(ConnKey, ReadBuf),
    /// The last response is out and nothing follows: close the connection (lingering).
    Close(ConnKey),
    /// A body reader gave up (error, unread body, or no request follows): the read side is
    /// free again but no request will be parsed from it.
    ReadAbandoned(ConnKey),
    /// The connection was upgraded: forget it without closing the socket.
    Detach(ConnKey),
    /// Responses caught up with a connection paused for having too many requests in flight.
    Resume(ConnKey),
    /// The `Server` was dropped: stop accepting and reading, finish what was handed out.
    Shutdown,
}

/// The handlers' way to reach the event loop.
#[derive(Debug)]
pub(crate) struct DriverHandle {
    msgs: Mutex<Vec<Msg>>,
    waker: Waker,
    /// Connections with corked responses, flushed by the hub (see `Conn::submit`).
    corks: Mutex<Vec<Arc<Conn>>>,
    /// `corks.len()`, readable without the lock on the per-request path.
    cork_count: AtomicUsize,
}

impl DriverHandle {
    /// Registers a connection whose responses were corked, so that it is flushed.
    pub(crate) fn add_cork(&self, conn: Arc<Conn>) {
        let mut corks = self.corks.lock().unwrap_or_else(|p| p.into_inner());
        corks.push(conn);
        self.cork_count.store(corks.len(), Ordering::Release);
    }

    /// True when some connection has corked responses.
    pub(crate) fn has_corks(&self) -> bool {
        self.cork_count.load(Ordering::Acquire) > 0
    }

    /// Writes the corked responses of every registered connection except `keep` (the one
    /// whose next request the calling thread is about to take: its responses may join).
    pub(crate) fn flush_corks(&self, keep: Option<*const Conn>) {
        if self.cork_count.load(Ordering::Acquire) == 0 {
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
        self.cork_count.store(corks.len(), Ordering::Release);
        drop(corks);
        // Never blocks: bytes a full socket does not take wait in the connection, and the
        // connection stays registered so that the next flush (or its next writer) sends them.
        let stalled: Vec<Arc<Conn>> = flush
            .into_iter()
            .filter(|conn| conn.flush_nonblocking())
            .collect();
        if !stalled.is_empty() {
            let mut corks = self.corks.lock().unwrap_or_else(|p| p.into_inner());
            corks.extend(stalled);
            self.cork_count.store(corks.len(), Ordering::Release);
        }
    }

    /// Interrupts the poll in progress (whichever thread runs it).
    pub(crate) fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the event loop: {e}");
        }
    }

    /// Queues a message and wakes the loop (once per batch).
    pub(crate) fn send(&self, msg: Msg) {
        let mut msgs = self.msgs.lock().unwrap_or_else(|p| p.into_inner());
        let first = msgs.is_empty();
        msgs.push(msg);
        drop(msgs);
        if first {
            self.wake();
        }
    }
}

/// A listening socket as the event loop sees it.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    Tcp(mio::net::TcpListener),
    #[cfg(unix)]
    Unix(mio::net::UnixListener),
}

impl ListenSocket {
    fn accept(&self) -> io::Result<(Stream, Option<std::net::SocketAddr>)> {
        match self {
            ListenSocket::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), Some(a))),
            #[cfg(unix)]
            ListenSocket::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), None)),
        }
    }

    fn raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            ListenSocket::Tcp(l) => l.as_raw_fd(),
            #[cfg(unix)]
            ListenSocket::Unix(l) => l.as_raw_fd(),
        }
    }
}

/// Where a connection's read side is.
#[derive(Debug, PartialEq, Eq)]
enum ReadSide {
    /// The loop reads and parses request heads.
    Parsing,
    /// A request's body reader (or an upgrade candidate) holds it.
    Lent,
    /// No more requests will be read; waiting for the last response to go out.
    Ended,
    /// Our side is shut down; draining the client's bytes until EOF or the linger deadline.
    Lingering,
}

#[derive(Debug)]
struct Entry {
    conn: Arc<Conn>,
    buf: ReadBuf,
    side: ReadSide,
    /// The sequence number the next parsed request gets.
    next_seq: u64,
    registered: bool,
    /// When the current head started arriving (first byte), for the head deadline.
    head_started: Option<Instant>,
    /// Responses known complete (a cache of `Conn::responses_done`, for back-pressure).
    done_seen: u64,
    deadline: Option<Instant>,
    /// The deadline for which a timer is queued, if any (one live timer per connection).
    timer_at: Option<Instant>,
    /// Drain the client's bytes before closing (see `stop_reading`).
    linger: bool,
    /// `Close` arrived while a handler held the read side: linger when it comes back.
    close_pending: bool,
}

impl Entry {
    /// Numbers the next request of this connection (and tells the connection, for corking).
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.conn.set_parsed(self.next_seq);
        seq
    }
}

/// Why a connection stops reading; logged, and decides whether anything is sent.
#[derive(Debug, Clone, Copy)]
enum CloseReason {
    ClientClosed,
    ClientAskedClose,
    ProtocolError(ProtoError),
    HeadTimeout,
    HandshakeTimeout,
    IdleTimeout,
    ReadError,
    Shutdown,
}

impl CloseReason {
    fn explain(&self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client closed the connection",
            CloseReason::ClientAskedClose => "client asked to close (or HTTP/1.0)",
            CloseReason::ProtocolError(e) => e.explain(),
            CloseReason::HeadTimeout => "request head not received in time",
            CloseReason::HandshakeTimeout => "TLS handshake not completed in time",
            CloseReason::IdleTimeout => "keep-alive connection idle too long",
            CloseReason::ReadError => "read error",
            CloseReason::Shutdown => "server shutting down",
        }
    }
}

/// The event loop's state; runs on its own thread until shutdown completes.
#[derive(Debug)]
pub(crate) struct Driver {
    poll: Poll,
    listener: Option<ListenSocket>,
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    open: usize,
    next_id: u64,
    handle: Arc<DriverHandle>,
    settings: Arc<Settings>,
    live: Arc<AtomicUsize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    accept_paused: bool,
    /// Accepting stopped at `max_connections`.
    at_capacity: bool,
    /// A connection closed while at capacity: accept again at the end of this turn.
    resume_accept: bool,
    shutting_down: bool,
    batch: Vec<Request>,
    scratch: Vec<u8>,
    /// The message buffer swapped with the handlers' one each pass (see `handle_messages`).
    msg_scratch: Vec<Msg>,
    events: Events,
    pool: BufferPool,
    /// The time, read once per pass right after the poll returns (deadlines are coarse).
    now: Instant,
}

impl Driver {
    /// Sets up the poller and registers the listener; errors surface from `Server::new`.
    pub(crate) fn new(
        listener: ListenSocket,
        settings: Arc<Settings>,
        live: Arc<AtomicUsize>,
    ) -> io::Result<(Driver, Arc<DriverHandle>)> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let fd = listener.raw_fd();
        poll.registry()
            .register(&mut SourceFd(&fd), LISTENER, Interest::READABLE)?;
        let handle = Arc::new(DriverHandle {
            msgs: Mutex::new(Vec::new()),
            waker,
            corks: Mutex::new(Vec::new()),
            cork_count: AtomicUsize::new(0),
        });
        let driver = Driver {
            poll,
            listener: Some(listener),
            entries: Vec::new(),
            free: Vec::new(),
            open: 0,
            next_id: 0,
            handle: handle.clone(),
            settings,
            live,
            timers: BinaryHeap::new(),
            accept_paused: false,
            at_capacity: false,
            resume_accept: false,
            shutting_down: false,
            batch: Vec::new(),
            scratch: vec![0; 16 * 1024],
            msg_scratch: Vec::new(),
            events: Events::with_capacity(1024),
            pool: BufferPool::default(),
            now: Instant::now(),
        };
        Ok((driver, handle))
    }

    /// One pass of the event loop: waits for readiness (at most `timeout`, and never past the
    /// next connection deadline), then handles every event, message and expired deadline.
    /// Requests parsed in the pass are appended to `batch`. Returns `true` once the server has
    /// been dropped and every connection is closed: the loop is finished.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>, batch: &mut Vec<Request>) -> bool {
        let next_timer = self
            .timers
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()));
        let timeout = match (timeout, next_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
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
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                LISTENER => self.accept(),
                Token(index) => self.on_ready(index, event.is_writable(), event.is_read_closed()),
            }
        }
        self.events = events;
        self.handle_messages();
        self.fire_timers();
        if std::mem::take(&mut self.resume_accept) {
            self.accept();
        }
        batch.append(&mut self.batch);
        self.shutting_down && self.open == 0
    }

    fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    fn accept(&mut self) {
        if self.accept_paused {
            return;
        }
        loop {
            if self.open >= self.settings.max_connections {
                // At the limit, new connections wait in the kernel's listen backlog; accepting
                // resumes when one closes (`remove`).
                if !self.at_capacity {
                    log::warn!("{} connections open: not accepting more for now", self.open);
                }
                self.at_capacity = true;
                return;
            }
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, addr)) => self.add_connection(stream, addr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_resource_exhaustion(&e) => {
                    // Out of file descriptors or memory: pending connections stay in the
                    // backlog; try again shortly instead of spinning or giving up.
                    log::warn!("accept: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    self.accept_paused = true;
                    let at = self.now + ACCEPT_BACKOFF;
                    self.timers.push(Reverse((at, ACCEPT_TIMER, 0)));
                    return;
                }
                // ECONNABORTED and friends concern one connection only.
                Err(e) => log::debug!("accept: {e}; continuing"),
            }
        }
    }

    fn add_connection(&mut self, stream: Stream, addr: Option<std::net::SocketAddr>) {
        #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
        let stream = match (stream, &self.settings.tls) {
            (Stream::Tcp(tcp), Some(config)) => {
                match crate::transport::tls::TlsConn::new(tcp, config) {
                    Ok(tls) => Stream::Tls(Box::new(tls)),
                    Err(e) => {
                        log::warn!("cannot start a TLS session: {e}");
                        return;
                    }
                }
            }
            (stream, _) => stream,
        };
        stream.set_nodelay();
        let index = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.entries.len() - 1
        });
        let key = ConnKey {
            index,
            id: self.next_id,
        };
        self.next_id += 1;
        let conn = Arc::new(Conn::new(
            stream,
            addr,
            key,
            self.settings.clone(),
            self.handle.clone(),
            self.live.clone(),
        ));
        let fd = conn.stream.as_fd().as_raw_fd();
        let tls = conn.stream.is_tls();
        if let Err(e) = self
            .registry()
            .register(&mut SourceFd(&fd), Token(index), interest(&conn))
        {
            log::warn!("cannot register a new connection: {e}");
            self.free.push(index);
            return;
        }
        self.entries[index] = Some(Entry {
            conn,
            buf: ReadBuf::default(),
            side: ReadSide::Parsing,
            next_seq: 0,
            registered: true,
            head_started: None,
            done_seen: 0,
            deadline: None,
            timer_at: None,
            linger: true,
            close_pending: false,
        });
        self.open += 1;
        if tls {
            let at = self
                .settings
                .timeouts
                .handshake
                .and_then(|d| self.now.checked_add(d));
            self.set_deadline(index, at);
        } else {
            self.arm_idle(index);
        }
    }

    fn entry(&mut self, key: ConnKey) -> Option<&mut Entry> {
        match self.entries.get_mut(key.index) {
            Some(Some(e)) if e.conn.key == key => Some(e),
            _ => None,
        }
    }

    fn on_ready(&mut self, index: usize, writable: bool, read_closed: bool) {
        let Some(Some(entry)) = self.entries.get(index) else {
            return;
        };
        if writable && entry.conn.stream.is_tls() {
            // Handshake records (or an alert) the socket could not take earlier.
            if entry.conn.stream.flush_nonblocking().is_err() {
                self.stop_reading(index, CloseReason::ReadError);
                return;
            }
        }
        match entry.side {
            ReadSide::Parsing => self.read_and_parse_event(index, !read_closed),
            ReadSide::Lingering => self.drain_lingering(index),
            // A handler owns the read side, or we stopped reading: nothing to do here.
            ReadSide::Lent | ReadSide::Ended => {}
        }
    }

    /// Parses every complete head in the buffer, reading more until the socket is drained.
    fn read_and_parse(&mut self, index: usize) {
        self.read_and_parse_event(index, false)
    }

    /// [`read_and_parse`](Self::read_and_parse) for a readiness event. `open_edge`: the event
    /// did not report the peer's end of stream, so a short read proves the socket is empty
    /// (a later arrival, data or FIN, is a new edge).
    fn read_and_parse_event(&mut self, index: usize, open_edge: bool) {
        let max_in_flight = self.settings.max_in_flight;
        let max_line = self.settings.limits.max_request_line;
        // Whether the buffer holds bytes the parser has not seen since the last line end.
        let mut unparsed = true;
        // Whether the socket is known to be empty (no read needed to see `WouldBlock`).
        let mut drained = false;
        loop {
            let Some(Some(entry)) = self.entries.get_mut(index) else {
                return;
            };
            if entry.side != ReadSide::Parsing {
                return;
            }
            if !entry.buf.is_empty() && unparsed {
                if entry.next_seq >= entry.done_seen + max_in_flight {
                    entry.done_seen = entry.conn.responses_done();
                    let resume_at = entry.next_seq + 1 - max_in_flight;
                    if entry.conn.pause_reading_until(resume_at) {
                        // Back-pressure: the client is not at fault, so no deadline runs
                        // until `Msg::Resume`.
                        self.set_deadline(index, None);
                        return;
                    }
                }
                match parse_head(entry.buf.filled(), &self.settings.limits) {
                    Ok(Some((head, used))) => {
                        entry.buf.consume(used);
                        entry.head_started = None;
                        self.dispatch(index, head);
                        continue;
                    }
                    Ok(None) => {
                        unparsed = false;
                        if entry.head_started.is_none() {
                            entry.head_started = Some(self.now);
                        }
                    }
                    Err(e) => {
                        self.stop_reading(index, CloseReason::ProtocolError(e));
                        return;
                    }
                }
            }
            let entry = match self.entries.get_mut(index) {
                Some(Some(e)) => e,
                _ => return,
            };
            let result = if drained {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(())
            };
            entry.buf.attach(&mut self.pool);
            let spare = entry.buf.spare();
            let room = spare.len();
            match result.and_then(|()| entry.conn.stream.read(spare)) {
                Ok(0) => {
                    self.stop_reading(index, CloseReason::ClientClosed);
                    return;
                }
                Ok(n) => {
                    // A head can only complete (or break a limit) at a line end or past the
                    // request-line limit: skip re-parsing a head trickled in byte by byte.
                    // (Searched from the end: a head usually ends the read, CRLF CRLF.)
                    unparsed = spare[..n].iter().rev().any(|&b| b == b'\n')
                        || entry.buf.filled().len() + n > max_line;
                    // A short read emptied the socket's receive queue: edge-triggered epoll
                    // reports any later arrival as a new event, so the read that would only
                    // return `WouldBlock` is skipped (TLS may hold records back: not there).
                    drained = open_edge && n < room && !entry.conn.stream.is_tls();
                    entry.buf.commit(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    entry.buf.release_into(&mut self.pool);
                    if entry.conn.stream.is_handshaking() {
                        // The handshake deadline set at accept keeps running.
                    } else if entry.head_started.is_some() || !entry.buf.is_empty() {
                        entry.head_started.get_or_insert(self.now);
                        self.arm_head(index);
                    } else {
                        self.arm_idle(index);
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("read error: {e}");
                    self.stop_reading(index, CloseReason::ReadError);
                    return;
                }
            }
        }
    }

    /// Turns a parsed head into a `Request` and decides who owns the read side next.
    fn dispatch(&mut self, index: usize, head: RequestHead) {
        let Some(Some(entry)) = self.entries.get_mut(index) else {
            return;
        };
        let seq = entry.take_seq();
        let keep_alive = head.keep_alive;
        // The bytes after a request that may switch protocols (Upgrade, CONNECT) belong to
        // the handler until it answers, so parsing pauses.
        let may_switch = head.may_switch;
        let lend = !matches!(head.body, BodyKind::Empty) || may_switch;
        if lend {
            let buf = std::mem::take(&mut entry.buf);
            entry.side = ReadSide::Lent;
            entry.deadline = None;
            if entry.registered {
                let fd = entry.conn.stream.as_fd().as_raw_fd();
                let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
                entry.registered = false;
            }
            let request =
                Request::from_network(head, entry.conn.clone(), seq, Some(buf), may_switch);
            self.batch.push(request);
        } else {
            let request = Request::from_network(head, entry.conn.clone(), seq, None, false);
            self.batch.push(request);
            if !keep_alive {
                self.stop_reading(index, CloseReason::ClientAskedClose);
            }
        }
    }

    /// No more requests will be read from this connection; answer an error if one is due.
    fn stop_reading(&mut self, index: usize, reason: CloseReason) {
        let Some(Some(entry)) = self.entries.get_mut(index) else {
            return;
        };
        match reason {
            CloseReason::ClientClosed | CloseReason::ClientAskedClose | CloseReason::Shutdown => {
                log::trace!("{:?}: {}", entry.conn.remote_addr, reason.explain())
            }
            _ => log::info!("closing {:?}: {}", entry.conn.remote_addr, reason.explain()),
        }
        let status = match reason {
            CloseReason::ProtocolError(e) => e.status(),
            // A request was in progress and nothing of its response was written (RFC 9110 §15.5.9).
            CloseReason::HeadTimeout => Some(StatusCode(408)),
            _ => None,
        };
        // Lingering (draining the client's bytes after our last response, so that a reset does
        // not destroy that response in flight) is needed only when the client may still be
        // sending: not after its end of stream, nor after a clean end with nothing unread.
        entry.linger = match reason {
            CloseReason::ClientClosed => false,
            CloseReason::ClientAskedClose | CloseReason::IdleTimeout | CloseReason::Shutdown => {
                !entry.buf.is_empty()
            }
            _ => true,
        };
        entry.buf = ReadBuf::default();
        entry.side = ReadSide::Ended;
        entry.deadline = None;
        if let Some(status) = status {
            let seq = entry.take_seq();
            let bytes = error_response(status, &HTTPVersion(1, 1));
            // Written now if the connection is idle, else after the responses before it; from
            // the event loop it is a single non-blocking attempt.
            let _ = entry.conn.submit_from_driver(seq, bytes);
        }
        let end = entry.next_seq;
        entry.conn.set_read_end(end);
    }

    fn handle_messages(&mut self) {
        // Swapped with a buffer kept here, so that neither side allocates per pass.
        let mut msgs = std::mem::take(&mut self.msg_scratch);
        std::mem::swap(
            &mut msgs,
            &mut *self.handle.msgs.lock().unwrap_or_else(|p| p.into_inner()),
        );
        for msg in msgs.drain(..) {
            match msg {
                Msg::ReadReturned(key, buf) => self.read_returned(key, buf),
                Msg::Close(key) => self.begin_linger(key),
                Msg::ReadAbandoned(key) => {
                    if let Some(entry) = self.entry(key) {
                        if entry.side == ReadSide::Lent {
                            entry.side = ReadSide::Ended;
                            if entry.close_pending {
                                self.begin_linger(key);
                            }
                        }
                    }
                }
                Msg::Detach(key) => {
                    if self.entry(key).is_some() {
                        self.remove(key.index);
                    }
                }
                Msg::Resume(key) => {
                    if self.entry(key).is_some_and(|e| e.side == ReadSide::Parsing) {
                        self.read_and_parse(key.index);
                    }
                }
                Msg::Shutdown => self.shutdown(),
            }
        }
        self.msg_scratch = msgs;
    }

    fn read_returned(&mut self, key: ConnKey, buf: ReadBuf) {
        let shutting_down = self.shutting_down;
        let Some(entry) = self.entry(key) else {
            return;
        };
        if entry.side != ReadSide::Lent {
            return;
        }
        if entry.close_pending {
            entry.side = ReadSide::Ended;
            self.begin_linger(key);
            return;
        }
        entry.buf = buf;
        entry.side = ReadSide::Parsing;
        if shutting_down {
            self.stop_reading(key.index, CloseReason::Shutdown);
            return;
        }
        if !self.ensure_registered(key.index) {
            return;
        }
        // Bytes may have arrived while the handler held the read side; edge-triggered readiness
        // will not report them again, so parse and read right away.
        self.read_and_parse(key.index);
    }

    fn ensure_registered(&mut self, index: usize) -> bool {
        let Some(Some(entry)) = self.entries.get_mut(index) else {
            return false;
        };
        if entry.registered {
            return true;
        }
        let fd = entry.conn.stream.as_fd().as_raw_fd();
        match self
            .poll
            .registry()
            .register(&mut SourceFd(&fd), Token(index), interest(&entry.conn))
        {
            Ok(()) => {
                entry.registered = true;
                true
            }
            Err(e) => {
                log::warn!("cannot re-register a connection: {e}");
                self.remove(index);
                false
            }
        }
    }

    /// Shuts our side down and drains the client's bytes for a moment, so that a client still
    /// sending does not get a reset that destroys the response it has not read yet.
    fn begin_linger(&mut self, key: ConnKey) {
        let linger = self.settings.timeouts.linger;
        let Some(entry) = self.entry(key) else {
            return;
        };
        if entry.side == ReadSide::Lent {
            // A handler still reads a body from this socket (a response before its own closed
            // the connection): draining now would steal its bytes. Linger once the read side
            // comes back (`ReadReturned` or `ReadAbandoned`).
            entry.close_pending = true;
            return;
        }
        if !entry.linger {
            // Closing the socket sends our FIN; shut down first only when another handle
            // (a request being dropped right now) could keep the socket open a little longer,
            // or to send TLS's close_notify.
            if Arc::strong_count(&entry.conn) > 1 || entry.conn.stream.is_tls() {
                entry.conn.stream.shutdown(Shutdown::Write);
            }
            self.remove(key.index);
            return;
        }
        entry.conn.stream.shutdown(Shutdown::Write);
        entry.side = ReadSide::Lingering;
        entry.buf = ReadBuf::default();
        if !self.ensure_registered(key.index) {
            return;
        }
        self.set_deadline(key.index, self.now.checked_add(linger));
        self.drain_lingering(key.index);
    }

    fn drain_lingering(&mut self, index: usize) {
        let mut budget = 1024 * 1024;
        loop {
            let Some(Some(entry)) = self.entries.get_mut(index) else {
                return;
            };
            match entry.conn.stream.read(&mut self.scratch) {
                Ok(0) => break,
                Ok(n) if n < budget => budget -= n,
                Ok(_) => break, // a client that keeps sending is not worth waiting for
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.remove(index);
    }

    fn remove(&mut self, index: usize) {
        let Some(entry) = self.entries.get_mut(index).and_then(Option::take) else {
            return;
        };
        // Closing the last handle of a socket removes it from epoll by itself; deregister
        // explicitly only when another handle keeps it open (its events would otherwise reach
        // whichever connection reuses this slot).
        if entry.registered && Arc::strong_count(&entry.conn) > 1 {
            let fd = entry.conn.stream.as_fd().as_raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        drop(entry);
        self.free.push(index);
        self.open -= 1;
        if self.at_capacity && self.open < self.settings.max_connections {
            self.at_capacity = false;
            self.resume_accept = true;
        }
    }

    fn shutdown(&mut self) {
        self.shutting_down = true;
        if let Some(listener) = self.listener.take() {
            let fd = listener.raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        for index in 0..self.entries.len() {
            if matches!(&self.entries[index], Some(e) if e.side == ReadSide::Parsing) {
                self.stop_reading(index, CloseReason::Shutdown);
            }
        }
    }

    fn arm_idle(&mut self, index: usize) {
        let now = self.now;
        let at = self.settings.timeouts.idle.and_then(|d| now.checked_add(d));
        self.set_deadline(index, at);
    }

    fn arm_head(&mut self, index: usize) {
        let head = self.settings.timeouts.head;
        if let Some(Some(e)) = self.entries.get(index) {
            let start = e.head_started.unwrap_or(self.now);
            let at = head.and_then(|d| start.checked_add(d));
            self.set_deadline(index, at);
        }
    }

    /// Sets (or, with `None`, clears) a connection's deadline.
    fn set_deadline(&mut self, index: usize, at: Option<Instant>) {
        let Some(Some(entry)) = self.entries.get_mut(index) else {
            return;
        };
        entry.deadline = at;
        let Some(at) = at else {
            return;
        };
        // One live timer per connection: push only when the new deadline is earlier than the
        // queued one; later deadlines are picked up when the queued timer fires.
        if entry.timer_at.map_or(true, |t| at < t) {
            entry.timer_at = Some(at);
            self.timers.push(Reverse((at, index, entry.conn.key.id)));
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        while let Some(&Reverse((at, index, id))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            if index == ACCEPT_TIMER {
                self.accept_paused = false;
                self.accept();
                continue;
            }
            let Some(Some(entry)) = self.entries.get_mut(index) else {
                continue;
            };
            if entry.conn.key.id != id || entry.timer_at != Some(at) {
                continue; // stale
            }
            entry.timer_at = None;
            match entry.deadline {
                Some(d) if d <= now => {}
                Some(d) => {
                    self.set_deadline(index, Some(d));
                    continue;
                }
                None => continue,
            }
            self.expired(index);
        }
    }

    fn expired(&mut self, index: usize) {
        let Some(Some(entry)) = self.entries.get_mut(index) else {
            return;
        };
        entry.deadline = None;
        match entry.side {
            ReadSide::Parsing if entry.conn.stream.is_handshaking() => {
                self.stop_reading(index, CloseReason::HandshakeTimeout)
            }
            ReadSide::Parsing if entry.head_started.is_some() => {
                self.stop_reading(index, CloseReason::HeadTimeout)
            }
            ReadSide::Parsing => {
                if entry.conn.responses_done() < entry.next_seq {
                    // Handlers are still working on this connection's requests: not idle.
                    self.arm_idle(index);
                } else {
                    self.stop_reading(index, CloseReason::IdleTimeout);
                }
            }
            ReadSide::Lingering => self.remove(index),
            ReadSide::Lent | ReadSide::Ended => {}
        }
    }
}

/// Plain connections need readability only; TLS ones also writability, to push handshake
/// records the socket could not take at once.
fn interest(conn: &Conn) -> Interest {
    if conn.stream.is_tls() {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    }
}

fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
            || code == rustix::io::Errno::NFILE.raw_os_error()
            || code == rustix::io::Errno::NOBUFS.raw_os_error()
            || code == rustix::io::Errno::NOMEM.raw_os_error()
    )
}
