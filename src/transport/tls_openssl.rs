//! TLS through OpenSSL (the `openssl` crate): one `SslStream` per socket, behind a mutex that
//! is never held across a blocking wait.
//!
//! ```text
//!   accept ─► handshaking (event loop: read() / writable events drive SSL_do_handshake,
//!                          handshake deadline)
//!          ─► established: read() = SSL_read, pulling records from the socket;
//!                          write() = SSL_write, records go straight to the socket
//! ```
//!
//! OpenSSL talks to the socket through [`SocketIo`], a `Read + Write` adapter over the shared,
//! non-blocking `mio` socket: a `WouldBlock` from the socket comes back from OpenSSL as
//! `WANT_READ`/`WANT_WRITE`, which is handed to the caller as `WouldBlock` again.
//!
//! # Invariants
//! - `read`/`write` never block: `WouldBlock` means "wait for socket readiness and retry".
//! - Calls are retried internally until the socket itself would block (OpenSSL may consume a
//!   record that carries no application data), so an edge-triggered poller never misses data
//!   already in the socket.
//! - A `write` that returned `WouldBlock` must be retried with the same bytes (OpenSSL keeps
//!   the half-sent record); bytes reported as written are in the socket, so nothing stays
//!   queued between calls and `flush_nonblocking` has nothing to push once established.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use openssl::error::ErrorStack;
use openssl::pkey::{Id, PKey, Private};
use openssl::ssl::{self, AlpnError, ErrorCode, Ssl, SslAcceptor, SslMethod, SslStream};
use openssl::x509::X509;

use crate::SslConfig;

/// Retries of an OpenSSL call that asked to be called again without the socket blocking
/// (records without application data); a bound against a misbehaving peer, never reached in
/// practice.
const MAX_RETRIES: usize = 64;

/// ALPN protocols the default configuration accepts, in OpenSSL's wire format.
const ALPN_HTTP11: &[u8] = b"\x08http/1.1";

/// The configuration the server hands every connection: an `Arc<SslAcceptor>`, wrapped only
/// because `SslAcceptor` has no `Debug` (the server's settings derive it).
#[derive(Clone)]
pub(crate) struct TlsConfig(pub(crate) Arc<SslAcceptor>);

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig(SslAcceptor)")
    }
}

/// A TLS connection over a non-blocking TCP socket.
pub(crate) struct TlsConn {
    sock: Arc<mio::net::TcpStream>,
    session: Mutex<SslStream<SocketIo>>,
    /// Set once the handshake has completed; read without the lock.
    established: AtomicBool,
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn")
            .field("sock", &self.sock)
            .field("established", &self.established)
            .finish()
    }
}

/// The socket as OpenSSL sees it: plain non-blocking reads and writes.
#[derive(Debug)]
struct SocketIo {
    sock: Arc<mio::net::TcpStream>,
    /// The peer closed its side of the TCP stream.
    saw_eof: bool,
}

impl Read for SocketIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.sock).read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.saw_eof = true;
        }
        Ok(n)
    }
}

impl Write for SocketIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.sock).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where a handshake stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    Done,
    /// The peer closed the stream before the handshake completed.
    Ended,
    /// Waiting for the peer's next flight (or, `writing`, for room in the socket).
    Blocked {
        writing: bool,
    },
}

/// What a failed OpenSSL call means for a non-blocking caller.
enum Failure {
    /// Call again at once: OpenSSL made progress without needing the socket.
    Again,
    /// The peer ended the session (close_notify, or the TCP stream closed).
    End,
    /// A real error, or `WouldBlock`.
    Io(io::Error),
}

