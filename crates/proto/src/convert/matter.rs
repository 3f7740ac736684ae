//! The matter catalogue on the wire and in the domain: matters and their time limits, checked
//! inbound and answered outbound.

use super::*;

fn matter_kind(value: i32) -> Result<MatterKind, FieldError> {
    use pb::MatterKind as P;
    match P::try_from(value) {
        Ok(P::Immediate) => Ok(MatterKind::Immediate),
        Ok(P::Promised) => Ok(MatterKind::Promised),
        Ok(P::Joint) => Ok(MatterKind::Joint),
        Ok(P::Reported) => Ok(MatterKind::Reported),
        Ok(P::Unspecified) => Err(FieldError::new("kind", "is required")),
        Err(_) => Err(FieldError::new("kind", unknown_value(value))),
    }
}

fn matter_kind_to_proto(kind: MatterKind) -> pb::MatterKind {
    match kind {
        MatterKind::Immediate => pb::MatterKind::Immediate,
        MatterKind::Promised => pb::MatterKind::Promised,
        MatterKind::Joint => pb::MatterKind::Joint,
        MatterKind::Reported => pb::MatterKind::Reported,
    }
}

impl TryFrom<pb::TimeLimit> for Limit {
    type Error = FieldError;

    /// Paths are relative to the limit (`unit`); the caller prefixes the limit's own path.
    fn try_from(l: pb::TimeLimit) -> Result<Self, FieldError> {
        let unit = match pb::LimitUnit::try_from(l.unit) {
            Ok(pb::LimitUnit::WorkingDays) => LimitUnit::WorkingDays,
            Ok(pb::LimitUnit::CalendarDays) => LimitUnit::CalendarDays,
            Ok(pb::LimitUnit::Unspecified) => return Err(FieldError::new("unit", "is required")),
            Err(_) => return Err(FieldError::new("unit", unknown_value(l.unit))),
        };
        Ok(Limit {
            amount: l.amount,
            unit,
        })
    }
}

impl From<Limit> for pb::TimeLimit {
    fn from(l: Limit) -> Self {
        let unit = match l.unit {
            LimitUnit::WorkingDays => pb::LimitUnit::WorkingDays,
            LimitUnit::CalendarDays => pb::LimitUnit::CalendarDays,
        };
        pb::TimeLimit {
            amount: l.amount,
            unit: unit.into(),
        }
    }
}

/// A required limit at `path` (`statutory_limit`, `step_limits[2].limit`).
fn limit(l: Option<pb::TimeLimit>, path: &str) -> Result<Limit, FieldError> {
    l.ok_or_else(|| FieldError::new(path, "is required"))?
        .try_into()
        .map_err(|e: FieldError| e.within(path))
}

/// The paths of a matter's two decision limits.
const LIMITS: [&str; 2] = ["statutory_limit", "promised_limit"];

impl TryFrom<pb::Matter> for Matter {
    type Error = FieldViolations;

