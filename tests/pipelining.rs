//! Pipelining: requests sent back to back on one connection are all handed out, and responses
//! leave in request order whatever order (and thread) the handlers respond from.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{serve, Client, WAIT};
use tiny_http::{Request, Response, Server};

#[test]
fn ten_pipelined_requests_answered_in_order_when_handlers_respond_in_reverse() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    let mut all = String::new();
    for i in 0..10 {
        all.push_str(&format!("GET /p{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    c.send(all);

    let mut requests: Vec<Request> = Vec::new();
    for i in 0..10 {
        let rq = server
            .recv_timeout(WAIT)
            .unwrap()
            .unwrap_or_else(|| panic!("pipelined request {i} not handed out"));
        requests.push(rq);
    }
    let urls: Vec<&str> = requests.iter().map(|r| r.url()).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("/p{i}")).collect();
    assert_eq!(urls, expected);

    // One thread per request. Thread i starts responding once thread i+1 has finished
    // responding or has been inside `respond` for a while (a library may make a later response
    // wait for its turn): so `respond` is entered in reverse request order.
    let (started_tx, started_rx) = mpsc::channel::<usize>();
    let (done_tx, done_rx) = mpsc::channel::<(usize, std::io::Result<()>)>();
    let mut gos = Vec::new();
    let mut threads = Vec::new();
    for (i, rq) in requests.into_iter().enumerate() {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        gos.push(go_tx);
        let started_tx = started_tx.clone();
        let done_tx = done_tx.clone();
        threads.push(thread::spawn(move || {
            go_rx.recv_timeout(WAIT).expect("go signal");
            started_tx.send(i).unwrap();
            let body = rq.url().to_string();
            let r = rq.respond(Response::from_string(body));
            done_tx.send((i, r)).unwrap();
        }));
    }
    let mut done = Vec::new();
    for i in (0..10).rev() {
        gos[i].send(()).unwrap();
        assert_eq!(started_rx.recv_timeout(WAIT).unwrap(), i);
        if let Ok(d) = done_rx.recv_timeout(Duration::from_millis(50)) {
            done.push(d);
        }
    }

    for i in 0..10 {
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.body_str(), format!("/p{i}"), "response {i} out of order");
    }
    while done.len() < 10 {
        done.push(done_rx.recv_timeout(WAIT).expect("respond returned"));
    }
    for (i, r) in done {
        assert!(r.is_ok(), "respond {i}: {r:?}");
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn pipelined_requests_with_bodies() {
    let srv = serve(4, support::echo);
    let mut c = srv.client();
    let mut all = String::new();
    for i in 0..5 {
        let body = format!("body-{i}-{}", "x".repeat(i * 100));
        all.push_str(&format!(
            "POST /b{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    }
    all.push_str("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n");
    all.push_str("GET /last HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send(all);
    for i in 0..5 {
        let r = c.read_response().unwrap();
        let body = format!("body-{i}-{}", "x".repeat(i * 100));
        assert!(
            r.body_str().starts_with(&format!("POST /b{i} ")),
            "{}",
            r.body_str()
        );
        assert!(
            r.body_str().ends_with(&format!("] {body}")),
            "{}",
            r.body_str()
        );
    }
    let r = c.read_response().unwrap();
    assert!(
        r.body_str().starts_with("POST /chunked "),
        "{}",
        r.body_str()
    );
    assert!(r.body_str().ends_with("] wxyz"), "{}", r.body_str());
    let r = c.read_response().unwrap();
    assert!(r.body_str().starts_with("GET /last "), "{}", r.body_str());
}

#[test]
fn next_request_is_parsed_once_the_body_is_read_not_when_the_response_is_done() {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send(
        "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
         GET /b HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let mut a = server.recv_timeout(WAIT).unwrap().expect("request a");
    assert_eq!(a.url(), "/a");
    let mut body = String::new();
    a.as_reader().read_to_string(&mut body).unwrap();
    assert_eq!(body, "abc");

    // `a` is not answered yet, but its body is consumed: `b` must be handed out now.
    let b = server
        .recv_timeout(WAIT)
        .unwrap()
        .expect("b handed out before a's response");
    assert_eq!(b.url(), "/b");

    // Answer b first (on another thread: it may wait for a's turn), then a.
    let tb = thread::spawn(move || b.respond(Response::from_string("B")));
    a.respond(Response::from_string("A")).unwrap();
    tb.join().unwrap().unwrap();
    assert_eq!(c.read_response().unwrap().body_str(), "A");
    assert_eq!(c.read_response().unwrap().body_str(), "B");
}

#[test]
fn a_response_held_for_batching_is_not_delayed_by_a_slow_next_request() {
    // One worker. Two pipelined requests: the first is answered at once, the second after 3 s.
    // The first response may be held back to leave with the second (one write for both), but
    // only while the worker is about to answer it: it must reach the client long before 3 s.
    let srv = support::serve(1, |rq| {
        if rq.url() == "/slow" {
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        let url = rq.url().to_string();
        let _ = rq.respond(tiny_http::Response::from_string(url));
    });
    let mut c = srv.client();
    let t0 = std::time::Instant::now();
    c.send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().body_str(), "/fast");
    let first = t0.elapsed();
    assert!(
        first < std::time::Duration::from_millis(1500),
        "the first response waited {first:?} for the second"
    );
    assert_eq!(c.read_response().unwrap().body_str(), "/slow");
}

#[test]
fn many_pipelined_small_responses_arrive_complete_and_in_order() {
    // 200 pipelined requests on one connection, two workers: responses are batched into few
    // writes (corking) but every one arrives, in order, byte-exact.
    let srv = support::serve(2, |rq| {
        let body = rq.url().repeat(3);
        let _ = rq.respond(tiny_http::Response::from_string(body));
    });
    let mut c = srv.client();
    let mut batch = String::new();
    for i in 0..200 {
        batch.push_str(&format!("GET /r{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    c.send(batch);
    for i in 0..200 {
        let r = c.read_response().unwrap();
        assert_eq!(r.body_str(), format!("/r{i}").repeat(3));
    }
}

#[test]
fn one_clients_pipelined_requests_occupy_one_handler_at_a_time() {
    // Two handler threads. Client A pipelines four requests, which the handler holds until
    // released. Were they handed to both threads, the second would wait for the first's turn
    // (or, as here, for the release) and client B would find no free thread. One connection's
    // requests go to one handler at a time, so B is answered while A's first is held.
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let release = Arc::new(AtomicBool::new(false));
    let released = release.clone();
    let held_now = Arc::new(AtomicUsize::new(0));
    let held_most = Arc::new(AtomicUsize::new(0));
    let (now, most) = (held_now.clone(), held_most.clone());
    let srv = serve(2, move |rq| {
        let release = &released;
        if rq.url().starts_with("/hold") {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            // Held until released (bounded).
            support::wait_until(WAIT, || release.load(Ordering::SeqCst));
            now.fetch_sub(1, Ordering::SeqCst);
        }
        let url = rq.url().to_string();
        let _ = rq.respond(Response::from_string(url));
    });
    let mut a = srv.client();
    a.send(
        (0..4)
            .map(|i| format!("GET /hold/{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
            .collect::<String>(),
    );
    assert!(
        support::wait_until(WAIT, || held_now.load(Ordering::SeqCst) == 1),
        "client A's first request never reached a handler"
    );
    let mut b = srv.client();
    b.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    b.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    let answer = b
        .read_response()
        .expect("client B waited behind client A's pipelined requests");
    assert_eq!(answer.body_str(), "/b");
    release.store(true, Ordering::SeqCst);
    for i in 0..4 {
        assert_eq!(a.read_response().unwrap().body_str(), format!("/hold/{i}"));
    }
    assert_eq!(
        held_most.load(Ordering::SeqCst),
        1,
        "client A had several requests in handlers at once"
    );
}

#[test]
fn the_next_request_is_handed_out_when_its_predecessor_is_answered_from_another_thread() {
    // Thread 1 takes request 0 and passes it to a third thread, then stops calling recv().
    // Request 1 waits for request 0 (same connection); once the third thread answers it,
    // thread 2, already waiting in recv(), must get request 1 although thread 1 never comes
    // back to recv().
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send("GET /zero HTTP/1.1\r\nHost: t\r\n\r\nGET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    let (pass_tx, pass_rx) = mpsc::channel::<Request>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let first = {
        let server = server.clone();
        thread::spawn(move || {
            let rq = server.recv_timeout(WAIT).unwrap().expect("request 0");
            pass_tx.send(rq).unwrap();
            let _ = stop_rx.recv_timeout(WAIT);
        })
    };
    let zero = pass_rx.recv_timeout(WAIT).expect("thread 1 took request 0");
    assert_eq!(zero.url(), "/zero");
    let second = {
        let server = server.clone();
        thread::spawn(move || {
            let rq = server.recv_timeout(WAIT).unwrap().expect("request 1");
            let url = rq.url().to_string();
            rq.respond(Response::from_string(url)).unwrap();
        })
    };
    // Give thread 2 time to be waiting in recv() (the test passes either way; this only makes
    // it exercise the interesting order).
    thread::sleep(Duration::from_millis(100));
    zero.respond(Response::from_string("/zero")).unwrap();
    assert_eq!(c.read_response().unwrap().body_str(), "/zero");
    assert_eq!(c.read_response().unwrap().body_str(), "/one");
    second.join().unwrap();
    stop_tx.send(()).unwrap();
    first.join().unwrap();
}

#[test]
fn recv_timeout_returns_when_only_a_held_connections_requests_are_queued() {
    // Thread 1 holds request 0 of a connection; request 1 of it is queued but is thread 1's
    // to take. Another thread's `try_recv` / `recv_timeout` must come back empty on time.
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send("GET /zero HTTP/1.1\r\nHost: t\r\n\r\nGET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    let zero = server.recv_timeout(WAIT).unwrap().expect("request 0");
    let (tx, rx) = mpsc::channel();
    let other = {
        let server = server.clone();
        thread::spawn(move || {
            let tried = server.try_recv().unwrap().map(|r| r.url().to_string());
            let waited = server
                .recv_timeout(Duration::from_millis(200))
                .unwrap()
                .map(|r| r.url().to_string());
            tx.send((tried, waited)).unwrap();
        })
    };
    let (tried, waited) = rx
        .recv_timeout(WAIT)
        .expect("try_recv / recv_timeout did not return");
    assert_eq!((tried, waited), (None, None));
    other.join().unwrap();
    // The holder takes request 1 itself.
    let one = server.recv_timeout(WAIT).unwrap().expect("request 1");
    assert_eq!(one.url(), "/one");
    zero.respond(Response::from_string("/zero")).unwrap();
    one.respond(Response::from_string("/one")).unwrap();
    assert_eq!(c.read_response().unwrap().body_str(), "/zero");
    assert_eq!(c.read_response().unwrap().body_str(), "/one");
}

#[test]
fn a_thread_collecting_requests_gets_the_next_one_while_another_thread_leads() {
    // Two threads wait in recv(). Whichever takes request 0 then waits in recv() for request 1
    // of the same connection, which arrives later and is its to take (it holds request 0),
    // while the other thread may be the one running the event loop: the holder must be woken
    // for it, and the other thread must not get it.
    // Plain recv() (no timeout) in both threads: a thread that gives up waiting would hand
    // the event loop over and wake the other, hiding a missing wake-up.
    let server = std::sync::Arc::new(Server::http("127.0.0.1:0").unwrap());
    let (events_tx, events) = mpsc::channel::<String>();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (server, events) = (server.clone(), events_tx.clone());
            thread::spawn(move || {
                // Ends at `unblock()` (recv returns an error).
                while let Ok(zero) = server.recv() {
                    if zero.url() != "/zero" {
                        events
                            .send(format!("other thread got {}", zero.url()))
                            .unwrap();
                        continue;
                    }
                    events.send("took /zero".into()).unwrap();
                    // Time for the other thread to take over the event loop, so that this
                    // one waits as a follower (the test passes either way).
                    thread::sleep(Duration::from_millis(50));
                    let one = server.recv_timeout(WAIT).unwrap();
                    let url = one.as_ref().map(|r| r.url().to_string());
                    events.send(format!("holder got {url:?}")).unwrap();
                    zero.respond(Response::from_string("/zero")).unwrap();
                    if let Some(one) = one {
                        one.respond(Response::from_string("/one")).unwrap();
                    }
                }
            })
        })
        .collect();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send("GET /zero HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(events.recv_timeout(WAIT).unwrap(), "took /zero");
    // Let both threads be waiting again before request 1 arrives (the test passes either way;
    // this makes it exercise the interesting order).
    thread::sleep(Duration::from_millis(100));
    c.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    // Within half the holder's own wait: only a wake-up, not its timeout, gets it there.
    assert_eq!(
        events
            .recv_timeout(WAIT / 2)
            .expect("the holder was not woken for request 1"),
        "holder got Some(\"/one\")"
    );
    assert_eq!(c.read_response().unwrap().body_str(), "/zero");
    assert_eq!(c.read_response().unwrap().body_str(), "/one");
    // Unblock until both threads have left recv() (bounded), then join them.
    assert!(
        support::wait_until(WAIT, || {
            server.unblock();
            threads.iter().all(|t| t.is_finished())
        }),
        "the receiving threads did not leave recv() after unblock()"
    );
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        events.try_recv().is_err(),
        "unexpected: {:?}",
        events.try_recv()
    );
}

/// Two pipelined requests received by one thread, answered second-first on that thread.
/// Returns what `respond` said for the second and the raw responses the client got.
fn answer_second_first_on_one_thread(
    second: impl FnOnce() -> Response<Box<dyn std::io::Read + Send>> + Send + 'static,
) -> (std::io::Result<()>, Vec<support::RawResponse>, Client) {
    let server = Server::http("127.0.0.1:0").unwrap();
    let mut c = Client::connect(server.server_addr().to_ip().unwrap());
    c.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    let (tx, rx) = mpsc::channel();
    let handler = thread::spawn(move || {
        let first = server.recv_timeout(WAIT).unwrap().expect("first request");
        let second_rq = server.recv_timeout(WAIT).unwrap().expect("second request");
        assert_eq!((first.url(), second_rq.url()), ("/first", "/second"));
        let r = second_rq.respond(second());
        tx.send(r).unwrap();
        first.respond(Response::from_string("first")).unwrap();
        server
    });
    // Bounded: a hang here is the failure this checks for.
    let second_result = rx
        .recv_timeout(WAIT)
        .expect("respond() to the later request returned (no self-deadlock)");
    let _server = handler.join().expect("handler thread");
    let mut responses = Vec::new();
    while responses.len() < 2 {
        match c.read_response() {
            Ok(r) => responses.push(r),
            Err(_) => break,
        }
    }
    (second_result, responses, c)
}

#[test]
fn answering_a_later_request_first_on_the_same_thread_works_when_it_fits() {
    // A small body waits in the output buffer; an owned body of any size is handed over
    // whole: either way both responses leave, in request order.
    for size in [100usize, 4 << 20] {
        let (result, responses, _) = answer_second_first_on_one_thread(move || {
            Response::from_data(vec![b'x'; size]).boxed()
        });
        result.unwrap_or_else(|e| panic!("{size} bytes: {e}"));
        assert_eq!(responses.len(), 2, "{size} bytes");
        assert_eq!(
            (responses[0].status(), responses[0].body_str()),
            (200, "first")
        );
        assert_eq!(
            (responses[1].status(), responses[1].body.len()),
            (200, size)
        );
    }
}

#[test]
fn answering_a_later_request_first_with_a_large_stream_is_a_clear_error_not_a_hang() {
    use std::io::Read;
    // A streamed body larger than the output buffer cannot wait for its turn while this
    // very thread holds the earlier request: respond() fails at once (WouldBlock, with an
    // explanation), the client gets the first response, then a 500 in the second's place.
    let (result, responses, mut c) = answer_second_first_on_one_thread(|| {
        let body: Box<dyn Read + Send> = Box::new(std::io::repeat(b'y').take(8 << 20));
        Response::new(tiny_http::StatusCode(200), vec![], body, None, None)
    });
    let err = result.expect_err("a streamed response ahead of its turn cannot be buffered");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(err.to_string().contains("in order"), "{err}");
    assert_eq!(responses.len(), 2);
    assert_eq!(
        (responses[0].status(), responses[0].body_str()),
        (200, "first")
    );
    assert_eq!(responses[1].status(), 500);
    c.expect_closed();
}

/// Requests beyond `max_pipelined_requests` wait in the connection's input until earlier
/// responses are written. When the event loop itself writes the end of those responses (large
/// bodies, a client that reads slower than the handler answers), the waiting requests must be
/// parsed then too: no readable event will come for bytes already read.
#[test]
fn requests_held_back_by_the_pipelining_limit_are_served_when_the_loop_writes_the_responses() {
    const BODY: usize = 4 << 20;
    let builder = tiny_http::ServerBuilder::new().max_pipelined_requests(2);
    let (answered_tx, answered) = mpsc::channel::<String>();
    let answered_tx = std::sync::Mutex::new(answered_tx);
    let srv = support::serve_with(builder, 2, move |rq: Request| {
        let url = rq.url().to_owned();
        // The body is handed over whole: `respond` returns before the client has read it.
        let _ = rq.respond(Response::from_data(vec![b'x'; BODY]));
        let _ = answered_tx.lock().unwrap().send(url);
    });
    let mut c = srv.client();
    let mut all = String::new();
    for i in 0..4 {
        all.push_str(&format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    c.send(all);
    // Read nothing until the first two are answered: their bodies then go out as the client
    // reads, written by the event loop.
    for _ in 0..2 {
        answered
            .recv_timeout(WAIT)
            .expect("the first two requests are answered");
    }
    for i in 0..4 {
        let r = c
            .read_response()
            .unwrap_or_else(|e| panic!("response {i} of 4: {e}"));
        assert_eq!(r.status(), 200, "response {i}");
        assert_eq!(r.body.len(), BODY, "response {i}");
    }
}
