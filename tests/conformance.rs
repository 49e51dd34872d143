//! Request conformance over a real socket: a table of raw-byte requests (framing, smuggling
//! vectors, malformed heads, limits, pipelining after errors), each with its exact outcome.
//!
//! Every case runs on a fresh connection against one shared server (a second one, identical
//! but for `require_host(true)`, serves the strict cases). After each case a well-formed
//! request on another fresh connection must still be served. Every error response must carry
//! `Connection: close`, and the server must then close the connection by itself (the client
//! reads to EOF without closing its side). All failing cases are reported together.

mod support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::Duration;

use support::{serve_with, Client, TestServer};
use tiny_http::{Request, Response, ServerBuilder};

/// How long one step of a case may wait for the server.
const CASE_TIMEOUT: Duration = Duration::from_secs(5);

/// The limits of the servers under test, small enough to reach with short requests.
const MAX_REQUEST_LINE: usize = 256;
const MAX_HEAD_SIZE: usize = 2048;
const MAX_HEADERS: usize = 16;
const MAX_BODY_SIZE: u64 = 1024;

/// What must happen, in order, on the case's connection.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The handler ran and answered 200 with its echo `"METHOD URL BODY"`, exactly this.
    Served(&'static str),
    /// The server answered this error status with `Connection: close`, then closed.
    Status(u16),
    /// The handler's body read failed with this kind; its answer (which must say
    /// `Connection: close`) went out, then the server closed the connection.
    BodyError(ErrorKind),
    /// The server closed the connection without sending a byte.
    Closed,
    /// The client ended a chunked body mid-way with the server reading small bodies itself:
    /// a chunked body is pre-read only as far as it has arrived, so either the server saw
    /// the end first and closed without a byte (`Closed`), or it had already handed the
    /// request out and the handler's read failed (`BodyError`); which one is timing.
    ClosedOrBodyError(ErrorKind),
    /// Several outcomes in order (pipelining): all but the last are `Served`.
    Then(&'static [Expect]),
}
use Expect::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// The shared server with default `require_host(false)`.
    Lenient,
    /// The same limits with `require_host(true)`.
    Strict,
    /// The same limits with `preread_body(0)`: every body is read by the handler, so body
    /// errors reach it (cases expecting `BodyError` run here).
    Streaming,
}

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    request: &'static [u8],
    expect: Expect,
    /// Which server the case runs against.
    on: On,
    /// The client shuts its writing side down right after sending (EOF mid-message).
    half_close: bool,
}

const fn case(name: &'static str, request: &'static [u8], expect: Expect) -> Case {
    Case {
        name,
        request,
        expect,
        on: On::Lenient,
        half_close: false,
    }
}

impl Case {
    const fn strict(mut self) -> Case {
        self.on = On::Strict;
        self
    }

    const fn eof(mut self) -> Case {
        self.half_close = true;
        self
    }
}

/// Makes a generated request live for the whole test run.
fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

const INVALID: Expect = BodyError(ErrorKind::InvalidData);

