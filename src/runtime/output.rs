//! A connection's output queue: response bytes, owned bodies and files, in request order,
//! waiting for the socket to take them.
//!
//! ```text
//!   push(seq, chunk) ── seq == turn ──► queue ─── flush(sink) ──► socket
//!         │                             ▲  (End(seq) reached: response seq is on the wire)
//!         └── seq > turn ──► parked[seq]┘  moves to the queue when every response before it
//!                                          is complete (its End was pushed)
//! ```
//!
//! Chunks are rendered bytes (heads, small bodies, chunk framing: the bounded part), shared
//! in-memory bodies and files (owned whole: they cost nothing extra to hold), and `End`
//! markers. Flushing gathers consecutive byte chunks into one vectored write, so the
//! responses to a pipelined burst leave together; files go out with `sendfile(2)` where the
//! sink can, or are read into memory a piece at a time.
//!
//! # Invariants
//! - Chunks leave in push order within a response, and responses in sequence order: a
//!   response's chunks enter the queue only after every earlier response's `End`.
//! - `buffered()` is the number of rendered bytes held (queued or parked); shared bodies and
//!   files are not counted (they are the caller's memory and the page cache).
//! - `flush` calls `ended(seq, end)` exactly once per response, in order, when its last byte
//!   has been taken by the sink.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::sync::Arc;

use crate::proto::h1::conn::ResponseEnd;

/// Most slices gathered into one vectored write.
const MAX_SLICES: usize = 64;
/// A file copied through memory is read this much at a time.
const FILE_PIECE: usize = 64 * 1024;
/// A new byte chunk has at least this much room, and small byte chunks are appended to the
/// previous one while it has room (never by growing it): a burst of pipelined responses of a
/// few hundred bytes each shares a few allocations, not one each. Kept under 1 KiB, glibc's
/// small-bin sizes: a larger request would consolidate the allocator's fast bins each time.
const BURST: usize = 1000;

/// An in-memory body the runtime took over whole (`Response::from_data`, `from_string`).
#[derive(Debug, Clone)]
pub(crate) struct SharedBytes {
    data: Arc<Vec<u8>>,
    start: usize,
    end: usize,
}

impl SharedBytes {
    /// `data[start..end]` (clamped to the data).
    pub(crate) fn new(data: Arc<Vec<u8>>, start: usize, end: usize) -> SharedBytes {
        let end = end.min(data.len());
        SharedBytes {
            start: start.min(end),
            end,
            data,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }
}

/// A file body: `remaining` bytes from the file's position when it was handed over.
#[derive(Debug)]
pub(crate) struct FileBody {
    pub(crate) file: File,
    pub(crate) remaining: u64,
    /// Where the next byte is read; `None` for a file without positions (a pipe): it is then
    /// read from its cursor.
    offset: Option<u64>,
    /// Whether the zero-copy path works for this file (`None` until asked).
    zero_copy: Option<bool>,
}

impl FileBody {
    /// `remaining` bytes of `file` from its current position.
    pub(crate) fn new(file: File, remaining: u64) -> FileBody {
        use std::io::Seek;
        let offset = (&file).stream_position().ok();
        FileBody {
            file,
            remaining,
            offset,
            zero_copy: None,
        }
    }

    /// Reads the next bytes into `buf` (at the tracked offset when the file has positions).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.offset {
            Some(offset) => read_at(&self.file, buf, offset)?,
            None => (&self.file).read(buf)?,
        };
        if let Some(offset) = &mut self.offset {
            *offset += n as u64;
        }
        Ok(n)
    }
}

/// A positional read (the file's cursor is not used on unix).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::Seek;
        let mut file = file;
        file.seek(io::SeekFrom::Start(offset))?;
        file.read(buf)
    }
}

/// One piece of output.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Rendered bytes.
    Bytes(Vec<u8>),
    /// An owned in-memory body.
    Shared(SharedBytes),
    /// A file body.
    File(FileBody),
    /// Response `seq` ends here.
    End(u64, ResponseEnd),
}

