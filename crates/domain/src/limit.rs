//! Time-limit arithmetic (DESIGN §2): when a limit of N working or calendar days runs out, given
//! its start, suspensions and extensions, with an explanation a supervisor can check by hand.
//!
//! The rules, each from the law:
//! - ALL Art. 82: licensing periods count working days, as the [`Calendar`] defines them.
//! - Civil Code Art. 201: the start day is not counted; a limit of N working days starting on A
//!   ends at 24:00 local time of the N-th working day strictly after A.
//! - ALL Art. 45: time spent in special procedures (hearing, testing, expert review ...) is not
//!   counted; the days d with `start < d <= end` of a suspension are added to the limit.
//! - ALL Art. 42: an extension adds units to the limit, in the limit's own unit.

use std::fmt;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarDay, DayKind};

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Working days under ALL Art. 82: the default for licensing periods.
    WorkingDays,
    /// Calendar days, for the regulations that count them; holidays do not matter.
    CalendarDays,
}

impl LimitUnit {
    /// The unit's name for `amount` of it: "1 working day", "2 working days".
    fn noun(self, amount: u32) -> &'static str {
        match (self, amount) {
            (LimitUnit::WorkingDays, 1) => "working day",
            (LimitUnit::WorkingDays, _) => "working days",
            (LimitUnit::CalendarDays, 1) => "calendar day",
            (LimitUnit::CalendarDays, _) => "calendar days",
        }
    }
}

/// A time limit: "20 working days".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limit {
    /// How many units; 0 means the same working day (immediate items).
    pub amount: u32,
    /// What is counted.
    pub unit: LimitUnit,
}

impl Limit {
    /// A limit of `amount` working days.
    pub fn working_days(amount: u32) -> Self {
        Limit {
            amount,
            unit: LimitUnit::WorkingDays,
        }
    }

    /// A limit of `amount` calendar days.
    pub fn calendar_days(amount: u32) -> Self {
        Limit {
            amount,
            unit: LimitUnit::CalendarDays,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.noun(self.amount))
    }
}

/// A period in which the clock stands still (ALL Art. 45), in local dates: the days `d` with
/// `start < d <= end` are not counted, the same half-open convention as the start of a limit.
/// A suspension with `end <= start` covers no day. Overlapping suspensions count each day once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Suspension {
    /// The local date the suspension began; itself still counted.
    pub start: NaiveDate,
    /// The local date the suspension ended (or is planned to end); the last day not counted.
    pub end: NaiveDate,
}

/// The facts a deadline depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineInput<'a> {
    /// Local date of the event that starts the clock; not counted (Civil Code Art. 201).
    pub start: NaiveDate,
    /// The limit as the catalogue or the law sets it.
    pub limit: Limit,
    /// Extra units granted by extensions (ALL Art. 42), in the limit's unit.
    pub extension: u32,
    /// Every suspension of the case, in any order; those before `start` do not matter.
    pub suspensions: &'a [Suspension],
}

/// When a limit runs out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The last day of the limit (local date).
    pub last_day: NaiveDate,
    /// 24:00 local time of `last_day`, as UTC: the instant the limit is missed.
    pub due_at: DateTime<Utc>,
    /// True when a working-day limit's answer rests on days outside the calendar's known range
    /// (the start day or the last day lies outside it): flagged, never silently wrong. Always
    /// false for calendar-day limits, which do not depend on the holiday calendar.
    pub provisional: bool,
    /// Days added for suspensions: working days for a working-day limit, calendar days for a
    /// calendar-day limit. Equals the number of distinct suspended days after `start` up to
    /// `last_day`.
    pub suspended: u32,
    /// One line a person can check by hand; see [`deadline_explained`] for its grammar.
    pub explanation: String,
}

/// The deadline of `input`, explained with the neutral start label "started".
pub fn deadline(cal: &Calendar, input: &DeadlineInput) -> Deadline {
    deadline_explained(cal, input, "started")
}

