//! The invariants the fuzz targets check, shared with `tests/fuzz_corpus.rs` (which replays
//! the saved corpus through them in CI). Each takes arbitrary bytes and panics on a violation.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tiny_http::fuzzing;
use tiny_http::fuzzing::{parse_head, ChunkedDecoder};
use tiny_http::{Response, ServerBuilder};

/// Head parser: the first byte picks the limits, the rest is the buffer. Every prefix parses
/// as "incomplete" or exactly as the whole; a complete head parses the same from its own bytes.
pub fn head(data: &[u8]) {
    let Some((&flags, buf)) = data.split_first() else {
        return;
    };
    let tight = flags & 1 == 1;
    let whole = parse_head(buf, tight);
    if let Ok(Some((_, used))) = &whole {
        assert!(*used <= buf.len(), "used {used} of {}", buf.len());
        assert_eq!(parse_head(&buf[..*used], tight), whole, "head alone");
    }
    // Every prefix for short inputs, an even sample of them for long ones.
    let step = (buf.len() / 256).max(1);
    for k in (0..buf.len()).step_by(step) {
        let part = parse_head(&buf[..k], tight);
        assert!(
            part == Ok(None) || part == whole,
            "prefix {k}: {part:?}, whole: {whole:?}"
        );
        if let Ok(Some((_, used))) = &whole {
            if k < *used {
                assert_eq!(part, Ok(None), "prefix {k} of a head of {used}");
            }
        }
    }
}

/// What one decode run gave: (body, input used, done) or the error.
type Decoded = Result<(Vec<u8>, usize, bool), String>;

/// Feeds `input` in pieces of the sizes in `steps` (cyclically) into an `out_size` buffer.
fn decode_in_pieces(max: Option<u64>, input: &[u8], steps: &[usize], out_size: usize) -> Decoded {
    let mut decoder = ChunkedDecoder::new(max);
    let mut out = vec![0u8; out_size];
    let (mut body, mut pos, mut i) = (Vec::new(), 0, 0);
    while pos < input.len() {
        let step = steps[i % steps.len()];
        i += 1;
        let end = input.len().min(pos.saturating_add(step));
        let (used, written) = decoder.decode(&input[pos..end], &mut out)?;
        assert!(used <= end - pos && written <= out.len());
        body.extend_from_slice(&out[..written]);
        pos += used;
        if used == 0 && written == 0 {
            // Progress is guaranteed unless the body has ended.
            assert!(decoder.is_done(), "no progress at {pos} and not done");
            break;
        }
    }
    if decoder.is_done() {
        assert_eq!(
            decoder.decode(b"0\r\n\r\n", &mut out),
            Ok((0, 0)),
            "after done"
        );
    }
    Ok((body, pos, decoder.is_done()))
}

/// Chunked decoder: byte 0 picks the body limit, byte 1 the output buffer size, byte 2 how
/// many split sizes follow; the rest is the body. However it is split, the decoder gives the
/// same body, stops at the same byte and fails the same way as when fed whole.
pub fn chunked(data: &[u8]) {
    let [flags, out_size, n_steps, rest @ ..] = data else {
        return;
    };
    let n_steps = usize::from(n_steps % 8);
    if rest.len() < n_steps {
        return;
    }
    let (steps, input) = rest.split_at(n_steps);
    let max = match flags % 3 {
        0 => None,
        1 => Some(16),
        _ => Some(u64::from(*flags) * 64),
    };
    let whole = decode_in_pieces(max, input, &[usize::MAX], 64 * 1024);
    if let Ok((body, used, _)) = &whole {
        assert!(*used <= input.len());
        if let Some(max) = max {
            assert!(body.len() as u64 <= max, "body over the limit");
        }
    }
    let mut steps: Vec<usize> = steps.iter().map(|&s| usize::from(s % 64) + 1).collect();
    if steps.is_empty() {
        steps.push(1);
    }
    let out_size = usize::from(*out_size % 32) + 1;
    let split = decode_in_pieces(max, input, &steps, out_size);
    assert_eq!(split, whole, "steps {steps:?}, out {out_size}");
}