#[rustfmt::skip]
const FIXED_CASES: &[Case] = &[
    // --- well-formed requests are served
    case("minimal 1.1", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET / ")),
    case("minimal 1.0", b"GET /ten HTTP/1.0\r\n\r\n", Served("GET /ten ")),
    case("leading empty lines", b"\r\n\r\nGET /e HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /e ")),
    case("bare LF line ends", b"GET /lf HTTP/1.1\nHost: a\n\n", Served("GET /lf ")),
    case("missing Host accepted by default", b"GET /nohost HTTP/1.1\r\n\r\n", Served("GET /nohost ")),
    case("lowercase method is a token", b"get /x HTTP/1.1\r\nHost: a\r\n\r\n", Served("get /x ")),
    case("extension method", b"PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", Served("PURGE /x ")),
    case("asterisk-form", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Served("OPTIONS * ")),
    // RFC 9112 §3.2.4: asterisk-form only with OPTIONS.
    case("asterisk-form with GET", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("asterisk-form with HEAD", b"HEAD * HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("asterisk-form with POST", b"POST * HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", Status(400)),
    case("asterisk-form with GET on 1.0", b"GET * HTTP/1.0\r\n\r\n", Status(400)),
    case("asterisk-form then a pipelined request", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET * HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("OPTIONS * "), Status(400)])),
    case("absolute-form", b"GET http://a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET http://a/b?c=d ")),
    case("percent-encoded non-UTF-8 target", b"GET /%ff%fe HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /%ff%fe ")),
    case("tab in a value", b"GET /t HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", Served("GET /t ")),
    case("Host with port", b"GET /p HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", Served("GET /p ")),
    case("Content-Length body", b"POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", Served("POST /cl hello")),
    case("Content-Length on 1.0", b"POST /cl HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", Served("POST /cl hello")),
    case("Content-Length zero", b"POST /z HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", Served("POST /z ")),
    case("Content-Length leading zeros", b"POST /lz HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", Served("POST /lz hello")),
    case("Content-Length with OWS", b"POST /ows HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello", Served("POST /ows hello")),
    case("duplicate Content-Length lines agree", b"POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello", Served("POST /d hello")),
    case("duplicate Content-Length list agrees", b"POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", Served("POST /d hello")),
    case("chunked body", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", Served("POST /c hello world")),
    case("chunked, any case", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n5\r\nhello\r\n0\r\n\r\n", Served("POST /c hello")),
    case("chunked, uppercase hex and leading zeros", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\n000\r\n\r\n", Served("POST /c 0123456789")),
    case("chunked with extensions", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d;e\"\r\nhello\r\n0;last\r\n\r\n", Served("POST /c hello")),
    case("chunked with BWS before extension", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n", Served("POST /c hello")),
    case("chunked with trailers", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n", Served("POST /c hello")),
    case("chunked, empty list elements", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n", Served("POST /c ")),
    case("Expect: 100-continue", b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", Served("PUT /e hello")),
    case("Expect: 100-continue on 1.0 is ignored", b"PUT /e HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", Served("PUT /e hi")),

    // --- Content-Length and Transfer-Encoding together: RFC 9112 §6.1 (the classic smuggling)
    case("CL then TE", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("TE then CL", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", Status(400)),
    case("CL.TE smuggling vector", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("TE.CL smuggling vector", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2c\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n\r\n0\r\n\r\n", Status(400)),
    case("CL zero with TE", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", Status(400)),
    case("TE identity with CL", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello", Status(400)),

    // --- Transfer-Encoding: RFC 9112 §6.1, §6.3 rule 4
    case("TE gzip only", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", Status(400)),
    case("TE chunked, gzip", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Status(400)),
    case("TE identity", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", Status(400)),
    case("TE empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", Status(400)),
    case("TE lines chunked then gzip", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Status(400)),
    case("TE xchunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", Status(400)),
    case("TE chunked with a parameter", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", Status(400)),
    case("TE quoted", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", Status(400)),
    case("TE with a space inside", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun ked\r\n\r\n", Status(400)),
    case("TE with vertical tab", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n", Status(400)),
    case("TE chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("TE chunked twice on two lines", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("TE on HTTP/1.0 hiding a request", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("TE gzip, chunked is not implemented", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", Status(501)),
    case("TE deflate, chunked is not implemented", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate, chunked\r\n\r\n0\r\n\r\n", Status(501)),
    case("TE unknown coding then chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Status(501)),

    // --- Content-Length syntax: RFC 9110 §8.6
    case("CL negative", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\nhello", Status(400)),
    case("CL plus sign", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", Status(400)),
    case("CL space inside", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\nhello", Status(400)),
    case("CL hex", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", Status(400)),
    case("CL decimal point", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\nhello", Status(400)),
    case("CL empty", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Status(400)),
    case("CL overflow", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", Status(400)),
    case("CL far overflow", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999999\r\n\r\n", Status(400)),
    case("CL empty list element", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\nhello", Status(400)),
    case("CL lines differ", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", Status(400)),
    case("CL list differs", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", Status(400)),
    case("CL line and list differ", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5, 0\r\n\r\nhello", Status(400)),

    // --- field syntax: RFC 9112 §5, RFC 9110 §5.5
    case("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", Status(400)),
    case("space before colon in CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", Status(400)),
    case("tab before colon in TE", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", Status(400)),
    case("obs-fold with tab", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", Status(400)),
    case("obs-fold in TE", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n", Status(400)),
    case("whitespace before the first field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", Status(400)),
    case("bare CR in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", Status(400)),
    case("NUL in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", Status(400)),
    case("SOH in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", Status(400)),
    case("ESC in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[31mred\r\n\r\n", Status(400)),
    case("DEL in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", Status(400)),
    case("non-ASCII in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", Status(400)),
    case("space in name", b"GET / HTTP/1.1\r\nHost: a\r\nX Y: a\r\n\r\n", Status(400)),
    case("separator in name", b"GET / HTTP/1.1\r\nHost: a\r\n(X): a\r\n\r\n", Status(400)),
    case("at sign in name", b"GET / HTTP/1.1\r\nHost: a\r\nX@Y: a\r\n\r\n", Status(400)),
    case("control byte in name", b"GET / HTTP/1.1\r\nHost: a\r\nX\x01: a\r\n\r\n", Status(400)),
    case("non-ASCII name", b"GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: a\r\n\r\n", Status(400)),
    case("empty name", b"GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", Status(400)),
    case("line without colon", b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", Status(400)),
    case("bare CR line end", b"GET / HTTP/1.1\r\nHost: a\r\rX: b\r\n\r\n", Status(400)),

    // --- request line: RFC 9112 §3
    case("method with separator", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("method with NUL", b"G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("non-ASCII method", b"G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("leading space", b" GET / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("two spaces after method", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("two spaces after target", b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("tabs as separators", b"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("space after version", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Status(400)),
    case("extra word", b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", Status(400)),
    case("space in target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("method only", b"GET\r\nHost: a\r\n\r\n", Status(400)),
    case("missing version (HTTP/0.9 request)", b"GET /\r\n\r\n", Status(400)),
    case("missing target", b"GET HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("lowercase http/1.1", b"GET / http/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("version without minor", b"GET / HTTP/1\r\nHost: a\r\n\r\n", Status(400)),
    case("two-digit version", b"GET / HTTP/11\r\nHost: a\r\n\r\n", Status(400)),
    case("long version", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", Status(400)),
    case("version garbage", b"GET / HTXP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("non-UTF-8 target", b"GET /a\xff HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("control byte in target", b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("TLS handshake on the plain port", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", Status(400)),
    case("binary garbage", b"\x00\x01\x02\x03\r\n\r\n", Status(400)),
    case("bare CR before the request line", b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", Status(400)),
    case("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Status(505)),
    case("HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Status(505)),
    case("HTTP/3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", Status(505)),
    case("HTTP/1.2 (as implemented)", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Status(505)),
    case("HTTP/0.9 version (as implemented)", b"GET / HTTP/0.9\r\n\r\n", Status(505)),

    // --- Host (RFC 9112 §3.2) and Expect (RFC 9110 §10.1.1)
    case("two Host lines", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Status(400)),
    case("two identical Host lines", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", Status(400)),
    case("three Host lines", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nhost: a\r\nHOST: a\r\n\r\n", Status(400)),
    case("Host with space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Status(400)),
    case("Host with slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Status(400)),
    case("strict: missing Host", b"GET / HTTP/1.1\r\n\r\n", Status(400)).strict(),
    case("strict: Host present", b"GET /s HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /s ")).strict(),
    case("strict: missing Host on 1.0", b"GET /s HTTP/1.0\r\n\r\n", Served("GET /s ")).strict(),
    case("Expect other", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", Status(417)),
    case("Expect continue and more", b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, fancy\r\nContent-Length: 2\r\n\r\nhi", Status(417)),
    case("Expect other on 1.0", b"GET / HTTP/1.0\r\nExpect: fancy\r\n\r\n", Status(417)),

    // --- body size limit (413 up front; chunked: the body reader fails)
    case("CL above max_body_size", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n", Status(413)),
    case("CL u64::MAX", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n", Status(413)),
    case("413 body not parsed as a request", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Status(413)),
    case("chunk size above max_body_size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", INVALID),
    case("chunk size fills u64", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", INVALID),

    // --- malformed chunked bodies: the handler's read fails with InvalidData, then close
    case("chunk size not hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\ng\r\nhello\r\n0\r\n\r\n", INVALID),
    case("chunk size negative", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", INVALID),
    case("chunk size 0x prefix", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", INVALID),
    case("chunk size empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", INVALID),
    case("chunk size overflows", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", INVALID),
    case("whitespace after chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", INVALID),
    case("chunk data too long (no CRLF after it)", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", INVALID),
    case("chunk data not followed by CRLF", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n", INVALID),
    case("bare LF after chunk data", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", INVALID),
    case("bare LF after chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", INVALID),
    case("bare CR after chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n", INVALID),
    case("bare LF ends the trailer section", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n", INVALID),
    case("control byte in chunk extension", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n", INVALID),
    case("invalid trailer name", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX Y: z\r\n\r\n", INVALID),
    case("obs-fold in trailers", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", INVALID),
    case("NUL in a trailer value", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\0\r\n\r\n", INVALID),
    case("EOF inside chunk data", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello", BodyError(ErrorKind::UnexpectedEof)).eof(),
    case("EOF inside a Content-Length body", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello", BodyError(ErrorKind::UnexpectedEof)).eof(),

    // --- EOF without a complete head: closed without a response
    case("EOF right away", b"", Closed).eof(),
    case("EOF after empty lines", b"\r\n\r\n", Closed).eof(),
    case("EOF inside the request line", b"GET /inc", Closed).eof(),
    case("EOF inside the fields", b"GET / HTTP/1.1\r\nHost: a\r\n", Closed).eof(),

    // --- smuggling: a request hidden in a body is body, never a request
    case("request hidden in a Content-Length body", b"POST /outer HTTP/1.1\r\nHost: a\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Served("POST /outer GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")),
    case("request hidden in a GET body", b"GET /outer HTTP/1.1\r\nHost: a\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /outer GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")),
    case("request hidden in a chunk", b"POST /outer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n23\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n\r\n0\r\n\r\n", Served("POST /outer GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")),
    case("request hidden in chunk extensions", b"POST /outer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0;GET /smuggled HTTP/1.1\r\n\r\n", Served("POST /outer ")),
    case("request hidden in a 1.0 body", b"POST /outer HTTP/1.0\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", Served("POST /outer GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")),

    // --- pipelining: answers in order, nothing after an error
    case("three pipelined requests", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("GET /1 "), Served("POST /2 hi"), Served("GET /3 ")])),
    case("pipelined chunked then GET", b"POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("POST /1 hi"), Served("GET /2 ")])),
    case("bad head after two good ones", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nBad Header\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("GET /1 "), Served("GET /2 "), Status(400)])),
    case("505 after a good one", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/2.0\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("GET /1 "), Status(505)])),
    case("CL+TE after a good one", b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("POST /1 x"), Status(400)])),
    case("bad chunked body stops the pipeline", b"POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", INVALID),
    case("good, then bad chunked body, then more", b"GET /0 HTTP/1.1\r\nHost: a\r\n\r\nPOST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", Then(&[Served("GET /0 "), INVALID])),
    case("Connection: close ends the pipeline", b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /1 ")),
    case("HTTP/1.0 ends the pipeline", b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", Served("GET /1 ")),
    case("EOF after a complete request", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTT", Served("GET /1 ")).eof(),
];

/// Cases whose requests are generated (too long to write out).
fn generated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &'static str, request: Vec<u8>, expect: Expect| {
        cases.push(case(name, leak(request), expect));
    };
    // Raw UTF-8 in a target is outside RFC 9112's ASCII grammar: httparse 1.9 and later accept
    // it (served, as upstream tiny_http did), httparse 1.8 (still in some lock files) refuses
    // it with a clean 400. Whichever httparse is built, that exact outcome is required.
    let utf8_request = "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut fields = [httparse::EMPTY_HEADER; 4];
    let accepted = httparse::Request::new(&mut fields)
        .parse(utf8_request.as_bytes())
        .is_ok();
    add(
        "UTF-8 target",
        utf8_request.as_bytes().to_vec(),
        if accepted {
            Served("GET /caf\u{e9} ")
        } else {
            Status(400)
        },
    );
    let target = |len: usize| format!("/{}", "a".repeat(len - 1));
    // "GET " + target + " HTTP/1.1" is the request line: 13 bytes besides the target.
    let line_at_limit = target(MAX_REQUEST_LINE - 13);
    add(
        "request line at the limit",
        format!("GET {line_at_limit} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes(),
        Served(leak_str(format!("GET {line_at_limit} "))),
    );
    add(
        "request line one over the limit",
        format!(
            "GET {} HTTP/1.1\r\nHost: a\r\n\r\n",
            target(MAX_REQUEST_LINE - 12)
        )
        .into_bytes(),
        Status(414),
    );
    add(
        "request line far over the limit",
        format!("GET {} HTTP/1.1\r\nHost: a\r\n\r\n", target(10_000)).into_bytes(),
        Status(414),
    );
    add(
        "request line over the limit, not ended",
        format!("GET {}", target(MAX_REQUEST_LINE + 10)).into_bytes(),
        Status(414),
    );
    add(
        "head over the limit",
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
            "b".repeat(MAX_HEAD_SIZE)
        )
        .into_bytes(),
        Status(431),
    );
    let many_fields: String = (0..40).map(|i| format!("X-{i}: {i}\r\n")).collect();
    add(
        "head over the limit in many fields",
        format!("GET / HTTP/1.1\r\nHost: a\r\n{many_fields}{many_fields}{many_fields}\r\n")
            .into_bytes(),
        Status(431),
    );
    let fields: String = (0..MAX_HEADERS)
        .map(|i| format!("X-{i}: {i}\r\n"))
        .collect();
    add(
        "too many header fields",
        format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes(),
        Status(431),
    );
    let fields: String = (0..MAX_HEADERS - 1)
        .map(|i| format!("X-{i}: {i}\r\n"))
        .collect();
    add(
        "header fields at the limit",
        format!("GET /fields HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes(),
        Served("GET /fields "),
    );
    let body = "x".repeat(MAX_BODY_SIZE as usize);
    add(
        "Content-Length body at max_body_size",
        format!("POST /max HTTP/1.1\r\nHost: a\r\nContent-Length: {MAX_BODY_SIZE}\r\n\r\n{body}")
            .into_bytes(),
        Served(leak_str(format!("POST /max {body}"))),
    );
    add(
        "chunked body at max_body_size",
        format!(
            "POST /max HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n{}\r\n200\r\n{}\r\n0\r\n\r\n",
            &body[..512],
            &body[512..]
        )
        .into_bytes(),
        Served(leak_str(format!("POST /max {body}"))),
    );
    add(
        "chunked body growing over max_body_size",
        format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n{}\r\n201\r\n{}x\r\n0\r\n\r\n",
            &body[..512],
            &body[512..]
        )
        .into_bytes(),
        INVALID,
    );
    add(
        "oversized chunk extension",
        format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;{}\r\nhello\r\n0\r\n\r\n",
            "e".repeat(5000)
        )
        .into_bytes(),
        INVALID,
    );
    add(
        "oversized trailer section",
        format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: {}\r\n\r\n",
            "t".repeat(17 * 1024)
        )
        .into_bytes(),
        INVALID,
    );
    add(
        "many chunk-size digits (leading zeros)",
        format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{}5\r\nhello\r\n0\r\n\r\n",
            "0".repeat(40)
        )
        .into_bytes(),
        INVALID,
    );
    cases
}

fn involves_body_error(expect: &Expect) -> bool {
    match expect {
        BodyError(_) => true,
        Then(steps) => steps.iter().any(involves_body_error),
        _ => false,
    }
}

/// What a case expecting a handler-side body error gets when the server reads the (small)
/// body itself before handing the request out: the server answers 413 for a body over
/// `max_body_size`, 400 for broken framing, and closes without a word when the client ended
/// the stream mid-body (the request never existed for a handler).
fn preread_expect(name: &str, request: &[u8], expect: &Expect) -> Expect {
    let chunked = request
        .windows(b"chunked".len())
        .any(|w| w.eq_ignore_ascii_case(b"chunked"));
    match expect {
        BodyError(ErrorKind::UnexpectedEof) if chunked => {
            ClosedOrBodyError(ErrorKind::UnexpectedEof)
        }
        BodyError(ErrorKind::UnexpectedEof) => Closed,
        BodyError(_) if name.contains("max_body_size") || name.contains("fills u64") => Status(413),
        BodyError(_) => Status(400),
        Then(steps) => {
            let mapped: Vec<Expect> = steps
                .iter()
                .map(|e| preread_expect(name, request, e))
                .collect();
            Then(Box::leak(mapped.into_boxed_slice()))
        }
        other => *other,
    }
}

/// The handler: reads the whole body and echoes `"METHOD URL BODY"`, or names the read error.
fn echo(mut rq: Request) {
    let mut body = Vec::new();
    let text = match rq.as_reader().read_to_end(&mut body) {
        Ok(_) => format!(
            "{} {} {}",
            rq.method(),
            rq.url(),
            String::from_utf8_lossy(&body)
        ),
        Err(e) => format!("read error: {:?}", e.kind()),
    };
    let _ = rq.respond(Response::from_string(text));
}

fn builder() -> ServerBuilder {
    ServerBuilder::new()
        .max_request_line(MAX_REQUEST_LINE)
        .max_head_size(MAX_HEAD_SIZE)
        .max_headers(MAX_HEADERS)
        .max_body_size(Some(MAX_BODY_SIZE))
        // Generous deadlines: no case here should ever wait for one.
        .head_timeout(Duration::from_secs(20))
        .body_timeout(Duration::from_secs(20))
}

fn connect(srv: &TestServer) -> Client {
    let c = srv.client();
    c.stream.set_read_timeout(Some(CASE_TIMEOUT)).unwrap();
    c
}

/// Reads to EOF: the server must close, with nothing more to say.
fn expect_server_close(c: &mut Client, after: &str) -> Result<(), String> {
    match c.read_to_close() {
        Ok(rest) if rest.is_empty() => Ok(()),
        Ok(rest) => Err(format!(
            "{after}: unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&rest)
        )),
        Err(e) => Err(format!("{after}: server did not close the connection: {e}")),
    }
}

fn check_one(c: &mut Client, expect: Expect, last: bool) -> Result<(), String> {
    match expect {
        Then(_) => Err("nested Then".into()),
        Closed => expect_server_close(c, "expected a close without response"),
        ClosedOrBodyError(kind) => {
            let rest = c
                .read_to_close()
                .map_err(|e| format!("server did not close the connection: {e}"))?;
            let text = String::from_utf8_lossy(&rest);
            let want = format!("\r\n\r\nread error: {kind:?}");
            let closes = text
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n");
            if rest.is_empty() || (text.starts_with("HTTP/1.1 ") && text.ends_with(&want) && closes)
            {
                Ok(())
            } else {
                Err(format!(
                    "expected a close, or the handler's {want:?} with Connection: close, got {text:?}"
                ))
            }
        }
        Served(text) => {
            let r = c
                .read_final_response()
                .map_err(|e| format!("expected 200 {text:?}: {e}"))?;
            if r.status() != 200 || r.body != text.as_bytes() {
                return Err(format!(
                    "expected 200 {text:?}, got {} {:?}",
                    r.status(),
                    String::from_utf8_lossy(&r.body)
                ));
            }
            if last {
                // Nothing else may come: no smuggled request is answered. Half-close so that a
                // keep-alive server ends the connection.
                let _ = c.stream.shutdown(Shutdown::Write);
                expect_server_close(c, "after the last served request")?;
            }
            Ok(())
        }
        Status(code) => {
            let r = c
                .read_final_response()
                .map_err(|e| format!("expected {code}: {e}"))?;
            if r.status() != code {
                return Err(format!(
                    "expected {code}, got {} {:?}",
                    r.status(),
                    String::from_utf8_lossy(&r.body)
                ));
            }
            if !r.head.has_token("connection", "close") {
                return Err(format!("{code} without Connection: close: {:?}", r.head));
            }
            expect_server_close(c, &format!("after {code}"))
        }
        BodyError(kind) => {
            let want = format!("read error: {kind:?}");
            let r = c
                .read_final_response()
                .map_err(|e| format!("expected the handler's {want:?}: {e}"))?;
            if r.body != want.as_bytes() {
                return Err(format!(
                    "expected {want:?}, got {} {:?}",
                    r.status(),
                    String::from_utf8_lossy(&r.body)
                ));
            }
            if !r.head.has_token("connection", "close") {
                return Err(format!(
                    "answer after a body error without Connection: close: {:?}",
                    r.head
                ));
            }
            expect_server_close(c, "after a body error")
        }
    }
}

fn run_case(srv: &TestServer, case: &Case) -> Result<(), String> {
    let mut c = connect(srv);
    c.stream
        .write_all_bytes(case.request)
        .map_err(|e| format!("send: {e}"))?;
    if case.half_close {
        let _ = c.stream.shutdown(Shutdown::Write);
    }
    let steps: &[Expect] = match &case.expect {
        Then(steps) => steps,
        one => std::slice::from_ref(one),
    };
    for (i, &step) in steps.iter().enumerate() {
        check_one(&mut c, step, i + 1 == steps.len()).map_err(|e| format!("step {i}: {e}"))?;
    }
    Ok(())
}

/// A well-formed request on a fresh connection is still served.
fn still_serving(srv: &TestServer) -> Result<(), String> {
    let mut c = connect(srv);
    c.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    match c.read_response() {
        Ok(r) if r.status() == 200 && r.body == b"GET /health " => Ok(()),
        Ok(r) => Err(format!(
            "health check got {} {:?}",
            r.status(),
            r.body_str()
        )),
        Err(e) => Err(format!("health check failed: {e}")),
    }
}

/// Writes everything, tolerating a server that closes early (its answer is still readable).
trait WriteAllBytes {
    fn write_all_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

impl WriteAllBytes for std::net::TcpStream {
    fn write_all_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        match self.write_all(bytes) {
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                Ok(())
            }
            other => other,
        }
    }
}

#[test]
fn conformance_table() {
    let generated = generated_cases();
    let cases: Vec<&Case> = FIXED_CASES.iter().chain(generated.iter()).collect();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name),
            "duplicate case name {:?}",
            case.name
        );
    }

    // A case whose body the handler reads (and whose error it sees) runs on the streaming
    // server; the same bytes on the lenient server, which reads small bodies itself before
    // handing requests out, must be answered by the server instead (see `preread_expect`).
    let mut all = Vec::new();
    for case in &cases {
        if involves_body_error(&case.expect) {
            all.push(Case {
                on: On::Streaming,
                ..**case
            });
            all.push(Case {
                name: leak_str(format!("{} (body read by the server)", case.name)),
                expect: preread_expect(case.name, case.request, &case.expect),
                ..**case
            });
        } else {
            all.push(**case);
        }
    }

    let lenient = serve_with(builder(), 4, echo);
    let strict = serve_with(builder().require_host(true), 2, echo);
    let streaming = serve_with(builder().preread_body(0), 2, echo);
    let mut failures = Vec::new();
    for case in &all {
        let srv = match case.on {
            On::Lenient => &lenient,
            On::Strict => &strict,
            On::Streaming => &streaming,
        };
        if std::env::var_os("CONFORMANCE_TRACE").is_some() {
            eprintln!("case: {}", case.name);
        }
        if let Err(e) = run_case(srv, case) {
            failures.push(format!("{}: {e}", case.name));
        }
        if let Err(e) = still_serving(srv) {
            failures.push(format!("{} (then): {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        all.len(),
        failures.join("\n  ")
    );
}
