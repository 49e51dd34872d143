//! Dropping the `Server` stops accepting, but requests already handed out still get their
//! responses delivered in full.

mod support;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use support::{wait_until, Client, IO_TIMEOUT, WAIT};
use tiny_http::{Response, Server};

#[test]
fn held_request_is_answered_after_the_server_drops() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let mut small = Client::connect(addr);
    let mut large = Client::connect(addr);
    small.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let rq_small = server.recv_timeout(WAIT).unwrap().expect("first request");
    large.send("GET /large HTTP/1.1\r\nHost: t\r\n\r\n");
    let rq_large = server.recv_timeout(WAIT).unwrap().expect("second request");
    assert_eq!(rq_small.url(), "/small");
    assert_eq!(rq_large.url(), "/large");

    drop(server);

    rq_small
        .respond(Response::from_string("still answered"))
        .unwrap();
    let r = small.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_str(), "still answered");

    // Larger than any socket buffer: the handler must keep writing after the drop.
    let big = vec![b'L'; 8 * 1024 * 1024];
    let expected = big.clone();
    let writer = thread::spawn(move || rq_large.respond(Response::from_data(big)));
    let r = large.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.body == expected,
        "large body truncated: {} bytes",
        r.body.len()
    );
    writer.join().unwrap().unwrap();
}

/// True when `addr` refuses the connection, or accepts and closes it without a response.
fn refused_or_closed(addr: std::net::SocketAddr) -> bool {
    let mut s = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Err(_) => return true,
        Ok(s) => s,
    };
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    if s.write_all(b"GET /late HTTP/1.1\r\nHost: t\r\n\r\n")
        .is_err()
    {
        return true;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!(
            "a connection made after the drop got a response: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if support::is_timeout(&e) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        ),
    }
}

#[test]
fn new_connections_are_refused_after_drop() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    // The server works before the drop.
    let mut c = Client::connect(addr);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    server
        .recv_timeout(WAIT)
        .unwrap()
        .expect("request")
        .respond(Response::empty(204))
        .unwrap();
    assert_eq!(c.read_response().unwrap().status(), 204);

    drop(server);
    assert!(
        wait_until(IO_TIMEOUT, || refused_or_closed(addr)),
        "still accepting on {addr} after the Server was dropped"
    );
}

#[test]
fn idle_keep_alive_connection_is_closed_after_drop() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    server
        .recv_timeout(WAIT)
        .unwrap()
        .expect("request")
        .respond(Response::from_string("one"))
        .unwrap();
    assert_eq!(c.read_response().unwrap().body_str(), "one");
    drop(server);
    // Nothing can hand this connection's next request to anyone: it must not hang open.
    c.expect_closed();
}

#[test]
fn a_queued_request_nobody_received_gets_503_after_the_held_one_is_answered() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    // One write: both requests are parsed in the same pass; the first is received and held,
    // the second stays queued when the server drops.
    c.send("GET /held HTTP/1.1\r\nHost: t\r\n\r\nGET /queued HTTP/1.1\r\nHost: t\r\n\r\n");
    let held = server.recv_timeout(WAIT).unwrap().expect("first request");
    assert_eq!(held.url(), "/held");
    drop(server);
    held.respond(Response::from_string("held")).unwrap();
    let first = c.read_response().unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.body_str(), "held");
    let second = c.read_response().unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.header("Connection"), Some("close"));
    c.expect_closed();
}
