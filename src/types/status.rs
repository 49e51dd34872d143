//! The response status code.

use std::cmp::Ordering;

/// An HTTP status code.
///
/// Converts from any integer type upstream accepted, and compares with `u16` both ways.
///
/// ```
/// use tiny_http::StatusCode;
///
/// let code = StatusCode::from(404);
/// assert_eq!(code, 404);
/// assert!(500 > code);
/// assert_eq!(code.default_reason_phrase(), "Not Found");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// The reason phrase registered for this code (IANA HTTP Status Code Registry, with the
    /// RFC 9110 names), or `"Unknown"` for an unregistered code.
    ///
    /// ```
    /// use tiny_http::StatusCode;
    ///
    /// assert_eq!(StatusCode(200).default_reason_phrase(), "OK");
    /// assert_eq!(StatusCode(599).default_reason_phrase(), "Unknown");
    /// ```
    pub fn default_reason_phrase(&self) -> &'static str {
        match self.0 {
            100 => "Continue",
            101 => "Switching Protocols",
            102 => "Processing",
            103 => "Early Hints",
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            203 => "Non-Authoritative Information",
            204 => "No Content",
            205 => "Reset Content",
            206 => "Partial Content",
            207 => "Multi-Status",
            208 => "Already Reported",
            226 => "IM Used",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            304 => "Not Modified",
            305 => "Use Proxy",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            400 => "Bad Request",
            401 => "Unauthorized",
            402 => "Payment Required",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            409 => "Conflict",
            410 => "Gone",
            411 => "Length Required",
            412 => "Precondition Failed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Range Not Satisfiable",
            417 => "Expectation Failed",
            418 => "I'm a teapot",
            421 => "Misdirected Request",
            422 => "Unprocessable Content",
            423 => "Locked",
            424 => "Failed Dependency",
            425 => "Too Early",
            426 => "Upgrade Required",
            428 => "Precondition Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            451 => "Unavailable For Legal Reasons",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            505 => "HTTP Version Not Supported",
            506 => "Variant Also Negotiates",
            507 => "Insufficient Storage",
            508 => "Loop Detected",
            510 => "Not Extended",
            511 => "Network Authentication Required",
            _ => "Unknown",
        }
    }
}

/// Conversions from signed and wider integers: a value that does not fit in `u16` (negative,
/// or above 65535) cannot be a status code and becomes `500 Internal Server Error`.
macro_rules! status_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StatusCode {
            fn from(code: $t) -> StatusCode {
                StatusCode(u16::try_from(code).unwrap_or(500))
            }
        }
    )*};
}

status_from!(i8, u8, i16, i32, u32);

impl From<u16> for StatusCode {
    fn from(code: u16) -> StatusCode {
        StatusCode(code)
    }
}

impl AsRef<u16> for StatusCode {
    fn as_ref(&self) -> &u16 {
        &self.0
    }
}

impl PartialEq<u16> for StatusCode {
    fn eq(&self, other: &u16) -> bool {
        self.0 == *other
    }
}

impl PartialEq<StatusCode> for u16 {
    fn eq(&self, other: &StatusCode) -> bool {
        *self == other.0
    }
}

impl PartialOrd<u16> for StatusCode {
    fn partial_cmp(&self, other: &u16) -> Option<Ordering> {
        self.0.partial_cmp(other)
    }
}

impl PartialOrd<StatusCode> for u16 {
    fn partial_cmp(&self, other: &StatusCode) -> Option<Ordering> {
        self.partial_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(StatusCode::from(200u8), StatusCode(200));
        assert_eq!(StatusCode::from(404i16), StatusCode(404));
        assert_eq!(StatusCode::from(404i32), 404);
        assert_eq!(StatusCode::from(301u32), 301);
        assert_eq!(StatusCode::from(100i8), 100);
        assert_eq!(StatusCode::from(-1i8), 500);
        assert_eq!(StatusCode::from(-404i32), 500);
        assert_eq!(StatusCode::from(70_000u32), 500);
        assert_eq!(*StatusCode(418).as_ref(), 418u16);
    }

    #[test]
    fn comparisons_both_ways() {
        assert!(StatusCode(200) < 300);
        assert!(300 > StatusCode(200));
        assert!(200 == StatusCode(200));
        assert!(StatusCode(200) != 201);
    }

    #[test]
    fn every_registered_code_has_a_phrase() {
        let registered = [
            100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302,
            303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411,
            412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500,
            501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
        ];
        for code in registered {
            assert_ne!(
                StatusCode(code).default_reason_phrase(),
                "Unknown",
                "{code}"
            );
        }
        assert_eq!(StatusCode(0).default_reason_phrase(), "Unknown");
    }
}
