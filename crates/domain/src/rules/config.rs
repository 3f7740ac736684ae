//! Thresholds and levels of the supervision rules as configuration (docs/design.md §3: "every
//! threshold configurable per matter or department").
//!
//! A [`RuleConfig`] holds three layers of [`RuleOverrides`]: `defaults`, then per department,
//! then per matter. The built-in values (the law and docs/design.md §3) sit under them all, so a
//! file may be empty. [`RuleConfig::effective`] resolves the layers for one case, field by field:
//! **matter wins over department over default**, and every resolved value remembers where it came
//! from ([`ConfigSource`]) so that a warning can say which configuration fired it.
//!
//! The file format is JSON, optionally with `//` and `/* */` comments (the documented example is
//! `crates/domain/data/rules.example.json`): parse it with `serde_json` after
//! [`strip_json_comments`]. The API carries the same shape as plain JSON. A configuration is
//! validated on creation: [`RuleConfig::new`] (and deserializing a [`RuleConfig`]) refuses
//! unknown fields, unknown rule, level and kind names, and values the law or common sense does
//! not allow, naming every bad field by its dotted path.
//!
//! The thresholds can make the rules stricter than the law but never laxer: a configuration
//! that allowed two extensions, or more extension days than ALL Art. 42, would make the
//! supervision platform blind to exactly what it exists to see.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::calendar::Calendar;
use crate::error::FieldError;
use crate::ids::{DepartmentCode, MatterCode};
use crate::limit::{Deadline, DeadlineInput, Limit, deadline_explained};
use crate::matter::MatterKind;
use crate::rules::approaching_deadline::Approaching;
use crate::rules::default_level;
use crate::warning::{Level, Rule};

mod effective;

pub use effective::EffectiveRules;

/// Suspensions allowed per case by default. ALL Art. 45 sets no number, so this is the city's
/// choice: one special procedure plus one follow-up (a re-test after a failed test, an expert
/// review after testing) covers the legitimate cases; a third stop of the clock on one case is
/// the pattern by which a department keeps a case off the clock. A matter that truly needs more
/// (testing, quarantine and a hearing) overrides it.
pub const DEFAULT_MAX_SUSPENSIONS: u32 = 2;

/// Extensions the law allows per case: one (ALL Art. 42, "may extend by ten days").
pub const LAW_MAX_EXTENSIONS: u32 = 1;

/// Working days a yellow or red card gives the department to explain or correct (docs/design.md §3:
/// 3 working days for a yellow card; the city uses the same for a red card).
pub const DEFAULT_CORRECTION_WORKING_DAYS: u32 = 3;

/// The largest day count accepted anywhere in the configuration: ten years of days is not a
/// plausible threshold, and bounding it keeps the arithmetic far from overflow.
const MAX_PLAUSIBLE_DAYS: u32 = 3650;

/// Where an effective value came from. Ordered from the least to the most specific, so the
/// `max` of the sources a decision used is the one to name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigSource {
    /// The built-in value or the file's `defaults` section.
    Default,
    /// The department's section.
    Department(DepartmentCode),
    /// The matter's section.
    Matter(MatterCode),
}

impl fmt::Display for ConfigSource {
    /// `default`, `department:market`, `matter:M-001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Default => f.write_str("default"),
            ConfigSource::Department(code) => write!(f, "department:{code}"),
            ConfigSource::Matter(code) => write!(f, "matter:{code}"),
        }
    }
}

impl Serialize for ConfigSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A resolved value and the configuration it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: ConfigSource,
}

impl<T> Sourced<T> {
    fn default(value: T) -> Self {
        Sourced {
            value,
            source: ConfigSource::Default,
        }
    }
}

/// Overrides of the "approaching deadline" reminder; absent fields are inherited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproachingOverrides {
    /// Remind when at most this many working days remain before the promised deadline
    /// (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_days: Option<u32>,
    /// The same for short limits (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_limit_working_days: Option<u32>,
    /// A limit of at most this many days is short (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_limit_max_days: Option<u32>,
}

