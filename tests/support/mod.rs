//! Shared helpers for the black-box tests: a server with handler threads, a raw client that
//! speaks bytes over a real socket, and a small independent parser of response heads and
//! bodies (so the tests do not trust the library to check itself).
//!
//! Every wait here is bounded: sockets get read timeouts, channels are read with
//! `recv_timeout`, and polling loops have deadlines.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tiny_http::{Request, Server};

/// How long any single network read may block before a test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a test waits for something that must happen soon.
pub const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------

/// A `Server` on 127.0.0.1 (port 0) with `workers` threads calling `recv()` and passing every
/// request to a handler closure. Dropping it unblocks and waits (bounded) for the workers.
pub struct TestServer {
    pub server: Arc<Server>,
    workers: usize,
    exited: Receiver<()>,
}

/// Sends one message when dropped, even when the handler panicked.
struct ExitSignal(mpsc::Sender<()>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Starts a server with `workers` handler threads running `handler` for each request.
pub fn serve<F>(workers: usize, handler: F) -> TestServer
where
    F: Fn(Request) + Send + Sync + 'static,
{
    let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
    serve_on(server, workers, handler)
}

/// Runs `workers` handler threads on an existing server.
pub fn serve_on<F>(server: Arc<Server>, workers: usize, handler: F) -> TestServer
where
    F: Fn(Request) + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let (tx, exited) = mpsc::channel();
    for i in 0..workers {
        let server = Arc::clone(&server);
        let handler = Arc::clone(&handler);
        let signal = ExitSignal(tx.clone());
        thread::Builder::new()
            .name(format!("test-worker-{i}"))
            .spawn(move || {
                let _signal = signal;
                while let Ok(rq) = server.recv() {
                    handler(rq);
                }
            })
            .expect("spawn worker");
    }
    TestServer {
        server,
        workers,
        exited,
    }
}

impl TestServer {
    /// The TCP address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server
            .server_addr()
            .to_ip()
            .expect("server listens on TCP")
    }

    /// A fresh raw client connected to the server.
    pub fn client(&self) -> Client {
        Client::connect(self.addr())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Unblock until every worker has left `recv()`, bounded. Works whether an unblock that
        // finds no waiting thread is remembered or forgotten.
        let deadline = Instant::now() + WAIT;
        let mut gone = 0;
        while gone < self.workers && Instant::now() < deadline {
            self.server.unblock();
            while self.exited.recv_timeout(Duration::from_millis(20)).is_ok() {
                gone += 1;
            }
        }
        if gone < self.workers && !thread::panicking() {
            panic!(
                "only {gone} of {} worker threads left recv() after unblock()",
                self.workers
            );
        }
    }
}

/// Polls `f` until it returns true or the deadline passes; returns the last result.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Reads one `Name: value` field of /proc/self/status as a number (first token).
pub fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field) {
            if let Some(rest) = rest.strip_prefix(':') {
                let n = rest.split_whitespace().next().expect("value");
                return n.parse().expect("numeric value");
            }
        }
    }
    panic!("no {field} in /proc/self/status");
}

/// Builds a header from a `Name: value` literal.
pub fn header(s: &str) -> tiny_http::Header {
    s.parse().expect("valid header literal")
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

/// A raw HTTP/1.x client over any byte stream with its own read buffer, so bytes that arrive
/// after one response (pipelining) are kept for the next.
pub struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
    start: usize,
}

/// The usual client: TCP with a read timeout and `TCP_NODELAY`.
pub type Client = Conn<TcpStream>;

impl Conn<TcpStream> {
    /// Connects with a read timeout of [`IO_TIMEOUT`] and `TCP_NODELAY` on.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to test server");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn::new(stream)
    }

    /// Waits at most `d` for any byte; true when something (data or EOF) arrived.
    pub fn anything_within(&mut self, d: Duration) -> bool {
        if self.start < self.buf.len() {
            return true;
        }
        self.stream.set_read_timeout(Some(d)).unwrap();
        let r = self.fill();
        self.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match r {
            Ok(_) => true,
            Err(e) if is_timeout(&e) => false,
            Err(_) => true,
        }
    }
}

