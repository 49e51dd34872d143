//! Slow and hostile clients are cut off at their deadlines while everyone else is served:
//! slowloris heads, slow-POST bodies, idle keep-alive connections, panicking handlers, and the
//! connection cap.
//!
//! Deadlines are short (about one second) and configured through `ServerBuilder`. The tests
//! assert outcomes (who was answered, who was closed, with what) under generous bounds, never
//! timing precision. Many slow clients are driven by one thread over non-blocking sockets.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{raise_open_files_limit, serve_with, wait_until, Client, WAIT};
use tiny_http::{Request, Response, ServerBuilder};

/// How many slow clients attack at once.
const CROWD: usize = 300;
/// The generous bound within which every slow client must have been cut off.
const CUT_OFF_BOUND: Duration = Duration::from_secs(15);
/// Pace of a trickling client.
const TRICKLE: Duration = Duration::from_millis(200);

/// The two crowd tests take turns, so that their sockets (two descriptors per client in this
/// process) never add up past a modest open-files limit.
static CROWD_TURN: Mutex<()> = Mutex::new(());

fn crowd_turn() -> std::sync::MutexGuard<'static, ()> {
    let limit = raise_open_files_limit(8 * 1024);
    assert!(
        limit >= 4 * CROWD as u64,
        "RLIMIT_NOFILE is {limit}; run `ulimit -n 65536` first"
    );
    CROWD_TURN.lock().unwrap_or_else(|p| p.into_inner())
}

fn short_deadlines() -> ServerBuilder {
    ServerBuilder::new()
        .head_timeout(Duration::from_secs(1))
        .body_timeout(Duration::from_secs(1))
        .min_body_rate(Some((1000, Duration::from_secs(1))))
        .idle_timeout(Duration::from_secs(1))
        .write_timeout(Duration::from_secs(5))
}

/// Answers `"METHOD URL"` without reading any body.
fn answer(rq: Request) {
    let text = format!("{} {}", rq.method(), rq.url());
    let _ = rq.respond(Response::from_string(text));
}

// ---------------------------------------------------------------------------------------------
// A crowd of slow clients on non-blocking sockets
// ---------------------------------------------------------------------------------------------

struct Slow {
    stream: TcpStream,
    /// Sends one more byte every `TRICKLE` (else: silent after its opening bytes).
    trickles: bool,
    received: Vec<u8>,
    closed_at: Option<Instant>,
}

struct Crowd {
    clients: Vec<Slow>,
}

impl Crowd {
    /// Connects `n` clients, each sending `opening`; every other one keeps trickling.
    fn connect(addr: SocketAddr, n: usize, opening: &[u8]) -> Crowd {
        let clients = (0..n)
            .map(|i| {
                let mut stream = TcpStream::connect(addr).expect("connect slow client");
                stream.set_nodelay(true).unwrap();
                stream.write_all(opening).expect("slow client opening");
                stream.set_nonblocking(true).unwrap();
                Slow {
                    stream,
                    trickles: i % 2 == 0,
                    received: Vec::new(),
                    closed_at: None,
                }
            })
            .collect();
        Crowd { clients }
    }

    fn open(&self) -> usize {
        self.clients
            .iter()
            .filter(|c| c.closed_at.is_none())
            .count()
    }