impl ApproachingOverrides {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One layer of configuration (the defaults, a department or a matter). Every field is
/// optional; an absent one is inherited from the layer below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverrides {
    /// The level each rule raises (docs/design.md §3's table by default).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub levels: BTreeMap<Rule, Level>,
    /// When the "approaching deadline" reminder comes.
    #[serde(default, skip_serializing_if = "ApproachingOverrides::is_empty")]
    pub approaching: ApproachingOverrides,
    /// Suspensions allowed per case before `suspension_abuse` fires (default 2, see
    /// [`DEFAULT_MAX_SUSPENSIONS`]); at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_suspensions: Option<u32>,
    /// Extensions allowed per case before `extension_abuse` fires (default and most 1,
    /// ALL Art. 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_extensions: Option<u32>,
    /// Extension working days allowed per case, by matter kind (default and most: immediate 0,
    /// promised 10, joint 15, reported 10; ALL Art. 42).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extension_working_days: BTreeMap<MatterKind, u32>,
    /// Working days a card gives the department to explain or correct, by level (default 3
    /// for yellow and red cards; a reminder has none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub correction_working_days: BTreeMap<Level, u32>,
}

impl RuleOverrides {
    /// Every invalid field, with paths relative to this layer (`approaching.working_days`).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut days = |path: &str, value: Option<u32>, min: u32, why_min: &str| {
            let Some(v) = value else { return };
            if v < min {
                errors.push(FieldError::new(path, why_min));
            } else if v > MAX_PLAUSIBLE_DAYS {
                errors.push(FieldError::new(
                    path,
                    format!("is more than {MAX_PLAUSIBLE_DAYS}: not a plausible number of days"),
                ));
            }
        };
        let reminder_at_least_one = "must be at least 1: a reminder 0 working days before the \
                                     deadline would come only once the deadline has passed";
        days(
            "approaching.working_days",
            self.approaching.working_days,
            1,
            reminder_at_least_one,
        );
        days(
            "approaching.short_limit_working_days",
            self.approaching.short_limit_working_days,
            1,
            reminder_at_least_one,
        );
        days(
            "approaching.short_limit_max_days",
            self.approaching.short_limit_max_days,
            0,
            "",
        );
        days(
            "max_suspensions",
            self.max_suspensions,
            1,
            "must be at least 1; to forbid suspensions for a matter, list no suspension kinds in \
             its catalogue entry",
        );
        if let Some(n) = self.max_extensions.filter(|&n| n > LAW_MAX_EXTENSIONS) {
            errors.push(FieldError::new(
                "max_extensions",
                format!(
                    "{n} is more than the law allows: a limit may be extended once \
                     (ALL Art. 42)"
                ),
            ));
        }
        for (&kind, &n) in &self.extension_working_days {
            let law = kind.allowed_extension_days();
            if n > law {
                errors.push(FieldError::new(
                    format!("extension_working_days.{}", kind.as_str()),
                    format!(
                        "{n} is more than the law allows for {}: at most {law} working days \
                         (ALL Art. 42)",
                        kind_phrase(kind)
                    ),
                ));
            }
        }
        for (&level, &n) in &self.correction_working_days {
            let path = format!("correction_working_days.{}", level.as_str());
            if level == Level::Reminder {
                errors.push(FieldError::new(
                    path,
                    "a reminder carries no correction due; only yellow and red cards do",
                ));
            } else if n == 0 {
                errors.push(FieldError::new(
                    path,
                    "must be at least 1 working day to explain or correct",
                ));
            } else if n > MAX_PLAUSIBLE_DAYS {
                errors.push(FieldError::new(
                    path,
                    format!("is more than {MAX_PLAUSIBLE_DAYS}: not a plausible number of days"),
                ));
            }
        }
        errors
    }
}

/// The shape of a configuration file or API body, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfigSpec {
    /// Applies to every case (over the built-in values).
    #[serde(default)]
    pub defaults: RuleOverrides,
    /// Per department code (the case's handling department), over the defaults.
    #[serde(default)]
    pub departments: BTreeMap<DepartmentCode, RuleOverrides>,
    /// Per matter code, over the department.
    #[serde(default)]
    pub matters: BTreeMap<MatterCode, RuleOverrides>,
}

