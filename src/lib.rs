#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![warn(unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
//! (crate docs: written at the end)

mod proto;
mod response;
mod types;

pub use response::{Response, ResponseBox};
pub use types::{HTTPVersion, Header, HeaderField, Method, StatusCode};
