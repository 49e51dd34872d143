//! The request method.
//!
//! Method names are case-sensitive (RFC 9110 §9.1): `GET` is [`Method::Get`], while `get` is
//! the non-standard method `get`.

use std::fmt;
use std::str::FromStr;

use ascii::AsciiString;

use super::header::is_token;

/// An HTTP request method.
///
/// ```
/// use tiny_http::Method;
///
/// let get: Method = "GET".parse().unwrap();
/// assert_eq!(get, Method::Get);
/// assert_eq!(get.as_str(), "GET");
///
/// let custom: Method = "PURGE".parse().unwrap();
/// assert_eq!(custom.to_string(), "PURGE");
/// assert!(matches!(custom, Method::NonStandard(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other method token.
    NonStandard(AsciiString),
}

impl Method {
    /// The method name as sent on the wire.
    ///
    /// ```
    /// use tiny_http::Method;
    ///
    /// assert_eq!(Method::Delete.as_str(), "DELETE");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::NonStandard(name) => name.as_str(),
        }
    }

    /// Maps a method token from the wire to a `Method`; `None` unless `bytes` is a token.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Method> {
        Some(match bytes {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            other if is_token(other) => {
                Method::NonStandard(AsciiString::from_ascii(other.to_vec()).ok()?)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = ();

    /// Parses a method name (case-sensitive); anything that is not an RFC 9110 token is an
    /// error.
    fn from_str(s: &str) -> Result<Method, ()> {
        Method::from_bytes(s.as_bytes()).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_round_trip() {
        let all = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Connect,
            Method::Options,
            Method::Trace,
            Method::Patch,
        ];
        for m in all {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m.clone()));
            assert_eq!(m.as_str(), m.to_string());
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        let lower: Method = "get".parse().unwrap();
        assert_eq!(
            lower,
            Method::NonStandard(AsciiString::from_ascii("get").unwrap())
        );
        assert_eq!(lower.as_str(), "get");
        assert_ne!(lower, Method::Get);
    }

    #[test]
    fn non_tokens_are_rejected() {
        for bad in ["", "GE T", "GET\r\n", "G\u{e9}T", "(GET)", "GET/"] {
            assert!(bad.parse::<Method>().is_err(), "{bad:?}");
        }
        assert!(Method::from_bytes(b"\xffGET").is_none());
        assert_eq!(
            Method::from_bytes(b"M-SEARCH").unwrap().as_str(),
            "M-SEARCH"
        );
    }
}