/// A configuration that was refused, with every bad field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid rule configuration: {}", list(.errors))]
pub struct ConfigError {
    /// Dotted paths (`departments.market.approaching.working_days`) and reasons.
    pub errors: Vec<FieldError>,
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A validated rule configuration. Deserializing one validates it; serializing writes the
/// layers as given (not the built-in values under them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleConfigSpec", into = "RuleConfigSpec")]
pub struct RuleConfig {
    /// The layers, valid by construction.
    spec: RuleConfigSpec,
}

impl TryFrom<RuleConfigSpec> for RuleConfig {
    type Error = ConfigError;
    fn try_from(spec: RuleConfigSpec) -> Result<Self, ConfigError> {
        RuleConfig::new(spec)
    }
}

impl From<RuleConfig> for RuleConfigSpec {
    fn from(config: RuleConfig) -> Self {
        config.spec
    }
}

/// Which open cases need their due instants recomputed after a configuration change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueScope {
    /// No due instant moves (levels or extension thresholds changed, say).
    Nothing,
    /// Every open case.
    All,
    /// The open cases of these departments or these matters.
    Some {
        departments: BTreeSet<DepartmentCode>,
        matters: BTreeSet<MatterCode>,
    },
}

impl RuleConfig {
    /// Validates every layer and returns the configuration, or every bad field.
    pub fn new(spec: RuleConfigSpec) -> Result<Self, ConfigError> {
        let mut errors: Vec<FieldError> = spec
            .defaults
            .validate()
            .into_iter()
            .map(|e| e.within("defaults"))
            .collect();
        for (code, o) in &spec.departments {
            let at = format!("departments.{code}");
            errors.extend(o.validate().into_iter().map(|e| e.within(&at)));
        }
        for (code, o) in &spec.matters {
            let at = format!("matters.{code}");
            errors.extend(o.validate().into_iter().map(|e| e.within(&at)));
        }
        if errors.is_empty() {
            Ok(RuleConfig { spec })
        } else {
            Err(ConfigError { errors })
        }
    }

    /// The layers as given.
    pub fn spec(&self) -> &RuleConfigSpec {
        &self.spec
    }

    /// Replaces the `defaults` layer (the API's "set defaults"). Errors have paths relative to
    /// the layer.
    pub fn set_defaults(&mut self, overrides: RuleOverrides) -> Result<(), ConfigError> {
        check(&overrides)?;
        self.spec.defaults = overrides;
        Ok(())
    }

    /// Replaces a department's layer; an empty one removes it. Errors have paths relative to
    /// the layer.
    pub fn set_department(
        &mut self,
        department: DepartmentCode,
        overrides: RuleOverrides,
    ) -> Result<(), ConfigError> {
        check(&overrides)?;
        if overrides == RuleOverrides::default() {
            self.spec.departments.remove(&department);
        } else {
            self.spec.departments.insert(department, overrides);
        }
        Ok(())
    }

    /// Replaces a matter's layer; an empty one removes it. Errors have paths relative to the
    /// layer.
    pub fn set_matter(
        &mut self,
        matter: MatterCode,
        overrides: RuleOverrides,
    ) -> Result<(), ConfigError> {
        check(&overrides)?;
        if overrides == RuleOverrides::default() {
            self.spec.matters.remove(&matter);
        } else {
            self.spec.matters.insert(matter, overrides);
        }
        Ok(())
    }

    /// The rules as they apply to a case of `matter` handled by `department` (the case's
    /// department, from its application): built-in values, then `defaults`, then the
    /// department's layer, then the matter's, field by field.
    pub fn effective(&self, matter: &MatterCode, department: &DepartmentCode) -> EffectiveRules {
        let mut e = EffectiveRules::defaults();
        e.apply(&self.spec.defaults, &ConfigSource::Default);
        if let Some(o) = self.spec.departments.get(department) {
            e.apply(o, &ConfigSource::Department(department.clone()));
        }
        if let Some(o) = self.spec.matters.get(matter) {
            e.apply(o, &ConfigSource::Matter(matter.clone()));
        }
        e
    }

