//! A complaint's clocks (docs/design.md §3.3) and the warnings they raise, on the same calendar,
//! deadline arithmetic and warnings as a case's (`crate::limit`, `crate::warning`):
//!
//! - **acceptance**: the office decides whether to accept a complaint within 5 working days of
//!   its filing (the start day not counted, Civil Code Art. 201; due at 24:00 local of the last
//!   day). A reminder (rule `approaching_deadline`) comes 1 working day before, and a yellow
//!   card (rule `complaint_overdue`) when the deadline passes undecided; both are the office's,
//!   held by its region, counted in no department's score.
//! - **report**: a forwarded complaint's report is due at the date the office set; when it
//!   passes unreported the department gets a yellow card (rule `complaint_overdue`), counted
//!   in its score like any card.
//!
//! Each clock's warnings go to its own pseudo case (`complaint#17/acceptance`), so one
//! warning per (case, rule, level) holds and a reminder or card is raised once, however often
//! the due pass runs. The store keeps a complaint's next due instant ([`next_due`]); the
//! supervision platform's due loop fires what came ([`on_due`]).

use chrono::{DateTime, Utc};

use crate::calendar::Calendar;
use crate::complaint::ComplaintState;
use crate::limit::{Deadline, DeadlineInput, Limit, deadline_explained};
use crate::rules::ConfigSource;
use crate::warning::{Level, Rule, WarningDraft};

/// Working days the office has to decide on acceptance.
pub const ACCEPTANCE_WORKING_DAYS: u32 = 5;
/// Working days before the acceptance deadline that the reminder comes.
pub const REMINDER_WORKING_DAYS_BEFORE: u32 = 1;
/// The level of a passed complaint deadline.
pub const OVERDUE_LEVEL: Level = Level::YellowCard;

/// One of a complaint's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComplaintClock {
    Acceptance,
    Report,
}

impl ComplaintClock {
    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintClock::Acceptance => "acceptance",
            ComplaintClock::Report => "report",
        }
    }

    /// The warning detail's clock key (`complaint:acceptance`).
    pub fn key(self) -> String {
        format!("complaint:{}", self.as_str())
    }
}

/// What the clocks need to know of a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockFacts {
    pub id: i64,
    pub state: ComplaintState,
    pub filed_at: DateTime<Utc>,
    /// The report's due, while forwarded.
    pub report_due_at: Option<DateTime<Utc>>,
}

/// The acceptance deadline of a complaint filed at `filed_at`.
pub fn acceptance_deadline(calendar: &Calendar, filed_at: DateTime<Utc>) -> Deadline {
    deadline_explained(
        calendar,
        &DeadlineInput {
            start: calendar.local_date(filed_at),
            limit: Limit::working_days(ACCEPTANCE_WORKING_DAYS),
            extension: 0,
            suspensions: &[],
        },
        "complaint filed",
    )
}

/// The instant of the reminder before the acceptance deadline: 24:00 of the working day
/// [`REMINDER_WORKING_DAYS_BEFORE`] before its last day.
pub fn acceptance_reminder(calendar: &Calendar, filed_at: DateTime<Utc>) -> DateTime<Utc> {
    let start = calendar.local_date(filed_at);
    let days = ACCEPTANCE_WORKING_DAYS.saturating_sub(REMINDER_WORKING_DAYS_BEFORE);
    if days == 0 {
        return filed_at;
    }
    calendar.end_of_day(calendar.add_working_days(start, days))
}

/// A due instant of a complaint: when it comes, the warning it raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintDue {
    pub clock: ComplaintClock,
    /// When it fires.
    pub at: DateTime<Utc>,
    /// The deadline it is about (later than `at` for the reminder).
    pub deadline: DateTime<Utc>,
    pub level: Level,
}