    /// Reads what the server sent; notes EOF or reset as the server closing.
    fn poll_reads(&mut self) {
        let mut buf = [0u8; 4096];
        for c in self.clients.iter_mut().filter(|c| c.closed_at.is_none()) {
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        c.closed_at = Some(Instant::now());
                        break;
                    }
                    Ok(n) => c.received.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.closed_at = Some(Instant::now());
                        break;
                    }
                }
            }
        }
    }

    /// One more byte from every trickling client still open (errors mean the server is gone,
    /// which the next read will tell).
    fn trickle(&mut self, byte: u8) {
        for c in self.clients.iter_mut() {
            if c.trickles && c.closed_at.is_none() {
                let _ = c.stream.write(&[byte]);
            }
        }
    }

    /// Trickles and reads until every client is closed or `bound` passes; returns how long
    /// it took for all of them to be closed, or `None`.
    fn run_until_all_closed(&mut self, byte: u8, bound: Duration) -> Option<Duration> {
        let start = Instant::now();
        let mut next_trickle = start + TRICKLE;
        while start.elapsed() < bound {
            self.poll_reads();
            if self.open() == 0 {
                return Some(start.elapsed());
            }
            if Instant::now() >= next_trickle {
                self.trickle(byte);
                next_trickle += TRICKLE;
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Names the clients whose bytes are neither nothing nor a response with `status`.
    fn answered_other_than(&self, status: u16) -> Vec<String> {
        let want = format!("HTTP/1.1 {status} ");
        self.clients
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.received.is_empty() && !c.received.starts_with(want.as_bytes()))
            .map(|(i, c)| {
                let text = String::from_utf8_lossy(&c.received);
                format!("client {i}: {:?}", text.lines().next().unwrap_or(""))
            })
            .collect()
    }

    fn answered_with(&self, status: u16) -> usize {
        let want = format!("HTTP/1.1 {status} ");
        self.clients
            .iter()
            .filter(|c| c.received.starts_with(want.as_bytes()))
            .count()
    }
}

/// A well-behaved client making one request per fresh connection, paced, until stopped.
/// Returns (answered, failures) with the time of each answer.
struct Normal {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(Vec<Instant>, Vec<String>)>,
}

impl Normal {
    fn start(addr: SocketAddr) -> Normal {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let (mut answered, mut failures) = (Vec::new(), Vec::new());
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                let mut c = Client::connect(addr);
                c.stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                c.send(format!("GET /normal/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
                match c.read_response() {
                    Ok(r) if r.status() == 200 && r.body_str() == format!("GET /normal/{i}") => {
                        answered.push(Instant::now())
                    }
                    Ok(r) => failures.push(format!("request {i}: {} {:?}", r.status(), r.body)),
                    Err(e) => failures.push(format!("request {i}: {e}")),
                }
                thread::sleep(Duration::from_millis(50));
            }
            (answered, failures)
        });
        Normal { stop, handle }
    }

    fn stop(self) -> (Vec<Instant>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("normal client thread")
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn slowloris_heads_are_cut_off_while_a_normal_client_is_served() {
    let _turn = crowd_turn();
    let srv = serve_with(short_deadlines(), 2, answer);
    let normal = Normal::start(srv.addr());

    // Half send one byte and fall silent; half add a byte of a never-ending field every 200 ms.
    let start = Instant::now();
    let mut crowd = Crowd::connect(srv.addr(), CROWD, b"GET /slow HTTP/1.1\r\nX-Slow: ");
    let took = crowd.run_until_all_closed(b'a', CUT_OFF_BOUND);
    let attack_over = Instant::now();
    let (answered, failures) = normal.stop();

    assert!(
        took.is_some(),
        "{} of {CROWD} slowloris clients still open after {CUT_OFF_BOUND:?}",
        crowd.open()
    );
    let others = crowd.answered_other_than(408);
    assert!(others.is_empty(), "slow heads got: {others:?}");
    assert!(failures.is_empty(), "normal client failed: {failures:?}");
    let during = served_during(&answered, start, attack_over);
    eprintln!(
        "slowloris: {CROWD} clients cut off in {took:?} ({} answered 408); normal client answered {during} times meanwhile",
        crowd.answered_with(408)
    );
}

/// Threads reading slow bodies. Each slow body holds its reader for about one deadline
/// (1 s), so this many readers get through the crowd in about `CROWD / BODY_READERS` seconds.
const BODY_READERS: usize = 32;

#[test]
fn slow_bodies_fail_with_timed_out_and_get_408_while_a_normal_client_is_served() {
    let _turn = crowd_turn();
    // Requests with a body go to a pool of readers; the rest are answered at once.
    let (to_readers, bodies) = mpsc::channel::<Request>();
    let bodies = Arc::new(Mutex::new(bodies));
    let timed_out = Arc::new(AtomicUsize::new(0));
    let other_errors = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    for _ in 0..BODY_READERS {
        let bodies = bodies.clone();
        let timed_out = timed_out.clone();
        let other_errors = other_errors.clone();
        readers.push(thread::spawn(move || loop {
            // Bounded: the readers end when the server (holding the sender) is gone, or after
            // a minute at most.
            let next = bodies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .recv_timeout(Duration::from_secs(60));
            let Ok(mut rq) = next else { return };
            let mut sink = Vec::new();
            match rq.as_reader().read_to_end(&mut sink) {
                // Dropping the request unanswered: a slow body gets 408.
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    timed_out.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => other_errors.lock().unwrap().push(format!("{e}")),
                Ok(n) => other_errors
                    .lock()
                    .unwrap()
                    .push(format!("a slow body of {n} bytes was read whole")),
            }
        }));
    }
    let to_readers = Mutex::new(to_readers);
    let srv = serve_with(short_deadlines(), 2, move |rq: Request| {
        if rq.body_length().is_some() {
            let _ = to_readers.lock().unwrap().send(rq);
        } else {
            answer(rq);
        }
    });
    let normal = Normal::start(srv.addr());

    // Half trickle a byte every 200 ms (below the minimum rate), half stall after 10 bytes.
    let start = Instant::now();
    let mut crowd = Crowd::connect(
        srv.addr(),
        CROWD,
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n0123456789",
    );
    let took = crowd.run_until_all_closed(b'b', CUT_OFF_BOUND);
    let attack_over = Instant::now();
    let (answered, failures) = normal.stop();

    assert!(
        took.is_some(),
        "{} of {CROWD} slow-body clients still open after {CUT_OFF_BOUND:?} ({} timed out so far)",
        crowd.open(),
        timed_out.load(Ordering::Relaxed)
    );
    let others = crowd.answered_other_than(408);
    assert!(others.is_empty(), "slow bodies got: {others:?}");
    assert!(
        other_errors.lock().unwrap().is_empty(),
        "body reads ended otherwise: {:?}",
        other_errors.lock().unwrap()
    );
    assert!(
        wait_until(WAIT, || timed_out.load(Ordering::Relaxed) == CROWD),
        "only {} of {CROWD} body reads failed with TimedOut",
        timed_out.load(Ordering::Relaxed)
    );
    assert!(failures.is_empty(), "normal client failed: {failures:?}");
    let during = served_during(&answered, start, attack_over);
    eprintln!(
        "slow bodies: {CROWD} clients cut off in {took:?} ({} answered 408); normal client answered {during} times meanwhile",
        crowd.answered_with(408)
    );
    // The server (and with it the readers' channel) goes; a reader that panicked says so.
    drop(srv);
    for reader in readers {
        reader.join().expect("a body reader panicked");
    }
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let srv = serve_with(short_deadlines(), 2, answer);
    let mut clients: Vec<Client> = (0..20).map(|_| srv.client()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(format!("GET /idle/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 200);
        assert!(!r.head.has_token("connection", "close"), "{:?}", r.head);
    }
    // A connection that never sent anything is idle too.
    let mut silent = srv.client();
    // Still open well before the deadline...
    assert!(!clients[0].anything_within(Duration::from_millis(300)));
    // ...and closed (EOF, no bytes: no request was in progress) after it.
    for c in clients.iter_mut().chain(std::iter::once(&mut silent)) {
        c.stream.set_read_timeout(Some(WAIT)).unwrap();
        c.expect_closed();
    }
    assert!(
        wait_until(WAIT, || srv.server.num_connections() == 0),
        "{} connections still counted",
        srv.server.num_connections()
    );
}

/// Keeps the panics this file causes on purpose out of the test output (others still print).
fn quiet_intended_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        if !message.is_some_and(|m| m.contains("on purpose")) {
            default(info);
        }
    }));
}

