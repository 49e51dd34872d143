//! Connected and listening sockets, behind one interface with two implementations
//! (DESIGN property 7):
//!
//! ```text
//!                     Linux (the fast path)                 every other OS, or Linux built
//!                                                           with --cfg tiny_http_portable
//!   stream type       std::net::TcpStream / UnixStream      mio::net::TcpStream / UnixStream
//!   registration      by file descriptor (mio SourceFd)     the mio type itself
//!   read / write      recv / send(MSG_NOSIGNAL)             through mio's type (mio re-arms
//!                                                           Windows sockets on WouldBlock)
//!   file bodies       sendfile(2) (std's io::copy, probed)  read into memory, then write
//!   end of readable   a short read proves it (no extra     read until WouldBlock
//!                     read for WouldBlock)
//! ```
//!
//! `SIGPIPE` is never raised on Linux (writes are `sendmsg` with `MSG_NOSIGNAL`) nor on Apple
//! systems (accepted sockets get `SO_NOSIGPIPE`). Elsewhere on the portable path writes go
//! through mio and rely on Rust programs ignoring `SIGPIPE`, as std's runtime sets up.
//!
//! # Threads that exit (portable path)
//! On Windows mio watches a socket with an `AFD_POLL` request issued by whichever thread
//! last re-armed it: the polling thread, or a thread whose read or write returned
//! `WouldBlock`. Wine cancels a thread's pending requests when the thread exits, and no
//! completion reports it: the socket would never signal again. Any thread may run the event
//! loop or do socket I/O here (leader/followers, handlers writing directly), and handler
//! threads do exit (a panic, a thread per request). So on the portable path a thread that
//! did socket I/O bumps a global counter when it exits and wakes every event loop, and the
//! loop re-registers its sockets from a live thread ([`thread_exits`], `Socket::rearm`). On
//! epoll and kqueue, and on Windows proper, that costs one pass over the connections per
//! exiting thread and changes nothing else.
//!
//! # Invariants
//! - Every socket is non-blocking from accept to close; nothing here waits.
//! - All I/O goes through `&Socket`, so the event loop and a handler thread can share one
//!   (the connection's lock decides who uses it when). On the portable path the mio object
//!   sits behind its own small mutex, so that the loop can re-register it (mio needs `&mut`).

use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::{Interest, Registry, Token};

/// How the mio object is held: bare on the fast path, behind a mutex on the portable path
/// (see "Threads that exit").
#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
type Held<T> = T;
#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
type Held<T> = std::sync::Mutex<T>;

/// Runs `f` on the mio (or std) object.
#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
fn with<T, R>(t: &T, f: impl FnOnce(&T) -> R) -> R {
    f(t)
}

/// Runs `f` on the mio object, under its mutex (noting this thread as one doing I/O).
#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
fn with<T, R>(t: &std::sync::Mutex<T>, f: impl FnOnce(&T) -> R) -> R {
    f(&held(t))
}

