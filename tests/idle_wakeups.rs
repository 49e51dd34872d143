//! An idle server sleeps (DESIGN property 8): with keep-alive connections open and no
//! traffic, no thread of the process wakes up until a deadline is really due.
//!
//! Wake-ups are counted as context switches (`voluntary_ctxt_switches` and
//! `nonvoluntary_ctxt_switches` in /proc/self/task/*/status) of every thread but the test's
//! own, over two idle seconds. Linux only (/proc); this file holds a single test so that no
//! other test's threads are counted.
#![cfg(target_os = "linux")]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::{serve_with, Client};
use tiny_http::ServerBuilder;

const CONNECTIONS: usize = 50;
const IDLE: Duration = Duration::from_secs(2);
/// Wake-ups tolerated over the idle period (the kernel may preempt or migrate a sleeping
/// thread's last instructions; a polling loop would show hundreds).
const ALLOWED: u64 = 8;

/// Context switches so far, per thread id, except the calling thread.
fn switches_of_other_threads() -> HashMap<String, u64> {
    let own = std::fs::read_link("/proc/thread-self")
        .expect("/proc/thread-self")
        .file_name()
        .expect("tid")
        .to_string_lossy()
        .into_owned();
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let tid = entry
            .expect("task entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if tid == own {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")) else {
            continue; // the thread just ended
        };
        let total = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        out.insert(tid, total);
    }
    out
}

#[test]
fn an_idle_server_with_open_connections_does_not_wake_up() {
    // Deadlines far away: nothing is due during the measurement.
    let builder = ServerBuilder::new()
        .idle_timeout(Duration::from_secs(60))
        .head_timeout(Duration::from_secs(60));
    let srv = serve_with(builder, 4, support::echo);
    let mut clients: Vec<Client> = (0..CONNECTIONS).map(|_| srv.client()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(format!("GET /warm/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(c.read_response().expect("response").status(), 200);
    }
    // Let the threads that just answered go back to sleep: wait until two consecutive
    // readings a short moment apart are equal (bounded).
    let mut before = switches_of_other_threads();
    let settled = support::wait_until(Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_millis(100));
        let now = switches_of_other_threads();
        let same = now == before;
        before = now;
        same
    });
    assert!(
        settled,
        "the server's threads kept switching after the warm-up requests"
    );

    std::thread::sleep(IDLE);
    let after = switches_of_other_threads();
    let woke: u64 = after
        .iter()
        .map(|(tid, n)| n.saturating_sub(*before.get(tid).unwrap_or(&0)))
        .sum();
    let per_thread: Vec<_> = after
        .iter()
        .map(|(tid, n)| (tid, n.saturating_sub(*before.get(tid).unwrap_or(&0))))
        .filter(|(_, d)| *d > 0)
        .collect();
    eprintln!("idle: {woke} context switches in {IDLE:?}; per thread: {per_thread:?}");
    assert!(
        woke <= ALLOWED,
        "{woke} context switches in {IDLE:?} of idleness with {CONNECTIONS} open \
         connections (allowed {ALLOWED}); per thread: {per_thread:?}"
    );

    // Still serving afterwards.
    clients[0].send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(clients[0].read_response().expect("response").status(), 200);
}