#[test]
fn a_panicking_handler_loses_only_its_own_request() {
    quiet_intended_panics();
    // Each panic ends one worker thread; three workers survive two panics.
    let srv = serve_with(short_deadlines(), 3, |mut rq: Request| match rq.url() {
        "/panic" => panic!("handler panics on purpose (test)"),
        "/panic-mid-body" => {
            let mut two = [0u8; 2];
            let _ = rq.as_reader().read_exact(&mut two);
            panic!("handler panics mid-body on purpose (test)");
        }
        _ => answer(rq),
    });
    for path in ["/panic", "/panic-mid-body"] {
        let mut c = srv.client();
        c.send(format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        ));
        let r = c.read_response().unwrap();
        assert_eq!(r.status(), 500, "{path}");
        // The next request, on another connection, is served.
        let mut other = srv.client();
        other.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = other
            .read_response()
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!((r.status(), r.body_str()), (200, "GET /after"), "{path}");
    }
}

#[test]
fn at_max_connections_the_next_connection_waits_until_one_closes() {
    const MAX: usize = 50;
    raise_open_files_limit(4 * 1024);
    let srv = serve_with(ServerBuilder::new().max_connections(MAX), 2, answer);
    let mut held: Vec<Client> = (0..MAX).map(|_| srv.client()).collect();
    for (i, c) in held.iter_mut().enumerate() {
        c.send(format!("GET /held/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(c.read_response().unwrap().status(), 200);
    }
    assert_eq!(srv.server.num_connections(), MAX);

    // The 51st connects (the kernel's backlog takes it) but is not served...
    let mut waiting = srv.client();
    waiting.send("GET /waiting HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        !waiting.anything_within(Duration::from_millis(500)),
        "the connection over the cap was served"
    );
    assert_eq!(srv.server.num_connections(), MAX);

    // ...until one of the 50 closes.
    let first = held.remove(0);
    first.stream.shutdown(Shutdown::Both).unwrap();
    drop(first);
    let r = waiting.read_response().unwrap();
    assert_eq!((r.status(), r.body_str()), (200, "GET /waiting"));
    // The others are still served meanwhile.
    for (i, c) in held.iter_mut().enumerate().take(5) {
        c.send(format!("GET /again/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(c.read_response().unwrap().status(), 200);
    }
}

/// How many of the normal client's answers came during the attack; at least 3, or the attack
/// kept it from being served.
fn served_during(answered: &[Instant], start: Instant, attack_over: Instant) -> usize {
    let during = answered
        .iter()
        .filter(|&&t| t > start && t < attack_over)
        .count();
    assert!(
        during >= 3,
        "the normal client got only {during} answers during the attack ({} in all)",
        answered.len()
    );
    during
}

// ---------------------------------------------------------------------------------------------
// Clients that do not read their responses
// ---------------------------------------------------------------------------------------------

/// A normal client is answered (the server is fine after an attack).
fn assert_served(server: &support::TestServer) {
    let mut c = server.client();
    c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        c.read_response().expect("served after").body_str(),
        "GET /after"
    );
}

/// Size of each response to `/big`: small enough to be rendered whole (64 KiB or less).
const BIG: usize = 60 * 1024;
/// Requests a non-reading client pipelines: far more bytes than the socket buffers hold.
const UNREAD: usize = 16;

/// A client with a tiny receive window that pipelines `UNREAD` requests for `/big` and never
/// reads: the server's writes to it stall almost at once.
fn non_reader(addr: SocketAddr) -> TcpStream {
    non_reader_of(addr, &"GET /big HTTP/1.1\r\nHost: t\r\n\r\n".repeat(UNREAD))
}

/// A client with a tiny receive window that sends `requests` and never reads.
fn non_reader_of(addr: SocketAddr, requests: &str) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect non-reader");
    let mut stream = TcpStream::from(socket);
    stream
        .write_all(requests.as_bytes())
        .expect("send requests");
    stream
}

/// One handler thread; `/big` answers `BIG` bytes and counts, anything else echoes.
fn one_handler(builder: ServerBuilder, bigs: Arc<AtomicUsize>) -> support::TestServer {
    let server = Arc::new(builder.http("127.0.0.1:0").expect("bind"));
    support::serve_on(server, 1, move |rq| {
        if rq.url() == "/big" {
            bigs.fetch_add(1, Ordering::SeqCst);
            let _ = rq.respond(Response::from_data(vec![b'x'; BIG]));
        } else {
            answer(rq);
        }
    })
}

#[test]
fn a_client_that_never_reads_its_responses_is_disconnected() {
    // Whether its responses still wait in the server (write deadline) or sit in the kernel's
    // buffers (the connection then looks idle), the connection is let go in bounded time.
    let bigs = Arc::new(AtomicUsize::new(0));
    let builder = ServerBuilder::new()
        .write_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(1));
    let server = one_handler(builder, bigs.clone());
    let mut stalled = non_reader(server.addr());
    assert!(
        wait_until(WAIT, || bigs.load(Ordering::SeqCst) >= 1),
        "the non-reader's requests never reached the handler"
    );
    // Once the deadline passes with bytes still unsent, the server lets go of the connection.
    assert!(
        wait_until(Duration::from_secs(15), || server.server.num_connections()
            == 0),
        "a client that never reads is still connected ({} open)",
        server.server.num_connections()
    );
    // When it finally reads, it finds the end of the stream (after whatever had reached its
    // side), not a connection still waiting for it.
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    if let Err(e) = stalled.read_to_end(&mut got) {
        assert!(
            !support::is_timeout(&e),
            "still open after {} bytes",
            got.len()
        );
    }
    // The server is fine: a normal client is served.
    assert_served(&server);
}

#[test]
fn a_streamed_response_to_a_client_that_stopped_reading_frees_its_handler_at_the_deadline() {
    // 64 MiB streamed from a reader: far more than the socket buffers. With one handler
    // thread, the server is stuck until the write deadline gives up on the client.
    let builder = ServerBuilder::new().write_timeout(Duration::from_secs(1));
    let (server, outcome) = streaming_server(builder);
    let _stalled = non_reader_of(
        server.addr(),
        "GET /stream?bytes=67108864 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    expect_cut_off(&outcome, "a client that stopped reading");
    // The one handler thread serves others again, and the stalled connection is gone.
    assert_served(&server);
    assert!(
        wait_until(WAIT, || server.server.num_connections() <= 1),
        "{} connections open",
        server.server.num_connections()
    );
}

/// The outcome of `streaming_server`'s next response must be a `TimedOut` failure, reported
/// well within 15 s: the handler gave up on `who` and is free again.
fn expect_cut_off(outcome: &mpsc::Receiver<(std::io::Result<()>, Duration)>, who: &str) {
    let (result, took) = outcome
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("the handler is still streaming to {who}"));
    let err = result.expect_err("a response the client does not take cannot complete");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        took < Duration::from_secs(15),
        "{who}: cut off only after {took:?}"
    );
}

