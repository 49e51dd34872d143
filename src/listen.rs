//! Listening sockets and their addresses: [`ConfigListenAddr`] (what to bind),
//! [`ListenAddr`] (what was bound) and [`Listener`] (a socket bound elsewhere).

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
#[cfg(unix)]
use std::path::PathBuf;

/// Where a [`Server`](crate::Server) should listen.
///
/// ```
/// use tiny_http::ConfigListenAddr;
/// let addr = ConfigListenAddr::from_socket_addrs("127.0.0.1:0").unwrap();
/// assert!(matches!(addr, ConfigListenAddr::IP(ref v) if v.len() == 1));
/// ```
#[derive(Debug, Clone)]
pub enum ConfigListenAddr {
    /// One or more IP addresses; the first that binds is used.
    IP(Vec<SocketAddr>),
    /// A unix-domain socket path (the file is created, and removed when the server drops).
    #[cfg(unix)]
    Unix(PathBuf),
}

impl ConfigListenAddr {
    /// Resolves `addrs` (e.g. `"localhost:8000"`) into a list of IP addresses.
    pub fn from_socket_addrs<A: ToSocketAddrs>(addrs: A) -> io::Result<Self> {
        addrs.to_socket_addrs().map(|it| Self::IP(it.collect()))
    }

    /// A unix-domain socket at `path`.
    #[cfg(unix)]
    pub fn unix_from_path<P: Into<PathBuf>>(path: P) -> Self {
        Self::Unix(path.into())
    }
}

/// The address a [`Server`](crate::Server) is listening on.
#[derive(Debug, Clone)]
pub enum ListenAddr {
    /// An IP address and port (port 0 already resolved to the real one).
    IP(SocketAddr),
    /// A unix-domain socket address.
    #[cfg(unix)]
    Unix(std::os::unix::net::SocketAddr),
}

impl ListenAddr {
    /// The IP address, if this is one.
    ///
    /// ```no_run
    /// let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    /// let port = server.server_addr().to_ip().unwrap().port();
    /// assert_ne!(port, 0);
    /// ```
    pub fn to_ip(self) -> Option<SocketAddr> {
        match self {
            Self::IP(addr) => Some(addr),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    /// The unix-domain socket address, if this is one.
    #[cfg(unix)]
    pub fn to_unix(self) -> Option<std::os::unix::net::SocketAddr> {
        match self {
            Self::IP(_) => None,
            Self::Unix(addr) => Some(addr),
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IP(addr) => addr.fmt(f),
            #[cfg(unix)]
            Self::Unix(addr) => match addr.as_pathname() {
                Some(path) => path.display().fmt(f),
                None => f.write_str("unix:(unnamed)"),
            },
        }
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> Self {
        Self::IP(addr)
    }
}

#[cfg(unix)]
impl From<std::os::unix::net::SocketAddr> for ListenAddr {
    fn from(addr: std::os::unix::net::SocketAddr) -> Self {
        Self::Unix(addr)
    }
}

/// A listening socket created elsewhere (systemd socket activation, `SO_REUSEPORT`, tests),
/// for [`Server::from_listener`](crate::Server::from_listener).
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A unix-domain listener.
    #[cfg(unix)]
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Self::Tcp(l)
    }
}

#[cfg(unix)]
impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Self::Unix(l)
    }
}

impl Listener {
    /// The bound address.
    pub(crate) fn local_addr(&self) -> io::Result<ListenAddr> {
        match self {
            Self::Tcp(l) => l.local_addr().map(ListenAddr::IP),
            #[cfg(unix)]
            Self::Unix(l) => l.local_addr().map(ListenAddr::Unix),
        }
    }
}
