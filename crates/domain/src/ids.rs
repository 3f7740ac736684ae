//! Identifiers of the record contract, as types that validate on creation.
//!
//! They are opaque text chosen by other systems (GB/T 39046 codes, sender-chosen event ids), so
//! the checks are deliberately about shape, not meaning: present, bounded, printable, no
//! surrounding blanks. Region codes are the exception: the 行政区划 code is hierarchical digits,
//! and the supervision tree relies on its prefixes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.trim() != value {
        return Err(FieldError::new(field, "must not start or end with blanks"));
    }
    if value.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("is longer than {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The field name used in errors when the value is parsed on its own.
            pub const FIELD: &'static str = $field;

            /// Validates `value` (present, at most the allowed length, printable).
            pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                check_text($field, &value, $max)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

text_id!(
    /// 办件编号: the case number, unique in the city, chosen by the service-centre system.
    CaseNo, "case_no", 64
);
text_id!(
    /// Sender-chosen id of one record; a resend of the same id is a no-op.
    EventId, "event_id", 128
);
text_id!(
    /// 事项编码: the code of a matter in the catalogue.
    MatterCode, "matter_code", 64
);
text_id!(
    /// Code of a department (an agency of a region).
    DepartmentCode, "department", 64
);

/// 行政区划 code: digits, where each level of the tree extends its parent's code
/// (`33` province, `3301` city, `330106` district, `330106001` township).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub const FIELD: &'static str = "region";

    pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
        let value = value.into();
        if value.is_empty() {
            return Err(FieldError::new(Self::FIELD, "is required"));
        }
        if value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                Self::FIELD,
                "must be an administrative division code of 1 to 12 digits",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `self` lies in the subtree rooted at `ancestor` (a region is in its own subtree).
    pub fn is_within(&self, ancestor: &RegionCode) -> bool {
        crate::jurisdiction::is_within(&self.0, &ancestor.0)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, FieldError> {
        Self::parse(value)
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_blank_and_overlong_values() {
        assert_eq!(CaseNo::parse("").unwrap_err().reason, "is required");
        assert!(CaseNo::parse(" 1").is_err());
        assert!(CaseNo::parse("a\nb").is_err());
        assert!(CaseNo::parse("x".repeat(65)).is_err());
        assert_eq!(
            CaseNo::parse("ZJ-2024-000001").unwrap().as_str(),
            "ZJ-2024-000001"
        );
        assert_eq!(EventId::parse("").unwrap_err().field, "event_id");
    }

    #[test]
    fn region_codes_are_digits_and_nest_by_prefix() {
        let city = RegionCode::parse("3301").unwrap();
        let district = RegionCode::parse("330106").unwrap();
        assert!(district.is_within(&city));
        assert!(city.is_within(&city));
        assert!(!city.is_within(&district));
        assert!(RegionCode::parse("33a1").is_err());
        assert!(RegionCode::parse("").is_err());
    }
}
