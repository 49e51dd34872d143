#![cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
//! HTTPS end to end, with whichever TLS backend the build selected (rustls when `ssl-rustls`
//! is on, openssl otherwise): real clients (rustls, ureq, curl, `openssl s_client`), TLS 1.2
//! and 1.3, a root → intermediate → leaf chain trusted through the root only, every private-key
//! form and every bad input, the HTTP/1.1 core over TLS, and handshakes that stall.
//!
//! Certificates are made at test time with rcgen. Two keys are fixtures: an RSA key (ring,
//! under rcgen, cannot generate RSA), a DSA key (a type no backend serves) and an encrypted
//! key.

mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use support::{check_pattern, serve_on, Conn, PatternReader, TestServer, IO_TIMEOUT};
use tiny_http::{Request, Response, Server, ServerBuilder, SslConfig};

// ---------------------------------------------------------------------------------------------
// Certificates and keys
// ---------------------------------------------------------------------------------------------

/// RSA-2048, PKCS#8. Fixture: ring cannot generate RSA keys.
const RSA_PKCS8: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCvwFK5NmZ0kHHa
BUx3tdYRKO3FLXumd+wzT6nAoQ6q3vW4sOjL5mlhn/2BAcqjLwcE3rLbPDJkFZRb
2lPPF7IEhDywXsbjU7ftX7OzH2Xn5+ai+B4cKzaZHkGQCzSD0LevsWEN//WtnZVP
LHrLLD0DsLbeFU2XYRd5dqw7NeH7N6odYVrKk8jzuYl0lY6zCkR4Ka+mOO6x322d
/9ffhCqNeF9jhf924j+14yHd06kUND/VVieLu4Z/eVBa83i3eJFb/+59zC8pdhLX
Pd0tpt4m7m31Hqg21KITBQn3YVJNONpuLWOQI3tNZ5j5jjgRQCG60PYu9sGuWlF7
iNSRA0gVAgMBAAECggEAT+YdNXpXxbJNMBKsmtedxBtZTQTKa/mk9gbHY31Uz7Wg
/B/hFaFgUzOK6fVIjDs686nSofyR5BIzajatVz6sfYUomf3caUiMG2wgo9QoXe99
WKV3+tJideXdZIDTlQF0IHmBZ/3vUMiNMntEL82ix2S1He2NYr6PD3c2AY0TeUMp
tFSPLfTLSEuN33LThnYxt0V8MWVLVHau9ym8DPiVpmpapDoQdJVIsFgsSriPFXPX
qmy1nXwGuOjHCLeZEBtXpVz/LK3RH/7tfTlt7rAw+PmTpEugFLoQg1QWiCWeW406
bP1c4k5Qzie4y+ss5ykpllreW54DyZWkQ6y7m5AymQKBgQDk84Go5wOXbGc4rUOJ
nHEVtK+Ln7zQNZD5OaIlVpDrvNxafR9DUO1b4f+e+wwv3DnW+QLBhdZx8acGAIxA
AsWZ0kSldv9ucACZSh6cDhjS+0zyoB0fvPzOJ6roOkoZ5r9ctTUIOP5RfmbB/qpp
e85QoIex2eBihCi9/Shf6FJ7QwKBgQDEg9DrlzHflS6wtkRmuHIsBMS+dNT98Jy3
8kD4rT0d7pi+tnwA8zrNrgppceLDsmk07SEQdXpcmex6+RBWdH5iTOAJ5JOdkPRE
iQY01dB7g4aQtfxBEhSvbKCORmUYzghu8R1A3JdLWVo+UIV0wbHOW3a22MmYg3Sq
mIGPPbe9xwKBgQCxwu70+Qis1Rn/w2cgvTqAI934hnnPHwgEuV7Pprq2jdh42ZUg
awEfygTypvD7Z/3wjz44i3XI2ltYKay7Nmu91qg94HrKgGO2oPnLKJbVmRBRgUeb
kNyoI9xqmndWTPZfQMKAM+Ah3gZisRwW8m1p5Hn2+LdjRkFr4dcrP/JqiQKBgGxv
nCHTzTZleF0URkw0LPPzMakyiLETSzcJWyadWWMh3HEn+ub/UAxco+wpZoq78Oe+
jYcqe/mLCf2VX5mFMJQHfXyX/4hriw4iWiVfcmolWmSRtv8k/fsKwtGfMHvufKLT
M2QuFOIEDRLjlbCmjPmkaK5ek2cv6nmUK7GhybjTAoGAVw9J/YJC+66qgQBesRsN
qDAes8tpA+NQGbfJaUwBwCgRnXFuqrglM+9ZCiI3418/6RkA5YBVLrsBQAUSwYSw
NDhdC8/2jMvZKMuXBSsmWs/4IIdswr1UJP0/pWv6RsaHEmgAu4eMCYwXDJB+pqgR
SMBlSb2enMtc6cgku2lwtis=
-----END PRIVATE KEY-----
";

