//! Many clients at once, each with several requests on one connection, some pipelined, served
//! by a few handler threads: every response must match its own request.

mod support;

use std::sync::mpsc;
use std::thread;

use support::{serve, Client, WAIT};
use tiny_http::{Request, Response};

const CLIENTS: usize = 24;
const ROUNDS: usize = 20;

fn handler(mut rq: Request) {
    let mut body = Vec::new();
    rq.as_reader().read_to_end(&mut body).unwrap();
    // Sizes on both sides of the chunked threshold.
    let reply = format!("{}:{}:", rq.url(), body.len()).into_bytes();
    let mut data = reply.repeat(1 + body.len() / 16);
    data.truncate(body.len().max(reply.len()));
    let _ = rq.respond(Response::from_data(data));
}

fn expected(url: &str, len: usize) -> Vec<u8> {
    let reply = format!("{url}:{len}:").into_bytes();
    let mut data = reply.repeat(1 + len / 16);
    data.truncate(len.max(reply.len()));
    data
}

#[test]
fn many_clients_many_requests_each() {
    let srv = serve(4, handler);
    let addr = srv.addr();
    let (tx, rx) = mpsc::channel();
    for client in 0..CLIENTS {
        let tx = tx.clone();
        thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                let mut c = Client::connect(addr);
                let mut round = 0;
                while round < ROUNDS {
                    // Every third round pipelines three requests in one write.
                    let batch = if round % 3 == 0 {
                        3.min(ROUNDS - round)
                    } else {
                        1
                    };
                    let mut bytes = Vec::new();
                    let mut wanted = Vec::new();
                    for k in 0..batch {
                        let len = (client * 7919 + (round + k) * 104_729) % 40_000;
                        let url = format!("/c{client}/r{}", round + k);
                        bytes.extend_from_slice(
                            format!(
                                "POST {url} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n"
                            )
                            .as_bytes(),
                        );
                        bytes.extend(std::iter::repeat(b'b').take(len));
                        wanted.push(expected(&url, len));
                    }
                    c.send(&bytes);
                    for want in wanted {
                        let r = c.read_response().unwrap();
                        assert_eq!(r.status(), 200);
                        assert!(r.body == want, "client {client} round {round}: wrong body");
                    }
                    round += batch;
                }
            });
            tx.send(result.is_ok()).unwrap();
        });
    }
    for _ in 0..CLIENTS {
        assert!(
            rx.recv_timeout(WAIT * 3).expect("client finished"),
            "a client failed"
        );
    }
}

#[test]
fn a_slow_handler_does_not_hold_up_requests_on_other_connections() {
    // Two workers. The first request's handler takes 3 s; meanwhile a request on another
    // connection must be answered by the other worker, not wait for the slow one (the worker
    // that ran the event loop went off to the slow handler without waking the other).
    let (slow_started, started) = std::sync::mpsc::channel();
    let slow_started = std::sync::Mutex::new(slow_started);
    let srv = support::serve(2, move |rq| {
        if rq.url() == "/slow" {
            let _ = slow_started.lock().unwrap().send(());
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        let url = rq.url().to_string();
        let _ = rq.respond(tiny_http::Response::from_string(url));
    });
    let mut slow = srv.client();
    slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    started
        .recv_timeout(support::WAIT)
        .expect("slow handler started");
    let t0 = std::time::Instant::now();
    let mut fast = srv.client();
    for i in 0..5 {
        fast.send(format!("GET /fast{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(
            fast.read_response().unwrap().body_str(),
            format!("/fast{i}")
        );
    }
    let took = t0.elapsed();
    assert!(
        took < std::time::Duration::from_millis(1500),
        "fast requests waited {took:?} behind the slow handler"
    );
    assert_eq!(slow.read_response().unwrap().body_str(), "/slow");
}
