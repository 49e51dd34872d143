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
mod tests;
