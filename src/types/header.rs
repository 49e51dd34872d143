//! `Header` and `HeaderField`, plus the byte-level validity rules of RFC 9110 §5 that the
//! request parser and the response writer share.
//!
//! # Invariants
//! - A `Header` built by [`Header::from_bytes`], [`Header::from_str`](std::str::FromStr) or
//!   `Header::from_parsed` has a token name and a value free of CR, LF, NUL and every other
//!   control byte except HTAB, so it can never split a response.
//! - The fields of `Header` are public (as upstream), so a user can still build a bad one by
//!   hand; the response writer therefore validates every header again before writing.

use std::fmt;
use std::str::FromStr;

use ascii::{AsciiStr, AsciiString, FromAsciiError};

/// `tchar` of RFC 9110 §5.6.2, as a lookup table.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

/// Is `b` an RFC 9110 `tchar` (§5.6.2)?
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Is `bytes` a non-empty RFC 9110 `token` (§5.6.2), i.e. a valid field name or method?
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// May `bytes` be sent as a field value?
///
/// Accepts visible ASCII, SP and HTAB (RFC 9110 §5.5 `field-value` without `obs-text`);
/// rejects CR, LF, NUL, every other control byte, DEL and non-ASCII bytes.
pub(crate) fn is_valid_field_value(bytes: &[u8]) -> bool {
    // No early exit: a branch-free fold that the compiler vectorizes (values such as
    // User-Agent or Cookie run to hundreds of bytes).
    bytes.iter().fold(true, |ok, &b| {
        ok & ((b == b'\t') | (b' '..=b'~').contains(&b))
    })
}

/// Strips optional whitespace (SP / HTAB, RFC 9110 §5.6.3) from both ends.
pub(crate) fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Builds an `AsciiString` from bytes already known to be ASCII.
fn ascii_from(bytes: &[u8]) -> Option<AsciiString> {
    AsciiStr::from_ascii(bytes)
        .ok()
        .map(AsciiStr::to_ascii_string)
}

/// The name of a header field (`Content-Type`, `Content-Length`, ...).
///
/// Two `HeaderField`s compare equal when they differ only in ASCII case.
///
/// ```
/// use tiny_http::HeaderField;
///
/// let a: HeaderField = "content-type".parse().unwrap();
/// let b: HeaderField = "Content-Type".parse().unwrap();
/// assert_eq!(a, b);
/// assert!(a.equiv("CONTENT-TYPE"));
/// ```
#[derive(Clone)]
pub struct HeaderField(Name);

/// A field name's storage: the common names, spelled as clients and applications usually
/// spell them, point into one shared table instead of each holding its own allocation.
#[derive(Clone)]
enum Name {
    Known(&'static AsciiStr),
    Owned(AsciiString),
}

/// Field names stored once for the whole process, in their usual spellings (capitalized and
/// lower-case), sorted by length. Any other spelling is stored as given: the case a client
/// used is kept.
const KNOWN_NAMES: [&str; 44] = [
    "Host",
    "host",
    "Date",
    "date",
    "Accept",
    "accept",
    "Cookie",
    "cookie",
    "Expect",
    "expect",
    "Origin",
    "origin",
    "Server",
    "server",
    "Referer",
    "referer",
    "Upgrade",
    "upgrade",
    "Location",
    "location",
    "Connection",
    "connection",
    "Set-Cookie",
    "set-cookie",
    "User-Agent",
    "user-agent",
    "Content-Type",
    "content-type",
    "Authorization",
    "authorization",
    "Cache-Control",
    "cache-control",
    "If-None-Match",
    "if-none-match",
    "Content-Length",
    "content-length",
    "Accept-Encoding",
    "accept-encoding",
    "Accept-Language",
    "accept-language",
    "If-Modified-Since",
    "if-modified-since",
    "Transfer-Encoding",
    "transfer-encoding",
];

/// Longest name in [`KNOWN_NAMES`].
const KNOWN_MAX_LEN: usize = 17;

/// For each length, the range of [`KNOWN_NAMES`] with that length (start, end).
const KNOWN_BY_LEN: [(usize, usize); KNOWN_MAX_LEN + 1] = {
    let mut ranges = [(0, 0); KNOWN_MAX_LEN + 1];
    let mut i = 0;
    while i < KNOWN_NAMES.len() {
        let len = KNOWN_NAMES[i].len();
        if ranges[len].1 == 0 {
            ranges[len].0 = i;
        }
        ranges[len].1 = i + 1;
        i += 1;
    }
    ranges
};

/// The table behind [`Name::Known`], built on first use.
fn known_names() -> &'static [AsciiString] {
    static TABLE: std::sync::OnceLock<Vec<AsciiString>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        KNOWN_NAMES
            .iter()
            .filter_map(|name| AsciiString::from_ascii(*name).ok())
            .collect()
    })
}

