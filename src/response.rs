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
    encode_head, is_library_owned, response_framing, ConnectionHeader, ResponseFraming,
    ResponseHead,
};
use crate::runtime::output::SharedBytes;
use crate::runtime::reply::{Framing, Owned, Reply};
use crate::types::trim_ows;
use crate::{HTTPVersion, Header, StatusCode};

/// Bodies with a known length up to this size are sent together with the head in one write.
const SMALL_BODY: u64 = 16 * 1024;
/// Bodies up to this size (known in advance) are rendered whole in memory.
const RENDER_LIMIT: u64 = 64 * 1024;

/// Appends up to `n` bytes (at most [`RENDER_LIMIT`]) from `reader` to `buf`, stopping early
/// only at the end of the reader; returns how many were read. Reads straight into `buf`'s
/// room, without `read_to_end`'s probing and growth steps.
fn read_known<R: Read + ?Sized>(reader: &mut R, n: u64, buf: &mut Vec<u8>) -> io::Result<usize> {
    debug_assert!(
        n <= RENDER_LIMIT,
        "read_known is for bodies rendered in memory"
    );
    let want = usize::try_from(n.min(RENDER_LIMIT)).unwrap_or(0);
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut got = 0;
    while got < want {
        match read_some(reader, &mut buf[start + got..]) {
            Ok(0) => break,
            // A reader claiming more than the room it was given cannot push past it.
            Ok(k) => got += k.min(want - got),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    buf.truncate(start + got);
    Ok(got)
}

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
                let got = read_known(&mut self.reader, n, &mut buf)?;
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
                let got = read_known(reader, n, &mut buf)?;
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
        // A fresh response has no Content-Type to replace: no need for `add_header`'s checks.
        if let Some(header) = Header::text_plain_utf8() {
            response.headers.push(header);
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

mod write;
use write::{early_eof, read_some, write_chunked, write_fixed, write_until_eof};

#[cfg(test)]
mod tests;
