//! The request-head parser and THE one request-framing decision (RFC 9112 §6).
//!
//! ```text
//!  bytes ─► skip leading empty lines (RFC 9112 §2.2)
//!        ─► request line ≤ max_request_line ? ──no──► 414 (unless a syntax error comes first)
//!        ─► httparse (method, target, version, field lines) ──► 400 / 431 / 505
//!        ─► our own field checks (ASCII values, Host, Content-Length, Transfer-Encoding,
//!           Expect, Connection)                                ──► 400 / 413 / 417 / 501
//!        ─► RequestHead { .., body: Empty | Length(n) | Chunked, keep_alive, expect_continue }
//! ```
//!
//! # Invariants
//! - Only the first `max_head_size` bytes of the buffer are ever examined.
//! - The outcome depends only on the bytes, not on how they arrived: for any prefix of an
//!   input, `parse_head` answers `Ok(None)`, or exactly what it answers for the whole input
//!   (checked by a property test below).
//! - Nothing is allocated in proportion to a number the client sent: the field slots come
//!   from `max_headers` (configuration), the result owns copies of what was received.
//! - A head that is accepted has exactly one body framing; every ambiguous framing is refused.

use std::mem::MaybeUninit;

use crate::proto::error::ProtoError;
use crate::types::{is_tchar, is_token, trim_ows, HTTPVersion, Header, Method};

/// Limits applied while parsing a request head. Configuration, passed in by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadLimits {
    /// Longest request line (method, target, version; without CRLF), in bytes: beyond, 414.
    pub(crate) max_request_line: usize,
    /// Largest head (request line, fields, final CRLF), in bytes: beyond, 431.
    pub(crate) max_head_size: usize,
    /// Most field lines in one head: beyond, 431.
    pub(crate) max_headers: usize,
    /// Largest accepted body; a larger Content-Length is answered with 413.
    pub(crate) max_body_size: Option<u64>,
    /// Refuse HTTP/1.1 requests without `Host` (RFC 9112 §3.2 says MUST; upstream tiny_http
    /// accepted them, so this is opt-in).
    pub(crate) require_host: bool,
}

impl Default for HeadLimits {
    /// Generous limits that real traffic never trips.
    fn default() -> HeadLimits {
        HeadLimits {
            max_request_line: 16 * 1024,
            max_head_size: 64 * 1024,
            max_headers: 128,
            max_body_size: None,
            require_host: false,
        }
    }
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No body at all (§6.3 rule 7).
    Empty,
    /// Exactly this many bytes (`Content-Length`, §6.3 rule 6).
    Length(u64),
    /// The chunked transfer coding (§6.3 rule 4, §7.1).
    Chunked,
}

/// A parsed and validated request head.
#[derive(Debug, Clone)]
pub(crate) struct RequestHead {
    /// The method; unknown tokens are `Method::NonStandard`.
    pub(crate) method: Method,
    /// The request target, exactly as sent.
    pub(crate) target: String,
    /// `HTTPVersion(1, 0)` or `HTTPVersion(1, 1)`.
    pub(crate) version: HTTPVersion,
    /// The fields, in the order received, duplicates kept.
    pub(crate) headers: Vec<Header>,
    /// How the body is delimited.
    pub(crate) body: BodyKind,
    /// May the connection carry another request after this one?
    pub(crate) keep_alive: bool,
    /// Did an HTTP/1.1 client send `Expect: 100-continue`?
    pub(crate) expect_continue: bool,
    /// The request may switch protocols (an `Upgrade` field, or `CONNECT`): the bytes after it
    /// belong to the handler until it answers (RFC 9110 §7.8, §9.3.6).
    pub(crate) may_switch: bool,
}

