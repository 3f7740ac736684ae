//! The `ComplaintsService` RPCs (docs/design.md §3.3): thin adapters that check the request,
//! find what the complaint is about, ask the domain (`egov_domain::complaint`) whether a move
//! is allowed and what it leaves due, and store it. Who sees the complainant is the domain's
//! [`Viewer`] rule, applied in [`wire::complaint`] to every complaint any RPC answers with.
//! The due pass that raises the complaints' reminders and cards is [`due`].

pub mod due;
mod wire;

use chrono::{DateTime, Utc};
use egov_domain::complaint::clock::{self, ClockFacts};
use egov_domain::complaint::{
    self, Complainant, ComplaintState, Move, Outcome, Standing, SubjectKind, Viewer,
};
use egov_domain::scores::Counters;
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::complaints_service_server::{
    ComplaintsService, ComplaintsServiceServer,
};
use egov_runtime::access::{Caller, Role, Scope, Target};
use egov_store::complaints::{ComplaintFilter, ComplaintMove, ComplaintRow, NewComplaint};
use egov_store::scores::{ScoreBatch, ScoreDay, ScoreFacts};
use egov_store::{Page, StoreError};
use tonic::{Request, Response, Status};

use crate::MAX_MESSAGE_BYTES;
use crate::error::{ApiError, Refusal};
use crate::scores::calendar;
use crate::service::Supervision;

/// Working days a forwarded complaint's report is due in when the office names no date.
const REPORT_WORKING_DAYS: u32 = 15;

/// The tonic service, for composing with the platform's other services on one port.
pub fn grpc_service(
    supervision: Supervision,
) -> egov_runtime::error::SizeLimited<ComplaintsServiceServer<Supervision>> {
    egov_runtime::error::SizeLimited(
        ComplaintsServiceServer::new(supervision)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}

/// What a caller may see of complaints.
fn viewer(caller: Option<&Caller>) -> Viewer {
    let Some(caller) = caller else {
        return Viewer::Other;
    };
    match (caller.principal.role, &caller.principal.scope) {
        (Role::Admin, _) | (Role::Supervisor, Scope::All) => Viewer::Admin,
        (Role::Supervisor, Scope::Region(region)) => Viewer::Office {
            region: region.clone(),
        },
        _ => Viewer::Other,
    }
}

fn target(row: &ComplaintRow) -> Target {
    Target::Complaint {
        department: row.department.clone(),
        region: row.region.clone(),
        office: row.office.clone(),
    }
}

fn clock_facts(row: &ComplaintRow, state: ComplaintState) -> ClockFacts {
    ClockFacts {
        id: row.id,
        state,
        filed_at: row.filed_at,
        report_due_at: row.report_due_at,
    }
}

fn complaint_id(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("id", "is not a complaint number"))
}

fn stored_state(row: &ComplaintRow) -> Result<ComplaintState, ApiError> {
    ComplaintState::parse(&row.state).ok_or_else(|| {
        ApiError::Internal(format!(
            "complaint {} has an unknown state {:?}",
            row.id, row.state
        ))
    })
}

