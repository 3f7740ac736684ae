//! Rule `statutory_limit_passed` (docs/design.md §3): the case is not decided at its statutory
//! deadline. Default level: red card.
//!
//! Source: ALL Art. 42 (a decision within 20 working days, 45 for joint or centralized
//! handling) and Art. 43 (20 working days for a lower level's preliminary review).
//! Clock: `statutory`. docs/design.md §3 also gives this rule's red card when a yellow card's
//! correction due passes unanswered; that is a transition of the correction workflow (its instant
//! is [`crate::rules::EffectiveRules::correction_due`]), not a clock of the case.
//!
//! A deadline rule: it fires at its clock's due instant while the clock still runs, or, for a
//! clock that stopped after its deadline (a case completed late, records pushed late), as soon
//! as the supervision platform sees it stopped (see [`crate::rules::on_due`] and
//! [`crate::rules::on_late_clocks`]).

use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::StatutoryLimitPassed;
pub const DEFAULT_LEVEL: Level = Level::RedCard;

/// The keys of the clocks (and their due instants) this rule watches.
pub const CLOCKS: &[&str] = &["statutory"];

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    CLOCKS.contains(&key)
}