/// Field slots kept on the stack; larger `max_headers` settings use a heap vector instead.
const STACK_SLOTS: usize = 128;

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)`: incomplete, read more. `Ok(Some((head, n)))`: the head used the first `n`
/// bytes of `buf` (leading empty lines included); the body, if any, starts at `n`.
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, ProtoError> {
    let over_head_limit = buf.len() > limits.max_head_size;
    let window = &buf[..buf.len().min(limits.max_head_size)];
    let start = skip_empty_lines(window);

    // Uninitialized slots: httparse fills only as many as there are fields, so the common
    // short head does not pay for writing all `max_headers` slots first.
    let mut stack = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_SLOTS];
    let mut heap: Vec<MaybeUninit<httparse::Header<'_>>> = Vec::new();
    let slots: &mut [MaybeUninit<httparse::Header<'_>>] = if limits.max_headers <= STACK_SLOTS {
        &mut stack[..limits.max_headers]
    } else {
        heap.resize(limits.max_headers, MaybeUninit::uninit());
        &mut heap
    };
    let mut req = httparse::Request::new(&mut []);
    let incomplete = if over_head_limit {
        Err(ProtoError::HeadTooLarge)
    } else {
        Ok(None)
    };
    match req.parse_with_uninit_headers(window, slots) {
        Ok(httparse::Status::Complete(n)) => {
            // A whole head parsed: its request line is `method SP target SP HTTP/x.y` (single
            // spaces, httparse's default), so its length needs no scan of the bytes.
            let line = req.method.map_or(0, str::len) + req.path.map_or(0, str::len) + 10;
            // A syntax error is reported before the length limit (see `request_line_error`);
            // httparse before 1.9 lets any visible byte into a method, so check it here.
            if req.method.is_some_and(|m| !is_token(m.as_bytes())) {
                return Err(ProtoError::BadRequest(
                    "invalid method token in request line",
                ));
            }
            if line > limits.max_request_line {
                return Err(ProtoError::UriTooLong);
            }
            build_head(&req, limits).map(|head| Some((head, n)))
        }
        outcome => {
            if let Some(err) = request_line_error(window, start, limits) {
                return Err(err);
            }
            match outcome {
                Err(e) => match map_parse_error(e, &req, window, start) {
                    Some(err) => Err(err),
                    None => incomplete,
                },
                Ok(_) => incomplete,
            }
        }
    }
}

/// For a head that did not parse whole: the answer when its request line (from `start`) is
/// already longer than allowed, `None` otherwise.
fn request_line_error(window: &[u8], start: usize, limits: &HeadLimits) -> Option<ProtoError> {
    if !request_line_too_long(&window[start..], limits.max_request_line) {
        return None;
    }
    // Report a syntax error that lies within the allowed length first, so that the answer
    // does not depend on how much of the line has arrived.
    let end = start
        .saturating_add(limits.max_request_line)
        .saturating_add(1)
        .min(window.len());
    let mut no_slots: [httparse::Header<'_>; 0] = [];
    let mut req = httparse::Request::new(&mut no_slots);
    Some(match req.parse(&window[..end]) {
        Err(e) => map_parse_error(e, &req, &window[..end], start).unwrap_or(ProtoError::UriTooLong),
        // (httparse before 1.9 lets any visible byte into a method; `build_head` refuses a
        // bad one in a whole head, and so must this early answer, whatever the version.)
        Ok(_) if req.method.is_some_and(|m| !is_token(m.as_bytes())) => {
            ProtoError::BadRequest("invalid method token in request line")
        }
        Ok(_) => ProtoError::UriTooLong,
    })
}

/// Index of the request line: empty lines before it are ignored (RFC 9112 §2.2).
fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match buf.get(i..) {
            Some([b'\n', ..]) => i += 1,
            Some([b'\r', b'\n', ..]) => i += 2,
            _ => return i,
        }
    }
}

/// Is the request line at the start of `line` (complete or not) longer than `max`?
fn request_line_too_long(line: &[u8], max: usize) -> bool {
    let probe = &line[..line.len().min(max.saturating_add(2))];
    match probe.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let content = if lf > 0 && probe[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            content > max
        }
        None => match probe.get(max) {
            // Byte max+1 is there and is not the CR of a CRLF ending the line: too long.
            Some(&b) => b != b'\r' || probe.len() > max.saturating_add(1),
            None => false,
        },
    }
}

/// Maps an httparse error to ours. `None` means "cannot tell yet, read more" (only for a
/// version that may still turn out well-formed on a line that has not ended).
fn map_parse_error(
    e: httparse::Error,
    req: &httparse::Request<'_, '_>,
    buf: &[u8],
    start: usize,
) -> Option<ProtoError> {
    Some(match e {
        httparse::Error::Token if req.method.is_none() => {
            ProtoError::BadRequest("invalid method token in request line")
        }
        httparse::Error::Token => ProtoError::BadRequest("invalid request target"),
        httparse::Error::Version => return version_error(req, buf, start),
        httparse::Error::TooManyHeaders => ProtoError::HeadTooLarge,
        httparse::Error::HeaderName | httparse::Error::HeaderValue => {
            ProtoError::BadRequest(diagnose_field_lines(buf, start))
        }
        httparse::Error::NewLine => ProtoError::BadRequest("malformed line ending"),
        _ => ProtoError::BadRequest("malformed request head"),
    })
}

/// RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive). We speak 1.0 and
/// 1.1; any other well-formed version gets 505 (RFC 9110 §15.6.6), garbage gets 400.
fn version_error(req: &httparse::Request<'_, '_>, buf: &[u8], start: usize) -> Option<ProtoError> {
    let (method, target) = match (req.method, req.path) {
        (Some(m), Some(t)) => (m, t),
        _ => return Some(ProtoError::BadRequest("malformed request line")),
    };
    let at = start
        .saturating_add(method.len())
        .saturating_add(target.len())
        .saturating_add(2);
    let rest = buf.get(at..).unwrap_or(&[]);
    const GARBAGE: ProtoError = ProtoError::BadRequest("malformed HTTP version");
    let fits = |v: &[u8]| {
        v.iter().zip(b"HTTP/D.D").all(|(&b, &p)| match p {
            b'D' => b.is_ascii_digit(),
            p => b == p,
        })
    };
    match rest.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let v = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
            Some(if v.len() == 8 && fits(v) {
                ProtoError::VersionNotSupported
            } else {
                GARBAGE
            })
        }
        None => {
            let v = rest
                .strip_suffix(b"\r")
                .filter(|v| v.len() == 8)
                .unwrap_or(rest);
            if v.len() <= 8 && fits(v) {
                None
            } else {
                Some(GARBAGE)
            }
        }
    }
}

/// Finds which rule the first bad field line breaks, for a precise 400 text.
fn diagnose_field_lines(buf: &[u8], start: usize) -> &'static str {
    let mut lines = buf.get(start..).unwrap_or(&[]).split(|&b| b == b'\n');
    let _request_line = lines.next();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            // RFC 9112 §5.2: obs-fold is refused in requests.
            return "obsolete line folding in a header field";
        }
        let name_len = line
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(line.len());
        match line.get(name_len) {
            // RFC 9112 §5.1: no whitespace between field name and colon.
            Some(b' ' | b'\t') => return "whitespace between header field name and colon",
            Some(b':') if name_len > 0 => {
                // The first offending byte decides, as it does for httparse.
                match line[name_len..]
                    .iter()
                    .find(|&&b| is_forbidden_value_byte(b))
                {
                    // RFC 9112 §2.2: a bare CR is invalid.
                    Some(b'\r') => return "bare CR in a header field",
                    // RFC 9110 §5.5: no CR, LF, NUL or other control bytes in values.
                    Some(_) => return "control byte in a header field value",
                    None => {}
                }
            }
            // RFC 9110 §5.1: a field name is a token.
            _ => return "invalid header field name",
        }
    }
    "malformed header field"
}

/// Why a parsed field was refused (its name is a token: httparse checked it).
fn field_error(value: &[u8]) -> &'static str {
    if !value.is_ascii() {
        "non-ASCII byte in a header field value"
    } else if value.iter().any(|&b| is_forbidden_value_byte(b)) {
        "control byte in a header field value"
    } else {
        "invalid header field"
    }
}

/// Bytes that may not appear in a field value (RFC 9110 §5.5), obs-text aside.
fn is_forbidden_value_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Splits a list-valued field (RFC 9110 §5.6.1) into trimmed elements, empty ones included.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6), without overflow.
fn parse_content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2): checks the character set of RFC 3986
/// `reg-name` / `IP-literal` / `port`. An empty value is allowed (RFC 9112 §3.2).
fn is_valid_host(v: &[u8]) -> bool {
    const HOST_BYTE: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let b = i as u8;
            table[i] = b.is_ascii_alphanumeric();
            i += 1;
        }
        let others = b"-._~!$&'()*+,;=%:[]";
        let mut j = 0;
        while j < others.len() {
            table[others[j] as usize] = true;
            j += 1;
        }
        table
    };
    v.iter().all(|&b| HOST_BYTE[usize::from(b)])
}

/// What the field lines say about framing, gathered in one pass.
#[derive(Default)]
struct Framing {
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked_count: u32,
    last_is_chunked: bool,
    other_coding: bool,
    host_count: u32,
    host_valid: bool,
    expect_continue: bool,
    expect_other: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    upgrade: bool,
}

impl Framing {
    /// Takes one field line into account; rejects malformed framing fields at once.
    fn field(&mut self, name: &[u8], value: &[u8]) -> Result<(), ProtoError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            // RFC 9110 §8.6 / RFC 9112 §6.3 rule 5: 1*DIGIT; a list or several lines of one
            // identical value may be accepted, differing values are unrecoverable.
            for element in list_elements(value) {
                let n = parse_content_length(element)
                    .ok_or(ProtoError::BadRequest("invalid Content-Length value"))?;
                if self.content_length.is_some_and(|seen| seen != n) {
                    return Err(ProtoError::BadRequest("conflicting Content-Length values"));
                }
                self.content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // RFC 9112 §6.1: several lines concatenate into one list; names are
            // case-insensitive; empty list elements are ignored (RFC 9110 §5.6.1).
            self.transfer_encoding = true;
            for coding in list_elements(value).filter(|e| !e.is_empty()) {
                let (coding_name, params) = match coding.iter().position(|&b| b == b';') {
                    Some(i) => (trim_ows(&coding[..i]), true),
                    None => (coding, false),
                };
                if !is_token(coding_name) {
                    return Err(ProtoError::BadRequest("invalid Transfer-Encoding value"));
                }
                if coding_name.eq_ignore_ascii_case(b"chunked") {
                    if params {
                        // RFC 9112 §7.1: chunked takes no parameters.
                        return Err(ProtoError::BadRequest("parameters on chunked coding"));
                    }
                    self.chunked_count = self.chunked_count.saturating_add(1);
                    self.last_is_chunked = true;
                } else {
                    self.other_coding = true;
                    self.last_is_chunked = false;
                }
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            self.host_count = self.host_count.saturating_add(1);
            self.host_valid = is_valid_host(value);
        } else if name.eq_ignore_ascii_case(b"expect") {
            for element in list_elements(value).filter(|e| !e.is_empty()) {
                if element.eq_ignore_ascii_case(b"100-continue") {
                    self.expect_continue = true;
                } else {
                    self.expect_other = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            self.upgrade = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            // RFC 9112 §9.3 / §9.6: connection options are case-insensitive tokens.
            for option in list_elements(value) {
                if option.eq_ignore_ascii_case(b"close") {
                    self.conn_close = true;
                } else if option.eq_ignore_ascii_case(b"keep-alive") {
                    self.conn_keep_alive = true;
                }
            }
        }
        Ok(())
    }
}

/// Validates the fields and makes the framing decision for a complete head.
fn build_head(
    req: &httparse::Request<'_, '_>,
    limits: &HeadLimits,
) -> Result<RequestHead, ProtoError> {
    const MALFORMED: ProtoError = ProtoError::BadRequest("malformed request line");
    let method = Method::from_bytes(req.method.ok_or(MALFORMED)?.as_bytes()).ok_or(
        ProtoError::BadRequest("invalid method token in request line"),
    )?;
    let target = req.path.ok_or(MALFORMED)?;
    // RFC 9112 §3.2.4: the asterisk-form is only used with OPTIONS (a server-wide request);
    // with any other method `*` names no resource.
    if target == "*" && method != Method::Options {
        return Err(ProtoError::BadRequest(
            "asterisk-form target with a method other than OPTIONS",
        ));
    }
    let http11 = match req.version.ok_or(MALFORMED)? {
        0 => false,
        1 => true,
        _ => return Err(ProtoError::VersionNotSupported),
    };

    let mut framing = Framing::default();
    let mut headers = Vec::with_capacity(req.headers.len());
    for field in req.headers.iter() {
        let name = field.name.as_bytes();
        // RFC 9110 §5.5: field values are visible ASCII, SP and HTAB; we refuse obs-text
        // (bytes >= 0x80) since values are exposed as `AsciiString`. One pass checks it all;
        // the reason is worked out only for a refused field.
        let header = Header::from_parsed(name, field.value)
            .ok_or_else(|| ProtoError::BadRequest(field_error(field.value)))?;
        framing.field(name, field.value)?;
        headers.push(header);
    }

    let body = decide_body(&framing, http11)?;

    // RFC 9112 §3.2: exactly one Host in every request, a valid one, and (HTTP/1.1) present.
    if framing.host_count > 1 {
        return Err(ProtoError::BadRequest("more than one Host header field"));
    }
    if framing.host_count == 1 && !framing.host_valid {
        return Err(ProtoError::BadRequest("invalid Host header field value"));
    }
    if framing.host_count == 0 && http11 && limits.require_host {
        return Err(ProtoError::BadRequest("missing Host header field"));
    }

    // RFC 9110 §10.1.1: only 100-continue is defined; anything else may get 417. A
    // 100-continue in an HTTP/1.0 request MUST be ignored.
    if framing.expect_other {
        return Err(ProtoError::ExpectationFailed);
    }

    // RFC 9110 §15.5.14: refuse a declared body larger than we accept, before reading it.
    if let (BodyKind::Length(n), Some(max)) = (body, limits.max_body_size) {
        if n > max {
            return Err(ProtoError::PayloadTooLarge);
        }
    }

    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
    let keep_alive = if http11 {
        !framing.conn_close
    } else {
        framing.conn_keep_alive && !framing.conn_close
    };

    Ok(RequestHead {
        may_switch: framing.upgrade || method == Method::Connect,
        method,
        target: target.to_owned(),
        version: HTTPVersion(1, u8::from(http11)),
        headers,
        body,
        keep_alive,
        expect_continue: http11 && framing.expect_continue,
    })
}

/// THE request-framing decision, RFC 9112 §6.3 (rules 3 to 7 as they apply to requests).
fn decide_body(f: &Framing, http11: bool) -> Result<BodyKind, ProtoError> {
    if f.transfer_encoding {
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
        if !http11 {
            return Err(ProtoError::BadRequest(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        // RFC 9112 §6.1 / §6.3 rule 3: both present is how requests are smuggled; refuse.
        if f.content_length.is_some() {
            return Err(ProtoError::BadRequest(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        // RFC 9112 §6.1: chunked MUST NOT be applied more than once.
        if f.chunked_count > 1 {
            return Err(ProtoError::BadRequest(
                "chunked coding applied more than once",
            ));
        }
        // RFC 9112 §6.3 rule 4: chunked must be the final coding of a request, else 400.
        if !f.last_is_chunked {
            return Err(ProtoError::BadRequest(
                "final transfer coding is not chunked",
            ));
        }
        // RFC 9112 §6.1: a transfer coding we do not understand gets 501.
        if f.other_coding {
            return Err(ProtoError::NotImplemented("unsupported transfer coding"));
        }
        return Ok(BodyKind::Chunked);
    }
    // RFC 9112 §6.3 rule 6: a valid Content-Length gives the body length.
    if let Some(n) = f.content_length {
        return Ok(BodyKind::Length(n));
    }
    // RFC 9112 §6.3 rule 7: a request with neither has no body.
    Ok(BodyKind::Empty)
}

#[cfg(test)]
mod tests {
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
        let method =
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "M-SEARCH"]);
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
        let h = parse(
            b"GET /ws HTTP/1.1\r\nHost: a\r\nupgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        );
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
}
