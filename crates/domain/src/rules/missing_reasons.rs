//! Rule `missing_reasons` (docs/design.md §3: refusal or denial without reasons): a refusal to
//! accept (不予受理) or a denial whose reason is empty. Default level: yellow card.
//!
//! Source: ALL Art. 32 (a refusal to accept must be explained in writing) and Art. 38 (a
//! decision not to grant a licence must state its reasons and tell the applicant of the right
//! to review or sue). An approval needs no reasons. A reason of blanks only is empty.
//!
//! A record rule that judges the record alone: a case has at most one refusal or decision (the
//! state machine refuses a second), so it fires at most once per case.

use crate::record::{Outcome, RecordBody};
use crate::rules::RecordContext;
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::MissingReasons;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The warning for `ctx`'s record, if it is a refusal or denial without reasons.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let (what, reason, handler, article) = match &ctx.record.body {
        RecordBody::Refusal { reason, handler } => (
            "refused to accept the application",
            reason,
            handler,
            "ALL Art. 32",
        ),
        RecordBody::Decision {
            outcome: Outcome::Denied,
            reason,
            handler,
        } => ("denied the application", reason, handler, "ALL Art. 38"),
        _ => return None,
    };
    if !reason.trim().is_empty() {
        return None;
    }
    let message = format!(
        "{handler} {what} on {} without reasons: the applicant must be told why ({article})",
        ctx.local(ctx.record.occurred_at)
    );
    Some(ctx.draft(RULE, message, []))
}
