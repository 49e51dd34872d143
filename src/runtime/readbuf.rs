//! A connection's read buffer: bytes read from the socket and not consumed yet.
//!
//! The event loop parses heads out of it, a handler decodes its body from it, an upgraded
//! stream starts with what is left in it. Memory is attached only while bytes are in
//! flight (from a per-thread pool of standard buffers); an idle connection holds none.

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
        self.start = self.start.saturating_add(n).min(self.end);
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

    /// Frees the memory when nothing is buffered.
    #[cfg(test)]
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() && !self.data.is_empty() {
            *self = ReadBuf::default();
        }
    }

    /// Like [`release_if_empty`](Self::release_if_empty), but hands a standard-size buffer to
    /// `pool` for the next connection instead of freeing it.
    pub(crate) fn release_into(&mut self, pool: &mut BufferPool) {
        if self.is_empty() && !self.data.is_empty() {
            pool.put(std::mem::take(&mut self.data));
        }
    }

    /// Makes sure storage is attached, from this thread's pool when it has a buffer.
    pub(crate) fn attach_pooled(&mut self) {
        if self.data.is_empty() {
            let _ = POOL.try_with(|pool| self.attach(&mut pool.borrow_mut()));
        }
    }

    /// Gives the storage back to this thread's pool when nothing is buffered.
    pub(crate) fn release_pooled(&mut self) {
        if self.is_empty() && !self.data.is_empty() {
            let _ = POOL.try_with(|pool| self.release_into(&mut pool.borrow_mut()));
        }
    }

    /// Makes sure storage is attached, taking it from `pool` when possible.
    pub(crate) fn attach(&mut self, pool: &mut BufferPool) {
        if self.data.is_empty() {
            // (Empty storage means nothing is buffered: `start` and `end` are 0.)
            if let Some(data) = pool.take() {
                self.data = data;
            }
        }
    }

    /// How many bytes the buffer holds allocated.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }
}

/// Zeroed, standard-size buffers kept by the event loop between requests, so that a busy
/// connection going idle and a new request arriving do not cost an allocation, a clear and a
/// free each time. Bounded: beyond `MAX_POOLED`, buffers are freed.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    free: Vec<Vec<u8>>,
}

const MAX_POOLED: usize = 64;

thread_local! {
    /// Each thread that reads connections keeps a few standard buffers (the event loop's
    /// leader changes threads, so a shared pool would need a lock on every request).
    static POOL: std::cell::RefCell<BufferPool> = std::cell::RefCell::new(BufferPool::default());
}

impl BufferPool {
    fn take(&mut self) -> Option<Vec<u8>> {
        self.free.pop()
    }

    fn put(&mut self, data: Vec<u8>) {
        // Only standard-size buffers: a large head's grown buffer goes back to the allocator.
        // Stale bytes are harmless (only `start..end` is ever read), so no clearing.
        if data.len() == INITIAL && self.free.len() < MAX_POOLED {
            self.free.push(data);
        }
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

    #[test]
    fn pooled_storage_is_reused_and_bounded() {
        let mut pool = BufferPool::default();
        let mut b = ReadBuf::default();
        b.attach(&mut pool); // empty pool: nothing attached yet
        assert_eq!(b.capacity(), 0);
        b.spare()[0] = b'x';
        b.commit(1);
        b.release_into(&mut pool); // not empty: kept
        assert_eq!(b.capacity(), INITIAL);
        b.consume(1);
        b.release_into(&mut pool);
        assert_eq!(b.capacity(), 0);
        let mut c = ReadBuf::default();
        c.attach(&mut pool);
        assert_eq!(c.capacity(), INITIAL);
        assert!(c.is_empty(), "stale bytes are never visible");
        for _ in 0..MAX_POOLED + 10 {
            pool.put(vec![0; INITIAL]);
        }
        assert_eq!(pool.free.len(), MAX_POOLED);
        pool.put(vec![0; 2 * INITIAL]);
        assert_eq!(pool.free.len(), MAX_POOLED);
    }
}
