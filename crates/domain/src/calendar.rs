//! Working-day calendars per jurisdiction: which days count under ALL Art. 82, loaded from data.
//!
//! ALL Art. 82 counts licensing periods in working days, excluding statutory holidays. A working
//! day is Monday to Friday, minus the statutory days off, plus the weekend days declared working
//! days (adjusted working days). A [`Calendar`] holds those exceptions for a contiguous range of
//! years (its *known range*); outside that range it falls back to plain Monday-Friday, and callers
//! (see [`crate::limit`]) flag any answer that depends on such days as provisional.
//!
//! New years arrive every November, so calendars are data: [`Calendar::from_csv`] reads the
//! `date,kind,name` format of `data/cn-statutory-calendar.csv`, and [`Calendar::merge_csv`] grows
//! a calendar by further years.
//!
//! Counting is O(1) and finding the n-th working day O(log n): within the known range a
//! prefix-sum array holds the number of working days before each day; outside it whole weeks are
//! counted arithmetically, so a deadline decades past the range costs the same as one inside it.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

mod csv;

use csv::parse_csv;

/// The bundled mainland China calendar: State Council holiday notices for 2004-2026.
const CHINA_CSV: &str = include_str!("../data/cn-statutory-calendar.csv");

/// Years a calendar may cover. Calendars describe administrative dates, and the bound keeps the
/// prefix-sum array small (at most 1,100 years of days) and all arithmetic far from chrono's limits.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// The longest calendar id, so ids fit in database keys and log lines.
const MAX_ID_LEN: usize = 32;

/// How a listed day departs from the Monday-Friday week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// A statutory day off: not a working day even when it falls on a weekday.
    Holiday,
    /// A Saturday or Sunday declared a working day (an adjusted working day).
    Workday,
}

impl DayKind {
    /// The spelling used in calendar files.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
}

impl fmt::Display for DayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One exception to the Monday-Friday week.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CalendarDay {
    /// The local date of the exception.
    pub date: NaiveDate,
    /// Whether the day is taken off or worked.
    pub kind: DayKind,
    /// The festival it belongs to ("Spring Festival"), used in deadline explanations.
    pub name: String,
}

/// The identifier of a jurisdiction's calendar: non-empty, at most 32 characters of `a-z`, `0-9`
/// and `-`, so it is safe in URLs, file names and database keys. `"cn"` is the bundled one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CalendarId(String);

impl CalendarId {
    /// Validates an id.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        if s.is_empty() {
            return Err(CalendarError::EmptyId);
        }
        let len = s.chars().count();
        if len > MAX_ID_LEN {
            return Err(CalendarError::IdTooLong {
                id: s.to_owned(),
                len,
            });
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(CalendarError::IdInvalidChar {
                id: s.to_owned(),
                ch,
            });
        }
        Ok(CalendarId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CalendarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CalendarId {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CalendarId::parse(s)
    }
}

impl TryFrom<String> for CalendarId {
    type Error = CalendarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CalendarId::parse(&s)
    }
}

impl From<CalendarId> for String {
    fn from(id: CalendarId) -> String {
        id.0
    }
}

impl AsRef<str> for CalendarId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a calendar or calendar id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar id is empty")]
    EmptyId,
    #[error("calendar id {id:?} is {len} characters long; at most 32 are allowed")]
    IdTooLong { id: String, len: usize },
    #[error("calendar id {id:?} contains {ch:?}; only a-z, 0-9 and '-' are allowed")]
    IdInvalidChar { id: String, ch: char },
    #[error(
        "year range {first_year}..={last_year} is invalid: the first year must not follow the \
         last, and both must lie within 1900..=2999"
    )]
    InvalidYearRange { first_year: i32, last_year: i32 },
    #[error("{date} lies outside the calendar's years {first_year}..={last_year}")]
    DayOutsideYears {
        date: NaiveDate,
        first_year: i32,
        last_year: i32,
    },
    #[error("{date} is listed more than once")]
    DuplicateDate { date: NaiveDate },
    #[error(
        "{date} is a {weekday}: only a Saturday or Sunday can be declared a working day \
         (a weekday is one already)"
    )]
    WorkdayOnWeekday { date: NaiveDate, weekday: Weekday },
    #[error("{date} has an empty name")]
    EmptyName { date: NaiveDate },
    #[error("expected the header line \"date,kind,name\", found {found:?}")]
    BadHeader { found: String },
    #[error("the {field} field is missing")]
    MissingField { field: &'static str },
    #[error("date {text:?} is not a valid YYYY-MM-DD date")]
    BadDate { text: String },
    #[error("kind {text:?} is unknown; expected \"holiday\" or \"workday\"")]
    UnknownKind { text: String },
    /// A problem on one line of a calendar file; `error` says which.
    #[error("line {line}: {error}")]
    Line {
        line: usize,
        error: Box<CalendarError>,
    },
    #[error("the calendar file lists no days, so its years are unknown")]
    NoDays,
    #[error(
        "cannot merge years {added_first}..={added_last} into a calendar of years \
         {known_first}..={known_last}: they overlap"
    )]
    OverlappingYears {
        known_first: i32,
        known_last: i32,
        added_first: i32,
        added_last: i32,
    },
    #[error(
        "cannot merge years {added_first}..={added_last} into a calendar of years \
         {known_first}..={known_last}: the known range would have a gap"
    )]
    NotContiguous {
        known_first: i32,
        known_last: i32,
        added_first: i32,
        added_last: i32,
    },
}

