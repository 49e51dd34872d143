#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![warn(unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
//! (crate docs: written at the end)

mod config;
mod listen;
mod proto;
mod request;
mod response;
mod runtime;
mod server;
mod testing;
mod transport;
mod types;

pub use config::{ServerBuilder, ServerConfig, SslConfig};
pub use listen::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use server::{IncomingRequests, Server};
pub use testing::TestRequest;
pub use types::{HTTPVersion, Header, HeaderField, Method, StatusCode};