#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
fn held<T>(t: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    thread_exits::note_io();
    t.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
fn hold<T>(t: T) -> Held<T> {
    t
}

#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
fn hold<T>(t: T) -> Held<T> {
    std::sync::Mutex::new(t)
}

/// Is this build on the Linux fast path?
pub(crate) const FAST_PATH: bool = cfg!(all(target_os = "linux", not(tiny_http_portable)));

#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
type TcpStream = std::net::TcpStream;
#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
type TcpStream = mio::net::TcpStream;
#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
type UnixStream = std::os::unix::net::UnixStream;
#[cfg(all(unix, not(all(target_os = "linux", not(tiny_http_portable)))))]
type UnixStream = mio::net::UnixStream;

/// A connected, non-blocking stream socket.
#[derive(Debug)]
pub(crate) enum Socket {
    /// A TCP connection.
    Tcp(Held<TcpStream>),
    /// A unix-domain stream connection.
    #[cfg(unix)]
    Unix(Held<UnixStream>),
}

impl Socket {
    /// Reads what is there (`WouldBlock` when nothing is).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => with(s, |mut s| s.read(buf)),
            #[cfg(unix)]
            Socket::Unix(s) => with(s, |mut s| s.read(buf)),
        }
    }

    /// Writes from several buffers in one system call.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            // sendmsg(2) with MSG_NOSIGNAL: std's vectored writes use writev(2), and its unix
            // socket writes write(2), both of which raise SIGPIPE on a closed peer.
            self.sock_ref()
                .send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        match self {
            Socket::Tcp(s) => with(s, |mut s| io::Write::write_vectored(&mut s, bufs)),
            #[cfg(unix)]
            Socket::Unix(s) => with(s, |mut s| io::Write::write_vectored(&mut s, bufs)),
        }
    }

    /// Shuts down one or both directions; errors (already closed) are ignored.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Socket::Tcp(s) => with(s, |s| s.shutdown(how)),
            #[cfg(unix)]
            Socket::Unix(s) => with(s, |s| s.shutdown(how)),
        };
    }

    /// Makes closing abortive (`SO_LINGER` 0: a reset that discards whatever is still
    /// queued): for a client that stopped reading, whose response is cut short anyway and
    /// whose unread bytes should not keep a kernel buffer. No effect on unix sockets.
    pub(crate) fn reset_on_close(&self) {
        match self {
            Socket::Tcp(s) => {
                let _ = with(s, |s| {
                    socket2::SockRef::from(s).set_linger(Some(Duration::ZERO))
                });
            }
            #[cfg(unix)]
            Socket::Unix(_) => {}
        }
    }

    /// Prepares an accepted socket: `TCP_NODELAY` (responses are written whole, so Nagle's
    /// algorithm only delays them) and, on Apple systems, `SO_NOSIGPIPE`.
    fn prepare(&self) {
        match self {
            Socket::Tcp(s) => {
                let _ = with(s, |s| s.set_nodelay(true));
            }
            #[cfg(unix)]
            Socket::Unix(_) => {}
        }
        #[cfg(target_vendor = "apple")]
        {
            let _ = match self {
                Socket::Tcp(s) => with(s, |s| socket2::SockRef::from(s).set_nosigpipe(true)),
                Socket::Unix(s) => with(s, |s| socket2::SockRef::from(s).set_nosigpipe(true)),
            };
        }
    }

    /// The socket as socket2 sees it (the Linux fast path's system calls go through it).
    #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
    pub(crate) fn sock_ref(&self) -> socket2::SockRef<'_> {
        match self {
            Socket::Tcp(s) => socket2::SockRef::from(s),
            Socket::Unix(s) => socket2::SockRef::from(s),
        }
    }

    /// The descriptor (the Linux fast path registers and waits through it).
    #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
    fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Runs `f` on the socket as a poller source: its descriptor on the Linux fast path, the
    /// mio object (under its mutex) on the portable path.
    fn with_source<R>(&self, f: impl FnOnce(&mut dyn mio::event::Source) -> R) -> R {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            f(&mut mio::unix::SourceFd(&self.raw_fd()))
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        match self {
            Socket::Tcp(s) => f(&mut *held(s)),
            #[cfg(unix)]
            Socket::Unix(s) => f(&mut *held(s)),
        }
    }

    /// Registers the socket with the poller (edge-triggered, as mio always is).
    pub(crate) fn register(
        &self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.with_source(|source| registry.register(source, token, interest))
    }

    /// Changes what the poller watches for (the readiness it reports afresh).
    pub(crate) fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.with_source(|source| registry.reregister(source, token, interest))
    }

    /// Linux fast path: waits until the socket is readable (or closed), at most `timeout`,
    /// with a poller of the calling thread's own, so that no other thread is woken for it.
    /// `Some(false)` when the time ran out; `None` when no poller could be made (the
    /// caller waits another way).
    #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
    pub(crate) fn wait_readable(&self, timeout: Option<Duration>) -> Option<bool> {
        use std::cell::RefCell;
        /// The thread's poller, its events and the descriptor it watches (one at a time).
        type Poller = (mio::Poll, mio::Events, Option<std::os::fd::RawFd>);
        thread_local! {
            static POLLER: RefCell<Option<Poller>> = const { RefCell::new(None) };
        }
        let fd = self.raw_fd();
        POLLER.with(|cell| {
            let mut cell = cell.try_borrow_mut().ok()?;
            if cell.is_none() {
                *cell = Some((mio::Poll::new().ok()?, mio::Events::with_capacity(2), None));
            }
            let (poll, events, watched) = cell.as_mut()?;
            // The registration stays between waits for the same socket (a body read waits
            // many times): it is edge-triggered, and the caller waits only after a read that
            // would block, so data arriving after that read is reported either way. Another
            // socket replaces it (a closed socket's registration is gone by itself).
            if let Some(old) = watched.filter(|&old| old != fd) {
                let _ = poll.registry().deregister(&mut mio::unix::SourceFd(&old));
                *watched = None;
            }
            let mut source = mio::unix::SourceFd(&fd);
            // Registering reports readiness that is already there (epoll evaluates it).
            match poll
                .registry()
                .register(&mut source, Token(0), Interest::READABLE)
            {
                Ok(()) => {}
                // Still registered from the last wait on this socket.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(_) => return None,
            }
            *watched = Some(fd);
            let result = poll.poll(events, timeout);
            match result {
                Ok(()) => Some(!events.is_empty()),
                // Interrupted: the caller looks again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Some(true),
                // A poller that fails otherwise would fail again: the caller waits its
                // portable way (which keeps its deadline) instead of looping on it.
                Err(_) => None,
            }
        })
    }

    /// Registers the socket again from this thread (portable path; see "Threads that
    /// exit"): the readiness of the socket is reported afresh.
    #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
    pub(crate) fn rearm(&self, registry: &Registry, token: Token, interest: Interest) {
        self.deregister(registry);
        if let Err(e) = self.register(registry, token, interest) {
            log::warn!("cannot register a connection again: {e}");
        }
    }

    /// Stops events for a socket that another handle keeps open after the event loop forgot
    /// it.
    pub(crate) fn deregister(&self, registry: &Registry) {
        let _ = self.with_source(|source| registry.deregister(source));
    }

    /// Sends up to `max` bytes of `file` from `offset` straight from the page cache
    /// (`sendfile(2)`); returns how many went out (0 at end of file). `None` when this socket
    /// or file cannot take that path: the caller copies through memory instead.
    pub(crate) fn send_file(&self, file: &File, offset: u64, max: u64) -> Option<io::Result<u64>> {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            super::sendfile::send(self, file, offset, max)
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        {
            let _ = (file, offset, max);
            None
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    /// TCP.
    Tcp(mio::net::TcpListener),
    /// Unix-domain stream.
    #[cfg(unix)]
    Unix(mio::net::UnixListener),
}

impl ListenSocket {
    /// Takes a bound std listener (made non-blocking here).
    pub(crate) fn from_std_tcp(l: std::net::TcpListener) -> io::Result<ListenSocket> {
        l.set_nonblocking(true)?;
        Ok(ListenSocket::Tcp(mio::net::TcpListener::from_std(l)))
    }

    /// Takes a bound std unix listener (made non-blocking here).
    #[cfg(unix)]
    pub(crate) fn from_std_unix(l: std::os::unix::net::UnixListener) -> io::Result<ListenSocket> {
        l.set_nonblocking(true)?;
        Ok(ListenSocket::Unix(mio::net::UnixListener::from_std(l)))
    }

    /// Accepts one connection (non-blocking, prepared), with the peer's address for TCP.
    pub(crate) fn accept(&self) -> io::Result<(Socket, Option<SocketAddr>)> {
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        thread_exits::note_io();
        let (socket, addr) = match self {
            ListenSocket::Tcp(l) => {
                let (s, addr) = l.accept()?;
                #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
                let s = std::net::TcpStream::from(s);
                (Socket::Tcp(hold(s)), Some(addr))
            }
            #[cfg(unix)]
            ListenSocket::Unix(l) => {
                let (s, _) = l.accept()?;
                #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
                let s = std::os::unix::net::UnixStream::from(s);
                (Socket::Unix(hold(s)), None)
            }
        };
        socket.prepare();
        Ok((socket, addr))
    }

    /// Registers the listener for readability.
    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        match self {
            ListenSocket::Tcp(l) => registry.register(l, token, Interest::READABLE),
            #[cfg(unix)]
            ListenSocket::Unix(l) => registry.register(l, token, Interest::READABLE),
        }
    }

    /// Registers the listener again from this thread (portable path; see "Threads that
    /// exit").
    #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
    pub(crate) fn rearm(&mut self, registry: &Registry, token: Token) {
        self.deregister(registry);
        if let Err(e) = self.register(registry, token) {
            log::error!("cannot register the listener again: {e}");
        }
    }

    /// Stops accepting: deregisters the listener (it closes when dropped).
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let _ = match self {
            ListenSocket::Tcp(l) => registry.deregister(l),
            #[cfg(unix)]
            ListenSocket::Unix(l) => registry.deregister(l),
        };
    }
}