/// A jurisdiction's working-day calendar (ALL Art. 82).
#[derive(Clone, PartialEq)]
pub struct Calendar {
    /// Which jurisdiction this is, so cases name their calendar.
    id: CalendarId,
    /// The jurisdiction's offset from UTC: deadlines end at 24:00 local time.
    utc_offset: FixedOffset,
    /// The first year the exceptions cover.
    first_year: i32,
    /// The last year the exceptions cover.
    last_year: i32,
    /// The exceptions, sorted by date, for explanations.
    days: Vec<CalendarDay>,
    /// `cum[i]` = working days in `[range_start, range_start + i)`; one entry per day of the known
    /// range plus one, so counting is a subtraction and the n-th working day a binary search.
    cum: Vec<u32>,
    /// The day numbers (see [`day_number`]) of the first and last known day, kept so a lookup
    /// does no calendar arithmetic on the range itself.
    first_day: i64,
    last_day: i64,
}

impl fmt::Debug for Calendar {
    // The prefix-sum array and the full day list would drown any log line; show their sizes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("id", &self.id)
            .field("utc_offset", &self.utc_offset)
            .field("years", &(self.first_year..=self.last_year))
            .field("exceptions", &self.days.len())
            .finish_non_exhaustive()
    }
}

impl Calendar {
    /// Builds a calendar of `first_year..=last_year` from its exceptions (in any order).
    ///
    /// Refuses a day outside the years, a date listed twice, an empty name, and a `Workday` that
    /// is not a Saturday or Sunday (a weekday is a working day already, so such a line is a data
    /// error). A `Holiday` may fall on any day: notices list the weekend days of a break too.
    pub fn new(
        id: CalendarId,
        utc_offset: FixedOffset,
        first_year: i32,
        last_year: i32,
        days: Vec<CalendarDay>,
    ) -> Result<Self, CalendarError> {
        let mut days = days;
        days.sort_by_key(|d| d.date);
        if let Err((_, e)) = validate(first_year, last_year, &days) {
            return Err(e);
        }
        Ok(Self::build(id, utc_offset, first_year, last_year, days))
    }

    /// Reads a calendar file: `#` comment lines and blank lines are skipped, the first other line
    /// must be the header `date,kind,name`, then one `YYYY-MM-DD,holiday|workday,Name` per line
    /// (the name is the rest of the line, so it may contain commas). The known range is the
    /// first to the last year the file mentions. Errors name the 1-based line number.
    pub fn from_csv(
        id: CalendarId,
        utc_offset: FixedOffset,
        text: &str,
    ) -> Result<Self, CalendarError> {
        let (first_year, last_year, days) = parse_csv(text)?;
        Ok(Self::build(id, utc_offset, first_year, last_year, days))
    }

