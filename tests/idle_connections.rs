//! No thread per connection: 2,000 idle keep-alive connections cost no thread.
//!
//! This file holds a single test on purpose: the thread count of the process is read from
//! /proc/self/status, and other tests running beside it would change it. Linux only (/proc).
#![cfg(target_os = "linux")]

mod support;

use support::{proc_status, raise_open_files_limit, serve, wait_until, Client, WAIT};

const IDLE: usize = 2_000;

fn request(c: &mut Client, i: usize) {
    c.send(format!("GET /c{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_str(), format!("/c{i}"));
}

#[test]
fn two_thousand_idle_keep_alive_connections_cost_no_thread() {
    // Each connection costs two descriptors here: the client's and the server's.
    let limit = raise_open_files_limit(3 * IDLE as u64 + 1_000);
    assert!(
        limit >= 2 * IDLE as u64 + 200,
        "RLIMIT_NOFILE is {limit}; run `ulimit -n 65536` first"
    );

    let srv = serve(4, |rq: tiny_http::Request| {
        let url = rq.url().to_string();
        let _ = rq.respond(tiny_http::Response::from_string(url));
    });

    let mut warm: Vec<Client> = (0..10).map(|_| srv.client()).collect();
    for (i, c) in warm.iter_mut().enumerate() {
        request(c, i);
    }
    let threads_with_10 = proc_status("Threads");

    let mut idle: Vec<Client> = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut c = srv.client();
        request(&mut c, i);
        idle.push(c);
    }
    let threads_with_2010 = proc_status("Threads");
    assert_eq!(
        threads_with_2010, threads_with_10,
        "thread count grew from {threads_with_10} to {threads_with_2010} with {IDLE} idle connections"
    );

    assert!(
        wait_until(WAIT, || srv.server.num_connections() >= IDLE),
        "num_connections() = {} with {} open",
        srv.server.num_connections(),
        IDLE + 10
    );

    // A new connection is still answered, and so is an old idle one.
    let mut fresh = srv.client();
    request(&mut fresh, 999_999);
    request(&mut idle[0], 0);
    request(&mut idle[IDLE - 1], IDLE - 1);
    assert_eq!(proc_status("Threads"), threads_with_10);
}
