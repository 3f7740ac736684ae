//! From what the database holds about one case, one warning or the catalogue to the counters
//! it adds to its department's days ([`crate::scores::indicators::Counters`]).
//!
//! A case's contribution is a pure function of its current records and clocks: recomputed
//! whenever the case changes, it REPLACES the previous contribution (the rollups take the
//! difference), so a record that arrives late, out of order or twice changes the counters
//! exactly as if it had come in time. The same holds for a warning and its answer.
//!
//! The facts of a case (docs/design.md §4):
//! - accepted on the local day of its acceptance record;
//! - completed on the local day of its completion record (办结), and then, from its decision
//!   clock (the promised clock, or an immediate item's same-day clock, as the approval
//!   platform computed it): on time when the clock stopped by its deadline; early when it
//!   stopped before the last day of the promised limit; the used share = working days used
//!   (from the clock's start, the start day not counted, less the suspended days) / (the
//!   promised limit + extension days);
//! - each rating on its own day (levels 1-2 satisfied, 4-5 bad reviews), each fee on its day.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::Calendar;
use crate::clock::ClockView;
use crate::jurisdiction::{is_within, parent_region};
use crate::limit::LimitUnit;
use crate::matter::Matter;
use crate::record::{Record, RecordBody};
use crate::scores::indicators::{BP, CatalogueStats, Counters, div_round_half_up};
use crate::warning::{Level, Rule};
use crate::workflow::WarningState;

/// The counters a case adds, per local day; days with nothing are absent.
///
/// `records` in any order (a case holds one acceptance and one completion at most: the state
/// machine saw to it); `clocks` as stored in the case's projection.
pub fn case_counters(
    records: &[Record],
    clocks: &[ClockView],
    cal: &Calendar,
) -> BTreeMap<NaiveDate, Counters> {
    let mut days: BTreeMap<NaiveDate, Counters> = BTreeMap::new();
    let mut on = |at: DateTime<Utc>, add: Counters| {
        *days.entry(cal.local_date(at)).or_default() += add;
    };
    let first = |pick: fn(&RecordBody) -> bool| {
        records
            .iter()
            .filter(|r| pick(&r.body))
            .map(|r| r.occurred_at)
            .min()
    };
    if let Some(at) = first(|b| matches!(b, RecordBody::Acceptance { .. })) {
        on(
            at,
            Counters {
                accepted: 1,
                ..Counters::default()
            },
        );
    }
    if let Some(at) = first(|b| matches!(b, RecordBody::Completion { .. })) {
        on(at, completion_counters(clocks, cal));
    }
    for r in records {
        match &r.body {
            RecordBody::Rating { level, .. } => on(
                r.occurred_at,
                Counters {
                    ratings: 1,
                    satisfied: i64::from(level.get() <= 2),
                    bad_reviews: i64::from(level.is_bad_review()),
                    ..Counters::default()
                },
            ),
            RecordBody::Fee { amount_fen, .. } => on(
                r.occurred_at,
                Counters {
                    fees_fen: amount_fen.get(),
                    ..Counters::default()
                },
            ),
            _ => {}
        }
    }
    days.retain(|_, c| !c.is_zero());
    days
}

/// What a completion adds: completed, and on time, early and the used share from the
/// decision clock when it has stopped.
fn completion_counters(clocks: &[ClockView], cal: &Calendar) -> Counters {
    let mut c = Counters {
        completed: 1,
        ..Counters::default()
    };
    let Some(clock) = clocks
        .iter()
        .find(|v| v.key == "promised" || v.key == "immediate")
    else {
        return c;
    };
    let Some(stopped_at) = clock.stopped_at else {
        return c;
    };
    let on_time = clock.status == "stopped_on_time";
    let stop_day = cal.local_date(stopped_at);
    c.on_time = i64::from(on_time);
    c.early = i64::from(on_time && stop_day < clock.last_day);
    let promised = i64::from(clock.limit.amount) + i64::from(clock.extension);
    if promised > 0 {
        let start_day = cal.local_date(clock.started_at);
        let elapsed = match clock.limit.unit {
            LimitUnit::WorkingDays => i64::from(cal.working_days_between(start_day, stop_day)),
            LimitUnit::CalendarDays => (stop_day - start_day).num_days().max(0),
        };
        let used = (elapsed - i64::from(clock.suspended)).max(0);
        c.share_cases = 1;
        c.share_bp_sum = div_round_half_up(i128::from(used * BP), i128::from(promised)) as i64;
    }
    c
}

