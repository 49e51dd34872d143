//! `Response<R>`: what a handler sends back, and how it is framed and handed to the runtime.
//!
//! ```text
//! Response::from_*/new ──with_*/add_header──> Response<R>
//!        │ Request::respond / upgrade                    │ raw_print (any Write)
//!        ▼                                               ▼
//! prepare(ctx): additional_headers, response_framing, encode_head ── invalid? ──> Err,
//!               nothing sent (the runtime answers 500 in its place)
//!        │
//! deliver(ctx, reply):  NoBody, or a known length up to 64 KiB ─► rendered whole, one send
//!                       a body the library made (from_file, from_data, from_string)
//!                                                  ─► handed over whole (no copy, no wait)
//!                       any other reader           ─► streamed through the output buffer
//! ```
//!
//! # Invariants
//! - The user never controls framing: `Connection`, `Content-Length`, `Trailer`,
//!   `Transfer-Encoding` and `Upgrade` headers are not stored (a parseable `Content-Length`
//!   sets the data length instead).
//! - A bad header (or status) is reported before a single byte is queued.
//! - A body is never copied whole into memory unless it is at most 64 KiB; bodies the library
//!   made are never copied at all.

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read, Write};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use crate::proto::date::http_date;
use crate::proto::h1::conn::ResponseEnd;
use crate::proto::h1::encode::{
    encode_head, is_library_owned, response_framing, ChunkFrame, ConnectionHeader, ResponseFraming,
    ResponseHead, LAST_CHUNK,
};
use crate::runtime::output::SharedBytes;
use crate::runtime::reply::{Framing, Owned, Reply};
use crate::types::trim_ows;
use crate::{HTTPVersion, Header, StatusCode};

/// Bodies with a known length up to this size are sent together with the head in one write.
const SMALL_BODY: u64 = 16 * 1024;
/// Bodies up to this size (known in advance) are rendered whole in memory.
const RENDER_LIMIT: u64 = 64 * 1024;

/// Buffer size for streaming larger bodies.
const STREAM_BUF: usize = 64 * 1024;

/// Default for [`Response::chunked_threshold`].
const DEFAULT_CHUNKED_THRESHOLD: usize = 32 * 1024;

/// Largest buffer kept for reuse by [`recycle`]: a rendered response (head and body).
const SPARE_LIMIT: usize = RENDER_LIMIT as usize + 8 * 1024;

thread_local! {
    /// One rendered-response buffer per thread, kept after its bytes were written, so that
    /// the next response on this thread is rendered without an allocation.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty buffer with room for `capacity` bytes, reusing this thread's spare one.
fn spare_buffer(capacity: usize) -> Vec<u8> {
    // (`try_with`: during thread teardown there is no spare, and no panic.)
    let mut buf = SPARE.try_with(|spare| spare.take()).unwrap_or_default();
    buf.clear();
    buf.reserve(capacity);
    buf
}

/// Keeps `buf` (once written) for the next response rendered on this thread; large buffers
/// are freed, so a thread holds at most about 72 KiB this way.
pub(crate) fn recycle(buf: Vec<u8>) {
    if buf.capacity() <= SPARE_LIMIT {
        let _ = SPARE.try_with(|spare| spare.set(buf));
    }
}

/// A response to send: a status code, headers, and a body read from `R`.
///
/// The library owns the message framing: it adds `Content-Length` or
/// `Transfer-Encoding: chunked`, `Connection`, and (unless you set them) `Date` and `Server`.
///
/// ```
/// use tiny_http::{Header, Response};
///
/// let response = Response::from_string("hello world")
///     .with_status_code(201)
///     .with_header("X-Request-Id: 42".parse::<Header>().unwrap());
/// assert_eq!(response.status_code(), 201);
/// assert_eq!(response.data_length(), Some(11));
/// ```
pub struct Response<R> {
    reader: R,
    status_code: StatusCode,
    headers: Vec<Header>,
    data_length: Option<usize>,
    chunked_threshold: usize,
    additional_headers: Option<Receiver<Header>>,
    /// For bodies the library made (`from_file`, `from_data`, `from_string`): how the runtime
    /// takes the body over whole instead of reading it through `reader`.
    owned: Ownership<R>,
}

/// How a response's body can be taken over whole.
enum Ownership<R> {
    /// Only by reading `reader`.
    None,
    /// By converting the reader (its concrete type is known when the response is made).
    Take(fn(R) -> OwnedBody),
    /// Already taken (a boxed response: its reader reads the same body).
    Taken(OwnedBody),
}

/// A body the library made and the runtime can own.
#[derive(Debug)]
enum OwnedBody {
    /// In-memory bytes from `start`.
    Bytes(Arc<Vec<u8>>, usize),
    /// A file, from its current position.
    File(File),
}

/// The reader of a boxed response whose body the runtime owns: a view of the same body.
#[derive(Debug)]
enum OwnedReader {
    Bytes(Cursor<SharedVec>),
    File(File),
}

/// Bytes shared between an owned body and its reader.
#[derive(Debug, Clone)]
struct SharedVec(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedVec {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Read for OwnedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            OwnedReader::Bytes(c) => c.read(buf),
            OwnedReader::File(f) => f.read(buf),
        }
    }
}

fn take_cursor(cursor: Cursor<Vec<u8>>) -> OwnedBody {
    let start = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    OwnedBody::Bytes(Arc::new(cursor.into_inner()), start)
}

