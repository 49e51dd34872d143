//! Unit tests of `head`.

use super::*;

#[test]
fn host_bytes_are_reg_name_ip_literal_and_port_characters() {
    let allowed = b"-._~!$&'()*+,;=%:[]";
    for b in 0..=255u8 {
        let expected = b.is_ascii_alphanumeric() || allowed.contains(&b);
        assert_eq!(is_valid_host(&[b'a', b, b'z']), expected, "byte {b:#04x}");
    }
    assert!(is_valid_host(b"127.0.0.1:8080"));
    assert!(is_valid_host(b"[::1]:80"));
    assert!(is_valid_host(b""));
    assert!(!is_valid_host(b"exa mple.com"));
    assert!(!is_valid_host(b"a/b"));
}
use proptest::prelude::*;

/// What a parse returned, in comparable form.
type Summary = (
    String,
    String,
    (u8, u8),
    Vec<(String, String)>,
    BodyKind,
    bool,
    bool,
);
type Outcome = Result<Option<(Summary, usize)>, ProtoError>;

fn summary(h: &RequestHead) -> Summary {
    (
        h.method.as_str().to_owned(),
        h.target.clone(),
        (h.version.0, h.version.1),
        h.headers
            .iter()
            .map(|h| (h.field.as_str().to_string(), h.value.to_string()))
            .collect(),
        h.body,
        h.keep_alive,
        h.expect_continue,
    )
}

fn run(buf: &[u8], limits: &HeadLimits) -> Outcome {
    parse_head(buf, limits).map(|r| r.map(|(h, n)| (summary(&h), n)))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Complete: body, keep_alive, expect_continue.
    Head(BodyKind, bool, bool),
    Partial,
    Fails(ProtoError),
}
use Want::*;

const fn bad(why: &'static str) -> Want {
    Fails(ProtoError::BadRequest(why))
}
const E: BodyKind = BodyKind::Empty;
const CHUNKED: BodyKind = BodyKind::Chunked;
const fn len(n: u64) -> BodyKind {
    BodyKind::Length(n)
}
const BOTH: Want = bad("both Content-Length and Transfer-Encoding");
const NOT_FINAL: Want = bad("final transfer coding is not chunked");
const TWICE: Want = bad("chunked coding applied more than once");
const UNSUPPORTED: Want = Fails(ProtoError::NotImplemented("unsupported transfer coding"));
const BAD_CL: Want = bad("invalid Content-Length value");
const CL_CONFLICT: Want = bad("conflicting Content-Length values");
const WS_COLON: Want = bad("whitespace between header field name and colon");
const FOLD: Want = bad("obsolete line folding in a header field");
const CTL: Want = bad("control byte in a header field value");
const BAD_NAME: Want = bad("invalid header field name");
const BAD_VERSION: Want = bad("malformed HTTP version");
const V505: Want = Fails(ProtoError::VersionNotSupported);
const BAD_TARGET: Want = bad("invalid request target");

fn small() -> HeadLimits {
    HeadLimits {
        max_request_line: 20,
        max_head_size: 64,
        max_headers: 2,
        max_body_size: Some(10),
        require_host: true,
    }
}