    fn try_from(m: pb::Matter) -> Result<Self, FieldViolations> {
        let mut v = Violations::bounds(&m);
        // A list over its bound is not looked at item by item: refused as it is.
        if [
            m.step_limits.len(),
            m.fee_items.len(),
            m.allowed_suspension_kinds.len(),
        ]
        .into_iter()
        .any(|n| n > crate::limits::MAX_MATTER_ITEMS)
        {
            return Err(FieldViolations(v.0));
        }
        let code = v.check(MatterCode::parse(m.matter_code), || {
            stand_in(MatterCode::parse("stand-in"))
        });
        let department = v.check(DepartmentCode::parse(m.department), || {
            stand_in(DepartmentCode::parse("stand-in"))
        });
        let statutory_limit = v.check(limit(m.statutory_limit, "statutory_limit"), || {
            Limit::working_days(1)
        });
        let promised_limit = v.check(limit(m.promised_limit, "promised_limit"), || {
            Limit::working_days(1)
        });
        // A missing kind is guessed from the statutory limit (only immediate matters have 0),
        // so that the domain's checks of the limits against the kind stay meaningful.
        let kind = v.check(matter_kind(m.kind), || {
            if statutory_limit.amount == 0 {
                MatterKind::Immediate
            } else {
                MatterKind::Promised
            }
        });
        let step_limits = m
            .step_limits
            .into_iter()
            .enumerate()
            .map(|(i, s)| StepLimit {
                step: s.step,
                limit: v.check(limit(s.limit, &format!("step_limits[{i}].limit")), || {
                    Limit::working_days(1)
                }),
            })
            .collect();
        let fee_items = m
            .fee_items
            .into_iter()
            .enumerate()
            .map(|(i, f)| FeeItem {
                fee_item: f.fee_item,
                name: f.name,
                max: v.check(
                    Fen::new(f.max_fen)
                        .map_err(|e| FieldError::new(format!("fee_items[{i}].max_fen"), e.reason)),
                    || Fen::ZERO,
                ),
            })
            .collect();
        let mut suspension_kinds: Vec<SuspensionKind> = Vec::new();
        for (i, &value) in m.allowed_suspension_kinds.iter().enumerate() {
            let path = format!("allowed_suspension_kinds[{i}]");
            match suspension_kind(value, &path) {
                Ok(Some(kind)) if suspension_kinds.contains(&kind) => {
                    v.push(path, "is listed twice");
                }
                Ok(Some(kind)) => suspension_kinds.push(kind),
                Ok(None) => v.push(path, "must be a suspension kind, not UNSPECIFIED"),
                Err(e) => v.0.push(e),
            }
        }
        let calendar = v.check(
            CalendarId::parse(&m.calendar).map_err(|e| FieldError::new("calendar", e.to_string())),
            || stand_in(CalendarId::parse("stand-in")),
        );
        let region = if m.region.is_empty() {
            None
        } else {
            v.check(RegionCode::parse(m.region).map(Some), || None)
        };
        let matter = Matter {
            code,
            name: m.name,
            department,
            region,
            kind,
            statutory_limit,
            promised_limit,
            step_limits,
            fee_items,
            suspension_kinds,
            calendar,
        };
        // The domain's limit checks compare the two limits (and the kind); when either limit
        // is a stand-in, what they find would describe the stand-in, not the request.
        let limits_stood_in = LIMITS.iter().any(|p| v.covers(p));
        let found: Vec<FieldError> = matter
            .validate()
            .into_iter()
            .filter(|e| !(limits_stood_in && LIMITS.iter().any(|p| is_within(&e.field, p))))
            .collect();
        v.extend_from_domain(found);
        if v.is_empty() {
            Ok(matter)
        } else {
            Err(FieldViolations(v.0))
        }
    }
}

impl From<&Matter> for pb::Matter {
    fn from(m: &Matter) -> Self {
        pb::Matter {
            matter_code: m.code.as_str().to_owned(),
            name: m.name.clone(),
            department: m.department.as_str().to_owned(),
            kind: matter_kind_to_proto(m.kind).into(),
            statutory_limit: Some(m.statutory_limit.into()),
            promised_limit: Some(m.promised_limit.into()),
            step_limits: m
                .step_limits
                .iter()
                .map(|s| pb::StepLimit {
                    step: s.step.clone(),
                    limit: Some(s.limit.into()),
                })
                .collect(),
            fee_items: m
                .fee_items
                .iter()
                .map(|f| pb::FeeItem {
                    fee_item: f.fee_item.clone(),
                    name: f.name.clone(),
                    max_fen: f.max.get(),
                })
                .collect(),
            allowed_suspension_kinds: m
                .suspension_kinds
                .iter()
                .map(|k| suspension_kind_to_proto(Some(*k)).into())
                .collect(),
            calendar: m.calendar.as_str().to_owned(),
            region: m
                .region
                .as_ref()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

impl From<Matter> for pb::Matter {
    fn from(m: Matter) -> Self {
        pb::Matter::from(&m)
    }
}
