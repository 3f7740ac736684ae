//! Every supervision rule of docs/design.md §3, one module each, named after the rule and citing
//! its source in its module doc, with the thresholds and levels as configuration ([`config`]).
//!
//! Two kinds of rules, two entry points (and [`integrity`], which judges the platforms' own
//! stored chains, not a case, raised by the supervision platform's integrity worker):
//!
//! - **Record rules** look at one record as it joins a case, judging the case before and after
//!   it: [`on_record`]. They are [`repeated_correction`], [`missing_reasons`],
//!   [`suspension_abuse`] (kind, reason, allowed kinds, count), [`extension_abuse`],
//!   [`irregular_fee`] and [`procedure_anomaly`]. A record the state machine refuses
//!   (a decision before acceptance ...) never joins a case; [`on_refused`] turns it into a
//!   procedure anomaly.
//! - **Time rules** fire at a due instant of the case: [`due_instants`] says when (the deadline
//!   clocks, the reminder before the promised one, and an open suspension's planned end), and
//!   [`on_due`] judges an instant that arrived. They are [`approaching_deadline`],
//!   [`promised_limit_passed`], [`statutory_limit_passed`], [`acceptance_overdue`],
//!   [`step_overdue`], [`certificate_overdue`], and the planned-end part of
//!   [`suspension_abuse`]. A clock that stopped after its deadline (a case completed late)
//!   owes its warning at once: [`on_late_clocks`].
//!
//! Every function is pure and deterministic: the same case, records and configuration give the
//! same drafts. A record rule fires on the record that first breaks it on a case and not again
//! for later breaches of the same rule, which the one-warning-per-(case, rule, level) store
//! would drop anyway; every breach it checks only grows with more records, so this holds in
//! whatever order records arrive (late records are placed by their own time). A time rule's
//! warning can be disproved by a record that arrives after it, dated before its deadline:
//! [`withdrawal`] judges which. Times in
//! messages are local to the matter's calendar, in the one format of [`crate::local`]
//! (`2024-03-05 09:00`, `2024-03-14 24:00`).

pub mod acceptance_overdue;
pub mod approaching_deadline;
pub mod certificate_overdue;
pub mod config;
pub mod extension_abuse;
pub mod integrity;
pub mod irregular_fee;
pub mod missing_reasons;
pub mod procedure_anomaly;
pub mod promised_limit_passed;
pub mod repeated_correction;
pub mod statutory_limit_passed;
pub mod step_overdue;
pub mod suspension_abuse;
pub mod withdrawal;

use chrono::{DateTime, FixedOffset, Utc};

use crate::calendar::Calendar;
use crate::case::Case;
use crate::clock::{self, ClockStatus, ClockView, DueInstant, clocks};
use crate::ids::EventId;
use crate::limit::Limit;
use crate::matter::Matter;
use crate::record::Record;

pub use crate::warning::{Level, Rule, WarningDraft};
pub use config::{
    ConfigError, ConfigSource, DueScope, EffectiveRules, RuleConfig, RuleConfigSpec, RuleOverrides,
    Sourced, strip_json_comments,
};
pub use procedure_anomaly::for_refused as on_refused;

/// The level docs/design.md §3 gives `rule` when no configuration says otherwise.
pub fn default_level(rule: Rule) -> Level {
    match rule {
        Rule::ApproachingDeadline => approaching_deadline::DEFAULT_LEVEL,
        Rule::PromisedLimitPassed => promised_limit_passed::DEFAULT_LEVEL,
        Rule::StatutoryLimitPassed => statutory_limit_passed::DEFAULT_LEVEL,
        Rule::AcceptanceOverdue => acceptance_overdue::DEFAULT_LEVEL,
        Rule::StepOverdue => step_overdue::DEFAULT_LEVEL,
        Rule::RepeatedCorrection => repeated_correction::DEFAULT_LEVEL,
        Rule::MissingReasons => missing_reasons::DEFAULT_LEVEL,
        Rule::SuspensionAbuse => suspension_abuse::DEFAULT_LEVEL,
        Rule::ExtensionAbuse => extension_abuse::DEFAULT_LEVEL,
        Rule::IrregularFee => irregular_fee::DEFAULT_LEVEL,
        Rule::ProcedureAnomaly => procedure_anomaly::DEFAULT_LEVEL,
        Rule::CertificateOverdue => certificate_overdue::DEFAULT_LEVEL,
        Rule::Integrity => integrity::DEFAULT_LEVEL,
        Rule::ComplaintOverdue => crate::complaint::clock::OVERDUE_LEVEL,
    }
}

