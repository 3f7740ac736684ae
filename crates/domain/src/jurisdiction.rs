//! Jurisdictions: the tree of regions (province > city > county or district > township), the
//! departments that belong to them, and the supervision offices that work at each level.
//!
//! The tree is carried by the codes themselves, as in the national administrative division
//! codes (GB/T 2260) cut to their significant digits: a province has 2 digits (`33`), a city 4
//! (`3301`), a county or district 6 (`330106`) and a township 9 (`330106001`). A region's parent
//! is its code without the last level, so "the subtree of R" is "every code starting with R":
//! one index range serves every subtree filter, and no query has to walk the tree. The
//! registry of regions (names, which codes exist) checks that a region's parent is registered
//! first, so the registered tree has no holes.
//!
//! A warning is worked by the supervision office of its case's region; escalation hands it to
//! the office one level up ([`parent_region`]), and the province's office is the top.

use std::fmt;

use crate::error::FieldError;
use crate::ids::{DepartmentCode, RegionCode};

/// The most characters of a region's or department's name.
pub const MAX_NAME: usize = 128;

/// A level of the region tree, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionLevel {
    /// 省: 2-digit codes.
    Province,
    /// 市: 4-digit codes.
    City,
    /// 县/区: 6-digit codes.
    County,
    /// 乡/镇/街道: 9-digit codes.
    Township,
}

impl RegionLevel {
    /// Every level, from the top.
    pub const ALL: [RegionLevel; 4] = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Township,
    ];

    /// The level of a code, by its length; None for a length no level has.
    pub fn of(code: &str) -> Option<RegionLevel> {
        match code.len() {
            2 => Some(RegionLevel::Province),
            4 => Some(RegionLevel::City),
            6 => Some(RegionLevel::County),
            9 => Some(RegionLevel::Township),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
        }
    }

    /// The level of a stored name.
    pub fn parse(name: &str) -> Option<RegionLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

impl fmt::Display for RegionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The region one level up from `region`: the longest level's code shorter than it,
/// `330106001 -> 330106 -> 3301 -> 33` (a code of an odd length still lands on a level:
/// `33010 -> 3301`). None for a province (or an empty code).
pub fn parent_region(region: &str) -> Option<&str> {
    const LEVEL_LENGTHS: [usize; 4] = [9, 6, 4, 2];
    LEVEL_LENGTHS
        .into_iter()
        .find(|&n| n < region.len())
        .and_then(|n| region.get(..n))
}

/// The reason a code names no region of the tree, if it does not: digits, of a level's
/// length.
pub fn check_region(code: &str) -> Result<RegionLevel, &'static str> {
    match RegionLevel::of(code) {
        Some(level) if code.bytes().all(|b| b.is_ascii_digit()) => Ok(level),
        _ => Err(
            "must be a region code of 2 (province), 4 (city), 6 (county or district) or 9 \
             (township) digits",
        ),
    }
}

/// The reason a subtree filter is not one, if it is not: empty (the whole tree) or a prefix
/// of digits of at most 12.
pub fn check_subtree(prefix: &str) -> Result<(), &'static str> {
    if prefix.len() <= 12 && prefix.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be a region code (digits; a code selects its whole subtree)")
    }
}

/// Whether `region` lies in the subtree rooted at `root` (a region is in its own subtree; the
/// empty root is the whole tree).
pub fn is_within(region: &str, root: &str) -> bool {
    region.starts_with(root)
}

/// A registered region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Its code; its length gives its level.
    pub code: RegionCode,
    /// Its name, as people say it (`西湖区`).
    pub name: String,
    /// Its level, from the code's length.
    pub level: RegionLevel,
}

impl Region {
    /// A region from its code and name, or every field that is wrong (`code`, `name`).
    pub fn parse(code: &str, name: &str) -> Result<Region, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = match RegionCode::parse(code.to_owned()) {
            Ok(c) => match check_region(c.as_str()) {
                Ok(level) => Some((c, level)),
                Err(reason) => {
                    errors.push(FieldError::new("code", reason));
                    None
                }
            },
            Err(e) => {
                errors.push(FieldError::new("code", e.reason));
                None
            }
        };
        if let Err(e) = check_name(name) {
            errors.push(e);
        }
        match code {
            Some((code, level)) if errors.is_empty() => Ok(Region {
                code,
                name: name.to_owned(),
                level,
            }),
            _ => Err(errors),
        }
    }

    /// The region one level up; None for a province.
    pub fn parent(&self) -> Option<&str> {
        parent_region(self.code.as_str())
    }
}