/// The deadline of `input`; `start_label` names the event that started the clock ("accepted",
/// "received", "approved") in the explanation, whose form is
///
/// `LABEL YYYY-MM-DD, LIMIT[; EXCEPTIONS][; extended by N UNITS][; N UNITS suspended][; provisional: ...] -> due YYYY-MM-DD 24:00`
///
/// EXCEPTIONS (working-day limits only) lists the calendar's exceptions after the start day up to
/// the last day: runs of consecutive days off of one festival ("Spring Festival days off
/// 02-10..02-17 skipped", or "... day off 10-06 skipped" for one day), then the adjusted working
/// days ("the adjusted working day 02-18 counted", "the adjusted working days 09-28, 10-11
/// counted"). Dates there are MM-DD, or YYYY-MM-DD when the start and the last day lie in
/// different years. The provisional clause reads "provisional: LAST is beyond the calendar's
/// known range (to YYYY-12-31)" and/or "provisional: START is before the calendar's known range
/// (from YYYY-01-01)".
///
/// The rules:
/// - The start day is not counted (Civil Code Art. 201): N working days from A end with the
///   N-th working day strictly after A (ALL Art. 82); N calendar days end on A + N.
/// - Amount 0 (immediate items): a working-day limit is due at the end of A if A is a working
///   day, else at the end of the next working day; a calendar-day limit at the end of A.
/// - The extension adds to the amount (ALL Art. 42).
/// - Suspended days are not counted (ALL Art. 45): every suspended day in the running period is
///   added, which lengthens the period and may take in more suspended days. The fixpoint of that
///   process is the day on which the N-th *unsuspended* day is reached, and that is computed
///   directly by walking the merged suspensions in order: O(k log k) in the number of
///   suspensions, never a walk over days.
pub fn deadline_explained(cal: &Calendar, input: &DeadlineInput, start_label: &str) -> Deadline {
    let start = input.start;
    let unit = input.limit.unit;
    let amount = u64::from(input.limit.amount) + u64::from(input.extension);
    let suspended_runs = merge_suspensions(start, input.suspensions);

    let (last_day, suspended) = match unit {
        LimitUnit::WorkingDays => {
            if amount == 0 && cal.is_working_day(start) {
                // Immediate item on a working day: due the same day; no later day is counted,
                // so no suspension can touch it.
                (start, 0)
            } else {
                // On a day off, "the same working day" is the next one: count one.
                let n = amount.max(1);
                let last = nth_unsuspended(
                    start,
                    n,
                    &suspended_runs,
                    |p, q| u64::from(cal.working_days_between(p, q)),
                    |p, m| cal.add_working_days(p, clamp_u32(m)),
                );
                let spanned = u64::from(cal.working_days_between(start, last));
                (last, spanned.saturating_sub(n))
            }
        }
        LimitUnit::CalendarDays => {
            if amount == 0 {
                (start, 0)
            } else {
                let last = nth_unsuspended(start, amount, &suspended_runs, days_between, add_days);
                (last, days_between(start, last).saturating_sub(amount))
            }
        }
    };

    let (range_start, range_end) = cal.known_range();
    let before_range = unit == LimitUnit::WorkingDays && start < range_start;
    let beyond_range = unit == LimitUnit::WorkingDays && last_day > range_end;
    let suspended = clamp_u32(suspended);

    let mut text = format!("{start_label} {start}, {}", input.limit);
    if unit == LimitUnit::WorkingDays {
        let exceptions = cal.exceptions_between(start, last_day);
        if !exceptions.is_empty() {
            let with_year = start.year() != last_day.year();
            text.push_str("; ");
            text.push_str(&describe_exceptions(exceptions, with_year));
        }
    }
    if input.extension > 0 {
        let _ = write!(
            text,
            "; extended by {} {}",
            input.extension,
            unit.noun(input.extension)
        );
    }
    if suspended > 0 {
        let _ = write!(text, "; {suspended} {} suspended", unit.noun(suspended));
    }
    if before_range {
        let _ = write!(
            text,
            "; provisional: {start} is before the calendar's known range (from {range_start})"
        );
    }
    if beyond_range {
        let _ = write!(
            text,
            "; provisional: {last_day} is beyond the calendar's known range (to {range_end})"
        );
    }
    let _ = write!(text, " -> due {last_day} 24:00");

    Deadline {
        last_day,
        due_at: cal.end_of_day(last_day),
        provisional: before_range || beyond_range,
        suspended,
        explanation: text,
    }
}

/// Remaining working days from `today` (a local date) to the deadline, for the "approaching
/// deadline" rule: the working days `d` with `today < d <= last_day`, 0 once it has passed.
/// Suspensions not yet recorded are, naturally, not foreseen.
pub fn remaining_working_days(cal: &Calendar, today: NaiveDate, deadline: &Deadline) -> u32 {
    cal.working_days_between(today, deadline.last_day)
}

