//! The matter catalogue (事项目录): what each kind of application is, its time limits, its fee
//! items and the special procedures it allows. Catalogue entries are data, loaded per
//! jurisdiction and through the API, and validated on creation.

use serde::{Deserialize, Serialize};

use crate::calendar::CalendarId;
use crate::error::FieldError;
use crate::ids::{DepartmentCode, MatterCode, RegionCode};
use crate::limit::{Limit, LimitUnit};
use crate::money::Fen;
use crate::record::SuspensionKind;

/// How a matter is handled, which decides its statutory limit in the law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatterKind {
    /// 即办件: decided on the spot, due the same working day.
    Immediate,
    /// 承诺件: 20 working days by law (ALL Art. 42), usually promised shorter.
    Promised,
    /// 联办件: joint or centralized handling, 45 working days (ALL Art. 42).
    Joint,
    /// 上报件: a lower level's preliminary review, 20 working days (ALL Art. 43).
    Reported,
}

impl MatterKind {
    pub const ALL: [MatterKind; 4] = [
        MatterKind::Immediate,
        MatterKind::Promised,
        MatterKind::Joint,
        MatterKind::Reported,
    ];

    /// The kind's name, as in the catalogue files (`joint`).
    pub fn as_str(self) -> &'static str {
        match self {
            MatterKind::Immediate => "immediate",
            MatterKind::Promised => "promised",
            MatterKind::Joint => "joint",
            MatterKind::Reported => "reported",
        }
    }

    /// Extension days the law allows once (ALL Art. 42): 10, or 15 for joint handling.
    pub fn allowed_extension_days(self) -> u32 {
        match self {
            MatterKind::Joint => 15,
            MatterKind::Immediate => 0,
            MatterKind::Promised | MatterKind::Reported => 10,
        }
    }
}

/// A limit of its own for one handling step of a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLimit {
    pub step: String,
    pub limit: Limit,
}

/// A fee the matter may charge, and the most it may charge (ALL Arts. 58-59).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeItem {
    pub fee_item: String,
    pub name: String,
    pub max: Fen,
}

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matter {
    pub code: MatterCode,
    pub name: String,
    pub department: DepartmentCode,
    /// The region whose catalogue lists the matter, when the catalogue says.
    pub region: Option<RegionCode>,
    pub kind: MatterKind,
    pub statutory_limit: Limit,
    pub promised_limit: Limit,
    pub step_limits: Vec<StepLimit>,
    pub fee_items: Vec<FeeItem>,
    pub suspension_kinds: Vec<SuspensionKind>,
    /// The working-day calendar this matter counts on.
    pub calendar: CalendarId,
}

