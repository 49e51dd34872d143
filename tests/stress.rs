//! Randomized, seeded stress test of the whole server: many clients, keep-alive, pipelining in
//! bursts, request bodies of every framing read fully, partly or not at all, responses small,
//! large, chunked, delayed, dropped (500) and answered out of order from another thread,
//! HTTP/1.0, `Connection: close`, and clients that hang up half-way through their responses.
//!
//! Every response the client reads must be the one for its request, in order, correctly
//! framed: the path encodes the request id, the handler kind and how much of the body the
//! handler reads; the handler echoes the id, the number of body bytes it read and their
//! checksum in headers, and the body is a function of the id.
//!
//! The workload is a pure function of the seed (scheduling aside). The seed is printed; rerun
//! one with `STRESS_SEED=<seed> cargo test --test stress -- --nocapture` (`STRESS_SCALE=<n>` runs
//! n times as many connections per client). Every socket has
//! read/write timeouts and the whole run has a global deadline, so a stuck response fails the
//! test with the seed instead of hanging it.

mod support;

use std::io::{self, Cursor, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{serve, Client, Framing, Pattern, RawResponse, WAIT};
use tiny_http::{Header, Request, Response, StatusCode};

/// The whole run must finish within this, or the test fails with the seed.
const DEADLINE: Duration = Duration::from_secs(60);

/// Size of the "large" responses: streamed from a reader, above the parking limit.
const LARGE: usize = 200 * 1024;

/// Most request-body bytes in one pipelined burst, so that a client writing a whole burst
/// before reading can never fill both socket buffers while the server writes to it.
const BURST_BODY_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Small helpers: PRNG, checksum, deterministic bodies
// ---------------------------------------------------------------------------------------------

/// xorshift64* — small, fast and good enough for picking scenarios.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (never 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(z | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// FNV-1a, 64 bits.
fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// The body of small, delayed, deferred and chunked responses: the id, then `len` letters.
fn small_body(id: &str, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(id.len() + 1 + len);
    v.extend_from_slice(id.as_bytes());
    v.push(b':');
    v.extend((0..len).map(|i| b'a' + (i % 23) as u8));
    v
}

/// `STRESS_SCALE=<n>` multiplies the connections per client (longer soak runs).
fn scale_from_env() -> usize {
    std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

fn seed_from_env(salt: u64) -> u64 {
    match std::env::var("STRESS_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("STRESS_SEED={s:?} is not a number"))
        }
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            (nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 1_000_000_007
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------

/// What a handler does, chosen by the client and sent as the first path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `s`: responds at once with a small (or up to 60 KB, still parkable) known-length body.
    Small,
    /// `d`: sleeps `param` ms (0–5), then as `Small`.
    Delay,
    /// `l`: 200 KiB from a reader with a known length (never parked; chunked to HTTP/1.1).
    Large,
    /// `c`: `small_body(id, param)` from a reader of unknown length (chunked / close-delimited).
    Chunked,
    /// `x`: drops the request: the client expects an empty 500.
    Drop,
    /// `o`: hands request and response to the shuffler thread, which answers out of order.
    Deferred,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Small => 's',
            Kind::Delay => 'd',
            Kind::Large => 'l',
            Kind::Chunked => 'c',
            Kind::Drop => 'x',
            Kind::Deferred => 'o',
        }
    }

    fn from_letter(c: &str) -> Option<Kind> {
        Some(match c {
            "s" => Kind::Small,
            "d" => Kind::Delay,
            "l" => Kind::Large,
            "c" => Kind::Chunked,
            "x" => Kind::Drop,
            "o" => Kind::Deferred,
            _ => return None,
        })
    }
}

/// How much of the request body the handler reads before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadMode {
    /// `f`: to the end.
    Full,
    /// `p<k>`: at most k bytes.
    Partial(usize),
    /// `n`: nothing.
    Nothing,
}

impl ReadMode {
    fn encode(self) -> String {
        match self {
            ReadMode::Full => "f".into(),
            ReadMode::Partial(k) => format!("p{k}"),
            ReadMode::Nothing => "n".into(),
        }
    }

