//! HTTP/1.1 semantics over a real socket: persistence, request body framing, response
//! framing, automatic headers, errors, and requests split at every byte boundary.

mod support;

use std::io::Cursor;
use std::time::Duration;

use support::{echo, header, serve, Framing};
use tiny_http::{Request, Response};

/// Answers by path, for the response-framing tests.
fn framing_handler(rq: Request) {
    let url = rq.url().to_string();
    let path = url.split('?').next().unwrap_or("");
    let _ = match path {
        "/small" => rq.respond(Response::from_string("hello world")),
        "/big" => rq.respond(Response::from_data(vec![b'a'; 40_000])),
        "/low-threshold" => {
            rq.respond(Response::from_string("0123456789abcdef").with_chunked_threshold(4))
        }
        "/unknown" => rq.respond(Response::new(
            200.into(),
            vec![],
            Cursor::new(b"streamed without a length".to_vec()),
            None,
            None,
        )),
        "/204" => rq.respond(Response::from_string("must not be sent").with_status_code(204)),
        "/304" => rq.respond(Response::from_string("must not be sent").with_status_code(304)),
        "/user-framing" => rq.respond(
            Response::from_string("framed by the library")
                .with_header(header("Connection: close"))
                .with_header(header("Transfer-Encoding: gzip"))
                .with_header(header("Upgrade: h2c"))
                .with_header(header("Trailer: X-Foo")),
        ),
        "/user-server" => {
            rq.respond(Response::from_string("x").with_header(header("Server: custom-server/1")))
        }
        "/drop" => {
            drop(rq);
            Ok(())
        }
        _ => rq.respond(Response::from_string("other").with_status_code(404)),
    };
}

#[test]
fn http11_keeps_the_connection_alive() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    for i in 0..3 {
        c.send(format!("GET /k{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert!(!r.head.has_token("connection", "close"), "{:?}", r.head);
        assert!(
            r.body_str().starts_with(&format!("GET /k{i} 1.1 ")),
            "{}",
            r.body_str()
        );
    }
}

#[test]
fn connection_close_is_honoured() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send("GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.head.has_token("connection", "close"), "{:?}", r.head);
    c.expect_closed();
}

#[test]
fn http10_without_keep_alive_closes() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send("GET /old HTTP/1.0\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.body_str().starts_with("GET /old 1.0 "),
        "{}",
        r.body_str()
    );
    c.expect_closed();
}

#[test]
fn http10_with_keep_alive_stays_open() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    for i in 0..2 {
        c.send(format!(
            "GET /ka{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        ));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert!(matches!(r.framing, Framing::Length(_)), "{:?}", r.head);
        assert!(
            r.head.has_token("connection", "keep-alive"),
            "an HTTP/1.0 client needs `Connection: keep-alive` to reuse: {:?}",
            r.head
        );
        assert!(r.body_str().starts_with(&format!("GET /ka{i} 1.0 ")));
    }
}

#[test]
fn content_length_request_body() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send("POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.body_str().ends_with("] hello world"), "{}", r.body_str());
    // The connection is still in sync.
    c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert!(r.body_str().starts_with("GET /after "), "{}", r.body_str());
}

#[test]
fn body_length_is_reported() {
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = serve(1, move |rq: Request| {
        tx.send(rq.body_length()).unwrap();
        echo(rq);
    });
    let mut c = srv.client();
    c.send("POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    c.read_response().unwrap();
    assert_eq!(rx.recv_timeout(support::WAIT).unwrap(), Some(3));
}

#[test]
fn chunked_request_body_with_trailers() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send(
        "POST /ch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n6;name=value\r\n world\r\nB\r\n 0123456789\r\n0\r\n\
         X-Trailer: one\r\nX-Other: two\r\n\r\n",
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.body_str().ends_with("] hello world 0123456789"),
        "{}",
        r.body_str()
    );
    // Trailers were consumed: the next request parses cleanly.
    c.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.body_str().starts_with("GET /next "), "{}", r.body_str());
}

#[test]
fn head_keeps_content_length_without_body() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("HEAD /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response_to(true).unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.header("transfer-encoding"), None);
    // No body bytes follow: the next response starts right away.
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.body_str(), "hello world");
}