/// DSA-1024, PKCS#8: a key type neither backend serves HTTPS with.
const DSA_PKCS8: &str = r"-----BEGIN PRIVATE KEY-----
MIIBWwIBADCCATQGByqGSM44BAEwggEnAoGBALUJ02bZRnmKC2YT/fPhJ7PYV4Ad
LXOXpXZ7/MPV4ZebB8eOBDAykX4YrK1UM3mfqZQVM9J+32bbVvqaAY3gm2ljsRQh
9Dhsf6keI1V86a33m+EmiQX2seSTGyeZUtkr9H8Ze7Cqe3S3fJzEsbCtAdhPy4OY
obnom7SQH/bcVZCrAh0Ay3gHxiYR1EWqfR1xMVi5mT/kq0rPcyJB37WhWwKBgQCM
bi+2cVeweYI5RgAFs7OdGZh6NzS9eEKWz5ulz2m7FgDb6MVi6cJDgXVCPmsDFNON
/RV7KeCTW4YrdalosnWaS4JaN7q4fGoz+Zg7gH8RWuddt2bguJg4GFSh1c44XmwO
exbtJAEp6Z62EmZcqUTMLrEZkHkxxyH9UCbd5Zh/ZAQeAhwlXWx1WQTkwh7FljXS
tCepB4Onu2AAWUC68U5r
-----END PRIVATE KEY-----
";

/// P-256, PKCS#8 encrypted with the passphrase "secret": refused (never prompted for).
const ENCRYPTED_PKCS8: &str = r"-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjVFk1vkf2ypAICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEECz8A1HXwmES5goeym+5xoUEgZB3
z1/hIr3mKYDpT8EVb/SyRORIb4eRns21SCv+lqv3UZGD67M81uzkjYuwJsFAvST5
jgtDKjVg9JuBY1KSZu3SdM1p5+N9CxJi1+z7LJLl/AWklFQdey+ycf2mIVLH9Ok+
jCrmYzq1PQHr5GJFynFkOWgSSaUudlgVZCmoLxNg3uo7Lxx8mJEqOtquL/G+R3I=
-----END ENCRYPTED PRIVATE KEY-----
";

/// A private CA: a self-signed root and an intermediate signed by it. Leaves are signed by
/// the intermediate; clients trust the root only.
struct Pki {
    root_der: CertificateDer<'static>,
    root_file: PathBuf,
    intermediate: rcgen::Certificate,
    intermediate_key: KeyPair,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca_params = |name: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root = ca_params("tiny_http test root")
            .self_signed(&root_key)
            .unwrap();
        let intermediate_key = KeyPair::generate().unwrap();
        let intermediate = ca_params("tiny_http test intermediate")
            .signed_by(&intermediate_key, &root, &root_key)
            .unwrap();
        let root_file = std::env::temp_dir().join(format!(
            "tiny-http-tls-test-root-{}.pem",
            std::process::id()
        ));
        std::fs::write(&root_file, root.pem()).unwrap();
        Pki {
            root_der: root.der().clone(),
            root_file,
            intermediate,
            intermediate_key,
        }
    })
}

impl Pki {
    /// A leaf certificate for `localhost` and 127.0.0.1 holding `key`, in PEM.
    fn leaf_pem(&self, key: &KeyPair) -> String {
        let mut p =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "localhost");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.signed_by(key, &self.intermediate, &self.intermediate_key)
            .unwrap()
            .pem()
    }

    /// The served chain (leaf, then intermediate) for `key`, with the key in `key_pem`.
    fn ssl_config(&self, key: &KeyPair, key_pem: String) -> SslConfig {
        SslConfig {
            certificate: format!("{}{}", self.leaf_pem(key), self.intermediate.pem()).into_bytes(),
            private_key: key_pem.into_bytes(),
        }
    }
}

