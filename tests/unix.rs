//! Serving over a unix domain socket.
#![cfg(unix)]

mod support;

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{wait_until, Conn, IO_TIMEOUT, WAIT};
use tiny_http::{ConfigListenAddr, ListenAddr, Response, Server, ServerConfig};

fn socket_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "tiny_http-test-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

fn client(path: &std::path::Path) -> Conn<UnixStream> {
    let s = UnixStream::connect(path).expect("connect unix socket");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    Conn::new(s)
}

/// Sends one request, answers it on this thread, checks the response.
fn round_trip(server: &Server, path: &std::path::Path) {
    let mut c = client(path);
    c.send("GET /over-unix HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let rq = server.recv_timeout(WAIT).unwrap().expect("request");
    assert_eq!(rq.url(), "/over-unix");
    assert!(rq.remote_addr().is_none());
    assert!(!rq.secure());
    rq.respond(Response::from_string("unix ok")).unwrap();
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_str(), "unix ok");
}

#[test]
fn http_unix_serves_and_removes_its_socket_file() {
    let path = socket_path();
    let server = Server::http_unix(&path).unwrap();
    match server.server_addr() {
        ListenAddr::Unix(a) => assert_eq!(a.as_pathname(), Some(path.as_path())),
        other => panic!("expected a unix address, got {other:?}"),
    }
    assert!(server.server_addr().to_ip().is_none());
    assert!(server.server_addr().to_unix().is_some());
    round_trip(&server, &path);
    assert!(path.exists());
    drop(server);
    assert!(
        wait_until(WAIT, || !path.exists()),
        "socket file {path:?} left behind"
    );
}

#[test]
fn server_new_with_a_unix_config() {
    let path = socket_path();
    let server = Server::new(ServerConfig {
        addr: ConfigListenAddr::unix_from_path(path.clone()),
        ssl: None,
    })
    .unwrap();
    round_trip(&server, &path);
    drop(server);
    assert!(wait_until(WAIT, || !path.exists()));
}

#[test]
fn from_listener_with_a_unix_listener() {
    let path = socket_path();
    let listener = UnixListener::bind(&path).unwrap();
    let server = Server::from_listener(listener, None).unwrap();
    round_trip(&server, &path);
    drop(server);
    let _ = std::fs::remove_file(&path);
}
