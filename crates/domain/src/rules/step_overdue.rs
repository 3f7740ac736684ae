//! Rule `step_overdue` (docs/design.md §3): a handling step (承办, 审核, 批准, or a matter's own) runs
//! past its own limit from the catalogue, even if the case as a whole is on time. Default
//! level: reminder.
//!
//! Source: city practice: matters may set a limit per step (docs/design.md §2, item 3) so that one
//! office cannot eat the whole case's time; a step beyond it is an early warning, not yet a
//! breach of the law. Clocks: `step:NAME`, one per started step whose matter sets a limit.
//!
//! A deadline rule: it fires at its clock's due instant while the step still runs, or once the
//! supervision platform sees the step completed late (see [`crate::rules::on_due`] and
//! [`crate::rules::on_late_clocks`]).

use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::StepOverdue;
pub const DEFAULT_LEVEL: Level = Level::Reminder;

/// Step clocks are keyed `step:` + the step's name.
pub const PREFIX: &str = "step:";

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    key.starts_with(PREFIX)
}
