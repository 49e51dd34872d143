//! [`Request`]: one HTTP request handed to a handler, with its body reader and the right to
//! send exactly one response.
//!
//! ```text
//!   recv() ──► Request ──as_reader()──► body bytes straight from the socket
//!                 │                     (100 Continue first if the client asked; the read
//!                 │                      side returns to the event loop when the body ends)
//!                 ├─respond(resp)──► written in request order on the connection
//!                 ├─into_writer()──► raw writer; the connection closes after it
//!                 ├─upgrade(p, resp)► 101-style response, then the raw stream
//!                 └─drop──────────► empty 500
//! ```
//!
//! # Invariants
//! - Every request gets exactly one response (or the connection closes): `Drop` answers 500.
//! - Before a response is written the rest of the body is drained (up to a bound) so the
//!   connection can carry the next request; otherwise the connection closes after it.

use std::fmt;
use std::io::{self, Cursor, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::proto::decode::BodyDecoder;
use crate::proto::encode::error_response;
use crate::proto::head::{BodyKind, RequestHead};
use crate::response::{SendFile, WriteContext, Written};
use crate::runtime::conn::{Conn, Submitted, Turn};
use crate::runtime::driver::Msg;
use crate::runtime::readbuf::ReadBuf;
use crate::transport::Readiness;
use crate::{HTTPVersion, Header, Method, Response, StatusCode};

/// Anything that can be read from and written to: what [`Request::upgrade`] hands over.
pub trait ReadWrite: Read + Write {}

impl<T> ReadWrite for T where T: Read + Write {}

/// Responses up to this size (known in advance) are rendered in memory, so that a handler
/// answering out of order never waits for the handlers of earlier requests.
const PARK_LIMIT: usize = 64 * 1024;
/// How much of an unread request body that has already arrived is drained (without waiting)
/// before a response, to keep the connection.
const DRAIN_LIMIT: u64 = 1024 * 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// An HTTP request received by the [`Server`](crate::Server).
///
/// Answer it with [`respond`](Request::respond); a request dropped without an answer gets an
/// empty `500 Internal Server Error`.
///
/// ```no_run
/// use tiny_http::{Response, Server};
///
/// let server = Server::http("127.0.0.1:8000").unwrap();
/// for mut request in server.incoming_requests() {
///     let mut body = String::new();
///     request.as_reader().read_to_string(&mut body).unwrap();
///     let reply = format!("{} {} ({} body bytes)", request.method(), request.url(), body.len());
///     request.respond(Response::from_string(reply)).unwrap();
/// }
/// ```
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<Header>,
    version: HTTPVersion,
    body_length: Option<usize>,
    remote_addr: Option<SocketAddr>,
    secure: bool,
    body: Body,
    reply: Option<Reply>,
}

/// Where the body bytes come from.
enum Body {
    Memory(Cursor<Vec<u8>>),
    Socket(Box<SocketBody>),
}

/// Where the response goes: a connection and this request's place in its response order.
struct Reply {
    conn: Option<Arc<Conn>>,
    seq: u64,
    version: HTTPVersion,
    head_request: bool,
    keep_alive: bool,
    /// `recv()` handed the request to a handler (counted in `Conn::handed_out`): the count
    /// drops when the reply is done with, answered or not.
    handed: bool,
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.handed {
            if let Some(conn) = &self.conn {
                conn.handler_done();
            }
        }
    }
}

