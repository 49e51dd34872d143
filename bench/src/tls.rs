//! S8/S9 (HTTPS): one certificate and one rustls configuration, the same for every server.
//!
//! The harness makes an EC P-256 certificate for `localhost`/127.0.0.1 once (rcgen, ring) and
//! writes it beside the key into a temporary directory; each server process reads both and
//! builds its configuration with [`server_config`], so ours and hyper (through tokio-rustls)
//! run byte-for-byte the same rustls setup:
//!
//! - rustls 0.23 with the ring provider, TLS 1.2 and 1.3, rustls' default cipher suites (the
//!   client, wrk with OpenSSL, then negotiates TLS 1.3 with TLS_AES_256_GCM_SHA384 on both);
//! - no ALPN (HTTP/1.1 only on both);
//! - no session resumption (no session cache, no tickets): S9's "new TLS connection" is a
//!   full handshake for every server, whatever the client offers.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The directory holding `cert.der` and `key.der` (made once per harness run).
pub fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("tiny_http-bench-tls-{}", std::process::id()))
}

/// Makes the certificate and key in `dir` (EC P-256, self-signed for localhost/127.0.0.1).
pub fn make(dir: &Path) -> io::Result<()> {
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(io::Error::other)?;
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(io::Error::other)?;
    let cert = params.self_signed(&key).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("cert.der"), cert.der())?;
    std::fs::write(dir.join("key.der"), key.serialize_der())
}

/// The server configuration every HTTPS server of the bench uses (see the module docs).
pub fn server_config(dir: &Path) -> io::Result<Arc<rustls::ServerConfig>> {
    let cert = CertificateDer::from(std::fs::read(dir.join("cert.der"))?);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(std::fs::read(
        dir.join("key.der"),
    )?));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(io::Error::other)?;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