/// What a warning adds to the day it was raised: its level's count, the anomaly or irregular
/// fee count of its rule, and, for a yellow or red card answered before its correction due,
/// one card corrected in time. A withdrawn warning (its ground disproved by later records)
/// adds nothing, whatever it added before.
pub fn warning_counters(
    rule: Rule,
    level: Level,
    state: WarningState,
    answered_at: Option<DateTime<Utc>>,
    correction_due: Option<DateTime<Utc>>,
) -> Counters {
    if !state.counts() {
        return Counters::default();
    }
    let card = level != Level::Reminder;
    Counters {
        reminders: i64::from(level == Level::Reminder),
        yellow_cards: i64::from(level == Level::YellowCard),
        red_cards: i64::from(level == Level::RedCard),
        anomalies: i64::from(rule == Rule::ProcedureAnomaly),
        irregular_fees: i64::from(rule == Rule::IrregularFee),
        corrected_in_time: i64::from(
            card && matches!((answered_at, correction_due), (Some(a), Some(due)) if a < due),
        ),
        ..Counters::default()
    }
}

/// The catalogue statistics per department, and over all departments.
pub fn catalogue_stats<'a>(
    matters: impl IntoIterator<Item = &'a Matter>,
) -> (BTreeMap<String, CatalogueStats>, CatalogueStats) {
    let mut per: BTreeMap<String, CatalogueStats> = BTreeMap::new();
    for m in matters {
        let (p, s) = (m.promised_limit, m.statutory_limit);
        let comparable = p.unit == s.unit && s.amount > 0;
        let one = CatalogueStats {
            matters: 1,
            fee_items: m.fee_items.len() as i64,
            ratio_matters: i64::from(comparable),
            ratio_bp_sum: if comparable {
                div_round_half_up(i128::from(p.amount) * i128::from(BP), i128::from(s.amount))
                    as i64
            } else {
                0
            },
        };
        let entry = per.entry(m.department.to_string()).or_default();
        *entry = *entry + one;
    }
    let all = per.values().fold(CatalogueStats::default(), |a, b| a + *b);
    (per, all)
}

