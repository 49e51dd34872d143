/// An HTTP version, `HTTPVersion(1, 1)` for HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HTTPVersion(pub u8, pub u8);
