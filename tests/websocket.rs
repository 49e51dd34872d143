//! A real websocket client (`tungstenite`) talks to a handler that upgrades with
//! `Request::upgrade`, computing the handshake with `sha1_smol` and `base64` as the
//! `websockets` example does, and speaking RFC 6455 through tungstenite on the server side.

mod support;

use std::net::TcpStream;
use std::sync::mpsc;

use base64::Engine;
use support::{header, serve, IO_TIMEOUT, WAIT};
use tiny_http::{Request, Response};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes())
}

fn websocket_echo(rq: Request, done: mpsc::Sender<usize>) {
    let key = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("sec-websocket-key"))
        .map(|h| h.value.to_string())
        .expect("Sec-WebSocket-Key");
    let response = Response::empty(101).with_header(header(&format!(
        "Sec-WebSocket-Accept: {}",
        accept_key(&key)
    )));
    let stream = rq.upgrade("websocket", response);
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
    let mut echoed = 0;
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                ws.send(msg).unwrap();
                echoed += 1;
            }
            Ok(Message::Close(_)) => {
                // tungstenite queues the close reply; flush it out.
                let _ = ws.flush();
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    done.send(echoed).unwrap();
}

#[test]
fn tungstenite_client_echo_over_upgrade() {
    let (tx, rx) = mpsc::channel();
    let srv = serve(2, move |rq: Request| websocket_echo(rq, tx.clone()));
    let stream = TcpStream::connect(srv.addr()).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let url = format!("ws://{}/echo", srv.addr());
    let (mut ws, response) = tungstenite::client::client(url.as_str(), stream)
        .unwrap_or_else(|e| panic!("websocket handshake failed: {e}"));
    assert_eq!(response.status().as_u16(), 101);

    let big = "w".repeat(70_000); // a 64-bit length frame
    let messages = vec![
        Message::text("hello"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text("x".repeat(300)), // a 16-bit length frame
        Message::text(big),
    ];
    for msg in &messages {
        ws.send(msg.clone()).unwrap();
        assert_eq!(&ws.read().unwrap(), msg);
    }
    ws.close(None).unwrap();
    // Read until the close handshake completes.
    loop {
        match ws.read() {
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error while closing: {e}"),
        }
    }
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), messages.len());
}
