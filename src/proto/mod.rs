//! Sans-IO protocol code: bytes in, events and bytes out. Nothing here touches a socket, a
//! thread or a clock it was not handed (functions that need the time take an `Instant`).
//!
//! ```text
//!   proto/
//!     error.rs   ProtoError: every way a request can be refused, with the status that answers it
//!     date.rs    the Date header value (cached per thread)
//!     h1/        HTTP/1.1: head parser and request framing (head.rs), body decoders
//!                (decode.rs), response framing and encoding (encode.rs), and the connection
//!                lifecycle (conn.rs): reading, writing and keep-alive as one state machine
//! ```
//!
//! HTTP/2 (a later addition) goes beside `h1/` as `h2/`, with the same shape: the runtime
//! feeds it bytes and gets back requests to hand out and bytes to send.

pub(crate) mod date;
pub(crate) mod error;
pub(crate) mod h1;
