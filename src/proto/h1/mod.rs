//! HTTP/1.1, sans-IO (RFC 9112).

pub(crate) mod conn;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod head;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod transcript;
