#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![warn(unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
//! # tiny_http: a small, blocking HTTP/1.1 server on an event-driven core
//!
//! This crate implements the public API of [`tiny_http`](https://docs.rs/tiny_http/0.12) 0.12
//! (same package name, same types and signatures), so an existing application or framework
//! switches to it with one `[patch.crates-io]` line. Underneath, an event loop owns every
//! connection (through the operating system's poller: epoll, kqueue, or IOCP on Windows); it
//! runs on your threads while they wait in `recv` and on one background thread otherwise, so
//! the process has your worker threads plus one, however many clients connect. Request
//! framing follows RFC 9110/9112 strictly, and every connection runs under deadlines and
//! size limits. Linux, macOS, FreeBSD and Windows are supported.
//!
//! ## Creating a server
//!
//! ```no_run
//! use tiny_http::Server;
//!
//! let server = Server::http("0.0.0.0:8000").unwrap();
//! println!("listening on {}", server.server_addr());
//! ```
//!
//! [`Server::http`] binds at once, so a port already in use is an `Err`. A server listens
//! until it is dropped. Use port 0 to let the system choose, and [`Server::server_addr`] to
//! learn which port it chose.
//!
//! ## Receiving requests
//!
//! [`Server::recv`] blocks until a request arrives; [`Server::recv_timeout`] and
//! [`Server::try_recv`] wait a bounded time or not at all, and
//! [`Server::incoming_requests`] iterates:
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! for request in server.incoming_requests() {
//!     println!(
//!         "{:?} {} from {:?}, headers: {:?}",
//!         request.method(),
//!         request.url(),
//!         request.remote_addr(),
//!         request.headers()
//!     );
//! }
//! ```
//!
//! Requests are handled on threads you own. The server is `Send + Sync`: share it with an
//! `Arc` and call `recv` from as many worker threads as you like. Connections do not need
//! threads of their own: thousands of idle keep-alive clients cost a socket and a few bytes
//! each. To stop N workers, call [`Server::unblock`] N times; each call releases exactly one.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::thread;
//! use tiny_http::{Response, Server};
//!
//! let server = Arc::new(Server::http("0.0.0.0:8000").unwrap());
//! let workers: Vec<_> = (0..4)
//!     .map(|_| {
//!         let server = Arc::clone(&server);
//!         thread::spawn(move || {
//!             while let Ok(request) = server.recv() {
//!                 let _ = request.respond(Response::from_string("hello"));
//!             }
//!         })
//!     })
//!     .collect();
//! // ... later, to shut down:
//! for _ in &workers {
//!     server.unblock();
//! }
//! for worker in workers {
//!     worker.join().unwrap();
//! }
//! ```
//!
//! ## Reading the body and answering
//!
//! [`Request::as_reader`] gives the body, exactly (by `Content-Length` or de-chunked), then
//! end-of-file; the interim `100 Continue` is sent on the first read when the client asked for
//! it. A [`Response`] is a status, headers and a body from any [`std::io::Read`]; the library
//! frames it (`Content-Length`, chunked, or close-delimited for HTTP/1.0) and adds `Date` and
//! `Server`.
//!
//! ```no_run
//! use tiny_http::{Header, Response, Server};
//!
//! let server = Server::http("0.0.0.0:8000").unwrap();
//! let mut request = server.recv().unwrap();
//! let mut body = String::new();
//! request.as_reader().read_to_string(&mut body).unwrap();
//!
//! let response = Response::from_string(format!("you sent {} bytes", body.len()))
//!     .with_status_code(201)
//!     .with_header("X-Handled-By: example".parse::<Header>().unwrap());
//! request.respond(response).unwrap();
//! ```
//!
//! A request dropped without an answer gets an empty `500`; a handler that panics therefore
//! loses only its own request. Responses on one connection reach the client in request order
//! even when pipelined requests are answered out of order by different threads.
//!
//! A client's pipelined requests are handed out one at a time: [`Server::recv`] gives the
//! next one only after the previous one is answered or dropped, except to the thread that
//! received the previous one (so a thread may collect several requests and pass them on).
//! One client therefore never occupies more than one handler thread, nor delays other
//! clients' requests behind its own.
//!
//! Files are streamed, never loaded whole: `Response::from_file(File::open(path)?)`.
//!
//! ## Testing handlers without a network
//!
//! [`TestRequest`] builds a [`Request`] in memory:
//!
//! ```
//! use tiny_http::{Method, Request, Response, TestRequest};
//!
//! fn handler(request: Request) -> usize {
//!     let n = request.url().len();
//!     request.respond(Response::empty(204)).unwrap();
//!     n
//! }
//!
//! let request: Request = TestRequest::new().with_method(Method::Get).with_path("/abc").into();
//! assert_eq!(handler(request), 4);
//! ```
//!
//! ## Limits and deadlines
//!
//! Every connection runs under deadlines (request head, keep-alive idleness, body progress and
//! minimum rate, response writes, TLS handshake) and every request under size limits (request
//! line, head, header count, optional body size). The defaults suit real traffic; change them
//! with [`ServerBuilder`]:
//!
//! ```
//! use std::time::Duration;
//! use tiny_http::Server;
//!
//! let server = Server::builder()
//!     .max_body_size(Some(1 << 20))
//!     .head_timeout(Duration::from_secs(10))
//!     .max_connections(1_000)
//!     .http("127.0.0.1:0")
//!     .unwrap();
//! # drop(server);
//! ```
//!
//! Malformed or ambiguous requests (for example both `Content-Length` and
//! `Transfer-Encoding`, the classic request-smuggling vector) are answered with a minimal
//! `4xx` and `Connection: close`, and the connection is closed; nothing a client sends can
//! make the server panic or stop serving others.
//!
//! ## HTTPS
//!
//! With the `ssl-rustls` feature (or `ssl-openssl`, also enabled by `ssl`),
//! `Server::https(addr, SslConfig { certificate, private_key })` serves TLS from PEM bytes; with
//! `ssl-rustls`, [`ServerBuilder`] also accepts a prebuilt `rustls::ServerConfig` (ALPN, SNI,
//! client certificates, certificate reload). When both features are enabled, rustls is used.
//! Without either, asking for TLS is an `Err` saying the feature is required.
//!
//! ## How it works
//!
//! The event loop (over `mio`) accepts connections, reads request heads, enforces deadlines
//! and queues requests; `recv` pops them. It runs on whichever thread calls `recv` while no
//! other does (leader/followers), so under load one thread parses, handles and answers a
//! request with no hand-off; the background thread takes over while every worker is busy.
//!
//! The loop owns every socket; your threads never wait on a slow client:
//!
//! - **Small request bodies** (by `Content-Length`, up to [`ServerBuilder::preread_body`],
//!   64 KiB by default) are received by the loop before the request is handed out, so
//!   reading them never waits. Larger bodies, chunked bodies beyond what has arrived, and
//!   bodies whose client waits for `100 Continue` are read by the handler at the client's
//!   pace, under the body deadlines.
//! - **Responses** go to the connection's output buffer, written straight to the socket when
//!   that needs no wait (one `write` for a small response) and by the loop as the client
//!   reads. Bodies the library owns (`Response::from_file`, `from_data`, `from_string`) are
//!   handed over whole and `respond` returns at once; a body streamed from your own reader
//!   holds its handler only while the rest does not fit [`ServerBuilder::output_buffer`]
//!   (256 KiB by default).
//! - An idle server sleeps: with nothing to do, no thread wakes until a deadline is due.
//!
//! The connection goes back to the event loop as soon as a body is consumed, so the next
//! pipelined request is parsed while the response is still being written.

mod config;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
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