fn classify(e: ssl::Error, saw_eof: bool) -> Failure {
    let code = e.code();
    match code {
        ErrorCode::ZERO_RETURN => Failure::End,
        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => match e.into_io_error() {
            Ok(io) if io.kind() == io::ErrorKind::Interrupted => Failure::Again,
            Ok(io) => Failure::Io(io),
            Err(_) => Failure::Again,
        },
        ErrorCode::SYSCALL => match e.into_io_error() {
            Ok(io) => Failure::Io(io),
            // EOF from the socket in the middle of a record.
            Err(_) => Failure::End,
        },
        // OpenSSL 3 reports a TCP close without close_notify as a protocol error: an end all
        // the same for HTTP/1.1, whose messages are self-delimiting.
        ErrorCode::SSL if saw_eof => Failure::End,
        _ => Failure::Io(io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

impl TlsConn {
    pub(crate) fn new(sock: mio::net::TcpStream, config: &TlsConfig) -> io::Result<TlsConn> {
        let sock = Arc::new(sock);
        let mut ssl = Ssl::new(config.0.context()).map_err(io::Error::other)?;
        ssl.set_accept_state();
        let io = SocketIo {
            sock: sock.clone(),
            saw_eof: false,
        };
        let stream = SslStream::new(ssl, io).map_err(io::Error::other)?;
        Ok(TlsConn {
            sock,
            session: Mutex::new(stream),
            established: AtomicBool::new(false),
        })
    }

    pub(crate) fn socket(&self) -> &mio::net::TcpStream {
        &self.sock
    }

    fn session(&self) -> MutexGuard<'_, SslStream<SocketIo>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        !self.established.load(Ordering::Acquire)
    }

    /// Advances the handshake as far as the socket allows.
    fn handshake(&self, s: &mut SslStream<SocketIo>) -> io::Result<Handshake> {
        if self.established.load(Ordering::Acquire) {
            return Ok(Handshake::Done);
        }
        for _ in 0..MAX_RETRIES {
            let e = match s.do_handshake() {
                Ok(()) => {
                    self.established.store(true, Ordering::Release);
                    return Ok(Handshake::Done);
                }
                Err(e) => e,
            };
            let writing = e.code() == ErrorCode::WANT_WRITE;
            match classify(e, s.get_ref().saw_eof) {
                Failure::Again => {}
                Failure::End => return Ok(Handshake::Ended),
                Failure::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Handshake::Blocked { writing })
                }
                Failure::Io(e) => return Err(e),
            }
        }
        Ok(Handshake::Blocked { writing: false })
    }

    /// Reads plaintext; `Ok(0)` at the end of the stream.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.call(|| Ok(0), |s| s.ssl_read(buf))
    }

    /// Encrypts and sends plaintext; the bytes reported are in the socket.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.call(
            || Err(io::ErrorKind::BrokenPipe.into()),
            |s| s.ssl_write(buf),
        )
    }

    /// Runs an OpenSSL read or write once the handshake is done: retried while OpenSSL makes
    /// progress without the socket, `WouldBlock` when the socket would block, `at_end` when
    /// the peer ended the session.
    fn call(
        &self,
        at_end: fn() -> io::Result<usize>,
        mut op: impl FnMut(&mut SslStream<SocketIo>) -> Result<usize, ssl::Error>,
    ) -> io::Result<usize> {
        let mut s = self.session();
        match self.handshake(&mut s)? {
            Handshake::Done => {}
            Handshake::Ended => return at_end(),
            Handshake::Blocked { .. } => return Err(io::ErrorKind::WouldBlock.into()),
        }
        for _ in 0..MAX_RETRIES {
            match op(&mut s) {
                Ok(n) => return Ok(n),
                Err(e) => match classify(e, s.get_ref().saw_eof) {
                    Failure::Again => {}
                    Failure::End => return at_end(),
                    Failure::Io(e) => return Err(e),
                },
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Pushes what is pending without waiting; `Ok(true)` when nothing remains to be sent.
    /// During the handshake this advances it (the event loop calls it on writability);
    /// afterwards OpenSSL holds nothing between calls (see the module invariants).
    pub(crate) fn flush_nonblocking(&self) -> io::Result<bool> {
        if self.established.load(Ordering::Acquire) {
            return Ok(true);
        }
        let mut s = self.session();
        Ok(self.handshake(&mut s)? != Handshake::Blocked { writing: true })
    }

    /// Sends close_notify (best effort) before shutting the socket down.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        if how != Shutdown::Read && self.established.load(Ordering::Acquire) {
            let _ = self.session().shutdown();
        }
        let _ = self.sock.shutdown(how);
    }
}

