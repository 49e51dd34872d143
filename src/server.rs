//! [`Server`]: binds, starts the event loop, and hands out [`Request`]s.
//!
//! ```text
//!   Server::new ──► listener + event loop + background thread ("tiny-http-io")
//!   recv() / recv_timeout() / try_recv() / incoming_requests() ◄── the hub's queue
//!        (a receiver with nothing queued runs the event loop itself when nobody else does;
//!         what it receives is plain data, wrapped here into a `Request`)
//!   unblock() ──► one receiver returns Err
//!   drop ──► stop accepting; handed-out requests finish; queued ones get 503
//! ```

use std::error::Error;
use std::io;
use std::net::ToSocketAddrs;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::conn::Msg;
use crate::runtime::hub::{Hub, Received};
use crate::runtime::reactor::Reactor;
use crate::runtime::reply::Reply;
use crate::runtime::Settings;
use crate::transport::ListenSocket;
use crate::{
    ConfigListenAddr, ListenAddr, Listener, Request, ServerBuilder, ServerConfig, SslConfig,
    StatusCode,
};

/// The error type of the constructors, as in upstream tiny_http.
pub(crate) type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// An HTTP server: listens, and hands out [`Request`]s to the threads that call
/// [`recv`](Server::recv).
///
/// It is `Send + Sync`: share it between worker threads with an `Arc`. Connections never get
/// threads of their own: the event loop runs on a thread that calls `recv` while no other does
/// (leader/followers), or on one background thread while every worker is busy, so the thread
/// count is your workers plus one whatever the number of connections.
///
/// ```no_run
/// use std::sync::Arc;
/// use tiny_http::{Response, Server};
///
/// let server = Arc::new(Server::http("0.0.0.0:8000").unwrap());
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let server = server.clone();
///         std::thread::spawn(move || {
///             for request in server.incoming_requests() {
///                 let _ = request.respond(Response::from_string("hello"));
///             }
///         })
///     })
///     .collect();
/// # drop(workers);
/// ```
#[derive(Debug)]
pub struct Server {
    hub: Arc<Hub>,
    addr: ListenAddr,
    #[cfg(unix)]
    unix_path: Option<PathBuf>,
}

impl Server {
    /// Listens for plain HTTP on `addr` (e.g. `"0.0.0.0:8000"`, port 0 for any free port).
    ///
    /// ```
    /// let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    /// println!("listening on {}", server.server_addr());
    /// ```
    pub fn http<A: ToSocketAddrs>(addr: A) -> Result<Server, BoxError> {
        ServerBuilder::new().http(addr)
    }

