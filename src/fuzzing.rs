//! Thin wrappers over the crate-private protocol core, for the fuzz targets in `fuzz/` and the
//! corpus replay test. Only compiled with the `fuzzing` feature; not part of the API.
//!
//! Outcomes are rendered with `Debug`, so two parses agree exactly when their renderings do.

use crate::proto::h1::decode;
use crate::proto::h1::head::{self, HeadLimits};

/// Limits small enough for short inputs to reach every limit (414, 431, 413).
fn tight_limits() -> HeadLimits {
    HeadLimits {
        max_request_line: 32,
        max_head_size: 256,
        max_headers: 4,
        max_body_size: Some(100),
        require_host: true,
    }
}

/// Parses a request head with the default limits (or tight ones): `Ok(None)` while
/// incomplete, `Ok(Some((head, used)))`, or the error, each rendered with `Debug`.
pub fn parse_head(buf: &[u8], tight: bool) -> Result<Option<(String, usize)>, String> {
    let limits = if tight {
        tight_limits()
    } else {
        HeadLimits::default()
    };
    match head::parse_head(buf, &limits) {
        Ok(Some((head, used))) => Ok(Some((format!("{head:?}"), used))),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Parses a request head with the default limits and returns only how many bytes it used
/// (`None` while incomplete or on error): the parser's own cost, without the `Debug`
/// rendering of [`parse_head`], for benchmarks.
pub fn parse_head_len(buf: &[u8]) -> Option<usize> {
    match head::parse_head(buf, &HeadLimits::default()) {
        Ok(Some((_, used))) => Some(used),
        _ => None,
    }
}

/// The chunked transfer-coding decoder.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder(decode::ChunkedDecoder);

impl ChunkedDecoder {
    /// A decoder refusing bodies larger than `max_body_size`.
    pub fn new(max_body_size: Option<u64>) -> ChunkedDecoder {
        ChunkedDecoder(decode::ChunkedDecoder::new(max_body_size))
    }

    /// Decodes from `input` into `out`: (input bytes used, body bytes written), or the error.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), String> {
        self.0.decode(input, out).map_err(|e| format!("{e:?}"))
    }

    /// Has the body ended (last chunk, trailers and final CRLF consumed)?
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }
}

/// The HTTP/1.1 connection lifecycle driven in-process (no sockets): `input` arrives in
/// pieces whose sizes cycle through `steps` (empty: all at once), every response is written
/// as soon as its request is complete. Returns the transcript, one line per event; see
/// `proto/h1/transcript.rs` for what must hold of it.
pub fn connection(input: &[u8], steps: &[usize], tight: bool) -> Vec<String> {
    use crate::proto::h1::conn::ReadLimits;
    let limits = if tight {
        ReadLimits {
            head: tight_limits(),
            max_in_flight: 3,
            preread: 8,
        }
    } else {
        ReadLimits::default()
    };
    crate::proto::h1::transcript::transcript(input, steps, &limits)
}
