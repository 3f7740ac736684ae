//! The complaints' due pass, run by the due loop with every pass (`crate::scheduler`): fires
//! the complaints whose next due instant came, raising the warnings the domain says they owe
//! (`egov_domain::complaint::clock::on_due`: the acceptance reminder and card, the late
//! report's card) and moving each on to its next instant. Safe to repeat and to run on several
//! instances: warnings are unique per (pseudo case, rule, level), and a complaint's instant
//! moves on only as it was read.

use chrono::{DateTime, Utc};
use egov_domain::complaint::clock::{self, ComplaintClock};
use egov_domain::complaint::{self, ComplaintState};
use egov_domain::warning::{WarningDetail, WarningDraft};
use egov_store::NewWarning;
use egov_store::complaints::ComplaintRow;

use super::clock_facts;
use crate::scores::calendar;
use crate::service::Supervision;
use crate::workers::{BATCH, WorkerError};

/// Fires every complaint due at or before `now`.
pub(crate) async fn run_pass(s: &Supervision, now: DateTime<Utc>) -> Result<(), WorkerError> {
    loop {
        let due = s.store().complaints_due(now, BATCH).await?;
        let mut moved = 0;
        for row in &due {
            let (Some(state), Some(fired)) = (ComplaintState::parse(&row.state), row.next_due_at)
            else {
                continue;
            };
            let facts = clock_facts(row, state);
            let warnings: Vec<NewWarning> = clock::on_due(calendar(), &facts, now)
                .into_iter()
                .map(|d| warning(row, d, now))
                .collect();
            if !warnings.is_empty() {
                s.store().insert_warnings(&warnings).await?;
            }
            let next = clock::next_due(calendar(), &facts, Some(now));
            if s.store()
                .advance_complaint_due(row.id, row.version, fired, next)
                .await?
            {
                moved += 1;
            }
        }
        // A full batch of which nothing moved was moved by others meanwhile: read again only
        // while this pass makes progress.
        if due.len() < BATCH as usize || moved == 0 {
            return Ok(());
        }
    }
}

/// The warning of `draft` for complaint `row`: the acceptance clock's are the office's (no
/// department: they count in no department's score, and no department sees them), the
/// report's the department's.
fn warning(row: &ComplaintRow, draft: WarningDraft, now: DateTime<Utc>) -> NewWarning {
    let report = draft.clock.as_deref() == Some(ComplaintClock::Report.key().as_str());
    let clock = if report {
        ComplaintClock::Report
    } else {
        ComplaintClock::Acceptance
    };
    NewWarning {
        case_no: complaint::case_no(row.id, clock),
        rule: draft.rule.as_str().to_owned(),
        level: draft.level.as_str().to_owned(),
        department: if report {
            row.department.clone()
        } else {
            String::new()
        },
        region: if report {
            row.region.clone()
        } else {
            row.office.clone()
        },
        matter_code: String::new(),
        due_at: Some(draft.due_at),
        raised_at: now,
        detail: WarningDetail {
            message: draft.message,
            config: draft.config.to_string(),
            clock: draft.clock,
            ..WarningDetail::default()
        }
        .to_json(),
    }
}
