//! From what the store holds to the warnings to raise: a due instant that came (the due loop)
//! or a clock that stopped after its deadline (the log follower). The rules and their wording
//! are the domain's (`egov_domain::warning`); this module only finds the clock a due instant
//! belongs to in the case's projection and stamps the warning with the case's department, region
//! and matter, so warnings filter without a join.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use egov_domain::clock::ClockView;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::rules::{self, EffectiveRules, RuleConfig, WarningDraft, approaching_deadline};
use egov_domain::warning::WarningDetail;
use egov_store::{CaseRow, DueInstant, Firing, NewWarning, WarningRow};

/// The clocks stored in a case's projection (`{"clocks": [ClockView...]}`, written by the
/// approval platform). A view that does not parse is logged and read as no clocks: the due
/// instants still fire (with a bare message), and nothing else depends on the view.
pub fn clock_views(row: &CaseRow) -> Vec<ClockView> {
    let Some(clocks) = row.view.get("clocks") else {
        return Vec::new();
    };
    match serde_json::from_value(clocks.clone()) {
        Ok(views) => views,
        Err(error) => {
            tracing::warn!(case_no = %row.case_no, %error, "the case's clocks do not parse");
            Vec::new()
        }
    }
}

/// The trace context each case was last written in (its view's `trace`, set by the approval
/// platform's ingest; `egov_runtime::trace`), for the cases of `rows` that have one.
pub fn traces(rows: &[CaseRow]) -> HashMap<String, String> {
    rows.iter()
        .filter_map(|row| {
            let trace = row.view.get("trace")?.as_str()?;
            Some((row.case_no.clone(), trace.to_owned()))
        })
        .collect()
}

/// A span for each warning `raised`, in the trace of the work that set its case's clocks:
/// a record's ingest and the warnings it causes are one trace.
pub fn trace_raised(raised: &[WarningRow], traces: &HashMap<String, String>) {
    if traces.is_empty() {
        return;
    }
    for w in raised {
        if let Some(trace) = traces.get(&w.case_no) {
            egov_runtime::trace::warning_raised(
                Some(trace),
                &w.case_no,
                &w.rule,
                &w.level,
                Some(w.id),
            );
        }
    }
}

/// The rules as configured for the case of `row` (its matter and department); the built-in
/// ones for a row whose codes do not parse.
pub fn effective(rules: &RuleConfig, row: &CaseRow) -> EffectiveRules {
    match (
        MatterCode::parse(row.matter_code.clone()),
        DepartmentCode::parse(row.department.clone()),
    ) {
        (Ok(matter), Ok(department)) => rules.effective(&matter, &department),
        _ => EffectiveRules::defaults(),
    }
}

/// A warning of `draft` against the case of `row`, as the store takes it; its detail names the
/// configuration that fired it (`config`).
fn new_warning(
    row: &CaseRow,
    draft: WarningDraft,
    view: Option<&ClockView>,
    now: DateTime<Utc>,
) -> NewWarning {
    NewWarning {
        case_no: row.case_no.clone(),
        rule: draft.rule.as_str().to_owned(),
        level: draft.level.as_str().to_owned(),
        department: row.department.clone(),
        region: row.region.clone(),
        matter_code: row.matter_code.clone(),
        due_at: Some(draft.due_at),
        raised_at: now,
        detail: WarningDetail {
            message: draft.message,
            config: draft.config.to_string(),
            clock: draft.clock,
            explanation: Some(view.map(|v| v.explanation.clone()).unwrap_or_default()),
            provisional: Some(view.is_some_and(|v| v.provisional)),
            event_id: None,
            yellow_card: None,
            withdrawal: None,
        }
        .to_json(),
    }
}

/// What firing `due` raises, judged with the case rows read for the batch.
///
/// The warning's `due_at` is the deadline concerned (the clock's `due_at`, as the contract
/// says), which for an `approaching:*` reminder is later than the instant that fired it. An
/// instant no rule knows, or of a case that has no row, fires without a warning: it is deleted
/// so that it cannot come back every pass.
pub fn firing(
    due: DueInstant,
    rows: &HashMap<&str, &CaseRow>,
    rules: &RuleConfig,
    now: DateTime<Utc>,
) -> Firing {
    let Some(row) = rows.get(due.case_no.as_str()) else {
        tracing::warn!(
            case_no = %due.case_no,
            clock = %due.clock,
            "a due instant of a case without a row"
        );
        return Firing { due, warning: None };
    };
    let views = clock_views(row);
    // A step started again has a view per span: the running one is the one that came due.
    let key = approaching_deadline::clock_key(&due.clock);
    let view = views
        .iter()
        .find(|v| v.key == key && v.status == "running")
        .or_else(|| views.iter().find(|v| v.key == key));
    let deadline = view.map_or(due.due_at, |v| v.due_at);
    if approaching_deadline::matches(&due.clock) && deadline <= now {
        // A reminder is worth nothing once the deadline has passed (a case pushed late): the
        // deadline's own warning says it all.
        return Firing { due, warning: None };
    }
    let effective = effective(rules, row);
    // Any clock of the case tells its calendar's offset (a suspension's planned end has none
    // of its own).
    let offset = views
        .first()
        .map_or_else(egov_domain::local::china_offset, ClockView::utc_offset);
    let warning = match rules::on_stored_due(&due.clock, deadline, view, offset, &effective) {
        Some(draft) => Some(new_warning(row, draft, view, now)),
        None => {
            tracing::warn!(
                case_no = %due.case_no,
                clock = %due.clock,
                "a due instant no rule knows"
            );
            None
        }
    };
    Firing { due, warning }
}

