//! The correction workflow (DESIGN §3) on the platform's side: applying a transition (the
//! workflow RPCs and the rules alike), and the correction pass the due loop runs with each of
//! its passes:
//! - it stamps every yellow and red card that has no correction due yet (the approval
//!   platform's record rules and this platform's own raise cards without one) with
//!   `EffectiveRules::correction_due` (3 working days by default) on the bundled China
//!   calendar (`Calendar::china()`; the matter's own calendar is not consulted yet);
//! - it fires the correction dues that passed unanswered (the card still raised or
//!   acknowledged): a yellow card gives its case a red card of the same rule (one per case,
//!   rule and level, like every warning), a red card is escalated by actor "system" to the
//!   supervision office of the parent region (`330106 -> 3301 -> 33`), which the transition's
//!   reason names.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::rules::{EffectiveRules, Level, RuleConfig};
use egov_domain::workflow::{self, Action, WarningState};
use egov_store::{NewWarning, Store, StoreError, WarningRow};
use serde_json::json;

use crate::error::ApiError;
use crate::service::Supervision;
use crate::workers::{BATCH, WorkerError};

/// The actor of the changes the rules make themselves.
pub const SYSTEM: &str = "system";

/// How often a transition is retried when the warning changed between reading and writing.
const ATTEMPTS: usize = 3;

fn calendar() -> &'static Calendar {
    static CHINA: OnceLock<Calendar> = OnceLock::new();
    CHINA.get_or_init(Calendar::china)
}

/// Applies `action` to warning `id`: judged by the domain's workflow against the warning's
/// current state, then stored optimistically on that state (retried if the warning changed
/// meanwhile). NOT_FOUND for an unknown id, FAILED_PRECONDITION naming the current state for a
/// move the workflow refuses.
pub async fn apply(
    store: &Store,
    id: i64,
    action: Action,
    actor: &str,
    reason: &str,
    attachments: &[String],
    at: DateTime<Utc>,
) -> Result<WarningRow, ApiError> {
    for _ in 0..ATTEMPTS {
        let row = store
            .get_warning(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("warning {id} not found")))?;
        let from = WarningState::parse(&row.state).ok_or_else(|| {
            ApiError::Internal(format!(
                "warning {id} has the unknown state {:?}",
                row.state
            ))
        })?;
        let to = workflow::transition(from, action)
            .map_err(|e| ApiError::FailedPrecondition(format!("warning {id}: {e}")))?;
        match store
            .transition_warning(
                id,
                from.as_str(),
                to.as_str(),
                actor,
                reason,
                attachments,
                at,
            )
            .await
        {
            Ok(row) => return Ok(row),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Aborted(format!(
        "warning {id} kept changing; read it again and retry"
    )))
}

fn effective(rules: &RuleConfig, w: &WarningRow) -> EffectiveRules {
    match (
        MatterCode::parse(w.matter_code.clone()),
        DepartmentCode::parse(w.department.clone()),
    ) {
        (Ok(matter), Ok(department)) => rules.effective(&matter, &department),
        _ => EffectiveRules::defaults(),
    }
}

/// One correction pass at `now`: stamps cards without a due, fires the dues passed, stamps
/// the red cards that raised.
pub(crate) async fn run_pass(s: &Supervision, now: DateTime<Utc>) -> Result<(), WorkerError> {
    stamp(s).await?;
    loop {
        let due = s.store().due_corrections(now, BATCH).await?;
        let full = due.len() == BATCH as usize;
        for card in &due {
            fire(s, card, now).await?;
        }
        if !full {
            break;
        }
    }
    stamp(s).await
}

/// Sets the correction due of every card that has none.
async fn stamp(s: &Supervision) -> Result<(), WorkerError> {
    loop {
        let cards = s.store().cards_without_correction_due(BATCH).await?;
        let dues: Vec<(i64, DateTime<Utc>)> = cards
            .iter()
            .filter_map(|w| {
                let level = Level::parse(&w.level)?;
                let (deadline, _) =
                    effective(&s.rules(), w).correction_due(level, w.raised_at, calendar())?;
                Some((w.id, deadline.due_at))
            })
            .collect();
        s.store().set_correction_dues(&dues).await?;
        if cards.len() < BATCH as usize || dues.is_empty() {
            return Ok(());
        }
    }
}

/// Fires the passed correction due of `card`.
async fn fire(s: &Supervision, card: &WarningRow, now: DateTime<Utc>) -> Result<(), WorkerError> {
    let due = card
        .correction_due_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    match Level::parse(&card.level) {
        Some(Level::YellowCard) => {
            let red = NewWarning {
                case_no: card.case_no.clone(),
                rule: card.rule.clone(),
                level: Level::RedCard.as_str().to_owned(),
                department: card.department.clone(),
                region: card.region.clone(),
                matter_code: card.matter_code.clone(),
                due_at: card.due_at,
                raised_at: now,
                detail: json!({
                    "message": format!(
                        "case {}: the correction due {due} of yellow card {} passed unanswered",
                        card.case_no, card.id
                    ),
                    "config": card.detail.get("config").cloned().unwrap_or_default(),
                    "clock": card.detail.get("clock").cloned().unwrap_or_default(),
                    "explanation": card.detail.get("explanation").cloned().unwrap_or_default(),
                    "yellow_card": card.id,
                }),
            };
            let raised = s.store().insert_warnings(&[red]).await?;
            tracing::info!(case_no = %card.case_no, yellow = card.id, red = ?raised.first().map(|w| w.id),
                "a yellow card's correction due passed: red card");
        }
        Some(Level::RedCard) => {
            let to = match workflow::parent_region(&card.region) {
                Some(parent) => format!(
                    "the supervision office of region {parent} (one level up from {})",
                    card.region
                ),
                None => format!(
                    "the supervision office above region {} (the top level)",
                    card.region
                ),
            };
            let reason =
                format!("the red card's correction due {due} passed unanswered; escalated to {to}");
            match apply(
                s.store(),
                card.id,
                Action::Escalate,
                SYSTEM,
                &reason,
                &[],
                now,
            )
            .await
            {
                Ok(_) => tracing::info!(
                    warning = card.id,
                    "a red card's correction due passed: escalated"
                ),
                // Answered, closed or escalated meanwhile: nothing left to do.
                Err(ApiError::FailedPrecondition(_) | ApiError::NotFound(_)) => {}
                Err(ApiError::Store(e)) => return Err(e.into()),
                Err(e) => tracing::warn!(warning = card.id, error = %e, "escalation failed"),
            }
        }
        _ => {}
    }
    Ok(())
}
