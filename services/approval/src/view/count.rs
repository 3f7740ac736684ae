//! How each clock of `GetCase` was counted, as data (`ClockCount`), and the calendar and
//! suspensions around the case (`Case.calendar_days`, `Case.suspensions`), so that a client
//! words the explanation in its reader's language and draws the working days itself, instead
//! of showing the domain's English line.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use egov_domain::calendar::{Calendar, DayKind};
use egov_domain::case::Case;
use egov_domain::clock::{ClockKind, ClockStatus, DeadlineClock};
use egov_domain::limit::LimitUnit;
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

/// The suspensions' local days `(start, end]`, as the clocks count them (ALL Art. 45).
fn spans(case: &Case, cal: &Calendar) -> Vec<(NaiveDate, NaiveDate)> {
    case.suspensions
        .iter()
        .map(|s| {
            (
                cal.local_date(s.started_at),
                cal.local_date(s.ended_at.unwrap_or(s.planned_end)),
            )
        })
        .collect()
}

/// The days `d` with `a < d <= b` in `unit` (0 when `b <= a`).
fn units(cal: &Calendar, unit: LimitUnit, a: NaiveDate, b: NaiveDate) -> u32 {
    if b <= a {
        return 0;
    }
    match unit {
        LimitUnit::WorkingDays => cal.working_days_between(a, b),
        LimitUnit::CalendarDays => u32::try_from((b - a).num_days()).unwrap_or(u32::MAX),
    }
}

