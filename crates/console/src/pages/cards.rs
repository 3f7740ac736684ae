//! The inbox and the correction workflow's actions: the cards a supervision office holds
//! (its own inbox) or a department received, each with the actions that are open to the
//! signed-in person on it (the workflow allows the move from the card's state, and the
//! platform's policy allows the person to make it on that card), and the POST that makes
//! one (`/warnings/{id}/{action}`): the platform's refusal, if any, is shown as it came.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use egov_domain::workflow::{self, Action, WarningState};
use egov_proto::supervision::v1 as spb;
use egov_runtime::access::{Role, Scope, Target};
use serde::{Deserialize, Serialize};

use super::board::open_warnings;
use super::{keys, message, refused, signed_in};
use crate::App;
use crate::grpc::request;
use crate::i18n::local_ts;
use crate::session::{User, Visitor};

/// The most cards one page lists.
const MOST_CARDS: usize = 200;

/// The workflow's moves people make, with their RPC (the policy's action) and path segment.
const MOVES: [(Action, &str, &str); 4] = [
    (Action::Acknowledge, "AcknowledgeWarning", "acknowledge"),
    (Action::Answer, "AnswerWarning", "answer"),
    (Action::Close, "CloseWarning", "close"),
    (Action::Escalate, "EscalateWarning", "escalate"),
];

fn domain_state(state: i32) -> Option<WarningState> {
    let name = spb::WarningState::try_from(state).ok()?.as_str_name();
    WarningState::parse(&name.strip_prefix("WARNING_STATE_")?.to_ascii_lowercase())
}

/// The actions open to `user` on `w`: allowed by the workflow from its state and by the
/// policy on the card.
fn offered(app: &App, user: &User, w: &spb::Warning) -> Vec<&'static str> {
    let Some(state) = domain_state(w.state) else {
        return Vec::new();
    };
    let target = Target::Warning {
        department: w.department.clone(),
        region: w.region.clone(),
        office: w.office.clone(),
    };
    MOVES
        .iter()
        .filter(|(action, rpc, _)| {
            workflow::transition(state, *action).is_ok()
                && app.policy.allows(&user.principal, rpc, &target)
                // The province's office is the top: nothing above it to escalate to.
                && !(*action == Action::Escalate && w.office.len() <= 2)
        })
        .map(|(_, _, path)| *path)
        .collect()
}

/// A card as the inbox shows it.
#[derive(Debug, Serialize)]
pub(crate) struct Card {
    id: String,
    case_no: String,
    department: String,
    office: String,
    level: String,
    rule: String,
    state: String,
    message: String,
    raised_at: String,
    due_at: String,
    correction_due_at: String,
    actions: Vec<&'static str>,
}

pub(crate) fn cards(app: &App, user: &User, warnings: &[spb::Warning]) -> Vec<Card> {
    warnings
        .iter()
        .rev()
        .take(MOST_CARDS)
        .map(|w| Card {
            id: w.id.clone(),
            case_no: w.case_no.clone(),
            department: w.department.clone(),
            office: w.office.clone(),
            level: keys::level(w.level),
            rule: keys::rule(w.rule),
            state: keys::state(w.state),
            message: w.message.clone(),
            raised_at: local_ts(w.raised_at.as_ref()),
            due_at: local_ts(w.due_at.as_ref()),
            correction_due_at: local_ts(w.correction_due_at.as_ref()),
            actions: offered(app, user, w),
        })
        .collect()
}

/// The open cards `user` works: the office's own inbox for a supervisor, the departments'
/// cards for a department's staff.
pub(crate) async fn my_cards(
    app: &App,
    user: &User,
    visitor: &Visitor,
) -> Result<Vec<spb::Warning>, tonic::Status> {
    match (&user.principal.role, &user.principal.scope) {
        (Role::Department, Scope::Departments(departments)) => {
            let mut all = Vec::new();
            for department in departments {
                let filter = spb::ListWarningsRequest {
                    department: department.clone(),
                    ..Default::default()
                };
                all.extend(open_warnings(app, user, visitor, filter).await?);
            }
            Ok(all)
        }
        (_, Scope::Region(region)) => {
            let filter = spb::ListWarningsRequest {
                office: region.clone(),
                ..Default::default()
            };
            open_warnings(app, user, visitor, filter).await
        }
        _ => open_warnings(app, user, visitor, spb::ListWarningsRequest::default()).await,
    }
}

pub async fn inbox(State(app): State<Arc<App>>, visitor: Visitor) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(to_sign_in) => return to_sign_in,
    };
    if user.principal.role == Role::Analyst || user.principal.role == Role::ServiceCentre {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "not-for-role");
    }
    let warnings = match my_cards(&app, &user, &visitor).await {
        Ok(w) => w,
        Err(status) => return refused(&app, &visitor, &status),
    };
    let cards = cards(&app, &user, &warnings);
    app.pages.render(
        "cards.html",
        &visitor,
        serde_json::json!({ "cards": cards, "total": warnings.len(), "back": "/inbox" }),
    )
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    attachments: String,
    #[serde(default)]
    back: String,
}

/// Makes one move of the workflow as the signed-in person.
pub async fn act(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(to_sign_in) => return to_sign_in,
    };
    if !visitor.csrf_ok(&app, &form.csrf) {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "csrf-refused");
    }
    let input = spb::WarningTransitionInput {
        id,
        actor: String::new(),
        reason: form.reason,
        attachments: form
            .attachments
            .lines()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        office: String::new(),
    };
    let token = Some(user.token.as_str());
    let mut client = app.grpc.supervision();
    let done = match action.as_str() {
        "acknowledge" => client
            .acknowledge_warning(request(
                spb::AcknowledgeWarningRequest { input: Some(input) },
                token,
                visitor.peer,
            ))
            .await
            .map(|_| ()),
        "answer" => client
            .answer_warning(request(
                spb::AnswerWarningRequest { input: Some(input) },
                token,
                visitor.peer,
            ))
            .await
            .map(|_| ()),
        "close" => client
            .close_warning(request(
                spb::CloseWarningRequest { input: Some(input) },
                token,
                visitor.peer,
            ))
            .await
            .map(|_| ()),
        "escalate" => client
            .escalate_warning(request(
                spb::EscalateWarningRequest { input: Some(input) },
                token,
                visitor.peer,
            ))
            .await
            .map(|_| ()),
        _ => return message(&app, &visitor, StatusCode::NOT_FOUND, "not-found"),
    };
    match done {
        Ok(()) => {
            let back = if form.back.starts_with('/') && !form.back.starts_with("//") {
                form.back
            } else {
                "/inbox".to_owned()
            };
            Redirect::to(&back).into_response()
        }
        Err(status) => refused(&app, &visitor, &status),
    }
}