impl Matter {
    /// Checks the entry as a whole and returns every violation (paths relative to the matter).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "is required"));
        }
        let immediate = self.kind == MatterKind::Immediate;
        for (field, limit) in [
            ("statutory_limit", self.statutory_limit),
            ("promised_limit", self.promised_limit),
        ] {
            if immediate && limit.amount != 0 {
                errors.push(FieldError::new(
                    format!("{field}.amount"),
                    "must be 0 for an immediate matter (due the same working day)",
                ));
            }
            if !immediate && limit.amount == 0 {
                errors.push(FieldError::new(
                    format!("{field}.amount"),
                    "must be at least 1 (only immediate matters are due the same day)",
                ));
            }
            if limit.amount > 3650 {
                errors.push(FieldError::new(
                    format!("{field}.amount"),
                    "is more than 3650: not a plausible time limit",
                ));
            }
        }
        if self.promised_limit.unit == self.statutory_limit.unit
            && self.promised_limit.amount > self.statutory_limit.amount
        {
            errors.push(FieldError::new(
                "promised_limit",
                format!(
                    "{} is longer than the statutory limit of {}",
                    self.promised_limit, self.statutory_limit
                ),
            ));
        }
        // Sets, not pairwise comparisons: a list of 100,000 steps must not cost a core for
        // seconds (the wire bounds the lists too, but the check stays linear on its own).
        let mut steps = std::collections::HashSet::with_capacity(self.step_limits.len());
        for (i, s) in self.step_limits.iter().enumerate() {
            if s.step.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("step_limits[{i}].step"),
                    "is required",
                ));
            }
            if !steps.insert(s.step.as_str()) {
                errors.push(FieldError::new(
                    format!("step_limits[{i}].step"),
                    format!("step {:?} is listed twice", s.step),
                ));
            }
        }
        let mut fee_items = std::collections::HashSet::with_capacity(self.fee_items.len());
        for (i, f) in self.fee_items.iter().enumerate() {
            if f.fee_item.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("fee_items[{i}].fee_item"),
                    "is required",
                ));
            }
            if !fee_items.insert(f.fee_item.as_str()) {
                errors.push(FieldError::new(
                    format!("fee_items[{i}].fee_item"),
                    format!("fee item {:?} is listed twice", f.fee_item),
                ));
            }
        }
        errors
    }

    pub fn step_limit(&self, step: &str) -> Option<Limit> {
        self.step_limits
            .iter()
            .find(|s| s.step == step)
            .map(|s| s.limit)
    }

    pub fn fee_item(&self, code: &str) -> Option<&FeeItem> {
        self.fee_items.iter().find(|f| f.fee_item == code)
    }

    /// The default statutory limit the law sets for a kind of matter, for catalogue tooling.
    pub fn statutory_default(kind: MatterKind) -> Limit {
        let amount = match kind {
            MatterKind::Immediate => 0,
            MatterKind::Promised | MatterKind::Reported => 20,
            MatterKind::Joint => 45,
        };
        Limit {
            amount,
            unit: LimitUnit::WorkingDays,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Matter {
        Matter {
            code: MatterCode::parse("M-001").unwrap(),
            name: "Food business licence".into(),
            department: DepartmentCode::parse("market").unwrap(),
            region: None,
            kind: MatterKind::Promised,
            statutory_limit: Limit {
                amount: 20,
                unit: LimitUnit::WorkingDays,
            },
            promised_limit: Limit {
                amount: 10,
                unit: LimitUnit::WorkingDays,
            },
            step_limits: vec![],
            fee_items: vec![],
            suspension_kinds: vec![SuspensionKind::Testing],
            calendar: CalendarId::parse("cn").unwrap(),
        }
    }

    #[test]
    fn a_sound_entry_validates() {
        assert!(sample().validate().is_empty());
    }

    /// Issue 14, item 5: 100,000 step limits took 24 s of CPU when each was compared with
    /// every one before it; with sets the check is linear (milliseconds), and still finds the
    /// steps and fee items listed twice.
    #[test]
    fn the_duplicate_checks_are_linear() {
        let mut m = sample();
        let limit = Limit::working_days(1);
        m.step_limits = (0..100_000)
            .map(|i| StepLimit {
                step: format!("step-{i}"),
                limit,
            })
            .collect();
        m.step_limits.push(StepLimit {
            step: "step-7".into(),
            limit,
        });
        m.fee_items = (0..100_000)
            .map(|i| FeeItem {
                fee_item: format!("F{i}"),
                name: "fee".into(),
                max: crate::money::Fen::ZERO,
            })
            .collect();
        m.fee_items.push(m.fee_items[3].clone());
        let started = std::time::Instant::now();
        let fields: Vec<_> = m.validate().into_iter().map(|e| e.field).collect();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            fields,
            ["step_limits[100000].step", "fee_items[100000].fee_item"]
        );
    }

    #[test]
    fn promised_longer_than_statutory_is_refused() {
        let mut m = sample();
        m.promised_limit.amount = 25;
        let errors = m.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "promised_limit");
        assert!(errors[0].reason.contains("longer than the statutory limit"));
    }

    #[test]
    fn immediate_matters_have_zero_limits_and_others_do_not() {
        let mut m = sample();
        m.kind = MatterKind::Immediate;
        assert_eq!(m.validate().len(), 2);
        m.statutory_limit.amount = 0;
        m.promised_limit.amount = 0;
        assert!(m.validate().is_empty());
        m.kind = MatterKind::Promised;
        assert_eq!(m.validate().len(), 2);
    }

    #[test]
    fn duplicate_fee_items_and_steps_are_named() {
        let mut m = sample();
        let fee = FeeItem {
            fee_item: "F1".into(),
            name: "fee".into(),
            max: Fen::new(100).unwrap(),
        };
        m.fee_items = vec![fee.clone(), fee];
        let limit = m.promised_limit;
        m.step_limits = vec![
            StepLimit {
                step: "review".into(),
                limit,
            },
            StepLimit {
                step: "review".into(),
                limit,
            },
        ];
        let fields: Vec<_> = m.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["step_limits[1].step", "fee_items[1].fee_item"]);
    }
}