impl Request {
    /// Builds a request parsed by the event loop. `buf` is the read side when the request has
    /// a body or may switch protocols (`hold`: keep the read side until the response).
    pub(crate) fn from_network(
        head: RequestHead,
        conn: Arc<Conn>,
        seq: u64,
        buf: Option<ReadBuf>,
        hold: bool,
    ) -> Request {
        // Any Content-Length, 0 included, is `BodyKind::Length`; `Empty` means none was sent.
        let body_length = match head.body {
            BodyKind::Length(n) => usize::try_from(n).ok(),
            BodyKind::Chunked | BodyKind::Empty => None,
        };
        let body = match buf {
            Some(buf) => Body::Socket(Box::new(SocketBody {
                decoder: BodyDecoder::new(&head.body, conn.settings.limits.max_body_size),
                continue_due: head.expect_continue && !matches!(head.body, BodyKind::Empty),
                conn: conn.clone(),
                seq,
                buf,
                hold,
                keep_alive: head.keep_alive,
                state: BodyState::Reading,
                started: None,
                received: 0,
                timed_out: false,
                no_wait: false,
            })),
            None => Body::Memory(Cursor::new(Vec::new())),
        };
        let (remote_addr, secure) = (conn.remote_addr, conn.stream.is_tls());
        Request {
            reply: Some(Reply {
                seq,
                version: head.version.clone(),
                head_request: head.method == Method::Head,
                keep_alive: head.keep_alive,
                conn: Some(conn),
                handed: false,
            }),
            remote_addr,
            secure,
            method: head.method,
            url: head.target,
            headers: head.headers,
            version: head.version,
            body_length,
            body,
        }
    }

    /// Builds a request with no network behind it (see [`TestRequest`](crate::TestRequest)):
    /// the body comes from memory and the response is discarded.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn in_memory(
        method: Method,
        url: String,
        headers: Vec<Header>,
        version: HTTPVersion,
        body: Vec<u8>,
        remote_addr: Option<SocketAddr>,
        secure: bool,
    ) -> Request {
        Request {
            reply: Some(Reply {
                conn: None,
                seq: 0,
                version: version.clone(),
                head_request: method == Method::Head,
                keep_alive: true,
                handed: false,
            }),
            body_length: Some(body.len()),
            body: Body::Memory(Cursor::new(body)),
            method,
            url,
            headers,
            version,
            remote_addr,
            secure,
        }
    }

    /// True if the request arrived over TLS.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target exactly as sent, e.g. `/search?q=rust`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The header fields, in the order received, duplicates kept.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The HTTP version of the request.
    pub fn http_version(&self) -> &HTTPVersion {
        &self.version
    }

    /// The body's length from `Content-Length`, when the client sent one.
    pub fn body_length(&self) -> Option<usize> {
        self.body_length
    }

    /// The client's address; `None` on unix sockets.
    pub fn remote_addr(&self) -> Option<&SocketAddr> {
        self.remote_addr.as_ref()
    }

    /// The request body: exactly its bytes (de-chunked), then end-of-file.
    ///
    /// When the client sent `Expect: 100-continue`, the interim `100 Continue` goes out on the
    /// first read. A malformed chunked body gives `io::ErrorKind::InvalidData`, a client that
    /// stops sending `TimedOut`, a client that closes early `UnexpectedEof`.
    pub fn as_reader(&mut self) -> &mut dyn Read {
        &mut self.body
    }

    /// Sends `response` to the client.
    ///
    /// Responses on one connection reach the client in request order whatever order they are
    /// given in; a small response (known length up to 64 KiB) given early is kept in memory
    /// until its turn, a larger one waits for its turn. Errors caused by a client that went
    /// away (broken pipe, reset, aborted) are not reported.
    pub fn respond<R: Read>(mut self, response: Response<R>) -> io::Result<()> {
        let body_ok = self.body.finish();
        match self.reply.take() {
            Some(reply) => reply.send(response, body_ok),
            None => Ok(()),
        }
    }

    /// Hands over the raw response stream: whatever is written reaches the client as is
    /// (status line and headers included), and the connection closes when the writer drops.
    pub fn into_writer(mut self) -> Box<dyn Write + Send + 'static> {
        let _ = self.body.finish();
        let Some(mut reply) = self.reply.take() else {
            return Box::new(io::sink());
        };
        match &reply.conn {
            Some(conn) if conn.wait_turn(reply.seq) == Turn::Go => Box::new(RawWriter {
                conn: conn.clone(),
                seq: reply.seq,
                // The application writes raw bytes at its own pace, and may carry on after a
                // timeout: the stall deadline only.
                meter: WriteMeter::stall_only(),
                // The handler is done with the request when the writer is dropped.
                handed: std::mem::take(&mut reply.handed),
            }),
            _ => Box::new(io::sink()),
        }
    }

    /// Sends `response` with `Connection: upgrade` and `Upgrade: protocol` (normally a
    /// `101 Switching Protocols`), then hands over the raw stream, starting with any bytes the
    /// client sent right after its request.
    ///
    /// ```no_run
    /// # let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    /// # let request = server.recv().unwrap();
    /// use std::io::{Read, Write};
    /// let response = tiny_http::Response::empty(101);
    /// let mut stream = request.upgrade("echo", response);
    /// let mut buf = [0; 1024];
    /// let n = stream.read(&mut buf).unwrap();
    /// stream.write_all(&buf[..n]).unwrap();
    /// ```
    pub fn upgrade<R: Read>(
        mut self,
        protocol: &str,
        response: Response<R>,
    ) -> Box<dyn ReadWrite + Send> {
        let Some(reply) = self.reply.take() else {
            return Box::new(Cursor::new(Vec::new()));
        };
        let Some(conn) = reply.conn.clone() else {
            let _ = reply.send_upgrade(response, protocol);
            return Box::new(Cursor::new(Vec::new()));
        };
        let leftover = match &mut self.body {
            Body::Socket(b) if b.state == BodyState::Reading && b.decoder.is_done() => {
                b.state = BodyState::Upgraded;
                std::mem::take(&mut b.buf)
            }
            // The body was not consumed (or already went back to the event loop): the bytes
            // that follow cannot be told apart from the new protocol's.
            _ => ReadBuf::default(),
        };
        let buf = match reply.send_upgrade(response, protocol) {
            Ok(()) => leftover,
            Err(e) => {
                log::debug!("upgrade failed: {e}");
                ReadBuf::default()
            }
        };
        Box::new(Upgraded {
            conn,
            buf,
            meter: WriteMeter::stall_only(),
        })
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            let body_ok = self.body.finish();
            // A request whose client was too slow sending its body is answered 408
            // (RFC 9110 §15.5.9); any other unanswered request 500.
            let timed_out = matches!(&self.body, Body::Socket(b) if b.timed_out);
            let status = if timed_out { 408 } else { 500 };
            let _ = reply.send(Response::empty(StatusCode(status)), body_ok);
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.remote_addr {
            Some(addr) => write!(f, "Request({} {} from {})", self.method, self.url, addr),
            None => write!(
                f,
                "Request({} {} from a unix socket)",
                self.method, self.url
            ),
        }
    }
}

