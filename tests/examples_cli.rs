//! The examples behave as a newcomer expects: `--help` prints usage and exits 0, a bad
//! argument or a taken port gives one clear line and a non-zero exit (never a panic), and
//! the address an example prints is the one it really serves.
//!
//! The example binaries are the ones `cargo test` builds next to this test
//! (`target/<profile>/examples/`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples_cli-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples before running tests",
        path.display()
    );
    path
}

/// Runs an example to completion with a time limit.
fn run(name: &str, args: &[&str]) -> Output {
    let mut child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} {args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const EXAMPLES: &[&str] = &["hello-world", "readme-example", "serve-root", "websockets"];

#[test]
fn help_prints_usage_and_exits_zero() {
    for name in EXAMPLES {
        for flag in ["--help", "-h"] {
            let out = run(name, &[flag]);
            assert_eq!(out.status.code(), Some(0), "{name} {flag}: {out:?}");
            let stdout = text(&out.stdout);
            assert!(stdout.starts_with("usage: "), "{name} {flag}: {stdout}");
            assert!(stdout.contains("--port"), "{name} {flag}: {stdout}");
        }
    }
}

#[test]
fn bad_arguments_give_one_line_and_exit_two() {
    for name in EXAMPLES {
        for args in [
            &["--bogus"][..],
            &["--port", "eighty"],
            &["--bind", "nowhere"],
            &["--port"],
        ] {
            let out = run(name, args);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {out:?}");
            let stderr = text(&out.stderr);
            assert_eq!(stderr.lines().count(), 1, "{name} {args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{name} {args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
        }
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port().to_string();
    for name in EXAMPLES {
        let out = run(name, &["--port", &port]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn serve_root_refuses_a_missing_directory() {
    let out = run("serve-root", &["/this/directory/does/not/exist"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).starts_with("error: not a directory"));
}

/// Kills the child when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an example on a free port; returns it (killed on drop), the line it printed and
/// the authority (`127.0.0.1:port`) of the URL in that line.
fn start(name: &str) -> (Running, String, String) {
    let mut child = Running(
        Command::new(example(name))
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep draining: an example printing to a closed pipe would fail its requests.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the example prints its address");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(authority.starts_with("127.0.0.1:"), "{line}");
    (child, line, authority)
}

/// Connects to `authority` with a read timeout.
fn connect(authority: &str) -> TcpStream {
    let stream = TcpStream::connect(authority).expect("connect to the printed address");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Starts an example on a free port, reads the URL it prints and fetches `path` from it.
fn fetch_from_printed_url(name: &str, path: &str) -> (String, String) {
    let (_child, line, authority) = start(name);
    let mut stream = connect(&authority);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    (line, response)
}

#[test]
fn examples_serve_on_the_address_they_print() {
    let (_, response) = fetch_from_printed_url("hello-world", "/");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello world"), "{response}");

    let (_, response) = fetch_from_printed_url("readme-example", "/hello");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("You asked for /hello with a 0 byte body\n"),
        "{response}"
    );

    let (_, response) = fetch_from_printed_url("serve-root", "/Cargo.toml");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("name = \"tiny_http\""), "{response}");

    let (_, response) = fetch_from_printed_url("websockets", "/");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("new WebSocket("), "{response}");
}

/// The websockets example completes RFC 6455's own handshake example (§1.3: the key
/// `dGhlIHNhbXBsZSBub25jZQ==` is answered `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`) and echoes a frame.
#[test]
fn websockets_example_handshakes_and_echoes() {
    let (_child, _, authority) = start("websockets");
    let mut stream = connect(&authority);
    write!(
        stream,
        "GET /ws HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 4096, "no end of head in {head:?}");
        stream.read_exact(&mut byte).expect("read the handshake");
        head.push(byte[0]);
    }
    let head = text(&head);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );

    // A masked text frame "hi"; the echo comes back unmasked.
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2];
    frame.extend_from_slice(&mask);
    frame.extend(b"hi".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    stream.write_all(&frame).unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).expect("read the echo");
    assert_eq!(echo, [0x81, 2, b'h', b'i']);
}
