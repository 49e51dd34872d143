//! 100 MiB uploads and downloads stream through in constant memory: the handler reads the
//! body as it arrives, and a response body comes from a generating reader, never a buffer.
//!
//! Memory is measured as the growth of the process RSS (`VmRSS` in /proc/self/status) across
//! each transfer. The tests of this file run one at a time so that they measure only
//! themselves. Elsewhere than Linux (no /proc) the transfers are checked, not the memory.

mod support;

use std::io::Write;
use std::sync::{mpsc, Mutex, MutexGuard};

use support::{check_pattern, serve, Framing, Pattern, PatternReader, WAIT};
use tiny_http::{Request, Response};

const SIZE: u64 = 100 * 1024 * 1024;
const MAX_GROWTH_KIB: u64 = 32 * 1024;
const BUF: usize = 256 * 1024;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    support::proc_status("VmRSS")
}

#[cfg(not(target_os = "linux"))]
fn rss_kib() -> u64 {
    0
}

fn assert_constant_memory(before: u64, what: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let after = rss_kib();
    let growth = after.saturating_sub(before);
    assert!(
        growth < MAX_GROWTH_KIB,
        "{what}: RSS grew by {growth} KiB (from {before} to {after} KiB) for a {} MiB transfer",
        SIZE >> 20
    );
}

/// A server whose handler checks the uploaded body against the pattern and answers its size.
fn upload_server() -> (support::TestServer, mpsc::Receiver<Result<u64, String>>) {
    let (tx, rx) = mpsc::channel();
    let srv = serve(2, move |mut rq: Request| {
        let result = check_pattern(rq.as_reader(), BUF);
        let text = format!("{result:?}");
        tx.send(result).unwrap();
        let _ = rq.respond(Response::from_string(text));
    });
    (srv, rx)
}

#[test]
fn upload_100_mib_with_content_length() {
    let _serial = serial();
    let (srv, rx) = upload_server();
    let mut c = srv.client();
    let pattern = Pattern::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let before = rss_kib();

    c.send(format!(
        "PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {SIZE}\r\n\r\n"
    ));
    let mut pos = 0u64;
    while pos < SIZE {
        let n = buf.len().min((SIZE - pos) as usize);
        pattern.fill(pos, &mut buf[..n]);
        c.stream.write_all(&buf[..n]).unwrap();
        pos += n as u64;
    }
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Ok(SIZE));
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_constant_memory(before, "Content-Length upload");
}

#[test]
fn upload_100_mib_chunked() {
    let _serial = serial();
    let (srv, rx) = upload_server();
    let mut c = srv.client();
    let pattern = Pattern::new();
    let sizes = [1024 * 1024, 12_345, 65_543, 1, 300_001];
    let mut buf = vec![0u8; 1024 * 1024 + 64];
    let before = rss_kib();

    c.send("PUT /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut pos = 0u64;
    let mut i = 0;
    while pos < SIZE {
        let n = sizes[i % sizes.len()].min((SIZE - pos) as usize);
        i += 1;
        let prefix = format!("{n:x}\r\n");
        buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
        let end = prefix.len() + n;
        pattern.fill(pos, &mut buf[prefix.len()..end]);
        buf[end..end + 2].copy_from_slice(b"\r\n");
        c.stream.write_all(&buf[..end + 2]).unwrap();
        pos += n as u64;
    }
    c.send("0\r\nX-Done: yes\r\n\r\n");
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Ok(SIZE));
    let r = c.read_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_constant_memory(before, "chunked upload");
}

fn download_server() -> support::TestServer {
    serve(2, |rq: Request| {
        let response = match rq.url() {
            "/known" => Response::new(
                200.into(),
                vec![],
                PatternReader::new(SIZE),
                Some(SIZE as usize),
                None,
            )
            .with_chunked_threshold(usize::MAX)
            .boxed(),
            "/unknown" => {
                Response::new(200.into(), vec![], PatternReader::new(SIZE), None, None).boxed()
            }
            _ => Response::from_string("small").boxed(),
        };
        let _ = rq.respond(response);
    })
}

fn download(path: &str, expected: Framing) {
    let _serial = serial();
    let srv = download_server();
    let mut c = srv.client();
    let before = rss_kib();
    c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    let framing = head.framing(false);
    assert_eq!(framing, expected, "{head:?}");
    let got = check_pattern(c.body_reader(framing), BUF);
    assert_eq!(got, Ok(SIZE));
    assert_constant_memory(before, path);
    // The connection is still usable after 100 MiB.
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().unwrap().body_str(), "small");
}

#[test]
fn download_100_mib_with_content_length() {
    download("/known", Framing::Length(SIZE));
}

#[test]
fn download_100_mib_chunked_from_a_reader_of_unknown_length() {
    download("/unknown", Framing::Chunked);
}