/// (name, input, use `small()` limits, expected outcome)
#[rustfmt::skip]
const CASES: &[(&str, &[u8], bool, Want)] = &[
    // --- valid heads
    ("minimal 1.1", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, Head(E, true, false)),
    ("minimal 1.0", b"GET / HTTP/1.0\r\n\r\n", false, Head(E, false, false)),
    ("1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false, Head(E, true, false)),
    ("1.0 keep-alive and close", b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, Head(E, false, false)),
    ("1.1 close", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, Head(E, false, false)),
    ("1.1 close in a list", b"GET / HTTP/1.1\r\nConnection: Upgrade , CLOSE\r\n\r\n", false, Head(E, false, false)),
    ("1.1 keep-alive token", b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", false, Head(E, true, false)),
    ("leading CRLFs ignored", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false, Head(E, true, false)),
    ("bare LF lines", b"\nGET / HTTP/1.1\nHost: a\n\n", false, Head(E, true, false)),
    ("content-length", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", false, Head(len(5), true, false)),
    ("content-length zero", b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false, Head(len(0), true, false)),
    ("content-length list agrees", b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", false, Head(len(5), true, false)),
    ("content-length lines agree", b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", false, Head(len(5), true, false)),
    ("content-length leading zeros", b"POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n", false, Head(len(7), true, false)),
    ("content-length u64::MAX", b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", false, Head(len(u64::MAX), true, false)),
    ("content-length on 1.0", b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n", false, Head(len(3), false, false)),
    ("chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false, Head(CHUNKED, true, false)),
    ("chunked any case", b"POST / HTTP/1.1\r\ntransfer-encoding: ChUnKeD\r\n\r\n", false, Head(CHUNKED, true, false)),
    ("chunked empty elements", b"POST / HTTP/1.1\r\nTransfer-Encoding: , chunked ,\r\n\r\n", false, Head(CHUNKED, true, false)),
    ("expect 100-continue", b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", false, Head(len(1), true, true)),
    ("expect any case", b"PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", false, Head(E, true, true)),
    ("expect ignored on 1.0", b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false, Head(E, false, false)),
    ("no Host allowed by default", b"GET / HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("no Host fine on 1.0", b"GET / HTTP/1.0\r\n\r\n", true, Head(E, false, false)),
    ("non-standard method", b"PURGE /x HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("lowercase method", b"get / HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("host with port", b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", false, Head(E, true, false)),
    ("host ipv6", b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", false, Head(E, true, false)),
    ("host empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", false, Head(E, true, false)),
    ("absolute-form target", b"GET http://a/b?c HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("asterisk-form target", b"OPTIONS * HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("asterisk-form with GET", b"GET * HTTP/1.1\r\n\r\n", false, bad("asterisk-form target with a method other than OPTIONS")),
    ("asterisk-form with POST", b"POST * HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false, bad("asterisk-form target with a method other than OPTIONS")),
    ("asterisk-form with lowercase options", b"options * HTTP/1.1\r\n\r\n", false, bad("asterisk-form target with a method other than OPTIONS")),
    ("asterisk inside a path is origin-form", b"GET /* HTTP/1.1\r\n\r\n", false, Head(E, true, false)),
    ("tab in value", b"GET / HTTP/1.1\r\nX: a\tb\r\n\r\n", false, Head(E, true, false)),
    ("body limit reached exactly", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", true, Head(len(10), true, false)),
    // --- incomplete
    ("empty buffer", b"", false, Partial),
    ("only empty lines", b"\r\n\r\n", false, Partial),
    ("half a request line", b"GET / HTT", false, Partial),
    ("no final CRLF", b"GET / HTTP/1.1\r\nHost: a\r\n", false, Partial),
    ("unknown version, line not ended", b"GET / HTTP/2.0", false, Partial),
    // --- framing: RFC 9112 §6
    ("CL then TE", b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false, BOTH),
    ("TE then CL", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false, BOTH),
    ("TE gzip only", b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", false, NOT_FINAL),
    ("TE chunked, gzip", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, NOT_FINAL),
    ("TE identity", b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", false, NOT_FINAL),
    ("TE empty", b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", false, NOT_FINAL),
    ("TE lines chunked then gzip", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", false, NOT_FINAL),
    ("TE gzip, chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, UNSUPPORTED),
    ("TE deflate, chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: deflate, chunked\r\n\r\n", false, UNSUPPORTED),
    ("TE unknown, chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: x-custom;q=1, chunked\r\n\r\n", false, UNSUPPORTED),
    ("TE lines gzip then chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", false, UNSUPPORTED),
    ("TE chunked twice", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false, TWICE),
    ("TE chunked twice, two lines", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false, TWICE),
    ("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", false, bad("Transfer-Encoding in an HTTP/1.0 request")),
    ("TE chunked with parameter", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", false, bad("parameters on chunked coding")),
    ("TE with space inside", b"POST / HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n", false, bad("invalid Transfer-Encoding value")),
    ("TE quoted", b"POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", false, bad("invalid Transfer-Encoding value")),
    ("CL negative", b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", false, BAD_CL),
    ("CL plus sign", b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", false, BAD_CL),
    ("CL space inside", b"POST / HTTP/1.1\r\nContent-Length: 1 0\r\n\r\n", false, BAD_CL),
    ("CL empty", b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", false, BAD_CL),
    ("CL hex", b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", false, BAD_CL),
    ("CL overflow", b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", false, BAD_CL),
    ("CL empty list element", b"POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", false, BAD_CL),
    ("CL decimal point", b"POST / HTTP/1.1\r\nContent-Length: 5.0\r\n\r\n", false, BAD_CL),
    ("CL list differs", b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", false, CL_CONFLICT),
    ("CL lines differ", b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", false, CL_CONFLICT),
    ("CL above body limit", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", true, Fails(ProtoError::PayloadTooLarge)),
    // --- field syntax: RFC 9112 §5, RFC 9110 §5
    ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", false, WS_COLON),
    ("CL space before colon", b"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", false, WS_COLON),
    ("TE tab before colon", b"POST / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n", false, WS_COLON),
    ("obs-fold", b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", false, FOLD),
    ("whitespace before first field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", false, FOLD),
    ("NUL in value", b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", false, CTL),
    ("DEL in value", b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", false, CTL),
    ("escape in value", b"GET / HTTP/1.1\r\nX: a\x1bb\r\n\r\n", false, CTL),
    ("NUL then bare CR", b"GET / HTTP/1.1\r\nX: \0\r\r\n\r\n", false, CTL),
    ("bare CR in value", b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", false, bad("bare CR in a header field")),
    ("non-ASCII value", b"GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", false, bad("non-ASCII byte in a header field value")),
    ("control in name", b"GET / HTTP/1.1\r\nX\x01: a\r\n\r\n", false, BAD_NAME),
    ("separator in name", b"GET / HTTP/1.1\r\n(X): a\r\n\r\n", false, BAD_NAME),
    ("empty name", b"GET / HTTP/1.1\r\n: a\r\n\r\n", false, BAD_NAME),
    ("line without colon", b"GET / HTTP/1.1\r\nHost\r\n\r\n", false, BAD_NAME),
    ("bare CR ends head", b"GET / HTTP/1.1\r\nX: a\r\n\rX", false, bad("malformed line ending")),
    ("bare CR before request line", b"\rGET / HTTP/1.1\r\n\r\n", false, bad("malformed line ending")),
    // --- request line: RFC 9112 §3
    ("bad method", b"G(T / HTTP/1.1\r\n\r\n", false, bad("invalid method token in request line")),
    ("two spaces", b"GET  / HTTP/1.1\r\n\r\n", false, BAD_TARGET),
    ("non-UTF-8 target", b"GET /a\xff HTTP/1.1\r\n\r\n", false, BAD_TARGET),
    ("HTTP/0.9 request", b"GET /\r\n\r\n", false, BAD_TARGET),
    ("space in target", b"GET /a b HTTP/1.1\r\n\r\n", false, BAD_VERSION),
    ("trailing space after version", b"GET / HTTP/1.1 \r\n\r\n", false, bad("malformed line ending")),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\n\r\n", false, V505),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, V505),
    ("HTTP/3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", false, V505),
    ("HTTP/1.2", b"GET / HTTP/1.2\r\n\r\n", false, V505),
    ("HTTP/0.9 version", b"GET / HTTP/0.9\r\n\r\n", false, V505),
    ("lowercase version", b"GET / http/1.1\r\n\r\n", false, BAD_VERSION),
    ("two-digit version", b"GET / HTTP/11\r\n\r\n", false, BAD_VERSION),
    ("version garbage early", b"GET / XTTP", false, BAD_VERSION),
    ("long version", b"GET / HTTP/1.10\r\n\r\n", false, bad("malformed line ending")),
    // --- Host, Expect: RFC 9112 §3.2, RFC 9110 §10.1.1
    ("two Host lines", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", false, bad("more than one Host header field")),
    ("Host with space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false, bad("invalid Host header field value")),
    ("Host with slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", false, bad("invalid Host header field value")),
    ("Host required", b"GET / HTTP/1.1\r\n\r\n", true, bad("missing Host header field")),
    ("Expect other", b"GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", false, Fails(ProtoError::ExpectationFailed)),
    ("Expect other on 1.0", b"GET / HTTP/1.0\r\nExpect: fancy\r\n\r\n", false, Fails(ProtoError::ExpectationFailed)),
    // --- limits
    ("too many fields", b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", true, Fails(ProtoError::HeadTooLarge)),
    ("head too large", b"GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", true, Fails(ProtoError::HeadTooLarge)),
    ("head too large, incomplete", b"GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true, Fails(ProtoError::HeadTooLarge)),
    ("empty lines count toward head size", &[b'\n'; 65], true, Fails(ProtoError::HeadTooLarge)),
    ("request line too long", b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", true, Fails(ProtoError::UriTooLong)),
    ("request line too long, incomplete", b"GET /aaaaaaaaaaaaaaaaaaaa", true, Fails(ProtoError::UriTooLong)),
    ("request line at the limit", b"GET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", true, Head(E, true, false)),
    ("request line one over the limit", b"GET /aaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", true, Fails(ProtoError::UriTooLong)),
    ("bare-LF line one over", b"GET /aaaaaaa HTTP/1.1\nHost: a\n\n", true, Fails(ProtoError::UriTooLong)),
    ("line at the limit after empty lines", b"\r\n\nGET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", true, Head(E, true, false)),
    ("too long line wins over a later bad field", b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nBad Field: x\r\n\r\n", true, Fails(ProtoError::UriTooLong)),
    ("syntax error before the length limit wins", b"G(T /aaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", true, bad("invalid method token in request line")),
];

fn limits_for(small_limits: bool) -> HeadLimits {
    if small_limits {
        small()
    } else {
        HeadLimits::default()
    }
}

fn check(name: &str, input: &[u8], limits: &HeadLimits, want: Want) {
    let got = run(input, limits);
    match (want, &got) {
        (Head(body, ka, exp), Ok(Some((s, n)))) => {
            assert_eq!((s.4, s.5, s.6), (body, ka, exp), "{name}");
            assert!(*n <= input.len(), "{name}");
        }
        (Partial, Ok(None)) => {}
        (Fails(e), Err(got_e)) => assert_eq!(e, *got_e, "{name}"),
        _ => panic!("{name}: wanted {want:?}, got {got:?}"),
    }
}

#[test]
fn table() {
    assert!(CASES.len() >= 60);
    for &(name, input, small_limits, want) in CASES {
        check(name, input, &limits_for(small_limits), want);
    }
}

/// Every prefix of every table input is `Ok(None)` or the whole input's answer, and a
/// complete head is incomplete until its last byte.
#[test]
fn table_every_split_point() {
    for &(name, input, small_limits, want) in CASES {
        let limits = limits_for(small_limits);
        let whole = run(input, &limits);
        for k in 0..input.len() {
            let part = run(&input[..k], &limits);
            assert!(
                part.is_ok() && part.as_ref().ok() == Some(&None) || part == whole,
                "{name}: prefix {k} gave {part:?}, whole gave {whole:?}"
            );
            if let (Head(..), Ok(Some((_, n)))) = (want, &whole) {
                if k < *n {
                    assert_eq!(part, Ok(None), "{name}: prefix {k}");
                }
            }
        }
    }
}

#[test]
fn parsed_fields_in_detail() {
    let input = b"\r\nPOST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: one \r\nx-a:two\r\nContent-Length: 3\r\n\r\nabcGET";
    let (head, n) = parse_head(input, &HeadLimits::default()).unwrap().unwrap();
    assert_eq!(&input[n..], b"abcGET");
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.target, "/up?x=1");
    assert_eq!(head.version, HTTPVersion(1, 1));
    let fields: Vec<String> = head.headers.iter().map(|h| h.to_string()).collect();
    assert_eq!(
        fields,
        [
            "Host: example.com",
            "X-A: one",
            "x-a: two",
            "Content-Length: 3"
        ]
    );
    assert_eq!(head.body, BodyKind::Length(3));

    let (head, _) = parse_head(b"PURGE /cache HTTP/1.0\r\n\r\n", &HeadLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.method, Method::NonStandard("PURGE".parse().unwrap()));
    assert_eq!(head.version, HTTPVersion(1, 0));
}

#[test]
fn utf8_target_follows_httparse() {
    // Raw UTF-8 in a request target is outside RFC 9112's grammar (ASCII only); httparse
    // 1.9 and later accept it (as upstream tiny_http did), 1.8 refuses it. Either way the
    // outcome is a clean head or a clean 400, never anything else.
    let input = "GET /caf\u{e9} HTTP/1.1\r\n\r\n".as_bytes();
    let mut fields = [httparse::EMPTY_HEADER; 1];
    let accepted = httparse::Request::new(&mut fields).parse(input).is_ok();
    match parse_head(input, &HeadLimits::default()) {
        Ok(Some((head, _))) if accepted => assert_eq!(head.target, "/caf\u{e9}"),
        Err(ProtoError::BadRequest(_)) if !accepted => {}
        other => panic!("httparse accepts: {accepted}, we got {other:?}"),
    }
}

#[test]
fn field_count_limit_uses_heap_slots_above_the_stack_array() {
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..200 {
        input.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    let mut limits = HeadLimits {
        max_headers: 200,
        ..HeadLimits::default()
    };
    let (head, n) = parse_head(&input, &limits).unwrap().unwrap();
    assert_eq!((head.headers.len(), n), (200, input.len()));
    limits.max_headers = 199;
    assert_eq!(
        parse_head(&input, &limits).unwrap_err(),
        ProtoError::HeadTooLarge
    );
    limits.max_headers = 0;
    assert_eq!(
        parse_head(&input, &limits).unwrap_err(),
        ProtoError::HeadTooLarge
    );
}

/// A random valid request head, plus the bytes that follow it.
fn valid_request() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "M-SEARCH"]);
    let fields = prop::collection::vec(("x-[a-z0-9-]{1,12}", "[ -~]{0,30}"), 0..12);
    let framing = prop_oneof![
        Just(String::new()),
        (0u64..100_000).prop_map(|n| format!("Content-Length: {n}\r\n")),
        Just("Transfer-Encoding: chunked\r\n".to_owned()),
    ];
    (
        0usize..3,
        method,
        "/[a-zA-Z0-9/._~%?=&-]{0,40}",
        any::<bool>(),
        fields,
        framing,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(
            |(empty_lines, method, target, http11, fields, framing, lf_only, tail)| {
                let eol = if lf_only { "\n" } else { "\r\n" };
                let mut s = eol.repeat(empty_lines);
                s += &format!("{method} {target} HTTP/1.{}{eol}", u8::from(http11));
                if http11 {
                    s += &format!("Host: example.com{eol}");
                    s += &framing.replace("\r\n", eol);
                }
                for (name, value) in fields {
                    s += &format!("{name}: {value}{eol}");
                }
                s += eol;
                let mut bytes = s.into_bytes();
                let n = bytes.len();
                bytes.extend_from_slice(&tail);
                (bytes, n)
            },
        )
}

/// Bytes that look a lot like HTTP, to reach deep into the parser.
fn http_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    const PIECES: &[&[u8]] = &[
        b"GET ",
        b"POST / HTTP/1.1",
        b" HTTP/1.",
        b"HTTP/2.0",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\t",
        b":",
        b"Content-Length: ",
        b"Transfer-Encoding: ",
        b"chunked",
        b"Host: a",
        b"Expect: 100-continue",
        b"5",
        b",",
        b"\0",
        b"\xc3\xa9",
        b"/",
        b"aaaaaaaaaa",
    ];
    let piece = prop::sample::select(PIECES);
    prop::collection::vec(
        prop_oneof![
            piece.prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 1..3)
        ],
        0..30,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn valid_requests_parse_the_same_however_split((bytes, n) in valid_request(), cut in any::<prop::sample::Index>()) {
        let limits = HeadLimits::default();
        let whole = run(&bytes, &limits);
        prop_assert!(matches!(&whole, Ok(Some((_, m))) if *m == n), "{:?}", whole);
        prop_assert_eq!(&run(&bytes[..n], &limits), &whole);
        let k = cut.index(n);
        prop_assert_eq!(run(&bytes[..k], &limits), Ok(None));
    }

    #[test]
    fn prefixes_agree_with_the_whole(bytes in http_like_bytes(), small_limits in any::<bool>()) {
        let limits = limits_for(small_limits);
        let whole = run(&bytes, &limits);
        for k in 0..bytes.len() {
            let part = run(&bytes[..k], &limits);
            prop_assert!(part == Ok(None) || part == whole, "prefix {}: {:?} vs {:?}", k, part, whole);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), small_limits in any::<bool>()) {
        let limits = limits_for(small_limits);
        if let Ok(Some((_, n))) = parse_head(&bytes, &limits) {
            prop_assert!(n <= bytes.len());
        }
    }
}

#[test]
fn protocol_switch_candidates_and_zero_length_bodies() {
    let parse = |raw: &[u8]| {
        parse_head(raw, &HeadLimits::default())
            .unwrap()
            .expect("complete head")
            .0
    };
    let h =
        parse(b"GET /ws HTTP/1.1\r\nHost: a\r\nupgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    assert!(h.may_switch);
    let h = parse(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    assert!(h.may_switch);
    let h = parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-Upgrade: no\r\n\r\n");
    assert!(!h.may_switch);
    // Any Content-Length, zero included, is a Length body (never Empty): the request's
    // `body_length()` relies on it.
    let h = parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.body, BodyKind::Length(0));
    let h = parse(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.body, BodyKind::Empty);
}