/// The usual server identity: a fresh P-256 key in PKCS#8 form.
fn ssl_config() -> SslConfig {
    let key = KeyPair::generate().unwrap();
    let pem = key.serialize_pem();
    pki().ssl_config(&key, pem)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A minimal DER reader: (tag, contents, rest).
fn der(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, header) = match input[1] {
        n if n < 0x80 => (usize::from(n), 2),
        n => {
            let k = usize::from(n & 0x7f);
            let len = input[2..2 + k]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + k)
        }
    };
    (tag, &input[header..header + len], &input[header + len..])
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// PKCS#8 `PrivateKeyInfo` → (algorithm identifier contents, private key octets).
fn pkcs8_parts(pkcs8: &[u8]) -> (&[u8], &[u8]) {
    let (_, info, _) = der(pkcs8);
    let (_, _version, rest) = der(info);
    let (_, algorithm, rest) = der(rest);
    let (_, key, _) = der(rest);
    (algorithm, key)
}

/// A PKCS#8 key in version 1 form, as OpenSSL writes it: ring writes Ed25519 keys as
/// version 2 (RFC 5958, public key included), which OpenSSL 3.0 cannot read.
fn pkcs8_v1_pem(pkcs8: &[u8]) -> String {
    let (algorithm, key) = pkcs8_parts(pkcs8);
    let mut contents = der_encode(0x02, &[0]);
    contents.extend(der_encode(0x30, algorithm));
    contents.extend(der_encode(0x04, key));
    pem("PRIVATE KEY", &der_encode(0x30, &contents))
}

/// An RSA key in PKCS#1 form: the `RSAPrivateKey` inside the PKCS#8 wrapper.
fn rsa_pkcs1_pem(pkcs8: &[u8]) -> String {
    pem("RSA PRIVATE KEY", pkcs8_parts(pkcs8).1)
}

/// An EC key in SEC1 form, with the curve named in its `parameters` field as OpenSSL writes
/// it (ring's PKCS#8 leaves it out of the inner `ECPrivateKey`).
fn ec_sec1_pem(pkcs8: &[u8]) -> String {
    let (algorithm, key) = pkcs8_parts(pkcs8);
    let (_, _id_ec_public_key, curve_oid) = der(algorithm);
    let (_, ec, _) = der(key);
    let (_, _version, after_version) = der(ec);
    let (_, _private, after_private) = der(after_version);
    let mut contents = ec[..ec.len() - after_private.len()].to_vec();
    if after_private.first() != Some(&0xA0) {
        contents.extend(der_encode(0xA0, curve_oid));
    }
    contents.extend_from_slice(after_private);
    pem("EC PRIVATE KEY", &der_encode(0x30, &contents))
}

// ---------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------

/// Routes: `/upgrade` echoes through the upgraded stream, `/download/N` streams N pattern
/// bytes (chunked), anything else reads the body and describes the request.
fn handle(mut rq: Request) {
    let url = rq.url().to_string();
    if url == "/upgrade" {
        let mut stream = rq.upgrade("echo", Response::empty(101));
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&buf[..n]).is_err() || stream.flush().is_err() {
                        break;
                    }
                }
            }
        }
        return;
    }
    if let Some(n) = url.strip_prefix("/download/") {
        let n: u64 = n.parse().unwrap();
        let response = Response::new(200.into(), vec![], PatternReader::new(n), None, None);
        let _ = rq.respond(response);
        return;
    }
    let mut body = Vec::new();
    let read = rq.as_reader().read_to_end(&mut body);
    let sum = body.iter().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(*b))
    });
    let text = format!(
        "{} {} secure={} len={} sum={sum} body={}",
        rq.method(),
        url,
        rq.secure(),
        body.len(),
        match read {
            Ok(_) if body.len() <= 64 => String::from_utf8_lossy(&body).into_owned(),
            Ok(_) => "(long)".to_string(),
            Err(e) => format!("BODY ERROR: {e}"),
        }
    );
    let _ = rq.respond(Response::from_string(text));
}

fn body_sum(body: &[u8]) -> u32 {
    body.iter().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(*b))
    })
}

fn serve_tls(builder: ServerBuilder, ssl: SslConfig) -> TestServer {
    let server = builder.https("127.0.0.1:0", ssl).expect("HTTPS server");
    serve_on(Arc::new(server), 4, handle)
}