fn take_file(file: File) -> OwnedBody {
    OwnedBody::File(file)
}

/// A response whose body type is erased, so responses of different kinds fit one type.
///
/// ```
/// use tiny_http::{Response, ResponseBox};
///
/// let responses: Vec<ResponseBox> = vec![
///     Response::from_string("text").boxed(),
///     Response::empty(404).boxed(),
/// ];
/// assert_eq!(responses.len(), 2);
/// ```
pub type ResponseBox = Response<Box<dyn Read + Send>>;

/// How the runtime asks for a response to be written.
#[derive(Debug, Clone)]
pub(crate) struct WriteContext<'a> {
    /// The request's version.
    pub(crate) version: HTTPVersion,
    /// The request was HEAD: send no body.
    pub(crate) head_request: bool,
    /// `false`: the connection closes after this response (`Connection: close` is sent).
    pub(crate) keep_alive: bool,
    /// `Some(p)`: send `Connection: upgrade` and `Upgrade: p`, and no body framing.
    pub(crate) upgrade: Option<&'a str>,
}

/// The outcome of [`Response::write_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// May the connection carry another request after this one?
    pub(crate) keep_alive: bool,
}

impl<R> fmt::Debug for Response<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status_code", &self.status_code)
            .field("headers", &self.headers)
            .field("data_length", &self.data_length)
            .field("chunked_threshold", &self.chunked_threshold)
            .finish_non_exhaustive()
    }
}

