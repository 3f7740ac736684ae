//! The simulated city: a province, its capital and five districts (hierarchical 行政区划 codes,
//! two digits a level), about twenty departments each belonging to one region, and a matter
//! catalogue of realistic approvals (immediate, promised, joint and reported matters, fees,
//! allowed special procedures, limits per step). Each department gets a [`Profile`]: how fast
//! and how careful its handlers are, which decides which supervision rules it breaks.
//!
//! Everything is a pure function of the department count and the seed.

use egov_domain::calendar::{Calendar, CalendarId};
use egov_domain::ids::{DepartmentCode, MatterCode, RegionCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{FeeItem, Matter, MatterKind, StepLimit};
use egov_domain::money::Fen;
use egov_domain::record::SuspensionKind;
use rand::RngExt;
use rand::seq::SliceRandom;

use crate::Rng;

mod offices;
mod profile;

use offices::{DISTRICT_OFFICES, OFFICES, OfficeTemplate, wd};
use profile::deal_profiles;
pub use profile::{Behaviour, Profile};

/// A region of the jurisdiction tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The 行政区划 code: `33` province, `3301` city, `330106` district.
    pub code: String,
    pub name: String,
    /// The region one level up; None for the province.
    pub parent: Option<String>,
}

/// A department (an agency of one region).
#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    /// `3301-market`, `330106-market`.
    pub code: String,
    pub name: String,
    /// The region the department belongs to.
    pub region: String,
    pub profile: Profile,
    /// Applications it receives on an average working day.
    pub daily_applications: f64,
    /// Indices into [`City::matters`] of the matters it handles, with their share of its
    /// applications.
    pub matters: Vec<(usize, u32)>,
}

/// The whole city: the jurisdiction tree, its departments and their matter catalogue.
#[derive(Debug, Clone)]
pub struct City {
    pub regions: Vec<Region>,
    pub departments: Vec<Department>,
    pub matters: Vec<Matter>,
    /// The calendar every limit counts on (the bundled national statutory calendar).
    pub calendar: Calendar,
}

/// The province, the city and its districts.
const REGIONS: [(&str, &str); 7] = [
    ("33", "Zhejiang Province"),
    ("3301", "Hangzhou"),
    ("330102", "Shangcheng District"),
    ("330105", "Gongshu District"),
    ("330106", "Xihu District"),
    ("330108", "Binjiang District"),
    ("330110", "Yuhang District"),
];

impl City {
    /// A city of `departments` departments (at least 1): the city-level offices first, then
    /// district branches of the busiest offices. Profiles are dealt from the seed, so that
    /// every city of two or more departments has a slow and a careless one.
    pub fn build(departments: usize, seed: u64) -> City {
        let departments = departments.max(1);
        let calendar = Calendar::china();
        let cn = CalendarId::parse("cn").expect("a valid calendar id");
        let regions: Vec<Region> = REGIONS
            .iter()
            .map(|(code, name)| Region {
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                parent: (code.len() > 2).then(|| code[..code.len() - 2].to_owned()),
            })
            .collect();
        let districts: Vec<&str> = REGIONS
            .iter()
            .filter(|(c, _)| c.len() == 6)
            .map(|(c, _)| *c)
            .collect();

        // (office, region, scale of its volume)
        let mut seats: Vec<(&OfficeTemplate, String, f64)> = OFFICES
            .iter()
            .map(|o| (o, "3301".to_owned(), 1.0))
            .collect();
        'districts: for district in &districts {
            for office in DISTRICT_OFFICES {
                if seats.len() >= departments {
                    break 'districts;
                }
                let o = OFFICES
                    .iter()
                    .find(|o| o.code == office)
                    .expect("a district office is a known office");
                seats.push((o, (*district).to_owned(), 0.5));
            }
        }
        // Cities larger than the templates get more district branches, round after round.
        let mut round = 0;
        while seats.len() < departments {
            let district = districts[round % districts.len()];
            let office = &OFFICES[round % OFFICES.len()];
            seats.push((office, district.to_owned(), 0.4));
            round += 1;
        }
        seats.truncate(departments);

        let mut rng = crate::rng_for(seed, "city", 0);
        let profiles = deal_profiles(departments, &mut rng);

