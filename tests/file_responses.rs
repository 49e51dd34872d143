//! `Response::from_file`: served whole and exactly (through `sendfile(2)` on plain TCP),
//! boxed or not, with the connection reusable afterwards; HEAD sends the length only.

mod support;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use support::serve;
use tiny_http::Response;

/// A temporary file with `len` bytes of a position-dependent pattern, removed on drop.
struct TempFile {
    path: PathBuf,
    data: Vec<u8>,
}

impl TempFile {
    fn new(name: &str, len: usize) -> TempFile {
        let path = std::env::temp_dir().join(format!("tiny-http-{}-{name}", std::process::id()));
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + i / 251) as u8).collect();
        File::create(&path).unwrap().write_all(&data).unwrap();
        TempFile { path, data }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn file_bodies_arrive_exactly_and_the_connection_stays_usable() {
    // Sizes around the small-body and chunking thresholds, and a multi-MiB one.
    let files: Vec<TempFile> = [0usize, 1, 16 * 1024, 16 * 1024 + 1, 40_000, 3 << 20]
        .iter()
        .enumerate()
        .map(|(i, &len)| TempFile::new(&format!("f{i}"), len))
        .collect();
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let srv = serve(2, move |rq| {
        let index: usize = rq.url()[1..].trim_end_matches("/boxed").parse().unwrap();
        let file = File::open(&paths[index]).unwrap();
        let response = Response::from_file(file);
        let _ = if rq.url().ends_with("/boxed") {
            rq.respond(response.boxed())
        } else {
            rq.respond(response)
        };
    });
    let mut c = srv.client();
    for (i, f) in files.iter().enumerate() {
        for suffix in ["", "/boxed"] {
            c.send(format!("GET /{i}{suffix} HTTP/1.1\r\nHost: t\r\n\r\n"));
            let r = c.read_response().unwrap();
            assert_eq!(r.status(), 200);
            // Framing as upstream: Content-Length below the 32 KiB chunked threshold, chunked
            // at or above it.
            if f.data.len() < 32 * 1024 {
                let expected_length = f.data.len().to_string();
                assert_eq!(r.header("Content-Length"), Some(expected_length.as_str()));
            } else {
                assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
            }
            assert!(
                r.body == f.data,
                "file {i}{suffix}: body differs ({} bytes)",
                r.body.len()
            );
        }
        c.send(format!("HEAD /{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response_to(true).unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.body.is_empty());
        assert_eq!(
            r.header("Content-Length"),
            Some(f.data.len().to_string().as_str())
        );
    }
}

#[test]
fn a_file_partly_read_before_responding_is_sent_from_its_offset() {
    use std::io::{Read, Seek, SeekFrom};
    let f = TempFile::new("offset", 100_000);
    let path = f.path.clone();
    let srv = serve(1, move |rq| {
        let mut file = File::open(&path).unwrap();
        file.seek(SeekFrom::Start(1_000)).unwrap();
        let mut skip = [0u8; 10];
        file.read_exact(&mut skip).unwrap();
        // 1,010 bytes consumed: send the rest, declaring its exact length.
        let response = Response::from_file(file).with_header(
            tiny_http::Header::from_bytes("Content-Length", (100_000 - 1_010).to_string()).unwrap(),
        );
        let _ = rq.respond(response);
    });
    let mut c = srv.client();
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_eq!(r.body.len(), 100_000 - 1_010);
    assert!(r.body == f.data[1_010..]);
}
