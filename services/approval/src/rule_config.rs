//! The supervision rules' configuration through the API: stored in the shared database (so both
//! platforms and every instance see one), changed whole or one layer at a time, and applied to
//! the open cases by recomputing their due instants.
//!
//! At start ([`adopt`]): a configuration file given to the platform wins. If it differs from
//! the stored one (or none is stored) it is recorded as a new version; without a file the
//! stored configuration is used, or the built-in one when none is stored.
//!
//! After a change ([`Ingestor::recompute_due`], in [`crate::recompute`]): only the reminder
//! thresholds place due instants, so [`RuleConfig::due_scope_of_change`] says which open
//! cases move, and only their reminders are recomputed.

use egov_domain::rules::{ConfigError, RuleConfig, RuleConfigSpec, RuleOverrides};
use egov_proto::convert::FieldViolations;
use egov_store::Store;

use crate::error::{ApiError, Refusal};
use crate::ingest::Ingestor;

/// How often storing a configuration is tried again when it keeps changing meanwhile.
const MAX_ATTEMPTS: u32 = 5;

/// A configuration as the API and the database carry it (pretty JSON of the layers).
pub fn to_json(config: &RuleConfig) -> String {
    serde_json::to_string_pretty(config).expect("a rule configuration serializes")
}

/// A whole configuration from `json` (the request field `field`); every bad field is named
/// `field.PATH`.
pub fn parse_config(field: &str, json: &str) -> Result<RuleConfig, ApiError> {
    let spec: RuleConfigSpec = serde_json::from_str(json)
        .map_err(|e| ApiError::invalid(field, format!("is not a rule configuration: {e}")))?;
    RuleConfig::new(spec).map_err(|e| invalid_config(field, e))
}

/// One layer from `json`.
fn parse_layer(field: &str, json: &str) -> Result<RuleOverrides, ApiError> {
    serde_json::from_str(json)
        .map_err(|e| ApiError::invalid(field, format!("is not a RuleOverrides object: {e}")))
}

fn invalid_config(field: &str, e: ConfigError) -> ApiError {
    ApiError::InvalidFields(FieldViolations::new(
        e.errors.into_iter().map(|f| f.within(field)).collect(),
    ))
}

/// The stored configuration as `(version, config)`, None when none is stored.
pub async fn load(store: &Store) -> Result<Option<(i64, RuleConfig)>, ApiError> {
    let Some((version, json)) = store.get_rule_config().await? else {
        return Ok(None);
    };
    let config = serde_json::from_str(&json).map_err(|e| {
        ApiError::Internal(format!(
            "stored rule configuration {version} is invalid: {e}"
        ))
    })?;
    Ok(Some((version, config)))
}

/// The configuration a starting platform uses, and its version: `file` (the `--rules` file)
/// wins and is stored as a new version when it differs from the stored one; without it, the
/// stored one, or the built-in one (version 0) when none is stored.
pub async fn adopt(store: &Store, file: Option<RuleConfig>) -> Result<(i64, RuleConfig), ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let stored = load(store).await?;
        let Some(file) = &file else {
            return Ok(stored.unwrap_or_default());
        };
        let version = match &stored {
            Some((version, config)) if config == file => return Ok((*version, config.clone())),
            Some((version, _)) => *version,
            None => 0,
        };
        if let Some(new) = store.put_rule_config(version, &to_json(file)).await? {
            tracing::info!(version = new, "rule configuration from --rules stored");
            return Ok((new, file.clone()));
        }
    }
    Err(ApiError::Aborted(Refusal::new(
        "CONCURRENT_CHANGE",
        "the rule configuration kept changing while it was stored; retry",
    )))
}

/// What an update replaces.
#[derive(Debug, Clone)]
pub enum Change {
    /// The whole configuration (JSON).
    Whole(String),
    /// The defaults layer (JSON of `RuleOverrides`).
    Defaults(String),
    /// A department's layer.
    Department { code: String, json: String },
    /// A matter's layer.
    Matter { code: String, json: String },
}

impl Change {
    /// `old` with this change, validated; errors name the request's fields.
    pub fn apply(&self, old: &RuleConfig) -> Result<RuleConfig, ApiError> {
        let mut new = old.clone();
        let layer =
            |field: &str, r: Result<(), ConfigError>| r.map_err(|e| invalid_config(field, e));
        match self {
            Change::Whole(json) => return parse_config("config_json", json),
            Change::Defaults(json) => {
                let o = parse_layer("defaults_json", json)?;
                layer("defaults_json", new.set_defaults(o))?;
            }
            Change::Department { code, json } => {
                let code = egov_domain::ids::DepartmentCode::parse(code.clone())
                    .map_err(|e| ApiError::invalid("department.code", e.to_string()))?;
                let o = parse_layer("department.overrides_json", json)?;
                layer("department.overrides_json", new.set_department(code, o))?;
            }
            Change::Matter { code, json } => {
                let code = egov_domain::ids::MatterCode::parse(code.clone())
                    .map_err(|e| ApiError::invalid("matter.code", e.to_string()))?;
                let o = parse_layer("matter.overrides_json", json)?;
                layer("matter.overrides_json", new.set_matter(code, o))?;
            }
        }
        Ok(new)
    }
}

/// The outcome of [`update`].
#[derive(Debug, Clone)]
pub struct Updated {
    pub version: i64,
    pub config: RuleConfig,
    /// Open cases whose due instants were recomputed.
    pub recomputed: u64,
}

/// Applies `change` to the configuration in force (which must be `expected_version` when
/// given), stores it, makes `ingestor` judge by it, and recomputes the open cases it moves.
pub async fn update(
    ingestor: &Ingestor,
    change: &Change,
    expected_version: Option<i64>,
) -> Result<Updated, ApiError> {
    let store = ingestor.catalogue().store();
    let (version, old) = match load(store).await? {
        Some(stored) => stored,
        None => (0, (*ingestor.rules()).clone()),
    };
    if let Some(expected) = expected_version.filter(|&e| e != version) {
        return Err(ApiError::Aborted(
            Refusal::new(
                "VERSION_MISMATCH",
                format!(
                    "expected_version: the rule configuration in force is version {version}, \
                     not {expected}; get it again, reapply the change and retry"
                ),
            )
            .with("version", version.to_string())
            .with("expected_version", expected.to_string()),
        ));
    }
    let new = change.apply(&old)?;
    let Some(version) = store.put_rule_config(version, &to_json(&new)).await? else {
        return Err(ApiError::Aborted(
            Refusal::new(
                "CONCURRENT_CHANGE",
                format!(
                    "the rule configuration changed after version {version} was read; get it \
                     again, reapply the change and retry"
                ),
            )
            .with("version", version.to_string()),
        ));
    };
    ingestor.set_rules(new.clone());
    let recomputed = ingestor
        .recompute_due(&old.due_scope_of_change(&new))
        .await?;
    tracing::info!(version, recomputed, "rule configuration changed");
    Ok(Updated {
        version,
        config: new,
        recomputed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_layer_names_its_field() {
        let change = Change::Department {
            code: "market".into(),
            json: r#"{"approaching": {"working_days": 0}}"#.into(),
        };
        let Err(ApiError::InvalidFields(v)) = change.apply(&RuleConfig::default()) else {
            panic!("expected invalid fields");
        };
        assert_eq!(
            v.fields(),
            ["department.overrides_json.approaching.working_days"]
        );
    }
}