    /// Adds the years of another calendar file (same format as [`Calendar::from_csv`]), later or
    /// earlier than the known range, which must stay contiguous: a gap would leave years counted
    /// as plain Monday-Friday without being flagged. On error the calendar is unchanged.
    pub fn merge_csv(&mut self, text: &str) -> Result<(), CalendarError> {
        let (added_first, added_last, added) = parse_csv(text)?;
        let (known_first, known_last) = (self.first_year, self.last_year);
        if added_last >= known_first && added_first <= known_last {
            return Err(CalendarError::OverlappingYears {
                known_first,
                known_last,
                added_first,
                added_last,
            });
        }
        if added_first != known_last + 1 && added_last + 1 != known_first {
            return Err(CalendarError::NotContiguous {
                known_first,
                known_last,
                added_first,
                added_last,
            });
        }
        let mut days = std::mem::take(&mut self.days);
        days.extend(added);
        days.sort_by_key(|d| d.date);
        *self = Self::build(
            self.id.clone(),
            self.utc_offset,
            known_first.min(added_first),
            known_last.max(added_last),
            days,
        );
        Ok(())
    }

    /// The bundled mainland China calendar, 2004-2026, id `"cn"`, at UTC+08:00.
    ///
    /// A fixed offset is exact for Asia/Shanghai: China has observed no daylight saving time since
    /// 1991, before the first year this calendar covers.
    pub fn china() -> Calendar {
        static CHINA: OnceLock<Calendar> = OnceLock::new();
        CHINA
            .get_or_init(|| {
                let id = CalendarId::parse("cn").expect("\"cn\" is a valid id");
                let offset = crate::local::china_offset();
                // The bundled file is checked day by day by tests/calendar_data.rs.
                Calendar::from_csv(id, offset, CHINA_CSV).expect("the bundled calendar is valid")
            })
            .clone()
    }

    /// Which jurisdiction this calendar is for.
    pub fn id(&self) -> &CalendarId {
        &self.id
    }

    /// The jurisdiction's offset from UTC.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }

    /// The first and last day (1 January of the first year, 31 December of the last) for which
    /// the calendar knows the exceptions.
    pub fn known_range(&self) -> (NaiveDate, NaiveDate) {
        (self.range_start(), self.range_end())
    }

    /// The exceptions, sorted by date.
    pub fn days(&self) -> &[CalendarDay] {
        &self.days
    }

    /// Whether `d` lies within the known range, so its status is a fact rather than a guess.
    pub fn is_known(&self, d: NaiveDate) -> bool {
        (self.first_year..=self.last_year).contains(&d.year())
    }

