//! The three servers under test, each run as `bench serve <name>` in its own process so that
//! the harness can pin it to one core and read its CPU time and memory from /proc.
//!
//! ```text
//! ours      src/app_tiny.rs compiled against this repository's tiny_http   (2 workers)
//! upstream  src/app_tiny.rs compiled against crates.io tiny_http 0.12.0    (2 workers)
//! hyper     the same routes on hyper 1.x, tokio current-thread runtime     (1 thread)
//! ```
//!
//! For S8/S9 ours and hyper serve HTTPS with the same rustls configuration (`tls.rs`); hyper
//! through tokio-rustls.

use std::io::{self, Read, Write};

/// Worker threads calling `recv()` in the tiny_http servers.
pub const TINY_WORKERS: usize = 2;

/// The server implementations, in the order runs are interleaved.
pub const ALL: [&str; 3] = ["ours", "upstream", "hyper"];

/// Every server `--servers` accepts: the three above plus `floor` (see `floor.rs`).
pub const KNOWN: [&str; 5] = ["ours", "upstream", "hyper", "floor", "floorb"];

/// The application against this repository's crate.
pub mod ours {
    include!("app_tiny.rs");

    /// The same application over HTTPS (S8/S9), with the bench's rustls configuration.
    pub fn serve_tls(port: u16, workers: usize, tls: &std::path::Path) -> io::Result<()> {
        let server = tiny_http::ServerBuilder::new()
            .rustls_config(crate::tls::server_config(tls)?)
            .http(("127.0.0.1", port))
            .map_err(io::Error::other)?;
        run(server, workers)
    }
}

/// The same application source against crates.io tiny_http 0.12.0.
pub mod upstream {
    use upstream as tiny_http;
    include!("app_tiny.rs");
}

/// Tells the harness which port the server listens on (the first line of its stdout).
/// Names the file `GET /big` serves (S7), set by the harness.
pub const BIG_FILE_ENV: &str = "BENCH_BIG_FILE";

/// The file `GET /big` serves.
pub fn big_file() -> io::Result<std::fs::File> {
    let path = std::env::var_os(BIG_FILE_ENV)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "BENCH_BIG_FILE is not set"))?;
    std::fs::File::open(path)
}

pub fn announce(port: u16) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "LISTENING {port}");
    let _ = out.flush();
}

/// `bytes=N` from a query string (0 when absent or invalid).
pub fn query_bytes(query: &str) -> usize {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("bytes="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A body generated on the fly: `length` bytes of a repeating pattern, never held in memory.
#[derive(Debug)]
pub struct Generated {
    left: usize,
}

impl Generated {
    pub fn new(length: usize) -> Generated {
        Generated { left: length }
    }

    /// Fills `buf` with the next bytes (at most `left`), returning how many.
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.left);
        buf[..n].fill(b'x');
        self.left -= n;
        n
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

/// Runs server `name` on 127.0.0.1:`port` until killed.
/// With `tls` (a directory made by `tls::make`), ours and hyper serve HTTPS; the others refuse.
pub fn serve(
    name: &str,
    port: u16,
    workers: usize,
    pipeline_flush: bool,
    tls: Option<&std::path::Path>,
) -> io::Result<()> {
    if let (Some(_), "upstream" | "floor" | "floorb") = (tls, name) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{name} does not serve HTTPS in this bench"),
        ));
    }
    match name {
        "ours" => match tls {
            Some(tls) => ours::serve_tls(port, workers, tls),
            None => ours::serve(port, workers),
        },
        "upstream" => upstream::serve(port, workers),
        "hyper" => hyper_server::serve(port, pipeline_flush, tls),
        "floor" => crate::floor::serve(port, false),
        "floorb" => crate::floor::serve(port, true),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown server {other:?}; expected one of {KNOWN:?}"),
        )),
    }
}

