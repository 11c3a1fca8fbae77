//! `xsd:dateTime` parsing for trusted lists (`crate::trust::tsl`).
//!
//! Owns: turning the lexical `xsd:dateTime` forms used in ETSI TS 119 612 lists
//! (`ListIssueDateTime`, `NextUpdate/dateTime`, `StatusStartingTime`,
//! `ExpiredCertsRevocationInfo`, …) into [`OffsetDateTime`] values normalised to UTC.
//! A value without a zone designator is taken as UTC, as EU DSS does.
//! Must not: interpret the dates (expiry, freshness and trust decisions belong to callers).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an `xsd:dateTime` (`YYYY-MM-DDThh:mm:ss[.f+][Z|(+|-)hh:mm]`).
///
/// Surrounding whitespace is ignored; a missing zone means UTC; the result is
/// converted to UTC. Returns `None` for anything else (negative or 5+-digit
/// years, `24:00:00`, out-of-range fields, trailing garbage).
pub(crate) fn parse_xsd_datetime(raw: &str) -> Option<OffsetDateTime> {
    let s = raw.trim();
    let (date_part, rest) = s.split_once('T')?;
    let date = parse_date(date_part)?;

    // Split off the zone designator, if any.
    let (time_part, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, UtcOffset::UTC)
    } else if rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-') {
        let (t, z) = rest.split_at(rest.len() - 6);
        (t, parse_offset(z)?)
    } else {
        (rest, UtcOffset::UTC)
    };
    let time = parse_time(time_part)?;
    let dt = PrimitiveDateTime::new(date, time).assume_offset(offset);
    // `to_offset` panics if the result leaves the supported range; check first.
    dt.checked_to_offset(UtcOffset::UTC)
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let year = i32::try_from(digits(y, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(m, 2)?).ok()?).ok()?;
    let day = u8::try_from(digits(d, 2)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn parse_time(s: &str) -> Option<Time> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let mut it = hms.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let h = u8::try_from(digits(h, 2)?).ok()?;
    let m = u8::try_from(digits(m, 2)?).ok()?;
    let sec = u8::try_from(digits(sec, 2)?).ok()?;
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Keep at most 9 digits (nanoseconds); extra precision is truncated.
            let mut n: u32 = 0;
            for (i, b) in f.bytes().take(9).enumerate() {
                n += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
            n
        }
        Some(_) => return None,
    };
    Time::from_hms_nano(h, m, sec, nanos).ok()
}

fn parse_offset(z: &str) -> Option<UtcOffset> {
    let sign: i8 = if z.starts_with('-') { -1 } else { 1 };
    let (h, m) = z.get(1..)?.split_once(':')?;
    let h = i8::try_from(digits(h, 2)?).ok()?;
    let m = i8::try_from(digits(m, 2)?).ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_xsd_datetime as p;
    use time::macros::datetime;

    #[test]
    fn forms() {
        assert_eq!(
            p("2026-05-22T13:16:35Z"),
            Some(datetime!(2026-05-22 13:16:35 UTC))
        );
        assert_eq!(
            p(" 2023-08-23T01:00:07Z\n"),
            Some(datetime!(2023-08-23 01:00:07 UTC))
        );
        assert_eq!(
            p("2022-06-27T11:30:08.032+02:00"),
            Some(datetime!(2022-06-27 09:30:08.032 UTC))
        );
        assert_eq!(
            p("2020-01-01T00:00:00"),
            Some(datetime!(2020-01-01 00:00:00 UTC))
        );
        assert_eq!(
            p("2020-01-01T00:00:00-01:30"),
            Some(datetime!(2020-01-01 01:30:00 UTC))
        );
        for bad in [
            "",
            "2020-01-01",
            "2020-13-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "20201-01-01T00:00:00Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00+25:00",
            "2020-01-01T00:00:00+ab:cd",
            "2020-01-01T00:00:00ZZ",
            "-001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-14:00",
        ] {
            assert!(p(bad).is_none(), "{bad}");
        }
    }
}
