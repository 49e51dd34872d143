//! One stream type for every transport the server speaks (plain TCP, unix sockets).
//!
//! The socket is always non-blocking: the event loop reads request heads from it, and handler
//! threads read bodies and write responses on it directly. When a handler-side operation would
//! block, the thread waits for readiness with `poll(2)` and a deadline ([`Stream::wait`]); the
//! event loop is never involved in body or response bytes.
//!
//! # Invariants
//! - Reads and writes go through `&Stream`, so the event loop and a handler may hold the same
//!   stream; the connection's state machine guarantees one reader and one writer at a time.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

// One TLS implementation per build: rustls when its feature is on (also when both are),
// otherwise openssl.
#[cfg(all(feature = "ssl-openssl", not(feature = "ssl-rustls")))]
pub(crate) mod tls_openssl;
#[cfg(feature = "ssl-rustls")]
pub(crate) mod tls_rustls;
#[cfg(all(feature = "ssl-openssl", not(feature = "ssl-rustls")))]
pub(crate) use tls_openssl as tls;
#[cfg(feature = "ssl-rustls")]
pub(crate) use tls_rustls as tls;

/// A connected, non-blocking byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// A TCP connection.
    Tcp(mio::net::TcpStream),
    /// A unix-domain stream connection.
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
    /// A TLS connection over TCP.
    #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
    Tls(Box<tls::TlsConn>),
}

/// Which readiness a blocked handler waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    Readable,
    Writable,
}

impl Stream {
    /// Reads without blocking (`WouldBlock` when nothing is there).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => recv(s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => recv(s, buf),
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => s.read(buf),
        }
    }

    /// Writes without blocking (`WouldBlock` when the socket buffer is full).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => send(s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => send(s, buf),
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => s.write(buf),
        }
    }

    /// Shuts down one or both directions; errors (already closed) are ignored.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(how),
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => {
                s.shutdown(how);
                Ok(())
            }
        };
    }

    /// Waits until every byte accepted by `write` is on the wire (TLS keeps records queued
    /// when the socket is full; plain sockets have nothing to flush).
    pub(crate) fn flush(&self, deadline: Option<Instant>) -> io::Result<()> {
        match self {
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => loop {
                if s.flush_nonblocking()? {
                    return Ok(());
                }
                self.wait(Readiness::Writable, deadline)?;
            },
            _ => {
                let _ = deadline;
                Ok(())
            }
        }
    }

    /// Pushes queued TLS records without waiting (the event loop's use on writability).
    pub(crate) fn flush_nonblocking(&self) -> io::Result<bool> {
        match self {
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => s.flush_nonblocking(),
            _ => Ok(true),
        }
    }

    /// True for TLS connections.
    pub(crate) fn is_tls(&self) -> bool {
        match self {
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(_) => true,
            _ => false,
        }
    }

    /// True while a TLS handshake is in progress.
    pub(crate) fn is_handshaking(&self) -> bool {
        match self {
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => s.is_handshaking(),
            _ => false,
        }
    }

    /// Blocks the calling (handler) thread until the stream is ready, or the deadline passes
    /// (`ErrorKind::TimedOut`). Spurious returns are harmless: callers retry the operation.
    pub(crate) fn wait(&self, what: Readiness, deadline: Option<Instant>) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let flags = match what {
            Readiness::Readable => PollFlags::IN,
            Readiness::Writable => PollFlags::OUT,
        };
        loop {
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "connection made no progress before its deadline",
                        ));
                    }
                    Some(Timespec::try_from(left).unwrap_or(Timespec {
                        tv_sec: i64::MAX,
                        tv_nsec: 0,
                    }))
                }
            };
            let mut fds = [PollFd::from_borrowed_fd(self.as_fd(), flags)];
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(0) => continue,      // timed out: the loop re-checks the deadline
                Ok(_) => return Ok(()), // ready, or HUP/ERR: the retried operation reports it
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Makes closing the socket abortive (`SO_LINGER` 0: a reset, with whatever is still
    /// queued for the client discarded). For a client that stopped reading or reads too
    /// slowly: the response is cut short anyway, and the kernel's send buffer (up to
    /// megabytes) should not stay queued for it. No effect on unix sockets.
    pub(crate) fn reset_on_close(&self) {
        match self {
            #[cfg(unix)]
            Stream::Unix(_) => {}
            _ => {
                let _ = rustix::net::sockopt::set_socket_linger(self, Some(Duration::ZERO));
            }
        }
    }

    /// Sets `TCP_NODELAY` on TCP streams: responses are written whole, so Nagle only delays.
    pub(crate) fn set_nodelay(&self) {
        match self {
            Stream::Tcp(s) => {
                let _ = s.set_nodelay(true);
            }
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => {
                let _ = s.socket().set_nodelay(true);
            }
            #[cfg(unix)]
            Stream::Unix(_) => {}
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            #[cfg(unix)]
            Stream::Unix(s) => s.as_fd(),
            #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
            Stream::Tls(s) => s.socket().as_fd(),
        }
    }
}

/// `recv(2)` on a stream socket, straight through rustix (no libc wrapper).
fn recv(socket: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    match rustix::net::recv(socket, buf, rustix::net::RecvFlags::empty()) {
        Ok((n, _)) => Ok(n),
        Err(e) => Err(e.into()),
    }
}

/// `send(2)` on a stream socket with `MSG_NOSIGNAL`: a peer that went away is an `EPIPE`
/// error, never a `SIGPIPE` (also for unix sockets, where `write(2)` would raise one).
fn send(socket: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    rustix::net::send(socket, buf, rustix::net::SendFlags::NOSIGNAL).map_err(Into::into)
}

/// Writes all of `buf`, waiting for writability whenever the socket is full, each wait up to
/// the deadline `deadline()` gives (asked only then: the clock is not read on the fast path).
pub(crate) fn write_all(
    stream: &Stream,
    mut buf: &[u8],
    deadline: impl Fn() -> Option<Instant>,
) -> io::Result<()> {
    let mut until: Option<Option<Instant>> = None;
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                // The deadline bounds each wait for progress, not the whole write.
                until = None;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let at = *until.get_or_insert_with(&deadline);
                stream.wait(Readiness::Writable, at)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if stream.is_tls() {
        stream.flush(until.unwrap_or_else(deadline))?;
    }
    Ok(())
}