/// A registered department: an agency that handles matters, belonging to one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// Its code (the `department` of matters and application records).
    pub code: DepartmentCode,
    /// Its name (`市场监督管理局`).
    pub name: String,
    /// The region it belongs to: its scores rank in that region's subtree, and its matters
    /// list under it. (A case's warnings go to the office of the case's own region.)
    pub region: RegionCode,
}

impl Department {
    /// A department from its fields, or every field that is wrong (`code`, `name`, `region`).
    pub fn parse(code: &str, name: &str, region: &str) -> Result<Department, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = DepartmentCode::parse(code.to_owned())
            .map_err(|e| errors.push(FieldError::new("code", e.reason)))
            .ok();
        if let Err(e) = check_name(name) {
            errors.push(e);
        }
        let region = match RegionCode::parse(region.to_owned()) {
            Ok(r) => match check_region(r.as_str()) {
                Ok(_) => Some(r),
                Err(reason) => {
                    errors.push(FieldError::new("region", reason));
                    None
                }
            },
            Err(e) => {
                errors.push(FieldError::new("region", e.reason));
                None
            }
        };
        match (code, region) {
            (Some(code), Some(region)) if errors.is_empty() => Ok(Department {
                code,
                name: name.to_owned(),
                region,
            }),
            _ => Err(errors),
        }
    }
}

fn check_name(name: &str) -> Result<(), FieldError> {
    if name.trim().is_empty() {
        Err(FieldError::new("name", "is required"))
    } else if name.chars().count() > MAX_NAME {
        Err(FieldError::new(
            "name",
            format!("must be at most {MAX_NAME} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Where the office at `office` may act on a warning held by the office at `holder`: at its
/// own level or below it (a city office may close a district's warning, a district office may
/// not touch the city's).
pub fn office_may_act(office: &str, holder: &str) -> bool {
    is_within(holder, office)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_code_length() {
        assert_eq!(RegionLevel::of("33"), Some(RegionLevel::Province));
        assert_eq!(RegionLevel::of("3301"), Some(RegionLevel::City));
        assert_eq!(RegionLevel::of("330106"), Some(RegionLevel::County));
        assert_eq!(RegionLevel::of("330106001"), Some(RegionLevel::Township));
        assert_eq!(RegionLevel::of("330"), None);
        for l in RegionLevel::ALL {
            assert_eq!(RegionLevel::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn escalation_goes_one_level_up_to_the_province() {
        assert_eq!(parent_region("330106001001"), Some("330106001"));
        assert_eq!(parent_region("33010600"), Some("330106"));
        assert_eq!(parent_region("33010"), Some("3301"));
        assert_eq!(parent_region("330"), Some("33"));
        assert_eq!(parent_region("3"), None);
        assert_eq!(parent_region("330106001"), Some("330106"));
        assert_eq!(parent_region("330106"), Some("3301"));
        assert_eq!(parent_region("3301"), Some("33"));
        assert_eq!(parent_region("33"), None);
        assert_eq!(parent_region(""), None);
    }

    #[test]
    fn codes_and_filters_are_checked() {
        assert_eq!(check_region("3301"), Ok(RegionLevel::City));
        assert!(check_region("33010").is_err());
        assert!(check_region("33x1").is_err());
        assert!(check_region("").is_err());
        assert!(check_subtree("").is_ok());
        assert!(check_subtree("33010").is_ok());
        assert!(check_subtree("33-01").is_err());
        assert!(check_subtree(&"1".repeat(13)).is_err());
    }

    #[test]
    fn subtrees_are_prefixes() {
        assert!(is_within("330106", "3301"));
        assert!(is_within("3301", "3301"));
        assert!(is_within("3301", ""));
        assert!(!is_within("3302", "3301"));
        assert!(office_may_act("3301", "330106"));
        assert!(office_may_act("330106", "330106"));
        assert!(!office_may_act("330106", "3301"));
        assert!(!office_may_act("330105", "330106"));
    }

    #[test]
    fn regions_and_departments_name_every_bad_field() {
        let r = Region::parse("330106", "西湖区").unwrap();
        assert_eq!(r.level, RegionLevel::County);
        assert_eq!(r.parent(), Some("3301"));
        let e = Region::parse("330", " ").unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["code", "name"]);
        assert!(e[0].reason.contains("6 (county"), "{}", e[0].reason);
        assert_eq!(Region::parse("33x", "a").unwrap_err()[0].field, "code");

        let d = Department::parse("market", "市场监督管理局", "3301").unwrap();
        assert_eq!(d.region.as_str(), "3301");
        let e = Department::parse("", "", "12345").unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "region"]);
        assert!(Department::parse("m", &"x".repeat(129), "33").is_err());
    }
}