/// The reference: hyper 1.x HTTP/1 on a current-thread tokio runtime (one core, like the
/// pinned tiny_http servers). Accepted sockets get TCP_NODELAY; `pipeline_flush` as the
/// harness says for the scenario (on except for large bodies); other options are defaults.
mod hyper_server {
    use std::convert::Infallible;
    use std::future::poll_fn;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{header, Method, Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;

    use super::Generated;

    /// Frame size of generated download bodies (tiny_http's writers use 64 KiB-ish buffers).
    const FRAME: usize = 64 * 1024;

    pub(super) fn serve(
        port: u16,
        pipeline_flush: bool,
        tls: Option<&std::path::Path>,
    ) -> io::Result<()> {
        let acceptor = match tls {
            Some(dir) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(
                dir,
            )?)),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            super::announce(listener.local_addr()?.port());
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // EMFILE and friends: back off instead of spinning.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // hyper as its best users configure it for the scenario: pipelined
                // responses flushed together for small responses (TCP_NODELAY above); off
                // for large bodies, where it makes hyper read the whole body into memory
                // before flushing (PERFORMANCE.md).
                let mut builder = http1::Builder::new();
                builder.pipeline_flush(pipeline_flush);
                match acceptor.clone() {
                    None => {
                        tokio::spawn(async move {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service_fn(handle))
                                .await;
                        });
                    }
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                                    .await;
                            }
                        });
                    }
                }
            }
        })
    }

    async fn handle(request: Request<Incoming>) -> Result<Response<AppBody>, Infallible> {
        let path = request.uri().path();
        let response = match (request.method(), path) {
            (&Method::GET, "/") => Response::builder()
                .header(header::CONTENT_TYPE, "text/plain; charset=UTF-8")
                .body(AppBody::Full(Some(Bytes::from_static(b"Hello, World!")))),
            (&Method::GET, "/big") => match super::big_file() {
                Ok(file) => {
                    let length = file.metadata().map_or(0, |m| m.len());
                    Response::builder().body(AppBody::File(file, length))
                }
                Err(_) => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(AppBody::Full(None)),
            },
            (&Method::GET, "/download") => {
                let length = super::query_bytes(request.uri().query().unwrap_or(""));
                Response::builder().body(AppBody::Generated(Generated::new(length)))
            }
            (&Method::POST, "/upload") => {
                let mut body = request.into_body();
                let mut total: u64 = 0;
                while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                    match frame {
                        Ok(frame) => {
                            if let Some(data) = frame.data_ref() {
                                total += data.len() as u64;
                            }
                        }
                        Err(_) => break,
                    }
                }
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/plain; charset=UTF-8")
                    .body(AppBody::Full(Some(Bytes::from(total.to_string()))))
            }
            _ => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(AppBody::Full(None)),
        };
        Ok(response.unwrap_or_else(|_| Response::new(AppBody::Full(None))))
    }

    /// A whole small body, or a generated one with an exact size (so hyper sends
    /// Content-Length, like the tiny_http servers).
    enum AppBody {
        Full(Option<Bytes>),
        Generated(Generated),
        /// A file and how many bytes of it remain: read in frames (from the page cache,
        /// so the read does not block the runtime in practice).
        File(std::fs::File, u64),
    }

    impl Body for AppBody {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            let frame = match self.get_mut() {
                AppBody::Full(data) => data.take().map(Frame::data),
                AppBody::Generated(generated) => {
                    // A fresh buffer per frame, written once: the one copy tiny_http makes
                    // from its reader into its write buffer.
                    let n = FRAME.min(generated.left);
                    let mut buffer = Vec::with_capacity(n);
                    buffer.resize(n, b'x');
                    generated.left -= n;
                    (n > 0).then(|| Frame::data(Bytes::from(buffer)))
                }
                AppBody::File(file, left) => {
                    use std::io::Read;
                    let n = FRAME.min(usize::try_from(*left).unwrap_or(FRAME));
                    let mut buffer = vec![0u8; n];
                    match file.read(&mut buffer) {
                        Ok(got) if got > 0 => {
                            buffer.truncate(got);
                            *left -= got as u64;
                            Some(Frame::data(Bytes::from(buffer)))
                        }
                        _ => {
                            *left = 0;
                            None
                        }
                    }
                }
            };
            Poll::Ready(frame.map(Ok))
        }

        fn is_end_stream(&self) -> bool {
            match self {
                AppBody::Full(data) => data.is_none(),
                AppBody::Generated(generated) => generated.left == 0,
                AppBody::File(_, left) => *left == 0,
            }
        }

        fn size_hint(&self) -> SizeHint {
            match self {
                AppBody::Full(data) => {
                    SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
                }
                AppBody::Generated(generated) => SizeHint::with_exact(generated.left as u64),
                AppBody::File(_, left) => SizeHint::with_exact(*left),
            }
        }
    }
}
