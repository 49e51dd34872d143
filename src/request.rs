//! [`Request`]: one HTTP request handed to a handler, with its body reader and the right to
//! send exactly one response.
//!
//! ```text
//!   recv() ──► Request ──as_reader()──► the body (100 Continue first if the client asked)
//!                 ├─respond(resp)──► to the connection's output queue, in request order
//!                 ├─into_writer()──► raw writer; the connection closes after it
//!                 ├─upgrade(p, resp)► 101-style response, then the raw stream
//!                 └─drop──────────► empty 500 (408 if its body came too slowly)
//! ```
//!
//! This file is the API only: the runtime hands out plain data (`Incoming`) and does the
//! reading and writing (`runtime::body`, `runtime::reply`).
//!
//! # Invariants
//! - Every request gets exactly one response, or its connection closes (the runtime's
//!   `Reply` answers `500` when dropped unused).
//! - Before a response is queued the rest of the body is drained (up to a bound, without
//!   waiting) so the connection can carry the next request; otherwise it closes after it.

use std::fmt;
use std::io::{self, Cursor, Read, Write};
use std::net::SocketAddr;

use crate::proto::h1::conn::{persists, Persistence};
use crate::response::WriteContext;
use crate::runtime::body::BodyReader;
use crate::runtime::conn::Incoming;
use crate::runtime::reply::Reply;
use crate::{HTTPVersion, Header, Method, Response, StatusCode};

/// Anything that can be read from and written to: what [`Request::upgrade`] hands over.
pub trait ReadWrite: Read + Write {}

impl<T> ReadWrite for T where T: Read + Write {}

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
    body: BodyReader,
    reply: Option<Reply>,
    /// The request allows its connection to persist (its version and `Connection` field).
    keep_alive: bool,
}

impl Request {
    /// Wraps a request the runtime handed out.
    pub(crate) fn from_incoming(mut incoming: Incoming) -> Request {
        let head = &incoming.head;
        let body_length = match head.body {
            crate::proto::h1::head::BodyKind::Length(n) => usize::try_from(n).ok(),
            _ => None,
        };
        let expect_continue = head.expect_continue;
        let body = BodyReader::new(&mut incoming, expect_continue);
        let Incoming {
            head, seq, conn, ..
        } = incoming;
        Request {
            remote_addr: conn.remote_addr,
            secure: conn.secure,
            keep_alive: head.keep_alive,
            reply: Some(Reply::new(conn, seq, true)),
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
            body_length: Some(body.len()),
            body: BodyReader::in_memory(body),
            reply: None,
            keep_alive: true,
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
    /// stops sending `TimedOut`, a client that closes early `UnexpectedEof`. A small body
    /// (64 KiB by default, see [`ServerBuilder::preread_body`](crate::ServerBuilder::preread_body))
    /// has already been received when the request is handed out, so reading it never waits.
    pub fn as_reader(&mut self) -> &mut dyn Read {
        &mut self.body
    }

    /// The context the response is written in: the request's version and method, and
    /// whether the connection may persist after it.
    fn context<'a>(
        &self,
        reply: &Reply,
        body_complete: bool,
        upgrade: Option<&'a str>,
    ) -> WriteContext<'a> {
        WriteContext {
            version: self.version.clone(),
            head_request: self.method == Method::Head,
            keep_alive: persists(Persistence {
                request: self.keep_alive,
                body_complete,
                delimited: true,
                server: reply.request_persists(),
            }),
            upgrade,
        }
    }

    /// Sends `response` to the client.
    ///
    /// Returns as soon as the response is in the connection's hands: a rendered response
    /// is written at once when the socket takes it, a file or in-memory body is handed over
    /// whole and sent by the event loop, and a body from another reader is read into the
    /// connection's output buffer, waiting only while that buffer is full (see
    /// [`ServerBuilder::output_buffer`](crate::ServerBuilder::output_buffer)). Responses on
    /// one connection reach the client in request order whatever order they are given in.
    /// Errors caused by a client that went away (broken pipe, reset, aborted) are not
    /// reported.
    pub fn respond<R: Read>(mut self, response: Response<R>) -> io::Result<()> {
        let body_complete = self.body.finish();
        let Some(reply) = self.reply.take() else {
            let ctx = WriteContext {
                version: self.version.clone(),
                head_request: self.method == Method::Head,
                keep_alive: true,
                upgrade: None,
            };
            return response.write_message(&ctx, io::sink()).map(drop);
        };
        let ctx = self.context(&reply, body_complete, None);
        ignore_disconnect(response.deliver(&ctx, &reply))
    }

    /// Hands over the raw response stream: whatever is written reaches the client as is
    /// (status line and headers included), after the responses to earlier requests, and the
    /// connection closes when the writer drops.
    pub fn into_writer(mut self) -> Box<dyn Write + Send + 'static> {
        let _ = self.body.finish();
        match self.reply.take() {
            Some(reply) => Box::new(reply.into_raw_writer()),
            None => Box::new(io::sink()),
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
        let body_complete = self.body.ready_for_upgrade();
        let Some(reply) = self.reply.take() else {
            return Box::new(Cursor::new(Vec::new()));
        };
        let ctx = self.context(&reply, body_complete, Some(protocol));
        match response.render_head(&ctx) {
            Ok(head) if body_complete => match reply.upgrade(&head) {
                Ok(stream) => Box::new(stream),
                Err(e) => {
                    log::debug!("upgrade failed: {e}");
                    Box::new(Cursor::new(Vec::new()))
                }
            },
            Ok(_) => {
                // The body was not consumed: the bytes that follow cannot be told apart from
                // the new protocol's.
                reply.send_error(StatusCode(500));
                Box::new(Cursor::new(Vec::new()))
            }
            Err(e) => {
                log::debug!("upgrade response refused: {e}");
                reply.send_error(StatusCode(500));
                Box::new(Cursor::new(Vec::new()))
            }
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            if !reply.is_ended() {
                let body_complete = self.body.finish();
                // A request whose client was too slow sending its body is answered 408
                // (RFC 9110 §15.5.9); any other unanswered request an empty 500, and the
                // connection carries on when it can.
                let status = if self.body.timed_out() { 408 } else { 500 };
                let ctx = self.context(&reply, body_complete, None);
                let _ = Response::empty(StatusCode(status)).deliver(&ctx, &reply);
            }
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
