//! Unit tests of `response`.

use super::*;

const V10: HTTPVersion = HTTPVersion(1, 0);
const V11: HTTPVersion = HTTPVersion(1, 1);

fn ctx(version: HTTPVersion) -> WriteContext<'static> {
    WriteContext {
        version,
        head_request: false,
        keep_alive: true,
        upgrade: None,
    }
}

/// Writes `response`, returning (head without Date, body, result).
fn write<R: Read>(
    response: Response<R>,
    ctx: &WriteContext<'_>,
) -> (String, Vec<u8>, io::Result<Written>) {
    let mut out = Vec::new();
    let result = response.write_message(ctx, &mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(out.len(), |p| p + 4);
    let (head, body) = out.split_at(split);
    let head = String::from_utf8(head.to_vec()).unwrap();
    let head: String = head
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect();
    (head, body.to_vec(), result)
}

/// A reader that hands out its data in fixed pieces, counting reads.
struct Pieces {
    pieces: Vec<Vec<u8>>,
    reads: usize,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.pieces.is_empty() {
            return Ok(0);
        }
        let piece = &mut self.pieces[0];
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        piece.drain(..n);
        if piece.is_empty() {
            self.pieces.remove(0);
        }
        Ok(n)
    }
}

/// A writer counting `write` calls.
#[derive(Default)]
struct CountingWriter {
    data: Vec<u8>,
    writes: usize,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn small_body_is_one_write() {
    let mut out = CountingWriter::default();
    let written = Response::from_string("hello")
        .write_message(&ctx(V11), &mut out)
        .unwrap();
    assert!(written.keep_alive);
    assert_eq!(out.writes, 1);
    let text = String::from_utf8(out.data).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "));
    assert!(text.ends_with(
        "\r\nServer: tiny-http (Rust)\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Length: 5\r\n\r\nhello"
    ));
}

#[test]
fn head_request_sends_length_but_no_body() {
    let c = WriteContext {
        head_request: true,
        ..ctx(V11)
    };
    let (head, body, r) = write(Response::from_data(vec![7u8; 100_000]), &c);
    assert!(r.unwrap().keep_alive);
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nContent-Length: 100000\r\n\r\n"
    );
    assert!(body.is_empty());
}

#[test]
fn no_content_and_not_modified() {
    let (head, body, r) = write(
        Response::from_string("ignored").with_status_code(204),
        &ctx(V11),
    );
    assert!(r.is_ok());
    assert_eq!(
        head,
        "HTTP/1.1 204 No Content\r\nServer: tiny-http (Rust)\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n"
    );
    assert!(body.is_empty());
    let (head, body, _) = write(Response::from_data("abc").with_status_code(304), &ctx(V11));
    assert_eq!(
        head,
        "HTTP/1.1 304 Not Modified\r\nServer: tiny-http (Rust)\r\nContent-Length: 3\r\n\r\n"
    );
    assert!(body.is_empty());
}

#[test]
fn http10_unknown_length_is_close_delimited() {
    let reader = Pieces {
        pieces: vec![b"abc".to_vec(), b"def".to_vec()],
        reads: 0,
    };
    let response = Response::new(StatusCode(200), vec![], reader, None, None);
    let (head, body, r) = write(response, &ctx(V10));
    assert!(!r.unwrap().keep_alive);
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(body, b"abcdef");
}

#[test]
fn http10_keep_alive_and_large_known_length() {
    let (head, body, r) = write(Response::from_data(vec![1u8; 40_000]), &ctx(V10));
    assert!(r.unwrap().keep_alive);
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nServer: tiny-http (Rust)\r\nContent-Length: 40000\r\n\
         Connection: keep-alive\r\n\r\n"
    );
    assert_eq!(body, vec![1u8; 40_000]);
}