#[test]
fn head_of_a_big_response_has_no_body() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("HEAD /big HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response_to(true).unwrap();
    assert_eq!(r.status(), 200);
    let r = c.read_response().unwrap();
    assert_eq!(r.body_str(), "hello world");
}

#[test]
fn no_body_for_204_and_304() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    for path in ["/204", "/304"] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response().unwrap();
        assert_eq!(r.status().to_string(), path[1..]);
        assert_eq!(r.header("transfer-encoding"), None, "{:?}", r.head);
        if path == "/204" {
            // RFC 9110 §8.6: no Content-Length in a 204.
            assert_eq!(r.header("content-length"), None, "{:?}", r.head);
        }
    }
    // Nothing was written after those heads.
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.body_str(), "hello world");
}

#[test]
fn date_and_server_headers_are_added() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    let date = r.header("date").expect("Date header");
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    assert_eq!(date.len(), 29, "{date:?}");
    assert!(date.ends_with(" GMT"), "{date:?}");
    assert!(!r.header("server").expect("Server header").is_empty());
    assert_eq!(r.head.all("date").len(), 1);

    c.send("GET /user-server HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.head.all("server"), vec!["custom-server/1"]);
}

#[test]
fn user_framing_headers_are_ignored() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("GET /user-framing HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("transfer-encoding"), None, "{:?}", r.head);
    assert_eq!(r.header("upgrade"), None, "{:?}", r.head);
    assert_eq!(r.header("trailer"), None, "{:?}", r.head);
    assert!(!r.head.has_token("connection", "close"), "{:?}", r.head);
    assert_eq!(r.header("content-length"), Some("21"));
    assert_eq!(r.body_str(), "framed by the library");
    // The user's `Connection: close` did not close the connection.
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().body_str(), "hello world");
}

#[test]
fn chunked_response_above_threshold_and_for_unknown_length() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();

    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.framing, Framing::Length(11));

    c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.framing, Framing::Chunked, "{:?}", r.head);
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.body, vec![b'a'; 40_000]);

    c.send("GET /low-threshold HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.framing, Framing::Chunked, "{:?}", r.head);
    assert_eq!(r.body_str(), "0123456789abcdef");

    c.send("GET /unknown HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.framing, Framing::Chunked, "{:?}", r.head);
    assert_eq!(r.body_str(), "streamed without a length");

    // Still usable afterwards.
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().body_str(), "hello world");
}

#[test]
fn http10_unknown_length_is_close_delimited() {
    let srv = serve(2, framing_handler);
    for keep_alive in ["", "Connection: keep-alive\r\n"] {
        let mut c = srv.client();
        c.send(format!("GET /unknown HTTP/1.0\r\n{keep_alive}\r\n"));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.framing, Framing::Close, "{:?}", r.head);
        assert_eq!(r.header("transfer-encoding"), None);
        // Framing::Close read until EOF: the body is exactly the data, so the server closed.
        assert_eq!(r.body_str(), "streamed without a length");
    }
}

#[test]
fn http10_is_never_sent_chunked() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("GET /big HTTP/1.0\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.header("transfer-encoding"), None, "{:?}", r.head);
    assert_eq!(r.body, vec![b'a'; 40_000]);
}

#[test]
fn dropped_request_gets_an_empty_500() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("GET /drop HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.body.is_empty(), "{:?}", r.body_str());
}