/// Where output goes: a socket (through TLS when there is a session).
pub(crate) trait Sink {
    /// Writes from several buffers; `WouldBlock` when nothing was taken.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Whether `file` can be sent without copying through memory (asked once per file).
    fn can_send_file(&mut self, file: &File) -> bool;
    /// Sends up to `max` bytes of `file` from `offset` without copying: `Ok(0)` at the end of
    /// the file, `WouldBlock` when the socket took nothing; `None` when the system refused the
    /// path for this file after all (nothing was sent: copy instead).
    fn send_file(&mut self, file: &File, offset: u64, max: u64) -> Option<io::Result<u64>>;
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flushed {
    /// Bytes the sink took.
    pub(crate) written: u64,
    /// Output remains and the sink would block.
    pub(crate) blocked: bool,
}

/// The output of one connection.
#[derive(Debug, Default)]
pub(crate) struct Output {
    queue: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_sent: usize,
    parked: BTreeMap<u64, Vec<Chunk>>,
    /// The response whose chunks go to the queue now.
    turn: u64,
    buffered: usize,
}

impl Output {
    /// The response whose chunks are queued now (every earlier one is complete).
    pub(crate) fn turn(&self) -> u64 {
        self.turn
    }

    /// Rendered bytes held, queued or parked.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Rendered bytes parked for response `seq` (0 once it is queued).
    pub(crate) fn parked_bytes(&self, seq: u64) -> usize {
        self.parked.get(&seq).map_or(0, |chunks| {
            chunks
                .iter()
                .map(|c| match c {
                    Chunk::Bytes(b) => b.len(),
                    _ => 0,
                })
                .sum()
        })
    }

    /// Drops what response `seq` parked while waiting for its turn (none of it was written):
    /// it is about to be replaced.
    pub(crate) fn discard_parked(&mut self, seq: u64) {
        if let Some(chunks) = self.parked.remove(&seq) {
            for chunk in &chunks {
                if let Chunk::Bytes(b) = chunk {
                    self.buffered -= b.len();
                }
            }
        }
    }

    /// Nothing queued for the socket (parked responses may wait for their turn).
    pub(crate) fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }

    /// Nothing queued and nothing parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.parked.is_empty()
    }

    /// Adds a chunk to response `seq` (which must not be complete yet).
    pub(crate) fn push(&mut self, seq: u64, chunk: Chunk) {
        debug_assert!(seq >= self.turn, "response {seq} is already complete");
        if let Chunk::Bytes(b) = &chunk {
            self.buffered += b.len();
        }
        let is_end = matches!(chunk, Chunk::End(..));
        if seq == self.turn {
            Self::append(&mut self.queue, chunk);
            if is_end {
                self.advance();
            }
        } else {
            let parked = self.parked.entry(seq).or_default();
            match (parked.last_mut(), chunk) {
                (Some(Chunk::Bytes(last)), Chunk::Bytes(b))
                    if last.len() + b.len() <= last.capacity() =>
                {
                    last.extend_from_slice(&b)
                }
                (_, chunk) => parked.push(chunk),
            }
        }
    }

    /// Adds rendered bytes to response `seq`, copying them (so the caller keeps its buffer).
    pub(crate) fn push_bytes(&mut self, seq: u64, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        // Into the last byte chunk of this response when it has room: a burst of small
        // responses becomes one buffer.
        let target = if seq == self.turn {
            Self::bytes_tail(&mut self.queue)
        } else {
            match self.parked.get_mut(&seq).and_then(|p| p.last_mut()) {
                Some(Chunk::Bytes(last)) => Some(last),
                _ => None,
            }
        };
        if let Some(last) = target {
            if last.len() + bytes.len() <= last.capacity() {
                last.extend_from_slice(bytes);
                self.buffered += bytes.len();
                return;
            }
        }
        // Room for the rest of a pipelined burst's small responses (one allocation for all).
        let mut chunk = Vec::with_capacity(bytes.len().max(BURST));
        chunk.extend_from_slice(bytes);
        self.push(seq, Chunk::Bytes(chunk));
    }

    /// Queues a chunk, appending small byte chunks to the byte chunk at the back. (Appending
    /// to a front chunk already partly written is fine: its written part is a prefix.)
    fn append(queue: &mut VecDeque<Chunk>, chunk: Chunk) {
        match (Self::bytes_tail(queue), chunk) {
            (Some(last), Chunk::Bytes(b)) if last.len() + b.len() <= last.capacity() => {
                last.extend_from_slice(&b)
            }
            (_, chunk) => queue.push_back(chunk),
        }
    }

    /// The byte chunk at the back of `queue`, looking past the `End` markers of keep-alive
    /// responses: bytes appended there leave in the same write as the responses before
    /// them. Those responses' `End`s are then reported once the whole chunk is written
    /// (at most one chunk later than exactly), never before their last byte. Never past the
    /// end of a response that closes the connection (nothing may follow it).
    fn bytes_tail(queue: &mut VecDeque<Chunk>) -> Option<&mut Vec<u8>> {
        let at = queue
            .iter()
            .rposition(|c| !matches!(c, Chunk::End(_, ResponseEnd::KeepAlive)))?;
        match queue.get_mut(at) {
            Some(Chunk::Bytes(last)) => Some(last),
            _ => None,
        }
    }

    /// Response `turn` is complete: the next one's parked chunks join the queue.
    fn advance(&mut self) {
        self.turn += 1;
        while let Some(chunks) = self.parked.remove(&self.turn) {
            let complete = matches!(chunks.last(), Some(Chunk::End(..)));
            for chunk in chunks {
                Self::append(&mut self.queue, chunk);
            }
            if !complete {
                break;
            }
            self.turn += 1;
        }
    }

    /// Response `seq`, the one due with nothing queued, was written whole without passing
    /// through the queue: the next one is due now. Returns whether parked output joined the
    /// queue (it is then to be flushed).
    pub(crate) fn end_direct(&mut self, seq: u64) -> bool {
        debug_assert!(seq == self.turn && self.queue.is_empty());
        self.advance();
        !self.queue.is_empty()
    }

    /// Drops everything (the connection is closing); files are closed.
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.parked.clear();
        self.front_sent = 0;
        self.buffered = 0;
    }

    /// Writes queued output to `sink` until the queue is empty or the sink would block.
    /// `ended(seq, end)` is called as each response's last byte is taken. Errors other than
    /// `WouldBlock` are returned (the connection is then unusable).
    pub(crate) fn flush(
        &mut self,
        sink: &mut dyn Sink,
        ended: &mut dyn FnMut(u64, ResponseEnd),
    ) -> io::Result<Flushed> {
        let mut written = 0u64;
        loop {
            let blocked = match self.queue.front_mut() {
                None => false,
                Some(Chunk::End(seq, end)) => {
                    let (seq, end) = (*seq, *end);
                    self.queue.pop_front();
                    ended(seq, end);
                    if end == ResponseEnd::Close {
                        // Nothing after a response that closes the connection may be sent.
                        self.clear();
                        return Ok(Flushed {
                            written,
                            blocked: false,
                        });
                    }
                    continue;
                }
                Some(Chunk::File(_)) => match self.send_file_piece(sink)? {
                    Some(n) => {
                        written += n;
                        continue;
                    }
                    None => true,
                },
                Some(_) => match self.write_bytes(sink, ended)? {
                    Some(n) => {
                        written += n as u64;
                        continue;
                    }
                    None => true,
                },
            };
            return Ok(Flushed { written, blocked });
        }
    }

    /// Writes the byte chunks at the front in one vectored write (across the ends of
    /// responses): `Some(n)` written, `None` when the sink would block.
    fn write_bytes(
        &mut self,
        sink: &mut dyn Sink,
        ended: &mut dyn FnMut(u64, ResponseEnd),
    ) -> io::Result<Option<usize>> {
        let mut slices: [IoSlice<'_>; MAX_SLICES] = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        for (i, chunk) in self.queue.iter().enumerate() {
            let bytes = match chunk {
                Chunk::Bytes(b) => &b[..],
                Chunk::Shared(s) => s.bytes(),
                // The bytes after a response that closes the connection are never sent.
                Chunk::End(_, ResponseEnd::Close) => break,
                Chunk::End(..) => continue,
                Chunk::File(_) => break,
            };
            let bytes = if i == 0 {
                &bytes[self.front_sent..]
            } else {
                bytes
            };
            if !bytes.is_empty() {
                slices[count] = IoSlice::new(bytes);
                count += 1;
                if count == MAX_SLICES {
                    break;
                }
            }
        }
        let n = if count == 0 {
            0 // only empty chunks before a file: drop them
        } else {
            match sink.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        self.consume(n, ended);
        Ok(Some(n))
    }

    /// Marks `n` bytes of the front chunks written: drops the chunks finished (and empty
    /// ones), reports the responses whose `End` is passed, stops in a chunk not finished or
    /// at a file.
    fn consume(&mut self, mut n: usize, ended: &mut dyn FnMut(u64, ResponseEnd)) {
        while let Some(front) = self.queue.front() {
            let len = match front {
                Chunk::Bytes(b) => b.len(),
                Chunk::Shared(s) => s.bytes().len(),
                Chunk::End(_, ResponseEnd::Close) => return, // `flush` ends there
                Chunk::End(seq, end) => {
                    let (seq, end) = (*seq, *end);
                    self.queue.pop_front();
                    ended(seq, end);
                    continue;
                }
                Chunk::File(_) => return,
            };
            let left = len - self.front_sent;
            if n < left {
                self.front_sent += n;
                return;
            }
            n -= left;
            if let Some(Chunk::Bytes(b)) = self.queue.pop_front() {
                self.buffered -= b.len();
            }
            self.front_sent = 0;
        }
    }

    /// Sends (part of) the file at the front: `Some(n)` bytes went out, `None` when the sink
    /// would block. A file shorter than announced is an error (its response is truncated).
    fn send_file_piece(&mut self, sink: &mut dyn Sink) -> io::Result<Option<u64>> {
        let Some(Chunk::File(body)) = self.queue.front_mut() else {
            return Ok(Some(0));
        };
        if body.remaining == 0 {
            self.queue.pop_front();
            return Ok(Some(0));
        }
        let zero_copy = body.offset.is_some()
            && *body
                .zero_copy
                .get_or_insert_with(|| sink.can_send_file(&body.file));
        if let (true, Some(offset)) = (zero_copy, body.offset) {
            match sink.send_file(&body.file, offset, body.remaining) {
                Some(Ok(0)) => return Err(file_too_short()),
                Some(Ok(n)) => {
                    let n = n.min(body.remaining);
                    body.remaining -= n;
                    body.offset = Some(offset + n);
                    return Ok(Some(n));
                }
                Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Some(Err(e)) => return Err(e),
                None => body.zero_copy = Some(false),
            }
        }
        // Through memory: the next piece becomes a byte chunk in front of the rest.
        let want = usize::try_from(body.remaining).map_or(FILE_PIECE, |r| r.min(FILE_PIECE));
        let mut piece = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match body.read(&mut piece[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got == 0 {
            return Err(file_too_short());
        }
        piece.truncate(got);
        body.remaining -= got as u64;
        self.buffered += got;
        self.queue.push_front(Chunk::Bytes(piece));
        Ok(Some(0))
    }
}

fn file_too_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the response file ended before its announced length",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes at most `room` bytes (then would block), records what it got and
    /// how many writes it saw; `zero_copy` says whether files go out "without copying".
    #[derive(Default)]
    struct FakeSink {
        got: Vec<u8>,
        room: usize,
        writes: usize,
        zero_copy: bool,
        /// The system refuses the zero-copy path after all (the first call).
        refuse_sendfile: bool,
    }

    impl Sink for FakeSink {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.writes += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.room - n);
                self.got.extend_from_slice(&b[..take]);
                n += take;
                if n == self.room {
                    break;
                }
            }
            self.room -= n;
            Ok(n)
        }
        fn can_send_file(&mut self, _: &File) -> bool {
            self.zero_copy
        }
        fn send_file(&mut self, file: &File, offset: u64, max: u64) -> Option<io::Result<u64>> {
            if self.refuse_sendfile {
                return None;
            }
            if self.room == 0 {
                return Some(Err(io::ErrorKind::WouldBlock.into()));
            }
            let want = (max as usize).min(self.room);
            let mut buf = vec![0; want];
            let n = match read_at(file, &mut buf, offset) {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            self.got.extend_from_slice(&buf[..n]);
            self.room -= n;
            Some(Ok(n as u64))
        }
    }

    fn flush_all(out: &mut Output, sink: &mut FakeSink) -> Vec<(u64, ResponseEnd)> {
        let mut ends = Vec::new();
        let f = out.flush(sink, &mut |s, e| ends.push((s, e))).unwrap();
        assert!(!f.blocked || sink.room == 0);
        ends
    }

    #[test]
    fn responses_leave_in_order_whatever_order_they_arrive_in() {
        let mut out = Output::default();
        out.push_bytes(2, b"C");
        out.push(2, Chunk::End(2, ResponseEnd::KeepAlive));
        out.push_bytes(1, b"B");
        out.push(1, Chunk::End(1, ResponseEnd::KeepAlive));
        assert_eq!(out.turn(), 0);
        assert!(out.is_drained(), "nothing is due before response 0");
        out.push_bytes(0, b"A");
        let mut sink = FakeSink {
            room: 100,
            ..FakeSink::default()
        };
        assert!(
            flush_all(&mut out, &mut sink).is_empty(),
            "0 is not complete"
        );
        assert_eq!(sink.got, b"A");
        out.push(0, Chunk::End(0, ResponseEnd::KeepAlive));
        assert_eq!(out.turn(), 3);
        let ends = flush_all(&mut out, &mut sink);
        assert_eq!(sink.got, b"ABC");
        assert_eq!(
            ends,
            [
                (0, ResponseEnd::KeepAlive),
                (1, ResponseEnd::KeepAlive),
                (2, ResponseEnd::KeepAlive)
            ]
        );
        assert!(out.is_empty());
        assert_eq!(out.buffered(), 0);
    }

    #[test]
    fn a_burst_of_small_responses_is_one_write() {
        let mut out = Output::default();
        for seq in 0..16 {
            out.push_bytes(seq, format!("response {seq}\n").as_bytes());
            out.push(seq, Chunk::End(seq, ResponseEnd::KeepAlive));
        }
        let mut sink = FakeSink {
            room: 1 << 20,
            ..FakeSink::default()
        };
        let ends = flush_all(&mut out, &mut sink);
        assert_eq!(ends.len(), 16);
        assert_eq!(sink.writes, 1);
    }

    #[test]
    fn a_burst_shares_one_buffer_and_no_end_is_reported_before_its_last_byte() {
        let mut out = Output::default();
        let mut expected = Vec::new();
        for seq in 0..16 {
            let bytes = format!("response {seq}\n");
            expected.extend_from_slice(bytes.as_bytes());
            out.push_bytes(seq, bytes.as_bytes());
            out.push(seq, Chunk::End(seq, ResponseEnd::KeepAlive));
        }
        let byte_chunks = out
            .queue
            .iter()
            .filter(|c| matches!(c, Chunk::Bytes(_)))
            .count();
        assert_eq!(byte_chunks, 1, "one allocation for the burst");
        // Room for all but the last byte of response 1.
        let mut sink = FakeSink {
            room: "response 0\n".len() + "response 1\n".len() - 1,
            ..FakeSink::default()
        };
        let ends = flush_all(&mut out, &mut sink);
        assert!(
            ends.iter().all(|&(seq, _)| seq == 0),
            "only response 0 may be reported: {ends:?}"
        );
        sink.room = 1 << 20;
        let mut all = ends;
        all.extend(flush_all(&mut out, &mut sink));
        assert_eq!(sink.got, expected);
        let seqs: Vec<u64> = all.iter().map(|&(seq, _)| seq).collect();
        assert_eq!(seqs, (0..16).collect::<Vec<u64>>());
        assert_eq!(out.buffered(), 0);
    }

    #[test]
    fn a_response_written_directly_lets_the_parked_next_one_through() {
        let mut out = Output::default();
        out.push_bytes(1, b"second");
        out.push(1, Chunk::End(1, ResponseEnd::KeepAlive));
        assert!(out.is_drained());
        // Response 0 went out whole without the queue.
        assert!(out.end_direct(0), "response 1 joins the queue");
        assert_eq!(out.turn(), 2);
        let mut sink = FakeSink {
            room: 100,
            ..FakeSink::default()
        };
        assert_eq!(
            flush_all(&mut out, &mut sink),
            [(1, ResponseEnd::KeepAlive)]
        );
        assert_eq!(sink.got, b"second");
        assert!(!out.end_direct(2), "nothing parked after it");
        assert_eq!(out.turn(), 3);
    }

    #[test]
    fn nothing_is_appended_past_a_closing_response() {
        let mut out = Output::default();
        out.push_bytes(0, b"last");
        out.push(0, Chunk::End(0, ResponseEnd::Close));
        assert!(Output::bytes_tail(&mut out.queue).is_none());
    }

    #[test]
    fn partial_writes_resume_exactly_where_they_stopped() {
        let mut out = Output::default();
        let body: Vec<u8> = (0..200u8).collect();
        let shared = SharedBytes::new(Arc::new(body.clone()), 0, 200);
        out.push_bytes(0, b"HEAD:");
        out.push(0, Chunk::Shared(shared));
        out.push_bytes(0, b":TAIL");
        out.push(0, Chunk::End(0, ResponseEnd::KeepAlive));
        let mut expected = b"HEAD:".to_vec();
        expected.extend_from_slice(&body);
        expected.extend_from_slice(b":TAIL");
        // Every room size: the bytes arrive intact and the end is reported once.
        for room in 1..=expected.len() {
            let mut out2 = Output::default();
            out2.push_bytes(0, b"HEAD:");
            out2.push(
                0,
                Chunk::Shared(SharedBytes::new(Arc::new(body.clone()), 0, 200)),
            );
            out2.push_bytes(0, b":TAIL");
            out2.push(0, Chunk::End(0, ResponseEnd::KeepAlive));
            let mut sink = FakeSink::default();
            let mut ends = Vec::new();
            for _ in 0..1000 {
                sink.room = room;
                let f = out2
                    .flush(&mut sink, &mut |s, e| ends.push((s, e)))
                    .unwrap();
                if !f.blocked {
                    break;
                }
            }
            assert_eq!(sink.got, expected, "room {room}");
            assert_eq!(ends, [(0, ResponseEnd::KeepAlive)], "room {room}");
            assert_eq!(out2.buffered(), 0, "room {room}");
        }
        let _ = &mut out;
    }

    #[test]
    fn files_go_out_zero_copy_or_through_memory_and_short_files_are_errors() {
        let mut path = std::env::temp_dir();
        path.push(format!("tiny-http-output-test-{}", std::process::id()));
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        for (zero_copy, refuse_sendfile) in [(true, false), (false, false), (true, true)] {
            let mut out = Output::default();
            out.push_bytes(0, b"H");
            out.push(
                0,
                Chunk::File(FileBody::new(File::open(&path).unwrap(), 300_000)),
            );
            out.push_bytes(0, b"T");
            out.push(0, Chunk::End(0, ResponseEnd::KeepAlive));
            let mut sink = FakeSink {
                zero_copy,
                refuse_sendfile,
                ..FakeSink::default()
            };
            let mut ends = Vec::new();
            for _ in 0..10_000 {
                sink.room = 7_777;
                if !out
                    .flush(&mut sink, &mut |s, e| ends.push((s, e)))
                    .unwrap()
                    .blocked
                {
                    break;
                }
            }
            assert_eq!(sink.got.len(), 300_002, "zero_copy {zero_copy}");
            assert_eq!(&sink.got[1..300_001], &content[..]);
            assert_eq!(ends.len(), 1);
            assert!(out.buffered() <= FILE_PIECE);
        }
        // Announced longer than it is: an error, not a hang or a silent short response.
        let mut out = Output::default();
        out.push(
            0,
            Chunk::File(FileBody::new(File::open(&path).unwrap(), 400_000)),
        );
        out.push(0, Chunk::End(0, ResponseEnd::KeepAlive));
        let mut sink = FakeSink {
            room: usize::MAX / 2,
            ..FakeSink::default()
        };
        let err = out.flush(&mut sink, &mut |_, _| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn nothing_after_a_closing_response_is_written() {
        let mut out = Output::default();
        out.push_bytes(0, b"first");
        out.push(0, Chunk::End(0, ResponseEnd::Close));
        out.push_bytes(1, b"never");
        out.push(1, Chunk::End(1, ResponseEnd::KeepAlive));
        let mut sink = FakeSink {
            room: 1000,
            ..FakeSink::default()
        };
        let ends = flush_all(&mut out, &mut sink);
        assert_eq!(sink.got, b"first");
        assert_eq!(ends, [(0, ResponseEnd::Close)]);
        assert!(out.is_empty(), "the rest is dropped");
    }

    #[test]
    fn buffered_counts_rendered_bytes_only() {
        let mut out = Output::default();
        out.push_bytes(0, &[1; 100]);
        out.push(
            0,
            Chunk::Shared(SharedBytes::new(Arc::new(vec![2; 1000]), 0, 1000)),
        );
        out.push_bytes(1, &[3; 50]);
        assert_eq!(out.buffered(), 150);
        let mut sink = FakeSink {
            room: 120,
            ..FakeSink::default()
        };
        flush_all(&mut out, &mut sink);
        assert_eq!(
            out.buffered(),
            50,
            "the first 100 went, the shared body does not count"
        );
        out.clear();
        assert_eq!(out.buffered(), 0);
        assert!(out.is_empty());
    }
}
