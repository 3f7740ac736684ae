//! Withdrawing a warning whose ground records that arrived later disproved (docs/design.md
//! §3.2): a case whose records arrive more than the grace apart (a crash, an outage, a dropped
//! connection) is judged on incomplete records, and a card raised then ("the certificate
//! deadline passed") may be contradicted by a record dated before that deadline that arrives a
//! second or a week later (the certificate issued in time).
//!
//! Which grounds a later record can disprove, and which it cannot:
//! - **A passed deadline** (`acceptance_overdue`, `promised_limit_passed`,
//!   `statutory_limit_passed`, `certificate_overdue`, `step_overdue`): the clock of the
//!   warning's key, recomputed from every record of the case, either stopped on time, or still
//!   runs (or is paused) towards a deadline not yet reached (a late suspension or an extension
//!   approved in time moved it). Judged here, by [`judge`], from the case's clock views.
//! - **A red card a yellow card's passed correction due raised**: it stands on that yellow
//!   card, and is withdrawn with it (the store does it in the same transaction, so a red card
//!   raised while its yellow card is being withdrawn is not left behind).
//! - **Record rules** judge each record against the case with every record dated before it
//!   ([`super::on_record`]); what they count only grows with more records, so a later record
//!   does not disprove them. Not judged here (see docs/design.md §3.2 for the one exception
//!   left open, an extension judged late before an earlier suspension arrived).
//! - **Reminders** (`approaching:*`) and a suspension's planned end are not withdrawn: the
//!   instant they fired at is not kept, so their ground cannot be judged exactly, and a
//!   ground that may still hold is never withdrawn.
//! - **Integrity** cards are about the platform's own chains, not a case's records.
//!
//! Exactness: a card is withdrawn only when every clock of its key says the deadline did not
//! pass (stopped on time, or running towards a deadline still ahead); a clock the views do not
//! show, or one that stopped late or runs past its deadline, keeps the card.

use chrono::{DateTime, FixedOffset, Utc};

use crate::clock::ClockView;
use crate::rules::{self, Rule, approaching_deadline, suspension_abuse};

/// Why a card's ground no longer holds: the clock of its key as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disproof {
    /// The key of the clock concerned (`certificate`, `step:review`).
    pub clock: String,
    /// Where that clock stands.
    pub standing: Standing,
    /// The offset of the case's calendar, for the times in the [`reason`].
    pub offset: FixedOffset,
}

/// Where a clock that disproves a card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It stopped at this instant, before its deadline.
    StoppedOnTime(DateTime<Utc>),
    /// It still runs (or is paused) towards this deadline, not yet reached.
    RunsUntil(DateTime<Utc>),
}

/// Whether a warning of `rule` about the clock `clock` (its detail's key) still stands on the
/// clocks `views` of its case at `now`: the disproof if it does not, None if it holds or
/// cannot be judged exactly (see the module's list). `derived` is true for a red card a yellow
/// card's passed correction due raised: it stands on that card, not on a clock.
pub fn judge(
    rule: Rule,
    clock: Option<&str>,
    derived: bool,
    views: &[ClockView],
    now: DateTime<Utc>,
) -> Option<Disproof> {
    let key = clock?;
    if derived
        || approaching_deadline::matches(key)
        || key == suspension_abuse::PLANNED_END_KEY
        || rules::rule_for_key(key) != Some(rule)
    {
        return None;
    }
    let mine: Vec<&ClockView> = views.iter().filter(|v| v.key == key).collect();
    // A step started again has a view per span: each must say the deadline did not pass.
    let mut standing = None;
    let mut offset = crate::local::china_offset();
    for v in mine {
        offset = v.utc_offset();
        let this = match (v.status.as_str(), v.stopped_at) {
            ("stopped_on_time", Some(at)) => Standing::StoppedOnTime(at),
            ("running" | "paused", _) if v.due_at > now => Standing::RunsUntil(v.due_at),
            _ => return None,
        };
        standing = Some(this);
    }
    Some(Disproof {
        clock: key.to_owned(),
        standing: standing?,
        offset,
    })
}

/// The record that disproved a card, among the case's records given as (log sequence,
/// occurred_at, event id): for a clock that stopped on time, the record that stopped it (the
/// last one to arrive dated at that instant); for a deadline moved ahead, the last record to
/// arrive dated before the deadline the card was about (`card_due`). Falls back on the last
/// record to arrive.
pub fn disproving_record<'a>(
    disproof: &Disproof,
    card_due: Option<DateTime<Utc>>,
    records: &[(i64, DateTime<Utc>, &'a str)],
) -> Option<&'a str> {
    let last = |keep: &dyn Fn(DateTime<Utc>) -> bool| {
        records
            .iter()
            .filter(|(_, at, _)| keep(*at))
            .max_by_key(|(seq, _, _)| *seq)
            .map(|(_, _, id)| *id)
    };
    let chosen = match disproof.standing {
        Standing::StoppedOnTime(stopped) => last(&|at| at == stopped),
        Standing::RunsUntil(_) => card_due.and_then(|due| last(&|at| at < due)),
    };
    chosen.or_else(|| last(&|_| true))
}