/// The due instants of a complaint in its state, earliest first.
pub fn dues(calendar: &Calendar, c: &ClockFacts) -> Vec<ComplaintDue> {
    match c.state {
        ComplaintState::Filed => {
            let deadline = acceptance_deadline(calendar, c.filed_at).due_at;
            vec![
                ComplaintDue {
                    clock: ComplaintClock::Acceptance,
                    at: acceptance_reminder(calendar, c.filed_at).min(deadline),
                    deadline,
                    level: Level::Reminder,
                },
                ComplaintDue {
                    clock: ComplaintClock::Acceptance,
                    at: deadline,
                    deadline,
                    level: OVERDUE_LEVEL,
                },
            ]
        }
        ComplaintState::Forwarded => c
            .report_due_at
            .map(|due| ComplaintDue {
                clock: ComplaintClock::Report,
                at: due,
                deadline: due,
                level: OVERDUE_LEVEL,
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The earliest due instant after `after` (None: from the start), which the store keeps as
/// the complaint's next wake-up; None when nothing more is due.
pub fn next_due(
    calendar: &Calendar,
    c: &ClockFacts,
    after: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    dues(calendar, c)
        .into_iter()
        .map(|d| d.at)
        .filter(|at| after.is_none_or(|a| *at > a))
        .min()
}

/// The warnings owed at `now` by the dues that came: a reminder whose deadline has passed too
/// is left out (the card says it all), as for a case's reminders.
pub fn on_due(calendar: &Calendar, c: &ClockFacts, now: DateTime<Utc>) -> Vec<WarningDraft> {
    dues(calendar, c)
        .into_iter()
        .filter(|d| d.at <= now)
        .filter(|d| d.level != Level::Reminder || d.deadline > now)
        .map(|d| draft(calendar, c.id, &d))
        .collect()
}

fn draft(calendar: &Calendar, id: i64, d: &ComplaintDue) -> WarningDraft {
    let when = d
        .deadline
        .with_timezone(&calendar.utc_offset())
        .format("%Y-%m-%d %H:%M");
    let (rule, message) = match (d.clock, d.level) {
        (ComplaintClock::Acceptance, Level::Reminder) => (
            Rule::ApproachingDeadline,
            format!(
                "complaint {id}: the acceptance decision is due by {when} ({ACCEPTANCE_WORKING_DAYS} \
                 working days from its filing)"
            ),
        ),
        (ComplaintClock::Acceptance, _) => (
            Rule::ComplaintOverdue,
            format!(
                "complaint {id}: no acceptance decision by {when} ({ACCEPTANCE_WORKING_DAYS} \
                 working days from its filing)"
            ),
        ),
        (ComplaintClock::Report, _) => (
            Rule::ComplaintOverdue,
            format!("complaint {id}: the department's report was due by {when} and has not come"),
        ),
    };
    WarningDraft {
        rule,
        level: d.level,
        clock: Some(if d.level == Level::Reminder {
            format!("approaching:{}", d.clock.key())
        } else {
            d.clock.key()
        }),
        due_at: d.deadline,
        message,
        event_id: None,
        config: ConfigSource::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn filed(filed_at: &str) -> ClockFacts {
        ClockFacts {
            id: 17,
            state: ComplaintState::Filed,
            filed_at: at(filed_at),
            report_due_at: None,
        }
    }

    #[test]
    fn acceptance_is_due_five_working_days_after_filing() {
        let cal = Calendar::china();
        // Filed Monday 2025-03-03 10:00 local: the day is not counted; Tue..Mon = 5 working
        // days, so the last day is Monday 2025-03-10, due 24:00 local (16:00 UTC).
        let c = filed("2025-03-03T02:00:00Z");
        let d = acceptance_deadline(&cal, c.filed_at);
        assert_eq!(d.last_day.to_string(), "2025-03-10");
        assert_eq!(d.due_at, at("2025-03-10T16:00:00Z"));
        // The reminder: 24:00 of the 4th working day, Friday 2025-03-07.
        assert_eq!(
            acceptance_reminder(&cal, c.filed_at),
            at("2025-03-07T16:00:00Z")
        );
        // Over the National Day holiday: filed 2025-09-30, the 1st-8th are rest days, the
        // 11th (Saturday) a working day: 9, 10, 11, 13, 14 -> due 24:00 of 2025-10-14.
        let holiday = acceptance_deadline(&cal, at("2025-09-30T02:00:00Z"));
        assert_eq!(holiday.last_day.to_string(), "2025-10-14");
    }

    #[test]
    fn the_dues_fire_a_reminder_then_a_card_once_each_and_stop_on_a_decision() {
        let cal = Calendar::china();
        let c = filed("2025-03-03T02:00:00Z");
        assert_eq!(next_due(&cal, &c, None), Some(at("2025-03-07T16:00:00Z")));
        assert!(on_due(&cal, &c, at("2025-03-07T15:59:59Z")).is_empty());
        let reminder = on_due(&cal, &c, at("2025-03-07T16:00:00Z"));
        assert_eq!(reminder.len(), 1);
        assert_eq!(
            (reminder[0].rule, reminder[0].level),
            (Rule::ApproachingDeadline, Level::Reminder)
        );
        assert_eq!(
            reminder[0].clock.as_deref(),
            Some("approaching:complaint:acceptance")
        );
        assert_eq!(reminder[0].due_at, at("2025-03-10T16:00:00Z"));
        assert_eq!(
            next_due(&cal, &c, Some(at("2025-03-07T16:00:00Z"))),
            Some(at("2025-03-10T16:00:00Z"))
        );
        // At the deadline the card; the reminder is not raised once the deadline has passed.
        let late = on_due(&cal, &c, at("2025-03-10T16:00:00Z"));
        assert_eq!(late.len(), 1);
        assert_eq!(
            (late[0].rule, late[0].level),
            (Rule::ComplaintOverdue, Level::YellowCard)
        );
        assert!(
            late[0]
                .message
                .contains("no acceptance decision by 2025-03-11 00:00")
        );
        assert_eq!(next_due(&cal, &c, Some(at("2025-03-10T16:00:00Z"))), None);
        // Decided: no more acceptance dues.
        let accepted = ClockFacts {
            state: ComplaintState::Accepted,
            ..c
        };
        assert!(dues(&cal, &accepted).is_empty());
    }

    #[test]
    fn a_forwarded_complaint_is_due_its_report() {
        let cal = Calendar::china();
        let c = ClockFacts {
            state: ComplaintState::Forwarded,
            report_due_at: Some(at("2025-03-20T16:00:00Z")),
            ..filed("2025-03-03T02:00:00Z")
        };
        assert_eq!(next_due(&cal, &c, None), Some(at("2025-03-20T16:00:00Z")));
        let card = on_due(&cal, &c, at("2025-03-21T00:00:00Z"));
        assert_eq!(card.len(), 1);
        assert_eq!(card[0].clock.as_deref(), Some("complaint:report"));
        let reported = ClockFacts {
            state: ComplaintState::Reported,
            ..c
        };
        assert!(on_due(&cal, &reported, at("2025-03-21T00:00:00Z")).is_empty());
    }
}
