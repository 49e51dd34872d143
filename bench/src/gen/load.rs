//! Closed-loop load on one thread with mio: `conns` connections, each sending `depth`
//! pipelined `GET`s and waiting for all the responses before sending the next batch. With
//! `close`, each connection carries one request with `Connection: close` and is replaced by a
//! new one after the server closes it (S3); otherwise connections are kept alive (S1, S2 when
//! wrk is missing).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

#[derive(Debug, Clone)]
pub struct LoadOpts {
    pub addr: SocketAddr,
    pub conns: usize,
    pub depth: usize,
    pub close: bool,
    pub duration: Duration,
}

#[derive(Debug, Default)]
pub struct LoadResult {
    /// Responses with a 2xx status.
    pub ok: u64,
    /// Other statuses, resets, connects that failed, connections closed early.
    pub errors: u64,
    /// Per batch (per request when depth is 1), in microseconds.
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
}

struct Conn {
    stream: TcpStream,
    connected: bool,
    written: usize,
    outstanding: usize,
    inbuf: Vec<u8>,
    started: Instant,
    /// All responses are in; waiting for the server's FIN (close mode).
    awaiting_eof: bool,
}

enum Outcome {
    Keep,
    /// Drop this connection and open a new one in its slot.
    Replace {
        failed: bool,
    },
}

pub fn run(opts: &LoadOpts) -> io::Result<LoadResult> {
    let request: &[u8] = if opts.close {
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    } else {
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    };
    let batch = request.repeat(opts.depth.max(1));
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::with_capacity(opts.conns);
    let mut result = LoadResult::default();
    let started = Instant::now();
    let deadline = started + opts.duration;
    let mut scratch = vec![0u8; 64 * 1024];

    for slot in 0..opts.conns {
        conns.push(None);
        open(&poll, &mut conns, slot, opts, &mut result);
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let timeout = (deadline - now).min(Duration::from_millis(100));
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let outcome = drive(conn, &batch, opts, &mut scratch, &mut result);
            if let Outcome::Replace { failed } = outcome {
                if failed {
                    result.errors += 1;
                }
                if let Some(mut old) = conns[slot].take() {
                    let _ = poll.registry().deregister(&mut old.stream);
                }
                if Instant::now() < deadline {
                    open(&poll, &mut conns, slot, opts, &mut result);
                }
            }
        }
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

fn open(
    poll: &Poll,
    conns: &mut [Option<Conn>],
    slot: usize,
    opts: &LoadOpts,
    result: &mut LoadResult,
) {
    let opened = TcpStream::connect(opts.addr).and_then(|mut stream| {
        poll.registry().register(
            &mut stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(stream)
    });
    match opened {
        Ok(stream) => {
            conns[slot] = Some(Conn {
                stream,
                connected: false,
                written: 0,
                outstanding: opts.depth.max(1),
                inbuf: Vec::with_capacity(4096),
                started: Instant::now(),
                awaiting_eof: false,
            });
        }
        Err(_) => result.errors += 1,
    }
}

fn drive(
    conn: &mut Conn,
    batch: &[u8],
    opts: &LoadOpts,
    scratch: &mut [u8],
    result: &mut LoadResult,
) -> Outcome {
    if !conn.connected {
        if let Ok(Some(_)) | Err(_) = conn.stream.take_error() {
            return Outcome::Replace { failed: true };
        }
        match conn.stream.peer_addr() {
            Ok(_) => {
                conn.connected = true;
                let _ = conn.stream.set_nodelay(true);
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Outcome::Keep,
            Err(_) => return Outcome::Replace { failed: true },
        }
    }
    loop {
        // Write what is left of the current batch.
        while conn.written < batch.len() {
            match conn.stream.write(&batch[conn.written..]) {
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Replace { failed: true },
            }
        }
        // Read until WouldBlock.
        let mut eof = false;
        loop {
            match conn.stream.read(scratch) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => conn.inbuf.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Replace { failed: true },
            }
        }
        let mut consumed = 0;
        while conn.outstanding > 0 {
            match parse_one(&conn.inbuf[consumed..]) {
                Ok(Some((len, status))) => {
                    consumed += len;
                    conn.outstanding -= 1;
                    if (200..300).contains(&status) {
                        result.ok += 1;
                    } else {
                        result.errors += 1;
                    }
                }
                Ok(None) => break,
                Err(()) => return Outcome::Replace { failed: true },
            }
        }
        conn.inbuf.drain(..consumed);
        if conn.outstanding == 0 && !conn.awaiting_eof {
            let micros = conn.started.elapsed().as_micros();
            result
                .latencies_us
                .push(micros.min(u32::MAX as u128) as u32);
            if opts.close {
                conn.awaiting_eof = true;
            } else {
                // Next batch, written right away (edge-triggered: no event would tell us).
                conn.written = 0;
                conn.outstanding = opts.depth.max(1);
                conn.started = Instant::now();
                if !eof {
                    continue;
                }
            }
        }
        if eof {
            // Closing after all responses is what close mode expects; anything else failed.
            return Outcome::Replace {
                failed: !(conn.awaiting_eof && conn.outstanding == 0),
            };
        }
        return Outcome::Keep;
    }
}

/// One complete response at the start of `buf`: `(length, status)`; `None` when incomplete.
fn parse_one(buf: &[u8]) -> Result<Option<(usize, u16)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let status = response.code.unwrap_or(0);
    let mut length = 0usize;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or(())?;
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // The hello route is never chunked; a chunked answer here is a harness bug.
            return Err(());
        }
    }
    if buf.len() - head < length {
        return Ok(None);
    }
    Ok(Some((head + length, status)))
}