fn tls_server() -> TestServer {
    serve_tls(ServerBuilder::new(), ssl_config())
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A rustls client configuration trusting only the test root.
fn client_config(
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn default_client_config() -> Arc<ClientConfig> {
    client_config(rustls::DEFAULT_VERSIONS, &[b"http/1.1"])
}

/// Connects and completes the handshake (so its outcome can be inspected).
fn connect_with(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<Conn<TlsStream>> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(Conn::new(stream))
}

fn connect(addr: SocketAddr) -> Conn<TlsStream> {
    connect_with(addr, default_client_config()).expect("TLS handshake")
}

/// One GET on a fresh connection; returns the body.
fn get(addr: SocketAddr, path: &str) -> String {
    let mut c = connect(addr);
    c.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    let r = c.read_response().expect("response");
    assert_eq!(r.status(), 200, "{:?}", r.head);
    r.body_str().to_string()
}

/// A ClientHello as a real client sends it.
fn client_hello() -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(default_client_config(), name).unwrap();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    out
}

/// True while the server has neither closed nor written to `s`.
fn still_silent(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let r = (&*s).read(&mut [0u8; 1]);
    s.set_nonblocking(false).unwrap();
    matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Runs a command with `input` on stdin; `None` (with a note) when the program is absent.
fn run_tool(program: &str, args: &[&str], input: &[u8]) -> Option<(String, String)> {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // `.ci/run` lists the tools it installed: there a missing one fails the test.
            let required = std::env::var("TINY_HTTP_REQUIRE_TOOLS").unwrap_or_default();
            assert!(
                !required.split_whitespace().any(|tool| tool == program),
                "`{program}` is required here (TINY_HTTP_REQUIRE_TOOLS) but not installed"
            );
            eprintln!("NOTE: `{program}` is not installed; skipping this client");
            return None;
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{program} {args:?} did not finish in 30 s; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn root_file() -> &'static Path {
    &pki().root_file
}

// ---------------------------------------------------------------------------------------------
// Clients, versions, chain, ALPN
// ---------------------------------------------------------------------------------------------

#[test]
fn ureq_trusting_only_the_root_gets_answers() {
    let srv = tls_server();
    let agent = ureq::AgentBuilder::new()
        .tls_config(default_client_config())
        .timeout(IO_TIMEOUT)
        .build();
    let port = srv.addr().port();
    let body = agent
        .get(&format!("https://localhost:{port}/hello?x=1"))
        .call()
        .expect("GET over TLS")
        .into_string()
        .unwrap();
    assert!(
        body.starts_with("GET /hello?x=1 secure=true len=0"),
        "{body}"
    );
    let payload = vec![b'z'; 100_000];
    let body = agent
        .post(&format!("https://127.0.0.1:{port}/upload"))
        .send_bytes(&payload)
        .expect("POST over TLS")
        .into_string()
        .unwrap();
    assert!(
        body.starts_with(&format!(
            "POST /upload secure=true len=100000 sum={}",
            body_sum(&payload)
        )),
        "{body}"
    );
}

#[test]
fn tls12_and_tls13_each_negotiated_and_served() {
    let srv = tls_server();
    for (version, expected) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let mut c =
            connect_with(srv.addr(), client_config(&[version], &[b"http/1.1"])).expect("handshake");
        assert_eq!(c.stream.conn.protocol_version(), Some(expected));
        c.send("GET /v HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.body_str().starts_with("GET /v secure=true"),
            "{}",
            r.body_str()
        );
    }
}

#[test]
fn the_whole_chain_is_served_and_alpn_picks_http11() {
    let srv = tls_server();
    let c = connect_with(
        srv.addr(),
        client_config(rustls::DEFAULT_VERSIONS, &[b"h2", b"http/1.1"]),
    )
    .expect("handshake");
    let chain = c.stream.conn.peer_certificates().expect("certificates");
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    assert_ne!(chain[1], pki().root_der, "the root is not sent");
    assert_eq!(c.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn a_client_that_does_not_trust_the_root_fails_its_handshake() {
    let srv = tls_server();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    assert!(connect_with(srv.addr(), Arc::new(config)).is_err());
    // The server is unharmed.
    assert!(get(srv.addr(), "/after").starts_with("GET /after secure=true"));
}

#[test]
#[ignore = "needs chromium: cargo test --features ssl-rustls --test tls -- --ignored"]
fn headless_chromium_loads_pages_over_tls() {
    // A browser as the client: Chromium offers h2 first in ALPN, sends its own header set,
    // and keeps the connection alive between the two pages. Not installed by `.ci/run` (it is
    // large), so it only runs when asked for (`--ignored`), where Chromium is installed.
    // The certificate is not what is tested here (curl checks it above), so it is not verified.
    let srv = tls_server();
    let port = srv.addr().port();
    for path in ["/chromium-one", "/chromium-two?x=1"] {
        let url = format!("https://localhost:{port}{path}");
        let profile = std::env::temp_dir().join(format!("tiny-http-chromium-{port}"));
        let profile_arg = format!("--user-data-dir={}", profile.display());
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--ignore-certificate-errors",
            profile_arg.as_str(),
            "--dump-dom",
            url.as_str(),
        ];
        let Some((out, err)) = run_tool("chromium", &args, b"") else {
            return;
        };
        let _ = std::fs::remove_dir_all(&profile);
        let expected = format!("GET {path} secure=true");
        assert!(
            out.contains(&expected),
            "chromium did not show {expected:?}:\n{out}\n{err}"
        );
    }
    assert!(get(srv.addr(), "/after").starts_with("GET /after secure=true"));
}

#[test]
fn curl_with_cacert_over_tls12_and_tls13() {
    let srv = tls_server();
    let port = srv.addr().port();
    let url = format!("https://localhost:{port}/curl");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let cacert = root_file().to_str().unwrap();
    for (flags, version) in [
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1.2"),
        (&["--tlsv1.3"][..], "TLSv1.3"),
    ] {
        let mut args = vec!["-sS", "-v", "--cacert", cacert, "--resolve", &resolve];
        args.extend_from_slice(flags);
        args.push(&url);
        let Some((out, err)) = run_tool("curl", &args, b"") else {
            return;
        };
        assert!(out.starts_with("GET /curl secure=true"), "{out}\n{err}");
        assert!(
            err.contains(version),
            "curl -v should show {version}:\n{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.contains("ALPN") && l.contains("http/1.1")),
            "ALPN http/1.1 expected:\n{err}"
        );
    }
    // A 3 MiB upload: curl sends `Expect: 100-continue` for bodies this large.
    let file = std::env::temp_dir().join(format!("tiny-http-tls-upload-{port}"));
    let payload: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &payload).unwrap();
    let data = format!("@{}", file.display());
    let upload = format!("https://localhost:{port}/curl-upload");
    let args = [
        "-sS",
        "--cacert",
        cacert,
        "--resolve",
        &resolve,
        "--data-binary",
        &data,
        &upload,
    ];
    let result = run_tool("curl", &args, b"");
    let _ = std::fs::remove_file(&file);
    if let Some((out, err)) = result {
        let want = format!(
            "POST /curl-upload secure=true len={} sum={}",
            payload.len(),
            body_sum(&payload)
        );
        assert!(out.starts_with(&want), "{out}\n{err}");
    }
}

#[test]
fn openssl_s_client_over_tls12_and_tls13() {
    let srv = tls_server();
    let connect = srv.addr().to_string();
    let cafile = root_file().to_str().unwrap();
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let args = [
            "s_client",
            "-connect",
            &connect,
            "-servername",
            "localhost",
            "-CAfile",
            cafile,
            "-verify_return_error",
            "-alpn",
            "http/1.1",
            flag,
            "-ign_eof",
        ];
        let request = b"GET /s_client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let Some((out, err)) = run_tool("openssl", &args, request) else {
            return;
        };
        let all = format!("{out}\n{err}");
        assert!(out.contains("HTTP/1.1 200"), "{all}");
        assert!(out.contains("GET /s_client secure=true"), "{all}");
        assert!(out.contains(version), "{version} expected: {all}");
        assert!(out.contains("ALPN protocol: http/1.1"), "{all}");
        assert!(out.contains("Verify return code: 0 (ok)"), "{all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates and keys: every form, every bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn every_private_key_form_serves() {
    let ec = KeyPair::generate().unwrap();
    let rsa = KeyPair::from_pem(RSA_PKCS8).unwrap();
    let ed25519 = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let forms = [
        ("EC PKCS#8", &ec, ec.serialize_pem()),
        ("EC SEC1", &ec, ec_sec1_pem(&ec.serialize_der())),
        ("RSA PKCS#8", &rsa, RSA_PKCS8.to_string()),
        ("RSA PKCS#1", &rsa, rsa_pkcs1_pem(&rsa.serialize_der())),
        (
            "Ed25519 PKCS#8",
            &ed25519,
            pkcs8_v1_pem(&ed25519.serialize_der()),
        ),
    ];
    for (name, key, key_pem) in forms {
        let ssl = pki().ssl_config(key, key_pem);
        let server = Server::https("127.0.0.1:0", ssl)
            .unwrap_or_else(|e| panic!("{name}: server refused the key: {e}"));
        let srv = serve_on(Arc::new(server), 1, handle);
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            if name.starts_with("Ed25519") && std::ptr::eq(version, &rustls::version::TLS12) {
                // Ed25519 in TLS 1.2 is optional (RFC 8422); not every backend offers it.
                continue;
            }
            let mut c = connect_with(srv.addr(), client_config(&[version], &[]))
                .unwrap_or_else(|e| panic!("{name} {version:?}: handshake: {e}"));
            c.send("GET /key HTTP/1.1\r\nHost: localhost\r\n\r\n");
            let r = c.read_response().unwrap();
            assert!(r.body_str().starts_with("GET /key secure=true"), "{name}");
        }
    }
}

