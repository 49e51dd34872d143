//! Server configuration: the frozen upstream structs ([`ServerConfig`], [`SslConfig`]) and
//! [`ServerBuilder`], which sets the runtime's limits and deadlines.

use std::net::ToSocketAddrs;
#[cfg(unix)]
use std::path::Path;
use std::time::Duration;

use crate::listen::{ConfigListenAddr, Listener};
use crate::runtime::Settings;
use crate::server::BoxError;
use crate::Server;

/// How to build a [`Server`](crate::Server): where to listen, and optionally TLS.
///
/// Built with a struct literal, as with upstream tiny_http:
///
/// ```
/// use tiny_http::{ConfigListenAddr, Server, ServerConfig};
/// let config = ServerConfig {
///     addr: ConfigListenAddr::from_socket_addrs("127.0.0.1:0").unwrap(),
///     ssl: None,
/// };
/// let server = Server::new(config).unwrap();
/// # drop(server);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address(es) to listen on.
    pub addr: ConfigListenAddr,
    /// TLS settings; `Some` requires the `ssl-rustls` or `ssl-openssl` feature.
    pub ssl: Option<SslConfig>,
}

/// TLS certificate and private key, both PEM-encoded.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// The certificate chain in PEM: the leaf first, then any intermediates.
    pub certificate: Vec<u8>,
    /// The private key in PEM (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Vec<u8>,
}

/// Builds a [`Server`] with limits and deadlines of your choosing: the options the frozen
/// [`ServerConfig`] has no room for.
///
/// Every option has a safe default that real traffic does not trip; a deadline set to
/// [`Duration::MAX`] is disabled.
///
/// ```
/// use std::time::Duration;
/// use tiny_http::ServerBuilder;
///
/// let server = ServerBuilder::new()
///     .max_body_size(Some(10 * 1024 * 1024))
///     .head_timeout(Duration::from_secs(10))
///     .idle_timeout(Duration::from_secs(30))
///     .max_connections(2_000)
///     .http("127.0.0.1:0")
///     .unwrap();
/// # drop(server);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerBuilder {
    settings: Settings,
}

fn enabled(d: Duration) -> Option<Duration> {
    (d != Duration::MAX).then_some(d)
}

