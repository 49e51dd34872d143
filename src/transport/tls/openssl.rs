//! The OpenSSL backend: one `SslStream` per connection over an in-memory transport
//! ([`MemIo`]), so that OpenSSL never touches the socket: ciphertext goes in and out through
//! buffers that the connection fills from, and drains to, the socket (as with rustls).
//!
//! # Invariants
//! - A `write_plain` that returned `WouldBlock` is retried with the same bytes (OpenSSL keeps
//!   the half-encrypted record); the connection's output queue guarantees that.
//! - Calls that OpenSSL asks to repeat without needing the socket are retried at once, a
//!   bounded number of times.

use std::io::{self, Read, Write};
use std::sync::Arc;

use openssl::error::ErrorStack;
use openssl::pkey::{Id, PKey, Private};
use openssl::ssl::{self, AlpnError, ErrorCode, Ssl, SslAcceptor, SslMethod, SslStream};
use openssl::x509::X509;

use super::{Backend, BUFFER_LIMIT};
use crate::transport::socket::Socket;

/// Retries of an OpenSSL call that asked to be called again without the socket (records
/// without application data); a bound against a misbehaving peer, never reached in practice.
const MAX_RETRIES: usize = 64;

/// ALPN protocols the default configuration accepts, in OpenSSL's wire format.
#[cfg_attr(feature = "ssl-rustls", allow(dead_code))]
const ALPN_HTTP11: &[u8] = b"\x08http/1.1";

/// OpenSSL's transport: ciphertext received (not yet consumed) and ciphertext to send.
#[derive(Debug, Default)]
struct MemIo {
    incoming: Vec<u8>,
    /// How much of `incoming` OpenSSL has consumed.
    consumed: usize,
    outgoing: Vec<u8>,
    /// How much of `outgoing` went to the socket.
    sent: usize,
    /// The socket reached its end of stream.
    eof: bool,
}

impl Read for MemIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pending = &self.incoming[self.consumed..];
        if pending.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.consumed += n;
        if self.consumed == self.incoming.len() {
            self.incoming.clear();
            self.consumed = 0;
        }
        Ok(n)
    }
}

impl Write for MemIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.outgoing.len() - self.sent >= BUFFER_LIMIT {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An OpenSSL server session.
pub(crate) struct Session {
    stream: SslStream<MemIo>,
    established: bool,
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
    match e.code() {
        ErrorCode::ZERO_RETURN => Failure::End,
        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => match e.into_io_error() {
            Ok(io) if io.kind() == io::ErrorKind::Interrupted => Failure::Again,
            Ok(io) => Failure::Io(io),
            Err(_) => Failure::Io(io::ErrorKind::WouldBlock.into()),
        },
        ErrorCode::SYSCALL => match e.into_io_error() {
            Ok(io) => Failure::Io(io),
            // EOF in the middle of a record.
            Err(_) => Failure::End,
        },
        // OpenSSL 3 reports a TCP close without close_notify as a protocol error: an end all
        // the same for HTTP/1.1, whose messages are self-delimiting.
        ErrorCode::SSL if saw_eof => Failure::End,
        _ => Failure::Io(io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

impl Session {
    pub(crate) fn new(acceptor: &Arc<SslAcceptor>) -> io::Result<Session> {
        let mut ssl = Ssl::new(acceptor.context()).map_err(io::Error::other)?;
        ssl.set_accept_state();
        let stream = SslStream::new(ssl, MemIo::default()).map_err(io::Error::other)?;
        Ok(Session {
            stream,
            established: false,
        })
    }

    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        !self.established
    }

    /// Advances the handshake as far as the buffered bytes allow: `Ok(true)` once complete,
    /// `Ok(false)` when it waits for the peer, `WouldBlock` kept as such.
    fn handshake(&mut self) -> io::Result<bool> {
        if self.established {
            return Ok(true);
        }
        for _ in 0..MAX_RETRIES {
            let e = match self.stream.do_handshake() {
                Ok(()) => {
                    self.established = true;
                    return Ok(true);
                }
                Err(e) => e,
            };
            match classify(e, self.stream.get_ref().eof) {
                Failure::Again => {}
                Failure::End => return Ok(false),
                Failure::Io(e) => return Err(e),
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Runs an OpenSSL read or write once the handshake is done, retried while OpenSSL makes
    /// progress without the socket.
    fn call(
        &mut self,
        at_end: fn() -> io::Result<usize>,
        mut op: impl FnMut(&mut SslStream<MemIo>) -> Result<usize, ssl::Error>,
    ) -> io::Result<usize> {
        match self.handshake() {
            Ok(true) => {}
            Ok(false) => return at_end(),
            Err(e) => return Err(e),
        }
        for _ in 0..MAX_RETRIES {
            match op(&mut self.stream) {
                Ok(n) => return Ok(n),
                Err(e) => match classify(e, self.stream.get_ref().eof) {
                    Failure::Again => {}
                    Failure::End => return at_end(),
                    Failure::Io(e) => return Err(e),
                },
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Backend for Session {
    fn read_socket(&mut self, socket: &Socket) -> io::Result<usize> {
        let io = self.stream.get_mut();
        let start = io.incoming.len();
        io.incoming.resize(start + 16 * 1024, 0);
        let result = socket.read(&mut io.incoming[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        io.incoming.truncate(start + n);
        if matches!(result, Ok(0)) {
            io.eof = true;
        }
        result
    }

    fn read_plain(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        self.call(|| Ok(0), |s| s.ssl_read(out))
    }

    fn write_plain(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.call(
            || Err(io::ErrorKind::BrokenPipe.into()),
            |s| s.ssl_write(data),
        )
    }

    fn wants_write(&self) -> bool {
        let io = self.stream.get_ref();
        io.sent < io.outgoing.len()
    }

    fn write_socket(&mut self, socket: &Socket) -> io::Result<usize> {
        let io = self.stream.get_mut();
        let n = socket.write_vectored(&[io::IoSlice::new(&io.outgoing[io.sent..])])?;
        io.sent += n;
        if io.sent == io.outgoing.len() {
            io.outgoing.clear();
            io.sent = 0;
        }
        Ok(n)
    }

    fn close_notify(&mut self) {
        if self.established {
            let _ = self.stream.shutdown();
        }
    }
}

/// Builds the OpenSSL acceptor from PEM bytes, with errors that say what is wrong.
// (With `ssl-rustls` also enabled, rustls serves PEM configurations: this goes unused.)
#[cfg_attr(feature = "ssl-rustls", allow(dead_code))]
pub(crate) fn config_from_pem(
    certificate: &[u8],
    private_key: &[u8],
) -> io::Result<Arc<SslAcceptor>> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let certs = X509::stack_from_pem(certificate)
        .map_err(|e| invalid(format!("TLS certificate: invalid PEM ({})", reasons(&e))))?;
    let Some((leaf, intermediates)) = certs.split_first() else {
        return Err(invalid(
            "TLS certificate: no `CERTIFICATE` PEM block found".into(),
        ));
    };
    let key = private_key_from_pem(private_key).map_err(invalid)?;
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
    Ok(Arc::new(builder.build()))
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
/// (`EC PRIVATE KEY`). Encrypted keys are refused, never prompted for.
#[cfg_attr(feature = "ssl-rustls", allow(dead_code))]
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
#[cfg_attr(feature = "ssl-rustls", allow(dead_code))]
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