/// The suspensions as disjoint, sorted half-open runs `(from, to]` of days after `start`
/// (ALL Art. 45; days up to `start` are not in the running period anyway). Overlapping or
/// touching suspensions merge, so each day is counted once.
fn merge_suspensions(start: NaiveDate, suspensions: &[Suspension]) -> Vec<(NaiveDate, NaiveDate)> {
    let mut runs: Vec<(NaiveDate, NaiveDate)> = suspensions
        .iter()
        .map(|s| (s.start.max(start), s.end))
        .filter(|(from, to)| to > from)
        .collect();
    runs.sort_unstable();
    let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(runs.len());
    for (from, to) in runs {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// The day on which the `n`-th (n >= 1) unsuspended unit after `start` is reached, where
/// `count(p, q)` counts the units in `(p, q]` and `advance(p, m)` finds the `m`-th unit after
/// `p`. Between suspensions every unit counts; inside one none does; so walk the runs, spending
/// the units available before each, and jump over it.
fn nth_unsuspended(
    start: NaiveDate,
    n: u64,
    runs: &[(NaiveDate, NaiveDate)],
    count: impl Fn(NaiveDate, NaiveDate) -> u64,
    advance: impl Fn(NaiveDate, u64) -> NaiveDate,
) -> NaiveDate {
    let mut at = start;
    let mut remaining = n;
    for &(from, to) in runs {
        let available = count(at, from);
        if available >= remaining {
            return advance(at, remaining);
        }
        remaining -= available;
        at = to;
    }
    advance(at, remaining)
}

/// Calendar days `d` with `a < d <= b`.
fn days_between(a: NaiveDate, b: NaiveDate) -> u64 {
    u64::try_from((b - a).num_days()).unwrap_or(0)
}

/// `a` plus `m` calendar days, saturating at chrono's last date.
fn add_days(a: NaiveDate, m: u64) -> NaiveDate {
    i64::try_from(m)
        .ok()
        .and_then(TimeDelta::try_days)
        .and_then(|delta| a.checked_add_signed(delta))
        .unwrap_or(NaiveDate::MAX)
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// "Spring Festival days off 02-10..02-17 skipped, the adjusted working day 02-18 counted".
fn describe_exceptions(exceptions: &[CalendarDay], with_year: bool) -> String {
    let fmt_date = |d: NaiveDate| {
        if with_year {
            d.to_string()
        } else {
            format!("{:02}-{:02}", d.month(), d.day())
        }
    };
    let mut parts: Vec<String> = Vec::new();

    // Runs of consecutive days off with the same festival name.
    let mut i = 0;
    let holidays: Vec<&CalendarDay> = exceptions
        .iter()
        .filter(|e| e.kind == DayKind::Holiday)
        .collect();
    while i < holidays.len() {
        let first = holidays[i];
        let mut j = i;
        while j + 1 < holidays.len()
            && holidays[j + 1].name == first.name
            && holidays[j].date.succ_opt() == Some(holidays[j + 1].date)
        {
            j += 1;
        }
        let last = holidays[j];
        if i == j {
            parts.push(format!(
                "{} day off {} skipped",
                first.name,
                fmt_date(first.date)
            ));
        } else {
            parts.push(format!(
                "{} days off {}..{} skipped",
                first.name,
                fmt_date(first.date),
                fmt_date(last.date)
            ));
        }
        i = j + 1;
    }

    let workdays: Vec<String> = exceptions
        .iter()
        .filter(|e| e.kind == DayKind::Workday)
        .map(|e| fmt_date(e.date))
        .collect();
    match workdays.len() {
        0 => {}
        1 => parts.push(format!("the adjusted working day {} counted", workdays[0])),
        _ => parts.push(format!(
            "the adjusted working days {} counted",
            workdays.join(", ")
        )),
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn limit_display_and_serde() {
        assert_eq!(Limit::working_days(20).to_string(), "20 working days");
        assert_eq!(Limit::working_days(1).to_string(), "1 working day");
        assert_eq!(Limit::calendar_days(30).to_string(), "30 calendar days");
        assert_eq!(
            serde_name(LimitUnit::WorkingDays),
            "working_days".to_owned()
        );
        assert_eq!(
            serde_name(LimitUnit::CalendarDays),
            "calendar_days".to_owned()
        );
    }

    /// The serde name of a unit, read back through `Deserialize` from the same string, without a
    /// JSON dependency in this pure crate.
    fn serde_name(unit: LimitUnit) -> String {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        for name in ["working_days", "calendar_days"] {
            let de: StrDeserializer<'_, Error> = name.into_deserializer();
            if LimitUnit::deserialize(de) == Ok(unit) {
                return name.to_owned();
            }
        }
        panic!("no serde name for {unit:?}")
    }

    #[test]
    fn suspensions_merge_and_clip() {
        let s = |a: &str, b: &str| Suspension {
            start: d(a),
            end: d(b),
        };
        let runs = merge_suspensions(
            d("2024-03-01"),
            &[
                s("2024-03-10", "2024-03-12"),
                s("2024-02-20", "2024-03-03"), // clipped to after the start
                s("2024-03-11", "2024-03-15"), // overlaps the first
                s("2024-03-20", "2024-03-20"), // empty
                s("2024-03-25", "2024-03-22"), // reversed: empty
                s("2024-02-01", "2024-02-10"), // entirely before the start
            ],
        );
        assert_eq!(
            runs,
            vec![
                (d("2024-03-01"), d("2024-03-03")),
                (d("2024-03-10"), d("2024-03-15"))
            ]
        );
    }
}
