//! A connection's read buffer: bytes read from the socket and not consumed yet.
//!
//! It travels with the read side: the event loop parses heads out of it, lends it to the body
//! reader of a request, gets it back with any pipelined bytes, and hands it to an upgraded
//! stream. Memory is allocated only while bytes are in flight; an idle connection holds none.

/// Bytes `data[start..end]` are unconsumed; `data` is fully initialised up to its length.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// The first allocation; grows by doubling while a large head arrives.
const INITIAL: usize = 8 * 1024;

impl ReadBuf {
    /// The unconsumed bytes.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// True when nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into: at least `INITIAL` bytes or the free tail, compacting or doubling
    /// as needed. Growth is bounded by the caller, who stops reading at its size limit.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.data.is_empty() {
            self.data = vec![0; INITIAL];
        } else if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let len = self.data.len() * 2;
                self.data.resize(len, 0);
            }
        }
        &mut self.data[self.end..]
    }

    /// Records that `n` bytes were read into [`spare`](Self::spare).
    pub(crate) fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Frees the memory when nothing is buffered (idle keep-alive connections hold none).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() && !self.data.is_empty() {
            *self = ReadBuf::default();
        }
    }

    /// How many bytes the buffer holds allocated.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_consume_compact_grow() {
        let mut b = ReadBuf::default();
        assert_eq!(b.capacity(), 0);
        let s = b.spare();
        s[..3].copy_from_slice(b"abc");
        b.commit(3);
        assert_eq!(b.filled(), b"abc");
        b.consume(1);
        assert_eq!(b.filled(), b"bc");
        // Fill to the end: the next spare() compacts instead of growing.
        let n = b.spare().len();
        b.commit(n);
        assert_eq!(b.filled().len(), INITIAL - 1);
        assert_eq!(b.spare().len(), 1);
        assert_eq!(b.capacity(), INITIAL);
        b.commit(1);
        // Full with start == 0: grows.
        assert!(!b.spare().is_empty());
        assert_eq!(b.capacity(), 2 * INITIAL);
        assert_eq!(&b.filled()[..2], b"bc");
        b.consume(usize::MAX);
        assert!(b.is_empty());
        b.release_if_empty();
        assert_eq!(b.capacity(), 0);
    }
}
