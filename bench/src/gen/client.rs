//! A minimal blocking HTTP/1.1 client for the generator's scenarios: every call is bounded by
//! socket timeouts, and responses are framed by Content-Length, chunked encoding or EOF.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A connection with a read buffer.
#[derive(Debug)]
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// What a response was: its status and how many body bytes it had (the body itself is kept
/// only when asked for).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body_len: u64,
    pub body: Vec<u8>,
}

fn other(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

impl Client {
    /// Connects with `timeout`, which also bounds every later read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        Client::from_stream(stream, timeout)
    }

    pub fn from_stream(stream: TcpStream, timeout: Duration) -> io::Result<Client> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: vec![0; 256 * 1024],
            start: 0,
            end: 0,
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads more bytes into the buffer; `UnexpectedEof` when the peer closed.
    fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(other("response head too large"));
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.end += n;
        Ok(())
    }

    /// Reads one line (without CRLF) for chunk sizes and trailers.
    fn line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(i) = window.windows(2).position(|w| w == b"\r\n") {
                let line = window[..i].to_vec();
                self.start += i + 2;
                return Ok(line);
            }
            self.fill()?;
        }
    }

    /// Consumes `n` body bytes, keeping them when `keep`.
    fn take(&mut self, mut n: u64, keep: Option<&mut Vec<u8>>) -> io::Result<()> {
        let mut keep = keep;
        while n > 0 {
            if self.start == self.end {
                self.fill()?;
            }
            let available = ((self.end - self.start) as u64).min(n) as usize;
            if let Some(out) = keep.as_deref_mut() {
                out.extend_from_slice(&self.buf[self.start..self.start + available]);
            }
            self.start += available;
            n -= available as u64;
        }
        Ok(())
    }

    /// Reads one response; the body is kept when `keep_body`.
    pub fn read_reply(&mut self, keep_body: bool) -> io::Result<Reply> {
        let (status, head_len, framing) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf[self.start..self.end]) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or(0);
                    break (status, len, Framing::of(status, response.headers));
                }
                Ok(httparse::Status::Partial) => self.fill()?,
                Err(e) => return Err(other(&format!("bad response head: {e}"))),
            }
        };
        self.start += head_len;
        let mut body = Vec::new();
        let mut body_len = 0u64;
        match framing {
            Framing::Length(n) => {
                self.take(n, keep(keep_body, &mut body))?;
                body_len = n;
            }
            Framing::Chunked => loop {
                let line = self.line()?;
                let digits = line.split(|&b| b == b';').next().unwrap_or(&[]);
                let text = std::str::from_utf8(digits).map_err(|_| other("chunk size"))?;
                let size = u64::from_str_radix(text.trim(), 16).map_err(|_| other("chunk size"))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                self.take(size, keep(keep_body, &mut body))?;
                body_len += size;
                if !self.line()?.is_empty() {
                    return Err(other("chunk not followed by CRLF"));
                }
            },
            Framing::UntilEof => loop {
                body_len += (self.end - self.start) as u64;
                if keep_body {
                    body.extend_from_slice(&self.buf[self.start..self.end]);
                }
                self.start = self.end;
                match self.fill() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            },
        }
        Ok(Reply {
            status,
            body_len,
            body,
        })
    }
}

fn keep(keep_body: bool, body: &mut Vec<u8>) -> Option<&mut Vec<u8>> {
    keep_body.then_some(body)
}

enum Framing {
    Length(u64),
    Chunked,
    UntilEof,
}

impl Framing {
    fn of(status: u16, headers: &[httparse::Header<'_>]) -> Framing {
        if status == 204 || status == 304 || (100..200).contains(&status) {
            return Framing::Length(0);
        }
        let mut framing = Framing::UntilEof;
        for header in headers {
            if header.name.eq_ignore_ascii_case("transfer-encoding") {
                return Framing::Chunked;
            }
            if header.name.eq_ignore_ascii_case("content-length") {
                if let Some(n) = std::str::from_utf8(header.value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                {
                    framing = Framing::Length(n);
                }
            }
        }
        framing
    }
}

/// One `GET /` on a new connection (`Connection: close`), its latency when it succeeded
/// with a 200 within `timeout` per step.
pub fn fresh_get(addr: SocketAddr, timeout: Duration) -> io::Result<Duration> {
    let started = Instant::now();
    let mut client = Client::connect(addr, timeout)?;
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let reply = client.read_reply(false)?;
    if reply.status != 200 {
        return Err(other(&format!("status {}", reply.status)));
    }
    Ok(started.elapsed())
}
