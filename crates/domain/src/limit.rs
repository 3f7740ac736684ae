//! Time-limit arithmetic (docs/design.md §2): when a limit of N working or calendar days runs out, given
//! its start, suspensions and extensions, with an explanation a supervisor can check by hand.
//!
//! The rules, each from the law:
//! - ALL Art. 82: licensing periods count working days, as the [`Calendar`] defines them.
//! - Civil Code Art. 201: the start day is not counted; a limit of N working days starting on A
//!   ends at 24:00 local time of the N-th working day strictly after A.
//! - ALL Art. 45: time spent in special procedures (hearing, testing, expert review ...) is not
//!   counted; the days d with `start < d <= end` of a suspension are added to the limit.
//! - ALL Art. 42: an extension adds units to the limit, in the limit's own unit.
//! - Civil Code Art. 203: a calendar-day limit whose last day is a statutory rest day ends on the
//!   first working day after the rest.
//! - Events change a limit only while it runs, in the order they happened: each suspension or
//!   extension is judged against the due instant as the events before it left it ([`LimitEvent`]).

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

/// The facts a deadline depends on, when the events' order is that of their dates: the
/// extension is granted at the start, the suspensions come in the order of their start days.
/// Clocks of cases, whose events have instants, use [`LimitEvent`]s and
/// [`deadline_in_order`].
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

/// What happened to a limit while it may have been running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitEventKind {
    /// A special procedure (ALL Art. 45) that began on the event's day and ended (or is planned
    /// to end) on `end`: the units `d` with `on < d <= end` are added to the limit.
    Suspension { end: NaiveDate },
    /// An extension (ALL Art. 42) of `units` in the limit's own unit.
    Extension { units: u32 },
}

impl LimitEventKind {
    fn noun(self) -> &'static str {
        match self {
            LimitEventKind::Suspension { .. } => "suspension",
            LimitEventKind::Extension { .. } => "extension",
        }
    }
}

/// An event of a limit, on the local date it happened. It counts when it happened before the
/// limit's due instant (24:00 of its last day) as the earlier events left it, that is when
/// `on <= last_day`: a suspension that starts on the last day itself still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitEvent {
    pub on: NaiveDate,
    pub kind: LimitEventKind,
}

/// A limit and its events in the order they happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderedInput<'a> {
    /// Local date of the event that starts the clock; not counted (Civil Code Art. 201).
    pub start: NaiveDate,
    /// The limit as the catalogue or the law sets it.
    pub limit: Limit,
    /// The events, in time order (the order they are applied in).
    pub events: &'a [LimitEvent],
    /// What the explanation calls the limit when an event comes too late ("promised limit").
    pub name: &'a str,
}

/// The deadline of an [`OrderedInput`], with what became of each event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedDeadline {
    pub deadline: Deadline,
    /// Extension units applied (those that came in time).
    pub extension: u32,
    /// One per event, in order: None when it counted, or the last day of the limit it came
    /// after (it happened after 24:00 of that day, when the limit had passed).
    pub passed: Vec<Option<NaiveDate>>,
}

/// When a limit runs out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The last day of the limit (local date).
    pub last_day: NaiveDate,
    /// 24:00 local time of `last_day`, as UTC: the instant the limit is missed.
    pub due_at: DateTime<Utc>,
    /// True when the answer rests on days outside the calendar's known range: for a
    /// working-day limit the start day or the last day lies outside it; for a calendar-day
    /// limit the day its count ends on or its last day does (Civil Code Art. 203 needs to know
    /// whether that day is a rest day). Flagged, never silently wrong.
    pub provisional: bool,
    /// Units added for the suspensions that counted: working days for a working-day limit,
    /// calendar days for a calendar-day limit. Each suspended day is added once, also when
    /// suspensions overlap.
    pub suspended: u32,
    /// One line a person can check by hand; see [`deadline_explained`] for its grammar.
    pub explanation: String,
    /// For a calendar-day limit whose count ended on a rest day: that day, from which Civil
    /// Code Art. 203 moved `last_day` to the first working day after it.
    #[serde(default)]
    pub moved_from: Option<NaiveDate>,
}

/// The deadline of `input`, explained with the neutral start label "started".
pub fn deadline(cal: &Calendar, input: &DeadlineInput) -> Deadline {
    deadline_explained(cal, input, "started")
}

