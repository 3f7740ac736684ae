//! The console's routes, and what the pages share: the signed-in user a page needs, a
//! platform's refusal shown as a page, the language switch, sign-in and sign-out, the assets.

mod board;
mod cards;
mod case;
mod department;
mod public;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use egov_proto::access::v1 as acc;
use egov_runtime::access::{Principal, Role, Scope};
use serde::Deserialize;

use crate::App;
use crate::grpc::request;
use crate::i18n::to_utc;
use crate::session::{self, User, Visitor};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/lang", get(lang))
        .route("/board", get(board::board))
        .route("/events", get(board::events))
        .route("/inbox", get(cards::inbox))
        .route("/warnings/{id}/{action}", post(cards::act))
        .route("/department", get(department::department))
        .route("/case/{case_no}", get(case::case))
        .route("/public", get(public::lookup))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

/// A page that needs someone signed in: the user, or the way to the sign-in page.
#[allow(clippy::result_large_err)]
pub(crate) fn signed_in(visitor: &Visitor) -> Result<Arc<User>, Response> {
    visitor
        .user
        .clone()
        .ok_or_else(|| Redirect::to("/signin").into_response())
}

/// A platform's refusal (or failure) as a page: its status code and message, in the
/// visitor's language around the platform's own words. An expired or revoked session sends
/// the visitor to sign in again.
pub(crate) fn refused(app: &App, visitor: &Visitor, status: &tonic::Status) -> Response {
    if status.code() == tonic::Code::Unauthenticated {
        app.sessions.remove(&visitor.session);
        return Redirect::to("/signin").into_response();
    }
    let http = match status.code() {
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
        tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_GATEWAY,
    };
    app.pages.render_status(
        http,
        "message.html",
        visitor,
        serde_json::json!({
            "title": "refused-title",
            "refusal": true,
            "code": format!("{:?}", status.code()),
            "detail": status.message(),
        }),
    )
}

/// A page of the console's own (a missing CSRF token, a page for another role).
pub(crate) fn message(app: &App, visitor: &Visitor, status: StatusCode, key: &str) -> Response {
    app.pages.render_status(
        status,
        "message.html",
        visitor,
        serde_json::json!({ "title": key, "refusal": false }),
    )
}

/// Where each role starts.
async fn home(State(app): State<Arc<App>>, visitor: Visitor) -> Response {
    match visitor.user.as_ref().map(|u| u.principal.role) {
        None => Redirect::to("/signin").into_response(),
        Some(Role::Supervisor | Role::Admin) => Redirect::to("/board").into_response(),
        Some(Role::Department) => Redirect::to("/department").into_response(),
        Some(_) => app
            .pages
            .render("home.html", &visitor, serde_json::json!({})),
    }
}

async fn signin_page(State(app): State<Arc<App>>, visitor: Visitor) -> Response {
    app.pages
        .render("signin.html", &visitor, serde_json::json!({}))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    csrf: String,
    name: String,
    password: String,
}

async fn signin(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    if !visitor.csrf_ok(&app, &form.csrf) {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "csrf-refused");
    }
    let answer = app
        .grpc
        .access()
        .sign_in(request(
            acc::SignInRequest {
                name: form.name.clone(),
                password: form.password,
            },
            None,
            visitor.peer,
        ))
        .await;
    let failed = |key: &str| {
        app.pages.render_status(
            StatusCode::UNAUTHORIZED,
            "signin.html",
            &visitor,
            serde_json::json!({ "error": key, "name": form.name }),
        )
    };
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) if status.code() == tonic::Code::ResourceExhausted => {
            return failed("signin-too-many");
        }
        Err(_) => return failed("signin-failed"),
    };
    let (Some(role), Some(scope)) = (Role::parse(&answer.role), Scope::parse(&answer.scope)) else {
        return failed("signin-failed");
    };
    let user = User {
        principal: Principal {
            id: answer.principal,
            role,
            scope,
        },
        token: answer.token,
        expires_at: to_utc(answer.expires_at.as_ref())
            .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(1)),
    };
    // A new id: the one the browser had before signing in (which someone may have planted)
    // never becomes a signed-in session.
    let id = app.sessions.insert(user);
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::session_cookie(&id, app.secure)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

async fn signout(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&app, &form.csrf) {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "csrf-refused");
    }
    app.sessions.remove(&visitor.session);
    let mut response = Redirect::to("/signin").into_response();
    // A fresh anonymous id: the old one is worth nothing now.
    if let Ok(value) =
        HeaderValue::from_str(&session::session_cookie(&session::new_id(), app.secure))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// Switches the language and goes back to the page (a path of this console only).
async fn lang(State(app): State<Arc<App>>, Query(query): Query<LangQuery>) -> Response {
    let lang = crate::i18n::Lang::parse(&query.to);
    let back = if query.back.starts_with('/') && !query.back.starts_with("//") {
        query.back
    } else {
        "/".to_owned()
    };
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Strict{}",
        session::LANG_COOKIE,
        lang.tag(),
        if app.secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The catalogue key of an enum value: `kind` and the value's proto name without `prefix`,
/// lowercase (`rule-promised_limit_passed`, `level-yellow_card`).
pub(crate) fn key(kind: &str, name: &str, prefix: &str) -> String {
    format!(
        "{kind}-{}",
        name.strip_prefix(prefix)
            .unwrap_or(name)
            .to_ascii_lowercase()
    )
}

pub(crate) mod keys {
    use egov_proto::approval::v1 as apb;
    use egov_proto::supervision::v1 as spb;

    use super::key;

    pub fn rule(n: i32) -> String {
        let name = spb::WarningRule::try_from(n).unwrap_or(spb::WarningRule::Unspecified);
        key("rule", name.as_str_name(), "WARNING_RULE_")
    }

    pub fn level(n: i32) -> String {
        let name = spb::WarningLevel::try_from(n).unwrap_or(spb::WarningLevel::Unspecified);
        key("level", name.as_str_name(), "WARNING_LEVEL_")
    }

    pub fn state(n: i32) -> String {
        let name = spb::WarningState::try_from(n).unwrap_or(spb::WarningState::Unspecified);
        key("state", name.as_str_name(), "WARNING_STATE_")
    }

    pub fn case_state(n: i32) -> String {
        let name = apb::CaseState::try_from(n).unwrap_or(apb::CaseState::Unspecified);
        key("case", name.as_str_name(), "CASE_STATE_")
    }

    pub fn clock(n: i32) -> String {
        let name =
            apb::DeadlineClockKind::try_from(n).unwrap_or(apb::DeadlineClockKind::Unspecified);
        key("clock", name.as_str_name(), "DEADLINE_CLOCK_KIND_")
    }

    pub fn suspension(n: i32) -> String {
        let name = apb::SuspensionKind::try_from(n).unwrap_or(apb::SuspensionKind::Unspecified);
        key("suspension", name.as_str_name(), "SUSPENSION_KIND_")
    }
}
