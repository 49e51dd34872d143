//! TLS as a transform between the socket's bytes and the connection's plaintext, through
//! rustls (`ssl-rustls`) or OpenSSL (`ssl-openssl`). Both may be built at once (features are
//! additive): a configuration made from PEM bytes uses rustls when it is built, OpenSSL
//! otherwise, and a prebuilt configuration uses the backend it was built for.
//!
//! ```text
//!   socket ──ciphertext──► Session::read_socket ──► records ──► Session::read_plain ──► plaintext
//!   socket ◄─ciphertext─── Session::write_socket ◄── records ◄── Session::write_plain ◄── plaintext
//!
//!   read(session, socket, buf):  plaintext if any, else pull records from the socket
//!   write(session, socket, buf): push pending records first; accept plaintext only when
//!                                the session has room; push what the socket takes
//! ```
//!
//! Handshakes need nothing special: every `read` advances one, every `write` and `flush`
//! pushes its records, and the connection stays "handshaking" until it completes.
//!
//! # Invariants
//! - Nothing here waits: `WouldBlock` means "try again when the socket is ready".
//! - Plaintext accepted by `write` is on its way: it stays in the session (bounded) until
//!   `flush` reports nothing pending, and the caller keeps flushing until then.

use std::io;
use std::sync::Arc;

use super::socket::Socket;

#[cfg(feature = "ssl-openssl")]
pub(crate) mod openssl;
#[cfg(feature = "ssl-rustls")]
pub(crate) mod rustls;

/// Most ciphertext or plaintext a session queues for one connection (bounds memory).
const BUFFER_LIMIT: usize = 64 * 1024;

/// The configuration every connection of a TLS server starts from.
#[derive(Clone)]
pub(crate) enum TlsConfig {
    /// rustls.
    #[cfg(feature = "ssl-rustls")]
    Rustls(Arc<::rustls::ServerConfig>),
    /// OpenSSL.
    #[cfg(feature = "ssl-openssl")]
    Openssl(Arc<::openssl::ssl::SslAcceptor>),
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            #[cfg(feature = "ssl-rustls")]
            TlsConfig::Rustls(_) => f.write_str("TlsConfig(rustls)"),
            #[cfg(feature = "ssl-openssl")]
            TlsConfig::Openssl(_) => f.write_str("TlsConfig(OpenSSL)"),
        }
    }
}

impl TlsConfig {
    /// A server configuration from a PEM certificate chain (leaf first) and a PEM private
    /// key; errors say what is wrong with which.
    pub(crate) fn from_pem(certificate: &[u8], private_key: &[u8]) -> io::Result<TlsConfig> {
        #[cfg(feature = "ssl-rustls")]
        return rustls::config_from_pem(certificate, private_key).map(TlsConfig::Rustls);
        #[cfg(all(feature = "ssl-openssl", not(feature = "ssl-rustls")))]
        return openssl::config_from_pem(certificate, private_key).map(TlsConfig::Openssl);
    }

    /// A session for a newly accepted connection.
    pub(crate) fn session(&self) -> io::Result<Session> {
        match self {
            #[cfg(feature = "ssl-rustls")]
            TlsConfig::Rustls(config) => {
                rustls::Session::new(config).map(|s| Session::Rustls(Box::new(s)))
            }
            #[cfg(feature = "ssl-openssl")]
            TlsConfig::Openssl(acceptor) => {
                openssl::Session::new(acceptor).map(|s| Session::Openssl(Box::new(s)))
            }
        }
    }
}

/// One connection's TLS state (boxed: a session is large, and a connection holds an
/// `Option` of one).
pub(crate) enum Session {
    /// rustls.
    #[cfg(feature = "ssl-rustls")]
    Rustls(Box<rustls::Session>),
    /// OpenSSL.
    #[cfg(feature = "ssl-openssl")]
    Openssl(Box<openssl::Session>),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("handshaking", &self.is_handshaking())
            .finish_non_exhaustive()
    }
}

/// What one backend provides; `Session` dispatches to it.
pub(crate) trait Backend {
    /// Reads ciphertext from the socket into the session (one socket read) and processes it.
    /// `Ok(0)` at the socket's end of stream.
    fn read_socket(&mut self, socket: &Socket) -> io::Result<usize>;
    /// Decrypted plaintext, if any (`WouldBlock` when none is ready; `Ok(0)` once the peer
    /// has closed the TLS session).
    fn read_plain(&mut self, out: &mut [u8]) -> io::Result<usize>;
    /// Accepts plaintext to encrypt; `WouldBlock` while the session is full.
    fn write_plain(&mut self, data: &[u8]) -> io::Result<usize>;
    /// Ciphertext waits to be written to the socket.
    fn wants_write(&self) -> bool;
    /// Writes pending ciphertext to the socket (one socket write).
    fn write_socket(&mut self, socket: &Socket) -> io::Result<usize>;
    /// Queues a `close_notify` alert.
    fn close_notify(&mut self);
}

impl Session {
    fn backend(&mut self) -> &mut dyn Backend {
        match self {
            #[cfg(feature = "ssl-rustls")]
            Session::Rustls(s) => &mut **s,
            #[cfg(feature = "ssl-openssl")]
            Session::Openssl(s) => &mut **s,
        }
    }

    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        match self {
            #[cfg(feature = "ssl-rustls")]
            Session::Rustls(s) => s.is_handshaking(),
            #[cfg(feature = "ssl-openssl")]
            Session::Openssl(s) => s.is_handshaking(),
        }
    }

    /// Reads plaintext, pulling records from the socket as needed. `Ok(0)` at the end of the
    /// stream (close_notify, or the TCP stream closed: HTTP/1 messages are self-delimiting);
    /// `WouldBlock` when the socket has nothing more.
    pub(crate) fn read(&mut self, socket: &Socket, out: &mut [u8]) -> io::Result<usize> {
        let s = self.backend();
        loop {
            match s.read_plain(out) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            // Handshake replies and alerts go out before waiting for the peer.
            push(s, socket)?;
            match s.read_socket(socket) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) => {
                    // An alert may explain a protocol error to the peer: send it (best effort).
                    let _ = push(s, socket);
                    return Err(e);
                }
            }
        }
    }

    /// Encrypts plaintext and writes what the socket takes; returns how much plaintext was
    /// accepted (`WouldBlock` when none: pending records fill the session, or the handshake
    /// waits for the peer).
    pub(crate) fn write(&mut self, socket: &Socket, data: &[u8]) -> io::Result<usize> {
        let s = self.backend();
        if push(s, socket)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = s.write_plain(data)?;
        push(s, socket)?;
        Ok(n)
    }

    /// Pushes pending records; `Ok(true)` when none remain.
    pub(crate) fn flush(&mut self, socket: &Socket) -> io::Result<bool> {
        push(self.backend(), socket).map(|pending| !pending)
    }

    /// Queues close_notify and pushes it (best effort).
    pub(crate) fn close(&mut self, socket: &Socket) {
        let s = self.backend();
        s.close_notify();
        let _ = push(s, socket);
    }
}

/// Writes pending records until none remain or the socket is full; `Ok(true)` while records
/// remain.
fn push(s: &mut dyn Backend, socket: &Socket) -> io::Result<bool> {
    while s.wants_write() {
        match s.write_socket(socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