    /// Whether `d` is a working day (ALL Art. 82). Outside the known range: plain Monday-Friday.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.range_index(d) {
            Some(i) => self.cum[i + 1] > self.cum[i],
            None => d.weekday().num_days_from_monday() < 5,
        }
    }

    /// The number of working days `d` with `a < d <= b` (0 when `b <= a`): the start day is not
    /// counted (Civil Code Art. 201). Constant time.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> u32 {
        let n = self.rank(b) - self.rank(a);
        u32::try_from(n.max(0)).unwrap_or(u32::MAX)
    }

    /// The `n`-th working day strictly after `a` (Civil Code Art. 201: the start day is not
    /// counted). For `n == 0`: `a` itself when it is a working day, else the next working day.
    /// Saturates at chrono's last representable date for absurd `n`. O(log n).
    pub fn add_working_days(&self, a: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 && self.is_working_day(a) {
            return a;
        }
        self.first_day_with_rank(self.rank(a) + i64::from(n.max(1)))
    }

    /// The exceptions with `a < date <= b`, for explanations.
    pub fn exceptions_between(&self, a: NaiveDate, b: NaiveDate) -> &[CalendarDay] {
        let lo = self.days.partition_point(|d| d.date <= a);
        let hi = self.days.partition_point(|d| d.date <= b);
        &self.days[lo..hi.max(lo)]
    }

    /// `t` as a person reads it in the jurisdiction ([`crate::local::local_time`]).
    pub fn local_time(&self, t: DateTime<Utc>) -> String {
        crate::local::local_time(self.utc_offset, t)
    }

    /// The date of instant `t` in the jurisdiction's local time.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.utc_offset).date_naive()
    }

    /// 24:00 local time of `d` (that is 00:00 local of the next day), as UTC: the instant a
    /// limit whose last day is `d` runs out. Saturates at chrono's last representable instant.
    pub fn end_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        d.succ_opt()
            .map(|next| next.and_time(NaiveTime::MIN))
            .and_then(|local| {
                local.checked_sub_signed(TimeDelta::seconds(i64::from(
                    self.utc_offset.local_minus_utc(),
                )))
            })
            .map_or(DateTime::<Utc>::MAX_UTC, |utc| utc.and_utc())
    }

    fn build(
        id: CalendarId,
        utc_offset: FixedOffset,
        first_year: i32,
        last_year: i32,
        days: Vec<CalendarDay>,
    ) -> Calendar {
        let start = year_start(first_year);
        let end = year_end(last_year);
        let len = usize::try_from((end - start).num_days() + 1).unwrap_or(0);
        let mut cum = Vec::with_capacity(len + 1);
        cum.push(0u32);
        let mut exceptions = days.iter().peekable();
        let mut count = 0u32;
        for date in start.iter_days().take(len) {
            let working = match exceptions.next_if(|e| e.date == date) {
                Some(e) => e.kind == DayKind::Workday,
                None => date.weekday().num_days_from_monday() < 5,
            };
            count += u32::from(working);
            cum.push(count);
        }
        Calendar {
            id,
            utc_offset,
            first_year,
            last_year,
            days,
            cum,
            first_day: day_number(start),
            last_day: day_number(end),
        }
    }

    fn range_start(&self) -> NaiveDate {
        year_start(self.first_year)
    }

    fn range_end(&self) -> NaiveDate {
        year_end(self.last_year)
    }

    /// The offset of `d` into the prefix-sum array, when `d` is within the known range.
    fn range_index(&self, d: NaiveDate) -> Option<usize> {
        let i = day_number(d) - self.first_day;
        usize::try_from(i).ok().filter(|&i| i + 1 < self.cum.len())
    }

    /// The number of working days in `[range_start, d]`, negative before the range: a running
    /// count, so `rank(b) - rank(a)` is the number of working days in `(a, b]`.
    fn rank(&self, d: NaiveDate) -> i64 {
        let k = day_number(d);
        let (r0, r1) = (self.first_day, self.last_day);
        if k < r0 {
            weekdays_before(k + 1) - weekdays_before(r0)
        } else if k > r1 {
            self.total() + weekdays_before(k + 1) - weekdays_before(r1 + 1)
        } else {
            i64::from(self.cum[usize::try_from(k - r0).unwrap_or(0) + 1])
        }
    }

    /// The earliest day whose rank reaches `t`: a working day, the `t`-th of the running count.
    fn first_day_with_rank(&self, t: i64) -> NaiveDate {
        let total = self.total();
        let k = if t <= 0 {
            nth_weekday(t - 1 + weekdays_before(self.first_day))
        } else if t <= total {
            let i = self.cum[1..].partition_point(|&c| i64::from(c) < t);
            self.first_day + i64::try_from(i).unwrap_or(0)
        } else {
            nth_weekday(t - total - 1 + weekdays_before(self.last_day + 1))
        };
        from_day_number(k)
    }

    fn total(&self) -> i64 {
        i64::from(self.cum.last().copied().unwrap_or(0))
    }
}

/// Days since Monday 0001-01-01 (proleptic Gregorian), so `rem_euclid(7)` is the weekday.
fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 1
}

fn from_day_number(k: i64) -> NaiveDate {
    let ce = k.saturating_add(1);
    match i32::try_from(ce)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
    {
        Some(d) => d,
        None if ce > 0 => NaiveDate::MAX,
        None => NaiveDate::MIN,
    }
}

/// The number of Mondays-Fridays among the day numbers `< x`, counted from day 0 (may be
/// negative): whole weeks give five each, the rest of a week at most five.
fn weekdays_before(x: i64) -> i64 {
    5 * x.div_euclid(7) + x.rem_euclid(7).min(5)
}

/// The day number of the `j`-th Monday-Friday (0-based from day 0, may be negative): the inverse
/// of [`weekdays_before`].
fn nth_weekday(j: i64) -> i64 {
    7 * j.div_euclid(5) + j.rem_euclid(5)
}

