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