    fn decode(s: &str) -> Option<ReadMode> {
        match s.as_bytes().first()? {
            b'f' => Some(ReadMode::Full),
            b'n' => Some(ReadMode::Nothing),
            b'p' => s[1..].parse().ok().map(ReadMode::Partial),
            _ => None,
        }
    }
}

/// A reader over a shared [`Pattern`], for the large responses.
struct PatternBody {
    pattern: Arc<Pattern>,
    pos: usize,
    len: usize,
}

impl Read for PatternBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.len - self.pos);
        self.pattern.fill(self.pos as u64, &mut out[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// A reader that hands out its data in small, uneven pieces (for chunked responses).
struct Dribble {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Dribble {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.step).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        self.step = 1 + (self.step * 7 + 13) % 1500;
        Ok(n)
    }
}

type Deferred = Box<(Request, Response<Cursor<Vec<u8>>>)>;

/// Shared by the handler threads.
struct ServerSide {
    pattern: Arc<Pattern>,
    /// Taken (closing the channel) once the workers are gone, so the shuffler finishes.
    deferred: Mutex<Option<Sender<Deferred>>>,
    handled: AtomicU64,
    body_errors: AtomicU64,
}

fn hdr(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

impl ServerSide {
    fn handle(&self, mut rq: Request) {
        self.handled.fetch_add(1, Ordering::Relaxed);
        let url = rq.url().to_string();
        // /<kind>/<id>/<read mode>/<param>
        let parts: Vec<&str> = url.split('/').collect();
        let parsed = match parts.as_slice() {
            ["", kind, id, mode, param] => Kind::from_letter(kind)
                .zip(ReadMode::decode(mode))
                .zip(param.parse::<usize>().ok())
                .map(|((k, m), p)| (k, id.to_string(), m, p)),
            _ => None,
        };
        let Some((kind, id, mode, param)) = parsed else {
            let _ = rq.respond(
                Response::from_string(format!("bad stress url {url:?}")).with_status_code(599),
            );
            return;
        };

        let mut body = Vec::new();
        let read = match mode {
            ReadMode::Full => rq.as_reader().read_to_end(&mut body),
            ReadMode::Partial(k) => rq.as_reader().take(k as u64).read_to_end(&mut body),
            ReadMode::Nothing => Ok(0),
        };
        if let Err(e) = read {
            // Legitimate only when the client hung up; the client flags any 520 it reads.
            self.body_errors.fetch_add(1, Ordering::Relaxed);
            let _ = rq.respond(
                Response::from_string(format!("{id}: body read error: {e}")).with_status_code(520),
            );
            return;
        }
        let headers = vec![
            hdr("X-Id", &id),
            hdr("X-Read", &body.len().to_string()),
            hdr("X-Sum", &format!("{:016x}", fnv(&body))),
        ];
        let small = || {
            let mut r = Response::from_data(small_body(&id, param));
            for h in headers.clone() {
                r.add_header(h);
            }
            r
        };
        let _ = match kind {
            Kind::Small => rq.respond(small()),
            Kind::Delay => {
                thread::sleep(Duration::from_millis(param as u64));
                rq.respond(small())
            }
            Kind::Large => rq.respond(Response::new(
                StatusCode(200),
                headers.clone(),
                PatternBody {
                    pattern: Arc::clone(&self.pattern),
                    pos: 0,
                    len: LARGE,
                },
                Some(LARGE),
                None,
            )),
            Kind::Chunked => rq.respond(Response::new(
                StatusCode(200),
                headers.clone(),
                Dribble {
                    data: small_body(&id, param),
                    pos: 0,
                    step: 1 + param % 700,
                },
                None,
                None,
            )),
            Kind::Drop => {
                drop(rq);
                Ok(())
            }
            Kind::Deferred => {
                let r = small();
                let tx = self.deferred.lock().unwrap().clone();
                match tx.map(|tx| tx.send(Box::new((rq, r)))) {
                    Some(Ok(())) => Ok(()),
                    Some(Err(mpsc::SendError(back))) => {
                        let (rq, r) = *back;
                        rq.respond(r)
                    }
                    None => unreachable!("deferred channel closed while serving"),
                }
            }
        };
    }
}

/// Answers deferred requests from its own thread, in random order: each arrival answers one
/// random held request once 4 are held; anything held longer than 3 ms, or when nothing
/// arrives for 2 ms, is answered. Only small responses come here, so `respond` never waits
/// for an earlier response.
fn shuffler(rx: Receiver<Deferred>, seed: u64) {
    let mut rng = Rng::new(seed ^ 0x5EED_0F5A_FF1E);
    let mut held: Vec<(Instant, Deferred)> = Vec::new();
    let answer = |held: &mut Vec<(Instant, Deferred)>, i: usize| {
        let (_, item) = held.swap_remove(i);
        let (rq, r) = *item;
        let _ = rq.respond(r);
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(item) => {
                held.push((Instant::now(), item));
                if held.len() >= 4 {
                    let i = rng.below(held.len());
                    answer(&mut held, i);
                }
                while let Some(i) = held
                    .iter()
                    .position(|(t, _)| t.elapsed() > Duration::from_millis(3))
                {
                    answer(&mut held, i);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                while !held.is_empty() {
                    let i = rng.below(held.len());
                    answer(&mut held, i);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                while !held.is_empty() {
                    let i = rng.below(held.len());
                    answer(&mut held, i);
                }
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: planning
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    None,
    Length,
    Chunked,
}

/// One planned request.
#[derive(Debug)]
struct Planned {
    id: String,
    kind: Kind,
    mode: ReadMode,
    param: usize,
    framing: BodyFraming,
    body: Vec<u8>,
    http10: bool,
    /// HTTP/1.0 with `Connection: keep-alive`.
    keep_alive10: bool,
    /// HTTP/1.1 with `Connection: close`.
    close: bool,
    wire: Vec<u8>,
}

impl Planned {
    /// The connection must end after this response.
    fn must_close(&self) -> bool {
        self.close || (self.http10 && (!self.keep_alive10 || self.kind == Kind::Chunked))
    }

    /// The server may end the connection after this response (a body it did not read whole
    /// had not fully arrived when it answered).
    fn may_close(&self) -> bool {
        self.must_close() || (!self.body.is_empty() && self.mode != ReadMode::Full)
    }

    fn expected_read(&self) -> &[u8] {
        match self.mode {
            ReadMode::Full => &self.body,
            ReadMode::Partial(k) => &self.body[..k.min(self.body.len())],
            ReadMode::Nothing => &[],
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} {}{} body={:?}/{}{}{}",
            self.id,
            self.kind.letter(),
            self.param,
            self.framing,
            self.body.len(),
            match self.mode {
                ReadMode::Full => " read=all".to_string(),
                ReadMode::Partial(k) => format!(" read={k}"),
                ReadMode::Nothing => " read=none".to_string(),
            },
            if self.http10 {
                if self.keep_alive10 {
                    " 1.0+ka"
                } else {
                    " 1.0"
                }
            } else if self.close {
                " close"
            } else {
                ""
            },
        )
    }
}

fn plan_request(rng: &mut Rng, id: String, last: bool) -> Planned {
    let http10 = if last { rng.chance(12) } else { rng.chance(4) };
    let keep_alive10 = http10 && (!last || rng.chance(50));
    let close = !http10 && last && rng.chance(30);
    let kind = loop {
        let k = match rng.below(100) {
            0..=34 => Kind::Small,
            35..=49 => Kind::Delay,
            50..=57 => Kind::Large,
            58..=69 => Kind::Chunked,
            70..=77 => Kind::Drop,
            _ => Kind::Deferred,
        };
        // A close-delimited answer (unknown length to HTTP/1.0) can only be the last one.
        if !(http10 && !last && k == Kind::Chunked) {
            break k;
        }
    };
    let param = match kind {
        Kind::Delay => rng.range(0, 5),
        Kind::Small | Kind::Deferred | Kind::Chunked => match rng.below(10) {
            0..=6 => rng.range(0, 300),
            7..=8 => rng.range(300, 8000),
            _ => rng.range(30_000, 60_000),
        },
        Kind::Large | Kind::Drop => 0,
    };
    let framing = match rng.below(10) {
        0..=4 => BodyFraming::None,
        5..=7 => BodyFraming::Length,
        _ if http10 => BodyFraming::Length,
        _ => BodyFraming::Chunked,
    };
    let len = match framing {
        BodyFraming::None => 0,
        _ => match rng.below(20) {
            0..=13 => rng.range(0, 200),
            14..=18 => rng.range(200, 4096),
            _ => rng.range(4096, 48 * 1024),
        },
    };
    let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    let mode = match rng.below(10) {
        0..=5 => ReadMode::Full,
        6..=7 => ReadMode::Partial(rng.range(0, len + 10)),
        _ => ReadMode::Nothing,
    };

    let method = if framing == BodyFraming::None {
        "GET"
    } else if rng.chance(50) {
        "POST"
    } else {
        "PUT"
    };
    let path = format!("/{}/{}/{}/{}", kind.letter(), id, mode.encode(), param);
    let mut wire = Vec::with_capacity(200 + len + len / 8);
    let version = if http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    wire.extend_from_slice(format!("{method} {path} {version}\r\n").as_bytes());
    if !http10 || rng.chance(50) {
        wire.extend_from_slice(b"Host: stress\r\n");
    }
    if keep_alive10 {
        wire.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    if close {
        wire.extend_from_slice(b"Connection: close\r\n");
    }
    match framing {
        BodyFraming::None => wire.extend_from_slice(b"\r\n"),
        BodyFraming::Length => {
            wire.extend_from_slice(format!("Content-Length: {len}\r\n\r\n").as_bytes());
            wire.extend_from_slice(&body);
        }
        BodyFraming::Chunked => {
            wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = &body[..];
            while !rest.is_empty() {
                let n = rng.range(1, 5000).min(rest.len());
                let ext = if rng.chance(10) { ";ext=1" } else { "" };
                wire.extend_from_slice(format!("{n:x}{ext}\r\n").as_bytes());
                wire.extend_from_slice(&rest[..n]);
                wire.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            wire.extend_from_slice(b"0\r\n");
            if rng.chance(10) {
                wire.extend_from_slice(b"X-Trailer: yes\r\n");
            }
            wire.extend_from_slice(b"\r\n");
        }
    }
    Planned {
        id,
        kind,
        mode,
        param,
        framing,
        body,
        http10,
        keep_alive10,
        close,
        wire,
    }
}

/// One planned connection: requests, how they are grouped into bursts, and where (if at all)
/// the client hangs up.
struct ConnPlan {
    requests: Vec<Planned>,
    /// Burst sizes, summing to `requests.len()`.
    bursts: Vec<usize>,
    /// Hang up after reading this many responses.
    cut_after: Option<usize>,
    /// Write each burst in small fragments.
    fragmented: bool,
}

fn plan_connection(rng: &mut Rng, tid: usize, cid: usize) -> ConnPlan {
    let n = rng.range(1, 20);
    let requests: Vec<Planned> = (0..n)
        .map(|r| plan_request(rng, format!("{tid}.{cid}.{r}"), r + 1 == n))
        .collect();
    let style = rng.below(10);
    let mut bursts = Vec::new();
    let mut i = 0;
    while i < n {
        let want = match style {
            0..=3 => 1,           // one at a time
            4..=5 => n,           // everything at once
            _ => rng.range(1, 8), // random bursts
        };
        let mut size = 0;
        let mut bytes = 0;
        while i + size < n && size < want {
            let b = requests[i + size].body.len();
            if size > 0 && bytes + b > BURST_BODY_BYTES {
                break;
            }
            bytes += b;
            size += 1;
        }
        bursts.push(size);
        i += size;
    }
    let cut_after = rng.chance(10).then_some(n / 2);
    ConnPlan {
        requests,
        bursts,
        cut_after,
        fragmented: rng.chance(15),
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: running and checking
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests_sent: AtomicU64,
    responses_ok: AtomicU64,
    cut_by_client: AtomicU64,
    closed_by_server_early: AtomicU64,
    lost_to_server_close: AtomicU64,
}

enum After {
    KeepGoing,
    /// The server ended the connection after this response, as it may.
    Closed,
}

/// Checks one response against its request.
fn check_response(p: &Planned, r: &RawResponse, pattern: &Pattern) -> Result<After, String> {
    let head = &r.head;
    if head.version != "HTTP/1.1" {
        return Err(format!("status line version {:?}", head.version));
    }
    if head.header("content-length").is_some() && head.header("transfer-encoding").is_some() {
        return Err("both Content-Length and Transfer-Encoding".into());
    }
    if p.http10 && r.framing == Framing::Chunked {
        return Err("chunked response to an HTTP/1.0 request".into());
    }
    if !p.http10 && r.framing == Framing::Close {
        return Err("close-delimited response to an HTTP/1.1 request".into());
    }
    if p.kind == Kind::Drop {
        if r.status() != 500 || !r.body.is_empty() {
            return Err(format!(
                "dropped request: want an empty 500, got {} with {} body bytes",
                r.status(),
                r.body.len()
            ));
        }
    } else {
        if r.status() != 200 {
            return Err(format!(
                "status {} (body {:?})",
                r.status(),
                String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
            ));
        }
        if r.header("x-id") != Some(p.id.as_str()) {
            return Err(format!(
                "wrong response: X-Id {:?}, want {:?} (out of order or misframed)",
                r.header("x-id"),
                p.id
            ));
        }
        let want = p.expected_read();
        let read = r.header("x-read").unwrap_or("?");
        let sum = r.header("x-sum").unwrap_or("?");
        if read != want.len().to_string() || sum != format!("{:016x}", fnv(want)) {
            return Err(format!(
                "handler read {read} body bytes with sum {sum}, want {} with {:016x}",
                want.len(),
                fnv(want)
            ));
        }
        let body_ok = match p.kind {
            Kind::Large => r.body.len() == LARGE && pattern.matches(0, &r.body),
            _ => r.body == small_body(&p.id, p.param),
        };
        if !body_ok {
            return Err(format!(
                "wrong body: {} bytes starting {:?}",
                r.body.len(),
                String::from_utf8_lossy(&r.body[..r.body.len().min(60)])
            ));
        }
    }
    let says_close = head.has_token("connection", "close") || r.framing == Framing::Close;
    if p.http10 && p.keep_alive10 && !says_close && !head.has_token("connection", "keep-alive") {
        return Err("kept an HTTP/1.0 connection without `Connection: keep-alive`".into());
    }
    if p.close && !says_close {
        return Err("no `Connection: close` in the answer to `Connection: close`".into());
    }
    if says_close && !p.may_close() {
        return Err("server closed a connection that should stay open".into());
    }
    Ok(if says_close || p.must_close() {
        After::Closed
    } else {
        After::KeepGoing
    })
}

fn write_burst(
    stream: &mut impl Write,
    bytes: &[u8],
    rng: &mut Rng,
    fragmented: bool,
) -> io::Result<()> {
    if !fragmented {
        stream.write_all(bytes)?;
        return stream.flush();
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rng.range(1, 700).min(rest.len());
        stream.write_all(&rest[..n])?;
        stream.flush()?;
        rest = &rest[n..];
    }
    Ok(())
}

/// Runs one connection; `Err` describes the first thing that went wrong.
fn run_connection(
    addr: SocketAddr,
    plan: &ConnPlan,
    rng: &mut Rng,
    pattern: &Pattern,
    stats: &Stats,
) -> Result<(), String> {
    let mut c = Client::connect(addr);
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let mut next = 0; // next request to send
    let mut read = 0; // responses read
    for &size in &plan.bursts {
        let mut bytes = Vec::new();
        for p in &plan.requests[next..next + size] {
            bytes.extend_from_slice(&p.wire);
        }
        let write_error = write_burst(&mut c.stream, &bytes, rng, plan.fragmented).err();
        stats
            .requests_sent
            .fetch_add(size as u64, Ordering::Relaxed);
        next += size;
        while read < next {
            if plan.cut_after == Some(read) {
                stats.cut_by_client.fetch_add(1, Ordering::Relaxed);
                let _ = c.stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            let p = &plan.requests[read];
            let r = c.read_response().map_err(|e| {
                let after_close = read > 0 && plan.requests[read - 1].may_close();
                format!(
                    "reading the response to {}: {e}{}{}",
                    p.id,
                    match &write_error {
                        Some(w) => format!(" (the burst write failed: {w})"),
                        None => String::new(),
                    },
                    if after_close {
                        " (the previous response did not say `Connection: close`)"
                    } else {
                        ""
                    }
                )
            })?;
            let after = check_response(p, &r, pattern).map_err(|e| {
                format!(
                    "response to {}: {e}; head {:?}",
                    p.id,
                    String::from_utf8_lossy(&r.head.raw)
                )
            })?;
            read += 1;
            stats.responses_ok.fetch_add(1, Ordering::Relaxed);
            if let After::Closed = after {
                if r.framing != Framing::Close {
                    let rest = c
                        .read_to_close()
                        .map_err(|e| format!("after {}: the server did not close: {e}", p.id))?;
                    if !rest.is_empty() {
                        return Err(format!(
                            "after {} (which closes): unexpected bytes {:?}",
                            p.id,
                            String::from_utf8_lossy(&rest[..rest.len().min(200)])
                        ));
                    }
                }
                let lost = plan.requests.len() - read;
                if lost > 0 {
                    if p.must_close() {
                        return Err(format!("planned requests after {} which closes", p.id));
                    }
                    stats.closed_by_server_early.fetch_add(1, Ordering::Relaxed);
                    stats
                        .lost_to_server_close
                        .fetch_add(lost as u64, Ordering::Relaxed);
                }
                return Ok(());
            }
        }
        if let Some(w) = write_error {
            return Err(format!(
                "writing a burst failed ({w}) but every response came and none closed"
            ));
        }
    }
    if plan.requests.last().is_some_and(|p| p.must_close()) {
        return Err("the last request closes, but the loop did not end there".into());
    }
    // Every planned request was answered on a connection the client did not cut short.
    if read != plan.requests.len() {
        return Err(format!(
            "{read} responses for {} requests",
            plan.requests.len()
        ));
    }
    Ok(())
}

struct Workload {
    workers: usize,
    clients: usize,
    connections_per_client: usize,
}

fn describe_plan(plan: &ConnPlan) -> String {
    let mut s = format!(
        "bursts {:?}, cut after {:?} responses, fragmented writes: {}\n",
        plan.bursts, plan.cut_after, plan.fragmented
    );
    for p in &plan.requests {
        s.push_str("    ");
        s.push_str(&p.describe());
        s.push('\n');
    }
    s
}

fn run_workload(w: &Workload, seed: u64) -> Result<String, String> {
    let pattern = Arc::new(Pattern::new());
    let (deferred_tx, deferred_rx) = mpsc::channel::<Deferred>();
    let (shuffler_done_tx, shuffler_done_rx) = mpsc::channel::<()>();
    thread::Builder::new()
        .name("stress-shuffler".into())
        .spawn(move || {
            shuffler(deferred_rx, seed);
            let _ = shuffler_done_tx.send(());
        })
        .expect("spawn shuffler");
    let side = Arc::new(ServerSide {
        pattern: Arc::clone(&pattern),
        deferred: Mutex::new(Some(deferred_tx)),
        handled: AtomicU64::new(0),
        body_errors: AtomicU64::new(0),
    });
    let handler_side = Arc::clone(&side);
    let srv = serve(w.workers, move |rq| handler_side.handle(rq));
    let addr = srv.addr();
    let stats = Arc::new(Stats::default());

    let started = Instant::now();
    let mut threads = Vec::new();
    for tid in 0..w.clients {
        let stats = Arc::clone(&stats);
        let pattern = Arc::clone(&pattern);
        let conns = w.connections_per_client * scale_from_env();
        threads.push(
            thread::Builder::new()
                .name(format!("stress-client-{tid}"))
                .spawn(move || -> Result<(), String> {
                    let mut rng = Rng::new(seed ^ ((tid as u64 + 1) << 32));
                    for cid in 0..conns {
                        let plan = plan_connection(&mut rng, tid, cid);
                        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                            run_connection(addr, &plan, &mut rng, &pattern, &stats)
                        }))
                        .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&*p))));
                        outcome.map_err(|e| {
                            format!(
                                "client {tid}, connection {cid}: {e}\n  plan: {}",
                                describe_plan(&plan)
                            )
                        })?;
                    }
                    Ok(())
                })
                .expect("spawn client"),
        );
    }
    let mut errors = Vec::new();
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(p) => errors.push(format!("client thread panicked: {}", panic_text(&*p))),
        }
    }
    let client_time = started.elapsed();

    // Later connections are still served, and the server lets go of every connection.
    if errors.is_empty() {
        let mut c = srv.client();
        c.send("GET /s/final/f/5 HTTP/1.1\r\nHost: stress\r\nConnection: close\r\n\r\n");
        match c.read_response() {
            Ok(r) if r.status() == 200 && r.body == small_body("final", 5) => {}
            Ok(r) => errors.push(format!("final request: {} {:?}", r.status(), r.body_str())),
            Err(e) => errors.push(format!("final request: {e}")),
        }
        drop(c);
        if !support::wait_until(WAIT, || srv.server.num_connections() == 0) {
            errors.push(format!(
                "{} connections still open on the server after every client finished",
                srv.server.num_connections()
            ));
        }
    }
    drop(srv);
    side.deferred.lock().unwrap().take();
    if shuffler_done_rx.recv_timeout(WAIT).is_err() {
        errors.push("the shuffler thread did not finish".into());
    }

    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let handled = get(&side.handled);
    let summary = format!(
        "seed {seed}: {} workers, {} connections, {} requests sent, {} responses checked, \
         {} handled, {} cut by the client, {} closed early by the server ({} requests lost), \
         {} body read errors, clients took {:.2?}",
        w.workers,
        get(&stats.connections),
        get(&stats.requests_sent),
        get(&stats.responses_ok),
        handled,
        get(&stats.cut_by_client),
        get(&stats.closed_by_server_early),
        get(&stats.lost_to_server_close),
        get(&side.body_errors),
        client_time,
    );
    if errors.is_empty() {
        // Every response read came from a handled request (plus the final one).
        if handled < get(&stats.responses_ok) + 1 || handled > get(&stats.requests_sent) + 1 {
            errors.push(format!("handled count {handled} out of range"));
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(format!("{summary}\n{}", errors.join("\n")))
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

/// Runs the workload under the global deadline; panics with the seed on any failure.
fn stress(name: &str, salt: u64, w: Workload) {
    let seed = seed_from_env(salt);
    println!("{name}: seed {seed} (rerun with STRESS_SEED={seed})");
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name(format!("{name}-driver"))
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(|| run_workload(&w, seed)))
                .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&*p))));
            let _ = tx.send(r);
        })
        .expect("spawn driver");
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(summary)) => println!("{name}: {summary}"),
        Ok(Err(e)) => panic!("{name} failed (STRESS_SEED={seed}):\n{e}"),
        Err(_) => panic!(
            "{name} did not finish within {DEADLINE:?} (STRESS_SEED={seed}): something hangs"
        ),
    }
}

#[test]
fn stress_three_workers() {
    stress(
        "stress_three_workers",
        3,
        Workload {
            workers: 3,
            clients: 16,
            connections_per_client: 30,
        },
    );
}

/// The same workload with a single thread doing everything: the event loop's leader and the
/// only handler are one thread, so a corked or parked response may only rely on that thread.
#[test]
fn stress_single_worker() {
    stress(
        "stress_single_worker",
        1,
        Workload {
            workers: 1,
            clients: 6,
            connections_per_client: 12,
        },
    );
}
