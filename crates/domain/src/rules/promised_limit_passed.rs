//! Rule `promised_limit_passed` (docs/design.md §3): the case is not decided at its promised
//! deadline (for an immediate item, at the end of its same working day). Default level: yellow
//! card.
//!
//! Source: city practice. The catalogue publishes a promised limit (承诺时限), usually shorter
//! than the statutory one; it is the department's public commitment, and missing it is a
//! breach to explain or correct even while the statutory limit still runs. Clocks: `promised`,
//! and `immediate` for the same-day limit of an immediate item (即办件).
//!
//! A deadline rule: it fires at its clock's due instant while the clock still runs, or, for a
//! clock that stopped after its deadline (a case completed late, records pushed late), as soon
//! as the supervision platform sees it stopped (see [`crate::rules::on_due`] and
//! [`crate::rules::on_late_clocks`]).

use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::PromisedLimitPassed;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The keys of the clocks (and their due instants) this rule watches.
pub const CLOCKS: &[&str] = &["promised", "immediate"];

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    CLOCKS.contains(&key)
}