impl<R> Response<R>
where
    R: Read,
{
    /// Builds a response from its parts.
    ///
    /// `data_length` is the body length when known (it decides between `Content-Length` and
    /// chunked encoding). Headers received on `additional_headers` before the response is
    /// written are added to it.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use tiny_http::{Response, StatusCode};
    ///
    /// let body = b"{}".to_vec();
    /// let response = Response::new(StatusCode(200), vec![], Cursor::new(body), Some(2), None);
    /// assert_eq!(response.data_length(), Some(2));
    /// ```
    pub fn new(
        status_code: StatusCode,
        headers: Vec<Header>,
        data: R,
        data_length: Option<usize>,
        additional_headers: Option<Receiver<Header>>,
    ) -> Response<R> {
        let mut response = Response {
            reader: data,
            status_code,
            headers: Vec::with_capacity(headers.len()),
            data_length,
            chunked_threshold: DEFAULT_CHUNKED_THRESHOLD,
            additional_headers,
            owned: Ownership::None,
        };
        for header in headers {
            response.add_header(header);
        }
        response
    }

    /// Sets the length at or above which a body of known length is sent chunked (to HTTP/1.1
    /// clients). Default is 32768.
    ///
    /// ```
    /// use tiny_http::Response;
    ///
    /// let response = Response::from_data(vec![0u8; 100]).with_chunked_threshold(10);
    /// assert_eq!(response.chunked_threshold(), 10);
    /// ```
    pub fn with_chunked_threshold(mut self, length: usize) -> Response<R> {
        self.chunked_threshold = length;
        self
    }

    /// The length at or above which a body of known length is sent chunked.
    pub fn chunked_threshold(&self) -> usize {
        self.chunked_threshold
    }

    /// Adds a header.
    ///
    /// `Connection`, `Trailer`, `Transfer-Encoding` and `Upgrade` are ignored (the library
    /// owns framing); `Content-Length` sets the data length when it parses and is otherwise
    /// ignored; a second `Content-Type` replaces the first.
    ///
    /// ```
    /// use tiny_http::{Header, Response};
    ///
    /// let mut response = Response::from_string("<p>hi</p>");
    /// response.add_header(Header::from_bytes("Content-Type", "text/html").unwrap());
    /// assert_eq!(response.headers().len(), 1);
    /// assert_eq!(response.headers()[0].value, "text/html");
    /// ```
    pub fn add_header<H>(&mut self, header: H)
    where
        H: Into<Header>,
    {
        let header = header.into();
        let field = &header.field;
        if field.is(b"content-length") {
            if let Ok(length) = header.value.as_str().trim().parse::<usize>() {
                self.data_length = Some(length);
            }
            return;
        }
        if is_library_owned(&header) {
            return;
        }
        if field.is(b"content-type") {
            if let Some(existing) = self
                .headers
                .iter_mut()
                .find(|h| h.field.is(b"content-type"))
            {
                *existing = header;
                return;
            }
        }
        self.headers.push(header);
    }

    /// Adds a header (see [`add_header`](Self::add_header)) and returns the response.
    pub fn with_header<H>(mut self, header: H) -> Response<R>
    where
        H: Into<Header>,
    {
        self.add_header(header);
        self
    }

    /// Replaces the status code.
    ///
    /// ```
    /// use tiny_http::Response;
    ///
    /// let response = Response::from_string("gone").with_status_code(410);
    /// assert_eq!(response.status_code(), 410);
    /// ```
    pub fn with_status_code<S>(mut self, code: S) -> Response<R>
    where
        S: Into<StatusCode>,
    {
        self.status_code = code.into();
        self
    }

    /// Replaces the body, keeping status and headers.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use tiny_http::Response;
    ///
    /// let response = Response::empty(200).with_data(Cursor::new(vec![1, 2, 3]), Some(3));
    /// assert_eq!(response.data_length(), Some(3));
    /// ```
    pub fn with_data<S>(self, reader: S, data_length: Option<usize>) -> Response<S>
    where
        S: Read,
    {
        Response {
            reader,
            status_code: self.status_code,
            headers: self.headers,
            data_length,
            chunked_threshold: self.chunked_threshold,
            additional_headers: self.additional_headers,
            owned: Ownership::None,
        }
    }

    /// The status code.
    pub fn status_code(&self) -> StatusCode {
        self.status_code
    }

    /// The body length, when known.
    pub fn data_length(&self) -> Option<usize> {
        self.data_length
    }

    /// The headers added so far (not including those the library adds when writing).
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Gives back the body reader.
    pub fn into_reader(self) -> R {
        self.reader
    }

    /// Writes the whole response to `writer` as the answer to a request of version
    /// `http_version` carrying `request_headers`.
    ///
    /// The connection is kept alive as the request asked (`Connection: close` /
    /// `keep-alive`, defaulting by version). `do_not_send_body` leaves the body out (HEAD);
    /// `upgrade` sends `Connection: upgrade` and `Upgrade: <protocol>`. A header that could
    /// corrupt the response is an `InvalidInput` error, and then nothing is written.
    ///
    /// ```
    /// use tiny_http::{HTTPVersion, Response};
    ///
    /// let mut out = Vec::new();
    /// Response::from_string("hi")
    ///     .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
    ///     .unwrap();
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    /// assert!(text.contains("\r\nContent-Length: 2\r\n"));
    /// assert!(text.ends_with("\r\n\r\nhi"));
    /// ```
    pub fn raw_print<W>(
        self,
        writer: W,
        http_version: HTTPVersion,
        request_headers: &[Header],
        do_not_send_body: bool,
        upgrade: Option<&str>,
    ) -> io::Result<()>
    where
        W: Write,
    {
        let keep_alive = client_wants_keep_alive(&http_version, request_headers);
        let ctx = WriteContext {
            version: http_version,
            head_request: do_not_send_body,
            keep_alive,
            upgrade,
        };
        self.write_message(&ctx, writer).map(|_| ())
    }

    /// Writes the response as the runtime's answer to one request (see [`WriteContext`]).
    ///
    /// Errors: `InvalidInput` when a header, the status or the upgrade protocol is invalid —
    /// nothing has been written; `UnexpectedEof` when the body ended before its declared
    /// length — what there was has been written and the connection must close; any other
    /// error comes from the reader or `out`.
    pub(crate) fn write_message<W: Write>(
        mut self,
        ctx: &WriteContext<'_>,
        mut out: W,
    ) -> io::Result<Written> {
        let (buf, framing, keep_alive) = self.prepare(ctx, SMALL_BODY)?;
        self.write_body(buf, framing, &mut out)?;
        out.flush()?;
        Ok(Written { keep_alive })
    }

    /// Everything before the body: drains `additional_headers`, makes the framing decision,
    /// and encodes the head (validating every header) into a new buffer sized for the head
    /// and a small body. Returns the buffer, the framing and whether the connection may stay
    /// open afterwards.
    fn prepare(
        &mut self,
        ctx: &WriteContext<'_>,
        body_room: u64,
    ) -> io::Result<(Vec<u8>, ResponseFraming, bool)> {
        if let Some(rx) = self.additional_headers.take() {
            for header in rx.try_iter() {
                self.add_header(header);
            }
        }
        let framing = response_framing(
            ctx.head_request,
            self.status_code.0,
            &ctx.version,
            self.data_length,
            self.chunked_threshold,
            ctx.upgrade.is_some(),
        );
        let (connection, keep_alive) = match ctx.upgrade {
            Some(protocol) => (ConnectionHeader::Upgrade(protocol), false),
            None if !ctx.keep_alive || framing == ResponseFraming::CloseDelimited => {
                (ConnectionHeader::Close, false)
            }
            None if !ctx.version.at_least_1_1() => (ConnectionHeader::KeepAlive, true),
            None => (ConnectionHeader::Absent, true),
        };

        let date = http_date();
        let head = ResponseHead {
            status: self.status_code,
            headers: &self.headers,
            framing,
            connection,
            date: &date,
        };
        let head_estimate = self.headers.iter().fold(160usize, |acc, h| {
            acc.saturating_add(h.field.as_str().len() + h.value.len() + 4)
        });
        let small_body = match framing {
            ResponseFraming::Length(n) if n <= body_room => usize::try_from(n).unwrap_or(0),
            _ => 0,
        };
        let mut buf = spare_buffer(head_estimate.saturating_add(small_body));
        encode_head(&head, &mut buf)?;
        Ok((buf, framing, keep_alive))
    }

    /// The head alone (for an upgrade, whose response has no body).
    pub(crate) fn render_head(mut self, ctx: &WriteContext<'_>) -> io::Result<Vec<u8>> {
        let (buf, _, _) = self.prepare(ctx, 0)?;
        Ok(buf)
    }

    /// Sends the response through the runtime, as the answer `reply` stands for.
    ///
    /// A head that is refused, or a small body that ends before its declared length, is an
    /// error before anything is queued (the caller drops `reply`, which answers `500`).
    pub(crate) fn deliver(mut self, ctx: &WriteContext<'_>, reply: &Reply) -> io::Result<()> {
        let (mut buf, framing, keep_alive) = self.prepare(ctx, RENDER_LIMIT)?;
        let end = if keep_alive {
            ResponseEnd::KeepAlive
        } else {
            ResponseEnd::Close
        };
        let length = self.data_length.map(|n| n as u64);
        match framing {
            ResponseFraming::NoBody { .. } => {
                let result = reply.send(&buf, end);
                recycle(buf);
                return result;
            }
            ResponseFraming::Length(n)
                if n <= SMALL_BODY || (n <= RENDER_LIMIT && !self.owns_body()) =>
            {
                let got = (&mut self.reader).take(n).read_to_end(&mut buf)?;
                if (got as u64) < n {
                    return Err(early_eof());
                }
                let result = reply.send(&buf, end);
                recycle(buf);
                return result;
            }
            _ => {}
        }
        let Response {
            mut reader, owned, ..
        } = self;
        let body = match owned {
            Ownership::None => {
                return reply.send_streamed(buf, &mut reader, stream_framing(framing), end);
            }
            Ownership::Take(take) => take(reader),
            // The reader is a view of the body: not needed.
            Ownership::Taken(body) => body,
        };
        match framing {
            ResponseFraming::Length(n) => match to_owned(body, n) {
                Ok(body) => reply.send_owned(&buf, body, b"", end),
                Err(mut short) => reply.send_streamed(buf, &mut short, Framing::Length(n), end),
            },
            // A body of known length above the chunked threshold: one chunk of that length,
            // its data handed over whole.
            ResponseFraming::Chunked if length.is_some_and(|n| n > 0) => {
                let n = length.unwrap_or(0);
                match to_owned(body, n) {
                    Ok(body) => {
                        buf.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                        reply.send_owned(&buf, body, b"\r\n0\r\n\r\n", end)
                    }
                    Err(mut short) => reply.send_streamed(buf, &mut short, Framing::Chunked, end),
                }
            }
            framing => {
                let mut reader = OwnedReader::from(body);
                reply.send_streamed(buf, &mut reader, stream_framing(framing), end)
            }
        }
    }

    /// Whether the runtime can take the body over whole.
    fn owns_body(&self) -> bool {
        !matches!(self.owned, Ownership::None)
    }

    /// Writes the head in `buf` and the body according to `framing` (the generic path, for
    /// any writer: `raw_print`, requests without a network).
    fn write_body<W: Write>(
        &mut self,
        mut buf: Vec<u8>,
        framing: ResponseFraming,
        mut out: W,
    ) -> io::Result<()> {
        let reader = &mut self.reader;
        match framing {
            ResponseFraming::NoBody { .. } => out.write_all(&buf)?,
            ResponseFraming::Length(n) if n <= SMALL_BODY => {
                let got = reader.take(n).read_to_end(&mut buf)?;
                out.write_all(&buf)?;
                if (got as u64) < n {
                    out.flush()?;
                    return Err(early_eof());
                }
            }
            ResponseFraming::Length(n) => write_fixed(reader, n, buf, &mut out)?,
            ResponseFraming::Chunked => write_chunked(reader, buf, &mut out)?,
            ResponseFraming::CloseDelimited => write_until_eof(reader, buf, &mut out)?,
        }
        Ok(())
    }
}