impl ServerBuilder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Longest request line (method, target and version), in bytes; a longer one is answered
    /// `414 URI Too Long`. Default is 16 KiB.
    pub fn max_request_line(mut self, bytes: usize) -> Self {
        self.settings.read.head.max_request_line = bytes;
        self
    }

    /// Largest request head (request line and all header fields), in bytes; a larger one is
    /// answered `431 Request Header Fields Too Large`. Default is 64 KiB.
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.settings.read.head.max_head_size = bytes;
        self
    }

    /// Most header fields in one request; more are answered `431`. Default is 128.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.settings.read.head.max_headers = count;
        self
    }

    /// Largest request body accepted. A larger `Content-Length` is answered
    /// `413 Content Too Large` before the handler sees the request; a chunked body that grows
    /// past it makes the body reader fail with `InvalidData`. Default is `None` (no limit).
    pub fn max_body_size(mut self, bytes: Option<u64>) -> Self {
        self.settings.read.head.max_body_size = bytes;
        self
    }

    /// Refuse HTTP/1.1 requests without a `Host` header with `400` (RFC 9112 §3.2 says they
    /// are invalid; upstream tiny_http and most servers accept them). Default is `false`.
    pub fn require_host(mut self, strict: bool) -> Self {
        self.settings.read.head.require_host = strict;
        self
    }

    /// Most connections open at once. At the limit the server stops accepting: new
    /// connections wait in the operating system's listen backlog (they are not refused) and are
    /// accepted as soon as others close. The process's open-files limit (`ulimit -n`) usually
    /// binds first: then accepting pauses for 100 ms and resumes, with the same effect.
    /// Default is 100,000.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.settings.max_connections = count.max(1);
        self
    }

    /// Most requests of one connection handed to handlers and not yet answered. A client that
    /// pipelines more is simply not read until responses catch up. Default is 32.
    pub fn max_pipelined_requests(mut self, count: u32) -> Self {
        self.settings.read.max_in_flight = u64::from(count.max(1));
        self
    }

    /// Time allowed from the first byte of a request head to its end. A client that is too
    /// slow (slowloris) gets `408 Request Timeout` and is disconnected. Default is 30 s.
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.settings.read_timeouts.head = enabled(timeout);
        self
    }

    /// How long a keep-alive connection may stay idle (no request in progress) before the
    /// server closes it. Default is 75 s.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.read_timeouts.idle = enabled(timeout);
        self
    }

    /// Longest wait for the next bytes of a request body; past it the body reader fails with
    /// `TimedOut`, and the connection closes after the response (`408` if the handler drops
    /// the request). Default is 60 s.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.settings.read_timeouts.body_stall = enabled(timeout);
        self
    }

    /// Minimum average request-body rate, in bytes per second, enforced once `grace` has
    /// passed since the body started (slow-POST attacks); a slower body fails like a
    /// [`body_timeout`](Self::body_timeout). `None` disables it. Default is 256 bytes/s after
    /// a 10 s grace.
    ///
    /// A body up to [`preread_body`](Self::preread_body) is received by the event loop before
    /// the request is handed out: a slow sender of such a body holds no handler, and a
    /// too-slow one is answered `408` by the server itself. For a larger body (or one whose
    /// client waits for `100 Continue`) the clock starts when the handler first waits for
    /// bytes, so that an upload held back by TCP flow control while it waited in the queue
    /// is not penalised; such a slow client occupies the handler reading its body for about
    /// `grace`.
    pub fn min_body_rate(mut self, rate: Option<(u64, Duration)>) -> Self {
        self.settings.read_timeouts.min_body_rate = rate;
        self
    }

    /// Request bodies declared by `Content-Length` up to this many bytes are received by the
    /// event loop before the request is handed out, so that reading them never waits on the
    /// client: a slow sender costs memory, never a handler thread. Larger bodies, and bodies
    /// whose client sent `Expect: 100-continue`, are handed out at once and read at the
    /// client's pace. A chunked body (length unknown) is pre-read as far as it has arrived,
    /// up to this bound, and its request handed out as soon as the loop would have to wait
    /// for more, so that a handler may still answer before a slow body ends. `0` hands every
    /// body out at once. Default is 64 KiB.
    pub fn preread_body(mut self, bytes: u64) -> Self {
        self.settings.read.preread = bytes;
        self
    }

    /// Response bytes a connection holds for its client before a handler streaming a body
    /// (from a reader the library did not make) waits for the client to take some: the memory
    /// a slow client costs, and how much of a streamed response a handler writes without
    /// waiting. Bodies the library owns (`Response::from_file`, `from_data`, `from_string`)
    /// and rendered responses up to 64 KiB never wait, whatever this is. Default is 256 KiB.
    pub fn output_buffer(mut self, bytes: usize) -> Self {
        self.settings.output_buffer = bytes.max(1);
        self
    }

    /// Longest wait for the client to accept more response bytes; past it the response is
    /// abandoned and the connection closed. Default is 60 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.settings.write.stall = enabled(timeout);
        self
    }

    /// Minimum average rate, in bytes per second, at which a client must accept response
    /// bytes once it has made the server wait and `grace` has passed since: a slower client
    /// (slow-read attack) is disconnected with a reset, its queued response dropped, and a
    /// handler still streaming to it gets `TimedOut`. `None` disables it.
    /// Default is 256 bytes/s after a 30 s grace.
    ///
    /// Only the time the server spends waiting for the client counts, from the first time the
    /// socket is full: a client that keeps up is never cut off, however slowly the handler
    /// produces the body; a client that keeps the server waiting for more than `grace` must
    /// have accepted `rate` bytes per second of that waiting. A client that stops reading
    /// altogether is therefore cut off after `grace` (or the
    /// [`write_timeout`](Self::write_timeout), whichever is shorter); the grace is longer
    /// than the request-body one (10 s) so that a download paused for a while survives.
    /// `grace` is at least 1 s; a `rate` of 0 counts as 1 byte/s. Raw writers
    /// ([`Request::into_writer`](crate::Request::into_writer)) and upgraded streams are held
    /// to the write timeout only.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tiny_http::ServerBuilder;
    ///
    /// // Clients downloading slower than 1 KiB/s for more than 30 s are cut off.
    /// let builder = ServerBuilder::new().min_write_rate(Some((1024, Duration::from_secs(30))));
    /// # drop(builder);
    /// ```
    pub fn min_write_rate(mut self, rate: Option<(u64, Duration)>) -> Self {
        self.settings.write.min_rate =
            rate.map(|(rate, grace)| (rate, grace.max(Duration::from_secs(1))));
        self
    }

    /// Time allowed for a TLS handshake, from accepting the connection; a client that stalls
    /// mid-handshake is disconnected without delaying anyone else. Default is 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.settings.handshake_timeout = enabled(timeout);
        self
    }

    /// Serves TLS with a configuration you built with rustls yourself: ALPN, SNI certificate
    /// resolvers, client-certificate authentication, certificate reload, session tickets. Every
    /// server started by this builder then speaks HTTPS; any `SslConfig` passed later is
    /// ignored. Only HTTP/1.1 is served, so advertise at most `http/1.1` in ALPN.
    /// Default is no TLS (or the certificate of an `SslConfig`).
    ///
    /// Needs the `ssl-rustls` feature.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    ///
    /// fn serve(config: Arc<rustls::ServerConfig>) -> tiny_http::Server {
    ///     tiny_http::ServerBuilder::new()
    ///         .rustls_config(config)
    ///         .http("0.0.0.0:8443")
    ///         .unwrap()
    /// }
    /// # let _ = serve;
    /// ```
    #[cfg(feature = "ssl-rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ssl-rustls")))]
    pub fn rustls_config(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.settings.tls = Some(crate::transport::TlsConfig::Rustls(config));
        self
    }

    /// Serves TLS with an OpenSSL acceptor you built yourself (ALPN, SNI callbacks, client
    /// certificates), the `ssl-openssl` counterpart of `rustls_config`. It works whatever
    /// other TLS feature is enabled (the features are additive: an `SslConfig` uses rustls
    /// when `ssl-rustls` is on, but an acceptor is OpenSSL's). Every server started by this
    /// builder then speaks HTTPS; any `SslConfig` passed later is ignored.
    /// Default is no TLS (or the certificate of an `SslConfig`).
    ///
    /// Needs the `ssl-openssl` feature (or its alias `ssl`).
    #[cfg(feature = "ssl-openssl")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ssl-openssl")))]
    pub fn openssl_acceptor(mut self, acceptor: std::sync::Arc<openssl::ssl::SslAcceptor>) -> Self {
        self.settings.tls = Some(crate::transport::TlsConfig::Openssl(acceptor));
        self
    }

    /// Starts an HTTPS server on `addr` with the certificate chain and key of `ssl`.
    #[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))))]
    pub fn https<A: ToSocketAddrs>(self, addr: A, ssl: SslConfig) -> Result<Server, BoxError> {
        self.build(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: Some(ssl),
        })
    }

    /// Starts a plain-HTTP server on `addr`.
    pub fn http<A: ToSocketAddrs>(self, addr: A) -> Result<Server, BoxError> {
        self.build(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    /// Starts a server on a unix-domain socket at `path` (removed when the server drops).
    #[cfg(unix)]
    pub fn http_unix(self, path: &Path) -> Result<Server, BoxError> {
        self.build(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Starts a server from a [`ServerConfig`].
    pub fn build(self, config: ServerConfig) -> Result<Server, BoxError> {
        Server::with_settings(config, self.settings)
    }

    /// Starts a server on a listening socket created elsewhere.
    pub fn from_listener<L: Into<Listener>>(
        self,
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, BoxError> {
        Server::start(listener.into(), ssl_config, None, self.settings)
    }
}
