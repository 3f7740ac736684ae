//! Rule `approaching_deadline` (docs/design.md §3): a reminder before the promised limit passes,
//! when at most 2 working days remain (1 for limits of at most 3 days). Default level: reminder.
//!
//! Source: city practice (the supervision rules of the service centres): the promised limit
//! (承诺时限) is the department's public commitment, and a heads-up before it passes is what
//! lets a department keep it. The thresholds are configuration ([`Approaching`]); they are the
//! only configuration that places due instants, so changing them moves the instants of open
//! cases.
//!
//! Fires at the due instant `approaching:promised` (or `approaching:immediate`) of a running
//! clock: the start of the day from which at most the threshold's working days remain before
//! the deadline's last day. A reminder that would come no earlier than the deadline itself is
//! not scheduled (the deadline's own warning says it all).

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::Calendar;
use crate::clock::{ClockKind, ClockView, DeadlineClock, approaching_at};
use crate::limit::Limit;
use crate::warning::{Level, Rule};

pub const RULE: Rule = Rule::ApproachingDeadline;
pub const DEFAULT_LEVEL: Level = Level::Reminder;

/// Due instants of this rule are keyed `approaching:` + the clock's key.
pub const PREFIX: &str = "approaching:";

/// When the reminder comes, in working days left before a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approaching {
    /// Remind when at most this many working days remain (docs/design.md §3: 2).
    pub working_days: u32,
    /// The same for short limits (docs/design.md §3: 1).
    pub short_limit_working_days: u32,
    /// A limit of at most this many days is short (docs/design.md §3: 3).
    pub short_limit_max_days: u32,
}

impl Approaching {
    /// docs/design.md §3: 2 working days, 1 for limits of at most 3 days.
    pub const DEFAULT: Approaching = Approaching {
        working_days: 2,
        short_limit_working_days: 1,
        short_limit_max_days: 3,
    };

    /// The threshold for a clock of `limit` (its own amount, before extensions).
    pub fn threshold(&self, limit: Limit) -> u32 {
        if limit.amount <= self.short_limit_max_days {
            self.short_limit_working_days
        } else {
            self.working_days
        }
    }
}

impl Default for Approaching {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Whether a due instant's key belongs to this rule.
pub fn matches(key: &str) -> bool {
    key.starts_with(PREFIX)
}

/// The clock a due instant is about: `approaching:promised` is the reminder before the
/// `promised` deadline; any other key is its clock's own.
pub fn clock_key(key: &str) -> &str {
    key.strip_prefix(PREFIX).unwrap_or(key)
}

/// When the reminder before a running promised (or same-day) clock is due, or None: another
/// kind of clock, a limit already within the threshold when it started, or a reminder that
/// would not come before the clock is judged.
pub fn reminder_at(
    clock: &DeadlineClock,
    cal: &Calendar,
    approaching: &Approaching,
) -> Option<DateTime<Utc>> {
    if !matches!(clock.kind, ClockKind::Promised | ClockKind::Immediate) {
        return None;
    }
    reminder_of(
        cal,
        approaching,
        clock.started_at,
        clock.limit,
        clock.deadline.last_day,
        clock.not_before,
        clock.judged_at(),
    )
}

/// [`reminder_at`] of a clock as a case's projection keeps it (the view written with the
/// case's due instants, at the same version): what a change of the thresholds alone
/// recomputes without replaying the case, since the deadline itself does not move. None
/// unless the clock runs.
pub fn reminder_at_view(
    view: &ClockView,
    cal: &Calendar,
    approaching: &Approaching,
) -> Option<DateTime<Utc>> {
    let reminded = [ClockKind::Promised, ClockKind::Immediate]
        .iter()
        .any(|k| k.as_str() == view.key);
    if !reminded || view.status != "running" {
        return None;
    }
    let judged_at = view.not_before.map_or(view.due_at, |t| t.max(view.due_at));
    reminder_of(
        cal,
        approaching,
        view.started_at,
        view.limit,
        view.last_day,
        view.not_before,
        judged_at,
    )
}

fn reminder_of(
    cal: &Calendar,
    approaching: &Approaching,
    started_at: DateTime<Utc>,
    limit: Limit,
    last_day: NaiveDate,
    not_before: Option<DateTime<Utc>>,
    judged_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start = cal.local_date(started_at);
    let threshold = approaching.threshold(limit);
    let at = approaching_at(cal, start, last_day, threshold)?;
    // A deemed decision clock is not judged before the acceptance deadline (ALL Art. 32), and
    // neither is it reminded of.
    let at = not_before.map_or(at, |t| t.max(at));
    (at < judged_at).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_key_names_the_clock_it_comes_before() {
        assert!(matches("approaching:promised"));
        assert_eq!(clock_key("approaching:promised"), "promised");
        assert_eq!(clock_key("approaching:immediate"), "immediate");
        for own in [
            "promised",
            "statutory",
            "step:review",
            "suspension:planned_end",
        ] {
            assert!(!matches(own), "{own}");
            assert_eq!(clock_key(own), own);
        }
    }
}