#[test]
fn connection_close_when_not_keep_alive() {
    let c = WriteContext {
        keep_alive: false,
        ..ctx(V11)
    };
    let (head, _, r) = write(Response::empty(200), &c);
    assert!(!r.unwrap().keep_alive);
    assert!(head.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
}

#[test]
fn chunked_multi_read_body() {
    let reader = Pieces {
        pieces: vec![b"hello".to_vec(), vec![b'x'; 26], b"!".to_vec()],
        reads: 0,
    };
    let response = Response::new(StatusCode(200), vec![], reader, None, None);
    let mut out = CountingWriter::default();
    let written = response.write_message(&ctx(V11), &mut out).unwrap();
    assert!(written.keep_alive);
    let text = String::from_utf8(out.data).unwrap();
    let expected_body = format!(
        "5\r\nhello\r\n1a\r\n{}\r\n1\r\n!\r\n0\r\n\r\n",
        "x".repeat(26)
    );
    assert!(text.contains("\r\nTransfer-Encoding: chunked\r\n\r\n"));
    assert!(text.ends_with(&expected_body), "{text}");
    // head + first chunk together, then two chunks, then the last-chunk
    assert_eq!(out.writes, 4);
}

#[test]
fn chunked_empty_body_is_one_write() {
    let response = Response::new(StatusCode(200), vec![], io::empty(), None, None);
    let mut out = CountingWriter::default();
    response.write_message(&ctx(V11), &mut out).unwrap();
    assert_eq!(out.writes, 1);
    assert!(out
        .data
        .ends_with(b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
}

#[test]
fn threshold_switches_to_chunked() {
    let response = Response::from_data(vec![b'a'; 20]).with_chunked_threshold(20);
    let (head, body, r) = write(response, &ctx(V11));
    assert!(r.is_ok());
    assert!(head.contains("Transfer-Encoding: chunked\r\n"));
    assert!(!head.contains("Content-Length"));
    assert_eq!(
        body,
        [b"14\r\n".as_slice(), &[b'a'; 20], b"\r\n0\r\n\r\n"].concat()
    );
}

#[test]
fn truncates_at_content_length() {
    let small = Response::new(
        StatusCode(200),
        vec![],
        Cursor::new(vec![b'z'; 50]),
        Some(10),
        None,
    );
    let (head, body, r) = write(small, &ctx(V11));
    assert!(r.is_ok());
    assert!(head.contains("Content-Length: 10\r\n"));
    assert_eq!(body, vec![b'z'; 10]);

    let n = 20_000;
    let data: Vec<u8> = (0..n + 5_000).map(|i| (i % 256) as u8).collect();
    let large = Response::new(
        StatusCode(200),
        vec![],
        Cursor::new(data.clone()),
        Some(n),
        None,
    );
    let (head, body, r) = write(large, &ctx(V11));
    assert!(r.is_ok());
    assert!(head.contains("Content-Length: 20000\r\n"));
    assert_eq!(body, &data[..n]);
}

#[test]
fn large_fixed_body_streams_in_pieces() {
    let n = 200_000usize;
    let data: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
    let response = Response::from_data(data.clone()).with_chunked_threshold(usize::MAX);
    let mut out = CountingWriter::default();
    response.write_message(&ctx(V11), &mut out).unwrap();
    let split = out.data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&out.data[split..], &data[..]);
    assert_eq!(out.writes, n.div_ceil(STREAM_BUF));
}

#[test]
fn early_eof_is_an_error() {
    let small = Response::new(
        StatusCode(200),
        vec![],
        Cursor::new(b"abc".to_vec()),
        Some(10),
        None,
    );
    let (_, body, r) = write(small, &ctx(V11));
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(body, b"abc");

    let large = Response::new(
        StatusCode(200),
        vec![],
        Cursor::new(vec![1u8; 20_000]),
        Some(30_000),
        None,
    );
    let (head, body, r) = write(large, &ctx(V11));
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    assert!(head.contains("Content-Length: 30000"));
    assert_eq!(body.len(), 20_000);
}

#[test]
fn bad_header_writes_nothing() {
    let mut evil: Header = "X-Evil: fine".parse().unwrap();
    evil.value = ascii::AsciiString::from_ascii("a\r\nSet-Cookie: pwned=1").unwrap();
    let mut out = Vec::new();
    let err = Response::from_string("x")
        .with_header(evil)
        .write_message(&ctx(V11), &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(out.is_empty());

    let mut out = Vec::new();
    let err = Response::empty(1000)
        .write_message(&ctx(V11), &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(out.is_empty());
}

#[test]
fn upgrade_head() {
    let c = WriteContext {
        upgrade: Some("websocket"),
        ..ctx(V11)
    };
    let response = Response::from_string("not sent").with_status_code(101);
    let (head, body, r) = write(response, &c);
    assert!(!r.unwrap().keep_alive);
    assert_eq!(
        head,
        "HTTP/1.1 101 Switching Protocols\r\nServer: tiny-http (Rust)\r\n\
         Content-Type: text/plain; charset=UTF-8\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    );
    assert!(body.is_empty());
}

#[test]
fn header_rules() {
    let h = |s: &str| s.parse::<Header>().unwrap();
    let response = Response::from_string("x")
        .with_header(h("Connection: close"))
        .with_header(h("Transfer-Encoding: chunked"))
        .with_header(h("Trailer: X"))
        .with_header(h("Upgrade: h2c"))
        .with_header(h("Content-Length: 123"))
        .with_header(h("Content-Type: application/json"))
        .with_header(h("Set-Cookie: a=1"))
        .with_header(h("Set-Cookie: b=2"));
    assert_eq!(response.data_length(), Some(123));
    let names: Vec<String> = response.headers().iter().map(|h| h.to_string()).collect();
    assert_eq!(
        names,
        [
            "Content-Type: application/json",
            "Set-Cookie: a=1",
            "Set-Cookie: b=2"
        ]
    );
    let unparsable = Response::from_string("xy").with_header(h("Content-Length: lots"));
    assert_eq!(unparsable.data_length(), Some(2));
    assert!(unparsable
        .headers()
        .iter()
        .all(|h| !h.field.equiv("content-length")));
}

#[test]
fn user_date_and_server_are_kept() {
    let response = Response::empty(200)
        .with_header(
            "Date: Thu, 01 Jan 1970 00:00:00 GMT"
                .parse::<Header>()
                .unwrap(),
        )
        .with_header("Server: custom".parse::<Header>().unwrap());
    let mut out = Vec::new();
    response.write_message(&ctx(V11), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: custom\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn additional_headers_are_drained_at_write() {
    let (tx, rx) = std::sync::mpsc::channel();
    let response = Response::new(StatusCode(200), vec![], io::empty(), Some(0), Some(rx));
    tx.send("X-Late: yes".parse::<Header>().unwrap()).unwrap();
    tx.send("Content-Length: 0".parse::<Header>().unwrap())
        .unwrap();
    let (head, _, r) = write(response, &ctx(V11));
    assert!(r.is_ok());
    assert!(head.contains("\r\nX-Late: yes\r\n"));
    assert_eq!(head.matches("Content-Length").count(), 1);
}

#[test]
fn raw_print_derives_keep_alive() {
    let h = |s: &str| s.parse::<Header>().unwrap();
    let print = |version, headers: &[Header]| {
        let mut out = Vec::new();
        Response::empty(200)
            .raw_print(&mut out, version, headers, false, None)
            .unwrap();
        String::from_utf8(out).unwrap()
    };
    assert!(!print(V11, &[]).contains("Connection"));
    assert!(print(V11, &[h("Connection: Close")]).contains("Connection: close\r\n"));
    assert!(print(V10, &[]).contains("Connection: close\r\n"));
    assert!(print(V10, &[h("Connection: foo, Keep-Alive")]).contains("Connection: keep-alive\r\n"));
    let mut out = Vec::new();
    Response::from_string("body")
        .raw_print(&mut out, V11, &[], true, None)
        .unwrap();
    assert!(out.ends_with(b"Content-Length: 4\r\n\r\n"));
}

#[test]
fn constructors_and_getters() {
    let r = Response::empty(404);
    assert_eq!(r.status_code(), StatusCode(404));
    assert_eq!(r.chunked_threshold(), 32768);
    let cloned = r.clone();
    assert_eq!(cloned.status_code(), 404);
    #[allow(deprecated)]
    let old = Response::new_empty(StatusCode(500));
    assert_eq!(old.status_code(), 500);
    let boxed: ResponseBox = Response::from_string("abc").boxed();
    let mut reader = boxed.into_reader();
    let mut s = String::new();
    reader.read_to_string(&mut s).unwrap();
    assert_eq!(s, "abc");
    let file = Response::from_file(File::open("Cargo.toml").unwrap());
    assert_eq!(
        file.data_length(),
        Some(std::fs::metadata("Cargo.toml").unwrap().len() as usize)
    );
    assert!(format!("{:?}", Response::empty(200)).starts_with("Response {"));
    fn assert_send<T: Send>() {}
    assert_send::<ResponseBox>();
}

proptest::proptest! {
    #[test]
    fn hand_built_headers_never_split_the_head(
        name in proptest::collection::vec(0u8..128, 1..8),
        value in proptest::collection::vec(0u8..128, 0..16),
        status in proptest::num::u16::ANY,
        head_request in proptest::bool::ANY,
        len in proptest::option::of(0usize..40_000),
    ) {
        let header = Header {
            field: crate::HeaderField::from_bytes(name).unwrap(),
            value: ascii::AsciiString::from_ascii(value).unwrap(),
        };
        let body = vec![b'b'; len.unwrap_or(100)];
        let mut response = Response::new(StatusCode(status), vec![], Cursor::new(body), len, None);
        response.add_header(header);
        let c = WriteContext { head_request, ..ctx(V11) };
        let mut out = Vec::new();
        match response.write_message(&c, &mut out) {
            Err(e) => {
                proptest::prop_assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
                proptest::prop_assert!(out.is_empty());
            }
            Ok(_) => {
                let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                let head = &out[..end];
                // every line is a status line or "token: value"
                for (i, line) in head.split(|&b| b == b'\n').enumerate() {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    proptest::prop_assert!(!line.contains(&b'\r') && !line.contains(&0));
                    if i > 0 {
                        let colon = line.iter().position(|&b| b == b':').unwrap();
                        proptest::prop_assert!(crate::HeaderField::from_bytes(&line[..colon])
                            .map(|f| f.is_valid())
                            .unwrap_or(false));
                    }
                }
            }
        }
    }
}
