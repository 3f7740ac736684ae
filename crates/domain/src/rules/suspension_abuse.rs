//! Rule `suspension_abuse` (docs/design.md §3): a suspension (特别程序) without a kind or a reason, of
//! a kind the matter does not allow, more suspensions on one case than allowed, or a suspension
//! still open past its planned end. Default level: yellow card.
//!
//! Source: ALL Art. 45: the time of hearings, tendering, auctions, testing, quarantine,
//! appraisal and expert review is not counted in the limit, and the department must tell the
//! applicant in writing how long it takes. A suspension stops every clock of the case, so it
//! must say which procedure and why, be one the catalogue allows for the matter, and end when
//! planned. The law sets no count; the city allows 2 per case by default
//! ([`crate::rules::config::DEFAULT_MAX_SUSPENSIONS`] says why), configurable.
//!
//! Two parts:
//! - a record rule ([`check`]): fires on the record that first brings a breach of kind, reason,
//!   allowed kinds or count;
//! - a time rule: while a suspension is open, the case has the due instant
//!   [`PLANNED_END_KEY`] at its planned end ([`due_instant`]), and [`on_due`] fires if the
//!   suspension is still open then. The deadline clocks are paused meanwhile and schedule
//!   nothing, so this instant is the only thing that wakes the platform for such a case.

use chrono::{DateTime, FixedOffset, Utc};

use crate::calendar::Calendar;
use crate::case::{Case, CaseState, SuspensionSpan};
use crate::clock::DueInstant;
use crate::rules::{
    EffectiveRules, Finding, RecordContext, draft, first_breach, local_time, ordinal,
};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::SuspensionAbuse;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The key of the due instant at an open suspension's planned end.
pub const PLANNED_END_KEY: &str = "suspension:planned_end";

/// The warning for `ctx`'s record, if it is the one that first breaks the rule on the case.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let findings = |case: &Case| -> Vec<Finding> {
        let max = ctx.config.max_suspensions();
        let allowed = &ctx.matter.suspension_kinds;
        let mut out = Vec::new();
        for (i, s) in case.suspensions.iter().enumerate() {
            let mut problems = Vec::new();
            let mut sources = Vec::new();
            match s.kind {
                None => problems.push("has no kind".to_owned()),
                Some(kind) if !allowed.contains(&kind) => problems.push(format!(
                    "is of kind {}, which matter {} does not allow ({})",
                    kind.as_str(),
                    ctx.matter.code,
                    if allowed.is_empty() {
                        "it allows none".to_owned()
                    } else {
                        let names: Vec<_> = allowed.iter().map(|k| k.as_str()).collect();
                        format!("it allows {}", names.join(", "))
                    }
                )),
                Some(_) => {}
            }
            if s.reason.trim().is_empty() {
                problems.push("has no reason".to_owned());
            }
            let n = i + 1;
            if n > max.value as usize {
                problems.push(format!(
                    "is the {} on this case, more than the {} allowed [{}]",
                    ordinal(n),
                    max.value,
                    max.source
                ));
                sources.push(max.source.clone());
            }
            if !problems.is_empty() {
                out.push(Finding {
                    at: s.started_at,
                    text: format!(
                        "the suspension started {} {} (ALL Art. 45)",
                        ctx.local(s.started_at),
                        problems.join(" and ")
                    ),
                    sources,
                });
            }
        }
        out
    };
    let breach = first_breach(ctx, findings)?;
    Some(ctx.draft(RULE, breach.text, breach.sources))
}

/// The suspension that is open now, if any.
fn open_suspension(case: &Case) -> Option<&SuspensionSpan> {
    if case.state != CaseState::Suspended {
        return None;
    }
    case.suspensions.last().filter(|s| s.ended_at.is_none())
}

/// The due instant at the open suspension's planned end, if a suspension is open.
pub fn due_instant(case: &Case) -> Option<DueInstant> {
    open_suspension(case).map(|s| DueInstant {
        clock: PLANNED_END_KEY.to_owned(),
        due_at: s.planned_end,
    })
}

/// The warning owed at `due_at` for a suspension still open past its planned end; None if no
/// suspension is open, or the open one is planned to end later (a stale instant).
pub fn on_due(
    due_at: DateTime<Utc>,
    case: &Case,
    calendar: &Calendar,
    config: &EffectiveRules,
) -> Option<WarningDraft> {
    let s = open_suspension(case).filter(|s| s.planned_end <= due_at)?;
    let kind = s.kind.map_or("suspension without a kind".to_owned(), |k| {
        format!("{} suspension", k.as_str())
    });
    let reason = if s.reason.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", s.reason)
    };
    let message = format!(
        "the {kind}{reason} started {} is still open past its planned end {}: the clocks stay \
         stopped until it ends (ALL Art. 45)",
        local_time(calendar, s.started_at),
        local_time(calendar, s.planned_end),
    );
    Some(draft(
        RULE,
        config,
        Some(PLANNED_END_KEY.to_owned()),
        s.planned_end,
        message,
        None,
        [],
    ))
}

/// The message when only the stored instant is known (no case at hand), in local time at
/// `offset`.
pub(crate) fn stored_message(planned_end: DateTime<Utc>, offset: FixedOffset) -> String {
    format!(
        "a suspension is still open past its planned end {}: the clocks stay stopped until it \
         ends (ALL Art. 45)",
        crate::local::local_time(offset, planned_end)
    )
}
