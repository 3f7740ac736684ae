//! Warnings on the wire: the stored [`WarningRow`] as `egov.supervision.v1.Warning`, and the
//! requests' filters, positions and ids checked and turned into store queries. A value the
//! contract does not know (an enum number, a token, an id) is INVALID_ARGUMENT naming its
//! field, never read as "no filter".

use chrono::{DateTime, Utc};
use egov_domain::jurisdiction;
use egov_domain::rules::approaching_deadline;
use egov_domain::warning::{Level, Rule, WarningDetail};
use egov_proto::approval::v1::DeadlineClockKind;
use egov_proto::supervision::v1 as pb;
use egov_store::{Page, WarningFilter, WarningPosition, WarningRow, WarningTransitionRow};
use pbjson_types::Timestamp;

use crate::error::ApiError;

/// Rows per page when the request asks for none (the contract's default).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// The lifecycle states as stored, with their wire values. The store writes "raised"; the
/// others belong to the correction workflow (docs/design.md §3), which uses these names.
const STATES: [(&str, pb::WarningState); 6] = [
    ("raised", pb::WarningState::Raised),
    ("acknowledged", pb::WarningState::Acknowledged),
    ("answered", pb::WarningState::Answered),
    ("closed", pb::WarningState::Closed),
    ("escalated", pb::WarningState::Escalated),
    ("withdrawn", pb::WarningState::Withdrawn),
];

fn state_to_proto(state: &str) -> pb::WarningState {
    STATES
        .iter()
        .find(|(name, _)| *name == state)
        .map_or(pb::WarningState::Unspecified, |(_, wire)| *wire)
}

/// The kind of the clock a warning is about and, for a step clock, the step, from the
/// clock key kept in the warning's detail (`promised`, `approaching:promised`, `step:review`).
fn clock_to_proto(key: &str) -> (DeadlineClockKind, String) {
    let key = approaching_deadline::clock_key(key);
    if let Some(step) = key.strip_prefix("step:") {
        return (DeadlineClockKind::Step, step.to_owned());
    }
    let kind = match key {
        "acceptance" => DeadlineClockKind::Acceptance,
        "promised" => DeadlineClockKind::Promised,
        "statutory" => DeadlineClockKind::Statutory,
        "immediate" => DeadlineClockKind::Immediate,
        "certificate" => DeadlineClockKind::Certificate,
        _ => DeadlineClockKind::Unspecified,
    };
    (kind, String::new())
}

fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

/// The warning's message; when a department's or a matter's configuration (not the defaults)
/// decided it, followed by ` (configuration: department:market)`, naming that configuration.
fn message_of(detail: &WarningDetail) -> String {
    let message = &detail.message;
    match detail.config.as_str() {
        "" | "default" => message.clone(),
        config => format!("{message} (configuration: {config})"),
    }
}

/// The wire warning. `with_history` adds the raise (by the rules themselves) as its history;
/// [`warning_with_history`] adds the recorded transitions too.
pub fn warning_to_proto(row: &WarningRow, with_history: bool) -> pb::Warning {
    let rule = Rule::parse(&row.rule).map_or(pb::WarningRule::Unspecified, pb::WarningRule::from);
    let level =
        Level::parse(&row.level).map_or(pb::WarningLevel::Unspecified, pb::WarningLevel::from);
    let detail = WarningDetail::from_json(&row.detail);
    let (clock_kind, step) = clock_to_proto(detail.clock.as_deref().unwrap_or_default());
    let message = message_of(&detail);
    let history = if with_history {
        vec![pb::WarningTransition {
            state: pb::WarningState::Raised.into(),
            at: ts(row.raised_at),
            actor: "system".to_owned(),
            note: message.clone(),
            attachments: Vec::new(),
            office: String::new(),
        }]
    } else {
        Vec::new()
    };
    pb::Warning {
        id: row.id.to_string(),
        position: row.position.to_string(),
        case_no: row.case_no.clone(),
        matter_code: row.matter_code.clone(),
        department: row.department.clone(),
        region: row.region.clone(),
        rule: rule.into(),
        level: level.into(),
        state: state_to_proto(&row.state).into(),
        due_at: row.due_at.and_then(ts),
        raised_at: ts(row.raised_at),
        message,
        clock_explanation: detail.explanation.unwrap_or_default(),
        clock_kind: clock_kind.into(),
        step,
        correction_due_at: row.correction_due_at.and_then(ts),
        history,
        office: row.office.clone(),
        withdrawal: detail.withdrawal.map(|w| pb::WarningWithdrawal {
            event_id: w.event_id,
            reason: w.reason,
        }),
    }
}

