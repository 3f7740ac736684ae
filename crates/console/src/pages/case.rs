//! The case page (`/case/{case_no}`): the case's header, the timeline of its records and every
//! deadline clock with its explanation, worded in the reader's language from the count
//! `GetCase` gives (`case/explain.rs`), each on a small working-day calendar
//! (`case/calendar.rs`). `GetCase` is called with the person's own token: the platform decides
//! who may read the case, and a refusal is shown as it came.

mod calendar;
mod explain;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::record::Body;
use serde::Serialize;

use super::{key, keys, message, refused, signed_in};
use crate::App;
use crate::grpc::request;
use crate::i18n::{Lang, local_ts};
use crate::session::Visitor;

/// One record of the timeline.
#[derive(Debug, Serialize)]
struct Entry {
    at: String,
    what: &'static str,
    /// A step's name, or a suspension's kind (a catalogue key).
    detail: Option<String>,
    detail_key: Option<String>,
    source: String,
}

/// One clock with its explanation and calendar.
#[derive(Debug, Serialize)]
struct ClockRow {
    id: String,
    kind: String,
    step: String,
    status: String,
    late: bool,
    started_at: String,
    due_at: String,
    stopped_at: Option<String>,
    progress: String,
    provisional: bool,
    explanation: Vec<String>,
    months: Vec<calendar::Month>,
}

fn entry(record: &apb::Record) -> Option<Entry> {
    let (what, detail, detail_key) = match record.body.as_ref()? {
        Body::Application(_) => ("stage-application", None, None),
        Body::Acceptance(_) => ("stage-acceptance", None, None),
        Body::CorrectionNotice(_) => ("stage-correction_notice", None, None),
        Body::CorrectionReceived(_) => ("stage-correction_received", None, None),
        Body::Refusal(_) => ("stage-refusal", None, None),
        Body::StepStarted(s) => ("stage-step_started", Some(s.step.clone()), None),
        Body::StepCompleted(s) => ("stage-step_completed", Some(s.step.clone()), None),
        Body::SuspensionStarted(s) => (
            "stage-suspension_started",
            None,
            Some(keys::suspension(s.kind)),
        ),
        Body::SuspensionEnded(_) => ("stage-suspension_ended", None, None),
        Body::Extension(_) => ("stage-extension", None, None),
        Body::Decision(_) => ("stage-decision", None, None),
        Body::Fee(_) => ("stage-fee", None, None),
        Body::Completion(_) => ("stage-completion", None, None),
        Body::CertificateIssued(_) => ("stage-certificate_issued", None, None),
        Body::Withdrawal(_) => ("stage-withdrawal", None, None),
        Body::Rating(_) => ("stage-rating", None, None),
    };
    Some(Entry {
        at: local_ts(record.occurred_at.as_ref()),
        what,
        detail,
        detail_key,
        source: record.source.clone(),
    })
}

fn clock_status(n: i32) -> String {
    let name =
        apb::DeadlineClockStatus::try_from(n).unwrap_or(apb::DeadlineClockStatus::Unspecified);
    key("clock-status", name.as_str_name(), "DEADLINE_CLOCK_STATUS_")
}

pub async fn case(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(case_no): Path<String>,
) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(to_sign_in) => return to_sign_in,
    };
    let answer = app
        .grpc
        .approval()
        .get_case(request(
            apb::GetCaseRequest {
                case_no,
                view: apb::CaseView::Full as i32,
            },
            Some(&user.token),
            visitor.peer,
        ))
        .await;
    let case = match answer {
        Ok(answer) => answer.into_inner().case,
        Err(status) => return refused(&app, &visitor, &status),
    };
    let Some(case) = case else {
        return message(&app, &visitor, StatusCode::NOT_FOUND, "not-found");
    };
    let lang = visitor.lang;
    let mut records: Vec<&apb::Record> = case
        .records
        .iter()
        .filter_map(|r| r.record.as_ref())
        .collect();
    records.sort_by_key(|r| r.occurred_at.as_ref().map(|t| (t.seconds, t.nanos)));
    let timeline: Vec<Entry> = records.into_iter().filter_map(entry).collect();
    let days = calendar::Days::new(&case);
    let clocks: Vec<ClockRow> = case
        .clocks
        .iter()
        .enumerate()
        .map(|(i, c)| clock_row(&app, lang, &days, i, c))
        .collect();
    app.pages.render(
        "case.html",
        &visitor,
        serde_json::json!({
            "case_no": case.case_no,
            "matter_code": case.matter_code,
            "department": case.department,
            "region": case.region,
            "state": keys::case_state(case.state),
            "opened_at": local_ts(case.opened_at.as_ref()),
            "closed_at": case.closed_at.as_ref().map(|t| local_ts(Some(t))),
            "catalogue_version": case.catalogue_version,
            "calendar": case.calendar,
            "overdue": case.overdue,
            "timeline": timeline,
            "clocks": clocks,
        }),
    )
}

fn clock_row(
    app: &App,
    lang: Lang,
    days: &calendar::Days,
    index: usize,
    c: &apb::DeadlineClock,
) -> ClockRow {
    use apb::DeadlineClockStatus as S;
    let status = S::try_from(c.status).unwrap_or(S::Unspecified);
    let months = match (&c.count, &c.last_day) {
        (Some(count), Some(last)) => days.months(app, lang, count.start_day.as_ref(), last),
        _ => Vec::new(),
    };
    ClockRow {
        id: format!("clock-{index}"),
        kind: keys::clock(c.kind),
        step: c.step.clone(),
        status: clock_status(c.status),
        late: matches!(status, S::Overdue | S::StoppedLate),
        started_at: local_ts(c.started_at.as_ref()),
        due_at: local_ts(c.due_at.as_ref()),
        stopped_at: c.stopped_at.as_ref().map(|t| local_ts(Some(t))),
        progress: explain::progress(&app.catalogues, lang, c),
        provisional: c.provisional,
        explanation: explain::lines(&app.catalogues, lang, c),
        months,
    }
}