/// The shared copy of `bytes` when it is one of [`KNOWN_NAMES`] exactly.
fn known_name(bytes: &[u8]) -> Option<&'static AsciiStr> {
    let &(start, end) = KNOWN_BY_LEN.get(bytes.len())?;
    let at = (start..end).find(|&i| KNOWN_NAMES[i].as_bytes() == bytes)?;
    known_names().get(at).map(AsciiString::as_ref)
}

impl Name {
    fn new(bytes: &[u8]) -> Option<Name> {
        match known_name(bytes) {
            Some(name) => Some(Name::Known(name)),
            None => AsciiStr::from_ascii(bytes)
                .ok()
                .map(|name| Name::Owned(name.to_ascii_string())),
        }
    }

    fn as_ascii(&self) -> &AsciiStr {
        match self {
            Name::Known(name) => name,
            Name::Owned(name) => name,
        }
    }
}

impl fmt::Debug for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HeaderField").field(&self.as_str()).finish()
    }
}

impl HeaderField {
    /// Builds a field name from bytes; fails only when they are not ASCII.
    ///
    /// ASCII bytes that are not a valid token (spaces, control bytes) are accepted here for
    /// compatibility, but a response carrying such a header is refused when it is written.
    /// [`Header::from_bytes`] checks the name fully.
    ///
    /// ```
    /// use tiny_http::HeaderField;
    ///
    /// let field = HeaderField::from_bytes(&b"X-Request-Id"[..]).unwrap();
    /// assert_eq!(field.as_str(), "X-Request-Id");
    /// ```
    pub fn from_bytes<B>(bytes: B) -> Result<HeaderField, FromAsciiError<B>>
    where
        B: Into<Vec<u8>> + AsRef<[u8]>,
    {
        match known_name(bytes.as_ref()) {
            Some(name) => Ok(HeaderField(Name::Known(name))),
            None => AsciiString::from_ascii(bytes).map(|name| HeaderField(Name::Owned(name))),
        }
    }

    /// The name, as sent or given (case preserved).
    pub fn as_str(&self) -> &AsciiStr {
        self.0.as_ascii()
    }

    /// Does this name equal `other`, ignoring ASCII case?
    ///
    /// ```
    /// use tiny_http::HeaderField;
    ///
    /// let field: HeaderField = "Content-Length".parse().unwrap();
    /// assert!(field.equiv("content-length"));
    /// assert!(!field.equiv("content-type"));
    /// ```
    pub fn equiv(&self, other: &'static str) -> bool {
        self.as_str()
            .as_bytes()
            .eq_ignore_ascii_case(other.as_bytes())
    }

    /// Like [`equiv`](Self::equiv) for any byte string (crate-internal).
    pub(crate) fn is(&self, other: &[u8]) -> bool {
        self.as_str().as_bytes().eq_ignore_ascii_case(other)
    }

    /// Builds a field name from bytes, returning `None` unless they are a token.
    pub(crate) fn from_parsed(name: &[u8]) -> Option<HeaderField> {
        if is_token(name) {
            Name::new(name).map(HeaderField)
        } else {
            None
        }
    }

    /// Is the name a valid token (safe to write)?
    pub(crate) fn is_valid(&self) -> bool {
        is_token(self.as_str().as_bytes())
    }
}

impl PartialEq for HeaderField {
    fn eq(&self, other: &HeaderField) -> bool {
        self.as_str()
            .as_bytes()
            .eq_ignore_ascii_case(other.as_str().as_bytes())
    }
}