/// The warnings owed for clocks of the case that stopped after their deadline: a case
/// completed late, or whose records arrived after its deadlines had passed.
pub fn late_warnings(row: &CaseRow, rules: &RuleConfig, now: DateTime<Utc>) -> Vec<NewWarning> {
    let views = clock_views(row);
    rules::on_late_clocks(&views, &effective(rules, row))
        .into_iter()
        .map(|draft| {
            let view = views
                .iter()
                .find(|v| Some(v.key.as_str()) == draft.clock.as_deref());
            new_warning(row, draft, view, now)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().expect("instant")
    }

    fn view(key: &str, due_at: &str, status: &str) -> serde_json::Value {
        json!({
            "key": key,
            "started_at": "2024-03-04T02:00:00Z",
            "limit": {"amount": 10, "unit": "working_days"},
            "suspended": 0,
            "extension": 0,
            "due_at": due_at,
            "last_day": "2024-03-18",
            "status": status,
            "stopped_at": (status == "stopped_late").then_some("2024-03-20T02:00:00Z"),
            "provisional": false,
            "explanation": format!("{key} explained"),
        })
    }

    fn row(clocks: Vec<serde_json::Value>) -> CaseRow {
        CaseRow {
            case_no: "C-1".into(),
            matter_code: "M-1".into(),
            department: "market".into(),
            region: "330106".into(),
            state: "accepted".into(),
            opened_at: at("2024-03-04T01:00:00Z"),
            updated_at: at("2024-03-04T02:00:00Z"),
            version: 2,
            next_due_at: None,
            overdue: false,
            provisional: false,
            view: json!({ "clocks": clocks }),
        }
    }

    fn due(clock: &str, due_at: &str) -> DueInstant {
        DueInstant {
            case_no: "C-1".into(),
            clock: clock.into(),
            due_at: at(due_at),
        }
    }

    #[test]
    fn a_reminder_names_the_deadline_it_warns_of() {
        let row = row(vec![view("promised", "2024-03-18T16:00:00Z", "running")]);
        let rows = HashMap::from([("C-1", &row)]);
        let now = at("2024-03-13T16:00:00Z");
        let f = firing(
            due("approaching:promised", "2024-03-13T16:00:00Z"),
            &rows,
            &RuleConfig::default(),
            now,
        );
        let w = f.warning.expect("a warning");
        assert_eq!(
            (w.rule.as_str(), w.level.as_str()),
            ("approaching_deadline", "reminder")
        );
        assert_eq!(w.due_at, Some(at("2024-03-18T16:00:00Z")));
        assert_eq!(w.raised_at, now);
        assert_eq!(
            (
                w.department.as_str(),
                w.region.as_str(),
                w.matter_code.as_str()
            ),
            ("market", "330106", "M-1")
        );
        assert_eq!(
            w.detail,
            json!({
                "message": "the promised limit is near: promised explained",
                "config": "default",
                "clock": "approaching:promised",
                "explanation": "promised explained",
                "provisional": false,
            })
        );
        assert_eq!(f.due, due("approaching:promised", "2024-03-13T16:00:00Z"));
    }

    #[test]
    fn unknown_instants_and_missing_cases_fire_without_a_warning() {
        let row = row(vec![]);
        let rows = HashMap::from([("C-1", &row)]);
        let now = at("2024-03-20T00:00:00Z");
        assert_eq!(
            firing(
                due("mystery", "2024-03-19T00:00:00Z"),
                &rows,
                &RuleConfig::default(),
                now
            )
            .warning,
            None
        );
        assert_eq!(
            firing(
                due("promised", "2024-03-19T00:00:00Z"),
                &HashMap::new(),
                &RuleConfig::default(),
                now
            )
            .warning,
            None
        );
        // A clock missing from the view still raises its rule, with the instant as deadline.
        let w = firing(
            due("statutory", "2024-04-01T16:00:00Z"),
            &rows,
            &RuleConfig::default(),
            now,
        )
        .warning
        .expect("a warning");
        assert_eq!(w.due_at, Some(at("2024-04-01T16:00:00Z")));
        assert_eq!(w.level, "red_card");
    }

    #[test]
    fn only_clocks_that_stopped_late_raise_from_the_log() {
        let row = row(vec![
            view("acceptance", "2024-03-10T16:00:00Z", "stopped_on_time"),
            view("promised", "2024-03-18T16:00:00Z", "stopped_late"),
            view("statutory", "2024-04-01T16:00:00Z", "running"),
        ]);
        let now = at("2024-04-15T02:00:00Z");
        let warnings = late_warnings(&row, &RuleConfig::default(), now);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].rule, "promised_limit_passed");
        assert_eq!(warnings[0].due_at, Some(at("2024-03-18T16:00:00Z")));
        assert_eq!(warnings[0].detail["explanation"], "promised explained");
        assert!(
            late_warnings(
                &CaseRow {
                    view: json!({"clocks": "not a list"}),
                    ..row
                },
                &RuleConfig::default(),
                now
            )
            .is_empty()
        );
    }
}
