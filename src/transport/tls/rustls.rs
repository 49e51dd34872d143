//! The rustls backend: one `ServerConnection` per connection. rustls is sans-IO already:
//! ciphertext in through `read_tls`, out through `write_tls`.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConnection;

use super::{Backend, BUFFER_LIMIT};
use crate::transport::socket::Socket;

/// A rustls server session.
pub(crate) struct Session(ServerConnection);

impl Session {
    pub(crate) fn new(config: &Arc<rustls::ServerConfig>) -> io::Result<Session> {
        let mut conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        conn.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(Session(conn))
    }
}

/// `Read` over a shared socket reference (rustls' `read_tls` wants `&mut dyn Read`).
struct SocketReader<'a>(&'a Socket);

impl Read for SocketReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// `Write` over a shared socket reference, for `write_tls` (vectored: rustls hands over
/// several records at once).
struct SocketWriter<'a>(&'a Socket);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Backend for Session {
    fn read_socket(&mut self, socket: &Socket) -> io::Result<usize> {
        let n = self.0.read_tls(&mut SocketReader(socket))?;
        if n > 0 {
            if let Err(e) = self.0.process_new_packets() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        Ok(n)
    }

    fn read_plain(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.0.reader().read(out) {
            // The peer closed the TCP stream without close_notify: an end all the same for
            // HTTP/1.1, whose messages are self-delimiting.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }

    fn write_plain(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.0.writer().write(data)? {
            0 if !data.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn wants_write(&self) -> bool {
        self.0.wants_write()
    }

    fn write_socket(&mut self, socket: &Socket) -> io::Result<usize> {
        self.0.write_tls(&mut SocketWriter(socket))
    }

    fn close_notify(&mut self) {
        self.0.send_close_notify();
    }
}

impl Session {
    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.0.is_handshaking()
    }
}

/// Builds the rustls configuration from PEM bytes, with errors that say what is wrong.
pub(crate) fn config_from_pem(
    certificate: &[u8],
    private_key: &[u8],
) -> io::Result<Arc<rustls::ServerConfig>> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let certs = CertificateDer::pem_slice_iter(certificate)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("TLS certificate: invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(
            "TLS certificate: no `CERTIFICATE` PEM block found".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|e| {
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