/// One handler thread streaming `/stream?bytes=N` (known length, from a reader) and reporting
/// each `respond` outcome; anything else is echoed.
fn streaming_server(
    builder: ServerBuilder,
) -> (
    support::TestServer,
    mpsc::Receiver<(std::io::Result<()>, Duration)>,
) {
    let (tx, outcome) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = Arc::new(builder.http("127.0.0.1:0").expect("bind"));
    let server = support::serve_on(server, 1, move |rq| {
        let Some(n) = rq.url().strip_prefix("/stream?bytes=") else {
            return answer(rq);
        };
        let n: usize = n.parse().unwrap();
        let body = std::io::repeat(b'x').take(n as u64);
        let started = Instant::now();
        let result = rq.respond(Response::new(200.into(), Vec::new(), body, Some(n), None));
        let _ = tx.lock().unwrap().send((result, started.elapsed()));
    });
    (server, outcome)
}

#[test]
fn a_client_reading_slower_than_the_minimum_rate_is_cut_off_and_frees_its_handler() {
    // Minimum 64 KiB/s after 1 s; the client reads about 20 KiB/s, steadily (it makes
    // progress well within the 30 s write timeout, so only the rate can stop it).
    let builder = ServerBuilder::new()
        .write_timeout(Duration::from_secs(30))
        .min_write_rate(Some((64 * 1024, Duration::from_secs(1))));
    let (server, outcome) = streaming_server(builder);
    let mut slow = non_reader_of(
        server.addr(),
        "GET /stream?bytes=67108864 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut got = 0usize;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            match slow.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got += n,
                Err(e) if support::is_timeout(&e) => {}
                Err(_) => return (got, true),
            }
            thread::sleep(Duration::from_millis(100));
        }
        (got, false)
    });
    expect_cut_off(&outcome, "a client below the minimum rate");
    let (got, ended) = reader.join().unwrap();
    assert!(ended, "the slow client's connection was not closed");
    assert!(
        got > 0 && got < 64 << 20,
        "the slow client read {got} bytes"
    );
    // The handler serves others again.
    assert_served(&server);
}