fn https_error(ssl: SslConfig) -> String {
    match Server::https("127.0.0.1:0", ssl) {
        Ok(_) => panic!("the server accepted a bad TLS configuration"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_certificates_and_keys_are_errors_that_say_which() {
    let key = KeyPair::generate().unwrap();
    let good = pki().ssl_config(&key, key.serialize_pem());
    let with = |certificate: &[u8], private_key: &[u8]| SslConfig {
        certificate: certificate.to_vec(),
        private_key: private_key.to_vec(),
    };

    // Certificates.
    for (case, cert) in [
        ("not PEM", &b"this is not a certificate"[..]),
        ("empty", b""),
        (
            "corrupt PEM body",
            b"-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n",
        ),
    ] {
        let e = https_error(with(cert, &good.private_key));
        eprintln!("bad certificate, {case}: {e}");
        assert!(e.contains("certificate"), "{case}: {e}");
    }

    // Keys.
    let other = KeyPair::generate().unwrap();
    let rsa = KeyPair::from_pem(RSA_PKCS8).unwrap();
    let cases: [(&str, Vec<u8>, &str); 7] = [
        ("certificate without a key", vec![], "private key"),
        ("garbage key", b"not a key at all".to_vec(), "private key"),
        (
            "a public key",
            key.public_key_pem().into_bytes(),
            "private key",
        ),
        (
            "key of another certificate",
            other.serialize_pem().into_bytes(),
            "does not match",
        ),
        (
            "RSA key for an EC certificate",
            RSA_PKCS8.as_bytes().to_vec(),
            "key",
        ),
        (
            "unsupported key type (DSA)",
            DSA_PKCS8.as_bytes().to_vec(),
            "key",
        ),
        (
            "encrypted key",
            ENCRYPTED_PKCS8.as_bytes().to_vec(),
            "private key",
        ),
    ];
    for (case, private_key, expected) in cases {
        let e = https_error(with(&good.certificate, &private_key));
        eprintln!("bad key, {case}: {e}");
        assert!(
            e.contains(expected),
            "{case}: {e:?} should mention {expected:?}"
        );
    }
    // An SEC1 key that is not the certificate's, in the other forms too.
    let e = https_error(with(
        &good.certificate,
        ec_sec1_pem(&other.serialize_der()).as_bytes(),
    ));
    assert!(e.contains("does not match"), "SEC1 mismatch: {e}");
    let rsa_ssl = pki().ssl_config(&rsa, rsa_pkcs1_pem(&rsa.serialize_der()));
    let e = https_error(with(&rsa_ssl.certificate, other.serialize_pem().as_bytes()));
    assert!(e.contains("key"), "EC key for an RSA certificate: {e}");

    // And the good configuration works.
    let srv = serve_tls(ServerBuilder::new(), good);
    assert!(get(srv.addr(), "/ok").starts_with("GET /ok secure=true"));
}

// ---------------------------------------------------------------------------------------------
// The HTTP/1.1 core over TLS
// ---------------------------------------------------------------------------------------------

#[test]
fn keep_alive_and_pipelining() {
    let srv = tls_server();
    let mut c = connect(srv.addr());
    for i in 0..3 {
        c.send(format!("GET /keep/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        let r = c.read_response().unwrap();
        assert!(r
            .body_str()
            .starts_with(&format!("GET /keep/{i} secure=true")));
    }
    let mut burst = String::new();
    for i in 0..8 {
        burst.push_str(&format!(
            "POST /pipe/{i} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nb{i:02}"
        ));
    }
    c.send(burst);
    for i in 0..8 {
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        let want = format!("POST /pipe/{i} secure=true len=3 sum={} body=b{i:02}", {
            body_sum(format!("b{i:02}").as_bytes())
        });
        assert_eq!(r.body_str(), want);
    }
}

#[test]
fn deep_pipelining_past_the_in_flight_cap() {
    // More requests in one write than the server keeps in flight (32 by default): parsing
    // pauses and resumes while the rest of the burst waits decrypted inside the TLS session,
    // where no readiness event announces it.
    let srv = tls_server();
    let mut c = connect(srv.addr());
    let burst: String = (0..150)
        .map(|i| format!("GET /deep/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        .collect();
    c.send(burst);
    for i in 0..150 {
        let r = c.read_response().unwrap();
        let want = format!("GET /deep/{i} secure=true");
        assert!(r.body_str().starts_with(&want), "{i}: {}", r.body_str());
    }
}

#[test]
fn chunked_and_100_continue_uploads() {
    let srv = tls_server();
    let mut c = connect(srv.addr());
    c.send(
        "POST /chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    let r = c.read_response().unwrap();
    let body = r.body_str();
    assert!(
        body.starts_with("POST /chunked secure=true len=11"),
        "{body}"
    );
    assert!(body.ends_with("body=hello world"), "{body}");

    c.send("POST /continue HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    let interim = c.read_head().unwrap();
    assert_eq!(interim.status, 100, "{interim:?}");
    c.send("after-100");
    let r = c.read_response().unwrap();
    assert!(
        r.body_str().contains("len=9") && r.body_str().ends_with("body=after-100"),
        "{}",
        r.body_str()
    );
}

#[test]
fn a_multi_mebibyte_download_streams_intact() {
    let srv = tls_server();
    let mut c = connect(srv.addr());
    let n = 6 * 1024 * 1024 + 17;
    c.send(format!(
        "GET /download/{n} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ));
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    let framing = head.framing(false);
    assert_eq!(check_pattern(c.body_reader(framing), 64 * 1024), Ok(n));
    // The connection is still usable afterwards.
    c.send("GET /next HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(c
        .read_response()
        .unwrap()
        .body_str()
        .starts_with("GET /next"));
}

#[test]
fn a_reader_that_pauses_gets_every_byte() {
    // The client reads nothing for a while, then in small pieces: the server's TLS writes
    // meet a full socket, and encrypted records wait (OpenSSL: the same write is retried;
    // rustls: records stay queued) until the client drains them.
    let srv = tls_server();
    let mut c = connect(srv.addr());
    let n = 8 * 1024 * 1024 + 3;
    c.send(format!(
        "GET /download/{n} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ));
    std::thread::sleep(Duration::from_millis(300));
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    let framing = head.framing(false);
    assert_eq!(check_pattern(c.body_reader(framing), 1000), Ok(n));
}

#[test]
fn upgrade_echoes_through_the_tls_stream() {
    let srv = tls_server();
    let mut c = connect(srv.addr());
    c.send(
        "GET /upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    );
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 101, "{head:?}");
    assert_eq!(head.header("upgrade"), Some("echo"));
    for msg in ["ping", "a longer message over wss-like framing", "x"] {
        c.send(msg);
        assert_eq!(c.read_exact_raw(msg.len()).unwrap(), msg.as_bytes());
    }
    let big = vec![b'w'; 200_000];
    c.send(&big);
    assert_eq!(c.read_exact_raw(big.len()).unwrap(), big);
}

#[test]
fn plain_http_to_the_tls_port_is_closed_and_others_are_served() {
    let srv = tls_server();
    let mut plain = srv.client();
    plain.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let reply = plain
        .read_to_close()
        .expect("the server closes the connection");
    // Nothing but a TLS alert (content type 21) or a 400 may come back.
    assert!(
        reply.is_empty() || reply[0] == 21 || reply.starts_with(b"HTTP/1.1 400"),
        "{reply:?}"
    );
    assert!(get(srv.addr(), "/still").starts_with("GET /still secure=true"));
}

// ---------------------------------------------------------------------------------------------
// Handshakes that stall
// ---------------------------------------------------------------------------------------------

#[test]
fn stalled_handshakes_neither_delay_others_nor_outlive_their_deadline() {
    const STALLED: usize = 100;
    const DEADLINE: Duration = Duration::from_secs(1);
    let srv = serve_tls(
        ServerBuilder::new().handshake_timeout(DEADLINE),
        ssl_config(),
    );
    let hello = client_hello();
    let opened = Instant::now();
    let stalled: Vec<TcpStream> = (0..STALLED)
        .map(|i| {
            let mut s = TcpStream::connect(srv.addr()).unwrap();
            match i % 3 {
                0 => {}                                               // nothing at all
                1 => s.write_all(&hello[..5]).unwrap(),               // a record header
                _ => s.write_all(&hello[..hello.len() / 2]).unwrap(), // half a ClientHello
            }
            s
        })
        .collect();

    // A normal client is answered promptly, again and again, while they stall.
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    while opened.elapsed() < DEADLINE / 2 || answered == 0 {
        let t = Instant::now();
        assert!(get(srv.addr(), "/prompt").starts_with("GET /prompt secure=true"));
        slowest = slowest.max(t.elapsed());
        answered += 1;
    }
    let checked_at = opened.elapsed();
    let silent = stalled.iter().filter(|s| still_silent(s)).count();
    eprintln!(
        "stalled handshakes: {answered} requests on fresh TLS connections answered while \
         {STALLED} handshakes stalled (slowest {slowest:?}); {silent} stalled still open at \
         {checked_at:?}"
    );
    assert!(
        slowest < Duration::from_millis(400),
        "slowest answer took {slowest:?}"
    );
    assert_eq!(
        silent, STALLED,
        "the stalled connections were still pending (checked at {checked_at:?})"
    );

    // Each stalled connection is closed by the server at its deadline, not before.
    let bound = DEADLINE + Duration::from_secs(4);
    let mut first = None;
    let mut last = Duration::ZERO;
    for mut s in stalled {
        let left = bound
            .saturating_sub(opened.elapsed())
            .max(Duration::from_millis(1));
        s.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {} // an alert is fine
                Err(e) if support::is_timeout(&e) => {
                    panic!(
                        "a stalled handshake was still open after {:?}",
                        opened.elapsed()
                    )
                }
                Err(_) => break, // reset
            }
        }
        let at = opened.elapsed();
        first.get_or_insert(at);
        last = last.max(at);
    }
    let first = first.unwrap();
    eprintln!("stalled handshakes: first closed after {first:?}, all closed by {last:?}");
    assert!(
        first >= DEADLINE - Duration::from_millis(100),
        "closed early: {first:?}"
    );
    assert!(last <= bound, "{last:?}");
    // And the server still serves.
    assert!(get(srv.addr(), "/after").starts_with("GET /after secure=true"));
}

// ---------------------------------------------------------------------------------------------
// Configurations built by the user
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "ssl-rustls")]
#[test]
fn a_prebuilt_rustls_config_with_alpn_is_served() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::PrivateKeyDer;

    let key = KeyPair::generate().unwrap();
    let ssl = pki().ssl_config(&key, key.serialize_pem());
    let certs = CertificateDer::pem_slice_iter(&ssl.certificate)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(&ssl.private_key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server = ServerBuilder::new()
        .rustls_config(Arc::new(config))
        .http("127.0.0.1:0")
        .unwrap();
    assert_prebuilt_config_is_served(server);
}

/// A server built from a prebuilt TLS configuration that advertises ALPN `http/1.1` is served
/// over TLS 1.3 and negotiates `http/1.1` with a client offering `h2` first.
fn assert_prebuilt_config_is_served(server: tiny_http::Server) {
    let srv = serve_on(Arc::new(server), 2, handle);
    let mut c = connect_with(
        srv.addr(),
        client_config(rustls::DEFAULT_VERSIONS, &[b"h2", b"http/1.1"]),
    )
    .unwrap();
    assert_eq!(c.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        c.stream.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    c.send("GET /prebuilt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.read_response().unwrap();
    assert!(
        r.body_str().starts_with("GET /prebuilt secure=true"),
        "{}",
        r.body_str()
    );
}

#[cfg(all(feature = "ssl-openssl", not(feature = "ssl-rustls")))]
#[test]
fn a_prebuilt_openssl_acceptor_is_served() {
    use openssl::pkey::PKey;
    use openssl::ssl::{SslAcceptor, SslMethod};
    use openssl::x509::X509;

    let key = KeyPair::generate().unwrap();
    let ssl = pki().ssl_config(&key, key.serialize_pem());
    let certs = X509::stack_from_pem(&ssl.certificate).unwrap();
    let mut builder = SslAcceptor::mozilla_modern_v5(SslMethod::tls_server()).unwrap();
    builder.set_certificate(&certs[0]).unwrap();
    builder.add_extra_chain_cert(certs[1].clone()).unwrap();
    builder
        .set_private_key(&PKey::private_key_from_pem(&ssl.private_key).unwrap())
        .unwrap();
    builder.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(b"\x08http/1.1", client)
            .ok_or(openssl::ssl::AlpnError::NOACK)
    });
    let server = ServerBuilder::new()
        .openssl_acceptor(Arc::new(builder.build()))
        .http("127.0.0.1:0")
        .unwrap();
    assert_prebuilt_config_is_served(server);
}
