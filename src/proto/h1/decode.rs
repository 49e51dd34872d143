//! Request body decoders: empty, fixed length, chunked (RFC 9112 §6, §7.1).
//!
//! ```text
//!  chunked:  ┌──────────────────────────────────────────────────────────────┐
//!            ▼                                                              │
//!   Size ─hex─► Size ─;/BWS─► Ext ─CR─► SizeLf ─LF─► Data ─n bytes─► DataCr ─CR─► DataLf ─LF─┘
//!                       │ (size 0)                 └─LF─► TrailerStart ─CR─► FinalLf ─LF─► Done
//!                                                          │ name
//!                                                          ▼
//!                                          TrailerName ─:─► TrailerValue ─CR─► TrailerLf ─LF─► TrailerStart
//! ```
//!
//! # Invariants
//! - Sans-IO: `decode` takes the bytes it has, writes what it can, reports what it used.
//!   Feeding the same bytes in any split (down to one byte at a time) gives the same output.
//! - Never reads past the end of the body: bytes after it belong to the next request.
//! - Every line is bounded (chunk line 4 KiB, trailers 16 KiB), sizes use checked
//!   arithmetic, and nothing is allocated at all, let alone from a client's number.
//! - Once an error is returned, the decoder keeps returning it.

use super::head::BodyKind;
use crate::proto::error::ProtoError;
use crate::types::is_tchar;

/// Longest chunk-size line (size, extensions, CRLF) we accept.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Most trailer-section bytes we accept.
const MAX_TRAILERS: usize = 16 * 1024;
/// Most hex digits in a chunk size: 16 fill a u64.
const MAX_SIZE_DIGITS: u8 = 16;

/// Decodes one request body, whatever its framing.
#[derive(Debug, Clone)]
pub(crate) struct BodyDecoder {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Empty,
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    /// A decoder for a body framed as `kind`. `max_body_size` bounds chunked bodies (a
    /// Content-Length was already checked against it when the head was parsed).
    pub(crate) fn new(kind: &BodyKind, max_body_size: Option<u64>) -> BodyDecoder {
        BodyDecoder {
            kind: match *kind {
                BodyKind::Empty => Kind::Empty,
                BodyKind::Length(remaining) => Kind::Length { remaining },
                BodyKind::Chunked => Kind::Chunked(ChunkedDecoder::new(max_body_size)),
            },
        }
    }

    /// Decodes from `input` into `out`; returns (bytes of input consumed, bytes written).
    ///
    /// Makes progress whenever `input` is non-empty, `out` is non-empty and the body is not
    /// done. Never consumes a byte past the end of the body.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), ProtoError> {
        match &mut self.kind {
            Kind::Empty => Ok((0, 0)),
            Kind::Length { remaining } => {
                let n = clamp(*remaining, input.len().min(out.len()));
                out[..n].copy_from_slice(&input[..n]);
                *remaining = remaining.saturating_sub(n as u64);
                Ok((n, n))
            }
            Kind::Chunked(chunked) => chunked.decode(input, out),
        }
    }

    /// Has the whole body (and, for chunked, its trailers and final CRLF) been consumed?
    pub(crate) fn is_done(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Length { remaining } => *remaining == 0,
            Kind::Chunked(chunked) => chunked.is_done(),
        }
    }

    /// Length framing only: how many body bytes remain, so the caller may read them straight
    /// into the user's buffer.
    pub(crate) fn remaining_length(&self) -> Option<u64> {
        match &self.kind {
            Kind::Length { remaining } => Some(*remaining),
            _ => None,
        }
    }

    /// Length framing only: the caller read `n` body bytes directly (`n <= remaining`;
    /// anything more is ignored rather than trusted).
    pub(crate) fn consume_direct(&mut self, n: usize) {
        if let Kind::Length { remaining } = &mut self.kind {
            *remaining = remaining.saturating_sub(n as u64);
        }
    }
}