    /// Which open cases' due instants move when this configuration is replaced by `new`. Only
    /// the reminder thresholds (`approaching`) place due instants, so only their changes count;
    /// the answer may be wider than needed (a department whose matters all override the
    /// threshold), never narrower.
    pub fn due_scope_of_change(&self, new: &RuleConfig) -> DueScope {
        let (old, new) = (&self.spec, &new.spec);
        if old.defaults.approaching != new.defaults.approaching {
            return DueScope::All;
        }
        fn changed<K: Ord + Clone>(
            old: &BTreeMap<K, RuleOverrides>,
            new: &BTreeMap<K, RuleOverrides>,
        ) -> BTreeSet<K> {
            let approaching = |m: &BTreeMap<K, RuleOverrides>, k: &K| {
                m.get(k).map(|o| o.approaching.clone()).unwrap_or_default()
            };
            old.keys()
                .chain(new.keys())
                .filter(|k| approaching(old, k) != approaching(new, k))
                .cloned()
                .collect()
        }
        let departments = changed(&old.departments, &new.departments);
        let matters = changed(&old.matters, &new.matters);
        if departments.is_empty() && matters.is_empty() {
            DueScope::Nothing
        } else {
            DueScope::Some {
                departments,
                matters,
            }
        }
    }
}

/// "a promised matter", "an immediate matter".
pub(crate) fn kind_phrase(kind: MatterKind) -> String {
    let article = if kind == MatterKind::Immediate {
        "an"
    } else {
        "a"
    };
    format!("{article} {} matter", kind.as_str())
}

fn check(overrides: &RuleOverrides) -> Result<(), ConfigError> {
    let errors = overrides.validate();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { errors })
    }
}

/// `text` with its `//` line comments and `/* */` block comments replaced by spaces (newlines
/// kept), outside strings, so a commented configuration file parses as JSON and a parser's
/// line and column still point into the file as written.
pub fn strip_json_comments(text: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Str,
        StrEscape,
        Line,
        Block,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = State::Code;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        state = match (state, c) {
            (State::Code, '"') => {
                out.push(c);
                State::Str
            }
            (State::Code, '/') if chars.peek() == Some(&'/') => {
                chars.next();
                out.push_str("  ");
                State::Line
            }
            (State::Code, '/') if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str("  ");
                State::Block
            }
            (State::Code, _) => {
                out.push(c);
                State::Code
            }
            (State::Str, '\\') => {
                out.push(c);
                State::StrEscape
            }
            (State::Str, '"') => {
                out.push(c);
                State::Code
            }
            (State::Str | State::StrEscape, _) => {
                out.push(c);
                State::Str
            }
            (State::Line, '\n') => {
                out.push(c);
                State::Code
            }
            (State::Block, '*') if chars.peek() == Some(&'/') => {
                chars.next();
                out.push_str("  ");
                State::Code
            }
            (State::Line | State::Block, '\n' | '\r') => {
                out.push(c);
                state
            }
            (State::Line | State::Block, _) => {
                // One space per character keeps columns right for ASCII text; comments in
                // other scripts shift only columns after them on the same line.
                out.push(' ');
                state
            }
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_outside_strings_only() {
        let text = "{\"a\": \"x // y /* z */\", // note\n /* block\n */ \"b\": 1}";
        let stripped = strip_json_comments(text);
        assert_eq!(
            stripped,
            "{\"a\": \"x // y /* z */\",        \n         \n    \"b\": 1}"
        );
        assert_eq!(stripped.lines().count(), text.lines().count());
        // An escaped quote does not end a string.
        assert_eq!(strip_json_comments(r#""a\"//b" // c"#), r#""a\"//b"     "#);
    }

    #[test]
    fn sources_order_from_least_to_most_specific() {
        let dept = ConfigSource::Department(DepartmentCode::parse("market").unwrap());
        let matter = ConfigSource::Matter(MatterCode::parse("M-001").unwrap());
        assert!(ConfigSource::Default < dept && dept < matter);
        assert_eq!(dept.to_string(), "department:market");
        assert_eq!(matter.to_string(), "matter:M-001");
    }
}
