//! Rule `procedure_anomaly` (docs/design.md §3): records out of order. Default level: yellow card.
//!
//! Source: the order of the procedure in the ALL: acceptance before any handling or decision
//! (Arts. 32-34), a decision before completion (Arts. 37-38), a certificate only for an
//! approval (Art. 44), no handling counted while a special procedure stops the clock (Art. 45);
//! and docs/design.md §6: an acceptance's `promised_due_at` is the sender's own computation,
//! checked against the platform's.
//!
//! Two ways in:
//! - [`check`], for an admitted record: an acceptance whose `promised_due_at` disagrees with the
//!   promised deadline the platform computes at acceptance (from the acceptance, or from
//!   receipt when acceptance came late, ALL Art. 32; before any suspension or extension). The
//!   sender's value agrees if it falls on the deadline's last day (local time) or is its end
//!   (24:00); a promise to the applicant on any other day is wrong in one direction or the
//!   other.
//! - [`for_refused`], for a record the state machine refused: the approval platform reports the
//!   refused records of known cases, and those refused for being out of order are anomalies
//!   (a decision before acceptance, a completion without a decision, a step completed before it
//!   started, ...). The line drawn: an anomaly is an order that could hide time or skip a
//!   legal step. Records after the case was decided or closed, duplicates (a second decision,
//!   a suspension while suspended), and identity errors (no such case, a second application)
//!   are the sender's errors: the sender is told, supervision is not.

use crate::calendar::Calendar;
use crate::case::TransitionError;
use crate::clock::{ClockKind, clocks};
use crate::limit::{DeadlineInput, deadline_explained};
use crate::record::{Record, RecordBody};
use crate::rules::{EffectiveRules, RecordContext, draft, local_time};
use crate::warning::{Level, Rule, WarningDraft};

pub const RULE: Rule = Rule::ProcedureAnomaly;
pub const DEFAULT_LEVEL: Level = Level::YellowCard;

/// The warning for `ctx`'s record, if it is an acceptance promising the applicant another day
/// than the promised limit gives. An acceptance comes once per case, so this fires at most
/// once.
pub fn check(ctx: &RecordContext<'_>) -> Option<WarningDraft> {
    let RecordBody::Acceptance {
        promised_due_at: Some(sent),
        ..
    } = &ctx.record.body
    else {
        return None;
    };
    let cal = ctx.calendar;
    let clocks = clocks(ctx.after, ctx.matter, cal);
    let clock = clocks
        .iter()
        .find(|c| matches!(c.kind, ClockKind::Promised | ClockKind::Immediate))?;
    let label = if Some(clock.started_at) == ctx.after.accepted_at {
        "accepted"
    } else {
        "deemed accepted on receipt"
    };
    // The limit as it stood at acceptance: later suspensions and extensions are not the
    // sender's to foresee.
    let ours = deadline_explained(
        cal,
        &DeadlineInput {
            start: cal.local_date(clock.started_at),
            limit: clock.limit,
            extension: 0,
            suspensions: &[],
        },
        label,
    );
    if cal.local_date(*sent) == ours.last_day || *sent == ours.due_at {
        return None;
    }
    let direction = if *sent > ours.due_at {
        "later"
    } else {
        "earlier"
    };
    let message = format!(
        "the acceptance on {} promises a decision by {}, {direction} than the promised limit \
         allows: {}",
        ctx.local(ctx.record.occurred_at),
        ctx.local(*sent),
        ours.explanation
    );
    Some(ctx.draft(RULE, message, []))
}

/// The anomaly a refused record of a known case is, if its refusal is one of order; `calendar`
/// is the case's (for times in the message). The level comes from `config`, the configuration
/// of the case's matter and department.
pub fn for_refused(
    record: &Record,
    error: &TransitionError,
    calendar: &Calendar,
    config: &EffectiveRules,
) -> Option<WarningDraft> {
    let when = local_time(calendar, record.occurred_at);
    let this = format!("a {} record of {when}", record.kind());
    let message = match error {
        TransitionError::ConflictsWithLater {
            event_id,
            kind,
            cause,
        } => {
            let what = anomaly(cause)?;
            format!(
                "records out of order: {this}, placed by its time, puts the stored {kind} record \
                 {event_id} out of order: {what}"
            )
        }
        other => {
            let what = anomaly(other)?;
            format!("records out of order: {this}: {what}")
        }
    };
    Some(draft(
        RULE,
        config,
        None,
        record.occurred_at,
        message,
        Some(record.event_id.clone()),
        [],
    ))
}

/// What is anomalous about a refusal, or None for refusals that are not supervision's concern.
/// Every variant is listed, so a new one must be placed on one side of the line.
fn anomaly(error: &TransitionError) -> Option<String> {
    let text = match error {
        TransitionError::DecisionBeforeAcceptance => {
            "a decision before the application was accepted (ALL Arts. 32-34)".to_owned()
        }
        TransitionError::CompletionWithoutDecision => {
            "a completion without a decision (ALL Arts. 37-38)".to_owned()
        }
        TransitionError::StepNotStarted { step } => {
            format!("step {step:?} completed before it started: the step's times are reversed")
        }
        TransitionError::NotAccepted { kind, state } => format!(
            "a {kind} record on a case never accepted (it is {state}): work before acceptance \
             runs on no clock (ALL Art. 32)"
        ),
        TransitionError::CertificateWithoutApproval => {
            "a certificate issued without an approval decision (ALL Art. 44)".to_owned()
        }
        TransitionError::WhileSuspended { kind } => format!(
            "a {kind} record while a special procedure stops the clock: the suspension must \
             end first (ALL Art. 45)"
        ),
        TransitionError::ConflictsWithLater { cause, .. } => {
            return anomaly(cause);
        }
        TransitionError::NoApplication { .. }
        | TransitionError::AlreadyOpened
        | TransitionError::WrongCase { .. }
        | TransitionError::AcceptanceAlreadyDecided { .. }
        | TransitionError::NoCorrectionPending
        | TransitionError::AfterClose { .. }
        | TransitionError::AlreadyDecided { .. }
        | TransitionError::AlreadySuspended
        | TransitionError::NotSuspended
        | TransitionError::StepAlreadyRunning { .. }
        | TransitionError::AfterDecision { .. } => return None,
    };
    Some(text)
}
