//! Criterion micro-benchmarks through the public API (`cargo bench --bench proto`).
//!
//! The protocol core (`proto::head`, `proto::decode`, `proto::encode`) is `pub(crate)`, so
//! these measure it from the outside:
//! - response encoding: `Response::raw_print` into a reused `Vec` (small, many headers,
//!   chunked);
//! - head parsing + request handling: a pipelined batch of requests over a loopback
//!   connection to a real `Server`, answered by one handler thread;
//! - chunked request bodies: a chunked upload read through `Request::as_reader`.
//!
//! - with `--features fuzzing`: the head parser and the chunked decoder directly, through
//!   the hidden wrappers.
//!
//! The end-to-end groups include the loopback round trip and the thread hand-off, so compare
//! them with each other over time, not with the encoding figures.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tiny_http::{HTTPVersion, Header, Response, Server, StatusCode};

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let mut out = Vec::with_capacity(128 * 1024);

    group.throughput(Throughput::Elements(1));
    group.bench_function("hello", |b| {
        b.iter(|| {
            out.clear();
            Response::from_string("Hello, World!")
                .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
                .unwrap();
            std::hint::black_box(out.len())
        })
    });

    let headers: Vec<Header> = (0..10)
        .map(|i| {
            format!("X-Bench-{i}: value number {i}")
                .parse::<Header>()
                .unwrap()
        })
        .collect();
    group.bench_function("ten_headers", |b| {
        b.iter_batched(
            || headers.clone(),
            |headers| {
                out.clear();
                let mut response = Response::from_string("Hello, World!");
                for header in headers {
                    response.add_header(header);
                }
                response
                    .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
                    .unwrap();
                std::hint::black_box(out.len())
            },
            BatchSize::SmallInput,
        )
    });

    let body = vec![b'x'; 64 * 1024];
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("chunked_64KiB", |b| {
        b.iter(|| {
            out.clear();
            // Unknown length: chunked to an HTTP/1.1 client.
            Response::new(StatusCode(200), Vec::new(), &body[..], None, None)
                .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
                .unwrap();
            std::hint::black_box(out.len())
        })
    });
    group.bench_function("length_64KiB", |b| {
        b.iter(|| {
            out.clear();
            Response::new(
                StatusCode(200),
                Vec::new(),
                &body[..],
                Some(body.len()),
                None,
            )
            .with_chunked_threshold(usize::MAX)
            .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
            .unwrap();
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

/// A server on 127.0.0.1 with one handler thread: `GET` answers "Hello, World!", `POST`
/// reads the body and answers its length.
fn start_server() -> (Arc<Server>, u16) {
    let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let handler = Arc::clone(&server);
    thread::spawn(move || {
        while let Ok(mut request) = handler.recv() {
            let response = if request.method() == &tiny_http::Method::Post {
                let mut sink = Vec::new();
                let n = request.as_reader().read_to_end(&mut sink).unwrap_or(0);
                Response::from_string(n.to_string())
            } else {
                Response::from_string("Hello, World!")
            };
            let _ = request.respond(response);
        }
    });
    (server, port)
}

/// Writes `batch` and reads until `marker` was seen `count` times.
fn round_trip(
    stream: &mut TcpStream,
    batch: &[u8],
    marker: &[u8],
    count: usize,
    buf: &mut Vec<u8>,
) {
    stream.write_all(batch).unwrap();
    buf.clear();
    let mut seen = 0;
    let mut scanned = 0;
    let mut chunk = [0u8; 16 * 1024];
    while seen < count {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(i) = find(&buf[scanned..], marker) {
            seen += 1;
            scanned += i + marker.len();
        }
        // Keep the tail that may hold the start of a split marker.
        scanned = scanned.max(buf.len().saturating_sub(marker.len()));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

fn end_to_end(c: &mut Criterion) {
    let (_server, port) = start_server();
    let mut group = c.benchmark_group("loopback");
    let mut buf = Vec::with_capacity(64 * 1024);
    const DEPTH: usize = 16;

    // Head parsing + handling: 16 small pipelined requests.
    let small = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(DEPTH);
    let mut stream = connect(port).unwrap();
    group.throughput(Throughput::Elements(DEPTH as u64));
    group.bench_function("pipelined_16_small_heads", |b| {
        b.iter(|| {
            round_trip(
                &mut stream,
                small.as_bytes(),
                b"Hello, World!",
                DEPTH,
                &mut buf,
            )
        })
    });

    // The same with browser-sized heads (15 fields, ~600 bytes).
    let mut head =
        String::from("GET /some/longer/path?query=string&x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for field in [
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language: en-US,en;q=0.5",
        "Accept-Encoding: gzip, deflate, br, zstd",
        "Connection: keep-alive",
        "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark",
        "Upgrade-Insecure-Requests: 1",
        "Sec-Fetch-Dest: document",
        "Sec-Fetch-Mode: navigate",
        "Sec-Fetch-Site: none",
        "Sec-Fetch-User: ?1",
        "Priority: u=0, i",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
    ] {
        head.push_str(field);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let large = head.repeat(DEPTH);
    group.bench_function("pipelined_16_browser_heads", |b| {
        b.iter(|| {
            round_trip(
                &mut stream,
                large.as_bytes(),
                b"Hello, World!",
                DEPTH,
                &mut buf,
            )
        })
    });

    // Chunked request body decoding: 64 KiB in 1 KiB chunks with an extension.
    let mut upload = String::from(
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let piece = "y".repeat(1024);
    for _ in 0..64 {
        upload.push_str("400;ext=1\r\n");
        upload.push_str(&piece);
        upload.push_str("\r\n");
    }
    upload.push_str("0\r\n\r\n");
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("chunked_upload_64KiB", |b| {
        b.iter(|| {
            round_trip(
                &mut stream,
                upload.as_bytes(),
                b"\r\n\r\n65536",
                1,
                &mut buf,
            )
        })
    });
    group.finish();
}

/// The chunked decoder on its own, through the hidden `fuzzing` feature's pass-through
/// wrapper (`cargo bench --bench proto --features fuzzing`).
#[cfg(feature = "fuzzing")]
fn decode(c: &mut Criterion) {
    use tiny_http::fuzzing::ChunkedDecoder;

    let mut input = Vec::new();
    for _ in 0..64 {
        input.extend_from_slice(b"400;ext=1\r\n");
        input.extend_from_slice(&[b'y'; 1024]);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    let mut out = vec![0u8; 16 * 1024];
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("chunked_64KiB_direct", |b| {
        b.iter(|| {
            let mut decoder = ChunkedDecoder::new(None);
            let mut at = 0;
            while !decoder.is_done() {
                let (used, written) = decoder.decode(&input[at..], &mut out).unwrap();
                at += used;
                std::hint::black_box(written);
            }
            at
        })
    });
    group.finish();
}

/// The request-head parser on its own (parse, validate, build the `Request` fields), through
/// the hidden `fuzzing` feature (`cargo bench --bench proto --features fuzzing`).
#[cfg(feature = "fuzzing")]
fn head(c: &mut Criterion) {
    use tiny_http::fuzzing::parse_head_len;

    let small: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    let browser: &[u8] = b"GET /static/app.js?v=3 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; lang=en\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-User: ?1\r\n\
Priority: u=0, i\r\n\
If-None-Match: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n\r\n";
    let mut group = c.benchmark_group("head");
    for (name, input) in [("small", small), ("browser_16_fields", browser)] {
        assert_eq!(parse_head_len(input), Some(input.len()), "{name}");
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse_head_len(std::hint::black_box(input)))
        });
    }
    group.finish();
}

#[cfg(not(feature = "fuzzing"))]
fn decode(_: &mut Criterion) {}

#[cfg(not(feature = "fuzzing"))]
fn head(_: &mut Criterion) {}

criterion_group!(benches, encode, head, decode, end_to_end);
criterion_main!(benches);