/// `clock`'s count as of `now` (or of its stop).
pub fn clock_count(
    case: &Case,
    clock: &DeadlineClock,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> pb::ClockCount {
    let start_day = cal.local_date(clock.started_at);
    let last_day = clock.deadline.last_day;
    let unit = clock.limit.unit;
    let start = match clock.kind {
        ClockKind::Acceptance => pb::ClockStart::Received,
        ClockKind::Certificate => pb::ClockStart::Approved,
        ClockKind::Step => pb::ClockStart::StepStarted,
        ClockKind::Promised | ClockKind::Statutory | ClockKind::Immediate => {
            if case.accepted_at == Some(clock.started_at) {
                pb::ClockStart::Accepted
            } else {
                pb::ClockStart::DeemedAccepted
            }
        }
    };
    let (days_off, adjusted) = if unit == LimitUnit::WorkingDays {
        let between = cal.exceptions_between(start_day, last_day);
        (
            between
                .iter()
                .filter(|d| d.kind == DayKind::Holiday)
                .map(day)
                .collect(),
            between
                .iter()
                .filter(|d| d.kind == DayKind::Workday)
                .map(day)
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // A calendar-day count ends `amount + extension + suspended` days after the start; when
    // the last day is later, Civil Code Art. 203 moved it off a rest day.
    let moved_from = (unit == LimitUnit::CalendarDays)
        .then(|| {
            let n = clock.limit.amount + clock.extension + clock.deadline.suspended;
            start_day.checked_add_days(chrono::Days::new(u64::from(n)))
        })
        .flatten()
        .filter(|end| *end != last_day);
    let reference = match clock.status {
        ClockStatus::Stopped { at, .. } => cal.local_date(at),
        ClockStatus::Running | ClockStatus::Paused => cal.local_date(now),
    };
    let upto = reference.min(last_day);
    let suspended: u32 = spans(case, cal)
        .iter()
        .map(|&(a, b)| units(cal, unit, a.max(start_day), b.min(upto)))
        .sum();
    let (known_from, known_to) = cal.known_range();
    pb::ClockCount {
        start: start.into(),
        start_day: Some(start_day.into()),
        days_off,
        adjusted_working_days: adjusted,
        late_events: clock
            .passed_events
            .iter()
            .map(|e| pb::LateEvent {
                at: ts(e.at),
                extension: e.extension,
                limit_last_day: Some(e.last_day.into()),
            })
            .collect(),
        moved_from: moved_from.map(Into::into),
        known_from: Some(known_from.into()),
        known_to: Some(known_to.into()),
        days_used: units(cal, unit, start_day, upto).saturating_sub(suspended),
        days_left: units(cal, unit, reference, last_day),
        days_over: units(cal, unit, last_day, reference),
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
        .zip(spans(case, cal))
        .map(|(s, (start, end))| pb::SuspensionSpan {
            kind: suspension_kind_to_proto(s.kind).into(),
            start_day: Some(start.into()),
            end_day: Some(end.into()),
            open: s.ended_at.is_none(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use egov_domain::calendar::CalendarId;
    use egov_domain::clock::clocks;
    use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
    use egov_domain::limit::Limit;
    use egov_domain::matter::{Matter, MatterKind};
    use egov_domain::record::{Application, Channel, Record, RecordBody};

    use super::*;
    use crate::testing::fixtures::{acceptance, local};

    fn record(n: u8, at: &str, body: RecordBody) -> Record {
        Record {
            event_id: EventId::parse(format!("e-{n}")).expect("id"),
            case_no: CaseNo::parse("C-1").expect("case no"),
            occurred_at: local(at),
            source: "test".into(),
            body,
        }
    }

    fn date(d: &str) -> Option<pb::Date> {
        Some(d.parse::<NaiveDate>().expect("a date").into())
    }

    /// A 3-calendar-day limit accepted on Monday 2026-09-28 ends on 10-01, National Day: it
    /// moves to the first working day after the holidays, 10-08 (Civil Code Art. 203), and the
    /// count says so, with the days used and left on 09-30; the working-day limit beside it
    /// names the 7 days off and the adjusted working day 10-10 it crossed.
    #[test]
    fn a_count_says_what_moved_the_due_date() {
        let matter = Matter {
            code: MatterCode::parse("M-1").expect("code"),
            name: "m".into(),
            department: DepartmentCode::parse("market").expect("department"),
            region: None,
            kind: MatterKind::Promised,
            statutory_limit: Limit::working_days(20),
            promised_limit: Limit::calendar_days(3),
            step_limits: vec![],
            fee_items: vec![],
            suspension_kinds: vec![],
            calendar: CalendarId::parse("cn").expect("calendar"),
        };
        let records = [
            record(
                1,
                "2026-09-28 09:00",
                RecordBody::Application(Application {
                    matter_code: matter.code.clone(),
                    department: matter.department.clone(),
                    region: RegionCode::parse("330106").expect("region"),
                    applicant_ref: "a".into(),
                    channel: Channel::Window,
                }),
            ),
            record(2, "2026-09-28 09:30", acceptance()),
        ];
        let case = Case::replay(&records.iter().collect::<Vec<_>>(), &matter).expect("replays");
        let cal = Calendar::china();
        let all = clocks(&case, &matter, &cal);
        let now = local("2026-09-30 12:00");
        let promised = all
            .iter()
            .find(|c| c.kind == ClockKind::Promised)
            .expect("promised");
        let count = clock_count(&case, promised, &cal, now);
        assert_eq!(count.start(), pb::ClockStart::Accepted);
        assert_eq!(count.start_day, date("2026-09-28"));
        assert_eq!(count.moved_from, date("2026-10-01"));
        assert_eq!(promised.deadline.last_day.to_string(), "2026-10-08");
        assert!(
            count.days_off.is_empty(),
            "a calendar-day limit skips no holiday"
        );
        assert_eq!(
            (count.days_used, count.days_left, count.days_over),
            (2, 8, 0)
        );

        let statutory = all
            .iter()
            .find(|c| c.kind == ClockKind::Statutory)
            .expect("statutory");
        let count = clock_count(&case, statutory, &cal, now);
        assert_eq!(count.moved_from, None);
        assert_eq!(count.days_off.len(), 7);
        assert_eq!(count.days_off[0].date, date("2026-10-01"));
        assert_eq!(count.days_off[0].kind(), pb::CalendarDayKind::Holiday);
        assert_eq!(count.adjusted_working_days.len(), 1);
        assert_eq!(count.adjusted_working_days[0].date, date("2026-10-10"));
        assert_eq!(count.days_used, 2);

        let days = calendar_days(&case, &all, &cal);
        assert!(
            days.iter().any(|d| d.date == date("2026-09-25")),
            "September's holidays too"
        );
        assert!(
            days.iter().all(|d| d
                .date
                .as_ref()
                .is_some_and(|d| (d.year, d.month) <= (2026, 11))),
            "to the end of November"
        );
    }
}
