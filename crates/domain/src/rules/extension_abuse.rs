//! Rule `extension_abuse` (docs/design.md §3): more extensions or more extension days than the law
//! allows, or an extension without an approver (or without a reason). Default level: yellow
//! card.
//!
//! Source: ALL Art. 42: when a decision cannot be made within 20 working days, the head of the
//! agency may approve extending the limit once, by 10 working days (15 for joint or
//! centralized handling), and the applicant must be told the reason. An immediate item has no
//! extension. The allowed count and days are configuration, never laxer than the law
//! ([`crate::rules::config`] refuses more).
//!
//! An extension must also be approved within the limit it extends (ALL Art. 42, docs/design.md §2): one
//! that comes after a decision limit (promised, statutory or same-day) has passed does not revive
//! it and is itself a breach of this rule.
//!
//! A record rule: it fires on the extension that first breaks the rule on the case. Days are
//! counted over all extensions of the case, so two extensions of 6 days break it as one of 12
//! does.

use crate::case::Case;
use crate::clock::{self, ClockKind};
use crate::rules::config::kind_phrase;
use crate::rules::{Finding, RecordContext, first_breach, ordinal};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::ExtensionAbuse;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The warning for `ctx`'s record, if it is the one that first breaks the rule on the case.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let findings = |case: &Case| -> Vec<Finding> {
        let max = ctx.config.max_extensions();
        let kind = ctx.matter.kind;
        let days = ctx.config.extension_working_days(kind);
        let mut total: u64 = 0;
        let mut out = Vec::new();
        // The decision limits each extension came too late for, by the extension's instant.
        let passed: Vec<(chrono::DateTime<chrono::Utc>, String)> =
            clock::clocks(case, ctx.matter, ctx.calendar)
                .into_iter()
                .filter(|c| {
                    matches!(
                        c.kind,
                        ClockKind::Promised | ClockKind::Statutory | ClockKind::Immediate
                    )
                })
                .flat_map(|c| {
                    c.passed_events
                        .into_iter()
                        .filter(|p| p.extension)
                        .map(move |p| {
                            (
                                p.at,
                                format!(
                                    "came after the {} limit passed on {} 24:00, though it must \
                                     be approved within the limit",
                                    c.kind.as_str(),
                                    p.last_day
                                ),
                            )
                        })
                })
                .collect();
        for (i, e) in case.extensions.iter().enumerate() {
            let mut problems = Vec::new();
            let mut sources = Vec::new();
            total += u64::from(e.working_days);
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
            if total > u64::from(days.value) {
                let what = if n == 1 {
                    "is".to_owned()
                } else {
                    format!("brings the case's extensions to {total} working days,")
                };
                problems.push(format!(
                    "{what} more than the {} allowed for {} [{}]",
                    days.value,
                    kind_phrase(kind),
                    days.source
                ));
                sources.push(days.source.clone());
            }
            problems.extend(
                passed
                    .iter()
                    .filter(|(at, _)| *at == e.at)
                    .map(|(_, text)| text.clone()),
            );
            if e.approver.trim().is_empty() {
                problems.push("has no approver, though the agency head must approve".to_owned());
            }
            if e.reason.trim().is_empty() {
                problems.push("has no reason for the applicant".to_owned());
            }
            if !problems.is_empty() {
                out.push(Finding {
                    at: e.at,
                    text: format!(
                        "the extension of {} working days on {} {} (ALL Art. 42)",
                        e.working_days,
                        ctx.local(e.at),
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
