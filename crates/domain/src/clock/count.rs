//! How a clock was counted, as data (docs/design.md §2): what started it, the holidays a
//! working-day limit skipped and the adjusted working days it counted, the rest day Civil Code
//! Art. 203 moved a calendar-day limit off, and where it stands (days used, left, past). The
//! explanation line says the same in English; this is what a reader's own language is worded
//! from (the web console's case page, through `GetCase`).

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::{Calendar, CalendarDay, DayKind};
use crate::case::Case;
use crate::clock::{ClockKind, ClockStatus, DeadlineClock};
use crate::limit::LimitUnit;

/// What started a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStart {
    /// The application, or the corrected materials, received.
    Received,
    /// The acceptance decision.
    Accepted,
    /// No timely acceptance decision: the case counts as accepted on receipt (ALL Art. 32).
    DeemedAccepted,
    /// An approval decision (the certificate, ALL Art. 44).
    Approved,
    /// A handling step started.
    StepStarted,
}

/// A clock's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockCount {
    pub start: ClockStart,
    /// The local day the clock started; not counted (Civil Code Art. 201).
    pub start_day: NaiveDate,
    /// A working-day limit's holidays after the start day up to the last day (ALL Art. 82).
    pub days_off: Vec<CalendarDay>,
    /// A working-day limit's adjusted working days after the start day up to the last day.
    pub adjusted_working_days: Vec<CalendarDay>,
    /// As of now, or of the stop, in the limit's unit: the days counted (the start day and
    /// suspended days excluded, at most to the last day), those left to the last day, and
    /// those past it.
    pub days_used: u32,
    pub days_left: u32,
    pub days_over: u32,
}

/// The local days `(start, end]` each special procedure of the case covers (ALL Art. 45), in
/// order; an open one to its planned end.
pub fn suspended_spans(case: &Case, cal: &Calendar) -> Vec<(NaiveDate, NaiveDate)> {
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

/// `clock`'s count, a clock of `case` on `cal`, as of `now` (or of its stop).
pub fn count(case: &Case, clock: &DeadlineClock, cal: &Calendar, now: DateTime<Utc>) -> ClockCount {
    let start_day = cal.local_date(clock.started_at);
    let last_day = clock.deadline.last_day;
    let unit = clock.limit.unit;
    let start = match clock.kind {
        ClockKind::Acceptance => ClockStart::Received,
        ClockKind::Certificate => ClockStart::Approved,
        ClockKind::Step => ClockStart::StepStarted,
        // A decision clock runs from acceptance, or from receipt when the acceptance decision
        // came late or not at all (ALL Art. 32).
        ClockKind::Promised | ClockKind::Statutory | ClockKind::Immediate => {
            if case.accepted_at == Some(clock.started_at) {
                ClockStart::Accepted
            } else {
                ClockStart::DeemedAccepted
            }
        }
    };
    let between: &[CalendarDay] = if unit == LimitUnit::WorkingDays {
        cal.exceptions_between(start_day, last_day)
    } else {
        &[]
    };
    let of = |kind: DayKind| -> Vec<CalendarDay> {
        between.iter().filter(|d| d.kind == kind).cloned().collect()
    };
    let reference = match clock.status {
        ClockStatus::Stopped { at, .. } => cal.local_date(at),
        ClockStatus::Running | ClockStatus::Paused => cal.local_date(now),
    };
    let upto = reference.min(last_day);
    let suspended: u32 = suspended_spans(case, cal)
        .iter()
        .map(|&(a, b)| units(cal, unit, a.max(start_day), b.min(upto)))
        .sum();
    ClockCount {
        start,
        start_day,
        days_off: of(DayKind::Holiday),
        adjusted_working_days: of(DayKind::Workday),
        days_used: units(cal, unit, start_day, upto).saturating_sub(suspended),
        days_left: units(cal, unit, reference, last_day),
        days_over: units(cal, unit, last_day, reference),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveDateTime, TimeZone};

    use super::*;
    use crate::calendar::CalendarId;
    use crate::clock::clocks;
    use crate::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
    use crate::limit::Limit;
    use crate::matter::{Matter, MatterKind};
    use crate::record::{Application, Channel, Record, RecordBody};

    fn local(t: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").expect("local time");
        FixedOffset::east_opt(8 * 3600)
            .expect("offset")
            .from_local_datetime(&naive)
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    fn record(n: u8, at: &str, body: RecordBody) -> Record {
        Record {
            event_id: EventId::parse(format!("e-{n}")).expect("id"),
            case_no: CaseNo::parse("C-1").expect("case no"),
            occurred_at: local(at),
            source: "test".into(),
            body,
        }
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().expect("a date")
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
            record(
                2,
                "2026-09-28 09:30",
                RecordBody::Acceptance {
                    handler: "h".into(),
                    promised_due_at: None,
                },
            ),
        ];
        let case = Case::replay(&records.iter().collect::<Vec<_>>(), &matter).expect("replays");
        let cal = Calendar::china();
        let all = clocks(&case, &matter, &cal);
        let now = local("2026-09-30 12:00");
        let promised = all
            .iter()
            .find(|c| c.kind == ClockKind::Promised)
            .expect("promised");
        assert_eq!(promised.deadline.moved_from, Some(day("2026-10-01")));
        assert_eq!(promised.deadline.last_day, day("2026-10-08"));
        let c = count(&case, promised, &cal, now);
        assert_eq!(c.start, ClockStart::Accepted);
        assert_eq!(c.start_day, day("2026-09-28"));
        assert!(
            c.days_off.is_empty(),
            "a calendar-day limit skips no holiday"
        );
        assert_eq!((c.days_used, c.days_left, c.days_over), (2, 8, 0));

        let statutory = all
            .iter()
            .find(|c| c.kind == ClockKind::Statutory)
            .expect("statutory");
        assert_eq!(statutory.deadline.moved_from, None);
        let c = count(&case, statutory, &cal, now);
        assert_eq!(c.days_off.len(), 7);
        assert_eq!(c.days_off[0].date, day("2026-10-01"));
        assert_eq!(c.adjusted_working_days.len(), 1);
        assert_eq!(c.adjusted_working_days[0].date, day("2026-10-10"));
        assert_eq!(c.days_used, 2);
    }
}
