//! The supervision office's board: every department of the office's region subtree with a
//! light (red: an open red card; yellow: an open yellow card; green: neither) and its open
//! warnings counted by level and by rule, the latest warnings, and new ones arriving live
//! (`/events`: server-sent events fed by `StreamWarnings`, resumed after the newest warning
//! the page was drawn from).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_runtime::access::{Role, Scope};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{keys, message, refused, signed_in};
use crate::App;
use crate::grpc::request;
use crate::i18n::{Lang, local_ts};
use crate::session::{User, Visitor};

/// The most open warnings a board reads (10 pages of the platform's largest).
const MOST_WARNINGS: usize = 20_000;

/// The states in which a warning is still worked.
pub(crate) const OPEN: [spb::WarningState; 4] = [
    spb::WarningState::Raised,
    spb::WarningState::Acknowledged,
    spb::WarningState::Answered,
    spb::WarningState::Escalated,
];

/// The region subtree a supervisor sees ("" for everywhere), or None for a role without a
/// board.
pub(crate) fn board_region(user: &User) -> Option<String> {
    match (&user.principal.role, &user.principal.scope) {
        (Role::Supervisor | Role::Admin, Scope::Region(r)) => Some(r.clone()),
        (Role::Admin, Scope::All) => Some(String::new()),
        _ => None,
    }
}

/// One department's row.
#[derive(Debug, Default, Serialize)]
struct Row {
    code: String,
    name: String,
    region: String,
    light: &'static str,
    red: u32,
    yellow: u32,
    reminder: u32,
    /// Open warnings by rule key.
    rules: BTreeMap<String, u32>,
}

/// Pages through every open warning matching `filter`, up to [`MOST_WARNINGS`].
pub(crate) async fn open_warnings(
    app: &App,
    user: &User,
    visitor: &Visitor,
    filter: spb::ListWarningsRequest,
) -> Result<Vec<spb::Warning>, tonic::Status> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = app
            .grpc
            .supervision()
            .list_warnings(request(
                spb::ListWarningsRequest {
                    states: OPEN.iter().map(|s| *s as i32).collect(),
                    page_size: 1000,
                    page_token,
                    ..filter.clone()
                },
                Some(&user.token),
                visitor.peer,
            ))
            .await?
            .into_inner();
        all.extend(page.warnings);
        if page.next_page_token.is_empty() || all.len() >= MOST_WARNINGS {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

pub async fn board(State(app): State<Arc<App>>, visitor: Visitor) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(to_sign_in) => return to_sign_in,
    };
    let Some(region) = board_region(&user) else {
        return message(&app, &visitor, StatusCode::FORBIDDEN, "not-for-role");
    };
    let departments = app
        .grpc
        .approval()
        .list_departments(request(
            apb::ListDepartmentsRequest {
                region: region.clone(),
            },
            Some(&user.token),
            visitor.peer,
        ))
        .await;
    let departments = match departments {
        Ok(d) => d.into_inner().departments,
        Err(status) => return refused(&app, &visitor, &status),
    };
    let warnings = open_warnings(
        &app,
        &user,
        &visitor,
        spb::ListWarningsRequest {
            region: region.clone(),
            ..Default::default()
        },
    )
    .await;
    let warnings = match warnings {
        Ok(w) => w,
        Err(status) => return refused(&app, &visitor, &status),
    };
    let mut rows: BTreeMap<String, Row> = departments
        .into_iter()
        .map(|d| {
            (
                d.code.clone(),
                Row {
                    code: d.code,
                    name: d.name,
                    region: d.region,
                    ..Row::default()
                },
            )
        })
        .collect();
    let mut by_rule: BTreeMap<String, u32> = BTreeMap::new();
    for w in &warnings {
        let row = rows.entry(w.department.clone()).or_insert_with(|| Row {
            code: w.department.clone(),
            name: w.department.clone(),
            region: w.region.clone(),
            ..Row::default()
        });
        match spb::WarningLevel::try_from(w.level) {
            Ok(spb::WarningLevel::RedCard) => row.red += 1,
            Ok(spb::WarningLevel::YellowCard) => row.yellow += 1,
            _ => row.reminder += 1,
        }
        *row.rules.entry(keys::rule(w.rule)).or_default() += 1;
        *by_rule.entry(keys::rule(w.rule)).or_default() += 1;
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    for row in &mut rows {
        row.light = if row.red > 0 {
            "red"
        } else if row.yellow > 0 {
            "yellow"
        } else {
            "green"
        };
    }
    // Red first, then yellow, then green; within a light the most cards first.
    rows.sort_by_key(|r| {
        (
            match r.light {
                "red" => 0,
                "yellow" => 1,
                _ => 2,
            },
            std::cmp::Reverse(r.red + r.yellow),
            r.code.clone(),
        )
    });
    let latest: Vec<LiveWarning> = warnings
        .iter()
        .rev()
        .take(20)
        .map(|w| LiveWarning::of(w, &app, visitor.lang))
        .collect();
    let after = warnings
        .last()
        .map(|w| w.position.clone())
        .unwrap_or_default();
    app.pages.render(
        "board.html",
        &visitor,
        serde_json::json!({
            "region": region,
            "rows": rows,
            "by_rule": by_rule,
            "open": warnings.len(),
            "latest": latest,
            "after": after,
        }),
    )
}

