//! The public surface of API.md compiles with its exact signatures, and behaves.

mod support;

use std::collections::HashSet;
use std::io::{self, Cursor, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{header, wait_until, Client, WAIT};
use tiny_http::{
    ConfigListenAddr, HTTPVersion, Header, HeaderField, IncomingRequests, ListenAddr, Listener,
    Method, ReadWrite, Request, Response, ResponseBox, Server, ServerConfig, SslConfig, StatusCode,
    TestRequest,
};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

// ---------------------------------------------------------------------------------------------
// Signatures, checked by the compiler
// ---------------------------------------------------------------------------------------------

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[allow(dead_code, deprecated, clippy::type_complexity)]
fn signatures() {
    assert_send_sync::<Server>();
    assert_send::<Request>();
    let _: fn(&'static str) -> Result<Server, BoxError> = Server::http::<&'static str>;
    let _: fn(ServerConfig) -> Result<Server, BoxError> = Server::new;
    let _: fn(TcpListener, Option<SslConfig>) -> Result<Server, BoxError> =
        Server::from_listener::<TcpListener>;
    let _: fn(Listener, Option<SslConfig>) -> Result<Server, BoxError> =
        Server::from_listener::<Listener>;
    #[cfg(unix)]
    let _: fn(&std::path::Path) -> Result<Server, BoxError> = Server::http_unix;
    let _: for<'a> fn(&'a Server) -> IncomingRequests<'a> = Server::incoming_requests;
    let _: fn(&Server) -> ListenAddr = Server::server_addr;
    let _: fn(&Server) -> usize = Server::num_connections;
    let _: fn(&Server) -> io::Result<Request> = Server::recv;
    let _: fn(&Server, Duration) -> io::Result<Option<Request>> = Server::recv_timeout;
    let _: fn(&Server) -> io::Result<Option<Request>> = Server::try_recv;
    let _: fn(&Server) = Server::unblock;

    let _: fn(&Request) -> bool = Request::secure;
    let _: fn(&Request) -> &Method = Request::method;
    let _: fn(&Request) -> &str = Request::url;
    let _: fn(&Request) -> &[Header] = Request::headers;
    let _: fn(&Request) -> &HTTPVersion = Request::http_version;
    let _: fn(&Request) -> Option<usize> = Request::body_length;
    let _: fn(&Request) -> Option<&SocketAddr> = Request::remote_addr;
    let _: fn(&mut Request) -> &mut dyn Read = Request::as_reader;
    let _: fn(Request) -> Box<dyn Write + Send + 'static> = Request::into_writer;
    let _: fn(Request, &str, Response<io::Empty>) -> Box<dyn ReadWrite + Send> =
        Request::upgrade::<io::Empty>;
    let _: fn(Request, Response<Cursor<Vec<u8>>>) -> Result<(), io::Error> =
        Request::respond::<Cursor<Vec<u8>>>;

    let _: fn(
        StatusCode,
        Vec<Header>,
        Cursor<Vec<u8>>,
        Option<usize>,
        Option<mpsc::Receiver<Header>>,
    ) -> Response<Cursor<Vec<u8>>> = Response::new;
    let _: fn(std::fs::File) -> Response<std::fs::File> = Response::from_file;
    let _: fn(Vec<u8>) -> Response<Cursor<Vec<u8>>> = Response::from_data::<Vec<u8>>;
    let _: fn(&'static str) -> Response<Cursor<Vec<u8>>> = Response::from_string::<&'static str>;
    let _: fn(u16) -> Response<io::Empty> = Response::empty::<u16>;
    let _: fn(StatusCode) -> Response<io::Empty> = Response::new_empty;
    let _: fn(Response<io::Empty>, Header) -> Response<io::Empty> = Response::with_header::<Header>;
    let _: fn(Response<io::Empty>, i32) -> Response<io::Empty> = Response::with_status_code::<i32>;
    let _: fn(Response<io::Empty>, io::Repeat, Option<usize>) -> Response<io::Repeat> =
        Response::with_data::<io::Repeat>;
    let _: fn(Response<io::Empty>, usize) -> Response<io::Empty> = Response::with_chunked_threshold;
    let _: fn(&mut Response<io::Empty>, Header) = Response::add_header::<Header>;
    let _: fn(&Response<io::Empty>) -> StatusCode = Response::status_code;
    let _: fn(&Response<io::Empty>) -> Option<usize> = Response::data_length;
    let _: fn(&Response<io::Empty>) -> &[Header] = Response::headers;
    let _: fn(&Response<io::Empty>) -> usize = Response::chunked_threshold;
    let _: fn(Response<io::Empty>) -> io::Empty = Response::into_reader;
    let _: fn(Response<io::Empty>) -> ResponseBox = Response::boxed;
    let _: fn(
        Response<io::Empty>,
        Vec<u8>,
        HTTPVersion,
        &'static [Header],
        bool,
        Option<&'static str>,
    ) -> io::Result<()> = Response::raw_print::<Vec<u8>>;

    let _: fn(&'static [u8], &'static [u8]) -> Result<Header, ()> =
        Header::from_bytes::<&'static [u8], &'static [u8]>;
    let _: fn(&'static [u8]) -> Result<HeaderField, ascii::FromAsciiError<&'static [u8]>> =
        HeaderField::from_bytes::<&'static [u8]>;
    let _: fn(&HeaderField) -> &ascii::AsciiStr = HeaderField::as_str;
    let _: fn(&HeaderField, &'static str) -> bool = HeaderField::equiv;
    let _: fn(&Method) -> &str = Method::as_str;
    let _: fn(&StatusCode) -> &'static str = StatusCode::default_reason_phrase;
    let _: fn(ListenAddr) -> Option<SocketAddr> = ListenAddr::to_ip;
    #[cfg(unix)]
    let _: fn(ListenAddr) -> Option<std::os::unix::net::SocketAddr> = ListenAddr::to_unix;
    let _: fn(&'static str) -> io::Result<ConfigListenAddr> =
        ConfigListenAddr::from_socket_addrs::<&'static str>;
    #[cfg(unix)]
    let _: fn(std::path::PathBuf) -> ConfigListenAddr =
        ConfigListenAddr::unix_from_path::<std::path::PathBuf>;

    // A `Response<R>` only needs `R: Read`: a non-`Send` reader is fine to respond with.
    let _: fn(Request, Response<NotSend>) -> Result<(), io::Error> = Request::respond::<NotSend>;
}

/// A reader that is not `Send`.
#[allow(dead_code)]
struct NotSend(std::rc::Rc<()>);

impl Read for NotSend {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

#[test]
fn crate_root_reexports_and_trait_impls() {
    fn debug_clone<T: std::fmt::Debug + Clone>() {}
    debug_clone::<ServerConfig>();
    debug_clone::<SslConfig>();
    debug_clone::<ConfigListenAddr>();
    debug_clone::<ListenAddr>();
    debug_clone::<Header>();
    debug_clone::<HeaderField>();
    debug_clone::<Method>();
    debug_clone::<HTTPVersion>();
    debug_clone::<StatusCode>();
    debug_clone::<Response<io::Empty>>();
    fn display<T: std::fmt::Display>() {}
    display::<ListenAddr>();
    display::<Header>();
    display::<HeaderField>();
    display::<Method>();
    display::<HTTPVersion>();
    fn from_str<T: std::str::FromStr>() {}
    from_str::<Header>();
    from_str::<HeaderField>();
    from_str::<Method>();
    fn readwrite<T: ReadWrite + ?Sized>() {}
    readwrite::<Cursor<Vec<u8>>>();
    readwrite::<std::net::TcpStream>();
    fn default<T: Default>() {}
    default::<TestRequest>();
    let _: Listener = TcpListener::bind("127.0.0.1:0").unwrap().into();
    let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let la: ListenAddr = addr.into();
    assert_eq!(la.to_string(), "127.0.0.1:80");
    assert_eq!(la.clone().to_ip(), Some(addr));
    #[cfg(unix)]
    assert!(la.to_unix().is_none());
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

fn one_request(server: &Server, path: &str) -> Client {
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    c
}

#[test]
fn server_constructors_and_server_addr() {
    let s = Server::http("127.0.0.1:0").unwrap();
    let addr = s.server_addr().to_ip().expect("an IP address");
    assert_ne!(addr.port(), 0, "port 0 must be resolved");
    assert_eq!(s.server_addr().to_string(), addr.to_string());

    let s2 = Server::new(ServerConfig {
        addr: ConfigListenAddr::from_socket_addrs("127.0.0.1:0").unwrap(),
        ssl: None,
    })
    .unwrap();
    assert_ne!(s2.server_addr().to_ip().unwrap().port(), 0);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let bound = listener.local_addr().unwrap();
    let s3 = Server::from_listener(listener, None).unwrap();
    assert_eq!(s3.server_addr().to_ip(), Some(bound));

    for server in [&s, &s2, &s3] {
        let mut c = one_request(server, "/ctor");
        let rq = server.recv_timeout(WAIT).unwrap().expect("a request");
        assert_eq!(rq.url(), "/ctor");
        rq.respond(Response::from_string("ok")).unwrap();
        assert_eq!(c.read_response().unwrap().body_str(), "ok");
    }
}

#[test]
fn http_fails_when_the_port_is_taken() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    assert!(Server::http(addr).is_err());
}

#[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
#[test]
fn tls_without_a_tls_feature_is_a_clear_error() {
    let config = SslConfig {
        certificate: b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        private_key: b"-----BEGIN PRIVATE KEY-----\n".to_vec(),
    };
    let err = Server::new(ServerConfig {
        addr: ConfigListenAddr::from_socket_addrs("127.0.0.1:0").unwrap(),
        ssl: Some(config.clone()),
    })
    .expect_err("TLS config must fail without a TLS feature");
    assert!(err.to_string().contains("ssl"), "{err}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = Server::from_listener(listener, Some(config))
        .expect_err("TLS config must fail without a TLS feature");
    assert!(err.to_string().contains("ssl"), "{err}");
}

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
#[test]
fn https_with_garbage_pem_is_an_error_not_a_panic() {
    let config = SslConfig {
        certificate: b"not a certificate".to_vec(),
        private_key: b"not a key".to_vec(),
    };
    assert!(Server::https("127.0.0.1:0", config.clone()).is_err());
    assert!(Server::new(ServerConfig {
        addr: ConfigListenAddr::from_socket_addrs("127.0.0.1:0").unwrap(),
        ssl: Some(config),
    })
    .is_err());
}

#[test]
fn recv_recv_timeout_and_try_recv() {
    let server = Server::http("127.0.0.1:0").unwrap();

    let t = Instant::now();
    assert!(server.try_recv().unwrap().is_none());
    assert!(t.elapsed() < Duration::from_millis(100), "try_recv blocked");

    let t = Instant::now();
    assert!(server
        .recv_timeout(Duration::from_millis(150))
        .unwrap()
        .is_none());
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(140),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "returned after {waited:?}");

    let mut c = one_request(&server, "/recv");
    // recv() itself, bounded: on a timeout, unblock() releases the waiting thread.
    let rq = thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        let server = &server;
        scope.spawn(move || tx.send(server.recv()).unwrap());
        rx.recv_timeout(WAIT).unwrap_or_else(|_| {
            server.unblock();
            panic!("recv() did not return a waiting request");
        })
    })
    .unwrap();
    assert_eq!(rq.url(), "/recv");
    rq.respond(Response::empty(204)).unwrap();
    assert_eq!(c.read_response().unwrap().status(), 204);

    c.send("GET /try HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut got = None;
    assert!(wait_until(WAIT, || {
        got = server.try_recv().unwrap();
        got.is_some()
    }));
    assert_eq!(got.unwrap().url(), "/try");
}

/// The kernel thread id of the calling thread, from /proc/thread-self.
#[cfg(target_os = "linux")]
fn own_tid() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// True when the thread is sleeping (blocked in the kernel).
#[cfg(target_os = "linux")]
fn is_blocked(tid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // Field 3, after the parenthesised name.
    stat.rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        == Some("S")
}

#[test]
#[cfg(target_os = "linux")]
fn unblock_wakes_exactly_one_receiver_per_call() {
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let (tid_tx, tid_rx) = mpsc::channel();
    let (woke_tx, woke_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for i in 0..3 {
        let server = server.clone();
        let tid_tx = tid_tx.clone();
        let woke_tx = woke_tx.clone();
        threads.push(thread::spawn(move || {
            tid_tx.send(own_tid()).unwrap();
            let r = server.recv();
            woke_tx.send((i, r.is_err())).unwrap();
        }));
    }
    let tids: Vec<String> = (0..3).map(|_| tid_rx.recv_timeout(WAIT).unwrap()).collect();
    // All three are asleep inside recv() (checked twice, a little apart).
    assert!(wait_until(WAIT, || tids.iter().all(|t| is_blocked(t)) && {
        thread::sleep(Duration::from_millis(20));
        tids.iter().all(|t| is_blocked(t))
    }));

    for round in 0..3 {
        server.unblock();
        let (_, was_err) = woke_rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("unblock #{round} woke nobody"));
        assert!(was_err, "an unblocked recv() returns Err");
        assert!(
            woke_rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "unblock #{round} woke more than one thread"
        );
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn incoming_requests_ends_after_unblock() {
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let (tx, rx) = mpsc::channel();
    let s = server.clone();
    let t = thread::spawn(move || {
        let mut n = 0;
        for rq in s.incoming_requests() {
            n += 1;
            let _ = rq.respond(Response::from_string("iter"));
            tx.send(n).unwrap();
        }
        n
    });
    let mut c = one_request(&server, "/it");
    assert_eq!(c.read_response().unwrap().body_str(), "iter");
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), 1);
    server.unblock();
    let deadline = Instant::now() + WAIT;
    while !t.is_finished() {
        assert!(Instant::now() < deadline, "incoming_requests() did not end");
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(t.join().unwrap(), 1);
}

#[test]
fn num_connections_counts_open_connections() {
    let server = Server::http("127.0.0.1:0").unwrap();
    assert_eq!(server.num_connections(), 0);
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = one_request(&server, &format!("/n{i}"));
        server
            .recv_timeout(WAIT)
            .unwrap()
            .expect("request")
            .respond(Response::empty(200))
            .unwrap();
        c.read_response().unwrap();
        clients.push(c);
    }
    assert!(
        wait_until(WAIT, || server.num_connections() == 3),
        "num_connections() = {}",
        server.num_connections()
    );
    clients.truncate(1);
    assert!(
        wait_until(WAIT, || server.num_connections() == 1),
        "num_connections() = {} after closing two",
        server.num_connections()
    );
    clients.clear();
    assert!(
        wait_until(WAIT, || server.num_connections() == 0),
        "num_connections() = {} after closing all",
        server.num_connections()
    );
}

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

#[test]
fn request_accessors_and_debug_format() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    let local = c.stream.local_addr().unwrap();
    c.send(
        "PATCH /x/y?z=1 HTTP/1.1\r\nHost: t\r\nX-Dup: 1\r\nx-dup: 2\r\nContent-Length: 2\r\n\r\nhi",
    );
    let mut rq = server.recv_timeout(WAIT).unwrap().expect("request");
    assert_eq!(
        format!("{rq:?}"),
        format!("Request(PATCH /x/y?z=1 from {local})")
    );
    assert_eq!(rq.method(), &Method::Patch);
    assert_eq!(rq.url(), "/x/y?z=1");
    assert_eq!(rq.http_version(), &HTTPVersion(1, 1));
    assert_eq!(rq.body_length(), Some(2));
    assert_eq!(rq.remote_addr(), Some(&local));
    assert!(!rq.secure());
    let names: Vec<String> = rq.headers().iter().map(|h| h.field.to_string()).collect();
    assert_eq!(names, ["Host", "X-Dup", "x-dup", "Content-Length"]);
    let dups: Vec<&str> = rq
        .headers()
        .iter()
        .filter(|h| h.field.equiv("x-dup"))
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(dups, ["1", "2"]);
    let mut body = String::new();
    rq.as_reader().read_to_string(&mut body).unwrap();
    assert_eq!(body, "hi");
    rq.respond(Response::from_string("done")).unwrap();
    assert_eq!(c.read_response().unwrap().body_str(), "done");
}

#[test]
fn respond_to_a_client_that_went_away_is_not_an_error() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let c = one_request(&server, "/gone");
    let rq = server.recv_timeout(WAIT).unwrap().expect("request");
    drop(c);
    // Big enough that the write hits the closed socket.
    let r = rq.respond(Response::from_data(vec![0u8; 4 * 1024 * 1024]));
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn test_request_builds_a_request_without_network() {
    let addr: SocketAddr = "10.1.2.3:4567".parse().unwrap();
    let mut rq: Request = TestRequest::new()
        .with_method(Method::Post)
        .with_path("/api/thing?id=7")
        .with_http_version(HTTPVersion(1, 0))
        .with_remote_addr(addr)
        .with_https()
        .with_header(header("X-Test: yes"))
        .with_body("payload")
        .into();
    assert_eq!(rq.method(), &Method::Post);
    assert_eq!(rq.url(), "/api/thing?id=7");
    assert_eq!(rq.http_version(), &HTTPVersion(1, 0));
    assert_eq!(rq.remote_addr(), Some(&addr));
    assert!(rq.secure());
    assert!(rq
        .headers()
        .iter()
        .any(|h| h.field.equiv("x-test") && h.value.as_str() == "yes"));
    let mut body = String::new();
    rq.as_reader().read_to_string(&mut body).unwrap();
    assert_eq!(body, "payload");
    assert_eq!(
        format!("{rq:?}"),
        "Request(POST /api/thing?id=7 from 10.1.2.3:4567)"
    );
    rq.respond(Response::from_string("fine")).unwrap();

    let plain: Request = TestRequest::default().into();
    assert_eq!(plain.method(), &Method::Get);
    assert!(!plain.secure());
    drop(plain); // unanswered: must not panic without a network
}

// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

fn read_all(r: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut r = r;
    r.read_to_end(&mut out).unwrap();
    out
}

#[test]
#[allow(deprecated)]
fn response_constructors_builders_and_getters() {
    let r = Response::from_string("hello");
    assert_eq!(r.status_code(), StatusCode(200));
    assert_eq!(r.data_length(), Some(5));
    assert_eq!(r.chunked_threshold(), 32768);
    let ct: Vec<String> = r
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Content-Type"))
        .map(|h| h.value.to_string())
        .collect();
    assert_eq!(ct, ["text/plain; charset=UTF-8"]);
    assert_eq!(read_all(r.into_reader()), b"hello");

    let r = Response::from_data(vec![1u8, 2, 3]);
    assert_eq!(r.data_length(), Some(3));
    assert_eq!(read_all(r.into_reader()), [1, 2, 3]);

    let r = Response::empty(204);
    assert_eq!(r.status_code(), 204);
    assert_eq!(r.data_length(), Some(0));
    let copy = r.clone();
    assert_eq!(copy.status_code(), StatusCode(204));
    assert_eq!(Response::new_empty(StatusCode(404)).status_code(), 404);

    let r = Response::empty(200)
        .with_status_code(StatusCode(201))
        .with_header(header("X-A: 1"))
        .with_data(Cursor::new(b"abc".to_vec()), Some(3))
        .with_chunked_threshold(10);
    assert_eq!(r.status_code(), 201);
    assert_eq!(r.chunked_threshold(), 10);
    assert_eq!(r.data_length(), Some(3));
    assert!(r.headers().iter().any(|h| h.field.equiv("x-a")));
    let boxed: ResponseBox = r.boxed();
    assert_eq!(read_all(boxed.into_reader()), b"abc");

    let mut r = Response::new(
        StatusCode(418),
        vec![header("X-B: 2")],
        Cursor::new(b"tea".to_vec()),
        Some(3),
        None,
    );
    r.add_header(header("X-C: 3"));
    assert_eq!(r.status_code(), 418);
    assert!(r.headers().iter().any(|h| h.field.equiv("x-b")));
    assert!(r.headers().iter().any(|h| h.field.equiv("x-c")));

    let dir = std::env::temp_dir().join(format!("tiny_http-api-{}.txt", std::process::id()));
    std::fs::write(&dir, b"file contents").unwrap();
    let r = Response::from_file(std::fs::File::open(&dir).unwrap());
    assert_eq!(r.data_length(), Some(13));
    assert!(!r.headers().iter().any(|h| h.field.equiv("content-type")));
    assert_eq!(read_all(r.into_reader()), b"file contents");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn response_header_rules() {
    let r = Response::from_string("x")
        .with_header(header("Content-Type: text/html"))
        .with_header(header("Content-Length: 1"))
        .with_header(header("Connection: close"))
        .with_header(header("Transfer-Encoding: chunked"))
        .with_header(header("Upgrade: h2c"))
        .with_header(header("Trailer: X"));
    let ct: Vec<&str> = r
        .headers()
        .iter()
        .filter(|h| h.field.equiv("content-type"))
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(
        ct,
        ["text/html"],
        "Content-Type set twice replaces the first"
    );
    for ignored in [
        "connection",
        "transfer-encoding",
        "upgrade",
        "trailer",
        "content-length",
    ] {
        assert!(
            !r.headers().iter().any(|h| h.field.equiv(ignored)),
            "{ignored} must not be stored: {:?}",
            r.headers()
        );
    }

    let r = Response::empty(200).with_header(header("Content-Length: 42"));
    assert_eq!(r.data_length(), Some(42));
}

#[test]
fn raw_print_writes_a_response() {
    let mut out = Vec::new();
    Response::from_string("hi")
        .with_header(header("X-Y: z"))
        .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhi"), "{text}");
    let head = support::Head::parse(&text.as_bytes()[..text.len() - 2]).unwrap();
    assert_eq!(head.header("content-length"), Some("2"));
    assert_eq!(head.header("x-y"), Some("z"));

    let mut out = Vec::new();
    Response::from_string("hidden")
        .raw_print(&mut out, HTTPVersion(1, 1), &[], true, None)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Value types
// ---------------------------------------------------------------------------------------------

#[test]
fn header_and_header_field() {
    let h: Header = "Content-Type:  text/plain  ".parse().unwrap();
    assert!(h.field.equiv("content-type"));
    assert_eq!(h.value.as_str(), "text/plain");
    assert_eq!(h.to_string(), "Content-Type: text/plain");
    let h: Header = "X-Time: 12:30".parse().unwrap();
    assert_eq!(h.value.as_str(), "12:30", "split at the first colon");
    assert!("Bad Name: x".parse::<Header>().is_err());
    assert!("no colon".parse::<Header>().is_err());

    let h = Header::from_bytes(&b"X-Custom"[..], &b"value"[..]).unwrap();
    assert_eq!(h.to_string(), "X-Custom: value");
    let h = Header::from_bytes("X-Str", "v").unwrap();
    assert_eq!(h.field.as_str().as_str(), "X-Str");
    let h = Header::from_bytes(b"X-Vec".to_vec(), b"w".to_vec()).unwrap();
    assert_eq!(h.value.as_str(), "w");
    assert!(Header::from_bytes(&b"X-Bad"[..], &[0xffu8][..]).is_err());

    let f = HeaderField::from_bytes(&b"Accept-Encoding"[..]).unwrap();
    let g: HeaderField = "accept-encoding".parse().unwrap();
    assert_eq!(f, g, "case-insensitive equality");
    assert_ne!(f, "accept".parse::<HeaderField>().unwrap());
    assert!(f.equiv("ACCEPT-ENCODING"));
    assert_eq!(f.as_str().as_str(), "Accept-Encoding");
    assert_eq!(f.to_string(), "Accept-Encoding");
    assert!(HeaderField::from_bytes(vec![0xc3u8, 0xa9]).is_err());
}

#[test]
fn method() {
    let cases = [
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("DELETE", Method::Delete),
        ("CONNECT", Method::Connect),
        ("OPTIONS", Method::Options),
        ("TRACE", Method::Trace),
        ("PATCH", Method::Patch),
    ];
    for (text, m) in cases.iter() {
        assert_eq!(&text.parse::<Method>().unwrap(), m);
        assert_eq!(m.as_str(), *text);
        assert_eq!(m.to_string(), *text);
    }
    let custom: Method = "PURGE".parse().unwrap();
    assert_eq!(
        custom,
        Method::NonStandard(ascii::AsciiString::from_ascii("PURGE").unwrap())
    );
    assert_eq!(custom.as_str(), "PURGE");
    let set: HashSet<Method> = [Method::Get, Method::Get, Method::Post]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn http_version() {
    let v = HTTPVersion(1, 1);
    assert_eq!(v.to_string(), "1.1");
    assert_eq!(HTTPVersion(1, 0).to_string(), "1.0");
    assert_eq!(HTTPVersion::from((1, 0)), HTTPVersion(1, 0));
    assert!(HTTPVersion(1, 0) < HTTPVersion(1, 1));
    assert!(HTTPVersion(1, 1) > HTTPVersion(1, 0));
    assert!(v == (1, 1));
    assert!(v != (1, 0));
    assert!(HTTPVersion(1, 0) < (1, 1));
    assert!(HTTPVersion(2, 0) >= (1, 1));
}

#[test]
fn status_code() {
    assert_eq!(StatusCode(200).default_reason_phrase(), "OK");
    assert_eq!(StatusCode(404).default_reason_phrase(), "Not Found");
    assert_eq!(
        StatusCode(101).default_reason_phrase(),
        "Switching Protocols"
    );
    assert_eq!(
        StatusCode(500).default_reason_phrase(),
        "Internal Server Error"
    );
    assert_eq!(StatusCode::from(100i8), StatusCode(100));
    assert_eq!(StatusCode::from(99u8), StatusCode(99));
    assert_eq!(StatusCode::from(404i16), StatusCode(404));
    assert_eq!(StatusCode::from(404u16), StatusCode(404));
    assert_eq!(StatusCode::from(404i32), StatusCode(404));
    assert_eq!(StatusCode::from(404u32), StatusCode(404));
    let s = StatusCode(301);
    let copy = s;
    assert_eq!(s, copy);
    assert_eq!(*s.as_ref(), 301u16);
    assert!(s == 301);
    assert!(301 == s);
    assert!(s < 400);
    assert!(400 > s);
    assert!(StatusCode(200) < StatusCode(201));
}
