//! Response encoding, sans-IO: the one response-framing decision, the status line and
//! header block, and the chunked body encoder. Everything writes into a caller's buffer.
//!
//! ```text
//! (HEAD?, status, version, length, threshold, upgrade?)
//!        │ response_framing()
//!        ▼
//!   NoBody{content_length} | Length(n) | Chunked | CloseDelimited
//!        │ encode_head()   validate everything ─ bad? ─> Err, nothing written
//!        ▼
//!   "HTTP/1.1 200 OK\r\n" Date, Server, user headers, framing, Connection, Upgrade, "\r\n"
//!        │ body: raw n bytes | ChunkFrame per read + LAST_CHUNK | raw until close
//! ```
//!
//! # Invariants
//! - `encode_head` either appends a complete, valid head or appends nothing.
//! - Headers the library owns (`Connection`, `Content-Length`, `Trailer`,
//!   `Transfer-Encoding`, `Upgrade`) are never copied from the user's list.
//! - `Transfer-Encoding` is only ever sent to HTTP/1.1+ clients and never with 1xx/204.

use std::fmt;
use std::io;

use crate::types::{HTTPVersion, Header, StatusCode};

use crate::proto::date::{http_date, DATE_LEN};

/// The `Server` header value sent unless the user set one.
pub(crate) const SERVER: &[u8] = b"tiny-http (Rust)";

/// The final, empty chunk of a chunked body (no trailers).
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Room before a chunk's data for its size line: 16 hex digits + CRLF.
const CHUNK_PREFIX: usize = 18;

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseFraming {
    /// No body is sent. `content_length`, when `Some`, is still advertised (HEAD, 304).
    NoBody {
        /// The `Content-Length` to advertise, if any.
        content_length: Option<u64>,
    },
    /// `Content-Length: n`, then exactly `n` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body runs until the connection closes.
    CloseDelimited,
}

/// The one response-framing decision.
///
/// - RFC 9110 §6.4.1: responses to HEAD, and 1xx, 204 and 304 responses, have no content.
/// - RFC 9110 §8.6: `Content-Length` MUST NOT be sent in 1xx or 204 responses; a response to
///   HEAD and a 304 MAY carry the length the full response would have had, so they keep it.
/// - RFC 9110 §7.8: after `101` (upgrade) the connection speaks the new protocol at once, so
///   an upgrade response carries no body and no framing headers.
/// - RFC 9112 §6.1: `Transfer-Encoding` MUST NOT be sent in 1xx/204 responses, nor to a client
///   whose request was not HTTP/1.1 or later.
/// - RFC 9112 §6.3: without `Content-Length` or chunking, the body is delimited by closing
///   the connection (the only option for an HTTP/1.0 client when the length is unknown).
///
/// A known length below `chunked_threshold` is sent with `Content-Length`; otherwise
/// HTTP/1.1 gets chunked and HTTP/1.0 gets `Content-Length` (known) or close-delimited.
pub(crate) fn response_framing(
    head_request: bool,
    status: u16,
    version: &HTTPVersion,
    data_length: Option<usize>,
    chunked_threshold: usize,
    upgrade: bool,
) -> ResponseFraming {
    let length = data_length.and_then(|n| u64::try_from(n).ok());
    if upgrade || (100..200).contains(&status) || status == 204 {
        return ResponseFraming::NoBody {
            content_length: None,
        };
    }
    if head_request || status == 304 {
        return ResponseFraming::NoBody {
            content_length: length,
        };
    }
    match (data_length, length) {
        (Some(n), Some(len)) if n < chunked_threshold => ResponseFraming::Length(len),
        (_, Some(len)) if !version.at_least_1_1() => ResponseFraming::Length(len),
        _ if version.at_least_1_1() => ResponseFraming::Chunked,
        _ => ResponseFraming::CloseDelimited,
    }
}

/// What the `Connection` header of a response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionHeader<'a> {
    /// No `Connection` header (HTTP/1.1 persistent by default).
    Absent,
    /// `Connection: close`.
    Close,
    /// `Connection: keep-alive` (persistence for an HTTP/1.0 client).
    KeepAlive,
    /// `Connection: upgrade` and `Upgrade: <protocol>`.
    Upgrade(&'a str),
}