impl<R> Response<R>
where
    R: Read + Send + 'static,
{
    /// Erases the body type (see [`ResponseBox`]).
    pub fn boxed(self) -> ResponseBox {
        // A body the library made stays one the runtime can own: the boxed reader reads a
        // view of it (a shared buffer, or a second handle on the same file).
        let (reader, owned): (Box<dyn Read + Send>, _) = match self.owned {
            Ownership::None => (Box::new(self.reader), Ownership::None),
            Ownership::Take(take) => match take(self.reader) {
                OwnedBody::Bytes(data, start) => (
                    Box::new(OwnedReader::from(OwnedBody::Bytes(data.clone(), start))),
                    Ownership::Taken(OwnedBody::Bytes(data, start)),
                ),
                OwnedBody::File(file) => match file.try_clone() {
                    Ok(view) => (Box::new(view), Ownership::Taken(OwnedBody::File(file))),
                    Err(_) => (Box::new(file), Ownership::None),
                },
            },
            Ownership::Taken(body) => {
                let view: Box<dyn Read + Send> = match &body {
                    OwnedBody::Bytes(data, start) => {
                        Box::new(OwnedReader::from(OwnedBody::Bytes(data.clone(), *start)))
                    }
                    OwnedBody::File(_) => Box::new(self.reader),
                };
                (view, Ownership::Taken(body))
            }
        };
        Response {
            reader,
            status_code: self.status_code,
            headers: self.headers,
            data_length: self.data_length,
            chunked_threshold: self.chunked_threshold,
            additional_headers: self.additional_headers,
            owned,
        }
    }
}

impl Response<File> {
    /// A `200` response streaming a file; the length comes from the file's metadata. No
    /// `Content-Type` is guessed: add one with [`with_header`](Response::with_header).
    ///
    /// ```no_run
    /// use std::fs::File;
    /// use tiny_http::Response;
    ///
    /// let response = Response::from_file(File::open("index.html").unwrap())
    ///     .with_header("Content-Type: text/html".parse::<tiny_http::Header>().unwrap());
    /// # drop(response);
    /// ```
    pub fn from_file(file: File) -> Response<File> {
        let length = file
            .metadata()
            .ok()
            .and_then(|m| usize::try_from(m.len()).ok());
        let mut response = Response::new(StatusCode(200), Vec::new(), file, length, None);
        response.owned = Ownership::Take(take_file);
        response
    }
}

