//! How long a client may keep the server waiting to accept response bytes: pure arithmetic
//! over instants the caller hands in (tested with injected instants below).
//!
//! ```text
//!   write ─► socket full ─► blocked(now) ──(writable)──► progress(n, now) ─► ... ─► idle
//!                              │
//!                              └─ deadline(): the stall limit from when the wait began, and
//!                                 the minimum rate over the time spent waiting so far
//! ```
//!
//! Only time spent waiting for the client counts: a client that keeps up is never cut off,
//! however slowly the response is produced. Once a client has kept the server waiting, the
//! bytes it accepted since must keep up with the minimum rate over the waiting time, after a
//! grace period (so a paused download survives a while).
//!
//! # Invariants
//! - No deadline exists while nothing is waiting to be written (`deadline` is `None` unless
//!   `blocked` was the last event).
//! - The deadline never comes before `grace` of accumulated waiting, nor more than `stall`
//!   after the current wait began.

use std::time::{Duration, Instant};

use crate::proto::h1::conn::{earliest, rate_allowance};

/// The write-side limits: `stall` bounds each wait, `min_rate` (bytes/s, grace) the
/// accumulated waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteLimits {
    pub(crate) stall: Option<Duration>,
    pub(crate) min_rate: Option<(u64, Duration)>,
}

/// One connection's record of waiting for its client.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteMeter {
    /// When the current wait began (the socket was full with bytes pending).
    waiting_since: Option<Instant>,
    /// Time spent waiting in earlier, finished waits.
    waited: Duration,
    /// Bytes accepted since the first wait (`None` before any).
    bytes: Option<u64>,
    /// Only the stall limit applies (upgraded streams and raw writers set their own pace).
    stall_only: bool,
}

impl WriteMeter {
    /// From now on only the stall limit applies.
    pub(crate) fn set_stall_only(&mut self) {
        self.stall_only = true;
    }

    /// The socket is full and bytes are pending: a wait begins (if one has not already).
    pub(crate) fn blocked(&mut self, now: Instant) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
            self.bytes.get_or_insert(0);
        }
    }

    /// The socket took `n` bytes: any wait in progress ends.
    pub(crate) fn progress(&mut self, n: u64, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.waited = self
                .waited
                .saturating_add(now.saturating_duration_since(since));
        }
        if let Some(bytes) = &mut self.bytes {
            *bytes = bytes.saturating_add(n);
        }
    }

    /// Nothing is pending any more (the response went out whole): the current wait, if any,
    /// ends without progress being required.
    pub(crate) fn idle(&mut self, now: Instant) {
        self.progress(0, now);
    }

    /// When the wait in progress must end.
    pub(crate) fn deadline(&self, limits: &WriteLimits) -> Option<Instant> {
        let since = self.waiting_since?;
        let stall = limits.stall.and_then(|d| since.checked_add(d));
        let rate = limits
            .min_rate
            .filter(|_| !self.stall_only)
            .and_then(|rate| {
                let allowed = rate_allowance(self.bytes.unwrap_or(0), rate);
                since.checked_add(allowed.saturating_sub(self.waited))
            });
        earliest(stall, rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn limits() -> WriteLimits {
        WriteLimits {
            stall: Some(60 * S),
            min_rate: Some((1000, 10 * S)),
        }
    }

    #[test]
    fn no_deadline_without_a_wait() {
        let mut m = WriteMeter::default();
        assert_eq!(m.deadline(&limits()), None);
        let t0 = Instant::now();
        m.progress(1_000_000, t0);
        assert_eq!(m.deadline(&limits()), None);
        m.blocked(t0);
        assert!(m.deadline(&limits()).is_some());
        m.idle(t0 + S);
        assert_eq!(m.deadline(&limits()), None);
    }

    #[test]
    fn the_first_wait_gets_the_grace_period() {
        let t0 = Instant::now();
        let mut m = WriteMeter::default();
        m.blocked(t0);
        assert_eq!(m.deadline(&limits()), Some(t0 + 10 * S));
        // A second `blocked` during the same wait changes nothing.
        m.blocked(t0 + 5 * S);
        assert_eq!(m.deadline(&limits()), Some(t0 + 10 * S));
    }

    #[test]
    fn a_reader_at_the_minimum_rate_is_never_cut_off() {
        // 1000 B/s minimum: a client taking 2000 bytes per second of waiting earns time.
        let t0 = Instant::now();
        let mut m = WriteMeter::default();
        let mut now = t0;
        for _ in 0..100 {
            m.blocked(now);
            let deadline = m.deadline(&limits()).unwrap();
            now += S;
            assert!(now < deadline, "cut off at {:?}", now - t0);
            m.progress(2000, now);
        }
    }

    #[test]
    fn a_slow_reader_is_cut_off_after_the_grace() {
        // 100 bytes per second of waiting against a 1000 B/s minimum.
        let t0 = Instant::now();
        let mut m = WriteMeter::default();
        let mut now = t0;
        let cut = loop {
            m.blocked(now);
            let deadline = m.deadline(&limits()).unwrap();
            if now + S >= deadline {
                break deadline;
            }
            now += S;
            m.progress(100, now);
        };
        // 10 s of grace covers 10 seconds of waiting (1000 bytes earn only 1 s).
        assert_eq!(cut, t0 + 10 * S);
    }

    #[test]
    fn time_not_spent_waiting_does_not_count() {
        // The handler produces slowly: long gaps with nothing pending, short waits.
        let t0 = Instant::now();
        let mut m = WriteMeter::default();
        let mut now = t0;
        for _ in 0..50 {
            m.blocked(now);
            now += Duration::from_millis(100);
            m.progress(10, now);
            m.idle(now);
            now += 10 * S; // no bytes pending: not waiting
        }
        m.blocked(now);
        // Waited 5 s in all; 500 bytes earn 0.5 s; the grace (10 s) still has 5 s left.
        assert_eq!(m.deadline(&limits()), Some(now + 5 * S));
    }

    #[test]
    fn the_stall_limit_bounds_each_wait_and_stall_only_skips_the_rate() {
        let t0 = Instant::now();
        let l = WriteLimits {
            stall: Some(3 * S),
            min_rate: Some((1, 100 * S)),
        };
        let mut m = WriteMeter::default();
        m.blocked(t0);
        assert_eq!(m.deadline(&l), Some(t0 + 3 * S));
        let mut raw = WriteMeter::default();
        raw.set_stall_only();
        raw.blocked(t0);
        let only_rate = WriteLimits {
            stall: None,
            min_rate: Some((1, S)),
        };
        assert_eq!(raw.deadline(&only_rate), None);
        assert_eq!(raw.deadline(&l), Some(t0 + 3 * S));
    }
}
