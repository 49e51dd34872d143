//! The `Date` header value (RFC 9110 §5.6.7 IMF-fixdate), cached per thread.
//!
//! ```text
//! http_date() ──> now (secs) == cached secs? ──yes──> cached 29 bytes
//!                               │no
//!                               └──> httpdate::fmt_http_date ──> cache ──> 29 bytes
//! ```
//!
//! # Invariants
//! - The value is formatted at most once per second per thread; the hot path is one
//!   `SystemTime::now()` and a copy of 29 bytes, with no lock and no allocation.
//! - The result is always exactly 29 ASCII bytes (`Sun, 06 Nov 1994 08:49:37 GMT`).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate.
pub(crate) const DATE_LEN: usize = 29;

thread_local! {
    /// (whole seconds since the epoch, formatted date); `u64::MAX` means "not yet filled".
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [b' '; DATE_LEN])) };
}

/// The current date as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date() -> [u8; DATE_LEN] {
    // std's clock (libc's vDSO, no system call). Not rustix's coarse clock: its own vDSO
    // lookup crashes programs run under valgrind (rustix issue 1559).
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let (cached_secs, cached) = cache.get();
        if cached_secs == secs {
            return cached;
        }
        let formatted = format_secs(secs);
        cache.set((secs, formatted));
        formatted
    })
}

/// Formats whole seconds since the epoch as an IMF-fixdate.
fn format_secs(secs: u64) -> [u8; DATE_LEN] {
    let time = UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH);
    let text = httpdate::fmt_http_date(time);
    let mut out = [b' '; DATE_LEN];
    // Always 29 bytes for years 1970..=9999; copy defensively anyway.
    let n = text.len().min(DATE_LEN);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        assert_eq!(&format_secs(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format_secs(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn current_date_parses_back() {
        let date = http_date();
        let text = std::str::from_utf8(&date).unwrap();
        let parsed = httpdate::parse_http_date(text).unwrap();
        let now = std::time::SystemTime::now();
        let diff = now.duration_since(parsed).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_secs(5));
        // A second call within the same second comes from the cache and is identical or newer.
        let again = http_date();
        assert!(httpdate::parse_http_date(std::str::from_utf8(&again).unwrap()).unwrap() >= parsed);
    }
}
