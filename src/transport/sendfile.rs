//! `sendfile(2)` on Linux: a file body goes from the page cache to the socket without a copy
//! through user space (socket2's safe wrapper; std offers no file-to-socket zero-copy).
//!
//! ```text
//!   send(socket, file, offset, max) ─► sendfile(socket, file, &offset, max)
//!                                        ├─ n > 0     ─► n bytes sent from `offset`
//!                                        ├─ EAGAIN    ─► WouldBlock: wait for writability
//!                                        └─ EINVAL... ─► this file cannot take the path: the
//!                                                       caller copies through memory
//! ```
//!
//! # Invariants
//! - What `send` reports sent is exactly what the socket took, read from the file at the
//!   offset given (the file's own position is not used nor moved).

use std::fs::File;
use std::io;
use std::num::NonZeroUsize;

use super::socket::Socket;

/// Whether `file` can go out with `sendfile(2)`: a regular file (the page cache backs it).
/// Pipes and devices are copied through memory; a regular file whose filesystem refuses the
/// call (`EINVAL` on the first attempt, nothing sent) is too (see `send`).
pub(crate) fn probe(file: &File) -> bool {
    file.metadata().is_ok_and(|m| m.is_file())
}

/// Sends up to `max` bytes of `file` from `offset`: `Ok(0)` at the end of the file,
/// `WouldBlock` when the socket took nothing. `None` when the system refuses the call for
/// this file or socket (nothing was sent): the caller copies through memory.
pub(crate) fn send(socket: &Socket, file: &File, offset: u64, max: u64) -> Option<io::Result<u64>> {
    // At most 1 GiB per call (Linux's own limit is just below 2 GiB).
    let count = usize::try_from(max.min(1 << 30)).unwrap_or(1 << 30);
    let (Some(count), Ok(offset)) = (NonZeroUsize::new(count), usize::try_from(offset)) else {
        return Some(Ok(0));
    };
    match socket.sock_ref().sendfile(file, offset, Some(count)) {
        Ok(n) => Some(Ok(n as u64)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => None,
        Err(e) => Some(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    fn temp_file(name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
        let mut path = std::env::temp_dir();
        path.push(format!("tiny-http-sendfile-{name}-{}", std::process::id()));
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        (path, data)
    }

    #[test]
    fn sends_from_the_offset_given() {
        let (path, data) = temp_file("offset", 10_000);
        let file = File::open(&path).unwrap();
        assert!(probe(&file));
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let socket = Socket::Unix(a);
        let sent = send(&socket, &file, 3, 4).unwrap().unwrap();
        assert_eq!(sent, 4);
        let mut got = [0u8; 4];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, &data[3..7]);
        assert_eq!(
            send(&socket, &file, 10_000, 4).unwrap().unwrap(),
            0,
            "end of file"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_full_socket_reports_would_block_and_loses_nothing() {
        let (path, data) = temp_file("full", 1 << 20);
        let file = File::open(&path).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let socket = Socket::Unix(a);
        let mut sent = 0u64;
        loop {
            match send(&socket, &file, sent, (1 << 20) - sent).unwrap() {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            sent > 0 && sent < 1 << 20,
            "the pair's buffer is smaller: {sent}"
        );
        drop(socket);
        let mut received = Vec::new();
        b.read_to_end(&mut received).unwrap();
        assert_eq!(
            received,
            &data[..sent as usize],
            "every byte reported sent arrived"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn devices_are_copied_instead() {
        let file = File::open("/dev/null").unwrap();
        assert!(!probe(&file));
    }
}