fn year_start(y: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn year_end(y: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Checks sorted days against the rules of [`Calendar::new`]; on failure returns the index of the
/// offending day, so the CSV reader can name its line.
fn validate(
    first_year: i32,
    last_year: i32,
    days: &[CalendarDay],
) -> Result<(), (usize, CalendarError)> {
    if first_year > last_year || !YEARS.contains(&first_year) || !YEARS.contains(&last_year) {
        return Err((
            0,
            CalendarError::InvalidYearRange {
                first_year,
                last_year,
            },
        ));
    }
    for (i, day) in days.iter().enumerate() {
        let date = day.date;
        if !(first_year..=last_year).contains(&date.year()) {
            return Err((
                i,
                CalendarError::DayOutsideYears {
                    date,
                    first_year,
                    last_year,
                },
            ));
        }
        if i > 0 && days[i - 1].date == date {
            return Err((i, CalendarError::DuplicateDate { date }));
        }
        let weekday = date.weekday();
        if day.kind == DayKind::Workday && !matches!(weekday, Weekday::Sat | Weekday::Sun) {
            return Err((i, CalendarError::WorkdayOnWeekday { date, weekday }));
        }
        if day.name.trim().is_empty() {
            return Err((i, CalendarError::EmptyName { date }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekday_arithmetic_inverts() {
        for j in -30..30 {
            let k = nth_weekday(j);
            assert!(k.rem_euclid(7) < 5, "day {k} is a weekday");
            assert_eq!(weekdays_before(k), j);
            assert_eq!(weekdays_before(k + 1), j + 1);
        }
        // Day 0 is a Monday: chrono agrees.
        assert_eq!(from_day_number(0).weekday(), Weekday::Mon);
        assert_eq!(day_number(d("0001-01-01")), 0);
    }

    #[test]
    fn ids_are_validated() {
        assert_eq!(CalendarId::parse("cn").unwrap().as_str(), "cn");
        assert_eq!(CalendarId::parse("cn-hk-2").unwrap().to_string(), "cn-hk-2");
        assert_eq!(CalendarId::parse(""), Err(CalendarError::EmptyId));
        assert!(matches!(
            CalendarId::parse("CN"),
            Err(CalendarError::IdInvalidChar { ch: 'C', .. })
        ));
        assert!(matches!(
            CalendarId::parse("cn sh"),
            Err(CalendarError::IdInvalidChar { ch: ' ', .. })
        ));
        assert!(CalendarId::parse(&"a".repeat(32)).is_ok());
        assert!(matches!(
            CalendarId::parse(&"a".repeat(33)),
            Err(CalendarError::IdTooLong { len: 33, .. })
        ));
    }

    #[test]
    fn new_validates_days() {
        let id = CalendarId::parse("t").unwrap();
        let utc = FixedOffset::east_opt(0).unwrap();
        let day = |date: &str, kind| CalendarDay {
            date: d(date),
            kind,
            name: "X".into(),
        };
        let new = |days| Calendar::new(id.clone(), utc, 2024, 2024, days);
        assert!(new(vec![day("2024-02-04", DayKind::Workday)]).is_ok());
        assert_eq!(
            new(vec![day("2024-02-05", DayKind::Workday)]),
            Err(CalendarError::WorkdayOnWeekday {
                date: d("2024-02-05"),
                weekday: Weekday::Mon
            })
        );
        assert_eq!(
            new(vec![
                day("2024-02-10", DayKind::Holiday),
                day("2024-02-10", DayKind::Holiday)
            ]),
            Err(CalendarError::DuplicateDate {
                date: d("2024-02-10")
            })
        );
        assert!(matches!(
            new(vec![day("2025-01-01", DayKind::Holiday)]),
            Err(CalendarError::DayOutsideYears { .. })
        ));
        assert!(matches!(
            Calendar::new(id.clone(), utc, 2025, 2024, vec![]),
            Err(CalendarError::InvalidYearRange { .. })
        ));
        // A year with no exceptions is plain Monday-Friday, and still known.
        let plain = new(vec![]).unwrap();
        assert!(plain.is_known(d("2024-06-01")));
        assert_eq!(
            plain.working_days_between(d("2023-12-31"), d("2024-12-31")),
            262
        );
    }

    #[test]
    fn end_of_day_is_local_midnight() {
        let cn = Calendar::china();
        let due = cn.end_of_day(d("2024-03-15"));
        assert_eq!(due.to_rfc3339(), "2024-03-15T16:00:00+00:00");
        assert_eq!(cn.local_date(due), d("2024-03-16"));
        assert_eq!(cn.local_date(due - TimeDelta::seconds(1)), d("2024-03-15"));
        assert_eq!(cn.end_of_day(NaiveDate::MAX), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn debug_is_short() {
        let s = format!("{:?}", Calendar::china());
        assert!(s.len() < 200, "{s}");
        assert!(s.contains("2004..=2026"), "{s}");
    }
}