/// The reason stored with the withdrawal (history and detail): the record, when it happened,
/// and what the clock says now, in the case's local time. Kept short and structured: `record
/// EV-9 (occurred 2024-03-05 09:00): certificate clock stopped on time at 2024-03-05 09:00`.
pub fn reason(event_id: &str, occurred_at: Option<DateTime<Utc>>, disproof: &Disproof) -> String {
    let local = |t| crate::local::local_time(disproof.offset, t);
    let when = occurred_at
        .map(|t| format!(" (occurred {})", local(t)))
        .unwrap_or_default();
    let clock = &disproof.clock;
    let now = match disproof.standing {
        Standing::StoppedOnTime(at) => format!("stopped on time at {}", local(at)),
        Standing::RunsUntil(due) => format!("runs until {}", local(due)),
    };
    format!("record {event_id}{when}: {clock} clock {now}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Limit, LimitUnit};

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().expect("instant")
    }

    fn view(key: &str, due_at: &str, status: &str, stopped_at: Option<&str>) -> ClockView {
        ClockView {
            key: key.into(),
            started_at: at("2024-03-04T02:00:00Z"),
            limit: Limit {
                amount: 10,
                unit: LimitUnit::WorkingDays,
            },
            suspended: 0,
            extension: 0,
            due_at: at(due_at),
            last_day: chrono::NaiveDate::from_ymd_opt(2024, 3, 18).expect("date"),
            status: status.into(),
            stopped_at: stopped_at.map(at),
            provisional: false,
            explanation: String::new(),
            not_before: None,
        }
    }

    const DUE: &str = "2024-03-18T16:00:00Z";
    const NOW: &str = "2024-03-20T00:00:00Z";

    #[test]
    fn a_clock_stopped_on_time_or_with_its_deadline_ahead_disproves_the_card() {
        let now = at(NOW);
        let on_time = [view(
            "certificate",
            DUE,
            "stopped_on_time",
            Some("2024-03-15T01:00:00Z"),
        )];
        assert_eq!(
            judge(
                Rule::CertificateOverdue,
                Some("certificate"),
                false,
                &on_time,
                now
            ),
            Some(Disproof {
                clock: "certificate".into(),
                standing: Standing::StoppedOnTime(at("2024-03-15T01:00:00Z")),
                offset: crate::local::china_offset(),
            })
        );
        for status in ["running", "paused"] {
            let moved = [view("promised", "2024-03-25T16:00:00Z", status, None)];
            assert_eq!(
                judge(
                    Rule::PromisedLimitPassed,
                    Some("promised"),
                    false,
                    &moved,
                    now
                ),
                Some(Disproof {
                    clock: "promised".into(),
                    standing: Standing::RunsUntil(at("2024-03-25T16:00:00Z")),
                    offset: crate::local::china_offset(),
                }),
                "{status}"
            );
        }
    }

    #[test]
    fn a_ground_that_still_holds_or_cannot_be_judged_keeps_the_card() {
        let now = at(NOW);
        let late = [view(
            "promised",
            DUE,
            "stopped_late",
            Some("2024-03-19T01:00:00Z"),
        )];
        let past = [view("promised", DUE, "running", None)];
        let paused_past = [view("promised", DUE, "paused", None)];
        for views in [&late[..], &past, &paused_past, &[]] {
            assert_eq!(
                judge(
                    Rule::PromisedLimitPassed,
                    Some("promised"),
                    false,
                    views,
                    now
                ),
                None
            );
        }
        // A step with two spans: one passed, so the card stands.
        let spans = [
            view("step:review", DUE, "stopped_late", Some(NOW)),
            view(
                "step:review",
                "2024-03-25T16:00:00Z",
                "stopped_on_time",
                Some(NOW),
            ),
        ];
        assert_eq!(
            judge(Rule::StepOverdue, Some("step:review"), false, &spans, now),
            None
        );
        let on_time = [view(
            "promised",
            DUE,
            "stopped_on_time",
            Some("2024-03-15T01:00:00Z"),
        )];
        // Not judged: no clock (a record rule), a reminder, the red card of a yellow one, a
        // key of another rule.
        let judged = |rule, clock, derived| judge(rule, clock, derived, &on_time, now);
        assert_eq!(judged(Rule::ExtensionAbuse, None, false), None);
        assert_eq!(
            judged(
                Rule::ApproachingDeadline,
                Some("approaching:promised"),
                false
            ),
            None
        );
        assert_eq!(
            judged(Rule::PromisedLimitPassed, Some("promised"), true),
            None
        );
        assert_eq!(
            judged(Rule::StatutoryLimitPassed, Some("promised"), false),
            None
        );
        assert_eq!(
            judged(Rule::SuspensionAbuse, Some("suspension:planned_end"), false),
            None
        );
        assert!(judged(Rule::PromisedLimitPassed, Some("promised"), false).is_some());
    }

    #[test]
    fn the_disproving_record_is_the_one_that_stopped_or_moved_the_clock() {
        let stopped = Disproof {
            clock: "certificate".into(),
            standing: Standing::StoppedOnTime(at("2024-03-15T01:00:00Z")),
            offset: crate::local::china_offset(),
        };
        let records = [
            (1, at("2024-03-01T01:00:00Z"), "app"),
            (2, at("2024-03-15T01:00:00Z"), "cert"),
            (3, at("2024-03-19T01:00:00Z"), "rating"),
            (4, at("2024-03-10T01:00:00Z"), "late-ext"),
        ];
        assert_eq!(
            disproving_record(&stopped, Some(at(DUE)), &records),
            Some("cert")
        );
        let moved = Disproof {
            clock: "promised".into(),
            standing: Standing::RunsUntil(at("2024-03-25T16:00:00Z")),
            offset: crate::local::china_offset(),
        };
        assert_eq!(
            disproving_record(&moved, Some(at(DUE)), &records),
            Some("late-ext")
        );
        assert_eq!(disproving_record(&moved, None, &records), Some("late-ext"));
        assert_eq!(disproving_record(&moved, None, &[]), None);
        assert_eq!(
            reason("cert", Some(at("2024-03-15T01:00:00Z")), &stopped),
            "record cert (occurred 2024-03-15 09:00): certificate clock stopped on time at \
             2024-03-15 09:00"
        );
    }
}
