//! `floor`: the cheapest server that can pass S1/S2, to show what the kernel alone costs.
//!
//! One thread, one mio poll, edge-triggered; every complete head (`\r\n\r\n`) gets the same
//! canned `Hello, World!` response, with all responses to one read written in one `write`.
//! No parsing, no routing, no bodies, no `Date` refresh: it is not an HTTP server, it is the
//! lower bound on server CPU per keep-alive request that any real server is compared with
//! (issue 5 names "a minimal canned-response mio loop"). Only `--servers ...,floor` runs it.
//!
//! `floorb` (batched) holds the writes until every event of a poll has been read, then writes
//! them back to back: fewer wake-ups of the client, at the price of latency.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: floor\r\nDate: Wed, 25 Nov 2026 00:00:00 GMT\r\n\
Content-Type: text/plain; charset=UTF-8\r\nContent-Length: 13\r\n\r\nHello, World!";

struct Conn {
    stream: TcpStream,
    /// Bytes of an unfinished head carried over to the next read.
    partial: Vec<u8>,
    /// Responses the socket did not take yet.
    unsent: Vec<u8>,
}

pub fn serve(port: u16, batched: bool) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    super::servers::announce(listener.local_addr()?.port());
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 16 * 1024];
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut due: Vec<usize> = Vec::new();
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let token = Token(next);
                    next += 1;
                    poll.registry().register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let conn = Conn {
                        stream,
                        partial: Vec::new(),
                        unsent: Vec::new(),
                    };
                    conns.insert(token.0, conn);
                }
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(&key) else {
                continue;
            };
            if !drive(conn, &mut buf, &mut out, batched) {
                if let Some(mut conn) = conns.remove(&key) {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            } else if batched && !conn.unsent.is_empty() {
                due.push(key);
            }
        }
        // Batched: every response of this poll's batch leaves back to back, after all reads.
        for key in due.drain(..) {
            let ok = conns.get_mut(&key).is_none_or(flush);
            if !ok {
                if let Some(mut conn) = conns.remove(&key) {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
    }
}

/// Reads what is there, answers every complete head, writes; false when the connection ends.
fn drive(conn: &mut Conn, buf: &mut [u8], out: &mut Vec<u8>, batched: bool) -> bool {
    if !flush(conn) {
        return false;
    }
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        conn.partial.extend_from_slice(&buf[..n]);
        out.clear();
        let mut start = 0;
        while let Some(end) = find_head_end(&conn.partial[start..]) {
            out.extend_from_slice(RESPONSE);
            start += end;
        }
        conn.partial.drain(..start);
        if !out.is_empty() {
            if conn.unsent.is_empty() && !batched {
                match conn.stream.write(out) {
                    Ok(written) => conn.unsent.extend_from_slice(&out[written..]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        conn.unsent.extend_from_slice(out)
                    }
                    Err(_) => return false,
                }
            } else {
                conn.unsent.extend_from_slice(out);
            }
        }
        // A short read drained the socket: edge-triggered readiness fires again on new data.
        if n < buf.len() {
            return true;
        }
    }
}

fn flush(conn: &mut Conn) -> bool {
    while !conn.unsent.is_empty() {
        match conn.stream.write(&conn.unsent) {
            Ok(0) => return false,
            Ok(n) => {
                conn.unsent.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Length up to and including the first `\r\n\r\n`.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}