impl Eq for HeaderField {}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str().as_str())
    }
}

impl FromStr for HeaderField {
    type Err = ();

    /// Parses a field name; surrounding whitespace is ignored, anything that is not then a
    /// token is an error.
    fn from_str(s: &str) -> Result<HeaderField, ()> {
        HeaderField::from_parsed(trim_ows(s.as_bytes())).ok_or(())
    }
}

/// A header: a field name and its value.
///
/// ```
/// use tiny_http::Header;
///
/// let header: Header = "Content-Type: text/html".parse().unwrap();
/// assert!(header.field.equiv("content-type"));
/// assert_eq!(header.value, "text/html");
/// assert_eq!(header.to_string(), "Content-Type: text/html");
///
/// // Values that could split a response are refused.
/// assert!(Header::from_bytes(&b"X-Evil"[..], &b"a\r\nSet-Cookie: x"[..]).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Header {
    /// The field name.
    pub field: HeaderField,
    /// The field value.
    pub value: AsciiString,
}

impl Header {
    /// `Content-Type: text/plain; charset=UTF-8` (what `Response::from_string` adds), checked
    /// once and then cloned: one allocation, no validation per response.
    pub(crate) fn text_plain_utf8() -> Option<Header> {
        static HEADER: std::sync::OnceLock<Option<Header>> = std::sync::OnceLock::new();
        HEADER
            .get_or_init(|| {
                Header::from_bytes(&b"Content-Type"[..], &b"text/plain; charset=UTF-8"[..]).ok()
            })
            .clone()
    }

    /// Builds a header from a name and a value, given as `&[u8]`, `Vec<u8>`, `&str` or `String`.
    ///
    /// Fails when the name is not an RFC 9110 token, or when the value holds a byte that may
    /// not appear in a field value: CR, LF, NUL, any other control byte except HTAB, DEL, or a
    /// non-ASCII byte.
    ///
    /// ```
    /// use tiny_http::Header;
    ///
    /// let header = Header::from_bytes(&b"Content-Type"[..], &b"text/plain"[..]).unwrap();
    /// assert_eq!(header.to_string(), "Content-Type: text/plain");
    /// assert!(Header::from_bytes("Bad Name", "x").is_err());
    /// ```
    #[allow(clippy::result_unit_err)]
    pub fn from_bytes<B1, B2>(header: B1, value: B2) -> Result<Header, ()>
    where
        B1: Into<Vec<u8>> + AsRef<[u8]>,
        B2: Into<Vec<u8>> + AsRef<[u8]>,
    {
        if !is_token(header.as_ref()) || !is_valid_field_value(value.as_ref()) {
            return Err(());
        }
        let field = HeaderField::from_bytes(header).map_err(|_| ())?;
        let value = AsciiString::from_ascii(value).map_err(|_| ())?;
        Ok(Header { field, value })
    }

    /// Builds a header from a parsed name and value (e.g. from `httparse`).
    ///
    /// Optional whitespace around the value is removed. Returns `None` when the name is not a
    /// token or the value holds a forbidden byte (control bytes other than HTAB, DEL,
    /// non-ASCII).
    pub(crate) fn from_parsed(name: &[u8], value: &[u8]) -> Option<Header> {
        let value = trim_ows(value);
        if !is_valid_field_value(value) {
            return None;
        }
        Some(Header {
            field: HeaderField::from_parsed(name)?,
            value: ascii_from(value)?,
        })
    }

    /// [`is_valid_field_value`], reachable from outside `types` (the module is private).
    pub(crate) fn is_valid_value(bytes: &[u8]) -> bool {
        is_valid_field_value(bytes)
    }

    /// Is this header safe to write (token name, valid value)?
    pub(crate) fn is_valid(&self) -> bool {
        self.field.is_valid() && is_valid_field_value(self.value.as_bytes())
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.value.as_str())
    }
}

impl FromStr for Header {
    type Err = ();

