//! Withdrawing the warnings whose ground later records disproved (docs/design.md §3.2), done
//! by the log follower for every case a batch of the record log touches, before its cursor
//! moves past the batch (a restart judges the batch again; a warning withdrawn already is not
//! live any more, so nothing is done twice).
//!
//! Why here, in one place: the follower reads the log in commit order, so when it reads the
//! record that disproves a card, every card raised on the older ground is already stored (the
//! due loop fires only instants the record's commit did not replace; the follower raised its
//! own earlier, in order), and the case's projection it reads holds that record. The domain
//! judges ([`withdrawal::judge`]); the store withdraws, with the red card a withdrawn yellow
//! card gave.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use egov_domain::rules::withdrawal;
use egov_domain::warning::{Rule, WarningDetail, Withdrawal};
use egov_store::{CaseRow, WarningRow};

use crate::raise::clock_views;
use crate::service::Supervision;
use crate::workers::WorkerError;

/// A record of a case as [`withdrawal::disproving_record`] weighs it: (log sequence,
/// occurred_at, event id).
type Arrived<'a> = (i64, DateTime<Utc>, &'a str);

/// Withdraws the live warnings of the cases of `rows` (their projections as just read) whose
/// ground no longer holds at `now`. Returns the warnings withdrawn (red cards of withdrawn
/// yellow cards included).
pub(crate) async fn disproved(
    s: &Supervision,
    rows: &[CaseRow],
    now: DateTime<Utc>,
) -> Result<Vec<WarningRow>, WorkerError> {
    let store = s.store();
    let case_nos: Vec<String> = rows.iter().map(|r| r.case_no.clone()).collect();
    let live = store.live_warnings_of(&case_nos).await?;
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let views: HashMap<&str, _> = rows
        .iter()
        .map(|r| (r.case_no.as_str(), clock_views(r)))
        .collect();
    let found: Vec<(&WarningRow, withdrawal::Disproof)> = live
        .iter()
        .filter_map(|w| {
            let rule = Rule::parse(&w.rule)?;
            let detail = WarningDetail::from_json(&w.detail);
            let disproof = withdrawal::judge(
                rule,
                detail.clock.as_deref(),
                detail.yellow_card.is_some(),
                views.get(w.case_no.as_str())?,
                now,
            )?;
            Some((w, disproof))
        })
        .collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    // The records, to name the one that disproved each card: read only for those cases.
    let mut disproved_cases: Vec<String> = found.iter().map(|(w, _)| w.case_no.clone()).collect();
    disproved_cases.sort_unstable();
    disproved_cases.dedup();
    let snapshots = store.load_cases(&disproved_cases).await?;
    let records: HashMap<&str, Vec<Arrived<'_>>> = snapshots
        .iter()
        .map(|c| {
            let list = c
                .records
                .iter()
                .map(|r| (r.seq, r.occurred_at, r.event_id.as_str()))
                .collect();
            (c.case.case_no.as_str(), list)
        })
        .collect();
    let withdrawals: Vec<(i64, Withdrawal)> = found
        .iter()
        .map(|(w, disproof)| {
            let list = records
                .get(w.case_no.as_str())
                .map_or(&[][..], Vec::as_slice);
            let event_id = withdrawal::disproving_record(disproof, w.due_at, list)
                .unwrap_or_default()
                .to_owned();
            let occurred = list
                .iter()
                .find(|(_, _, id)| *id == event_id)
                .map(|(_, at, _)| *at);
            let reason = withdrawal::reason(&event_id, occurred, disproof);
            (w.id, Withdrawal { event_id, reason })
        })
        .collect();
    let withdrawn = store.withdraw_warnings(&withdrawals, now).await?;
    for w in &withdrawn {
        tracing::info!(
            warning = w.id,
            case_no = %w.case_no,
            rule = %w.rule,
            level = %w.level,
            "a warning's ground was disproved by a later record: withdrawn"
        );
    }
    Ok(withdrawn)
}
