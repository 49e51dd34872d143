//! Writing a response to any `Write` (`Response::raw_print` and the generic path): the
//! framings of RFC 9112 §6 over a body reader.

use std::io::{self, Read, Write};

use super::STREAM_BUF;
use crate::proto::h1::encode::{ChunkFrame, LAST_CHUNK};

pub(super) fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "response body ended before its declared length",
    )
}

/// One `read`, retried on `Interrupted`.
pub(super) fn read_some<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Streams exactly `n` body bytes after the head in `buf` (the first read travels with the
/// head). Stops at `n` even if the reader has more; `UnexpectedEof` if it has less.
pub(super) fn write_fixed<R: Read, W: Write>(
    reader: &mut R,
    n: u64,
    mut buf: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut start = buf.len();
    buf.resize(start.saturating_add(STREAM_BUF), 0);
    let mut remaining = n;
    while remaining > 0 {
        let space = buf.len() - start;
        let want = usize::try_from(remaining).map_or(space, |r| r.min(space));
        let got = read_some(reader, &mut buf[start..start + want])?;
        if got == 0 {
            out.write_all(&buf[..start])?;
            out.flush()?;
            return Err(early_eof());
        }
        out.write_all(&buf[..start + got])?;
        remaining -= got as u64;
        start = 0;
    }
    if start > 0 {
        // n == 0 never gets here (it is always a small body), but stay correct anyway.
        out.write_all(&buf[..start])?;
    }
    Ok(())
}

/// Streams the body as one chunk per read, then the last-chunk. The head in `head` goes out
/// together with the first chunk.
pub(super) fn write_chunked<R: Read, W: Write>(
    reader: &mut R,
    mut head: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut frame = ChunkFrame::new(STREAM_BUF);
    let mut head_sent = false;
    loop {
        let got = read_some(reader, frame.data_mut())?;
        if got == 0 {
            break;
        }
        let chunk = frame.frame(got);
        if head_sent {
            out.write_all(chunk)?;
        } else {
            head.extend_from_slice(chunk);
            out.write_all(&head)?;
            head_sent = true;
        }
    }
    if head_sent {
        out.write_all(LAST_CHUNK)
    } else {
        head.extend_from_slice(LAST_CHUNK);
        out.write_all(&head)
    }
}

/// Streams raw reads until EOF (close-delimited body); the first read travels with the head.
pub(super) fn write_until_eof<R: Read, W: Write>(
    reader: &mut R,
    mut buf: Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    let mut start = buf.len();
    buf.resize(start.saturating_add(STREAM_BUF), 0);
    loop {
        let got = read_some(reader, &mut buf[start..])?;
        if got == 0 {
            if start > 0 {
                out.write_all(&buf[..start])?;
            }
            return Ok(());
        }
        out.write_all(&buf[..start + got])?;
        start = 0;
    }
}