/// True for the errors a socket read timeout produces.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<S: Read + Write> Conn<S> {
    /// Wraps a stream the caller has configured (timeouts are the caller's job).
    pub fn new(stream: S) -> Self {
        Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }

    /// Writes all bytes and flushes.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("client write");
        self.stream.flush().expect("client flush");
    }

    /// Reads more bytes into the buffer; `Ok(0)` is EOF.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 64 * 1024, 0);
        let r = loop {
            match self.stream.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        self.buf.truncate(old + *r.as_ref().unwrap_or(&0));
        r
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads one response head (status line and fields).
    pub fn read_head(&mut self) -> io::Result<Head> {
        loop {
            if let Some(end) = find(&self.buf[self.start..], b"\r\n\r\n") {
                let raw = self.buf[self.start..self.start + end + 4].to_vec();
                self.start += end + 4;
                return Head::parse(&raw);
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "EOF before a complete response head; got {:?}",
                        String::from_utf8_lossy(&self.buf[self.start..])
                    ),
                ));
            }
        }
    }

    /// Reads one complete response to a non-HEAD request.
    pub fn read_response(&mut self) -> io::Result<RawResponse> {
        self.read_response_to(false)
    }

    /// Reads one complete response; `head_request` means it answers a HEAD (no body).
    pub fn read_response_to(&mut self, head_request: bool) -> io::Result<RawResponse> {
        let head = self.read_head()?;
        let framing = head.framing(head_request);
        let mut body = Vec::new();
        let mut reader = self.body_reader(framing.clone());
        reader.read_to_end(&mut body)?;
        let trailers = reader.trailers.clone();
        Ok(RawResponse {
            head,
            framing,
            body,
            trailers,
        })
    }

    /// A reader of one body with the given framing, streaming (nothing is buffered whole).
    pub fn body_reader(&mut self, framing: Framing) -> BodyReader<'_, S> {
        let state = match framing {
            Framing::None => BodyState::Done,
            Framing::Length(n) => BodyState::Fixed(n),
            Framing::Chunked => BodyState::ChunkSize,
            Framing::Close => BodyState::UntilClose,
        };
        BodyReader {
            conn: self,
            state,
            trailers: Vec::new(),
        }
    }

    /// Reads until EOF (or an error such as reset) and returns everything received.
    pub fn read_to_close(&mut self) -> io::Result<Vec<u8>> {
        // Bounded as a whole, not only per read: a server trickling bytes fails the test.
        let deadline = Instant::now() + WAIT;
        loop {
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer kept sending instead of closing",
                ));
            }
            match self.fill() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(e),
                Err(_) => break, // reset counts as closed
            }
        }
        let out = self.buf[self.start..].to_vec();
        self.start = self.buf.len();
        Ok(out)
    }

    /// True when the peer closes (EOF or reset) with no further bytes, within the read
    /// timeout. Panics on unexpected bytes.
    pub fn expect_closed(&mut self) {
        let rest = self
            .read_to_close()
            .expect("server should close the connection");
        assert!(
            rest.is_empty(),
            "expected close, got bytes {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Reads exactly `n` raw bytes (after any buffered ones).
    pub fn read_exact_raw(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() - self.start < n {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        Ok(out)
    }

    /// Consumes up to `out.len()` buffered-or-fresh bytes.
    fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.buf.len() {
            // Large reads go straight to the caller's buffer.
            if out.len() >= 16 * 1024 {
                self.buf.clear();
                self.start = 0;
                return loop {
                    match self.stream.read(out) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => break r,
                    }
                };
            }
            if self.fill()? == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf[self.start..], b"\r\n") {
                let line = self.buf[self.start..self.start + end].to_vec();
                self.start += end + 2;
                return Ok(line);
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF inside chunked framing",
                ));
            }
        }
    }
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How a response body is delimited (RFC 9112 §6.3, client side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (HEAD, 1xx, 204, 304).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Read until the server closes.
    Close,
}

enum BodyState {
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    UntilClose,
    Done,
}

/// Streams one response body off a [`Conn`], decoding chunked framing.
pub struct BodyReader<'a, S> {
    conn: &'a mut Conn<S>,
    state: BodyState,
    /// Trailer fields seen after the last chunk.
    pub trailers: Vec<(String, String)>,
}

