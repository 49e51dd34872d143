//! Slow peers cost no handler (DESIGN property 2): a client that reads its response slowly
//! or sends a small body slowly keeps a connection's buffers busy, not a thread. With only
//! two handler threads, sixteen such clients at once leave fresh requests answered at once.
//!
//! "Slow" here means "not reading / not sending during the check": the clients have a tiny
//! receive window, so nothing large fits in the kernel's buffers; they finish afterwards and
//! every byte is checked.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;

use support::{serve_with, Client, Pattern, WAIT};
use tiny_http::{Request, Response, ServerBuilder};

const SLOW: usize = 16;
const WORKERS: usize = 2;

/// A client with a tiny receive window that sends `request` and reads nothing yet.
fn stalled_reader(addr: SocketAddr, request: &str) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    let mut stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request.as_bytes()).expect("send request");
    stream
}

/// Reads one response with a `Content-Length` body to its end and returns the body.
fn read_length_delimited(stream: TcpStream) -> Vec<u8> {
    let mut c = Client::new(stream);
    let r = c.read_response().expect("the whole response");
    assert_eq!(r.status(), 200);
    r.body
}

/// A fresh request on a fresh connection is answered within `WAIT`.
/// Every one of the `SLOW` handlers returned from `respond` (with `Ok`) although its client
/// reads nothing, and 20 fresh requests are answered meanwhile.
fn handlers_returned_then_fresh_answered(returned: &mpsc::Receiver<bool>, addr: SocketAddr) {
    for i in 0..SLOW {
        let ok = returned
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("respond() {i} still waits on a client that does not read"));
        assert!(ok, "respond() {i} failed");
    }
    for i in 0..20 {
        fresh_request_answered(addr, i);
    }
}

fn fresh_request_answered(addr: SocketAddr, i: usize) {
    let mut c = Client::connect(addr);
    c.send(format!("GET /fresh/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    let r = c
        .read_response()
        .unwrap_or_else(|e| panic!("fresh request {i} not answered: {e}"));
    assert_eq!((r.status(), r.body_str()), (200, &*format!("/fresh/{i} 0")));
}

fn answer_fresh(mut rq: Request) {
    let mut body = Vec::new();
    let _ = rq.as_reader().read_to_end(&mut body);
    let text = format!("{} {}", rq.url(), body.len());
    let _ = rq.respond(Response::from_string(text));
}

#[test]
fn slow_readers_of_owned_bodies_hold_no_handler() {
    const LEN: usize = 4 << 20;
    let path = std::env::temp_dir().join(format!("tiny_http-slow-peers-{}", std::process::id()));
    let mut data = vec![0u8; LEN];
    Pattern::new().fill(0, &mut data);
    std::fs::write(&path, &data).expect("write the test file");

    let (returned_tx, returned) = mpsc::channel();
    let file_path = path.clone();
    let srv = serve_with(ServerBuilder::new(), WORKERS, move |rq: Request| {
        let result = match rq.url() {
            "/data" => {
                let mut data = vec![0u8; LEN];
                Pattern::new().fill(0, &mut data);
                rq.respond(Response::from_data(data))
            }
            "/file" => {
                let file = std::fs::File::open(&file_path).expect("open the test file");
                rq.respond(Response::from_file(file))
            }
            _ => {
                answer_fresh(rq);
                return;
            }
        };
        returned_tx.send(result.is_ok()).unwrap();
    });
    let addr = srv.addr();
    let slow: Vec<TcpStream> = (0..SLOW)
        .map(|i| {
            let path = if i % 2 == 0 { "/data" } else { "/file" };
            stalled_reader(addr, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"))
        })
        .collect();
    // Every handler returned from respond() although no client has read its response.
    handlers_returned_then_fresh_answered(&returned, addr);
    // The slow clients get every byte once they read.
    let readers: Vec<_> = slow
        .into_iter()
        .map(|s| std::thread::spawn(move || read_length_delimited(s)))
        .collect();
    for r in readers {
        let body = r.join().expect("reader");
        assert_eq!(body.len(), LEN);
        assert!(Pattern::new().matches(0, &body));
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_streamed_body_that_fits_the_output_buffer_holds_no_handler() {
    const LEN: u64 = 128 * 1024;
    let (returned_tx, returned) = mpsc::channel();
    let builder = ServerBuilder::new().output_buffer(256 * 1024);
    let srv = serve_with(builder, WORKERS, move |rq: Request| {
        if rq.url() != "/stream" {
            answer_fresh(rq);
            return;
        }
        // A reader of unknown length (chunked on the wire).
        let body = support::PatternReader::new(LEN);
        let r = rq.respond(Response::new(200.into(), vec![], body, None, None));
        returned_tx.send(r.is_ok()).unwrap();
    });
    let addr = srv.addr();
    let slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| stalled_reader(addr, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    handlers_returned_then_fresh_answered(&returned, addr);
    for s in slow {
        let mut c = Client::new(s);
        let r = c.read_response().expect("the whole streamed response");
        assert_eq!(r.body.len() as u64, LEN);
        assert!(Pattern::new().matches(0, &r.body));
    }
}

#[test]
fn slow_senders_of_small_bodies_hold_no_handler() {
    const BODY: usize = 8 * 1024;
    let srv = serve_with(ServerBuilder::new(), WORKERS, answer_fresh);
    let addr = srv.addr();
    // Each sends its head and half of its body, then stalls.
    let mut slow: Vec<Client> = (0..SLOW)
        .map(|i| {
            let mut c = Client::connect(addr);
            c.send(format!(
                "POST /upload/{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n"
            ));
            c.send(vec![b'u'; BODY / 2]);
            c
        })
        .collect();
    // No handler is waiting for those bodies: fresh requests are answered.
    for i in 0..20 {
        fresh_request_answered(addr, i);
    }
    for (i, c) in slow.iter_mut().enumerate() {
        c.send(vec![b'u'; BODY / 2]);
        let r = c.read_response().expect("the upload's response");
        assert_eq!(
            (r.status(), r.body_str()),
            (200, &*format!("/upload/{i} {BODY}"))
        );
    }
    // Nothing was lost or mixed up: the connections still work.
    for c in slow.iter_mut() {
        c.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.read_response().expect("again").status(), 200);
    }
}

/// A chunked body's length is unknown, so the event loop does not wait for its end: a
/// request whose chunked body trickles in is handed out at once with what has arrived, and
/// its handler may answer before the body ends (as upstream tiny_http allows).
#[test]
fn a_trickling_chunked_body_is_handed_out_at_once() {
    let (seen_tx, seen) = mpsc::channel();
    let srv = serve_with(ServerBuilder::new(), WORKERS, move |rq: Request| {
        seen_tx.send(rq.url().to_owned()).unwrap();
        let _ = rq.respond(Response::empty(400));
    });
    let mut c = Client::connect(srv.addr());
    c.send("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    assert_eq!(
        seen.recv_timeout(WAIT)
            .expect("the request is handed out before its body ends"),
        "/chunked"
    );
    let r = c.read_response().expect("answered before the body ends");
    assert_eq!(r.status(), 400);
}
