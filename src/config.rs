//! Server configuration: the frozen upstream structs ([`ServerConfig`], [`SslConfig`]) and the
//! internal settings (limits and deadlines) the runtime is driven by.

use std::time::Duration;

use crate::listen::ConfigListenAddr;
use crate::proto::head::HeadLimits;

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

/// Deadlines the runtime enforces on every connection.
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    /// From the first byte of a request head to its end (slowloris).
    pub(crate) head: Duration,
    /// A keep-alive connection with no request in progress.
    pub(crate) idle: Duration,
    /// Longest wait for the next bytes of a request body.
    pub(crate) body_stall: Duration,
    /// Longest wait for the socket to accept more response bytes.
    pub(crate) write_stall: Duration,
    /// How long a closing connection is drained so the client sees our last response.
    pub(crate) linger: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            head: Duration::from_secs(30),
            idle: Duration::from_secs(75),
            body_stall: Duration::from_secs(60),
            write_stall: Duration::from_secs(60),
            linger: Duration::from_secs(2),
        }
    }
}

/// Everything the runtime needs besides the listener.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) limits: HeadLimits,
    pub(crate) timeouts: Timeouts,
}
