//! Rule `irregular_fee` (docs/design.md §3): a fee item not in the matter's catalogue, or charged
//! above the catalogue's amount. Default level: red card.
//!
//! Source: ALL Art. 58 (a licensing agency may charge only what laws and administrative
//! regulations provide) and Art. 59 (fees follow the published items and standards; charging
//! beyond them is unlawful). The catalogue lists each matter's fee items with their maximum
//! (`max_fen`). Money is compared to the fen.
//!
//! The maximum is per case and item: a second charge of an item counts with the first, so a
//! fee split into two receipts that together exceed the maximum is irregular too.
//!
//! A record rule: it fires on the fee that first breaks the rule on the case.

use std::collections::BTreeMap;

use crate::case::Case;
use crate::money::Fen;
use crate::record::RecordBody;
use crate::rules::{Finding, RecordContext, first_breach};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::IrregularFee;
pub const DEFAULT_LEVEL: Level = Level::RedCard;

/// The warning for `ctx`'s record, if it is the one that first breaks the rule on the case.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let matter = ctx.matter;
    let findings = |case: &Case| -> Vec<Finding> {
        let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
        let mut out = Vec::new();
        for fee in &case.fees {
            let when = ctx.local(fee.at);
            let text = match matter.fee_item(&fee.fee_item) {
                None => Some(format!(
                    "fee item {:?} charged {} on {when} is not in the catalogue of matter {} \
                     (ALL Arts. 58-59)",
                    fee.fee_item, fee.amount, matter.code
                )),
                Some(item) => {
                    let total = totals.entry(item.fee_item.as_str()).or_insert(0);
                    *total = total.saturating_add(fee.amount.get());
                    let total = *total;
                    (total > item.max.get()).then(|| {
                        let brings = if total == fee.amount.get() {
                            String::new()
                        } else {
                            format!(
                                ", bringing the item's total on this case to {}",
                                Fen::new(total).unwrap_or(Fen::ZERO)
                            )
                        };
                        format!(
                            "fee item {:?} ({}) charged {} on {when}{brings}, above the \
                             catalogue's maximum of {} (ALL Arts. 58-59)",
                            item.fee_item, item.name, fee.amount, item.max
                        )
                    })
                }
            };
            if let Some(text) = text {
                out.push(Finding {
                    at: fee.at,
                    text,
                    sources: Vec::new(),
                });
            }
        }
        out
    };
    let breach = first_breach(ctx, findings)?;
    let mut message = breach.text;
    if let RecordBody::Fee { receipt_no, .. } = &ctx.record.body
        && breach.own
    {
        message.push_str(&format!("; receipt {receipt_no}"));
    }
    Some(ctx.draft(RULE, message, breach.sources))
}
