//! The one internal protocol error type. It knows which HTTP status answers it.

use crate::StatusCode;

/// Why a request (head or body) could not be accepted.
///
/// `status()` says how to answer: `Some(code)` means "send a minimal response with that status
/// and `Connection: close`, then close"; `None` means "close silently".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtoError {
    /// The request line is longer than the limit (414).
    UriTooLong,
    /// The head is larger than the limit, or has too many fields (431).
    HeadTooLarge,
    /// Malformed syntax or forbidden framing (400); the text says which rule.
    BadRequest(&'static str),
    /// A transfer-coding we do not implement (501).
    NotImplemented(&'static str),
    /// An HTTP version other than 1.0 or 1.1 (505).
    VersionNotSupported,
    /// An `Expect` value other than `100-continue` (417).
    ExpectationFailed,
    /// The declared body is larger than the configured maximum (413).
    PayloadTooLarge,
    /// The body's framing broke mid-way (bad chunk syntax, early EOF); the text says which.
    /// Reported to the handler as `io::ErrorKind::InvalidData`; the connection closes.
    BadBody(&'static str),
}

impl ProtoError {
    /// The status to answer with, if any.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        Some(StatusCode(match self {
            ProtoError::UriTooLong => 414,
            ProtoError::HeadTooLarge => 431,
            ProtoError::BadRequest(_) => 400,
            ProtoError::NotImplemented(_) => 501,
            ProtoError::VersionNotSupported => 505,
            ProtoError::ExpectationFailed => 417,
            ProtoError::PayloadTooLarge => 413,
            ProtoError::BadBody(_) => return None,
        }))
    }

    /// A short human explanation, used in logs and in error bodies.
    pub(crate) fn explain(&self) -> &'static str {
        match self {
            ProtoError::UriTooLong => "request line too long",
            ProtoError::HeadTooLarge => "request head too large",
            ProtoError::BadRequest(why) => why,
            ProtoError::NotImplemented(why) => why,
            ProtoError::VersionNotSupported => "HTTP version not supported",
            ProtoError::ExpectationFailed => "unsupported expectation",
            ProtoError::PayloadTooLarge => "request body too large",
            ProtoError::BadBody(why) => why,
        }
    }
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.explain())
    }
}

impl std::error::Error for ProtoError {}

impl From<ProtoError> for std::io::Error {
    fn from(e: ProtoError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}