/// A server shared by every run of the connection target: short deadlines, small limits, and
/// handlers that read the body and echo its size.
fn shared_server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| {
        let server = ServerBuilder::new()
            .max_body_size(Some(64 * 1024))
            .head_timeout(Duration::from_secs(2))
            .body_timeout(Duration::from_secs(2))
            .idle_timeout(Duration::from_secs(2))
            .http("127.0.0.1:0")
            .expect("bind");
        let server = Arc::new(server);
        for _ in 0..2 {
            let server = server.clone();
            std::thread::spawn(move || {
                while let Ok(mut rq) = server.recv() {
                    let mut body = Vec::new();
                    let text = match rq.as_reader().read_to_end(&mut body) {
                        Ok(n) => format!("{} {} {n}", rq.method(), rq.url()),
                        Err(e) => format!("{:?}", e.kind()),
                    };
                    let _ = rq.respond(Response::from_string(text));
                }
            });
        }
        let addr = server.server_addr().to_ip().expect("TCP");
        // The server lives as long as the process.
        std::mem::forget(server);
        addr
    })
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the server closes; a read timeout means the server hung on this input.
fn read_to_close(stream: &mut TcpStream, input: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("server did not close after input {input:?}")
            }
            Err(_) => return got, // reset
        }
    }
}

/// The connection lifecycle, in-process: the first byte picks the limits, the next four the
/// piece sizes, the rest is what the client sends. The transcript is the same whatever the
/// pieces; requests are numbered from 0 without gaps; nothing follows an error; once the
/// input has ended (every response written at once) the connection is finished.
pub fn connection(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let tight = flags & 1 == 1;
    let (sizes, input) = rest.split_at(rest.len().min(4));
    let steps: Vec<usize> = sizes.iter().map(|&b| usize::from(b % 64) + 1).collect();
    let whole = fuzzing::connection(input, &[], tight);
    let split = fuzzing::connection(input, &steps, tight);
    assert_eq!(split, whole, "pieces {steps:?} of {input:?}");
    let one_by_one = fuzzing::connection(input, &[1], tight);
    assert_eq!(one_by_one, whole, "byte by byte: {input:?}");

    let (last, events) = whole.split_last().expect("an end line");
    assert!(last.starts_with("end finished=true "), "{whole:?}");
    let mut next = 0u64;
    let mut ended = false;
    for line in events {
        assert!(!ended, "an event after an error: {whole:?}");
        let (seq, what) = line
            .strip_prefix('#')
            .and_then(|l| l.split_once(' '))
            .unwrap_or_else(|| panic!("odd line {line:?}"));
        let seq: u64 = seq.parse().expect("request number");
        if what.starts_with("body") {
            assert_eq!(seq + 1, next, "a body of request {seq}: {whole:?}");
            ended = what.starts_with("body error");
        } else {
            assert_eq!(seq, next, "requests numbered in order: {whole:?}");
            next += 1;
            assert!(
                what.starts_with("request ") || what.starts_with("error "),
                "odd line {line:?}: {whole:?}"
            );
            ended = what.starts_with("error ");
        }
    }
}

/// Whole connection through a real server: arbitrary bytes over loopback, then EOF. The
/// server answers only with HTTP/1.1 responses, closes, and still serves the next
/// connection. (Not a fuzz target: the corpus replay runs it beside [`connection`].)
pub fn server(data: &[u8]) {
    let addr = shared_server();
    let mut stream = connect(addr);
    // The server may close early (an error response): later writes may fail.
    let _ = stream.write_all(data);
    let _ = stream.shutdown(Shutdown::Write);
    let got = read_to_close(&mut stream, data);
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 "),
        "input {data:?} got {:?}",
        String::from_utf8_lossy(&got)
    );

    let mut health = connect(addr);
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n")
        .expect("health request");
    let got = read_to_close(&mut health, b"health");
    assert!(
        got.starts_with(b"HTTP/1.1 200 ") && got.ends_with(b"GET /health 0"),
        "health check after {data:?}: {:?}",
        String::from_utf8_lossy(&got)
    );
}