impl Supervision {
    /// The department, region and office of what a complaint is about; NOT_FOUND for a subject
    /// not known.
    async fn subject(
        &self,
        kind: SubjectKind,
        subject: &str,
    ) -> Result<(String, String), ApiError> {
        let store = self.store();
        let department_region = |code: String| async move {
            let region = store
                .get_department(&code)
                .await?
                .map(|d| d.region)
                .unwrap_or_default();
            Ok::<_, ApiError>((code, region))
        };
        match kind {
            SubjectKind::Case => {
                let rows = store.get_case_rows(&[subject.to_owned()]).await?;
                let row = rows
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::not_found("case", subject))?;
                Ok((row.department, row.region))
            }
            SubjectKind::Department => {
                let known = store.get_department(subject).await?;
                let d = known.ok_or_else(|| ApiError::not_found("department", subject))?;
                Ok((d.code, d.region))
            }
            SubjectKind::Matter => {
                let matter = store
                    .get_matter(subject)
                    .await?
                    .ok_or_else(|| ApiError::not_found("matter", subject))?;
                department_region(matter.department).await
            }
        }
    }

    async fn file(
        &self,
        caller: Option<&Caller>,
        r: pb::FileComplaintRequest,
    ) -> Result<pb::FileComplaintResponse, ApiError> {
        let channel = wire::channel(r.channel)?;
        if channel.registered_by_office()
            && !caller.is_some_and(|c| matches!(c.principal.role, Role::Supervisor | Role::Admin))
        {
            return Err(ApiError::permission_denied(
                "OFFICE_CHANNEL",
                format!(
                    "only a supervision office registers a complaint received by {}",
                    channel.as_str()
                ),
            ));
        }
        let kind = wire::subject_kind(r.subject_kind)?;
        let subject = r.subject.trim();
        if subject.is_empty() {
            return Err(ApiError::invalid("subject", "is required"));
        }
        if r.summary.trim().is_empty() {
            return Err(ApiError::invalid("summary", "is required: what happened"));
        }
        let complainant = r.complainant.unwrap_or_default();
        let complainant = Complainant::parse(&complainant.name, &complainant.contact)
            .map_err(|e| ApiError::invalid(e.field, e.reason))?;
        let (department, region) = self.subject(kind, subject).await?;
        let now = self.clock().now();
        let facts = ClockFacts {
            id: 0,
            state: ComplaintState::Filed,
            filed_at: now,
            report_due_at: None,
        };
        let acceptance_due_at = clock::acceptance_deadline(calendar(), now).due_at;
        let row = self
            .store()
            .file_complaint(&NewComplaint {
                filed_at: now,
                channel: channel.as_str().to_owned(),
                subject_kind: kind.as_str().to_owned(),
                subject: subject.to_owned(),
                department,
                // The office holding it is the subject's region's; escalation of its cards
                // hands those to the offices above, as for any card.
                office: region.clone(),
                region,
                summary: r.summary.trim().to_owned(),
                complainant: complainant.map(|c| (c.name, c.contact)),
                filed_by: caller.map_or_else(|| "public".to_owned(), |c| c.principal.id.clone()),
                acceptance_due_at,
                next_due_at: clock::next_due(calendar(), &facts, None),
            })
            .await?;
        // The due loop may sleep until a later instant: it looks again.
        self.progress().due_kick.notify_one();
        Ok(pb::FileComplaintResponse {
            id: row.id.to_string(),
            acceptance_due_at: wire::ts(row.acceptance_due_at),
        })
    }

    /// The complaint `id` as `caller` may see it, with its history.
    async fn shown(&self, caller: &Caller, row: ComplaintRow) -> Result<pb::Complaint, ApiError> {
        let events = self.store().complaint_events(row.id).await?;
        Ok(wire::complaint(&row, &events, &viewer(Some(caller))))
    }

    async fn load(&self, caller: &Caller, id: &str) -> Result<ComplaintRow, Status> {
        let id = complaint_id(id)?;
        let row = self
            .store()
            .get_complaint(id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("complaint", id.to_string()))?;
        caller.check(&target(&row))?;
        Ok(row)
    }

    /// Applies `m` to the complaint `id` for `caller`, as the domain allows.
    async fn apply(
        &self,
        caller: &Caller,
        id: &str,
        m: Move,
        note: &str,
    ) -> Result<pb::Complaint, Status> {
        let row = self.load(caller, id).await?;
        let state = stored_state(&row)?;
        let now = self.clock().now();
        let named = row.complainant_name.is_some();
        let standing = Standing {
            state,
            named,
            feedback_given: row.feedback_satisfied.is_some(),
        };
        let to = complaint::next(standing, &m, now).map_err(|e| {
            ApiError::FailedPrecondition(
                Refusal::new(e.reason(), e.to_string())
                    .with("complaint", row.id.to_string())
                    .with("state", state.as_str())
                    .precondition("COMPLAINT", row.id.to_string()),
            )
        })?;
        let report_due_at = match &m {
            Move::Forward { due_at } => Some(*due_at),
            _ => None,
        };
        let facts = ClockFacts {
            report_due_at: report_due_at.or(row.report_due_at),
            ..clock_facts(&row, to)
        };
        let stored = self
            .store()
            .move_complaint(
                row.id,
                row.version,
                &ComplaintMove {
                    at: now,
                    actor: caller.principal.id.clone(),
                    action: m.as_str().to_owned(),
                    to_state: to.as_str().to_owned(),
                    note: note.trim().to_owned(),
                    notice: complaint::notice(row.id, &m, named, note),
                    report_due_at,
                    outcome: match &m {
                        Move::Close { outcome } => Some(outcome.as_str().to_owned()),
                        _ => None,
                    },
                    feedback_satisfied: match &m {
                        Move::Feedback { satisfied } => Some(*satisfied),
                        _ => None,
                    },
                    next_due_at: clock::next_due(calendar(), &facts, None),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => ApiError::Aborted(
                    Refusal::new(
                        "CONCURRENT_CHANGE",
                        format!("complaint {} was moved meanwhile; reload and retry", row.id),
                    )
                    .with("complaint", row.id.to_string()),
                ),
                e => ApiError::from(e),
            })?;
        self.progress().due_kick.notify_one();
        if let Move::Close { outcome } = m {
            self.count_in_scores(&stored, outcome == Outcome::Substantiated)
                .await?;
        }
        Ok(self.shown(caller, stored).await?)
    }

    /// The complaint's fact for the scores: one substantiated complaint against its department
    /// on the day closed (docs/design.md §4), replacing what it added before; none when not
    /// substantiated.
    async fn count_in_scores(
        &self,
        row: &ComplaintRow,
        substantiated: bool,
    ) -> Result<(), ApiError> {
        let day = calendar().local_date(row.closed_at.unwrap_or(row.filed_at));
        let counters = Counters {
            complaints_substantiated: 1,
            ..Counters::default()
        };
        let facts = ScoreFacts {
            source: "complaint".into(),
            key: row.id.to_string(),
            version: row.version,
            department: row.department.clone(),
            days: if substantiated {
                vec![ScoreDay {
                    day,
                    counters: counters.to_array(),
                }]
            } else {
                Vec::new()
            },
            detail: format!(
                "complaint {} ({})",
                row.id,
                row.outcome.as_deref().unwrap_or("")
            ),
        };
        self.store()
            .apply_score_facts(&ScoreBatch {
                facts: &[facts],
                units: &[],
                cursor: None,
                note_late: true,
                at: self.clock().now(),
            })
            .await?;
        Ok(())
    }
}