/// The time rule a due instant belongs to, by its key: `acceptance`, `promised`, `immediate`,
/// `statutory`, `certificate`, `step:NAME`, `approaching:CLOCK`, `suspension:planned_end`.
pub fn rule_for_key(key: &str) -> Option<Rule> {
    let rule = if approaching_deadline::matches(key) {
        approaching_deadline::RULE
    } else if acceptance_overdue::matches(key) {
        acceptance_overdue::RULE
    } else if promised_limit_passed::matches(key) {
        promised_limit_passed::RULE
    } else if statutory_limit_passed::matches(key) {
        statutory_limit_passed::RULE
    } else if certificate_overdue::matches(key) {
        certificate_overdue::RULE
    } else if step_overdue::matches(key) {
        step_overdue::RULE
    } else if key == suspension_abuse::PLANNED_END_KEY {
        suspension_abuse::RULE
    } else {
        return None;
    };
    Some(rule)
}

/// What a record rule sees: the case before the record joined it (None for the application
/// that opens it), the case after, the record, and what the rules are judged against.
#[derive(Debug, Clone, Copy)]
pub struct RecordContext<'a> {
    pub before: Option<&'a Case>,
    pub after: &'a Case,
    pub record: &'a Record,
    pub matter: &'a Matter,
    pub calendar: &'a Calendar,
    pub config: &'a EffectiveRules,
}

impl RecordContext<'_> {
    /// A draft of `rule` fired by this record; `used` are the sources of the thresholds the
    /// decision rested on (the level's source is added).
    fn draft(
        &self,
        rule: Rule,
        message: String,
        used: impl IntoIterator<Item = ConfigSource>,
    ) -> WarningDraft {
        draft(
            rule,
            self.config,
            None,
            self.record.occurred_at,
            message,
            Some(self.record.event_id.clone()),
            used,
        )
    }

    fn local(&self, t: DateTime<Utc>) -> String {
        local_time(self.calendar, t)
    }
}

/// One breach a record rule found on a case: when the fact happened, what is wrong, and the
/// configuration it was judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    at: DateTime<Utc>,
    text: String,
    sources: Vec<ConfigSource>,
}

/// What a record rule reports for `ctx`'s record.
struct Breach {
    /// The findings' texts, joined.
    text: String,
    /// The configuration the findings were judged by.
    sources: Vec<ConfigSource>,
    /// Whether the findings are about the record itself (by its time), rather than an earlier
    /// fact that the (late) record made a breach.
    own: bool,
}