impl Reply {
    fn context<'a>(&self, body_ok: bool, upgrade: Option<&'a str>) -> WriteContext<'a> {
        WriteContext {
            version: self.version.clone(),
            head_request: self.head_request,
            keep_alive: self.keep_alive && body_ok,
            upgrade,
        }
    }

    /// The guard that keeps this response's place if the body reader panics.
    fn unwinding<'a>(&'a self, conn: &'a Conn, turn_held: bool) -> Unwinding<'a> {
        Unwinding {
            conn,
            seq: self.seq,
            version: &self.version,
            turn_held,
        }
    }

    fn send<R: Read>(self, response: Response<R>, body_ok: bool) -> io::Result<()> {
        let ctx = self.context(body_ok, None);
        let Some(conn) = &self.conn else {
            return response.write_message(&ctx, io::sink()).map(drop);
        };
        let small = response.data_length().is_some_and(|n| n <= PARK_LIMIT);
        if small {
            let _unwinding = self.unwinding(conn, false);
            return match response.render(&ctx) {
                Ok((bytes, Written { keep_alive })) => {
                    match conn.submit(self.seq, bytes, keep_alive) {
                        Ok(Submitted::Corked) => {
                            conn.driver().add_cork(conn.clone());
                            Ok(())
                        }
                        other => ignore_disconnect(other.map(drop)),
                    }
                }
                Err(e) => {
                    // Nothing reached the client yet: it gets a 500 instead, then the close.
                    let bytes = error_response(StatusCode(500), &self.version);
                    let _ = conn.submit(self.seq, bytes, false);
                    Err(e)
                }
            };
        }
        if conn.wait_turn(self.seq) == Turn::Closed {
            return Ok(());
        }
        let _unwinding = self.unwinding(conn, true);
        let meter = WriteMeter::default();
        let mut writer = SocketWriter::new(conn, &meter);
        let mut sendfile = |file: &std::fs::File, max: u64| send_file(conn, file, max, &meter);
        // sendfile(2) moves file pages to a plain socket without a copy through user space;
        // TLS must encrypt in user space.
        let zero_copy = (!conn.stream.is_tls()).then_some(&mut sendfile as &mut SendFile<'_>);
        let result = response
            .write_message_via(&ctx, &mut writer, zero_copy)
            .and_then(|w| writer.flush().map(|()| w));
        match result {
            Ok(Written { keep_alive }) => {
                conn.end_turn(self.seq, keep_alive);
                Ok(())
            }
            Err(e) => {
                // (Not to a client that just let the deadline pass: it would only wait again.)
                if writer.written == 0 && e.kind() != io::ErrorKind::TimedOut {
                    let bytes = error_response(StatusCode(500), &self.version);
                    let _ = writer.write_all(&bytes);
                }
                conn.end_turn(self.seq, false);
                ignore_disconnect(Err(e))
            }
        }
    }

    fn send_upgrade<R: Read>(self, response: Response<R>, protocol: &str) -> io::Result<()> {
        let ctx = self.context(true, Some(protocol));
        let Some(conn) = &self.conn else {
            return response.write_message(&ctx, io::sink()).map(drop);
        };
        if conn.wait_turn(self.seq) == Turn::Closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "connection closed before the upgrade",
            ));
        }
        let _unwinding = self.unwinding(conn, true);
        let meter = WriteMeter::default();
        let mut writer = SocketWriter::new(conn, &meter);
        let result = response
            .write_message(&ctx, &mut writer)
            .and_then(|w| writer.flush().map(|()| w));
        conn.detach(self.seq);
        result.map(drop)
    }
}