    /// Parses `Name: value`: splits at the first `:`, trims the value, and rejects a name that
    /// is not a token (so whitespace before the colon is an error) or a forbidden value byte.
    fn from_str(input: &str) -> Result<Header, ()> {
        let (name, value) = input.split_once(':').ok_or(())?;
        Header::from_parsed(name.as_bytes(), value.as_bytes()).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_table_matches_rfc() {
        let specials = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || specials.contains(&b);
            assert_eq!(is_token(&[b]), expected, "byte {b:#04x}");
        }
        assert!(!is_token(b""));
        assert!(is_token(b"Content-Type"));
        assert!(!is_token(b"Content Type"));
        assert!(!is_token(b"Content-Type:"));
    }

    #[test]
    fn every_control_byte_is_rejected_in_values() {
        for b in 0..=255u8 {
            let value = [b'a', b, b'z'];
            let ok = b == b'\t' || (0x20..=0x7e).contains(&b);
            assert_eq!(is_valid_field_value(&value), ok, "byte {b:#04x}");
            assert_eq!(Header::from_bytes(&b"X-Test"[..], &value[..]).is_ok(), ok);
            assert_eq!(Header::from_parsed(b"X-Test", &value).is_some(), ok);
            if let Ok(s) = std::str::from_utf8(&value) {
                let parsed = format!("X-Test: {s}").parse::<Header>();
                assert_eq!(parsed.is_ok(), ok, "byte {b:#04x}");
            }
        }
        assert!(is_valid_field_value(b""));
    }

    #[test]
    fn long_values_are_checked_at_every_position() {
        // Long enough for the vectorized check, with the bad byte anywhere in it.
        for len in [1usize, 15, 16, 17, 31, 32, 33, 64, 100, 257] {
            let good = vec![b'v'; len];
            assert!(is_valid_field_value(&good), "len {len}");
            for at in 0..len {
                for bad in [0u8, b'\r', b'\n', 0x1f, 0x7f, 0x80, 0xff] {
                    let mut value = good.clone();
                    value[at] = bad;
                    assert!(
                        !is_valid_field_value(&value),
                        "len {len}, {bad:#04x} at {at}"
                    );
                }
                let mut value = good.clone();
                value[at] = b'\t';
                assert!(is_valid_field_value(&value));
            }
        }
    }

    #[test]
    fn known_names_keep_their_spelling_and_behave_like_any_other() {
        // Every entry is a valid token, stored under its own length, and found again.
        for name in KNOWN_NAMES {
            assert!(is_token(name.as_bytes()), "{name}");
            let (start, end) = KNOWN_BY_LEN[name.len()];
            assert!(KNOWN_NAMES[start..end].contains(&name), "{name}");
            let shared = known_name(name.as_bytes()).expect(name);
            assert_eq!(shared.as_str(), name);
        }
        // Other spellings are kept as given.
        assert!(known_name(b"HOST").is_none());
        assert!(known_name(b"X-Host").is_none());
        assert!(known_name(b"").is_none());
        assert!(known_name(&[b'a'; 300]).is_none());
        for spelling in ["Host", "host", "HOST", "hOsT"] {
            let parsed = Header::from_parsed(spelling.as_bytes(), b"example.com").unwrap();
            assert_eq!(parsed.field.as_str(), spelling);
            assert_eq!(parsed.to_string(), format!("{spelling}: example.com"));
            assert_eq!(
                format!("{:?}", parsed.field),
                format!("HeaderField({spelling:?})")
            );
            assert!(parsed.field.equiv("host"));
            let owned = HeaderField::from_bytes(spelling).unwrap();
            assert_eq!(owned, parsed.field);
            assert_eq!(owned.as_str(), spelling);
        }
        let known = HeaderField::from_bytes("Content-Type").unwrap();
        let other = HeaderField::from_bytes("CONTENT-TYPE").unwrap();
        assert_eq!(known, other);
        assert_eq!(known.clone().as_str(), "Content-Type");
        assert_ne!(known, HeaderField::from_bytes("Content-Length").unwrap());
    }

    #[test]
    fn every_non_token_byte_is_rejected_in_names() {
        for b in 0..=255u8 {
            let name = [b'X', b, b'Y'];
            let ok = TCHAR[usize::from(b)];
            assert_eq!(Header::from_bytes(&name[..], &b"v"[..]).is_ok(), ok);
            assert_eq!(Header::from_parsed(&name, b"v").is_some(), ok);
        }
    }