/// `min(a, b)` as a usize, for a u64 count and a slice length.
fn clamp(a: u64, b: usize) -> usize {
    usize::try_from(a).map_or(b, |a| a.min(b))
}

/// The chunked transfer coding decoder (RFC 9112 §7.1): a byte-level state machine.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// Data bytes decoded so far.
    total: u64,
    max_body_size: Option<u64>,
    /// Bytes of the current chunk line, or of the trailer section.
    line_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the hex chunk size; `digits` seen so far.
    Size {
        size: u64,
        digits: u8,
    },
    /// Whitespace after the size: only a `;` extension may follow (BWS, RFC 9112 §7.1.1).
    SizeBws {
        size: u64,
    },
    /// In chunk extensions, until CR.
    Ext {
        size: u64,
    },
    /// CR seen at the end of the chunk line; LF must follow.
    SizeLf {
        size: u64,
    },
    /// In chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data: CR then LF.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// CR of the final empty line seen; LF must follow.
    FinalLf,
    Done,
    Failed(ProtoError),
}

impl ChunkedDecoder {
    pub(crate) fn new(max_body_size: Option<u64>) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            total: 0,
            max_body_size,
            line_len: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// See [`BodyDecoder::decode`].
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), ProtoError> {
        let (mut read, mut written) = (0, 0);
        while read < input.len() {
            if let State::Data { remaining } = self.state {
                let n = clamp(remaining, (input.len() - read).min(out.len() - written));
                if n == 0 {
                    break; // `out` is full
                }
                out[written..written + n].copy_from_slice(&input[read..read + n]);
                read += n;
                written += n;
                let remaining = remaining.saturating_sub(n as u64);
                self.state = if remaining == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining }
                };
                continue;
            }
            if matches!(self.state, State::Done) {
                break;
            }
            match self.step(input[read]) {
                Ok(()) => read += 1,
                Err(e) => {
                    self.state = State::Failed(e);
                    return Err(e);
                }
            }
        }
        match self.state {
            // Report the error again to a caller that ignored it.
            State::Failed(e) => Err(e),
            _ => Ok((read, written)),
        }
    }

    /// Takes one framing byte (any state but `Data`).
    fn step(&mut self, b: u8) -> Result<(), ProtoError> {
        self.state = match self.state {
            State::Size { size, digits } => {
                self.count_line_byte()?;
                match (hex_value(b), b) {
                    (Some(v), _) => {
                        // RFC 9112 §7.1: chunk-size = 1*HEXDIG; bounded and overflow-checked.
                        if digits >= MAX_SIZE_DIGITS {
                            return Err(ProtoError::BadBody("chunk size has too many digits"));
                        }
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(v)))
                            .ok_or(ProtoError::BadBody("chunk size overflows"))?;
                        State::Size {
                            size,
                            digits: digits + 1,
                        }
                    }
                    (None, _) if digits == 0 => {
                        return Err(ProtoError::BadBody("chunk size is not a hex number"))
                    }
                    (None, b' ' | b'\t') => State::SizeBws { size },
                    (None, b';') => State::Ext { size },
                    (None, b'\r') => State::SizeLf { size },
                    _ => return Err(ProtoError::BadBody("invalid byte after chunk size")),
                }
            }
            State::SizeBws { size } => {
                self.count_line_byte()?;
                match b {
                    b' ' | b'\t' => State::SizeBws { size },
                    b';' => State::Ext { size },
                    _ => return Err(ProtoError::BadBody("whitespace after chunk size")),
                }
            }
            State::Ext { size } => {
                // RFC 9112 §7.1.1: extensions are ignored but bounded; they hold tokens,
                // quoted strings, `;`, `=` and BWS: never a control byte or a bare LF.
                self.count_line_byte()?;
                match b {
                    b'\r' => State::SizeLf { size },
                    b'\t' | b' '..=b'~' => State::Ext { size },
                    _ => return Err(ProtoError::BadBody("invalid byte in chunk extension")),
                }
            }
            State::SizeLf { size } => {
                if b != b'\n' {
                    return Err(ProtoError::BadBody("chunk size line not ended by CRLF"));
                }
                self.line_len = 0;
                if size == 0 {
                    // RFC 9112 §7.1: last-chunk, then the trailer section.
                    State::TrailerStart
                } else {
                    self.add_to_total(size)?;
                    State::Data { remaining: size }
                }
            }
            State::Data { .. } => return Err(ProtoError::BadBody("decoder state error")),
            State::DataCr | State::DataLf => {
                // RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
                let (want, next) = if self.state == State::DataCr {
                    (b'\r', State::DataLf)
                } else {
                    (b'\n', State::Size { size: 0, digits: 0 })
                };
                if b != want {
                    return Err(ProtoError::BadBody("chunk data not followed by CRLF"));
                }
                next
            }
            State::TrailerStart => {
                self.count_trailer_byte()?;
                match b {
                    b'\r' => State::FinalLf,
                    // RFC 9110 §5.1: a field name is a token (so no obs-fold either).
                    b if is_tchar(b) => State::TrailerName,
                    _ => return Err(ProtoError::BadBody("invalid trailer field")),
                }
            }
            State::TrailerName => {
                self.count_trailer_byte()?;
                match b {
                    b':' => State::TrailerValue,
                    b if is_tchar(b) => State::TrailerName,
                    _ => return Err(ProtoError::BadBody("invalid trailer field name")),
                }
            }
            State::TrailerValue => {
                // RFC 9110 §5.5: no control bytes but HTAB in a value.
                self.count_trailer_byte()?;
                match b {
                    b'\r' => State::TrailerLf,
                    b'\t' | b' '..=b'~' | 0x80..=0xff => State::TrailerValue,
                    _ => return Err(ProtoError::BadBody("invalid byte in trailer field")),
                }
            }
            State::TrailerLf | State::FinalLf => {
                self.count_trailer_byte()?;
                if b != b'\n' {
                    return Err(ProtoError::BadBody("trailer line not ended by CRLF"));
                }
                if self.state == State::FinalLf {
                    State::Done
                } else {
                    State::TrailerStart
                }
            }
            State::Done => State::Done,
            State::Failed(e) => return Err(e),
        };
        Ok(())
    }

    fn count_line_byte(&mut self) -> Result<(), ProtoError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(ProtoError::BadBody("chunk size line too long"));
        }
        Ok(())
    }

    fn count_trailer_byte(&mut self) -> Result<(), ProtoError> {
        self.line_len += 1;
        if self.line_len > MAX_TRAILERS {
            return Err(ProtoError::BadBody("trailer section too large"));
        }
        Ok(())
    }

    fn add_to_total(&mut self, size: u64) -> Result<(), ProtoError> {
        let total = self.total.checked_add(size);
        match (total, self.max_body_size) {
            (Some(t), Some(max)) if t > max => Err(ProtoError::PayloadTooLarge),
            (Some(t), _) => {
                self.total = t;
                Ok(())
            }
            (None, Some(_)) => Err(ProtoError::PayloadTooLarge),
            (None, None) => Err(ProtoError::BadBody("chunked body size overflows")),
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `input` fed `step` bytes at a time into an `out_size` buffer, until the decoder
    /// stops making progress. Returns (body, consumed, done) or the first error.
    fn decode_all(
        decoder: &mut BodyDecoder,
        input: &[u8],
        step: usize,
        out_size: usize,
    ) -> Result<(Vec<u8>, usize, bool), ProtoError> {
        let mut body = Vec::new();
        let mut out = vec![0u8; out_size];
        let mut pos = 0;
        loop {
            let end = input.len().min(pos + step);
            let (used, written) = decoder.decode(&input[pos..end], &mut out)?;
            body.extend_from_slice(&out[..written]);
            pos += used;
            if used == 0 && written == 0 {
                return Ok((body, pos, decoder.is_done()));
            }
        }
    }

    fn chunked(max: Option<u64>) -> BodyDecoder {
        BodyDecoder::new(&BodyKind::Chunked, max)
    }

    const SAMPLE: &[u8] = b"5;name=\"quoted; value\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n000\r\nX-Trailer: yes\r\nOther:\r\n\r\nNEXT";

    #[test]
    fn chunked_one_byte_at_a_time_and_every_split() {
        let want = b"helloabcdefghijklmnopqrstuvwxyz".to_vec();
        let end = SAMPLE.len() - 4;
        for (step, out_size) in [(1, 1), (1, 100), (100, 1), (3, 7), (1000, 1000)] {
            let mut d = chunked(None);
            let got = decode_all(&mut d, SAMPLE, step, out_size).unwrap();
            assert_eq!(got, (want.clone(), end, true), "step {step} out {out_size}");
            assert_eq!(d.decode(b"more", &mut [0; 4]), Ok((0, 0)));
        }
        // Two pieces, split at every point.
        for k in 0..=SAMPLE.len() {
            let mut d = chunked(None);
            let mut out = [0u8; 64];
            let (a, w1) = d.decode(&SAMPLE[..k], &mut out).unwrap();
            let mut body = out[..w1].to_vec();
            let (b, w2) = d.decode(&SAMPLE[a..], &mut out).unwrap();
            body.extend_from_slice(&out[..w2]);
            assert_eq!(
                (body, a + b, d.is_done()),
                (want.clone(), end, true),
                "split {k}"
            );
        }
    }

    #[test]
    fn chunked_errors() {
        let long_ext = [&b"1;"[..], &[b'x'; MAX_CHUNK_LINE], b"\r\na\r\n0\r\n\r\n"].concat();
        let long_trailer = [&b"0\r\nX: "[..], &[b'y'; MAX_TRAILERS], b"\r\n\r\n"].concat();
        #[rustfmt::skip]
        let cases: &[(&[u8], ProtoError)] = &[
            (b"5\nhello\r\n0\r\n\r\n", ProtoError::BadBody("invalid byte after chunk size")),
            (b"5\r\rhello", ProtoError::BadBody("chunk size line not ended by CRLF")),
            (b"5\r\nhello\n0\r\n\r\n", ProtoError::BadBody("chunk data not followed by CRLF")),
            (b"5\r\nhelloX\r\n", ProtoError::BadBody("chunk data not followed by CRLF")),
            (b"5\r\nhello\r0\r\n", ProtoError::BadBody("chunk data not followed by CRLF")),
            (b"-5\r\nhello\r\n", ProtoError::BadBody("chunk size is not a hex number")),
            (b"+5\r\nhello\r\n", ProtoError::BadBody("chunk size is not a hex number")),
            (b"\r\nhello\r\n", ProtoError::BadBody("chunk size is not a hex number")),
            (b";ext\r\n", ProtoError::BadBody("chunk size is not a hex number")),
            (b" 5\r\nhello\r\n", ProtoError::BadBody("chunk size is not a hex number")),
            (b"0x5\r\nhello\r\n", ProtoError::BadBody("invalid byte after chunk size")),
            (b"5g\r\n", ProtoError::BadBody("invalid byte after chunk size")),
            (b"5 \r\nhello\r\n", ProtoError::BadBody("whitespace after chunk size")),
            (b"5 x\r\n", ProtoError::BadBody("whitespace after chunk size")),
            (b"10000000000000000\r\n", ProtoError::BadBody("chunk size has too many digits")),
            (b"00000000000000000\r\n", ProtoError::BadBody("chunk size has too many digits")),
            (b"1;a\nb\r\n", ProtoError::BadBody("invalid byte in chunk extension")),
            (b"1;a\0\r\n", ProtoError::BadBody("invalid byte in chunk extension")),
            (b"1;a\xff\r\n", ProtoError::BadBody("invalid byte in chunk extension")),
            (&long_ext, ProtoError::BadBody("chunk size line too long")),
            (b"0\r\n\n", ProtoError::BadBody("invalid trailer field")),
            (b"0\r\n X: a\r\n\r\n", ProtoError::BadBody("invalid trailer field")),
            (b"0\r\nX : a\r\n\r\n", ProtoError::BadBody("invalid trailer field name")),
            (b"0\r\nX\r\n\r\n", ProtoError::BadBody("invalid trailer field name")),
            (b"0\r\nX: a\nY: b\r\n\r\n", ProtoError::BadBody("invalid byte in trailer field")),
            (b"0\r\nX: a\0\r\n\r\n", ProtoError::BadBody("invalid byte in trailer field")),
            (b"0\r\nX: a\rb\r\n\r\n", ProtoError::BadBody("trailer line not ended by CRLF")),
            (b"0\r\n\rX", ProtoError::BadBody("trailer line not ended by CRLF")),
            (&long_trailer, ProtoError::BadBody("trailer section too large")),
        ];
        for (input, want) in cases {
            for step in [1, 2, input.len().max(1)] {
                let mut d = chunked(None);
                assert_eq!(
                    decode_all(&mut d, input, step, 8),
                    Err(*want),
                    "{:?} step {step}",
                    String::from_utf8_lossy(input)
                );
                // The error sticks.
                assert_eq!(d.decode(b"0\r\n\r\n", &mut [0; 8]), Err(*want));
                assert_eq!(d.decode(b"", &mut [0; 8]), Err(*want));
            }
        }
    }

    #[test]
    fn chunked_limits_and_edges() {
        // Sixteen hex digits are fine (leading zeros included); the size is checked.
        let mut d = chunked(None);
        assert!(d.decode(b"ffffffffffffffff\r\n", &mut [0; 1]).is_ok());
        let mut d = chunked(None);
        assert_eq!(
            decode_all(&mut d, b"0000000000000003\r\nabc\r\n0\r\n\r\n", 1, 1),
            Ok((b"abc".to_vec(), 28, true))
        );
        // Body size limit: per chunk and cumulative, checked before the data is read.
        let mut d = chunked(Some(10));
        assert_eq!(
            d.decode(b"b\r\n", &mut [0; 1]),
            Err(ProtoError::PayloadTooLarge)
        );
        let mut d = chunked(Some(10));
        assert_eq!(
            decode_all(&mut d, b"6\r\nabcdef\r\n5\r\n", 100, 100),
            Err(ProtoError::PayloadTooLarge)
        );
        let mut d = chunked(Some(10));
        assert_eq!(
            decode_all(&mut d, b"5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", 3, 3).map(|r| r.2),
            Ok(true)
        );
        // Overflow of the running total without a limit.
        let mut d = chunked(None);
        let mut out = [0u8; 1];
        assert!(d.decode(b"ffffffffffffffff\r\nx", &mut out).is_ok());
        let mut d2 = d.clone();
        if let Kind::Chunked(c) = &mut d2.kind {
            c.total = u64::MAX;
            c.state = State::Size { size: 0, digits: 0 };
        }
        assert_eq!(
            d2.decode(b"1\r\n", &mut out),
            Err(ProtoError::BadBody("chunked body size overflows"))
        );
        // An empty output buffer still lets framing bytes through, never data.
        let mut d = chunked(None);
        assert_eq!(d.decode(b"3\r\nabc", &mut []), Ok((3, 0)));
        assert_eq!(d.decode(b"abc\r\n0\r\n\r\n", &mut [0; 3]), Ok((10, 3)));
        assert!(d.is_done());
    }

    #[test]
    fn length_and_empty() {
        let mut d = BodyDecoder::new(&BodyKind::Length(5), None);
        assert_eq!(d.remaining_length(), Some(5));
        let mut out = [0u8; 3];
        assert_eq!(d.decode(b"hello world", &mut out), Ok((3, 3)));
        assert_eq!(&out, b"hel");
        d.consume_direct(1);
        assert_eq!(d.remaining_length(), Some(1));
        assert_eq!(d.decode(b"oXYZ", &mut out), Ok((1, 1)));
        assert!(d.is_done());
        assert_eq!(d.decode(b"XYZ", &mut out), Ok((0, 0)));
        d.consume_direct(usize::MAX); // never underflows
        assert_eq!((d.remaining_length(), d.is_done()), (Some(0), true));

        let mut d = BodyDecoder::new(&BodyKind::Length(u64::MAX), None);
        assert_eq!(d.decode(b"abc", &mut out), Ok((3, 3)));
        assert_eq!(d.remaining_length(), Some(u64::MAX - 3));

        let mut d = BodyDecoder::new(&BodyKind::Length(0), None);
        assert!(d.is_done());
        assert_eq!(d.decode(b"abc", &mut out), Ok((0, 0)));

        let mut d = BodyDecoder::new(&BodyKind::Empty, Some(0));
        assert!(d.is_done());
        assert_eq!(d.remaining_length(), None);
        assert_eq!(d.decode(b"GET / HTTP/1.1", &mut out), Ok((0, 0)));
        d.consume_direct(3);
        let c = chunked(None);
        assert_eq!((c.remaining_length(), c.is_done()), (None, false));
    }

    /// One encoded chunk: data, extension text, uppercase hex, leading zeros.
    type Chunk = (Vec<u8>, Option<String>, bool, usize);

    fn encode(
        chunks: &[Chunk],
        last_ext: &Option<String>,
        trailers: &[(String, String)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let size_line =
            |out: &mut Vec<u8>, n: usize, ext: &Option<String>, upper: bool, zeros: usize| {
                out.extend(std::iter::repeat(b'0').take(zeros));
                let hex = if upper {
                    format!("{n:X}")
                } else {
                    format!("{n:x}")
                };
                out.extend_from_slice(hex.as_bytes());
                if let Some(ext) = ext {
                    out.extend_from_slice(ext.as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            };
        for (data, ext, upper, zeros) in chunks {
            size_line(&mut out, data.len(), ext, *upper, *zeros);
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        size_line(&mut out, 0, last_ext, false, 0);
        for (name, value) in trailers {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn extension() -> impl Strategy<Value = Option<String>> {
        prop::option::of(
            prop::collection::vec(
                (
                    "[ \t]{0,2}",
                    "[a-z!#$%&'*+.^_`|~-]{1,8}",
                    prop::option::of(prop_oneof![
                        "[A-Za-z0-9]{1,8}".prop_map(|v| v),
                        "[ !#-\\[\\]-~]{0,8}".prop_map(|v| format!("\"{v}\"")),
                    ]),
                ),
                1..4,
            )
            .prop_map(|exts| {
                exts.into_iter()
                    .map(|(ws, name, val)| match val {
                        Some(v) => format!("{ws};{name}={v}"),
                        None => format!("{ws};{name}"),
                    })
                    .collect()
            }),
        )
    }

    fn chunks() -> impl Strategy<Value = Vec<Chunk>> {
        prop::collection::vec(
            (
                prop::collection::vec(any::<u8>(), 1..300),
                extension(),
                any::<bool>(),
                0usize..4,
            ),
            0..8,
        )
    }

    fn trailers() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[A-Za-z0-9-]{1,10}", "[ -~\t]{0,20}"), 0..4)
    }

    /// Feeds `input` in pieces of the given sizes (cycled), with outputs of the given sizes.
    fn decode_split(
        d: &mut BodyDecoder,
        input: &[u8],
        in_sizes: &[usize],
        out_sizes: &[usize],
    ) -> Result<(Vec<u8>, usize), ProtoError> {
        let mut body = Vec::new();
        let (mut pos, mut i) = (0, 0);
        let mut stalled = 0;
        while stalled < 2 {
            let take = in_sizes[i % in_sizes.len()];
            let mut out = vec![0u8; out_sizes[i % out_sizes.len()]];
            let end = input.len().min(pos + take);
            let was_done = d.is_done();
            let (used, written) = d.decode(&input[pos..end], &mut out)?;
            // Progress whenever input and output are non-empty and the body is not done.
            assert!(was_done || end == pos || out.is_empty() || used + written > 0);
            body.extend_from_slice(&out[..written]);
            pos += used;
            i += 1;
            stalled = if used + written == 0 && take > 0 && !out.is_empty() {
                stalled + 1
            } else {
                0
            };
        }
        Ok((body, pos))
    }

    proptest! {
        #[test]
        fn chunked_matches_oracle(
            chunks in chunks(),
            last_ext in extension(),
            trailers in trailers(),
            tail in prop::collection::vec(any::<u8>(), 0..10),
            in_sizes in prop::collection::vec(1usize..64, 1..8),
            out_sizes in prop::collection::vec(1usize..64, 1..8),
        ) {
            let encoded = encode(&chunks, &last_ext, &trailers);
            let want: Vec<u8> = chunks.iter().flat_map(|c| c.0.iter().copied()).collect();
            let input = [&encoded[..], &tail].concat();
            let mut d = chunked(None);
            let (body, used) = decode_split(&mut d, &input, &in_sizes, &out_sizes).unwrap();
            prop_assert_eq!(body, want.clone());
            prop_assert_eq!(used, encoded.len());
            prop_assert!(d.is_done());
            // The same bytes, one at a time.
            let mut d = chunked(None);
            let (body, used) = decode_split(&mut d, &input, &[1], &[1]).unwrap();
            prop_assert_eq!((body, used), (want.clone(), encoded.len()));
            // A limit at the body size passes; one below fails with 413.
            let total = want.len() as u64;
            let mut d = chunked(Some(total));
            prop_assert!(decode_split(&mut d, &input, &in_sizes, &out_sizes).is_ok());
            if total > 0 {
                let mut d = chunked(Some(total - 1));
                prop_assert_eq!(decode_split(&mut d, &input, &in_sizes, &out_sizes), Err(ProtoError::PayloadTooLarge));
            }
        }

        #[test]
        fn length_matches_oracle(
            body in prop::collection::vec(any::<u8>(), 0..500),
            tail in prop::collection::vec(any::<u8>(), 0..10),
            in_sizes in prop::collection::vec(1usize..64, 1..8),
            out_sizes in prop::collection::vec(1usize..64, 1..8),
        ) {
            let input = [&body[..], &tail].concat();
            let mut d = BodyDecoder::new(&BodyKind::Length(body.len() as u64), None);
            let (got, used) = decode_split(&mut d, &input, &in_sizes, &out_sizes).unwrap();
            prop_assert_eq!((got, used, d.is_done()), (body.clone(), body.len(), true));
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..400),
            in_sizes in prop::collection::vec(0usize..16, 1..4),
            out_sizes in prop::collection::vec(0usize..16, 1..4),
            max in prop::option::of(any::<u64>()),
        ) {
            let mut d = chunked(max);
            let mut out = [0u8; 16];
            let (mut pos, mut i) = (0, 0);
            while pos < input.len() && i < 2000 {
                let end = input.len().min(pos + in_sizes[i % in_sizes.len()]);
                match d.decode(&input[pos..end], &mut out[..out_sizes[i % out_sizes.len()]]) {
                    Ok((used, written)) => {
                        prop_assert!(used <= end - pos && written <= 16);
                        pos += used;
                    }
                    Err(_) => break,
                }
                i += 1;
            }
        }
    }
}
