//! Handler threads may come and go: a thread that answers one request and exits (or
//! panics) leaves a server that still accepts, reads and writes, even when that thread was
//! the last to arm the listener or a connection for readiness.
//!
//! This matters on the portable path under Wine, which cancels a thread's pending poll
//! requests when it exits (see `transport::socket`, "Threads that exit"); everywhere else
//! it checks that the event loop does not depend on any one handler thread.

mod support;

use std::sync::Arc;
use std::thread;

use support::{Client, Pattern, WAIT};

/// Joins `worker` once it has finished: a thread that does not finish fails the test instead
/// of hanging it.
fn join_within<T>(worker: thread::JoinHandle<T>, what: &str) -> thread::Result<T> {
    assert!(
        support::wait_until(WAIT, || worker.is_finished()),
        "{what} did not finish"
    );
    worker.join()
}
use tiny_http::{Request, Response, Server};

/// One request, answered on a thread of its own that exits afterwards, `panic` it
/// instead of answering (the library answers 500).
fn one_shot(server: &Arc<Server>, panic: bool) -> thread::JoinHandle<()> {
    let server = Arc::clone(server);
    thread::spawn(move || {
        let mut rq: Request = server.recv().expect("a request");
        let mut body = Vec::new();
        let _ = rq.as_reader().read_to_end(&mut body);
        if panic {
            panic!("handler panics on purpose (test)");
        }
        let text = format!("{} {}", rq.url(), body.len());
        rq.respond(Response::from_string(text)).expect("respond");
    })
}

fn quiet_intended_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<&str>().copied();
        if !message.is_some_and(|m| m.contains("on purpose")) {
            default(info);
        }
    }));
}

#[test]
fn threads_that_answer_once_and_exit_leave_a_working_server() {
    quiet_intended_panics();
    let server = Arc::new(Server::http("127.0.0.1:0").expect("bind"));
    let addr = server.server_addr().to_ip().expect("tcp");
    let mut kept = Vec::new();
    for i in 0..6 {
        let panic = i % 2 == 1;
        let worker = one_shot(&server, panic);
        let mut c = Client::connect(addr);
        c.send(format!(
            "POST /r{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        ));
        let r = c
            .read_response()
            .unwrap_or_else(|e| panic!("round {i}: {e}"));
        if panic {
            assert_eq!(r.status(), 500, "round {i}");
        } else {
            assert_eq!((r.status(), r.body_str()), (200, &*format!("/r{i} 5")));
        }
        // The thread is gone before the next connection arrives.
        let joined = join_within(worker, "the round's handler thread");
        assert!(panic || joined.is_ok(), "round {i}: the handler failed");
        // Connections stay open across rounds: each keeps its own registration.
        kept.push(c);
    }
    // The connections kept open are still served (by a thread that exits, again).
    for (i, c) in kept.iter_mut().enumerate() {
        let worker = one_shot(&server, false);
        c.send(format!("GET /again{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c
            .read_response()
            .unwrap_or_else(|e| panic!("again {i}: {e}"));
        assert_eq!((r.status(), r.body_str()), (200, &*format!("/again{i} 0")));
        join_within(worker, "the handler thread").expect("the handler succeeds");
    }
}

/// Workers that each leave after one `/exit` request (returning or panicking) while the
/// others keep polling: every fresh connection afterwards is still accepted and answered.
#[test]
fn workers_leaving_one_by_one_leave_a_working_server() {
    const WORKERS: usize = 8;
    quiet_intended_panics();
    let server = Arc::new(Server::http("127.0.0.1:0").expect("bind"));
    let addr = server.server_addr().to_ip().expect("tcp");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                while let Ok(mut rq) = server.recv() {
                    let mut body = Vec::new();
                    let _ = rq.as_reader().read_to_end(&mut body);
                    match rq.url() {
                        "/exit" => {
                            rq.respond(Response::empty(204)).expect("respond");
                            return;
                        }
                        "/panic" => panic!("handler panics on purpose (test)"),
                        url => {
                            let text = format!("{url} {}", body.len());
                            let _ = rq.respond(Response::from_string(text));
                        }
                    }
                }
            })
        })
        .collect();
    for i in 0..WORKERS - 1 {
        let path = if i % 2 == 0 { "/exit" } else { "/panic" };
        let mut c = Client::connect(addr);
        c.send(format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        ));
        let r = c
            .read_response()
            .unwrap_or_else(|e| panic!("{path} {i}: {e}"));
        assert_eq!(r.status(), if i % 2 == 0 { 204 } else { 500 }, "{path} {i}");
        let mut other = Client::connect(addr);
        other.send(format!("GET /after{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = other
            .read_response()
            .unwrap_or_else(|e| panic!("after {path} {i}: {e}"));
        assert_eq!((r.status(), r.body_str()), (200, &*format!("/after{i} 0")));
    }
    server.unblock();
    for w in workers {
        // Some panicked on purpose; the last one returns once unblocked.
        let _ = join_within(w, "a worker");
    }
}

/// A response larger than the socket takes at once, handed over by a thread that exits
/// right after `respond`: the event loop writes the rest when the client reads.
#[test]
fn a_large_response_from_an_exiting_thread_is_delivered_whole() {
    const LEN: u64 = 8 << 20;
    let server = Arc::new(Server::http("127.0.0.1:0").expect("bind"));
    let addr = server.server_addr().to_ip().expect("tcp");
    let worker = {
        let server = Arc::clone(&server);
        thread::spawn(move || {
            let rq = server.recv().expect("a request");
            let mut data = vec![0u8; LEN as usize];
            Pattern::new().fill(0, &mut data);
            rq.respond(Response::from_data(data)).expect("respond");
        })
    };
    let mut c = Client::connect(addr);
    c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    // Let the handler fill the socket and exit before reading anything.
    join_within(worker, "the handler (it must not wait for the client)")
        .expect("the handler returns without waiting for the client");
    let r = c.read_response().expect("the whole response");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body.len() as u64, LEN);
    assert!(Pattern::new().matches(0, &r.body));
}