    #[test]
    fn response_splitting_is_refused() {
        assert!(Header::from_bytes("X", "a\r\nSet-Cookie: x=1").is_err());
        assert!(Header::from_bytes("X\r\nY", "a").is_err());
        assert!(Header::from_bytes("", "a").is_err());
        assert!("X: a\nb".parse::<Header>().is_err());
        assert!("X: a\0".parse::<Header>().is_err());
        assert!("X: caf\u{e9}".parse::<Header>().is_err());
    }

    #[test]
    fn from_str_splits_at_first_colon_and_trims() {
        let h: Header = "Host:  example.com:8080 \t".parse().unwrap();
        assert_eq!(h.field.as_str(), "Host");
        assert_eq!(h.value, "example.com:8080");
        let h: Header = "X-Empty:".parse().unwrap();
        assert_eq!(h.value, "");
        assert!("Host : x".parse::<Header>().is_err());
        assert!(" Host: x".parse::<Header>().is_err());
        assert!("no colon".parse::<Header>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["Content-Type: text/plain", "X-A: b\tc", "ETag: \"abc\""] {
            let h: Header = text.parse().unwrap();
            assert_eq!(h.to_string(), text);
            let again: Header = h.to_string().parse().unwrap();
            assert_eq!(again.field, h.field);
            assert_eq!(again.value, h.value);
        }
        let f: HeaderField = "X-Thing".parse().unwrap();
        assert_eq!(f.to_string(), "X-Thing");
        assert_eq!(f.to_string().parse::<HeaderField>().unwrap(), f);
    }

    #[test]
    fn field_compares_case_insensitively() {
        let a: HeaderField = "content-LENGTH".parse().unwrap();
        let b = HeaderField::from_bytes("Content-Length").unwrap();
        assert_eq!(a, b);
        assert!(a.equiv("CONTENT-length"));
        assert!(a.is(b"content-length"));
        assert!(!a.equiv("Content-Lengths"));
        assert_ne!(a, "Content-Type".parse::<HeaderField>().unwrap());
        assert_eq!(a.as_str(), "content-LENGTH");
    }

    #[test]
    fn field_from_bytes_rejects_only_non_ascii() {
        assert!(HeaderField::from_bytes(vec![0xc3, 0xa9]).is_err());
        let lenient = HeaderField::from_bytes("has space").unwrap();
        assert!(!lenient.is_valid());
        assert!("has space".parse::<HeaderField>().is_err());
        assert_eq!(
            " Trimmed ".parse::<HeaderField>().unwrap().as_str(),
            "Trimmed"
        );
    }

    #[test]
    fn from_parsed_trims_and_validates() {
        let h = Header::from_parsed(b"Accept", b" \t*/*  ").unwrap();
        assert_eq!(h.value, "*/*");
        assert!(h.is_valid());
        assert!(Header::from_parsed(b"Accept", b"\xff").is_none());
        assert!(Header::from_parsed(b"", b"x").is_none());
        let hand_made = Header {
            field: HeaderField::from_bytes("X").unwrap(),
            value: AsciiString::from_ascii("a\r\nb").unwrap(),
        };
        assert!(!hand_made.is_valid());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_accepted_headers_are_safe(
            name in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            value in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
        ) {
            if let Some(h) = Header::from_parsed(&name, &value) {
                proptest::prop_assert!(h.is_valid());
                let text = h.to_string();
                proptest::prop_assert!(!text.contains(['\r', '\n', '\0']));
                let again: Header = text.parse().unwrap();
                proptest::prop_assert_eq!(again.field, h.field);
                proptest::prop_assert_eq!(again.value, h.value);
            }
            if let Ok(h) = Header::from_bytes(name.clone(), value.clone()) {
                proptest::prop_assert!(h.is_valid());
            }
            let _ = HeaderField::from_bytes(name.clone());
            let _ = crate::Method::from_bytes(&name);
            if let Ok(s) = std::str::from_utf8(&value) {
                let _ = s.parse::<Header>();
                let _ = s.parse::<HeaderField>();
                let _ = s.parse::<crate::Method>();
            }
        }
    }
}