/// Is this accept error a shortage of descriptors or memory (back off and retry), rather
/// than a problem with one connection (skip it and go on)?
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];
    // WSAEMFILE, WSAENOBUFS.
    #[cfg(windows)]
    let codes = [10024, 10055];
    #[cfg(not(any(unix, windows)))]
    let codes: [i32; 0] = [];
    e.raw_os_error().is_some_and(|code| codes.contains(&code))
}

/// Threads that did socket I/O and exited (portable path; see "Threads that exit" above).
#[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
pub(crate) mod thread_exits {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, PoisonError, Weak};

    use mio::Waker;

    static EXITED: AtomicU64 = AtomicU64::new(0);
    static LOOPS: Mutex<Vec<Weak<Waker>>> = Mutex::new(Vec::new());

    /// Counts and announces the exit of a thread that did socket I/O.
    struct Exit;

    impl Drop for Exit {
        fn drop(&mut self) {
            EXITED.fetch_add(1, Ordering::Release);
            let loops = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
            for waker in loops.iter().filter_map(Weak::upgrade) {
                let _ = waker.wake();
            }
        }
    }

    thread_local! {
        static EXIT: Exit = const { Exit };
    }

    /// Marks the calling thread as one whose exit must be announced (cheap after the first
    /// call on a thread).
    pub(crate) fn note_io() {
        // Fails only while the thread is already being torn down: nothing left to mark.
        let _ = EXIT.try_with(|_| {});
    }

    /// How many such threads have exited so far.
    pub(crate) fn count() -> u64 {
        EXITED.load(Ordering::Acquire)
    }

    /// Has `waker` woken whenever such a thread exits (for as long as it lives).
    pub(crate) fn watch(waker: &Arc<Waker>) {
        let mut loops = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
        loops.retain(|w| w.strong_count() > 0);
        loops.push(Arc::downgrade(waker));
    }
}