impl<S: Read + Write> Read for BodyReader<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                BodyState::Done => return Ok(0),
                BodyState::Fixed(0) => {
                    self.state = BodyState::Done;
                    return Ok(0);
                }
                BodyState::Fixed(left) => {
                    let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.conn.read_some(&mut out[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("EOF with {left} body bytes missing"),
                        ));
                    }
                    self.state = BodyState::Fixed(left - n as u64);
                    return Ok(n);
                }
                BodyState::UntilClose => {
                    return match self.conn.read_some(out) {
                        Ok(0) => {
                            self.state = BodyState::Done;
                            Ok(0)
                        }
                        Err(e) if is_timeout(&e) => Err(e),
                        Err(_) => {
                            self.state = BodyState::Done;
                            Ok(0)
                        }
                        ok => ok,
                    };
                }
                BodyState::ChunkSize => {
                    let line = self.conn.read_line()?;
                    let line = String::from_utf8(line)
                        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "chunk size"))?;
                    let size_text = line.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("bad chunk size line {line:?}"),
                        )
                    })?;
                    if size == 0 {
                        loop {
                            let t = self.conn.read_line()?;
                            if t.is_empty() {
                                break;
                            }
                            let t = String::from_utf8_lossy(&t).into_owned();
                            let (n, v) = t.split_once(':').unwrap_or((&t, ""));
                            self.trailers
                                .push((n.trim().to_string(), v.trim().to_string()));
                        }
                        self.state = BodyState::Done;
                        return Ok(0);
                    }
                    self.state = BodyState::ChunkData(size);
                }
                BodyState::ChunkData(0) => {
                    let crlf = self.conn.read_line()?;
                    if !crlf.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "chunk data not followed by CRLF",
                        ));
                    }
                    self.state = BodyState::ChunkSize;
                }
                BodyState::ChunkData(left) => {
                    let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.conn.read_some(&mut out[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "EOF inside a chunk",
                        ));
                    }
                    self.state = BodyState::ChunkData(left - n as u64);
                    return Ok(n);
                }
            }
        }
    }
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct Head {
    /// `HTTP/1.1` etc.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Field names as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The head exactly as received.
    pub raw: Vec<u8>,
}