/// The default due of a report: `REPORT_WORKING_DAYS` working days from `now`.
fn default_report_due(now: DateTime<Utc>) -> DateTime<Utc> {
    let cal = calendar();
    cal.end_of_day(cal.add_working_days(cal.local_date(now), REPORT_WORKING_DAYS))
}

#[tonic::async_trait]
impl ComplaintsService for Supervision {
    async fn file_complaint(
        &self,
        request: Request<pb::FileComplaintRequest>,
    ) -> Result<Response<pb::FileComplaintResponse>, Status> {
        // The one RPC an anonymous caller may make: the front hall lets it through without a
        // caller only where the policy says so.
        let caller = request.extensions().get::<Caller>().cloned();
        let r = egov_proto::limits::checked(request)?;
        Ok(Response::new(self.file(caller.as_ref(), r).await?))
    }

    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::GetComplaintResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let row = self.load(&caller, &r.id).await?;
        Ok(Response::new(pb::GetComplaintResponse {
            complaint: Some(self.shown(&caller, row).await?),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        caller.narrow(&mut r.department, &mut r.office)?;
        let states = r
            .states
            .iter()
            .enumerate()
            .map(|(i, n)| wire::state_name(i, *n))
            .collect::<Result<Vec<_>, _>>()?;
        let page = Page {
            size: r.page_size,
            token: (!r.page_token.is_empty()).then(|| r.page_token.clone()),
        };
        let filter = ComplaintFilter {
            department: (!r.department.is_empty()).then(|| r.department.clone()),
            office: (!r.office.is_empty()).then(|| r.office.clone()),
            states,
        };
        let (rows, next) = self
            .store()
            .list_complaints(&filter, page)
            .await
            .map_err(ApiError::from)?;
        let viewer = viewer(Some(&caller));
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: rows
                .iter()
                .map(|row| wire::complaint(row, &[], &viewer))
                .collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn decide_complaint(
        &self,
        request: Request<pb::DecideComplaintRequest>,
    ) -> Result<Response<pb::DecideComplaintResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let m = if r.accept {
            Move::Accept
        } else {
            Move::Refuse {
                reason: r.reason.trim().to_owned(),
            }
        };
        let complaint = self.apply(&caller, &r.id, m, &r.reason).await?;
        Ok(Response::new(pb::DecideComplaintResponse {
            complaint: Some(complaint),
        }))
    }

    async fn forward_complaint(
        &self,
        request: Request<pb::ForwardComplaintRequest>,
    ) -> Result<Response<pb::ForwardComplaintResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let due_at = match &r.report_due_at {
            Some(t) => wire::time(t, "report_due_at")?,
            None => default_report_due(self.clock().now()),
        };
        let complaint = self
            .apply(&caller, &r.id, Move::Forward { due_at }, &r.note)
            .await?;
        Ok(Response::new(pb::ForwardComplaintResponse {
            complaint: Some(complaint),
        }))
    }

    async fn report_complaint(
        &self,
        request: Request<pb::ReportComplaintRequest>,
    ) -> Result<Response<pb::ReportComplaintResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        if r.report.trim().is_empty() {
            return Err(ApiError::invalid("report", "is required: what was found and done").into());
        }
        let complaint = self.apply(&caller, &r.id, Move::Report, &r.report).await?;
        Ok(Response::new(pb::ReportComplaintResponse {
            complaint: Some(complaint),
        }))
    }

    async fn close_complaint(
        &self,
        request: Request<pb::CloseComplaintRequest>,
    ) -> Result<Response<pb::CloseComplaintResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let outcome = wire::outcome(r.outcome)?;
        let complaint = self
            .apply(&caller, &r.id, Move::Close { outcome }, &r.note)
            .await?;
        Ok(Response::new(pb::CloseComplaintResponse {
            complaint: Some(complaint),
        }))
    }

    async fn record_complaint_feedback(
        &self,
        request: Request<pb::RecordComplaintFeedbackRequest>,
    ) -> Result<Response<pb::RecordComplaintFeedbackResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let complaint = self
            .apply(
                &caller,
                &r.id,
                Move::Feedback {
                    satisfied: r.satisfied,
                },
                &r.comment,
            )
            .await?;
        Ok(Response::new(pb::RecordComplaintFeedbackResponse {
            complaint: Some(complaint),
        }))
    }
}