#[test]
fn a_client_reading_at_full_speed_is_not_affected_by_the_minimum_rate() {
    // The same demanding minimum; a client that keeps up gets the whole 64 MiB.
    let builder = ServerBuilder::new()
        .write_timeout(Duration::from_secs(30))
        .min_write_rate(Some((64 * 1024, Duration::from_secs(1))));
    let (server, outcome) = streaming_server(builder);
    let mut c = server.client();
    c.send("GET /stream?bytes=67108864 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().expect("the whole response");
    assert_eq!(r.body.len(), 64 << 20);
    let (result, _) = outcome.recv_timeout(WAIT).expect("respond returned");
    result.expect("a client that keeps up is served");
}

/// A body produced in bursts: `first` bytes at once, then `pauses` tiny pieces each after a
/// pause, then `last` bytes at once (a report, a heartbeat while a job runs, the result).
struct Bursty {
    first: usize,
    pauses: usize,
    last: usize,
}

impl Read for Bursty {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if self.first > 0 {
            let n = self.first.min(buf.len());
            self.first -= n;
            n
        } else if self.pauses > 0 {
            thread::sleep(Duration::from_millis(250));
            self.pauses -= 1;
            1.min(buf.len())
        } else {
            let n = self.last.min(buf.len());
            self.last -= n;
            n
        };
        buf[..n].fill(b'b');
        Ok(n)
    }
}