/// Everything that goes into a response head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseHead<'a> {
    /// The status code (must have three digits).
    pub(crate) status: StatusCode,
    /// The user's headers; library-owned ones are skipped, `Date`/`Server` suppress ours.
    pub(crate) headers: &'a [Header],
    /// The framing from [`response_framing`].
    pub(crate) framing: ResponseFraming,
    /// The `Connection` (and `Upgrade`) header to send.
    pub(crate) connection: ConnectionHeader<'a>,
    /// The `Date` value to send unless the user set one.
    pub(crate) date: &'a [u8; DATE_LEN],
}

/// Why a response head could not be encoded. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The status code does not have exactly three digits.
    Status(u16),
    /// A header name is not a token, or a value holds a forbidden byte.
    Header,
    /// The upgrade protocol holds a forbidden byte.
    Upgrade,
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Status(code) => write!(f, "invalid response status code {code}"),
            HeadError::Header => f.write_str("invalid response header name or value"),
            HeadError::Upgrade => f.write_str("invalid upgrade protocol"),
        }
    }
}

impl std::error::Error for HeadError {}

impl From<HeadError> for io::Error {
    fn from(e: HeadError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// Is this a header the library writes itself (and so never copies from the user)?
pub(crate) fn is_library_owned(header: &Header) -> bool {
    let f = &header.field;
    f.is(b"connection")
        || f.is(b"content-length")
        || f.is(b"trailer")
        || f.is(b"transfer-encoding")
        || f.is(b"upgrade")
}

/// Validates `head` completely, then appends the status line and header block to `out`.
/// On error `out` is left untouched.
pub(crate) fn encode_head(head: &ResponseHead<'_>, out: &mut Vec<u8>) -> Result<(), HeadError> {
    let code = head.status.0;
    if !(100..=999).contains(&code) {
        return Err(HeadError::Status(code));
    }
    let mut user_date = false;
    let mut user_server = false;
    for h in head.headers {
        if !h.is_valid() {
            return Err(HeadError::Header);
        }
        user_date |= h.field.is(b"date");
        user_server |= h.field.is(b"server");
    }
    if let ConnectionHeader::Upgrade(p) = head.connection {
        if p.is_empty() || !Header::is_valid_value(p.as_bytes()) {
            return Err(HeadError::Upgrade);
        }
    }

    write_status_line(head.status, out);
    if !user_date && !user_server {
        out.extend_from_slice(&date_and_server(head.date));
    } else if !user_date {
        write_header(b"Date", head.date, out);
    } else if !user_server {
        write_header(b"Server", SERVER, out);
    }
    for h in head.headers.iter().filter(|h| !is_library_owned(h)) {
        write_header(h.field.as_str().as_bytes(), h.value.as_bytes(), out);
    }
    match head.framing {
        ResponseFraming::NoBody {
            content_length: Some(n),
        }
        | ResponseFraming::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(n, out);
            out.extend_from_slice(b"\r\n");
        }
        ResponseFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        ResponseFraming::NoBody {
            content_length: None,
        }
        | ResponseFraming::CloseDelimited => {}
    }
    match head.connection {
        ConnectionHeader::Absent => {}
        ConnectionHeader::Close => out.extend_from_slice(b"Connection: close\r\n"),
        ConnectionHeader::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        ConnectionHeader::Upgrade(p) => {
            out.extend_from_slice(b"Connection: upgrade\r\n");
            write_header(b"Upgrade", p.as_bytes(), out);
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends `HTTP/1.1 <code> <reason>\r\n`.
///
/// We always answer as HTTP/1.1, the highest version we conform to (RFC 9110 §6.2); an
/// HTTP/1.0 client gets no 1.1-only features (chunking, implicit persistence) from us.
fn write_status_line(status: StatusCode, out: &mut Vec<u8>) {
    if status.0 == 200 {
        // The common case, whole.
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(u64::from(status.0), out);
    out.push(b' ');
    out.extend_from_slice(status.default_reason_phrase().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `Date: <date>\r\nServer: <SERVER>\r\n`, assembled in a fixed-size array: one copy into
/// the output instead of eight small ones.
fn date_and_server(date: &[u8; DATE_LEN]) -> [u8; DATE_AND_SERVER_LEN] {
    let mut block = [0u8; DATE_AND_SERVER_LEN];
    let parts: [&[u8]; 5] = [b"Date: ", date, b"\r\nServer: ", SERVER, b"\r\n"];
    let mut at = 0;
    for part in parts {
        block[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    block
}

/// The length of [`date_and_server`]'s block.
const DATE_AND_SERVER_LEN: usize = 6 + DATE_LEN + 10 + SERVER.len() + 2;

/// Appends `name: value\r\n` (the caller has validated both).
fn write_header(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without going through `fmt`.
pub(crate) fn push_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A reusable buffer that frames one chunk in place: the data is read straight into
/// [`data_mut`](Self::data_mut), and [`frame`](Self::frame) adds the size line before it and
/// the CRLF after it without copying the data.
#[derive(Debug)]
pub(crate) struct ChunkFrame {
    buf: Vec<u8>,
}

impl ChunkFrame {
    /// A frame holding at most `max_data` bytes of data per chunk.
    pub(crate) fn new(max_data: usize) -> ChunkFrame {
        let len = CHUNK_PREFIX.saturating_add(max_data).saturating_add(2);
        ChunkFrame { buf: vec![0; len] }
    }

    /// Where to put the next chunk's data.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let end = self.buf.len().saturating_sub(2);
        &mut self.buf[CHUNK_PREFIX..end]
    }

    /// Frames the first `n` bytes of the data region as one chunk (`<hex>\r\n<data>\r\n`).
    /// `n == 0` gives an empty slice: an empty chunk would end the body (use [`LAST_CHUNK`]).
    pub(crate) fn frame(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.buf.len().saturating_sub(CHUNK_PREFIX + 2));
        if n == 0 {
            return &[];
        }
        let data_end = CHUNK_PREFIX + n;
        self.buf[data_end..data_end + 2].copy_from_slice(b"\r\n");
        let mut start = CHUNK_PREFIX - 2;
        self.buf[start..CHUNK_PREFIX].copy_from_slice(b"\r\n");
        let mut rest = n;
        while rest > 0 {
            start -= 1;
            self.buf[start] = b"0123456789abcdef"[rest & 0xf];
            rest >>= 4;
        }
        &self.buf[start..data_end + 2]
    }
}

/// Appends a minimal complete response for an error the library answers itself (bad request,
/// timeout, handler dropped the request, ...): `Date`, `Server`, `Content-Type: text/plain`,
/// `Content-Length`, `Connection: close`, and a body naming the status (`404 Not Found`).
/// The caller closes the connection afterwards. A status without three digits becomes 500.
pub(crate) fn error_response(status: StatusCode, version: &HTTPVersion) -> Vec<u8> {
    let mut buf = Vec::with_capacity(192);
    let out = &mut buf;
    let status = if (100..=999).contains(&status.0) {
        status
    } else {
        StatusCode(500)
    };
    let reason = status.default_reason_phrase().as_bytes();
    // "NNN " + reason + "\n"
    let body_len = 4 + reason.len() + 1;
    let framing = response_framing(false, status.0, version, Some(body_len), usize::MAX, false);
    let date = http_date();
    write_status_line(status, out);
    write_header(b"Date", &date, out);
    write_header(b"Server", SERVER, out);
    if let ResponseFraming::Length(n) = framing {
        write_header(b"Content-Type", b"text/plain; charset=utf-8", out);
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(n, out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    if let ResponseFraming::Length(_) = framing {
        push_decimal(u64::from(status.0), out);
        out.push(b' ');
        out.extend_from_slice(reason);
        out.push(b'\n');
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseFraming::*;

    const V10: HTTPVersion = HTTPVersion(1, 0);
    const V11: HTTPVersion = HTTPVersion(1, 1);
    const DATE: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    /// Naive oracle: appends one chunk holding `data` to `out` (nothing for empty data).
    fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let mut digits = [0u8; 16];
        let mut i = digits.len();
        let mut rest = data.len();
        while rest > 0 {
            i -= 1;
            digits[i] = b"0123456789abcdef"[rest & 0xf];
            rest >>= 4;
        }
        out.extend_from_slice(&digits[i..]);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// (head, status, version, length, threshold, upgrade) -> framing
    type FramingRow = (
        bool,
        u16,
        HTTPVersion,
        Option<usize>,
        usize,
        bool,
        ResponseFraming,
    );

    #[test]
    fn framing_table() {
        #[rustfmt::skip]
        let table: &[FramingRow] = &[
            // ordinary bodies
            (false, 200, V11, Some(5), 32768, false, Length(5)),
            (false, 200, V11, Some(0), 32768, false, Length(0)),
            (false, 200, V11, Some(32767), 32768, false, Length(32767)),
            (false, 200, V11, Some(32768), 32768, false, Chunked),
            (false, 200, V11, None, 32768, false, Chunked),
            (false, 404, V11, Some(9), 32768, false, Length(9)),
            // HTTP/1.0: never chunked
            (false, 200, V10, Some(5), 32768, false, Length(5)),
            (false, 200, V10, Some(100_000), 32768, false, Length(100_000)),
            (false, 200, V10, None, 32768, false, CloseDelimited),
            (false, 200, HTTPVersion(0, 9), None, 32768, false, CloseDelimited),
            // HEAD: no body, real length kept
            (true, 200, V11, Some(5), 32768, false, NoBody { content_length: Some(5) }),
            (true, 200, V11, Some(100_000), 32768, false, NoBody { content_length: Some(100_000) }),
            (true, 200, V11, None, 32768, false, NoBody { content_length: None }),
            (true, 200, V10, None, 32768, false, NoBody { content_length: None }),
            // 304 keeps the length, 204 and 1xx never carry one
            (false, 304, V11, Some(7), 32768, false, NoBody { content_length: Some(7) }),
            (false, 304, V11, None, 32768, false, NoBody { content_length: None }),
            (false, 204, V11, Some(7), 32768, false, NoBody { content_length: None }),
            (true, 204, V11, Some(7), 32768, false, NoBody { content_length: None }),
            (false, 100, V11, Some(7), 32768, false, NoBody { content_length: None }),
            (false, 199, V11, None, 32768, false, NoBody { content_length: None }),
            (false, 101, V11, None, 32768, false, NoBody { content_length: None }),
            // upgrade: no framing at all
            (false, 101, V11, Some(3), 32768, true, NoBody { content_length: None }),
            (false, 200, V11, None, 32768, true, NoBody { content_length: None }),
            // threshold edge cases
            (false, 200, V11, Some(0), 0, false, Chunked),
            (false, 200, V10, Some(0), 0, false, Length(0)),
            (false, 200, V11, Some(usize::MAX), usize::MAX, false, Chunked),
        ];
        for (i, (head, status, version, len, threshold, upgrade, expected)) in
            table.iter().enumerate()
        {
            let got = response_framing(*head, *status, version, *len, *threshold, *upgrade);
            assert_eq!(got, *expected, "row {i}");
        }
    }

    fn head(
        status: u16,
        headers: &[Header],
        framing: ResponseFraming,
        connection: ConnectionHeader<'_>,
    ) -> Result<String, HeadError> {
        let mut out = Vec::new();
        let h = ResponseHead {
            status: StatusCode(status),
            headers,
            framing,
            connection,
            date: DATE,
        };
        let r = encode_head(&h, &mut out);
        if r.is_err() {
            assert!(out.is_empty(), "nothing may be written on error");
        }
        r.map(|()| String::from_utf8(out).unwrap())
    }

    fn hdr(s: &str) -> Header {
        s.parse().unwrap()
    }

    #[test]
    fn encodes_length_head() {
        let got = head(
            200,
            &[hdr("Content-Type: text/plain")],
            Length(5),
            ConnectionHeader::Absent,
        );
        assert_eq!(
            got.unwrap(),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Server: tiny-http (Rust)\r\nContent-Type: text/plain\r\n\
             Content-Length: 5\r\n\r\n"
        );
    }

    #[test]
    fn user_date_and_server_win_and_owned_headers_are_skipped() {
        let headers = [
            hdr("Server: mine"),
            hdr("date: yesterday"),
            hdr("Connection: keep-alive"),
            hdr("Transfer-Encoding: gzip"),
            hdr("Content-Length: 99"),
            hdr("Trailer: X"),
            hdr("Upgrade: h2c"),
        ];
        let got = head(200, &headers, Chunked, ConnectionHeader::Close).unwrap();
        assert_eq!(
            got,
            "HTTP/1.1 200 OK\r\nServer: mine\r\ndate: yesterday\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn encodes_no_body_heads() {
        let base = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: tiny-http (Rust)\r\n";
        let got = head(
            200,
            &[],
            NoBody {
                content_length: Some(42),
            },
            ConnectionHeader::Absent,
        );
        assert_eq!(
            got.unwrap(),
            format!("HTTP/1.1 200 OK\r\n{base}Content-Length: 42\r\n\r\n")
        );
        let got = head(
            204,
            &[],
            NoBody {
                content_length: None,
            },
            ConnectionHeader::Absent,
        );
        assert_eq!(
            got.unwrap(),
            format!("HTTP/1.1 204 No Content\r\n{base}\r\n")
        );
        let got = head(
            304,
            &[],
            NoBody {
                content_length: Some(3),
            },
            ConnectionHeader::KeepAlive,
        );
        assert_eq!(
            got.unwrap(),
            format!(
                "HTTP/1.1 304 Not Modified\r\n{base}Content-Length: 3\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let got = head(200, &[], CloseDelimited, ConnectionHeader::Close);
        assert_eq!(
            got.unwrap(),
            format!("HTTP/1.1 200 OK\r\n{base}Connection: close\r\n\r\n")
        );
        let got = head(
            101,
            &[],
            NoBody {
                content_length: None,
            },
            ConnectionHeader::Upgrade("websocket"),
        );
        assert_eq!(
            got.unwrap(),
            format!(
                "HTTP/1.1 101 Switching Protocols\r\n{base}Connection: upgrade\r\nUpgrade: websocket\r\n\r\n"
            )
        );
    }

    #[test]
    fn bad_input_writes_nothing() {
        let mut evil = hdr("X-Evil: ok");
        evil.value = ascii::AsciiString::from_ascii("a\r\nSet-Cookie: x").unwrap();
        assert_eq!(
            head(200, &[evil], Length(0), ConnectionHeader::Absent),
            Err(HeadError::Header)
        );
        let mut bad_name = hdr("X: ok");
        bad_name.field = crate::HeaderField::from_bytes("X Y").unwrap();
        assert_eq!(
            head(200, &[bad_name], Length(0), ConnectionHeader::Absent),
            Err(HeadError::Header)
        );
        assert_eq!(
            head(99, &[], Length(0), ConnectionHeader::Absent),
            Err(HeadError::Status(99))
        );
        assert_eq!(
            head(1000, &[], Length(0), ConnectionHeader::Absent),
            Err(HeadError::Status(1000))
        );
        assert_eq!(
            head(101, &[], Chunked, ConnectionHeader::Upgrade("ws\r\nX: y")),
            Err(HeadError::Upgrade)
        );
        assert_eq!(
            head(101, &[], Chunked, ConnectionHeader::Upgrade("")),
            Err(HeadError::Upgrade)
        );
        let e: io::Error = HeadError::Header.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn decimal_matches_format() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            push_decimal(n, &mut out);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn chunk_frame_matches_encode_chunk() {
        let mut frame = ChunkFrame::new(300);
        assert_eq!(frame.data_mut().len(), 300);
        for n in [1usize, 9, 15, 16, 255, 256, 300] {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            frame.data_mut()[..n].copy_from_slice(&data);
            let mut expected = Vec::new();
            encode_chunk(&data, &mut expected);
            assert_eq!(frame.frame(n), &expected[..], "n = {n}");
            assert!(expected.starts_with(format!("{n:x}\r\n").as_bytes()));
            assert!(expected.ends_with(b"\r\n"));
        }
        assert!(frame.frame(0).is_empty());
        // Asking for more than fits is clamped, never a panic.
        assert!(frame.frame(1000).starts_with(b"12c\r\n"));
        let mut out = Vec::new();
        encode_chunk(b"", &mut out);
        assert!(out.is_empty());
        encode_chunk(b"hello", &mut out);
        assert_eq!(out, b"5\r\nhello\r\n");
    }

    #[test]
    fn error_response_is_complete() {
        let out = error_response(StatusCode(400), &V11);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nDate: "));
        assert!(text.contains("\r\nServer: tiny-http (Rust)\r\n"));
        assert!(text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
        assert!(text.ends_with("Content-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n"));

        let out = error_response(StatusCode(7), &V10);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(text.ends_with("\r\n\r\n500 Internal Server Error\n"));

        let out = error_response(StatusCode(100), &V11);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("Content-Length"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }
}
