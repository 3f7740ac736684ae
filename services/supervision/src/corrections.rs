//! The correction workflow (docs/design.md §3) on the platform's side: applying a transition (the
//! workflow RPCs and the rules alike), and the correction pass the due loop runs with each of
//! its passes:
//! - it stamps every yellow and red card that has no correction due yet (the approval
//!   platform's record rules and this platform's own raise cards without one) with
//!   `EffectiveRules::correction_due` (3 working days by default) on the bundled China
//!   calendar (`Calendar::china()`; the matter's own calendar is not consulted yet);
//! - it fires the correction dues that passed unanswered (the card still raised or
//!   acknowledged, or escalated and not yet acknowledged at its new office), carrying out what
//!   the domain decides (`egov_domain::workflow::on_passed_correction_due`): a yellow card gives
//!   its case a red card of the same rule (one per case, rule and level, like every warning),
//!   a red card is escalated by actor "system" to the supervision office one level up of the
//!   office holding it (`330106 -> 3301 -> 33`), with a new correction due there; at the top
//!   (a province) the due just ends, recorded in the history.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::jurisdiction;
use egov_domain::rules::{EffectiveRules, Level, RuleConfig};
use egov_domain::warning::WarningDetail;
use egov_domain::workflow::{self, Action, PassedCorrection, WarningState};
use egov_store::{NewWarning, Reassignment, StoreError, WarningRow};

use crate::error::{ApiError, Refusal};
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

/// Who asks for a transition: a staff identifier (or [`SYSTEM`]) and, optionally, the region
/// of the supervision office they work at.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The staff identifier recorded in the history.
    pub who: &'a str,
    /// The acting supervisor's office; when set, closing and escalating are limited to
    /// warnings held by that office or one below it.
    pub office: Option<&'a str>,
}