/// The wire warning with its whole history, as `GetWarning` and the workflow RPCs return it:
/// the raise, then every recorded transition (who, when, why, attachments), oldest first.
pub fn warning_with_history(row: &WarningRow, transitions: &[WarningTransitionRow]) -> pb::Warning {
    let mut warning = warning_to_proto(row, true);
    warning
        .history
        .extend(transitions.iter().map(|t| pb::WarningTransition {
            state: state_to_proto(&t.to_state).into(),
            at: ts(t.at),
            actor: t.actor.clone(),
            note: t.reason.clone(),
            attachments: t.attachments.clone(),
            office: t.to_office.clone().unwrap_or_default(),
        }));
    warning
}

/// The stored names of repeated enum values, each checked: `field[i]` names a bad one.
fn names<E: Copy>(
    values: &[i32],
    field: &str,
    what: &str,
    parse: impl Fn(i32) -> Option<E>,
    name: impl Fn(E) -> Option<&'static str>,
) -> Result<Vec<String>, ApiError> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            parse(v).and_then(&name).map(str::to_owned).ok_or_else(|| {
                ApiError::invalid(format!("{field}[{i}]"), format!("{v} is not a {what}"))
            })
        })
        .collect()
}

fn level_names(values: &[i32]) -> Result<Vec<String>, ApiError> {
    names(
        values,
        "levels",
        "warning level",
        |v| pb::WarningLevel::try_from(v).ok(),
        |l| {
            Level::ALL
                .into_iter()
                .find(|d| pb::WarningLevel::from(*d) == l)
                .map(Level::as_str)
        },
    )
}

fn rule_names(values: &[i32]) -> Result<Vec<String>, ApiError> {
    names(
        values,
        "rules",
        "warning rule",
        |v| pb::WarningRule::try_from(v).ok(),
        |r| {
            Rule::ALL
                .into_iter()
                .find(|d| pb::WarningRule::from(*d) == r)
                .map(Rule::as_str)
        },
    )
}

fn state_names(values: &[i32]) -> Result<Vec<String>, ApiError> {
    names(
        values,
        "states",
        "warning state",
        |v| pb::WarningState::try_from(v).ok(),
        |s| STATES.iter().find(|(_, w)| *w == s).map(|(name, _)| *name),
    )
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A `StreamWarnings` request as a starting position and a filter.
pub fn stream_request(
    r: pb::StreamWarningsRequest,
) -> Result<(WarningPosition, WarningFilter), ApiError> {
    let after = if r.after.is_empty() {
        WarningPosition::START
    } else {
        r.after.parse().map_err(|_| {
            ApiError::invalid("after", "is not a warning position this server issued")
        })?
    };
    check_scope(&r.region, &r.office)?;
    let filter = WarningFilter {
        department: nonempty(r.department),
        region_prefix: nonempty(r.region),
        levels: level_names(&r.levels)?,
        office: nonempty(r.office),
        ..WarningFilter::default()
    };
    Ok((after, filter))
}

/// A `ListWarnings` request as store queries.
///
/// The store filters by one rule and one state; when several are asked for, the store is
/// asked without that filter and [`ListQuery::keeps`] picks the rows.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: WarningFilter,
    pub page: Page,
    /// Rules to keep when there are several; empty when the store filters.
    rules: Vec<String>,
    /// States to keep when there are several; empty when the store filters.
    states: Vec<String>,
}

impl ListQuery {
    pub fn parse(r: pb::ListWarningsRequest) -> Result<Self, ApiError> {
        check_scope(&r.region, &r.office)?;
        let levels = level_names(&r.levels)?;
        let mut rules = rule_names(&r.rules)?;
        let mut states = state_names(&r.states)?;
        let size = u32::try_from(r.page_size)
            .map_err(|_| ApiError::invalid("page_size", "must not be negative"))?;
        let one = |values: &mut Vec<String>| (values.len() == 1).then(|| values.remove(0));
        let filter = WarningFilter {
            department: nonempty(r.department),
            region_prefix: nonempty(r.region),
            levels,
            rule: one(&mut rules),
            case_no: nonempty(r.case_no),
            state: one(&mut states),
            office: nonempty(r.office),
        };
        Ok(ListQuery {
            filter,
            page: Page {
                size: if size == 0 { DEFAULT_PAGE_SIZE } else { size },
                token: nonempty(r.page_token),
            },
            rules,
            states,
        })
    }