impl Response<Cursor<Vec<u8>>> {
    /// A `200` response with the given bytes as body.
    ///
    /// ```
    /// use tiny_http::Response;
    ///
    /// let response = Response::from_data(vec![1, 2, 3]);
    /// assert_eq!(response.data_length(), Some(3));
    /// ```
    pub fn from_data<D>(data: D) -> Response<Cursor<Vec<u8>>>
    where
        D: Into<Vec<u8>>,
    {
        let data = data.into();
        let length = data.len();
        let mut response = Response::new(
            StatusCode(200),
            Vec::new(),
            Cursor::new(data),
            Some(length),
            None,
        );
        response.owned = Ownership::Take(take_cursor);
        response
    }

    /// A `200` response with the given text as body and
    /// `Content-Type: text/plain; charset=UTF-8`.
    ///
    /// ```
    /// use tiny_http::Response;
    ///
    /// let response = Response::from_string("hello");
    /// assert!(response.headers()[0].field.equiv("Content-Type"));
    /// ```
    pub fn from_string<S>(data: S) -> Response<Cursor<Vec<u8>>>
    where
        S: Into<String>,
    {
        let mut response = Response::from_data(data.into().into_bytes());
        if let Ok(header) =
            Header::from_bytes(&b"Content-Type"[..], &b"text/plain; charset=UTF-8"[..])
        {
            response.add_header(header);
        }
        response
    }
}

impl Response<io::Empty> {
    /// A response with the given status and an empty body.
    ///
    /// ```
    /// use tiny_http::Response;
    ///
    /// let response = Response::empty(204);
    /// assert_eq!(response.status_code(), 204);
    /// assert_eq!(response.data_length(), Some(0));
    /// ```
    pub fn empty<S>(status_code: S) -> Response<io::Empty>
    where
        S: Into<StatusCode>,
    {
        Response::new(status_code.into(), Vec::new(), io::empty(), Some(0), None)
    }

    /// Same as [`Response::empty`].
    #[deprecated(note = "use Response::empty")]
    pub fn new_empty(status_code: StatusCode) -> Response<io::Empty> {
        Response::empty(status_code)
    }
}

impl Clone for Response<io::Empty> {
    /// Clones status, headers and settings; a pending `additional_headers` receiver cannot be
    /// shared, so the clone has none.
    fn clone(&self) -> Response<io::Empty> {
        Response {
            reader: io::empty(),
            status_code: self.status_code,
            headers: self.headers.clone(),
            data_length: self.data_length,
            chunked_threshold: self.chunked_threshold,
            additional_headers: None,
            owned: Ownership::None,
        }
    }
}

/// Does the client want the connection kept open after this exchange? HTTP/1.1 persists
/// unless it sent `Connection: close`; HTTP/1.0 only when it sent `Connection: keep-alive`
/// (RFC 9112 §9.3).
fn client_wants_keep_alive(version: &HTTPVersion, request_headers: &[Header]) -> bool {
    let has_option = |option: &[u8]| {
        request_headers
            .iter()
            .filter(|h| h.field.is(b"connection"))
            .flat_map(|h| h.value.as_bytes().split(|&b| b == b','))
            .any(|token| trim_ows(token).eq_ignore_ascii_case(option))
    };
    if version.at_least_1_1() {
        !has_option(b"close")
    } else {
        version.0 == 1 && has_option(b"keep-alive") && !has_option(b"close")
    }
}

/// The runtime's framing for a streamed body.
fn stream_framing(framing: ResponseFraming) -> Framing {
    match framing {
        ResponseFraming::Length(n) => Framing::Length(n),
        ResponseFraming::Chunked => Framing::Chunked,
        ResponseFraming::CloseDelimited | ResponseFraming::NoBody { .. } => Framing::UntilClose,
    }
}

/// The first `n` bytes of an owned body, for the runtime to hold; a body shorter than `n`
/// (in memory) is given back as a reader, so that it fails like any short reader.
fn to_owned(body: OwnedBody, n: u64) -> Result<Owned, OwnedReader> {
    match body {
        OwnedBody::Bytes(data, start) => {
            let available = data.len().saturating_sub(start) as u64;
            if available >= n {
                let end = start + usize::try_from(n).unwrap_or(usize::MAX);
                Ok(Owned::Shared(SharedBytes::new(data, start, end)))
            } else {
                Err(OwnedReader::from(OwnedBody::Bytes(data, start)))
            }
        }
        OwnedBody::File(file) => Ok(Owned::File(file, n)),
    }
}

impl From<OwnedBody> for OwnedReader {
    fn from(body: OwnedBody) -> OwnedReader {
        match body {
            OwnedBody::Bytes(data, start) => {
                let mut cursor = Cursor::new(SharedVec(data));
                cursor.set_position(start as u64);
                OwnedReader::Bytes(cursor)
            }
            OwnedBody::File(file) => OwnedReader::File(file),
        }
    }
}

fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "response body ended before its declared length",
    )
}