/// Keeps a response's place in its connection's order when the handler's body reader panics
/// while the response is produced (and the panic is caught): without it the turn would stay
/// taken, or never come, and every later response on the connection would wait forever.
/// On unwinding it answers 500 if nothing was written yet, or ends the turn and closes.
struct Unwinding<'a> {
    conn: &'a Conn,
    seq: u64,
    version: &'a HTTPVersion,
    /// The response's turn is held (bytes may be on the wire already).
    turn_held: bool,
}

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if self.turn_held {
            self.conn.end_turn(self.seq, false);
        } else {
            let bytes = error_response(StatusCode(500), self.version);
            let _ = self.conn.submit(self.seq, bytes, false);
        }
    }
}

/// Errors that only mean "the client went away" are not the handler's problem.
fn ignore_disconnect(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::NotConnected
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// How long moving `bytes` may take at `rate` bytes/s, and never less than `grace`. A rate of
/// 0 counts as 1 byte/s.
fn rate_allowance(bytes: u64, (rate, grace): (u64, Duration)) -> Duration {
    let rate = u128::from(rate.max(1));
    let nanos = u128::from(bytes) * 1_000_000_000 / rate;
    let earned = u64::try_from(nanos).map_or(Duration::MAX, Duration::from_nanos);
    earned.max(grace)
}

/// When a transfer measured from `started` with `bytes` moved so far falls below `rate`
/// bytes/s: `bytes / rate` seconds after `started`, never before the `grace` period ends.
fn rate_deadline(started: Instant, bytes: u64, rate: (u64, Duration)) -> Option<Instant> {
    started.checked_add(rate_allowance(bytes, rate))
}

/// When a wait for body bytes must end: the stall deadline, or earlier if waiting longer would
/// take the average rate since `started` below the minimum after the grace period.
fn body_deadline(
    timeouts: &crate::config::Timeouts,
    started: Instant,
    received: u64,
) -> Option<Instant> {
    let stall = timeouts
        .body_stall
        .and_then(|d| Instant::now().checked_add(d));
    let rate = timeouts
        .min_body_rate
        .and_then(|rate| rate_deadline(started, received, rate));
    earlier(stall, rate)
}

/// The earlier of two optional deadlines.
fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Enforces `min_write_rate` on one streamed response. Only the time the writer spends
/// waiting for the client counts (not the time the handler takes to produce the body): once
/// the client has kept the writer waiting for longer than `grace`, the bytes it accepted since
/// it first did must keep up with the rate over that waiting time. A slow-read client keeps
/// the writer waiting almost all the time, so it cannot hold a handler thread for ever; a
/// client that keeps up is never cut off, however slowly the body is produced.
#[derive(Debug, Default)]
struct WriteMeter {
    /// Time spent waiting for the client so far, and the bytes it accepted since the first
    /// wait (`None` before any wait).
    waited: std::cell::Cell<Option<(Duration, u64)>>,
    /// Only the stall deadline applies, and a timeout does not reset the connection
    /// (upgraded protocols and raw writers decide their own pace, and may carry on).
    stall_only: bool,
}

impl WriteMeter {
    /// A meter that applies the stall deadline only.
    fn stall_only() -> WriteMeter {
        WriteMeter {
            waited: std::cell::Cell::new(None),
            stall_only: true,
        }
    }

    /// `n` more bytes were accepted by the socket.
    fn sent(&self, n: usize) {
        if let Some((waited, bytes)) = self.waited.get() {
            self.waited
                .set(Some((waited, bytes.saturating_add(n as u64))));
        }
    }

    /// When a wait starting at `now` must end: the stall deadline, or earlier once the total
    /// waiting would exceed what the bytes accepted so far allow at the minimum rate.
    fn deadline(&self, conn: &Conn, now: Instant) -> Option<Instant> {
        let timeouts = &conn.settings.timeouts;
        let (waited, bytes) = self.waited.get().unwrap_or((Duration::ZERO, 0));
        self.waited.set(Some((waited, bytes)));
        let stall = timeouts.write_stall.and_then(|d| now.checked_add(d));
        let rate = timeouts
            .min_write_rate
            .filter(|_| !self.stall_only)
            .and_then(|rate| now.checked_add(rate_allowance(bytes, rate).saturating_sub(waited)));
        earlier(stall, rate)
    }

    /// A wait took `took`.
    fn waited(&self, took: Duration) {
        if let Some((waited, bytes)) = self.waited.get() {
            self.waited.set(Some((waited.saturating_add(took), bytes)));
        }
    }
}

/// Writes a response straight to the socket during its turn, waiting when the socket is full.
struct SocketWriter<'a> {
    conn: &'a Conn,
    written: usize,
    meter: &'a WriteMeter,
}