/// The deadline of `input` ([`DeadlineInput`]: the extension first, then the suspensions by
/// their start days), as [`deadline_in_order`] computes it; `start_label` names the event that
/// started the clock ("accepted", "received", "approved") in the explanation.
pub fn deadline_explained(cal: &Calendar, input: &DeadlineInput, start_label: &str) -> Deadline {
    let mut suspensions = input.suspensions.to_vec();
    suspensions.sort_unstable_by_key(|s| (s.start, s.end));
    let events: Vec<LimitEvent> = (input.extension > 0)
        .then_some(LimitEvent {
            on: input.start,
            kind: LimitEventKind::Extension {
                units: input.extension,
            },
        })
        .into_iter()
        .chain(suspensions.iter().map(|s| LimitEvent {
            on: s.start,
            kind: LimitEventKind::Suspension { end: s.end },
        }))
        .collect();
    deadline_in_order(
        cal,
        &OrderedInput {
            start: input.start,
            limit: input.limit,
            events: &events,
            name: "limit",
        },
        start_label,
    )
    .deadline
}

/// The deadline of a limit whose events are applied in the order they happened (docs/design.md §2);
/// the explanation's form is
///
/// `LABEL YYYY-MM-DD, LIMIT[; EXCEPTIONS][; extended by N UNITS][; N UNITS suspended][; NOT APPLIED]...[; ART 203][; provisional: ...] -> due YYYY-MM-DD 24:00`
///
/// EXCEPTIONS (working-day limits only) lists the calendar's exceptions after the start day up to
/// the last day: runs of consecutive days off of one festival ("Spring Festival days off
/// 02-10..02-17 skipped", or "... day off 10-06 skipped" for one day), then the adjusted working
/// days ("the adjusted working day 02-18 counted", "the adjusted working days 09-28, 10-11
/// counted"). Dates there are MM-DD, or YYYY-MM-DD when the start and the last day lie in
/// different years. NOT APPLIED, one per event that came too late, reads "extension of
/// YYYY-MM-DD came after the NAME passed on YYYY-MM-DD 24:00: not applied" ("suspension of
/// ... : not counted"). ART 203 reads "the last day YYYY-MM-DD is a rest day: moved to
/// YYYY-MM-DD (Civil Code Art. 203)". The provisional clause reads "provisional: LAST is beyond
/// the calendar's known range (to YYYY-12-31)" and/or "provisional: START is before the
/// calendar's known range (from YYYY-01-01)".
///
/// The rules:
/// - The start day is not counted (Civil Code Art. 201): N working days from A end with the
///   N-th working day strictly after A (ALL Art. 82); N calendar days end on A + N.
/// - Amount 0 (immediate items): due at the end of A if A is a unit day, else (a working-day
///   limit starting on a day off) at the end of the next working day, which counts as one unit.
/// - The events in order, each judged against the limit as the events before it left it: one
///   that happened after 24:00 of the last day does nothing (the limit has passed, and stays
///   passed); an extension adds its units (ALL Art. 42); a suspension adds the units `d` with
///   `on < d <= end` not added already (ALL Art. 45), even when it starts on the last day
///   itself. Adding k units moves the day the count ends on to the k-th unit after it.
/// - A calendar-day limit whose count ends on a rest day ends on the first working day after
///   (Civil Code Art. 203); working-day limits always end on a working day.
///
/// Each step is a constant-time count or an O(log n) search on the calendar's prefix sums,
/// never a walk over days: O(k^2) in the number of events k (each suspension is checked
/// against those counted before it).
pub fn deadline_in_order(
    cal: &Calendar,
    input: &OrderedInput,
    start_label: &str,
) -> OrderedDeadline {
    let start = input.start;
    let unit = input.limit.unit;
    let count = |a: NaiveDate, b: NaiveDate| -> u64 {
        match unit {
            LimitUnit::WorkingDays => u64::from(cal.working_days_between(a, b)),
            LimitUnit::CalendarDays => days_between(a, b),
        }
    };
    let advance = |a: NaiveDate, k: u64| -> NaiveDate {
        if k == 0 {
            return a;
        }
        match unit {
            LimitUnit::WorkingDays => cal.add_working_days(a, clamp_u32(k)),
            LimitUnit::CalendarDays => add_days(a, k),
        }
    };
    // Civil Code Art. 203 for calendar days; a working-day count already ends on a working day.
    let last_of = |end: NaiveDate| -> NaiveDate {
        if unit == LimitUnit::CalendarDays && !cal.is_working_day(end) {
            cal.add_working_days(end, 1)
        } else {
            end
        }
    };

    // The day the count ends on, before Art. 203.
    let mut end = match unit {
        // add_working_days(start, 0) is the next working day when the start is a day off.
        LimitUnit::WorkingDays => cal.add_working_days(start, input.limit.amount),
        LimitUnit::CalendarDays => add_days(start, u64::from(input.limit.amount)),
    };
    let mut extension: u64 = 0;
    let mut suspended: u64 = 0;
    let mut counted: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    let mut passed = Vec::with_capacity(input.events.len());
    for event in input.events {
        let last = last_of(end);
        if event.on > last {
            passed.push(Some(last));
            continue;
        }
        passed.push(None);
        match event.kind {
            LimitEventKind::Extension { units } => {
                extension += u64::from(units);
                end = advance(end, u64::from(units));
            }
            LimitEventKind::Suspension { end: until } => {
                let from = event.on.max(start);
                if until <= from {
                    continue;
                }
                let overlap: u64 = counted
                    .iter()
                    .map(|&(a, b)| {
                        let (lo, hi) = (a.max(from), b.min(until));
                        if hi > lo { count(lo, hi) } else { 0 }
                    })
                    .sum();
                let k = count(from, until).saturating_sub(overlap);
                counted.push((from, until));
                counted = merge_runs(counted);
                suspended += k;
                end = advance(end, k);
            }
        }
    }
    let last_day = last_of(end);

    let (range_start, range_end) = cal.known_range();
    let (before_range, beyond_range) = match unit {
        LimitUnit::WorkingDays => (start < range_start, last_day > range_end),
        LimitUnit::CalendarDays => (end < range_start, last_day > range_end),
    };
    let suspended = clamp_u32(suspended);
    let extension = clamp_u32(extension);

    let mut text = format!("{start_label} {start}, {}", input.limit);
    if unit == LimitUnit::WorkingDays {
        let exceptions = cal.exceptions_between(start, last_day);
        if !exceptions.is_empty() {
            let with_year = start.year() != last_day.year();
            text.push_str("; ");
            text.push_str(&describe_exceptions(exceptions, with_year));
        }
    }
    if extension > 0 {
        let _ = write!(text, "; extended by {extension} {}", unit.noun(extension));
    }
    if suspended > 0 {
        let _ = write!(text, "; {suspended} {} suspended", unit.noun(suspended));
    }
    for (event, passed) in input.events.iter().zip(&passed) {
        if let Some(last) = passed {
            let verdict = match event.kind {
                LimitEventKind::Extension { .. } => "not applied",
                LimitEventKind::Suspension { .. } => "not counted",
            };
            let _ = write!(
                text,
                "; {} of {} came after the {} passed on {last} 24:00: {verdict}",
                event.kind.noun(),
                event.on,
                input.name
            );
        }
    }
    if last_day != end {
        let _ = write!(
            text,
            "; the last day {end} is a rest day: moved to {last_day} (Civil Code Art. 203)"
        );
    }
    if before_range {
        let first = if unit == LimitUnit::WorkingDays {
            start
        } else {
            end
        };
        let _ = write!(
            text,
            "; provisional: {first} is before the calendar's known range (from {range_start})"
        );
    }
    if beyond_range {
        let _ = write!(
            text,
            "; provisional: {last_day} is beyond the calendar's known range (to {range_end})"
        );
    }
    let _ = write!(text, " -> due {last_day} 24:00");

    OrderedDeadline {
        deadline: Deadline {
            last_day,
            due_at: cal.end_of_day(last_day),
            provisional: before_range || beyond_range,
            suspended,
            explanation: text,
            moved_from: (last_day != end).then_some(end),
        },
        extension,
        passed,
    }
}

/// Remaining working days from `today` (a local date) to the deadline, for the "approaching
/// deadline" rule: the working days `d` with `today < d <= last_day`, 0 once it has passed.
/// Suspensions not yet recorded are, naturally, not foreseen.
pub fn remaining_working_days(cal: &Calendar, today: NaiveDate, deadline: &Deadline) -> u32 {
    cal.working_days_between(today, deadline.last_day)
}

/// Half-open runs `(from, to]` as disjoint, sorted runs: overlapping or touching runs merge.
fn merge_runs(mut runs: Vec<(NaiveDate, NaiveDate)>) -> Vec<(NaiveDate, NaiveDate)> {
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
    fn runs_merge() {
        let runs = merge_runs(vec![
            (d("2024-03-10"), d("2024-03-12")),
            (d("2024-03-01"), d("2024-03-03")),
            (d("2024-03-11"), d("2024-03-15")), // overlaps the first
            (d("2024-03-15"), d("2024-03-16")), // touches it
        ]);
        assert_eq!(
            runs,
            vec![
                (d("2024-03-01"), d("2024-03-03")),
                (d("2024-03-10"), d("2024-03-16"))
            ]
        );
    }
}
