//! The small value types of the public API: headers, methods, versions, status codes.

mod header;
mod method;
mod status;
mod version;

pub(crate) use header::{is_tchar, is_token, trim_ows};
pub use header::{Header, HeaderField};
pub use method::Method;
pub use status::StatusCode;
pub use version::HTTPVersion;
