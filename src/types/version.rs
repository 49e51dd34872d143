//! The HTTP protocol version.

use std::cmp::Ordering;
use std::fmt;

/// An HTTP version, `HTTPVersion(1, 1)` for HTTP/1.1.
///
/// Compares with `(major, minor)` tuples in both directions.
///
/// ```
/// use tiny_http::HTTPVersion;
///
/// let v = HTTPVersion::from((1, 0));
/// assert_eq!(v.to_string(), "1.0");
/// assert!(v < (1, 1));
/// assert!((1, 1) > v);
/// assert_eq!(v, (1, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HTTPVersion(pub u8, pub u8);

impl HTTPVersion {
    /// Is this HTTP/1.1 or later (chunked encoding and persistent connections by default)?
    pub(crate) fn at_least_1_1(&self) -> bool {
        (self.0, self.1) >= (1, 1)
    }
}

impl fmt::Display for HTTPVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl From<(u8, u8)> for HTTPVersion {
    fn from((major, minor): (u8, u8)) -> HTTPVersion {
        HTTPVersion(major, minor)
    }
}

impl PartialEq<(u8, u8)> for HTTPVersion {
    fn eq(&self, other: &(u8, u8)) -> bool {
        (self.0, self.1) == *other
    }
}

impl PartialEq<HTTPVersion> for (u8, u8) {
    fn eq(&self, other: &HTTPVersion) -> bool {
        *self == (other.0, other.1)
    }
}

impl PartialOrd<(u8, u8)> for HTTPVersion {
    fn partial_cmp(&self, other: &(u8, u8)) -> Option<Ordering> {
        (self.0, self.1).partial_cmp(other)
    }
}

impl PartialOrd<HTTPVersion> for (u8, u8) {
    fn partial_cmp(&self, other: &HTTPVersion) -> Option<Ordering> {
        self.partial_cmp(&(other.0, other.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_compare() {
        assert_eq!(HTTPVersion(1, 1).to_string(), "1.1");
        assert_eq!(HTTPVersion(2, 0).to_string(), "2.0");
        assert!(HTTPVersion(1, 0) < HTTPVersion(1, 1));
        assert!(HTTPVersion(1, 1) >= (1, 1));
        assert!((0, 9) < HTTPVersion(1, 0));
        assert_eq!((1, 1), HTTPVersion::from((1, 1)));
        assert!(HTTPVersion(1, 1).at_least_1_1());
        assert!(HTTPVersion(2, 0).at_least_1_1());
        assert!(!HTTPVersion(1, 0).at_least_1_1());
    }
}