/// Builds the OpenSSL acceptor from PEM bytes, with errors that say what is wrong.
pub(crate) fn config_from_pem(ssl: &SslConfig) -> Result<TlsConfig, io::Error> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let certs = X509::stack_from_pem(&ssl.certificate)
        .map_err(|e| invalid(format!("TLS certificate: invalid PEM ({})", reasons(&e))))?;
    let Some((leaf, intermediates)) = certs.split_first() else {
        return Err(invalid(
            "TLS certificate: no `CERTIFICATE` PEM block found".into(),
        ));
    };
    let key = private_key_from_pem(&ssl.private_key).map_err(invalid)?;
    let unsupported = match key.id() {
        Id::DSA => Some("DSA"),
        Id::DH => Some("DH"),
        _ => None,
    };
    if let Some(kind) = unsupported {
        return Err(invalid(format!(
            "TLS private key: unsupported key type {kind}; use an RSA, ECDSA or Ed25519 key"
        )));
    }
    let leaf_key = leaf.public_key().map_err(|e| {
        invalid(format!(
            "TLS certificate: unreadable public key ({})",
            reasons(&e)
        ))
    })?;
    if !leaf_key.public_eq(&key) {
        return Err(invalid(
            "TLS private key does not match the certificate".into(),
        ));
    }
    let unusable = |e: ErrorStack| {
        invalid(format!(
            "TLS certificate or private key not usable ({})",
            reasons(&e)
        ))
    };
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(io::Error::other)?;
    builder.set_certificate(leaf).map_err(unusable)?;
    for cert in intermediates {
        builder
            .add_extra_chain_cert(cert.clone())
            .map_err(unusable)?;
    }
    builder.set_private_key(&key).map_err(unusable)?;
    builder.check_private_key().map_err(|e| {
        invalid(format!(
            "TLS private key does not match the certificate ({})",
            reasons(&e)
        ))
    })?;
    builder.set_alpn_select_callback(|_, client| {
        ssl::select_next_proto(ALPN_HTTP11, client).ok_or(AlpnError::NOACK)
    });
    Ok(TlsConfig(Arc::new(builder.build())))
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
/// (`EC PRIVATE KEY`). Encrypted keys are refused, never prompted for.
fn private_key_from_pem(pem: &[u8]) -> Result<PKey<Private>, String> {
    const FORMS: &str = "PKCS#8, PKCS#1 RSA or SEC1 EC";
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!(
            "TLS private key: no PEM block found (expected a {FORMS} PEM private key)"
        ));
    }
    let asked_for_password = std::cell::Cell::new(false);
    let key = PKey::private_key_from_pem_callback(pem, |_| {
        asked_for_password.set(true);
        Ok(0)
    });
    match key {
        Ok(key) => Ok(key),
        Err(_) if asked_for_password.get() => Err(format!(
            "TLS private key: encrypted keys are not supported; give an unencrypted {FORMS} PEM key"
        )),
        Err(e) => Err(format!(
            "TLS private key: no usable PEM private key ({FORMS}) found ({})",
            reasons(&e)
        )),
    }
}

/// OpenSSL's reasons for an error, without its file names and line numbers.
fn reasons(e: &ErrorStack) -> String {
    let mut out: Vec<&str> = Vec::new();
    for reason in e.errors().iter().filter_map(|e| e.reason()) {
        if !out.contains(&reason) {
            out.push(reason);
        }
    }
    if out.is_empty() {
        e.to_string()
    } else {
        out.join("; ")
    }
}