/// The region a department serves, from the regions of two of its cases: their nearest common
/// ancestor on the region tree (`330106` and `330105` give the city `3301`); empty when they
/// share no province. Folded over a department's cases, a city bureau handling cases of
/// several districts belongs to the city. Used for departments missing from the registry of
/// departments ([`crate::jurisdiction`]).
pub fn common_region(a: &str, b: &str) -> String {
    if a == b {
        return a.to_owned();
    }
    let mut candidate = Some(a);
    while let Some(r) = candidate {
        if is_within(b, r) {
            return r.to_owned();
        }
        candidate = parent_region(r);
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CaseNo, EventId};
    use crate::limit::Limit;
    use crate::money::Fen;
    use crate::record::RatingLevel;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rec(n: u32, t: &str, body: RecordBody) -> Record {
        Record {
            event_id: EventId::parse(format!("e-{n}")).unwrap(),
            case_no: CaseNo::parse("C-1").unwrap(),
            occurred_at: at(t),
            source: "test".into(),
            body,
        }
    }

    fn promised(started: &str, stopped: &str, on_time: bool, last_day: &str) -> ClockView {
        ClockView {
            key: "promised".into(),
            started_at: at(started),
            limit: Limit::working_days(10),
            suspended: 0,
            extension: 0,
            due_at: at("2024-03-19T00:00:00+08:00"),
            last_day: day(last_day),
            status: if on_time {
                "stopped_on_time"
            } else {
                "stopped_late"
            }
            .into(),
            stopped_at: Some(at(stopped)),
            provisional: false,
            explanation: String::new(),
            not_before: None,
        }
    }

    #[test]
    fn a_completed_case_counts_on_its_days() {
        // Accepted Monday 2024-03-04, decided Thursday 2024-03-14 (8 working days later) of a
        // 10-day promise ending 2024-03-18, completed Friday 2024-03-15, rated 2 on 03-20,
        // one fee of ¥12.50.
        let records = vec![
            rec(
                1,
                "2024-03-04T09:00:00+08:00",
                RecordBody::Acceptance {
                    handler: "h".into(),
                    promised_due_at: None,
                },
            ),
            rec(
                2,
                "2024-03-15T23:30:00+08:00",
                RecordBody::Completion {
                    result: "ok".into(),
                    certificate_no: String::new(),
                },
            ),
            rec(
                3,
                "2024-03-05T10:00:00+08:00",
                RecordBody::Fee {
                    fee_item: "F".into(),
                    amount_fen: Fen::new(1_250).unwrap(),
                    receipt_no: "r".into(),
                },
            ),
            rec(
                4,
                "2024-03-20T10:00:00+08:00",
                RecordBody::Rating {
                    level: RatingLevel::new(2).unwrap(),
                    channel: None,
                    comment: String::new(),
                },
            ),
        ];
        let clocks = [promised(
            "2024-03-04T09:00:00+08:00",
            "2024-03-14T16:00:00+08:00",
            true,
            "2024-03-18",
        )];
        let days = case_counters(&records, &clocks, &Calendar::china());
        assert_eq!(days.len(), 4);
        assert_eq!(days[&day("2024-03-04")].accepted, 1);
        assert_eq!(days[&day("2024-03-05")].fees_fen, 1_250);
        // Completed 23:30 local on the 15th: the 15th, though it is already the 15th 15:30
        // UTC.
        let done = days[&day("2024-03-15")];
        assert_eq!((done.completed, done.on_time, done.early), (1, 1, 1));
        // 8 working days of 10: 8 000 bp.
        assert_eq!((done.share_cases, done.share_bp_sum), (1, 8_000));
        let rated = days[&day("2024-03-20")];
        assert_eq!(
            (rated.ratings, rated.satisfied, rated.bad_reviews),
            (1, 1, 0)
        );
    }

    #[test]
    fn a_late_decision_is_neither_on_time_nor_early_and_uses_more_than_its_share() {
        let records = vec![rec(
            1,
            "2024-03-25T09:00:00+08:00",
            RecordBody::Completion {
                result: "ok".into(),
                certificate_no: String::new(),
            },
        )];
        // Decided 2024-03-21 (13 working days after 03-04) with 2 suspended days: 11 / 10.
        let mut clock = promised(
            "2024-03-04T09:00:00+08:00",
            "2024-03-21T10:00:00+08:00",
            false,
            "2024-03-18",
        );
        clock.suspended = 2;
        let days = case_counters(&records, &[clock], &Calendar::china());
        let c = days[&day("2024-03-25")];
        assert_eq!((c.completed, c.on_time, c.early), (1, 0, 0));
        assert_eq!(c.share_bp_sum, 11_000);
    }

    #[test]
    fn a_decision_on_the_last_day_is_on_time_but_not_early() {
        let records = vec![rec(
            1,
            "2024-03-18T17:00:00+08:00",
            RecordBody::Completion {
                result: "ok".into(),
                certificate_no: String::new(),
            },
        )];
        let clock = promised(
            "2024-03-04T09:00:00+08:00",
            "2024-03-18T16:00:00+08:00",
            true,
            "2024-03-18",
        );
        let c = case_counters(&records, &[clock], &Calendar::china())[&day("2024-03-18")];
        assert_eq!((c.on_time, c.early, c.share_bp_sum), (1, 0, 10_000));
    }

    #[test]
    fn warnings_count_by_level_rule_and_answer() {
        let due = at("2024-03-08T00:00:00+08:00");
        let w = warning_counters(
            Rule::IrregularFee,
            Level::RedCard,
            WarningState::Closed,
            Some(at("2024-03-07T12:00:00+08:00")),
            Some(due),
        );
        assert_eq!(
            (w.red_cards, w.irregular_fees, w.corrected_in_time),
            (1, 1, 1)
        );
        let late = warning_counters(
            Rule::ProcedureAnomaly,
            Level::YellowCard,
            WarningState::Answered,
            Some(due),
            Some(due),
        );
        assert_eq!(
            (late.yellow_cards, late.anomalies, late.corrected_in_time),
            (1, 1, 0)
        );
        let reminder = warning_counters(
            Rule::ApproachingDeadline,
            Level::Reminder,
            WarningState::Raised,
            Some(due),
            None,
        );
        assert_eq!((reminder.reminders, reminder.corrected_in_time), (1, 0));
        for level in Level::ALL {
            let withdrawn = warning_counters(
                Rule::IrregularFee,
                level,
                WarningState::Withdrawn,
                Some(at("2024-03-07T12:00:00+08:00")),
                Some(due),
            );
            assert_eq!(withdrawn, Counters::default(), "{level}");
        }
    }

    #[test]
    fn a_department_serves_the_common_ancestor_of_its_cases_regions() {
        assert_eq!(common_region("330106", "330105"), "3301");
        assert_eq!(common_region("330106", "330106"), "330106");
        assert_eq!(common_region("330106001", "330106002"), "330106");
        assert_eq!(common_region("3301", "330106"), "3301");
        assert_eq!(common_region("33", "34"), "");
        assert_eq!(common_region("3301", ""), "");
    }
}