        let mut matters = Vec::new();
        let mut out = Vec::new();
        for ((office, region, scale), profile) in seats.into_iter().zip(profiles) {
            let code = unique_code(&out, &format!("{region}-{}", office.code));
            let region_name = regions
                .iter()
                .find(|r| r.code == region)
                .map_or(region.as_str(), |r| r.name.as_str());
            let mut own = Vec::new();
            for t in office.matters {
                let matter_code = format!("{code}-{}", t.suffix).to_uppercase();
                own.push((matters.len(), t.weight));
                matters.push(Matter {
                    code: MatterCode::parse(matter_code).expect("a valid matter code"),
                    name: t.name.to_owned(),
                    department: DepartmentCode::parse(code.clone()).expect("a valid department"),
                    region: Some(RegionCode::parse(region.clone()).expect("a valid region")),
                    kind: t.kind,
                    statutory_limit: t.statutory,
                    promised_limit: t.promised,
                    step_limits: t
                        .steps
                        .iter()
                        .map(|(step, days)| StepLimit {
                            step: (*step).to_owned(),
                            limit: wd(*days),
                        })
                        .collect(),
                    fee_items: t
                        .fees
                        .iter()
                        .map(|(item, name, max)| FeeItem {
                            fee_item: (*item).to_owned(),
                            name: (*name).to_owned(),
                            max: Fen::new(*max).expect("a valid amount"),
                        })
                        .collect(),
                    suspension_kinds: t.suspensions.to_vec(),
                    calendar: cn.clone(),
                });
            }
            // A little spread between departments of one kind.
            let jitter = 0.8 + 0.4 * rng.random::<f64>();
            out.push(Department {
                code,
                name: format!("{region_name} {}", office.name),
                region,
                profile,
                daily_applications: office.daily * scale * jitter,
                matters: own,
            });
        }
        City {
            regions,
            departments: out,
            matters,
            calendar,
        }
    }

    /// The department of `code`.
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }

    /// The regions the departments belong to, with their ancestors: what a registry needs.
    pub fn used_regions(&self) -> Vec<&Region> {
        self.regions
            .iter()
            .filter(|r| {
                self.departments
                    .iter()
                    .any(|d| d.region.starts_with(r.code.as_str()))
            })
            .collect()
    }
}

/// `base`, or `base-2`, `base-3` ... if a department already has it.
fn unique_code(existing: &[Department], base: &str) -> String {
    let mut code = base.to_owned();
    let mut n = 2;
    while existing.iter().any(|d| d.code == code) {
        code = format!("{base}-{n}");
        n += 1;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_of_twenty_departments_in_a_region_tree() {
        let city = City::build(20, 1);
        assert_eq!(city.departments.len(), 20);
        for d in &city.departments {
            assert!(
                city.regions.iter().any(|r| r.code == d.region),
                "{} is in an unknown region",
                d.code
            );
            assert!(!d.matters.is_empty(), "{} handles no matter", d.code);
        }
        for m in &city.matters {
            assert!(m.validate().is_empty(), "{}: {:?}", m.code, m.validate());
        }
        let codes: std::collections::HashSet<_> =
            city.departments.iter().map(|d| &d.code).collect();
        assert_eq!(codes.len(), 20, "department codes are unique");
        for profile in [
            Profile::Fast,
            Profile::Steady,
            Profile::Slow,
            Profile::Careless,
        ] {
            assert!(
                city.departments.iter().any(|d| d.profile == profile),
                "no {} department",
                profile.as_str()
            );
        }
        let kinds: std::collections::HashSet<_> = city.matters.iter().map(|m| m.kind).collect();
        assert_eq!(kinds.len(), 4, "every kind of matter is in the catalogue");
        assert_eq!(
            city.regions
                .iter()
                .find(|r| r.code == "330106")
                .and_then(|r| r.parent.clone()),
            Some("3301".to_owned())
        );
    }

    #[test]
    fn the_same_seed_builds_the_same_city() {
        let a = City::build(20, 7);
        let b = City::build(20, 7);
        assert_eq!(a.departments, b.departments);
        assert_eq!(a.matters, b.matters);
    }

    #[test]
    fn small_and_large_cities() {
        assert_eq!(City::build(0, 1).departments.len(), 1);
        let small = City::build(3, 1);
        assert!(small.departments.iter().any(|d| d.profile == Profile::Slow));
        assert!(
            small
                .departments
                .iter()
                .any(|d| d.profile == Profile::Careless)
        );
        assert_eq!(City::build(60, 1).departments.len(), 60);
    }
}