/// The breach a record rule reports for `ctx`'s record: none if the case already broke the
/// rule before this record (its warning is owed already); else the findings about this record
/// (by its time), or, when a late record made an earlier fact a breach, all of them.
fn first_breach(
    ctx: &RecordContext<'_>,
    findings: impl Fn(&Case) -> Vec<Finding>,
) -> Option<Breach> {
    if ctx.before.is_some_and(|b| !findings(b).is_empty()) {
        return None;
    }
    let all = findings(ctx.after);
    if all.is_empty() {
        return None;
    }
    let own: Vec<&Finding> = all
        .iter()
        .filter(|f| f.at == ctx.record.occurred_at)
        .collect();
    let is_own = !own.is_empty();
    let chosen: Vec<&Finding> = if is_own { own } else { all.iter().collect() };
    Some(Breach {
        text: chosen
            .iter()
            .map(|f| f.text.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        sources: chosen.iter().flat_map(|f| f.sources.clone()).collect(),
        own: is_own,
    })
}

fn draft(
    rule: Rule,
    config: &EffectiveRules,
    clock: Option<String>,
    due_at: DateTime<Utc>,
    message: String,
    event_id: Option<EventId>,
    used: impl IntoIterator<Item = ConfigSource>,
) -> WarningDraft {
    let level = config.level(rule);
    let config = used.into_iter().fold(level.source, ConfigSource::max);
    WarningDraft {
        rule,
        level: level.value,
        clock,
        due_at,
        message,
        event_id,
        config,
    }
}

/// `2024-03-05 09:00` in the calendar's local time ([`crate::local`]).
pub(crate) fn local_time(cal: &Calendar, t: DateTime<Utc>) -> String {
    cal.local_time(t)
}

/// `1st`, `2nd`, `3rd`, `11th` ...
pub(crate) fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The record rules' warnings for `record`, which the state machine admitted: `before` is the
/// case without it (None for the application that opens the case), `after` the case with it
/// (as [`crate::case::admit`] returned it), judged with the configuration of the case's matter
/// and department. At most one draft per rule, in the order of [`Rule::ALL`].
///
/// Call it once per admitted record, where the record is admitted (the approval platform's
/// ingest) or where it is read back from the log (the supervision platform's follower): the
/// result depends only on the arguments.
pub fn on_record(
    before: Option<&Case>,
    after: &Case,
    record: &Record,
    matter: &Matter,
    calendar: &Calendar,
    config: &EffectiveRules,
) -> Vec<WarningDraft> {
    let ctx = RecordContext {
        before,
        after,
        record,
        matter,
        calendar,
        config,
    };
    [
        repeated_correction::check(&ctx),
        missing_reasons::check(&ctx),
        suspension_abuse::check(&ctx),
        extension_abuse::check(&ctx),
        irregular_fee::check(&ctx),
        procedure_anomaly::check(&ctx),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every instant at which a time rule must look at the case, earliest first: the running
/// clocks' deadlines, the reminder before the promised (or same-day) one at the effective
/// threshold, and `suspension:planned_end` while a suspension is open. `clocks` are the case's
/// ([`clock::clocks`]). With [`EffectiveRules::defaults`] and no open suspension this is
/// exactly [`clock::due_instants`].
///
/// The instants depend on the configuration only through [`EffectiveRules::approaching`]:
/// when that changes for a case ([`RuleConfig::due_scope_of_change`]), recompute them.
pub fn due_instants(
    case: &Case,
    clocks: &[clock::DeadlineClock],
    calendar: &Calendar,
    config: &EffectiveRules,
) -> Vec<DueInstant> {
    let mut due = clock::due_instants_with(clocks, calendar, &config.approaching());
    due.extend(suspension_abuse::due_instant(case));
    clock::sort_due(&mut due);
    due
}

/// The warning owed when the due instant `key` of `case` arrives at `due_at`, judged from the
/// case itself: None if the instant is stale (the clock stopped in time or moved later, the
/// suspension ended, the reminder's threshold changed) or no rule knows the key.
///
/// This is the authoritative judgement; [`on_stored_due`] is the cheaper one for a platform
/// that trusts its stored instants and has only the case's clock views.
pub fn on_due(
    key: &str,
    due_at: DateTime<Utc>,
    case: &Case,
    matter: &Matter,
    calendar: &Calendar,
    config: &EffectiveRules,
) -> Option<WarningDraft> {
    if key == suspension_abuse::PLANNED_END_KEY {
        return suspension_abuse::on_due(due_at, case, calendar, config);
    }
    let rule = rule_for_key(key)?;
    let reminder = key.strip_prefix(approaching_deadline::PREFIX);
    let clock_key = reminder.unwrap_or(key);
    let clocks = clocks(case, matter, calendar);
    let clock = clocks.iter().find(|c| c.key() == clock_key)?;
    let mut used = Vec::new();
    if reminder.is_some() {
        let at = approaching_deadline::reminder_at(clock, calendar, &config.approaching())?;
        if clock.status != ClockStatus::Running || due_at < at || due_at >= clock.judged_at() {
            return None;
        }
        used.push(config.approaching_threshold(clock.limit).source);
    } else {
        let owed = match clock.status {
            ClockStatus::Running => due_at >= clock.judged_at(),
            // The end of the suspension recomputes the instants; its planned end has its own.
            ClockStatus::Paused => false,
            ClockStatus::Stopped { on_time, .. } => !on_time,
        };
        if !owed {
            return None;
        }
    }
    let message = deadline_message(
        key,
        &clock.deadline.explanation,
        stopped_at(&clock.status),
        calendar.utc_offset(),
    );
    Some(draft(
        rule,
        config,
        Some(key.to_owned()),
        clock.deadline.due_at,
        message,
        None,
        used,
    ))
}

fn stopped_at(status: &ClockStatus) -> Option<DateTime<Utc>> {
    match status {
        ClockStatus::Stopped { at, .. } => Some(*at),
        _ => None,
    }
}

/// The warning for a stored due instant `key` that arrived, trusting that the instant is
/// current (the approval platform replaces a case's instants on every write): `deadline` is the
/// deadline concerned (the clock view's `due_at`, or the instant itself without a view), and
/// `view` the clock's view from the case's projection, when there is one; `offset` the case's
/// calendar's, for the times in the message (any of its views tells it:
/// [`ClockView::utc_offset`]). None if no rule knows the key.
pub fn on_stored_due(
    key: &str,
    deadline: DateTime<Utc>,
    view: Option<&ClockView>,
    offset: FixedOffset,
    config: &EffectiveRules,
) -> Option<WarningDraft> {
    stored_due(
        key,
        deadline,
        view.map_or("", |v| v.explanation.as_str()),
        view.map(|v| v.limit),
        offset,
        config,
    )
}

/// [`on_stored_due`] with only the explanation (the path [`crate::warning::warning_for_due`]
/// keeps); `limit` names the reminder threshold's source when known.
pub(crate) fn stored_due(
    key: &str,
    deadline: DateTime<Utc>,
    explanation: &str,
    limit: Option<Limit>,
    offset: FixedOffset,
    config: &EffectiveRules,
) -> Option<WarningDraft> {
    let rule = rule_for_key(key)?;
    let mut used = Vec::new();
    let message = if key == suspension_abuse::PLANNED_END_KEY {
        suspension_abuse::stored_message(deadline, offset)
    } else {
        if approaching_deadline::matches(key)
            && let Some(limit) = limit
        {
            used.push(config.approaching_threshold(limit).source);
        }
        deadline_message(key, explanation, None, offset)
    };
    Some(draft(
        rule,
        config,
        Some(key.to_owned()),
        deadline,
        message,
        None,
        used,
    ))
}

/// Warnings for clocks that stopped after their deadline: a case completed late, or pushed
/// late after its deadlines had already passed, still gets its warnings, at once.
pub fn on_late_clocks(views: &[ClockView], config: &EffectiveRules) -> Vec<WarningDraft> {
    views
        .iter()
        .filter(|c| c.status == "stopped_late")
        .filter_map(|c| {
            let rule = rule_for_key(&c.key)?;
            Some(draft(
                rule,
                config,
                Some(c.key.clone()),
                c.due_at,
                deadline_message(&c.key, &c.explanation, c.stopped_at, c.utc_offset()),
                None,
                [],
            ))
        })
        .collect()
}

/// "the promised limit passed: EXPLANATION", "the promised limit is near: ...", "the
/// statutory limit passed (stopped at 2024-04-03 10:00): ..." (local time at `offset`).
fn deadline_message(
    key: &str,
    explanation: &str,
    stopped: Option<DateTime<Utc>>,
    offset: FixedOffset,
) -> String {
    match key.strip_prefix(approaching_deadline::PREFIX) {
        Some(clock) => format!("the {} is near: {explanation}", clock_phrase(clock)),
        None => {
            let stopped = stopped
                .map(|at| format!(" (stopped at {})", crate::local::local_time(offset, at)))
                .unwrap_or_default();
            format!("the {} passed{stopped}: {explanation}", clock_phrase(key))
        }
    }
}

fn clock_phrase(key: &str) -> String {
    match key {
        "acceptance" => "acceptance decision deadline".to_owned(),
        "promised" => "promised limit".to_owned(),
        "immediate" => "same-day limit of an immediate item".to_owned(),
        "statutory" => "statutory limit".to_owned(),
        "certificate" => "certificate deadline".to_owned(),
        k => match k.strip_prefix(step_overdue::PREFIX) {
            Some(step) => format!("limit of step {step:?}"),
            None => k.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_one_findable_default_level() {
        let levels: Vec<_> = Rule::ALL
            .into_iter()
            .map(|r| (r.as_str(), default_level(r).as_str()))
            .collect();
        assert_eq!(
            levels,
            [
                ("approaching_deadline", "reminder"),
                ("promised_limit_passed", "yellow_card"),
                ("statutory_limit_passed", "red_card"),
                ("acceptance_overdue", "yellow_card"),
                ("step_overdue", "reminder"),
                ("repeated_correction", "yellow_card"),
                ("missing_reasons", "yellow_card"),
                ("suspension_abuse", "yellow_card"),
                ("extension_abuse", "yellow_card"),
                ("irregular_fee", "red_card"),
                ("procedure_anomaly", "yellow_card"),
                ("certificate_overdue", "yellow_card"),
                ("integrity", "red_card"),
                ("complaint_overdue", "yellow_card"),
            ]
        );
    }

    #[test]
    fn ordinals() {
        let got: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }

    #[test]
    fn every_due_key_has_its_rule() {
        let keys = [
            ("acceptance", Rule::AcceptanceOverdue),
            ("promised", Rule::PromisedLimitPassed),
            ("immediate", Rule::PromisedLimitPassed),
            ("statutory", Rule::StatutoryLimitPassed),
            ("certificate", Rule::CertificateOverdue),
            ("step:review", Rule::StepOverdue),
            ("approaching:promised", Rule::ApproachingDeadline),
            ("suspension:planned_end", Rule::SuspensionAbuse),
        ];
        for (key, rule) in keys {
            assert_eq!(rule_for_key(key), Some(rule), "{key}");
        }
        assert_eq!(rule_for_key("suspension"), None);
        assert_eq!(rule_for_key("promised:x"), None);
    }
}