    /// Listens for HTTPS on `addr` with the given certificate and key.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    pub fn https<A: ToSocketAddrs>(addr: A, config: SslConfig) -> Result<Server, BoxError> {
        ServerBuilder::new().https(addr, config)
    }

    /// Listens on a unix-domain socket at `path`; the file is removed when the server drops.
    #[cfg(unix)]
    pub fn http_unix(path: &Path) -> Result<Server, BoxError> {
        ServerBuilder::new().http_unix(path)
    }

    /// Builds a server from a [`ServerConfig`].
    pub fn new(config: ServerConfig) -> Result<Server, BoxError> {
        ServerBuilder::new().build(config)
    }

    /// A builder for servers with custom limits and deadlines.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = tiny_http::Server::builder()
    ///     .idle_timeout(Duration::from_secs(5))
    ///     .http("127.0.0.1:0")
    ///     .unwrap();
    /// # drop(server);
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    pub(crate) fn with_settings(
        config: ServerConfig,
        settings: Settings,
    ) -> Result<Server, BoxError> {
        match config.addr {
            ConfigListenAddr::IP(addrs) => {
                let listener = std::net::TcpListener::bind(&addrs[..])?;
                Server::start(Listener::Tcp(listener), config.ssl, None, settings)
            }
            #[cfg(unix)]
            ConfigListenAddr::Unix(path) => {
                let listener = std::os::unix::net::UnixListener::bind(&path)?;
                Server::start(Listener::Unix(listener), config.ssl, Some(path), settings)
            }
        }
    }

    /// Serves on a listening socket created elsewhere (systemd socket activation,
    /// `SO_REUSEPORT`, a port chosen by a test harness).
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, BoxError> {
        ServerBuilder::new().from_listener(listener, ssl_config)
    }

    pub(crate) fn start(
        listener: Listener,
        ssl: Option<SslConfig>,
        #[cfg(unix)] unix_path: Option<PathBuf>,
        #[cfg(not(unix))] _unix_path: Option<()>,
        #[allow(unused_mut)] mut settings: Settings,
    ) -> Result<Server, BoxError> {
        #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
        if let (Some(ssl), None) = (&ssl, &settings.tls) {
            settings.tls = Some(crate::transport::TlsConfig::from_pem(
                &ssl.certificate,
                &ssl.private_key,
            )?);
        }
        #[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
        if ssl.is_some() {
            return Err(tls_unavailable().into());
        }
        let addr = listener.local_addr()?;
        let socket = match listener {
            Listener::Tcp(l) => ListenSocket::from_std_tcp(l)?,
            #[cfg(unix)]
            Listener::Unix(l) => ListenSocket::from_std_unix(l)?,
        };
        let (reactor, waker, registry) = Reactor::new(socket, settings.max_connections)?;
        let hub = Arc::new(Hub::new(settings, reactor, waker, registry));
        let background = hub.clone();
        std::thread::Builder::new()
            .name("tiny-http-io".into())
            .spawn(move || background.background())?;
        Ok(Server {
            hub,
            addr,
            #[cfg(unix)]
            unix_path,
        })
    }

    /// An iterator over incoming requests; it ends when [`recv`](Server::recv) would fail
    /// (after [`unblock`](Server::unblock)).
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn server_addr(&self) -> ListenAddr {
        self.addr.clone()
    }

    /// The number of open client connections (including upgraded ones still in use).
    pub fn num_connections(&self) -> usize {
        self.hub.live.load(Ordering::Relaxed)
    }

    /// Blocks until the next request arrives. Returns `Err` (`ErrorKind::Interrupted`) when
    /// [`unblock`](Server::unblock) releases this call.
    ///
    /// Requests come in arrival order, with one exception: while a request of a connection is
    /// in a handler, that connection's next (pipelined) request goes only to the thread that
    /// received the earlier one, or to anyone once it is answered or dropped. A thread may
    /// therefore collect several requests of one connection before answering them, but one
    /// client never occupies several handler threads, nor delays other clients' requests.
    pub fn recv(&self) -> io::Result<Request> {
        match self.hub.recv(None) {
            Received::Request(r) => Ok(Request::from_incoming(r)),
            Received::Unblocked | Received::Empty => Err(unblocked()),
        }
    }

    /// Like [`recv`](Server::recv), but returns `Ok(None)` when nothing arrived within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> io::Result<Option<Request>> {
        let deadline = Instant::now().checked_add(timeout);
        match self.hub.recv(Some(deadline.unwrap_or_else(far_future))) {
            Received::Request(r) => Ok(Some(Request::from_incoming(r))),
            Received::Empty => Ok(None),
            Received::Unblocked => Err(unblocked()),
        }
    }

    /// Returns the next request if one is waiting, `Ok(None)` otherwise; never blocks.
    pub fn try_recv(&self) -> io::Result<Option<Request>> {
        match self.hub.recv(Some(Instant::now())) {
            Received::Request(r) => Ok(Some(Request::from_incoming(r))),
            Received::Empty => Ok(None),
            Received::Unblocked => Err(unblocked()),
        }
    }

    /// Releases exactly one thread blocked in [`recv`](Server::recv) or
    /// [`incoming_requests`](Server::incoming_requests) (or the next one to call it): call it
    /// N times to stop N worker threads.
    pub fn unblock(&self) {
        self.hub.unblock();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.hub.send(Msg::Shutdown);
        // Requests queued but never received are answered 503; requests already handed to
        // handlers finish normally.
        for request in self.hub.close() {
            Reply::new(request.conn, request.seq, false).send_error(StatusCode(503));
        }
        #[cfg(unix)]
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Iterator over the requests of a [`Server`]; see [`Server::incoming_requests`].
#[derive(Debug)]
pub struct IncomingRequests<'a> {
    server: &'a Server,
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

fn unblocked() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "the server was unblocked")
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365)
}

#[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
fn tls_unavailable() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "HTTPS requires the ssl feature: build tiny_http with `ssl-rustls` or `ssl-openssl`",
    )
}