    /// Whether the rows the store returned must still be picked by rule or state.
    pub fn picks(&self) -> bool {
        !self.rules.is_empty() || !self.states.is_empty()
    }

    pub fn keeps(&self, row: &WarningRow) -> bool {
        (self.rules.is_empty() || self.rules.contains(&row.rule))
            && (self.states.is_empty() || self.states.contains(&row.state))
    }
}

/// A `GetWarning` id.
pub fn warning_id(id: &str) -> Result<i64, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid("id", "is required"));
    }
    id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid(
            "id",
            format!("{} is not a warning id", egov_proto::limits::shown(id)),
        )
    })
}

/// Checks the jurisdiction filters of a list or stream: `region` a subtree, `office` one
/// office's region code (both optional).
fn check_scope(region: &str, office: &str) -> Result<(), ApiError> {
    jurisdiction::check_subtree(region).map_err(|reason| ApiError::invalid("region", reason))?;
    if !office.is_empty() {
        jurisdiction::check_region(office).map_err(|reason| ApiError::invalid("office", reason))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_rule_and_level_has_its_wire_value_and_back() {
        for rule in Rule::ALL {
            let wire = pb::WarningRule::from(rule) as i32;
            assert_eq!(rule_names(&[wire]).unwrap(), [rule.as_str()]);
        }
        for level in Level::ALL {
            let wire = pb::WarningLevel::from(level) as i32;
            assert_eq!(level_names(&[wire]).unwrap(), [level.as_str()]);
        }
        for (name, wire) in STATES {
            assert_eq!(state_names(&[wire as i32]).unwrap(), [name]);
            assert_eq!(state_to_proto(name), wire);
        }
    }

    #[test]
    fn unknown_and_unspecified_values_name_their_field() {
        let e = level_names(&[1, 99]).unwrap_err();
        assert!(
            matches!(&e, ApiError::InvalidArgument { field, .. } if field == "levels[1]"),
            "{e}"
        );
        let e = rule_names(&[0]).unwrap_err();
        assert!(matches!(&e, ApiError::InvalidArgument { field, .. } if field == "rules[0]"));
        let e = state_names(&[2, -1]).unwrap_err();
        assert!(matches!(&e, ApiError::InvalidArgument { field, .. } if field == "states[1]"));
    }

    #[test]
    fn clock_keys_map_to_the_clock_concerned() {
        assert_eq!(
            clock_to_proto("approaching:promised"),
            (DeadlineClockKind::Promised, String::new())
        );
        assert_eq!(
            clock_to_proto("step:review"),
            (DeadlineClockKind::Step, "review".to_owned())
        );
        assert_eq!(
            clock_to_proto(""),
            (DeadlineClockKind::Unspecified, String::new())
        );
    }

    #[test]
    fn one_rule_or_state_is_filtered_by_the_store_several_are_picked() {
        let one = ListQuery::parse(pb::ListWarningsRequest {
            rules: vec![pb::WarningRule::AcceptanceOverdue as i32],
            states: vec![pb::WarningState::Raised as i32],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(one.filter.rule.as_deref(), Some("acceptance_overdue"));
        assert_eq!(one.filter.state.as_deref(), Some("raised"));
        assert!(!one.picks());
        assert_eq!(one.page.size, DEFAULT_PAGE_SIZE);
        let several = ListQuery::parse(pb::ListWarningsRequest {
            rules: vec![
                pb::WarningRule::AcceptanceOverdue as i32,
                pb::WarningRule::StatutoryLimitPassed as i32,
            ],
            page_size: 7,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(several.filter.rule, None);
        assert!(several.picks());
        assert_eq!(several.page.size, 7);
        assert!(
            ListQuery::parse(pb::ListWarningsRequest {
                page_size: -1,
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn ids_must_be_positive_numbers() {
        assert_eq!(warning_id("42").unwrap(), 42);
        for bad in ["", "0", "-3", "w1", "1.5"] {
            assert!(warning_id(bad).is_err(), "{bad}");
        }
    }
}