impl Head {
    /// Parses `raw`, which ends with the blank line.
    pub fn parse(raw: &[u8]) -> io::Result<Head> {
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{what} in response head {:?}", String::from_utf8_lossy(raw)),
            )
        };
        let text = std::str::from_utf8(raw).map_err(|_| bad("non-UTF-8"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_string();
        if !version.starts_with("HTTP/1.") {
            return Err(bad("bad version"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status code"))?;
        let reason = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            let (n, v) = line
                .split_once(':')
                .ok_or_else(|| bad("field without colon"))?;
            if n.is_empty() || n.contains(char::is_whitespace) {
                return Err(bad("bad field name"));
            }
            headers.push((n.to_string(), v.trim().to_string()));
        }
        Ok(Head {
            version,
            status,
            reason,
            headers,
            raw: raw.to_vec(),
        })
    }

    /// The first value of a field (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when a comma-separated field contains `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// How the body that follows is delimited.
    pub fn framing(&self, head_request: bool) -> Framing {
        if head_request || (100..200).contains(&self.status) || matches!(self.status, 204 | 304) {
            return Framing::None;
        }
        if let Some(te) = self.header("transfer-encoding") {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            return if last.eq_ignore_ascii_case("chunked") {
                Framing::Chunked
            } else {
                Framing::Close
            };
        }
        if let Some(cl) = self.header("content-length") {
            return Framing::Length(cl.trim().parse().expect("numeric Content-Length"));
        }
        Framing::Close
    }
}

/// One complete response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub head: Head,
    pub framing: Framing,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl RawResponse {
    pub fn status(&self) -> u16 {
        self.head.status
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic payloads for the streaming tests
// ---------------------------------------------------------------------------------------------

/// A deterministic pseudo-random byte stream: byte `p` is `TABLE[p % L]` with `L` a prime, so
/// that it never lines up with power-of-two buffer sizes. Generation and checking are memcpy
/// and memcmp, fast even without optimisation.
pub struct Pattern {
    table: Vec<u8>,
}

impl Default for Pattern {
    fn default() -> Self {
        Self::new()
    }
}

impl Pattern {
    const L: usize = 65_521;

    pub fn new() -> Self {
        let mut x: u32 = 0x9E37_79B9;
        let mut table = Vec::with_capacity(2 * Self::L);
        for _ in 0..Self::L {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            table.push((x >> 24) as u8);
        }
        let copy = table.clone();
        table.extend_from_slice(&copy);
        Pattern { table }
    }

    /// Fills `out` with the bytes at positions `pos..pos + out.len()`.
    pub fn fill(&self, mut pos: u64, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let off = (pos % Self::L as u64) as usize;
            let n = (out.len() - done).min(Self::L);
            out[done..done + n].copy_from_slice(&self.table[off..off + n]);
            done += n;
            pos += n as u64;
        }
    }

    /// True when `data` equals the bytes at `pos..`.
    pub fn matches(&self, mut pos: u64, data: &[u8]) -> bool {
        let mut done = 0;
        while done < data.len() {
            let off = (pos % Self::L as u64) as usize;
            let n = (data.len() - done).min(Self::L);
            if data[done..done + n] != self.table[off..off + n] {
                return false;
            }
            done += n;
            pos += n as u64;
        }
        true
    }
}

/// A `Read` that generates `len` bytes of [`Pattern`] without holding them.
pub struct PatternReader {
    pattern: Pattern,
    pos: u64,
    len: u64,
}

impl PatternReader {
    pub fn new(len: u64) -> Self {
        PatternReader {
            pattern: Pattern::new(),
            pos: 0,
            len,
        }
    }
}

impl Read for PatternReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out
            .len()
            .min(usize::try_from(self.len - self.pos).unwrap_or(usize::MAX));
        self.pattern.fill(self.pos, &mut out[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads `reader` to EOF checking it against [`Pattern`]; returns the byte count, or the
/// offset of the first mismatching read as an error.
pub fn check_pattern(mut reader: impl Read, buf_size: usize) -> Result<u64, String> {
    let pattern = Pattern::new();
    let mut buf = vec![0u8; buf_size];
    let mut pos = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(pos),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read error at byte {pos}: {e}")),
        };
        if !pattern.matches(pos, &buf[..n]) {
            return Err(format!("wrong bytes in {pos}..{}", pos + n as u64));
        }
        pos += n as u64;
    }
}

/// A handler that reads the whole body and answers `METHOD URL VERSION [headers] body`, with
/// headers as `name=value` joined by `|`.
pub fn echo(mut rq: Request) {
    let mut body = Vec::new();
    let read = rq.as_reader().read_to_end(&mut body);
    let headers: Vec<String> = rq
        .headers()
        .iter()
        .map(|h| {
            format!(
                "{}={}",
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value
            )
        })
        .collect();
    let text = format!(
        "{} {} {} [{}] {}",
        rq.method(),
        rq.url(),
        rq.http_version(),
        headers.join("|"),
        match read {
            Ok(_) => String::from_utf8_lossy(&body).into_owned(),
            Err(e) => format!("BODY ERROR: {e}"),
        }
    );
    let _ = rq.respond(tiny_http::Response::from_string(text));
}

// ---------------------------------------------------------------------------------------------
// Hardening tests: configured servers, interim responses, descriptor limits
// ---------------------------------------------------------------------------------------------

/// Starts a server built by `builder` (limits, deadlines) on 127.0.0.1 with `workers` handler
/// threads running `handler`.
pub fn serve_with<F>(builder: tiny_http::ServerBuilder, workers: usize, handler: F) -> TestServer
where
    F: Fn(Request) + Send + Sync + 'static,
{
    let server = Arc::new(builder.http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
    serve_on(server, workers, handler)
}

impl<S: Read + Write> Conn<S> {
    /// Reads the next final response, skipping interim (1xx) ones such as `100 Continue`.
    pub fn read_final_response(&mut self) -> io::Result<RawResponse> {
        // A handful of interim responses at most (one per request, in practice).
        for _ in 0..8 {
            let r = self.read_response()?;
            if !(100..200).contains(&r.status()) {
                return Ok(r);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "too many interim responses",
        ))
    }
}

/// Raises the soft open-files limit to at least `want` (bounded by the hard limit when not
/// privileged). Returns the limit in force afterwards. (Windows has no such limit.)
#[cfg(not(unix))]
pub fn raise_open_files_limit(want: u64) -> u64 {
    want
}

/// Raises the soft open-files limit to at least `want` (bounded by the hard limit when not
/// privileged). Returns the limit in force afterwards.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is u64 on Linux, not on every unix
pub fn raise_open_files_limit(want: u64) -> u64 {
    // libc (a dependency of the library on unix) rather than a safe wrapper crate: two
    // plain calls on a local struct, and one dependency fewer to build for the tests.
    fn get() -> Option<libc::rlimit> {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit.
        (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim)
    }
    fn set(lim: &libc::rlimit) -> bool {
        // SAFETY: `lim` is a valid rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, lim) == 0 }
    }
    let Some(lim) = get() else {
        return 0;
    };
    let want = want as libc::rlim_t;
    if lim.rlim_cur < want {
        let both = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max.max(want),
        };
        if !set(&both) {
            let _ = set(&libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            });
        }
    }
    get().map_or(0, |l| l.rlim_cur as u64)
}
