//! Rule `certificate_overdue` (docs/design.md §3): no certificate issued or served 10 working days
//! after an approval decision. Default level: yellow card.
//!
//! Source: ALL Art. 44. Clock: `certificate`.
//!
//! A deadline rule: it fires at its clock's due instant while the clock still runs, or, for a
//! clock that stopped after its deadline (a case completed late, records pushed late), as soon
//! as the supervision platform sees it stopped (see [`crate::rules::on_due`] and
//! [`crate::rules::on_late_clocks`]).

use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::CertificateOverdue;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The keys of the clocks (and their due instants) this rule watches.
pub const CLOCKS: &[&str] = &["certificate"];

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    CLOCKS.contains(&key)
}
