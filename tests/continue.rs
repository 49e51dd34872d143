//! `Expect: 100-continue`: the interim response is sent only when the handler reads the body;
//! other expectations get `417`.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{serve, Client, WAIT};
use tiny_http::{Response, Server};

#[test]
fn continue_is_sent_when_the_handler_reads_the_body() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let mut c = Client::connect(addr);
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");

    let mut rq = server
        .recv_timeout(WAIT)
        .unwrap()
        .expect("request handed out before its body arrived");
    // The handler has not read yet: no interim response may have been sent.
    assert!(
        !c.anything_within(Duration::from_millis(300)),
        "got bytes before the handler read the body: {:?}",
        String::from_utf8_lossy(c.buffered())
    );

    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut body = String::new();
        rq.as_reader().read_to_string(&mut body).unwrap();
        tx.send(body.clone()).unwrap();
        rq.respond(Response::from_string(format!("got {body}")))
            .unwrap();
    });

    let interim = c.read_head().unwrap();
    assert_eq!(interim.status, 100, "{:?}", interim);
    assert!(interim.header("content-length").is_none(), "{interim:?}");
    c.send("hello");
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), "hello");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_str(), "got hello");
    reader.join().unwrap();
}

#[test]
fn no_continue_when_the_handler_answers_without_reading() {
    let srv = serve(2, |rq| {
        let _ = rq.respond(Response::from_string("no thanks").with_status_code(403));
    });
    let mut c = srv.client();
    c.send(
        "PUT /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n",
    );
    let r = c.read_response().unwrap();
    assert_eq!(
        r.status(),
        403,
        "first response must be final: {:?}",
        r.head
    );
    assert_eq!(r.body_str(), "no thanks");
}

#[test]
fn other_expectations_get_417() {
    let srv = serve(2, support::echo);
    let mut c = srv.client();
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\nabc");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 417, "{:?}", r.head);
}

#[test]
fn no_continue_to_an_http10_client() {
    // RFC 9110 §10.1.1: a server must not send 100 Continue to an HTTP/1.0 client.
    let srv = serve(2, support::echo);
    let mut c = srv.client();
    c.send("POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.head);
    assert!(r.body_str().ends_with("] abc"), "{}", r.body_str());
}

#[test]
fn two_continues_waiting_behind_a_slow_response_both_go_out_in_order() {
    // Request 0 is slow to answer. Requests 1 and 2 expect 100-continue; the client sends each
    // body without waiting (as clients do after a short timeout), and the thread that holds
    // request 0 takes 1 and 2 as well and reads their bodies first (one connection's requests
    // go to the thread holding its earlier one). Both interim responses must wait behind
    // response 0, and both must then go out, each right before its own final response.
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send(
        "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n\
         POST /one HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc\
         POST /two HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nxyz",
    );
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (read_tx, read_rx) = mpsc::channel::<String>();
    let handler = {
        let server = server.clone();
        thread::spawn(move || {
            let take = |what: &str| {
                server
                    .recv_timeout(WAIT)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what} not handed out"))
            };
            let slow = take("request 0");
            let mut later = Vec::new();
            for what in ["request 1", "request 2"] {
                // Request 2 is parsed once request 1's body has been read.
                let mut rq = take(what);
                let mut body = String::new();
                rq.as_reader().read_to_string(&mut body).unwrap();
                read_tx.send(body).unwrap();
                later.push(rq);
            }
            release_rx.recv_timeout(WAIT).expect("release");
            let url = slow.url().to_string();
            slow.respond(Response::from_string(url)).unwrap();
            for rq in later {
                let url = rq.url().to_string();
                rq.respond(Response::from_string(url)).unwrap();
            }
        })
    };
    let bodies = vec![
        read_rx.recv_timeout(WAIT).unwrap(),
        read_rx.recv_timeout(WAIT).unwrap(),
    ];
    assert_eq!(bodies, ["abc", "xyz"]);
    // Nothing may have reached the client yet: no 100 before response 0.
    assert!(
        !c.anything_within(Duration::from_millis(100)),
        "an interim response went out before the final response ahead of it"
    );
    release_tx.send(()).unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = c.read_response_to(false).unwrap();
        seen.push(if r.status() == 100 {
            "100".to_string()
        } else {
            r.body_str().to_string()
        });
    }
    assert_eq!(seen, ["/slow", "100", "/one", "100", "/two"]);
    handler.join().unwrap();
}
