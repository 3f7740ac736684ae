//! Rule `integrity` (docs/design.md §3, §9): a link of a hash chain no longer holds, in the
//! record log (a case's chain) or in the audit log. Someone with database access changed,
//! deleted or reordered what the platforms stored. Default level: red card.
//!
//! Source: the accountability of the supervision system itself (issue 12: "who did what must
//! be certain"). Not a rule of a department's conduct, so it counts in no department's score;
//! the warning is held by the province office, the top supervision office, whoever's case it
//! names.
//!
//! The supervision platform's integrity worker raises it; the chains are verified by the store
//! (`egov_store::chain`, `egov_store::audit`), which says what broke where. One warning per
//! broken case chain, and one per broken audit row (its pseudo case number, [`audit_case_no`]).

use chrono::{DateTime, Utc};

use crate::rules::{ConfigSource, RuleConfig};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::Integrity;
pub const DEFAULT_LEVEL: Level = Level::RedCard;

/// The level an integrity warning is raised at: the configuration's `defaults` section says
/// (a department's or a matter's layer does not apply: a broken chain is no department's or
/// matter's), else [`DEFAULT_LEVEL`].
pub fn level(config: &RuleConfig) -> Level {
    config
        .spec()
        .defaults
        .levels
        .get(&RULE)
        .copied()
        .unwrap_or(DEFAULT_LEVEL)
}

/// The prefix of the pseudo case number of an audit chain break.
pub const AUDIT_CASE_PREFIX: &str = "audit-log#";

/// The pseudo case number a break of the audit chain at row `seq` is raised against, so each
/// broken row is raised once (one warning per case, rule and level).
pub fn audit_case_no(seq: i64) -> String {
    format!("{AUDIT_CASE_PREFIX}{seq}")
}

/// The region whose office holds an integrity warning: the province (the first two digits) of
/// `region`, the top office; `""` (no region: every subtree's view) when it has none.
pub fn holding_region(region: &str) -> String {
    region.get(..2).unwrap_or_default().to_owned()
}

/// The warning for a broken chain of case `case_no`: `record` names the first record that fails
/// (its seq and event id), `None` when the case's head no longer matches its last record;
/// `what` says what fails.
pub fn record_chain_broken(
    level: Level,
    case_no: &str,
    record: Option<(i64, &str)>,
    what: &str,
    now: DateTime<Utc>,
) -> WarningDraft {
    let place = match record {
        Some((seq, event_id)) => format!("at record {event_id} (seq {seq})"),
        None => "at its head".to_owned(),
    };
    WarningDraft {
        rule: RULE,
        level,
        clock: None,
        due_at: now,
        message: format!(
            "the record log's hash chain of case {case_no} is broken {place}: {what}; the stored \
             records were changed outside the platforms"
        ),
        event_id: None,
        config: ConfigSource::Default,
    }
}

/// The warning for a broken audit chain at row `seq`; `what` says what fails.
pub fn audit_chain_broken(level: Level, seq: i64, what: &str, now: DateTime<Utc>) -> WarningDraft {
    WarningDraft {
        rule: RULE,
        level,
        clock: None,
        due_at: now,
        message: format!(
            "the audit log's hash chain is broken at row {seq}: {what}; the audit log was \
             changed outside the platforms"
        ),
        event_id: None,
        config: ConfigSource::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_by_the_province_and_named_by_place() {
        assert_eq!(holding_region("330106"), "33");
        assert_eq!(holding_region("3"), "");
        assert_eq!(audit_case_no(7), "audit-log#7");
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let d = record_chain_broken(
            DEFAULT_LEVEL,
            "C-1",
            Some((5, "e-5")),
            "content changed",
            now,
        );
        assert_eq!(d.rule, Rule::Integrity);
        assert!(
            d.message
                .contains("case C-1 is broken at record e-5 (seq 5): content changed")
        );
        let d = audit_chain_broken(DEFAULT_LEVEL, 9, "a gap", now);
        assert!(d.message.contains("row 9: a gap"));
    }
}
