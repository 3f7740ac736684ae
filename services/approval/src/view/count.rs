//! How each clock of `GetCase` was counted, on the wire (`ClockCount`, from the domain's
//! `clock::count`), and the calendar and suspensions around the case (`Case.calendar_days`,
//! `Case.suspensions`), so that a client words the explanation in its reader's language and
//! draws the working days itself, instead of showing the domain's English line.

use chrono::{DateTime, Datelike, Months, Utc};
use egov_domain::calendar::{Calendar, DayKind};
use egov_domain::case::Case;
use egov_domain::clock::DeadlineClock;
use egov_domain::clock::count::{self, ClockStart};
use egov_proto::approval::v1 as pb;
use egov_proto::convert::suspension_kind_to_proto;

use super::ts;

/// The most months of calendar a case carries (a clock spanning years is shown around its
/// due date by clients anyway).
const MOST_MONTHS: u32 = 36;

fn day(d: &egov_domain::calendar::CalendarDay) -> pb::CalendarDay {
    pb::CalendarDay {
        date: Some(d.date.into()),
        kind: match d.kind {
            DayKind::Holiday => pb::CalendarDayKind::Holiday,
            DayKind::Workday => pb::CalendarDayKind::AdjustedWorkingDay,
        }
        .into(),
        name: d.name.clone(),
    }
}

/// `clock`'s count as of `now` (or of its stop), as the domain counts it.
pub fn clock_count(
    case: &Case,
    clock: &DeadlineClock,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> pb::ClockCount {
    let c = count::count(case, clock, cal, now);
    let (known_from, known_to) = cal.known_range();
    pb::ClockCount {
        start: match c.start {
            ClockStart::Received => pb::ClockStart::Received,
            ClockStart::Accepted => pb::ClockStart::Accepted,
            ClockStart::DeemedAccepted => pb::ClockStart::DeemedAccepted,
            ClockStart::Approved => pb::ClockStart::Approved,
            ClockStart::StepStarted => pb::ClockStart::StepStarted,
        }
        .into(),
        start_day: Some(c.start_day.into()),
        days_off: c.days_off.iter().map(day).collect(),
        adjusted_working_days: c.adjusted_working_days.iter().map(day).collect(),
        late_events: clock
            .passed_events
            .iter()
            .map(|e| pb::LateEvent {
                at: ts(e.at),
                extension: e.extension,
                limit_last_day: Some(e.last_day.into()),
            })
            .collect(),
        moved_from: clock.deadline.moved_from.map(Into::into),
        known_from: Some(known_from.into()),
        known_to: Some(known_to.into()),
        days_used: c.days_used,
        days_left: c.days_left,
        days_over: c.days_over,
    }
}

/// The calendar's exceptions from the first day of the month of the earliest clock start to
/// the end of the month of the latest last day (at most [`MOST_MONTHS`]).
pub fn calendar_days(
    case: &Case,
    clocks: &[DeadlineClock],
    cal: &Calendar,
) -> Vec<pb::CalendarDay> {
    let first = clocks
        .iter()
        .map(|c| cal.local_date(c.started_at))
        .min()
        .unwrap_or_else(|| cal.local_date(case.received_at));
    let last = clocks
        .iter()
        .map(|c| c.deadline.last_day)
        .max()
        .unwrap_or(first);
    let from = first.with_day(1).unwrap_or(first);
    let to = last
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap_or(last)
        .min(
            from.checked_add_months(Months::new(MOST_MONTHS))
                .unwrap_or(last),
        );
    let before = from.pred_opt().unwrap_or(from);
    cal.exceptions_between(before, to).iter().map(day).collect()
}

/// The case's special procedures with their local days.
pub fn suspensions(case: &Case, cal: &Calendar) -> Vec<pb::SuspensionSpan> {
    case.suspensions
        .iter()
        .zip(count::suspended_spans(case, cal))
        .map(|(s, (start, end))| pb::SuspensionSpan {
            kind: suspension_kind_to_proto(s.kind).into(),
            start_day: Some(start.into()),
            end_day: Some(end.into()),
            open: s.ended_at.is_none(),
        })
        .collect()
}
