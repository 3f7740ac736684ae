//! The public's window (no sign-in): an applicant looks up their application by its case
//! number and the query code they were given ([`crate::query_code`]). The page shows no
//! personal data: the case's state, the dates of its stages, the promised and statutory due
//! dates, and its suspensions with their kind. A wrong code and an unknown case answer alike.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::record::Body;
use serde::{Deserialize, Serialize};

use super::keys;
use crate::App;
use crate::grpc::request;
use crate::i18n::local_ts;
use crate::query_code;
use crate::session::Visitor;

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    case_no: String,
    #[serde(default)]
    code: String,
}

/// One stage of the case: what happened (a catalogue key) and when, with a suspension's kind.
#[derive(Debug, Serialize)]
struct Stage {
    what: &'static str,
    at: String,
    kind: Option<String>,
}

/// The stage a record marks, if the public sees it (steps and fees are the department's
/// internal work, a rating is the applicant's own; names, reasons and amounts are never
/// shown).
fn stage(body: &Body) -> Option<(&'static str, Option<String>)> {
    Some(match body {
        Body::Application(_) => ("stage-application", None),
        Body::Acceptance(_) => ("stage-acceptance", None),
        Body::CorrectionNotice(_) => ("stage-correction_notice", None),
        Body::CorrectionReceived(_) => ("stage-correction_received", None),
        Body::Refusal(_) => ("stage-refusal", None),
        Body::SuspensionStarted(s) => ("stage-suspension_started", Some(keys::suspension(s.kind))),
        Body::SuspensionEnded(_) => ("stage-suspension_ended", None),
        Body::Extension(_) => ("stage-extension", None),
        Body::Decision(_) => ("stage-decision", None),
        Body::Completion(_) => ("stage-completion", None),
        Body::CertificateIssued(_) => ("stage-certificate_issued", None),
        Body::Withdrawal(_) => ("stage-withdrawal", None),
        Body::StepStarted(_) | Body::StepCompleted(_) | Body::Fee(_) | Body::Rating(_) => {
            return None;
        }
    })
}

pub async fn lookup(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Query(query): Query<LookupQuery>,
) -> Response {
    let case_no = query.case_no.trim().to_owned();
    if case_no.is_empty() && query.code.is_empty() {
        return app
            .pages
            .render("public.html", &visitor, serde_json::json!({}));
    }
    let not_found = || {
        app.pages.render_status(
            StatusCode::NOT_FOUND,
            "public.html",
            &visitor,
            serde_json::json!({ "case_no": case_no, "not_found": true }),
        )
    };
    if case_no.len() > 200 || !query_code::verify(&app.secret, &case_no, &query.code) {
        return not_found();
    }
    let case = app
        .grpc
        .approval()
        .get_case(request(
            apb::GetCaseRequest {
                case_no: case_no.clone(),
                view: apb::CaseView::Full as i32,
            },
            Some(&app.public_token),
            visitor.peer,
        ))
        .await;
    let Some(case) = case.ok().and_then(|c| c.into_inner().case) else {
        return not_found();
    };
    let mut records: Vec<&apb::Record> = case
        .records
        .iter()
        .filter_map(|r| r.record.as_ref())
        .collect();
    records.sort_by_key(|r| r.occurred_at.as_ref().map(|t| (t.seconds, t.nanos)));
    let stages: Vec<Stage> = records
        .iter()
        .filter_map(|r| {
            let (what, kind) = stage(r.body.as_ref()?)?;
            Some(Stage {
                what,
                at: local_ts(r.occurred_at.as_ref()),
                kind,
            })
        })
        .collect();
    let due = |kind: apb::DeadlineClockKind| {
        case.clocks
            .iter()
            .find(|c| c.kind == kind as i32)
            .map(|c| local_ts(c.due_at.as_ref()))
    };
    app.pages.render(
        "public.html",
        &visitor,
        serde_json::json!({
            "case_no": case.case_no,
            "found": true,
            "state": keys::case_state(case.state),
            "stages": stages,
            "promised_due": due(apb::DeadlineClockKind::Promised),
            "statutory_due": due(apb::DeadlineClockKind::Statutory),
        }),
    )
}
