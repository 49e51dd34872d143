//! TLS through rustls: one `ServerConnection` per socket, behind a mutex that is never held
//! across a blocking wait.
//!
//! ```text
//!   accept ─► handshaking (event loop: read_tls / process / write_tls, handshake deadline)
//!          ─► established: read() = plaintext from rustls, pulling records from the socket;
//!                          write() = plaintext into rustls, records pushed out as the socket
//!                          allows; flush() waits until every record is out
//! ```
//!
//! # Invariants
//! - `read`/`write` never block: `WouldBlock` means "wait for socket readiness and retry".
//! - Records rustls wants to send (handshake, alerts, data) are pushed on every call; what
//!   the socket cannot take now stays queued and goes out on the next call or `flush`.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConnection;

use crate::SslConfig;

/// Most plaintext and records rustls queues per connection (bounds memory per connection).
const BUFFER_LIMIT: usize = 64 * 1024;

/// A TLS connection over a non-blocking TCP socket.
pub(crate) struct TlsConn {
    sock: mio::net::TcpStream,
    session: Mutex<ServerConnection>,
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn").field("sock", &self.sock).finish()
    }
}

/// The configuration the server hands every connection.
pub(crate) type TlsConfig = Arc<rustls::ServerConfig>;

impl TlsConn {
    pub(crate) fn new(sock: mio::net::TcpStream, config: &TlsConfig) -> io::Result<TlsConn> {
        let mut session = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        session.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(TlsConn {
            sock,
            session: Mutex::new(session),
        })
    }

    pub(crate) fn socket(&self) -> &mio::net::TcpStream {
        &self.sock
    }

    fn session(&self) -> MutexGuard<'_, ServerConnection> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.session().is_handshaking()
    }

    /// Reads plaintext; `Ok(0)` at the end of the stream.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.session();
        loop {
            match s.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed the TCP stream without close_notify: an end all the same
                // for HTTP/1.1, whose messages are self-delimiting.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match s.read_tls(&mut &self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    if let Err(e) = s.process_new_packets() {
                        // Send the alert rustls prepared, then give up on the connection.
                        let _ = push_records(&mut s, &self.sock);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    push_records(&mut s, &self.sock)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Accepts plaintext (queued in rustls) and pushes out what the socket takes.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.session();
        push_records(&mut s, &self.sock)?;
        let n = s.writer().write(buf)?;
        push_records(&mut s, &self.sock)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Pushes queued records; `Ok(true)` when none remain.
    pub(crate) fn flush_nonblocking(&self) -> io::Result<bool> {
        let mut s = self.session();
        push_records(&mut s, &self.sock)?;
        Ok(!s.wants_write())
    }

    /// Sends close_notify (best effort) before shutting the socket down for writing.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        if how != Shutdown::Read {
            let mut s = self.session();
            s.send_close_notify();
            let _ = push_records(&mut s, &self.sock);
        }
        let _ = self.sock.shutdown(how);
    }
}

/// Writes queued TLS records until done or the socket is full (`WouldBlock` is not an error).
fn push_records(s: &mut ServerConnection, sock: &mio::net::TcpStream) -> io::Result<()> {
    while s.wants_write() {
        match s.write_tls(&mut &*sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Builds the rustls configuration from PEM bytes, with errors that say what is wrong.
pub(crate) fn config_from_pem(ssl: &SslConfig) -> Result<TlsConfig, io::Error> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let certs = CertificateDer::pem_slice_iter(&ssl.certificate)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("TLS certificate: invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(
            "TLS certificate: no `CERTIFICATE` PEM block found".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&ssl.private_key).map_err(|e| {
        invalid(format!(
            "TLS private key: no usable PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) found: {e}"
        ))
    })?;
    // ring has no post-quantum key exchange, hence its provider is deprecated from rustls
    // 0.23.48 on; it is kept because it builds with a C compiler alone (no cmake, no NASM).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                invalid("TLS private key does not match the certificate".into())
            }
            other => invalid(format!(
                "TLS certificate or private key not usable: {other}"
            )),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
