//! Bytes to and from the network: sockets ([`socket`]), `sendfile(2)` on Linux
//! ([`sendfile`]), and TLS as a transform over a socket ([`tls`]).
//!
//! ```text
//!   runtime ──plaintext──► Stream::read / write (TLS session when there is one) ──► Socket
//! ```
//!
//! Nothing here knows HTTP, the server's configuration types or the event loop; everything
//! is non-blocking (`WouldBlock` means "wait for readiness", which is the runtime's business).

use std::io::{self, IoSlice};

pub(crate) mod socket;

#[cfg(all(target_os = "linux", not(tiny_http_portable)))]
pub(crate) mod sendfile;

#[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
pub(crate) mod tls;

pub(crate) use socket::{ListenSocket, Socket};

#[cfg(any(feature = "ssl-rustls", feature = "ssl-openssl"))]
pub(crate) use tls::{Session as TlsSession, TlsConfig};

/// Without a TLS feature there are no TLS sessions: this type has no values, so the code
/// that handles one compiles away.
#[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
#[derive(Debug)]
pub(crate) enum TlsSession {}

/// Without a TLS feature there is no TLS configuration (see [`TlsSession`]).
#[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
#[derive(Debug, Clone)]
pub(crate) enum TlsConfig {}

#[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
impl TlsConfig {
    pub(crate) fn session(&self) -> io::Result<TlsSession> {
        match *self {}
    }
}

#[cfg(not(any(feature = "ssl-rustls", feature = "ssl-openssl")))]
impl TlsSession {
    pub(crate) fn is_handshaking(&self) -> bool {
        match *self {}
    }
    pub(crate) fn read(&mut self, _: &Socket, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn write(&mut self, _: &Socket, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn flush(&mut self, _: &Socket) -> io::Result<bool> {
        match *self {}
    }
    pub(crate) fn close(&mut self, _: &Socket) {
        match *self {}
    }
}

/// A connection's byte stream: the socket, through a TLS session when there is one.
/// (Borrowed for one operation from the connection, which owns both.)
#[derive(Debug)]
pub(crate) struct Stream<'a> {
    pub(crate) socket: &'a Socket,
    pub(crate) tls: Option<&'a mut TlsSession>,
}

impl Stream<'_> {
    /// Reads plaintext; `Ok(0)` at the end of the stream, `WouldBlock` when nothing is there.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.tls {
            None => retry_interrupted(|| self.socket.read(buf)),
            Some(tls) => tls.read(self.socket, buf),
        }
    }

    /// Writes plaintext from several buffers; returns how much was accepted (`WouldBlock`
    /// when nothing was). Over TLS, accepted bytes may wait in the session: see `flush`.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.tls {
            None => retry_interrupted(|| self.socket.write_vectored(bufs)),
            Some(tls) => {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]);
                tls.write(self.socket, first)
            }
        }
    }

    /// Pushes bytes a TLS session still holds; `Ok(true)` when nothing is pending.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        match &mut self.tls {
            None => Ok(true),
            Some(tls) => tls.flush(self.socket),
        }
    }

    /// Whether `file` can go out without copying through memory: no TLS, and `sendfile(2)`
    /// available for it (Linux fast path only).
    pub(crate) fn can_send_file(&self, file: &std::fs::File) -> bool {
        #[cfg(all(target_os = "linux", not(tiny_http_portable)))]
        {
            self.tls.is_none() && sendfile::probe(file)
        }
        #[cfg(not(all(target_os = "linux", not(tiny_http_portable))))]
        {
            let _ = file;
            false
        }
    }
}

fn retry_interrupted(mut op: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}
