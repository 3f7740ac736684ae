//! Rule `repeated_correction` (docs/design.md §3): a second correction notice on one case. Default
//! level: yellow card.
//!
//! Source: ALL Art. 32 ("tell everything once", 一次性告知): when materials are incomplete, the
//! department must tell the applicant, once, everything that needs correcting. A second notice
//! means the first one did not list everything, and every notice stops the acceptance clock
//! while the applicant gathers papers: asking piecemeal is a way of buying time.
//!
//! A record rule: it fires on the record that brings the case its second notice.

use crate::case::Case;
use crate::record::RecordBody;
use crate::rules::{Finding, RecordContext, first_breach, ordinal};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::RepeatedCorrection;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The warning for `ctx`'s record, if it is the one that breaks the rule.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let findings = |case: &Case| -> Vec<Finding> {
        let Some((&first, later)) = case.correction_notices.split_first() else {
            return Vec::new();
        };
        later
            .iter()
            .enumerate()
            .map(|(i, &at)| Finding {
                at,
                text: format!(
                    "a {} correction notice on {}, after the first on {}: one notice must list \
                     every missing material (\"tell everything once\", ALL Art. 32)",
                    ordinal(i + 2),
                    ctx.local(at),
                    ctx.local(first),
                ),
                sources: Vec::new(),
            })
            .collect()
    };
    let breach = first_breach(ctx, findings)?;
    let mut message = breach.text;
    if let RecordBody::CorrectionNotice { materials, .. } = &ctx.record.body
        && breach.own
    {
        message.push_str(&format!("; this notice asks for: {}", materials.join(", ")));
    }
    Some(ctx.draft(RULE, message, breach.sources))
}
