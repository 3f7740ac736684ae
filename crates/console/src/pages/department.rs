//! A department's view: the cards it received, to acknowledge and answer, and its open cases
//! sorted by the time left to their nearest running deadline (overdue ones first).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use egov_proto::approval::v1 as apb;
use egov_runtime::access::Scope;
use serde::Serialize;

use super::cards::{cards, my_cards};
use super::{keys, message, refused, signed_in};
use crate::App;
use crate::grpc::request;
use crate::i18n::{local_time, to_utc};
use crate::session::Visitor;

/// The most open cases the page lists.
const MOST_CASES: usize = 500;

/// An open case and its nearest deadline.
#[derive(Debug, Serialize)]
struct OpenCase {
    case_no: String,
    matter_code: String,
    state: String,
    clock: String,
    due_at: String,
    /// Whole hours left (negative: overdue by that much).
    hours_left: i64,
    /// Whole hours past the deadline, for an overdue case.
    hours_over: i64,
    overdue: bool,
}

/// The nearest deadline of a clock still counting (running, paused or overdue).
fn nearest(case: &apb::Case) -> Option<(DateTime<Utc>, i32)> {
    use apb::DeadlineClockStatus as S;
    case.clocks
        .iter()
        .filter(|c| {
            matches!(
                S::try_from(c.status),
                Ok(S::Running | S::Paused | S::Overdue)
            )
        })
        .filter_map(|c| Some((to_utc(c.due_at.as_ref())?, c.kind)))
        .min_by_key(|(due, _)| *due)
}

pub async fn department(State(app): State<Arc<App>>, visitor: Visitor) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(to_sign_in) => return to_sign_in,
    };
    let Scope::Departments(departments) = &user.principal.scope else {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "not-for-role");
    };
    let warnings = match my_cards(&app, &user, &visitor).await {
        Ok(w) => w,
        Err(status) => return refused(&app, &visitor, &status),
    };
    let now = app.clock.now();
    let mut open = Vec::new();
    for department in departments {
        let mut page_token = String::new();
        loop {
            let page = app
                .grpc
                .approval()
                .list_cases(request(
                    apb::ListCasesRequest {
                        department: department.clone(),
                        view: apb::CaseView::Basic as i32,
                        page_size: 1000,
                        page_token,
                        ..Default::default()
                    },
                    Some(&user.token),
                    visitor.peer,
                ))
                .await;
            let page = match page {
                Ok(p) => p.into_inner(),
                Err(status) => return refused(&app, &visitor, &status),
            };
            for case in page.cases.iter().filter(|c| c.closed_at.is_none()) {
                let Some((due, kind)) = nearest(case) else {
                    continue;
                };
                open.push(OpenCase {
                    case_no: case.case_no.clone(),
                    matter_code: case.matter_code.clone(),
                    state: keys::case_state(case.state),
                    clock: keys::clock(kind),
                    due_at: local_time(due),
                    hours_left: (due - now).num_hours(),
                    hours_over: (now - due).num_hours(),
                    overdue: due <= now,
                });
            }
            if page.next_page_token.is_empty() || open.len() >= MOST_CASES {
                break;
            }
            page_token = page.next_page_token;
        }
    }
    open.sort_by_key(|c| c.hours_left);
    open.truncate(MOST_CASES);
    let cards = cards(&app, &user, &warnings);
    app.pages.render(
        "department.html",
        &visitor,
        serde_json::json!({
            "departments": departments,
            "cards": cards,
            "total": warnings.len(),
            "cases": open,
            "back": "/department",
        }),
    )
}
