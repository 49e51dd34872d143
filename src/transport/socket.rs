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
//! # Invariants
//! - Every socket is non-blocking from accept to close; nothing here waits.
//! - All I/O goes through `&Socket`, so the event loop and a handler thread can share one
//!   (the connection's lock decides who uses it when).

use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::{Interest, Registry, Token};

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
    Tcp(TcpStream),
    /// A unix-domain stream connection.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Socket {
    /// Reads what is there (`WouldBlock` when nothing is).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).read(buf),
        }
    }

    /// Writes from several buffers in one system call.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            // sendmsg(2) with MSG_NOSIGNAL: std's vectored writes use writev(2), and its unix
            // socket writes write(2), both of which raise SIGPIPE on a closed peer.
            let socket = match self {
                Socket::Tcp(s) => socket2::SockRef::from(s),
                Socket::Unix(s) => socket2::SockRef::from(s),
            };
            socket.send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        match self {
            Socket::Tcp(s) => (&*s).write_vectored(bufs),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    /// Shuts down one or both directions; errors (already closed) are ignored.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Socket::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown(how),
        };
    }

    /// Makes closing abortive (`SO_LINGER` 0: a reset that discards whatever is still
    /// queued): for a client that stopped reading, whose response is cut short anyway and
    /// whose unread bytes should not keep a kernel buffer. No effect on unix sockets.
    pub(crate) fn reset_on_close(&self) {
        if let Socket::Tcp(s) = self {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
    }

    /// Prepares an accepted socket: `TCP_NODELAY` (responses are written whole, so Nagle's
    /// algorithm only delays them) and, on Apple systems, `SO_NOSIGPIPE`.
    fn prepare(&self) {
        if let Socket::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
        #[cfg(target_vendor = "apple")]
        {
            let socket = match self {
                Socket::Tcp(s) => socket2::SockRef::from(s),
                Socket::Unix(s) => socket2::SockRef::from(s),
            };
            let _ = socket.set_nosigpipe(true);
        }
    }

    /// Registers the socket with the poller (edge-triggered, as mio always is).
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            use std::os::fd::AsRawFd;
            let fd = match self {
                Socket::Tcp(s) => s.as_raw_fd(),
                Socket::Unix(s) => s.as_raw_fd(),
            };
            registry.register(&mut mio::unix::SourceFd(&fd), token, interest)
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        match self {
            Socket::Tcp(s) => registry.register(s, token, interest),
            #[cfg(unix)]
            Socket::Unix(s) => registry.register(s, token, interest),
        }
    }

    /// Stops events for a socket that another handle keeps open after the event loop forgot
    /// it. (On the portable path mio needs the socket mutably, so the socket's own close
    /// deregisters it; stray events meanwhile carry a stale token and are ignored.)
    pub(crate) fn deregister(&self, registry: &Registry) {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            use std::os::fd::AsRawFd;
            let fd = match self {
                Socket::Tcp(s) => s.as_raw_fd(),
                Socket::Unix(s) => s.as_raw_fd(),
            };
            let _ = registry.deregister(&mut mio::unix::SourceFd(&fd));
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        let _ = registry;
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
        let (socket, addr) = match self {
            ListenSocket::Tcp(l) => {
                let (s, addr) = l.accept()?;
                #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
                let s = std::net::TcpStream::from(s);
                (Socket::Tcp(s), Some(addr))
            }
            #[cfg(unix)]
            ListenSocket::Unix(l) => {
                let (s, _) = l.accept()?;
                #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
                let s = std::os::unix::net::UnixStream::from(s);
                (Socket::Unix(s), None)
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