/// A warning as the board's list and live feed show it (labels in the visitor's language).
#[derive(Debug, Serialize)]
pub(crate) struct LiveWarning {
    id: String,
    case_no: String,
    department: String,
    level: String,
    rule: String,
    state: String,
    level_label: String,
    rule_label: String,
    state_label: String,
    raised_at: String,
    due_at: String,
    position: String,
}

impl LiveWarning {
    pub fn of(w: &spb::Warning, app: &App, lang: Lang) -> LiveWarning {
        let text = |key: &str| app.catalogues.text(lang, key, &[]);
        LiveWarning {
            id: w.id.clone(),
            case_no: w.case_no.clone(),
            department: w.department.clone(),
            level: keys::level(w.level),
            rule: keys::rule(w.rule),
            state: keys::state(w.state),
            level_label: text(&keys::level(w.level)),
            rule_label: text(&keys::rule(w.rule)),
            state_label: text(&keys::state(w.state)),
            raised_at: local_ts(w.raised_at.as_ref()),
            due_at: local_ts(w.due_at.as_ref()),
            position: w.position.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: String,
}

/// The live feed: each warning raised or changed in the office's subtree after `after`, as
/// an SSE event `warning` whose data is a [`LiveWarning`] in JSON. Without `after` (the board
/// showed no open warning) the backlog is skipped and only what follows is sent.
pub async fn events(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Query(query): Query<EventsQuery>,
) -> Response {
    let user = match signed_in(&visitor) {
        Ok(user) => user,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let Some(region) = board_region(&user) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let skip_backlog = query.after.is_empty();
    let stream = app
        .grpc
        .supervision()
        .stream_warnings(request(
            spb::StreamWarningsRequest {
                region,
                after: query.after,
                mark_caught_up: skip_backlog,
                ..Default::default()
            },
            Some(&user.token),
            visitor.peer,
        ))
        .await;
    let stream = match stream {
        Ok(stream) => stream.into_inner(),
        Err(status) => return refused(&app, &visitor, &status),
    };
    let lang = visitor.lang;
    let mut live = !skip_backlog;
    let app2 = app.clone();
    let events = stream
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(move |item| {
            let event = match item {
                Ok(spb::StreamWarningsResponse {
                    caught_up: true, ..
                }) => {
                    live = true;
                    None
                }
                Ok(spb::StreamWarningsResponse {
                    warning: Some(w), ..
                }) if live => {
                    let data = serde_json::to_string(&LiveWarning::of(&w, &app2, lang))
                        .unwrap_or_default();
                    Some(Ok::<_, Infallible>(
                        Event::default().event("warning").data(data),
                    ))
                }
                _ => None,
            };
            std::future::ready(event)
        });
    let mut stop = app.shutdown.clone();
    let events = events.take_until(async move { stop.wait().await });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
