//! Rule `acceptance_overdue` (docs/design.md §3): no acceptance decision (acceptance, refusal, or
//! the one correction notice) 5 working days after receipt, or after the corrected materials
//! arrived. Default level: yellow card.
//!
//! Source: ALL Art. 32. Missing the 5 days also means the case counts as accepted on receipt;
//! [`crate::clock::clocks`] applies that to the decision clocks. Clock: `acceptance`.
//!
//! A deadline rule: it fires at its clock's due instant while the clock still runs, or, for a
//! clock that stopped after its deadline (a case completed late, records pushed late), as soon
//! as the supervision platform sees it stopped (see [`crate::rules::on_due`] and
//! [`crate::rules::on_late_clocks`]).

use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::AcceptanceOverdue;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The keys of the clocks (and their due instants) this rule watches.
pub const CLOCKS: &[&str] = &["acceptance"];

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    CLOCKS.contains(&key)
}
