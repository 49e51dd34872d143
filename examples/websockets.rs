//! A websocket echo server built on `Request::upgrade`.
//!
//! Run with `cargo run --example websockets` and open the address it prints in a browser
//! (`http://127.0.0.1:9966/` by default; `--port` and `--bind` change it): the page opens a
//! websocket to `/ws` and shows what comes back.
//!
//! The handshake uses `sha1_smol` and `base64`; the frame codec below is deliberately minimal
//! (RFC 6455 §5: masking, 7/16/64-bit lengths, fragmentation, ping/pong, close).

#[path = "support/cli.rs"]
mod cli;

use std::io;
use std::sync::Arc;
use std::thread;

use base64::Engine;
use tiny_http::{Header, ReadWrite, Request, Response, Server};

/// RFC 6455 §1.3: appended to the client's key before hashing.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest message this example accepts.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>tiny_http websocket echo</title></head>
<body>
<h1>Websocket echo</h1>
<form id="form"><input id="msg" autofocus placeholder="say something"> <button>Send</button></form>
<pre id="log"></pre>
<script>
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
const socket = new WebSocket(`ws://${location.host}/ws`, "echo");
socket.onopen = () => log("connected");
socket.onmessage = (event) => log("< " + event.data);
socket.onclose = (event) => log("closed (" + event.code + ")");
document.getElementById("form").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("msg");
  socket.send(input.value);
  log("> " + input.value);
  input.value = "";
};
</script>
</body>
</html>
"#;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.trim().as_bytes());
    sha1.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes())
}

fn header_value<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn has_token(request: &Request, name: &'static str, token: &str) -> bool {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv(name))
        .flat_map(|h| h.value.as_str().split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// One decoded frame.
struct Frame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

fn read_frame(stream: &mut dyn ReadWrite) -> io::Result<Frame> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let fin = head[0] & 0x80 != 0;
    if head[0] & 0x70 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "reserved bits set",
        ));
    }
    let opcode = head[0] & 0x0f;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    if len > MAX_MESSAGE as u64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    if !masked {
        // RFC 6455 §5.1: a client must mask every frame it sends.
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unmasked client frame",
        ));
    }
    let mut mask = [0u8; 4];
    stream.read_exact(&mut mask)?;
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    Ok(Frame {
        fin,
        opcode,
        payload,
    })
}

/// Writes one unmasked, unfragmented frame (servers never mask).
fn write_frame(stream: &mut dyn ReadWrite, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Echoes messages until the client closes or breaks the protocol.
fn echo_session(mut stream: Box<dyn ReadWrite + Send>) -> io::Result<()> {
    let mut message: Vec<u8> = Vec::new();
    let mut message_opcode = 0u8;
    loop {
        let frame = read_frame(&mut *stream)?;
        match frame.opcode {
            // Continuation, text, binary.
            0x0..=0x2 => {
                if frame.opcode != 0 {
                    message_opcode = frame.opcode;
                    message.clear();
                }
                if message.len() + frame.payload.len() > MAX_MESSAGE {
                    write_frame(&mut *stream, 0x8, &1009u16.to_be_bytes())?;
                    return Ok(());
                }
                message.extend_from_slice(&frame.payload);
                if frame.fin {
                    if message_opcode == 0x1 && std::str::from_utf8(&message).is_err() {
                        write_frame(&mut *stream, 0x8, &1007u16.to_be_bytes())?;
                        return Ok(());
                    }
                    write_frame(&mut *stream, message_opcode, &message)?;
                    message.clear();
                }
            }
            // Close: answer with the same status code, then stop.
            0x8 => {
                let code = frame.payload.get(..2).unwrap_or(&[]);
                write_frame(&mut *stream, 0x8, code)?;
                return Ok(());
            }
            // Ping: pong with the same payload.
            0x9 => write_frame(&mut *stream, 0xA, &frame.payload)?,
            // Pong: nothing to do.
            0xA => {}
            _ => {
                write_frame(&mut *stream, 0x8, &1002u16.to_be_bytes())?;
                return Ok(());
            }
        }
    }
}

fn handle(request: Request) {
    match request.url() {
        "/" => {
            let page = Response::from_string(PAGE).with_header(
                Header::from_bytes("Content-Type", "text/html; charset=utf-8").unwrap(),
            );
            let _ = request.respond(page);
        }
        "/ws" => {
            let key = match header_value(&request, "Sec-WebSocket-Key") {
                Some(key) if has_token(&request, "Upgrade", "websocket") => key.to_string(),
                _ => {
                    let _ = request.respond(
                        Response::from_string("this is a websocket endpoint\n")
                            .with_status_code(400),
                    );
                    return;
                }
            };
            let mut response = Response::empty(101)
                .with_header(Header::from_bytes("Sec-WebSocket-Accept", accept_key(&key)).unwrap());
            if let Some(protocols) = header_value(&request, "Sec-WebSocket-Protocol") {
                if protocols.split(',').any(|p| p.trim() == "echo") {
                    response
                        .add_header(Header::from_bytes("Sec-WebSocket-Protocol", "echo").unwrap());
                }
            }
            let stream = request.upgrade("websocket", response);
            // A websocket is a long conversation: it gets its own thread, while the
            // server's workers go back to answering HTTP requests.
            thread::spawn(move || {
                if let Err(e) = echo_session(stream) {
                    if e.kind() != io::ErrorKind::UnexpectedEof {
                        eprintln!("websocket session ended: {e}");
                    }
                }
            });
        }
        _ => {
            let _ = request.respond(Response::from_string("not found\n").with_status_code(404));
        }
    }
}

const USAGE: &str = "usage: websockets [--port PORT] [--bind ADDR]

A websocket echo server: open the printed address in a browser.

  --port PORT   port to listen on (default 9966; 0 picks a free one)
  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help    print this help";

fn main() {
    let options = cli::parse(USAGE, 9966, &[], 0);
    cli::init_logging();
    let server = match Server::http(options.addr) {
        Ok(server) => Arc::new(server),
        Err(e) => cli::die(format_args!("cannot listen on {}", options.addr), e),
    };
    println!("Websocket echo on {}", cli::url(&server.server_addr()));

    let workers: Vec<_> = (0..2)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(request);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            super::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
