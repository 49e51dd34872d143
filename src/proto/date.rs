//! HTTP dates (RFC 9110 §5.6.7): the `Date` header value, cached per thread, and the parser
//! for the three date forms a client may send (`If-Modified-Since` and friends).
//!
//! ```text
//! http_date() ──> now (secs) == cached secs? ──yes──> cached 29 bytes
//!                               │no
//!                               └──> format_secs (civil calendar) ──> cache ──> 29 bytes
//! parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT" | "Sunday, 06-Nov-94 08:49:37 GMT" |
//!                 "Sun Nov  6 08:49:37 1994") ──> seconds since the epoch
//! ```
//!
//! # Invariants
//! - The value is formatted at most once per second per thread; the hot path is one
//!   `SystemTime::now()` and a copy of 29 bytes, with no lock and no allocation.
//! - `format_secs` always gives exactly 29 ASCII bytes, and `parse_http_date` reads back
//!   exactly what it formats (checked against the `httpdate` crate in the tests).

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate.
pub(crate) const DATE_LEN: usize = 29;

/// The latest date formatted: 9999-12-31 23:59:59 (four-digit years only).
const MAX_SECS: u64 = 253_402_300_799;

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

thread_local! {
    /// (whole seconds since the epoch, formatted date); `u64::MAX` means "not yet filled".
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [b' '; DATE_LEN])) };
}

/// The current date as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date() -> [u8; DATE_LEN] {
    // std's clock (libc's vDSO, no system call).
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

/// The civil date (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for the proleptic Gregorian calendar).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

// The parsing half serves conditional requests (`If-Modified-Since`), answered by the
// static-file module; until it lands only the tests use it.
#[allow(dead_code)]
/// Days since 1970-01-01 of a civil date (the inverse of `civil_from_days`); `None` before
/// the epoch.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year / 400;
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// Formats whole seconds since the epoch as an IMF-fixdate (clamped to year 9999).
pub(crate) fn format_secs(secs: u64) -> [u8; DATE_LEN] {
    let secs = secs.min(MAX_SECS);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = [b' '; DATE_LEN];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3] = b',';
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], rem / 3600);
    out[19] = b':';
    two_digits(&mut out[20..22], rem / 60 % 60);
    out[22] = b':';
    two_digits(&mut out[23..25], rem % 60);
    out[26..29].copy_from_slice(b"GMT");
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Parses an HTTP date in any of the three forms RFC 9110 §5.6.7 requires recipients to
/// accept: IMF-fixdate, the obsolete RFC 850 form (two-digit years: 70-99 are 19xx, the rest
/// 20xx) and asctime. Returns seconds since the epoch; `None` for anything else (a recipient
/// then ignores the field, RFC 9110 §13.1.3).
#[allow(dead_code)]
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let b = s.trim_matches(|c| c == ' ' || c == '\t').as_bytes();
    let (year, month, day, time) = if b.len() == 29 && b[3] == b',' {
        // Sun, 06 Nov 1994 08:49:37 GMT
        if b[4] != b' ' || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || &b[25..] != b" GMT" {
            return None;
        }
        weekday(&b[..3])?;
        (
            number(&b[12..16])?,
            month(&b[8..11])?,
            number(&b[5..7])?,
            &b[17..25],
        )
    } else if let Some(comma) = b.iter().position(|&c| c == b',') {
        // Sunday, 06-Nov-94 08:49:37 GMT
        let rest = &b[comma..];
        if rest.len() != 24 || rest[1] != b' ' || rest[4] != b'-' || rest[8] != b'-' {
            return None;
        }
        if rest[11] != b' ' || &rest[20..] != b" GMT" {
            return None;
        }
        long_weekday(&b[..comma])?;
        let yy = number(&rest[9..11])?;
        let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
        (
            year,
            month(&rest[5..8])?,
            number(&rest[2..4])?,
            &rest[12..20],
        )
    } else if b.len() == 24 {
        // Sun Nov  6 08:49:37 1994
        if b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
            return None;
        }
        weekday(&b[..3])?;
        let day = if b[8] == b' ' {
            number(&b[9..10])?
        } else {
            number(&b[8..10])?
        };
        (number(&b[20..24])?, month(&b[4..7])?, day, &b[11..19])
    } else {
        return None;
    };
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        number(&time[..2])?,
        number(&time[3..5])?,
        number(&time[6..8])?,
    );
    // A leap second (60) is accepted and counts as the next second.
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    // The day must exist (no 31 April): it formats back to the same calendar date.
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[allow(dead_code)]
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

#[allow(dead_code)]
fn month(name: &[u8]) -> Option<u64> {
    MONTHS
        .iter()
        .position(|m| m.as_slice() == name)
        .map(|i| i as u64 + 1)
}

#[allow(dead_code)]
fn weekday(name: &[u8]) -> Option<()> {
    DAYS.iter().any(|d| d.as_slice() == name).then_some(())
}

#[allow(dead_code)]
fn long_weekday(name: &[u8]) -> Option<()> {
    const LONG: [&[u8]; 7] = [
        b"Monday",
        b"Tuesday",
        b"Wednesday",
        b"Thursday",
        b"Friday",
        b"Saturday",
        b"Sunday",
    ];
    LONG.contains(&name).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        assert_eq!(&format_secs(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format_secs(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format_secs(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format_secs(MAX_SECS), b"Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(&format_secs(u64::MAX), b"Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn parses_the_three_forms_of_rfc_9110() {
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "  Sun, 06 Nov 1994 08:49:37 GMT ",
        ] {
            assert_eq!(parse_http_date(s), Some(784_111_777), "{s:?}");
        }
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Monday, 01-Jan-01 00:00:00 GMT"),
            Some(978_307_200)
        );
    }

    #[test]
    fn refuses_malformed_dates() {
        for s in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 19x4 08:49:37 GMT",
            "Sun, 06 Nov 1994 08-49-37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 06 08:49:37 94",
        ] {
            assert_eq!(parse_http_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn matches_httpdate_everywhere_it_is_sampled() {
        // Every day of a 400-year cycle and then some, at varying times of day.
        let mut secs = 0u64;
        while secs < 20_000_000_000 {
            let ours = format_secs(secs);
            let text = std::str::from_utf8(&ours).unwrap();
            let theirs = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(text, theirs, "{secs}");
            assert_eq!(parse_http_date(text), Some(secs), "{text}");
            secs += 86_400 * 3 + 3_601 + secs % 7;
        }
    }

    #[test]
    fn current_date_is_now_and_cached() {
        let date = http_date();
        let text = std::str::from_utf8(&date).unwrap();
        let parsed = parse_http_date(text).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(parsed) < 5);
        let again = http_date();
        assert!(parse_http_date(std::str::from_utf8(&again).unwrap()).unwrap() >= parsed);
    }
}
