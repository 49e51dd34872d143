//! `Request::upgrade` hands over the raw stream, including bytes the server already read past
//! the head; `Request::into_writer` gives raw access to the response stream.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;

use support::{serve, WAIT};
use tiny_http::{Request, Response};

#[test]
fn upgrade_hands_over_read_ahead_bytes_and_echoes_both_ways() {
    let (tx, rx) = mpsc::channel();
    let srv = serve(2, move |rq: Request| {
        let mut stream = rq.upgrade("echo", Response::empty(101));
        let mut early = [0u8; 11];
        stream.read_exact(&mut early).unwrap();
        tx.send(early.to_vec()).unwrap();
        stream.write_all(b"got:").unwrap();
        stream.write_all(&early).unwrap();
        stream.flush().unwrap();
        // Echo until the client shuts its side.
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    stream.write_all(&buf[..n]).unwrap();
                    stream.flush().unwrap();
                }
            }
        }
        tx.send(b"closed".to_vec()).unwrap();
    });

    let mut c = srv.client();
    c.send(
        "GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nEARLY-BYTES",
    );
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 101, "{head:?}");
    assert!(head.has_token("connection", "upgrade"), "{head:?}");
    assert_eq!(head.header("upgrade"), Some("echo"));
    assert_eq!(head.header("transfer-encoding"), None);

    assert_eq!(rx.recv_timeout(WAIT).unwrap(), b"EARLY-BYTES");
    assert_eq!(c.read_exact_raw(15).unwrap(), b"got:EARLY-BYTES");

    for msg in ["ping", "a longer message with spaces", "x"] {
        c.send(msg);
        assert_eq!(c.read_exact_raw(msg.len()).unwrap(), msg.as_bytes());
    }
    c.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), b"closed");
}

#[test]
fn into_writer_sends_raw_bytes() {
    let srv = serve(2, |rq: Request| {
        let mut w = rq.into_writer();
        w.write_all(b"HTTP/1.1 299 Raw\r\nX-Raw: yes\r\nContent-Length: 7\r\n\r\n")
            .unwrap();
        w.write_all(b"raw!raw").unwrap();
        w.flush().unwrap();
    });
    let mut c = srv.client();
    c.send("GET /cgi HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 299);
    assert_eq!(r.head.reason, "Raw");
    assert_eq!(r.header("x-raw"), Some("yes"));
    // Nothing was added by the library.
    assert_eq!(r.header("date"), None);
    assert_eq!(r.body_str(), "raw!raw");
}

#[test]
fn a_large_read_ahead_is_handed_over_whole() {
    const N: usize = 1024 * 1024;
    let (tx, rx) = mpsc::channel();
    let srv = serve(1, move |rq: Request| {
        let mut stream = rq.upgrade("bulk", Response::empty(101));
        let mut got = vec![0u8; N];
        let r = stream.read_exact(&mut got);
        let ok = r.is_ok() && got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8);
        let _ = stream.write_all(if ok { b"OK" } else { b"KO" });
        let _ = stream.flush();
        tx.send(ok).unwrap();
    });
    let mut c = srv.client();
    let mut bytes =
        b"POST /bulk HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: bulk\r\n\r\n".to_vec();
    bytes.extend((0..N).map(|i| (i % 251) as u8));
    c.send(&bytes);
    assert_eq!(c.read_head().unwrap().status, 101);
    assert!(
        rx.recv_timeout(WAIT).unwrap(),
        "upgraded stream lost or reordered bytes"
    );
    assert_eq!(c.read_exact_raw(2).unwrap(), b"OK");
}