/// One `read`, retried on `Interrupted`.
fn read_some<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Streams exactly `n` body bytes after the head in `buf` (the first read travels with the
/// head). Stops at `n` even if the reader has more; `UnexpectedEof` if it has less.
fn write_fixed<R: Read, W: Write>(
    reader: &mut R,
    n: u64,
    mut buf: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut start = buf.len();
    buf.resize(start.saturating_add(STREAM_BUF), 0);
    let mut remaining = n;
    while remaining > 0 {
        let space = buf.len() - start;
        let want = usize::try_from(remaining).map_or(space, |r| r.min(space));
        let got = read_some(reader, &mut buf[start..start + want])?;
        if got == 0 {
            out.write_all(&buf[..start])?;
            out.flush()?;
            return Err(early_eof());
        }
        out.write_all(&buf[..start + got])?;
        remaining -= got as u64;
        start = 0;
    }
    if start > 0 {
        // n == 0 never gets here (it is always a small body), but stay correct anyway.
        out.write_all(&buf[..start])?;
    }
    Ok(())
}

/// Streams the body as one chunk per read, then the last-chunk. The head in `head` goes out
/// together with the first chunk.
fn write_chunked<R: Read, W: Write>(
    reader: &mut R,
    mut head: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut frame = ChunkFrame::new(STREAM_BUF);
    let mut head_sent = false;
    loop {
        let got = read_some(reader, frame.data_mut())?;
        if got == 0 {
            break;
        }
        let chunk = frame.frame(got);
        if head_sent {
            out.write_all(chunk)?;
        } else {
            head.extend_from_slice(chunk);
            out.write_all(&head)?;
            head_sent = true;
        }
    }
    if head_sent {
        out.write_all(LAST_CHUNK)
    } else {
        head.extend_from_slice(LAST_CHUNK);
        out.write_all(&head)
    }
}

/// Streams raw reads until EOF (close-delimited body); the first read travels with the head.
fn write_until_eof<R: Read, W: Write>(
    reader: &mut R,
    mut buf: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut start = buf.len();
    buf.resize(start.saturating_add(STREAM_BUF), 0);
    loop {
        let got = read_some(reader, &mut buf[start..])?;
        if got == 0 {
            if start > 0 {
                out.write_all(&buf[..start])?;
            }
            return Ok(());
        }
        out.write_all(&buf[..start + got])?;
        start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V10: HTTPVersion = HTTPVersion(1, 0);
    const V11: HTTPVersion = HTTPVersion(1, 1);

    fn ctx(version: HTTPVersion) -> WriteContext<'static> {
        WriteContext {
            version,
            head_request: false,
            keep_alive: true,
            upgrade: None,
        }
    }

    /// Writes `response`, returning (head without Date, body, result).
    fn write<R: Read>(
        response: Response<R>,
        ctx: &WriteContext<'_>,
    ) -> (String, Vec<u8>, io::Result<Written>) {
        let mut out = Vec::new();
        let result = response.write_message(ctx, &mut out);
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(out.len(), |p| p + 4);
        let (head, body) = out.split_at(split);
        let head = String::from_utf8(head.to_vec()).unwrap();
        let head: String = head
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with("Date: "))
            .collect();
        (head, body.to_vec(), result)
    }

    /// A reader that hands out its data in fixed pieces, counting reads.
    struct Pieces {
        pieces: Vec<Vec<u8>>,
        reads: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            if self.pieces.is_empty() {
                return Ok(0);
            }
            let piece = &mut self.pieces[0];
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.pieces.remove(0);
            }
            Ok(n)
        }
    }

    /// A writer counting `write` calls.
    #[derive(Default)]
    struct CountingWriter {
        data: Vec<u8>,
        writes: usize,
    }

    impl Write for CountingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn small_body_is_one_write() {
        let mut out = CountingWriter::default();
        let written = Response::from_string("hello")
            .write_message(&ctx(V11), &mut out)
            .unwrap();
        assert!(written.keep_alive);
        assert_eq!(out.writes, 1);
        let text = String::from_utf8(out.data).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "));
        assert!(text.ends_with(
            "\r\nServer: tiny-http (Rust)\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             Content-Length: 5\r\n\r\nhello"
        ));
    }

    #[test]
    fn head_request_sends_length_but_no_body() {
        let c = WriteContext {
            head_request: true,
            ..ctx(V11)
        };
        let (head, body, r) = write(Response::from_data(vec![7u8; 100_000]), &c);
        assert!(r.unwrap().keep_alive);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nContent-Length: 100000\r\n\r\n"
        );
        assert!(body.is_empty());
    }

    #[test]
    fn no_content_and_not_modified() {
        let (head, body, r) = write(
            Response::from_string("ignored").with_status_code(204),
            &ctx(V11),
        );
        assert!(r.is_ok());
        assert_eq!(
            head,
            "HTTP/1.1 204 No Content\r\nServer: tiny-http (Rust)\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\r\n"
        );
        assert!(body.is_empty());
        let (head, body, _) = write(Response::from_data("abc").with_status_code(304), &ctx(V11));
        assert_eq!(
            head,
            "HTTP/1.1 304 Not Modified\r\nServer: tiny-http (Rust)\r\nContent-Length: 3\r\n\r\n"
        );
        assert!(body.is_empty());
    }

    #[test]
    fn http10_unknown_length_is_close_delimited() {
        let reader = Pieces {
            pieces: vec![b"abc".to_vec(), b"def".to_vec()],
            reads: 0,
        };
        let response = Response::new(StatusCode(200), vec![], reader, None, None);
        let (head, body, r) = write(response, &ctx(V10));
        assert!(!r.unwrap().keep_alive);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(body, b"abcdef");
    }

    #[test]
    fn http10_keep_alive_and_large_known_length() {
        let (head, body, r) = write(Response::from_data(vec![1u8; 40_000]), &ctx(V10));
        assert!(r.unwrap().keep_alive);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nContent-Length: 40000\r\n\
             Connection: keep-alive\r\n\r\n"
        );
        assert_eq!(body, vec![1u8; 40_000]);
    }

    #[test]
    fn connection_close_when_not_keep_alive() {
        let c = WriteContext {
            keep_alive: false,
            ..ctx(V11)
        };
        let (head, _, r) = write(Response::empty(200), &c);
        assert!(!r.unwrap().keep_alive);
        assert!(head.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn chunked_multi_read_body() {
        let reader = Pieces {
            pieces: vec![b"hello".to_vec(), vec![b'x'; 26], b"!".to_vec()],
            reads: 0,
        };
        let response = Response::new(StatusCode(200), vec![], reader, None, None);
        let mut out = CountingWriter::default();
        let written = response.write_message(&ctx(V11), &mut out).unwrap();
        assert!(written.keep_alive);
        let text = String::from_utf8(out.data).unwrap();
        let expected_body = format!(
            "5\r\nhello\r\n1a\r\n{}\r\n1\r\n!\r\n0\r\n\r\n",
            "x".repeat(26)
        );
        assert!(text.contains("\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(text.ends_with(&expected_body), "{text}");
        // head + first chunk together, then two chunks, then the last-chunk
        assert_eq!(out.writes, 4);
    }

    #[test]
    fn chunked_empty_body_is_one_write() {
        let response = Response::new(StatusCode(200), vec![], io::empty(), None, None);
        let mut out = CountingWriter::default();
        response.write_message(&ctx(V11), &mut out).unwrap();
        assert_eq!(out.writes, 1);
        assert!(out
            .data
            .ends_with(b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    }

    #[test]
    fn threshold_switches_to_chunked() {
        let response = Response::from_data(vec![b'a'; 20]).with_chunked_threshold(20);
        let (head, body, r) = write(response, &ctx(V11));
        assert!(r.is_ok());
        assert!(head.contains("Transfer-Encoding: chunked\r\n"));
        assert!(!head.contains("Content-Length"));
        assert_eq!(
            body,
            [b"14\r\n".as_slice(), &[b'a'; 20], b"\r\n0\r\n\r\n"].concat()
        );
    }

    #[test]
    fn truncates_at_content_length() {
        let small = Response::new(
            StatusCode(200),
            vec![],
            Cursor::new(vec![b'z'; 50]),
            Some(10),
            None,
        );
        let (head, body, r) = write(small, &ctx(V11));
        assert!(r.is_ok());
        assert!(head.contains("Content-Length: 10\r\n"));
        assert_eq!(body, vec![b'z'; 10]);

        let n = 20_000;
        let data: Vec<u8> = (0..n + 5_000).map(|i| (i % 256) as u8).collect();
        let large = Response::new(
            StatusCode(200),
            vec![],
            Cursor::new(data.clone()),
            Some(n),
            None,
        );
        let (head, body, r) = write(large, &ctx(V11));
        assert!(r.is_ok());
        assert!(head.contains("Content-Length: 20000\r\n"));
        assert_eq!(body, &data[..n]);
    }

    #[test]
    fn large_fixed_body_streams_in_pieces() {
        let n = 200_000usize;
        let data: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
        let response = Response::from_data(data.clone()).with_chunked_threshold(usize::MAX);
        let mut out = CountingWriter::default();
        response.write_message(&ctx(V11), &mut out).unwrap();
        let split = out.data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(&out.data[split..], &data[..]);
        assert_eq!(out.writes, n.div_ceil(STREAM_BUF));
    }

    #[test]
    fn early_eof_is_an_error() {
        let small = Response::new(
            StatusCode(200),
            vec![],
            Cursor::new(b"abc".to_vec()),
            Some(10),
            None,
        );
        let (_, body, r) = write(small, &ctx(V11));
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(body, b"abc");

        let large = Response::new(
            StatusCode(200),
            vec![],
            Cursor::new(vec![1u8; 20_000]),
            Some(30_000),
            None,
        );
        let (head, body, r) = write(large, &ctx(V11));
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(head.contains("Content-Length: 30000"));
        assert_eq!(body.len(), 20_000);
    }

    #[test]
    fn bad_header_writes_nothing() {
        let mut evil: Header = "X-Evil: fine".parse().unwrap();
        evil.value = ascii::AsciiString::from_ascii("a\r\nSet-Cookie: pwned=1").unwrap();
        let mut out = Vec::new();
        let err = Response::from_string("x")
            .with_header(evil)
            .write_message(&ctx(V11), &mut out)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());

        let mut out = Vec::new();
        let err = Response::empty(1000)
            .write_message(&ctx(V11), &mut out)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }

    #[test]
    fn upgrade_head() {
        let c = WriteContext {
            upgrade: Some("websocket"),
            ..ctx(V11)
        };
        let response = Response::from_string("not sent").with_status_code(101);
        let (head, body, r) = write(response, &c);
        assert!(!r.unwrap().keep_alive);
        assert_eq!(
            head,
            "HTTP/1.1 101 Switching Protocols\r\nServer: tiny-http (Rust)\r\n\
             Content-Type: text/plain; charset=UTF-8\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
        );
        assert!(body.is_empty());
    }

    #[test]
    fn header_rules() {
        let h = |s: &str| s.parse::<Header>().unwrap();
        let response = Response::from_string("x")
            .with_header(h("Connection: close"))
            .with_header(h("Transfer-Encoding: chunked"))
            .with_header(h("Trailer: X"))
            .with_header(h("Upgrade: h2c"))
            .with_header(h("Content-Length: 123"))
            .with_header(h("Content-Type: application/json"))
            .with_header(h("Set-Cookie: a=1"))
            .with_header(h("Set-Cookie: b=2"));
        assert_eq!(response.data_length(), Some(123));
        let names: Vec<String> = response.headers().iter().map(|h| h.to_string()).collect();
        assert_eq!(
            names,
            [
                "Content-Type: application/json",
                "Set-Cookie: a=1",
                "Set-Cookie: b=2"
            ]
        );
        let unparsable = Response::from_string("xy").with_header(h("Content-Length: lots"));
        assert_eq!(unparsable.data_length(), Some(2));
        assert!(unparsable
            .headers()
            .iter()
            .all(|h| !h.field.equiv("content-length")));
    }

    #[test]
    fn user_date_and_server_are_kept() {
        let response = Response::empty(200)
            .with_header(
                "Date: Thu, 01 Jan 1970 00:00:00 GMT"
                    .parse::<Header>()
                    .unwrap(),
            )
            .with_header("Server: custom".parse::<Header>().unwrap());
        let mut out = Vec::new();
        response.write_message(&ctx(V11), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: custom\r\n\
             Content-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn additional_headers_are_drained_at_write() {
        let (tx, rx) = std::sync::mpsc::channel();
        let response = Response::new(StatusCode(200), vec![], io::empty(), Some(0), Some(rx));
        tx.send("X-Late: yes".parse::<Header>().unwrap()).unwrap();
        tx.send("Content-Length: 0".parse::<Header>().unwrap())
            .unwrap();
        let (head, _, r) = write(response, &ctx(V11));
        assert!(r.is_ok());
        assert!(head.contains("\r\nX-Late: yes\r\n"));
        assert_eq!(head.matches("Content-Length").count(), 1);
    }

    #[test]
    fn raw_print_derives_keep_alive() {
        let h = |s: &str| s.parse::<Header>().unwrap();
        let print = |version, headers: &[Header]| {
            let mut out = Vec::new();
            Response::empty(200)
                .raw_print(&mut out, version, headers, false, None)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(!print(V11, &[]).contains("Connection"));
        assert!(print(V11, &[h("Connection: Close")]).contains("Connection: close\r\n"));
        assert!(print(V10, &[]).contains("Connection: close\r\n"));
        assert!(
            print(V10, &[h("Connection: foo, Keep-Alive")]).contains("Connection: keep-alive\r\n")
        );
        let mut out = Vec::new();
        Response::from_string("body")
            .raw_print(&mut out, V11, &[], true, None)
            .unwrap();
        assert!(out.ends_with(b"Content-Length: 4\r\n\r\n"));
    }

    #[test]
    fn constructors_and_getters() {
        let r = Response::empty(404);
        assert_eq!(r.status_code(), StatusCode(404));
        assert_eq!(r.chunked_threshold(), 32768);
        let cloned = r.clone();
        assert_eq!(cloned.status_code(), 404);
        #[allow(deprecated)]
        let old = Response::new_empty(StatusCode(500));
        assert_eq!(old.status_code(), 500);
        let boxed: ResponseBox = Response::from_string("abc").boxed();
        let mut reader = boxed.into_reader();
        let mut s = String::new();
        reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        let file = Response::from_file(File::open("Cargo.toml").unwrap());
        assert_eq!(
            file.data_length(),
            Some(std::fs::metadata("Cargo.toml").unwrap().len() as usize)
        );
        assert!(format!("{:?}", Response::empty(200)).starts_with("Response {"));
        fn assert_send<T: Send>() {}
        assert_send::<ResponseBox>();
    }

    proptest::proptest! {
        #[test]
        fn hand_built_headers_never_split_the_head(
            name in proptest::collection::vec(0u8..128, 1..8),
            value in proptest::collection::vec(0u8..128, 0..16),
            status in proptest::num::u16::ANY,
            head_request in proptest::bool::ANY,
            len in proptest::option::of(0usize..40_000),
        ) {
            let header = Header {
                field: crate::HeaderField::from_bytes(name).unwrap(),
                value: ascii::AsciiString::from_ascii(value).unwrap(),
            };
            let body = vec![b'b'; len.unwrap_or(100)];
            let mut response = Response::new(StatusCode(status), vec![], Cursor::new(body), len, None);
            response.add_header(header);
            let c = WriteContext { head_request, ..ctx(V11) };
            let mut out = Vec::new();
            match response.write_message(&c, &mut out) {
                Err(e) => {
                    proptest::prop_assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
                    proptest::prop_assert!(out.is_empty());
                }
                Ok(_) => {
                    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                    let head = &out[..end];
                    // every line is a status line or "token: value"
                    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
                        let line = line.strip_suffix(b"\r").unwrap_or(line);
                        proptest::prop_assert!(!line.contains(&b'\r') && !line.contains(&0));
                        if i > 0 {
                            let colon = line.iter().position(|&b| b == b':').unwrap();
                            proptest::prop_assert!(crate::HeaderField::from_bytes(&line[..colon])
                                .map(|f| f.is_valid())
                                .unwrap_or(false));
                        }
                    }
                }
            }
        }
    }
}