#[test]
fn malformed_head_gets_400_and_close() {
    let srv = serve(2, echo);
    for bad in [
        "GET / HTTP/1.1\r\nHost: t\r\nThis is not a header\r\n\r\n".to_string(),
        "\x01\x02\x03 nonsense\r\n\r\n".to_string(),
        "GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n".to_string(),
    ] {
        let mut c = srv.client();
        c.send(&bad);
        let r = c.read_response().unwrap_or_else(|e| panic!("{bad:?}: {e}"));
        assert_eq!(r.status(), 400, "{bad:?}");
        c.expect_closed();
    }
    // The server still serves others.
    let mut c = srv.client();
    c.send("GET /fine HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().status(), 200);
}

#[test]
fn request_split_at_every_byte_boundary() {
    let srv = serve(2, echo);
    let requests: [&[u8]; 2] = [
        b"POST /split?x=1 HTTP/1.1\r\nHost: t\r\nX-A: b\r\nContent-Length: 5\r\n\r\nhello",
        b"PUT /chunky HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n2;e=f\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
    ];
    for request in requests {
        let mut whole = srv.client();
        whole.send(request);
        let expected = whole.read_response().unwrap();
        assert_eq!(expected.status(), 200);
        for at in 1..request.len() {
            let mut c = srv.client();
            c.send(&request[..at]);
            // Not needed for correctness: gives the server a chance to see part 1 alone.
            std::thread::sleep(Duration::from_millis(1));
            c.send(&request[at..]);
            let r = c
                .read_response()
                .unwrap_or_else(|e| panic!("split at {at}: {e}"));
            assert_eq!(r.status(), expected.status(), "split at {at}");
            assert_eq!(r.body, expected.body, "split at {at}");
            assert_eq!(r.framing, expected.framing, "split at {at}");
        }
    }
}

#[test]
fn request_body_reader_ends_exactly() {
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = serve(1, move |mut rq: Request| {
        let mut first = [0u8; 3];
        rq.as_reader().read_exact(&mut first).unwrap();
        let mut rest = Vec::new();
        rq.as_reader().read_to_end(&mut rest).unwrap();
        // EOF is sticky.
        let again = rq.as_reader().read(&mut [0u8; 8]).unwrap();
        tx.send((first.to_vec(), rest, again)).unwrap();
        let _ = rq.respond(Response::empty(200));
    });
    let mut c = srv.client();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabcdefGET / HTTP/1.1\r\n");
    assert_eq!(c.read_response().unwrap().status(), 200);
    let (first, rest, again) = rx.recv_timeout(support::WAIT).unwrap();
    assert_eq!(first, b"abc");
    assert_eq!(rest, b"def");
    assert_eq!(again, 0);
}

/// Answers without touching the body, except `/partial` which reads 2 bytes first.
fn unread_body_handler(mut rq: Request) {
    if rq.url() == "/partial" {
        let mut two = [0u8; 2];
        let _ = rq.as_reader().read_exact(&mut two);
    }
    let text = format!("answered {}", rq.url());
    let _ = rq.respond(Response::from_string(text));
}

#[test]
fn unread_request_body_does_not_desynchronise_the_connection() {
    let srv = serve(2, unread_body_handler);
    for first in [
        "POST /unread HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /",
        "POST /unread HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n",
        "POST /partial HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /",
    ] {
        let mut c = srv.client();
        c.send(format!("{first}GET /next HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200, "{first:?}");
        assert!(r.body_str().starts_with("answered /"), "{first:?}");
        // The server may skip the unread body or close; it must never parse the body as a
        // request.
        match c.read_response() {
            Ok(r) => assert_eq!(r.body_str(), "answered /next", "{first:?}"),
            Err(e) => assert_eq!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "{first:?}: {e}"
            ),
        }
    }
}

#[test]
fn client_vanishing_mid_body_is_a_read_error_not_a_hang() {
    // A body larger than the server reads ahead goes to the handler as it comes: the client
    // vanishing mid-body is a read error there.
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = serve(1, move |mut rq: Request| {
        let mut body = Vec::new();
        let r = rq.as_reader().read_to_end(&mut body);
        tx.send((r.map_err(|e| e.kind()), body.len())).unwrap();
    });
    let mut c = srv.client();
    c.send("POST /cut HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n0123456789");
    c.stream.shutdown(std::net::Shutdown::Both).unwrap();
    let (result, got) = rx
        .recv_timeout(support::WAIT)
        .expect("handler read returned");
    assert!(
        result.is_err(),
        "short body reported as complete ({got} bytes)"
    );
    assert!(got <= 10);
}

#[test]
fn client_vanishing_mid_small_body_never_reaches_a_handler() {
    // A small body is read by the server before the request is handed out: a client that
    // vanishes before sending it all leaves no request behind, and its connection closes.
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = serve(1, move |rq: Request| {
        tx.send(rq.url().to_string()).unwrap();
    });
    let mut c = srv.client();
    c.send("POST /cut HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789");
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    c.expect_closed();
    assert!(
        support::wait_until(support::WAIT, || srv.server.num_connections() == 0),
        "the connection is released"
    );
    let mut fresh = srv.client();
    fresh.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        rx.recv_timeout(support::WAIT).unwrap(),
        "/next",
        "only the complete request"
    );
}

#[test]
fn connection_count_drops_when_the_server_closes() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.read_response().unwrap();
    c.expect_closed();
    assert!(
        support::wait_until(support::WAIT, || srv.server.num_connections() == 0),
        "num_connections() = {}",
        srv.server.num_connections()
    );
}

