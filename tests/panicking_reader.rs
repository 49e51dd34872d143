//! A response body reader that panics inside `respond` (the handler catches the panic) must
//! not leave its connection stuck: the client gets a 500 (nothing written yet) or a close (part
//! written), the connection is released, and the server goes on serving.

mod support;

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use support::{serve, wait_until, WAIT};
use tiny_http::{Response, StatusCode};

struct Boom;

impl Read for Boom {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("the body reader failed");
    }
}

fn check(known_length: Option<usize>) {
    let srv = serve(1, move |rq| {
        if rq.url() == "/boom" {
            let response = Response::new(StatusCode(200), vec![], Boom, known_length, None);
            let outcome = catch_unwind(AssertUnwindSafe(|| rq.respond(response)));
            assert!(outcome.is_err(), "the reader's panic reaches the handler");
        } else {
            let _ = rq.respond(Response::from_string("ok"));
        }
    });
    let mut c = srv.client();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A request pipelined behind the failing one: it must not wait forever either.
    c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    match known_length {
        // Rendered in memory: nothing was written, so the client gets a 500, then the close.
        Some(_) => {
            let r = c.read_response().expect("a 500 instead of silence");
            assert_eq!(r.status(), 500);
            c.expect_closed();
        }
        // Streamed: the head may be out already; the connection closes.
        None => {
            let rest = c
                .read_to_close()
                .expect("the connection closes instead of hanging");
            assert!(
                !String::from_utf8_lossy(&rest).contains("ok"),
                "nothing after the failure"
            );
        }
    }
    assert!(
        wait_until(WAIT, || srv.server.num_connections() == 0),
        "the connection is released"
    );
    let mut fresh = srv.client();
    fresh.send("GET /fresh HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(fresh.read_response().unwrap().body_str(), "ok");
}

#[test]
fn a_panicking_reader_of_a_small_response_gives_500_and_releases_the_connection() {
    check(Some(10));
}

#[test]
fn a_panicking_reader_of_a_streamed_response_closes_and_releases_the_connection() {
    check(None);
}