#[test]
fn a_client_that_keeps_up_with_a_slowly_produced_body_is_not_cut_off() {
    // 8 MiB at once (the socket fills: the rate clock starts), then 5 s of one byte every
    // 250 ms, then 8 MiB. Measured from the first wait, 8 MiB at 4 MiB/s allows only 2 s:
    // the handler's own slowness must not count against a client that reads at full speed.
    let builder = ServerBuilder::new()
        .write_timeout(Duration::from_secs(30))
        .min_write_rate(Some((4 << 20, Duration::from_secs(1))));
    let (tx, outcome) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = Arc::new(builder.http("127.0.0.1:0").expect("bind"));
    let (first, pauses, last) = (8 << 20, 20, 8 << 20);
    let server = support::serve_on(server, 1, move |rq| {
        let body = Bursty {
            first,
            pauses,
            last,
        };
        let length = first + pauses + last;
        let result = rq.respond(Response::new(
            200.into(),
            Vec::new(),
            body,
            Some(length),
            None,
        ));
        let _ = tx.lock().unwrap().send(result);
    });
    let mut c = server.client();
    c.send("GET /bursty HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().expect("the whole response");
    assert_eq!(r.body.len(), first + pauses + last);
    let result = outcome.recv_timeout(WAIT).expect("respond returned");
    result.expect("a client that keeps up is served, however slow the body");
}