#[test]
fn head_of_an_unknown_length_response_has_no_body_and_no_chunking() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    c.send("HEAD /unknown HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response_to(true).unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-length"), None, "{:?}", r.head);
    // API.md: no body and no Transfer-Encoding for HEAD.
    assert_eq!(r.header("transfer-encoding"), None, "{:?}", r.head);
    let r = c.read_response().unwrap();
    assert_eq!(r.body_str(), "hello world");
}

#[test]
fn recv_timeout_returns_a_request_that_arrives_during_the_wait() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let sender = std::thread::spawn(move || {
        // Pacing only: lets the receiver be waiting first (the test passes either way).
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut c = support::Client::connect(addr);
        c.send("GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
        c.read_response().unwrap().status()
    });
    let start = std::time::Instant::now();
    let rq = server
        .recv_timeout(support::WAIT)
        .unwrap()
        .expect("request within the timeout");
    assert_eq!(rq.url(), "/late");
    // Returned when the request came, not when the wait ran out.
    assert!(start.elapsed() < support::WAIT / 2, "{:?}", start.elapsed());
    rq.respond(Response::empty(202)).unwrap();
    assert_eq!(sender.join().unwrap(), 202);
}

#[test]
fn request_after_client_half_close_is_answered() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    c.send("GET /half HTTP/1.1\r\nHost: t\r\n\r\n");
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.body_str().starts_with("GET /half "), "{}", r.body_str());
    c.expect_closed();
}

#[test]
fn url_is_the_request_target_as_sent() {
    let srv = serve(2, echo);
    let mut c = srv.client();
    for (line, target) in [
        ("OPTIONS * HTTP/1.1", "*"),
        (
            "GET http://example.com/abs?x=%20 HTTP/1.1",
            "http://example.com/abs?x=%20",
        ),
        ("GET /a//b/../c?q HTTP/1.1", "/a//b/../c?q"),
    ] {
        c.send(format!("{line}\r\nHost: example.com\r\n\r\n"));
        let r = c.read_response().unwrap();
        let method = line.split(' ').next().unwrap();
        assert!(
            r.body_str().starts_with(&format!("{method} {target} 1.1 ")),
            "{}",
            r.body_str()
        );
    }
}

#[test]
fn date_header_is_refreshed() {
    let srv = serve(2, framing_handler);
    let mut c = srv.client();
    let date = |c: &mut support::Client| {
        c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.read_response().unwrap();
        r.header("date").expect("Date header").to_string()
    };
    let first = date(&mut c);
    // The cached value is refreshed once a second: it must change within a little over 1 s.
    let mut last = first.clone();
    assert!(
        support::wait_until(Duration::from_millis(2500), || {
            last = date(&mut c);
            last != first
        }),
        "Date stayed {first:?}"
    );
}

#[test]
fn answering_without_reading_a_slow_body_is_prompt_and_then_closes() {
    // The handler refuses the upload without reading it; only 3 of 1,000,000 body bytes ever
    // arrive. The answer must not wait for the body (the body deadline is a minute).
    let srv = serve(1, |rq| {
        let _ = rq.respond(Response::empty(413));
    });
    let mut c = srv.client();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nabc");
    let r = c
        .read_response()
        .expect("answered without waiting for the body");
    assert_eq!(r.status(), 413);
    assert_eq!(r.header("Connection"), Some("close"));
    c.expect_closed();
}

#[test]
fn answering_without_reading_a_body_that_already_arrived_keeps_the_connection() {
    let srv = serve(1, |rq| {
        let url = rq.url().to_string();
        let _ = rq.respond(Response::from_string(url));
    });
    let mut c = srv.client();
    c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.read_response().unwrap();
    assert_eq!(r.body_str(), "/a");
    assert_eq!(r.header("Connection"), None);
    c.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().body_str(), "/b");
}
