//! How a person reads an instant: the local time of the jurisdiction, in one format wherever a
//! person reads it (warning messages, withdrawal reasons, the CLI, the console): docs/design.md
//! §2 ("times a person reads").
//!
//! The format is `2024-03-05 09:00`. The midnight that ends a day is written `24:00` of that
//! day, as deadlines are (ALL Art. 82: a limit ends at the end of its last day), so that a
//! deadline ("due 2024-03-14 24:00") and the instant a clock passed it read alike.

use chrono::{DateTime, FixedOffset, NaiveTime, TimeDelta, Utc};

/// Mainland China's offset from UTC (Asia/Shanghai has kept +08:00 since 1991): the bundled
/// calendar's, and the one used where no calendar is at hand.
pub const CHINA_UTC_OFFSET_SECONDS: i32 = 8 * 3600;

/// [`CHINA_UTC_OFFSET_SECONDS`] as an offset.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(CHINA_UTC_OFFSET_SECONDS).expect("+08:00 is a valid offset")
}

/// `t` as a person reads it at `offset`: `2024-03-05 09:00`, or `2024-03-04 24:00` for the
/// midnight that ends 4 March.
pub fn local_time(offset: FixedOffset, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&offset);
    if local.time() == NaiveTime::MIN {
        let day = (local - TimeDelta::days(1)).date_naive();
        return format!("{day} 24:00");
    }
    local.format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn local_minutes_and_the_midnight_that_ends_a_day() {
        let cn = china_offset();
        assert_eq!(
            local_time(cn, utc("2024-03-05T01:00:00Z")),
            "2024-03-05 09:00"
        );
        // 24:00 of 14 March local is 16:00 UTC that day.
        assert_eq!(
            local_time(cn, utc("2024-03-14T16:00:00Z")),
            "2024-03-14 24:00"
        );
        // A second after midnight is the next day's.
        assert_eq!(
            local_time(cn, utc("2024-03-14T16:00:01Z")),
            "2024-03-15 00:00"
        );
        // The year ends at 24:00 of 31 December.
        assert_eq!(
            local_time(cn, utc("2024-12-31T16:00:00Z")),
            "2024-12-31 24:00"
        );
        let utc0 = FixedOffset::east_opt(0).unwrap();
        assert_eq!(
            local_time(utc0, utc("2024-03-01T00:00:00Z")),
            "2024-02-29 24:00"
        );
    }
}