/// Applies `action` to warning `id`: judged by the domain's workflow against the warning's
/// current state (and, for an escalation, whether an office exists above the one holding it),
/// then stored optimistically on that state (retried if the warning changed meanwhile). An
/// escalation hands the warning to the office one level up with a new correction due for a
/// card. NOT_FOUND for an unknown id, FAILED_PRECONDITION naming the current state for a move
/// the workflow refuses, PERMISSION_DENIED when the actor's office may not act on the warning.
pub async fn apply(
    s: &Supervision,
    id: i64,
    action: Action,
    actor: Actor<'_>,
    reason: &str,
    attachments: &[String],
    at: DateTime<Utc>,
) -> Result<WarningRow, ApiError> {
    let store = s.store();
    for _ in 0..ATTEMPTS {
        let row = store
            .get_warning(id)
            .await?
            .ok_or_else(|| ApiError::not_found("warning", id.to_string()))?;
        let from = WarningState::parse(&row.state).ok_or_else(|| {
            ApiError::Internal(format!(
                "warning {id} has the unknown state {:?}",
                row.state
            ))
        })?;
        let to = workflow::transition(from, action).map_err(|e| {
            ApiError::FailedPrecondition(
                Refusal::new("TRANSITION_NOT_ALLOWED", format!("warning {id}: {e}"))
                    .with("warning_id", id.to_string())
                    .with("state", wire_state(from))
                    .with("action", format!("{action:?}").to_uppercase())
                    .precondition("STATE", format!("warning {id}")),
            )
        })?;
        if let Some(office) = actor.office
            && matches!(action, Action::Close | Action::Escalate)
            && !jurisdiction::office_may_act(office, &row.office)
        {
            return Err(ApiError::PermissionDenied(
                Refusal::new(
                    "OUTSIDE_JURISDICTION",
                    format!(
                        "warning {id} is held by the supervision office of region {}; the office \
                         of region {office} may act only on warnings held by itself or an office \
                         below it",
                        row.office
                    ),
                )
                .with("warning_id", id.to_string())
                .with("held_by", row.office.clone())
                .with("office", office),
            ));
        }
        let stored = if action == Action::Escalate {
            let above = jurisdiction::parent_region(&row.office).ok_or_else(|| {
                ApiError::FailedPrecondition(
                    Refusal::new(
                        "NO_OFFICE_ABOVE",
                        format!(
                            "warning {id} is held by the supervision office of region {}, the \
                             top of the jurisdiction tree; there is no office above to escalate to",
                            row.office
                        ),
                    )
                    .with("warning_id", id.to_string())
                    .with("held_by", row.office.clone())
                    .with("state", wire_state(from))
                    .precondition("JURISDICTION", format!("warning {id}")),
                )
            })?;
            let due = Level::parse(&row.level)
                .and_then(|level| effective(&s.rules(), &row).correction_due(level, at, calendar()))
                .map(|(deadline, _)| deadline.due_at);
            let to_office = Reassignment {
                from_office: &row.office,
                expected_due: None,
                office: above,
                correction_due_at: due,
            };
            store
                .reassign_warning(
                    id,
                    from.as_str(),
                    to.as_str(),
                    actor.who,
                    reason,
                    attachments,
                    at,
                    &to_office,
                )
                .await
        } else {
            store
                .transition_warning(
                    id,
                    from.as_str(),
                    to.as_str(),
                    actor.who,
                    reason,
                    attachments,
                    at,
                )
                .await
        };
        match stored {
            Ok(row) => return Ok(row),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Aborted(
        Refusal::new(
            "CONCURRENT_CHANGE",
            format!("warning {id} kept changing; read it again and retry"),
        )
        .with("warning_id", id.to_string()),
    ))
}

/// A state as the contract's `WarningState` value names it (`WARNING_STATE_ANSWERED`), for
/// error metadata clients compare with the enum.
fn wire_state(state: WarningState) -> String {
    format!("WARNING_STATE_{}", state.as_str().to_uppercase())
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

/// Hands `card`, a red card whose correction due passed unanswered, to the office of region
/// `above` with a new due there, or, at the top office (`above` None), just ends the due. Only
/// from the card exactly as read (its state, office and due): if anything moved it meanwhile
/// (another instance fired the same due, a supervisor escalated it, the department answered)
/// this does nothing.
async fn escalate_passed_due(
    s: &Supervision,
    card: &WarningRow,
    above: Option<&str>,
    due: &str,
    now: DateTime<Utc>,
) -> Result<(), WorkerError> {
    let (new_state, office, new_due, reason) = match above {
        Some(above) => (
            WarningState::Escalated.as_str(),
            above,
            effective(&s.rules(), card)
                .correction_due(Level::RedCard, now, calendar())
                .map(|(deadline, _)| deadline.due_at),
            format!(
                "the red card's correction due {due} passed unanswered; escalated to the \
                 supervision office of region {above} (one level up from {})",
                card.office
            ),
        ),
        // The top office: nobody to hand it to. The due ends, recorded in the history.
        None => (
            card.state.as_str(),
            card.office.as_str(),
            None,
            format!(
                "the red card's correction due {due} passed unanswered at the supervision \
                 office of region {}, the top of the jurisdiction tree",
                card.office
            ),
        ),
    };
    let to = Reassignment {
        from_office: &card.office,
        expected_due: card.correction_due_at,
        office,
        correction_due_at: new_due,
    };
    match s
        .store()
        .reassign_warning(
            card.id,
            &card.state,
            new_state,
            SYSTEM,
            &reason,
            &[],
            now,
            &to,
        )
        .await
    {
        Ok(_) => tracing::info!(
            warning = card.id,
            office,
            "a red card's correction due passed"
        ),
        Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Carries out what the domain decides for the passed correction due of `card`
/// ([`workflow::on_passed_correction_due`]); a card whose level or state this build does not
/// know is left alone.
async fn fire(s: &Supervision, card: &WarningRow, now: DateTime<Utc>) -> Result<(), WorkerError> {
    let (Some(level), Some(state)) = (Level::parse(&card.level), WarningState::parse(&card.state))
    else {
        return Ok(());
    };
    let due = card
        .correction_due_at
        .map(|t| calendar().local_time(t))
        .unwrap_or_default();
    match workflow::on_passed_correction_due(level, state, &card.office) {
        PassedCorrection::RedCard => {
            let red = NewWarning {
                case_no: card.case_no.clone(),
                rule: card.rule.clone(),
                level: Level::RedCard.as_str().to_owned(),
                department: card.department.clone(),
                region: card.region.clone(),
                matter_code: card.matter_code.clone(),
                due_at: card.due_at,
                raised_at: now,
                detail: WarningDetail {
                    message: format!(
                        "case {}: the correction due {due} of yellow card {} passed unanswered",
                        card.case_no, card.id
                    ),
                    provisional: None,
                    event_id: None,
                    yellow_card: Some(card.id),
                    withdrawal: None,
                    ..WarningDetail::from_json(&card.detail)
                }
                .to_json(),
            };
            // Only while the yellow card is still as read: one withdrawn meanwhile (its ground
            // disproved) gives no red card.
            let raised = s.store().raise_red_card(card.id, &card.state, &red).await?;
            tracing::info!(case_no = %card.case_no, yellow = card.id, red = ?raised.map(|w| w.id),
                "a yellow card's correction due passed: red card");
        }
        PassedCorrection::Escalate { to } => {
            escalate_passed_due(s, card, Some(to), &due, now).await?
        }
        PassedCorrection::End => escalate_passed_due(s, card, None, &due, now).await?,
        PassedCorrection::Nothing => {}
    }
    Ok(())
}