impl<'a> SocketWriter<'a> {
    fn new(conn: &'a Conn, meter: &'a WriteMeter) -> SocketWriter<'a> {
        SocketWriter {
            conn,
            written: 0,
            meter,
        }
    }
}

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = write_some(self.conn, buf, self.meter)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

/// Sends up to `max` bytes of `file` (from its offset) with `sendfile(2)`, waiting for
/// writability up to the write deadline and the minimum rate.
fn send_file(conn: &Conn, file: &std::fs::File, max: u64, meter: &WriteMeter) -> io::Result<u64> {
    let count = usize::try_from(max.min(1 << 30)).unwrap_or(1 << 30);
    loop {
        match rustix::fs::sendfile(&conn.stream, file, None, count) {
            Ok(n) => {
                meter.sent(n);
                return Ok(n as u64);
            }
            Err(rustix::io::Errno::AGAIN) => wait_writable(conn, meter)?,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn write_some(conn: &Conn, buf: &[u8], meter: &WriteMeter) -> io::Result<usize> {
    loop {
        match conn.stream.write(buf) {
            Ok(n) => {
                meter.sent(n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_writable(conn, meter)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Waits until the socket takes more bytes, within the stall deadline and the minimum rate.
/// A response writer that times out resets the connection (the response is cut short, and
/// what the kernel still holds for this client is dropped).
fn wait_writable(conn: &Conn, meter: &WriteMeter) -> io::Result<()> {
    let start = Instant::now();
    let result = conn
        .stream
        .wait(Readiness::Writable, meter.deadline(conn, start));
    meter.waited(start.elapsed());
    result.map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut => {
            if !meter.stall_only {
                conn.stream.reset_on_close();
            }
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped accepting the response, or accepts it too slowly",
            )
        }
        _ => e,
    })
}

/// Reads what the socket has, waiting for data up to `deadline()` (asked only when the socket
/// is empty); with `wait == false` an empty socket is `WouldBlock`.
fn read_some(
    conn: &Conn,
    buf: &mut [u8],
    deadline: impl Fn() -> Option<Instant>,
    wait: bool,
) -> io::Result<usize> {
    loop {
        match conn.stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && wait => {
                conn.stream.wait(Readiness::Readable, deadline())?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The writer behind [`Request::into_writer`]; the connection closes when it drops.
struct RawWriter {
    conn: Arc<Conn>,
    seq: u64,
    meter: WriteMeter,
    /// Counted in the connection's requests out in handlers until dropped.
    handed: bool,
}

impl Write for RawWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_some(&self.conn, buf, &self.meter)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        if self.handed {
            self.conn.handler_done();
        }
        let _ = self.flush();
        self.conn.end_turn(self.seq, false);
    }
}

/// The stream behind [`Request::upgrade`]: bytes read ahead first, then the socket.
struct Upgraded {
    conn: Arc<Conn>,
    buf: ReadBuf,
    meter: WriteMeter,
}

impl Read for Upgraded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.buf.is_empty() {
            let n = self.buf.filled().len().min(out.len());
            out[..n].copy_from_slice(&self.buf.filled()[..n]);
            self.buf.consume(n);
            self.buf.release_if_empty();
            return Ok(n);
        }
        // The new protocol decides how long silence may last: no deadline here.
        read_some(&self.conn, out, || None, true)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = write_some(&self.conn, buf, &self.meter)?;
        // Over TLS, records the socket could not take yet would otherwise wait for the next
        // write; an upgraded protocol expects each write to reach the peer.
        self.conn.flush()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        self.conn.stream.shutdown(std::net::Shutdown::Both);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// The body (or the pause after an upgrade candidate) is in progress.
    Reading,
    /// The read side went back to the event loop (or ended with the connection).
    Returned,
    /// Reading failed or was abandoned: no request follows on this connection.
    Broken,
    /// The read side was handed to an upgraded stream.
    Upgraded,
}

/// A request body read straight from the connection by the handler's thread.
struct SocketBody {
    conn: Arc<Conn>,
    seq: u64,
    buf: ReadBuf,
    decoder: BodyDecoder,
    /// `100 Continue` is still to be sent (on the first read).
    continue_due: bool,
    /// Keep the read side after the body ends, until the response (Upgrade / CONNECT).
    hold: bool,
    keep_alive: bool,
    state: BodyState,
    /// When the handler first read (the clock of the minimum-rate rule).
    started: Option<Instant>,
    /// Raw bytes received from the socket for this body so far.
    received: u64,
    /// The body failed because the client was too slow: an unanswered request gets 408.
    timed_out: bool,
    /// Read only what has already arrived (draining before a response).
    no_wait: bool,
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Memory(c) => c.read(out),
            Body::Socket(b) => b.read(out),
        }
    }
}

impl Body {
    /// Prepares for the response; returns whether the connection can carry another request.
    fn finish(&mut self) -> bool {
        match self {
            Body::Memory(_) => true,
            Body::Socket(b) => b.finish(),
        }
    }
}

impl SocketBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.state {
            BodyState::Reading => {}
            BodyState::Broken => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the request body could not be read",
                ))
            }
            BodyState::Returned | BodyState::Upgraded => return Ok(0),
        }
        if out.is_empty() {
            return Ok(0);
        }
        if self.decoder.is_done() {
            self.body_done();
            return Ok(0);
        }
        if self.continue_due {
            self.continue_due = false;
            if let Err(e) = self.conn.send_interim(self.seq, CONTINUE) {
                return Err(self.fail(e));
            }
        }
        loop {
            if !self.buf.is_empty() {
                match self.decoder.decode(self.buf.filled(), out) {
                    Ok((used, produced)) => {
                        self.buf.consume(used);
                        if self.decoder.is_done() {
                            self.body_done();
                        }
                        if produced > 0 || self.decoder.is_done() {
                            return Ok(produced);
                        }
                        if used > 0 && !self.buf.is_empty() {
                            continue;
                        }
                    }
                    Err(e) => return Err(self.fail(e.into())),
                }
            }
            // The rate clock starts at the first read; the deadline is worked out only when
            // the socket is empty.
            let started = *self.started.get_or_insert_with(Instant::now);
            let (timeouts, received) = (&self.conn.settings.timeouts, self.received);
            let deadline = || body_deadline(timeouts, started, received);
            if let (true, Some(left)) = (self.buf.is_empty(), self.decoder.remaining_length()) {
                // Fixed-length body and nothing buffered: read straight into the caller's buffer.
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
                let n = match read_some(&self.conn, &mut out[..want], deadline, !self.no_wait) {
                    Ok(0) => return Err(self.fail(early_eof())),
                    Ok(n) => n,
                    Err(e) => return Err(self.fail(e)),
                };
                self.received += n as u64;
                self.decoder.consume_direct(n);
                if self.decoder.is_done() {
                    self.body_done();
                }
                return Ok(n);
            }
            match read_some(&self.conn, self.buf.spare(), deadline, !self.no_wait) {
                Ok(0) => return Err(self.fail(early_eof())),
                Ok(n) => {
                    self.received += n as u64;
                    self.buf.commit(n);
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// The body is complete: give the read side back so the next request is parsed now.
    fn body_done(&mut self) {
        if self.hold || self.state != BodyState::Reading {
            return;
        }
        self.state = BodyState::Returned;
        if self.keep_alive {
            let buf = std::mem::take(&mut self.buf);
            self.conn
                .driver()
                .send(Msg::ReadReturned(self.conn.key, buf));
        } else {
            self.conn.set_read_end(self.seq + 1);
            self.conn.driver().send(Msg::ReadAbandoned(self.conn.key));
        }
    }

    /// The body cannot be read to its end: this request is the connection's last.
    fn fail(&mut self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::TimedOut {
            self.timed_out = true;
        }
        if self.state == BodyState::Reading {
            self.state = BodyState::Broken;
            self.conn.set_read_end(self.seq + 1);
            self.conn.driver().send(Msg::ReadAbandoned(self.conn.key));
        }
        log::debug!("request body: {e}");
        e
    }

    fn finish(&mut self) -> bool {
        self.hold = false;
        if self.state == BodyState::Reading && self.decoder.is_done() {
            self.body_done();
        }
        match self.state {
            BodyState::Returned => return self.keep_alive,
            BodyState::Broken | BodyState::Upgraded => return false,
            BodyState::Reading => {}
        }
        if self.continue_due {
            // The client waits for our go-ahead before sending the body; answering without
            // it means the body never comes, so this response ends the connection.
            let _ = self.fail(io::Error::other("body not requested"));
            return false;
        }
        // Drain what has already arrived, without waiting: a handler answering before reading
        // (a 401, a 413) is answered at once. When that completes the body the connection
        // carries on; otherwise this response closes it (the event loop then drains the rest
        // for a moment, so the client still gets to read the response).
        self.no_wait = true;
        let mut sink = [0u8; 8192];
        let mut drained = 0u64;
        while self.state == BodyState::Reading {
            match self.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => {
                    drained += n as u64;
                    if drained > DRAIN_LIMIT {
                        let _ = self.fail(io::Error::other("body too large to drain"));
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
        self.state == BodyState::Returned && self.keep_alive
    }
}

fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the client closed the connection before the end of the body",
    )
}

impl Request {
    /// Answers a request that no handler ever received because the `Server` was dropped:
    /// `503 Service Unavailable`, written with one non-blocking attempt (a client that does
    /// not read must not hold up the drop), then the connection closes.
    pub(crate) fn refuse_at_shutdown(mut self) {
        let _ = self.body.finish();
        if let Some(reply) = self.reply.take() {
            if let Some(conn) = &reply.conn {
                let bytes = error_response(StatusCode(503), &reply.version);
                let _ = conn.submit_from_driver(reply.seq, bytes);
            }
        }
    }

    /// The connection of a request that came from the network (the event loop's use).
    pub(crate) fn connection(&self) -> Option<&Conn> {
        self.reply.as_ref().and_then(|r| r.conn.as_deref())
    }

    /// `recv()` hands this request to a handler on thread `receiver` (see
    /// `Conn::may_hand_to`).
    pub(crate) fn hand_out(&mut self, receiver: u64) {
        if let Some(reply) = &mut self.reply {
            if let Some(conn) = &reply.conn {
                if !reply.handed {
                    reply.handed = true;
                    conn.hand_out(receiver);
                }
            }
        }
    }
}
