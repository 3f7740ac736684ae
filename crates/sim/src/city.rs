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

/// A region of the jurisdiction tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The 行政区划 code: `33` province, `3301` city, `330106` district.
    pub code: String,
    pub name: String,
    /// The region one level up; None for the province.
    pub parent: Option<String>,
}

/// How a department's handlers work: the source of every rule they break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Decides well within the promised limit and keeps its paperwork in order.
    Fast,
    /// Mostly on time, now and then close to the deadline.
    Steady,
    /// Overloaded: late acceptances, steps over their limits, suspensions that overrun,
    /// promised and statutory limits passed, certificates late.
    Slow,
    /// On time often enough, but sloppy: refusals without reasons, piecemeal correction
    /// notices, suspensions without a kind, extensions without an approver, fees off the
    /// catalogue, records out of order.
    Careless,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fast => "fast",
            Profile::Steady => "steady",
            Profile::Slow => "slow",
            Profile::Careless => "careless",
        }
    }

    /// The chances and spans this profile's handlers work by.
    pub fn behaviour(self) -> Behaviour {
        match self {
            Profile::Fast => Behaviour {
                accept_days: (0, 1),
                late_acceptance: 0.0,
                correction: 0.08,
                second_correction: 0.02,
                refusal: 0.03,
                unexplained: 0.0,
                speed: (0.2, 0.6),
                stuck: 0.0,
                suspension: 0.08,
                suspension_overrun: 0.05,
                sloppy_suspension: 0.0,
                extra_suspensions: 0.0,
                extension: 0.0,
                sloppy_extension: 0.0,
                irregular_fee: 0.0,
                wrong_promise: 0.0,
                out_of_order: 0.0,
                late_certificate: 0.01,
                late_immediate: 0.0,
                denial: 0.06,
                withdrawal: 0.01,
                respond: 0.97,
                answer_hours: (2, 10),
            },
            Profile::Steady => Behaviour {
                accept_days: (0, 2),
                late_acceptance: 0.01,
                correction: 0.12,
                second_correction: 0.05,
                refusal: 0.04,
                unexplained: 0.02,
                speed: (0.4, 0.95),
                stuck: 0.005,
                suspension: 0.12,
                suspension_overrun: 0.1,
                sloppy_suspension: 0.02,
                extra_suspensions: 0.01,
                extension: 0.03,
                sloppy_extension: 0.1,
                irregular_fee: 0.005,
                wrong_promise: 0.01,
                out_of_order: 0.005,
                late_certificate: 0.03,
                late_immediate: 0.01,
                denial: 0.08,
                withdrawal: 0.02,
                respond: 0.85,
                answer_hours: (4, 18),
            },
            Profile::Slow => Behaviour {
                accept_days: (1, 4),
                late_acceptance: 0.1,
                correction: 0.15,
                second_correction: 0.08,
                refusal: 0.04,
                unexplained: 0.03,
                speed: (0.7, 1.4),
                stuck: 0.06,
                suspension: 0.15,
                suspension_overrun: 0.35,
                sloppy_suspension: 0.03,
                extra_suspensions: 0.02,
                extension: 0.15,
                sloppy_extension: 0.15,
                irregular_fee: 0.01,
                wrong_promise: 0.02,
                out_of_order: 0.01,
                late_certificate: 0.12,
                late_immediate: 0.06,
                denial: 0.08,
                withdrawal: 0.03,
                respond: 0.55,
                answer_hours: (10, 40),
            },
            Profile::Careless => Behaviour {
                accept_days: (0, 3),
                late_acceptance: 0.04,
                correction: 0.15,
                second_correction: 0.35,
                refusal: 0.06,
                unexplained: 0.35,
                speed: (0.3, 1.15),
                stuck: 0.02,
                suspension: 0.15,
                suspension_overrun: 0.2,
                sloppy_suspension: 0.35,
                extra_suspensions: 0.1,
                extension: 0.1,
                sloppy_extension: 0.5,
                irregular_fee: 0.08,
                wrong_promise: 0.12,
                out_of_order: 0.06,
                late_certificate: 0.1,
                late_immediate: 0.04,
                denial: 0.1,
                withdrawal: 0.02,
                respond: 0.6,
                answer_hours: (6, 30),
            },
        }
    }
}

/// The chances (0..1) and spans a department's handlers work by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// Working days from receipt to the acceptance decision, usually (inclusive range).
    pub accept_days: (u32, u32),
    /// The acceptance decision comes after the 5 working days of ALL Art. 32.
    pub late_acceptance: f64,
    /// A correction notice before acceptance.
    pub correction: f64,
    /// A second correction notice after the first ("tell everything once" broken).
    pub second_correction: f64,
    /// A refusal to accept.
    pub refusal: f64,
    /// A refusal or denial without reasons.
    pub unexplained: f64,
    /// The share of the promised limit a decision takes (uniform in the range).
    pub speed: (f64, f64),
    /// The case is left undecided past its statutory limit.
    pub stuck: f64,
    /// A special procedure (suspension) during the handling, where the matter allows one.
    pub suspension: f64,
    /// The suspension ends after its planned end.
    pub suspension_overrun: f64,
    /// The suspension has no kind or no reason, or a kind the matter does not allow.
    pub sloppy_suspension: f64,
    /// Three suspensions on one case (two are allowed).
    pub extra_suspensions: f64,
    /// An extension of the limits (ALL Art. 42).
    pub extension: f64,
    /// The extension is too long or has no approver.
    pub sloppy_extension: f64,
    /// A fee off the catalogue or above it.
    pub irregular_fee: f64,
    /// The acceptance promises the applicant another day than the promised limit gives.
    pub wrong_promise: f64,
    /// A completion sent before its decision (refused by the platform, an anomaly).
    pub out_of_order: f64,
    /// The certificate comes after the 10 working days of ALL Art. 44, or never.
    pub late_certificate: f64,
    /// An immediate matter decided the next working day instead of the same one.
    pub late_immediate: f64,
    /// A denial instead of an approval.
    pub denial: f64,
    /// The applicant withdraws during the handling.
    pub withdrawal: f64,
    /// The department works a yellow or red card (acknowledges and answers it).
    pub respond: f64,
    /// Office hours from acknowledging a card to answering it (inclusive range).
    pub answer_hours: (u32, u32),
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

/// One kind of matter in a department's catalogue.
struct MatterTemplate {
    suffix: &'static str,
    name: &'static str,
    kind: MatterKind,
    statutory: Limit,
    promised: Limit,
    steps: &'static [(&'static str, u32)],
    fees: &'static [(&'static str, &'static str, i64)],
    suspensions: &'static [SuspensionKind],
    /// Relative share of the department's applications.
    weight: u32,
}

/// One kind of office: its short code, its name and its matters.
struct OfficeTemplate {
    code: &'static str,
    name: &'static str,
    /// Applications per working day at city level (district offices get half).
    daily: f64,
    matters: &'static [MatterTemplate],
}

const fn wd(n: u32) -> Limit {
    Limit {
        amount: n,
        unit: egov_domain::limit::LimitUnit::WorkingDays,
    }
}

const fn cd(n: u32) -> Limit {
    Limit {
        amount: n,
        unit: egov_domain::limit::LimitUnit::CalendarDays,
    }
}

use MatterKind::{Immediate, Joint, Promised, Reported};
use SuspensionKind as K;

const NO_STEPS: &[(&str, u32)] = &[];
const NO_FEES: &[(&str, &str, i64)] = &[];

const OFFICES: &[OfficeTemplate] = &[
    OfficeTemplate {
        code: "market",
        name: "Market Regulation Bureau",
        daily: 12.0,
        matters: &[
            MatterTemplate {
                suffix: "FOOD",
                name: "food business licence (食品经营许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[K::Testing],
                weight: 5,
            },
            MatterTemplate {
                suffix: "BIZ",
                name: "business registration (营业执照)",
                kind: Immediate,
                statutory: wd(0),
                promised: wd(0),
                steps: NO_STEPS,
                fees: NO_FEES,
                suspensions: &[],
                weight: 6,
            },
            MatterTemplate {
                suffix: "EQUIP",
                name: "special equipment registration (特种设备使用登记)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(5),
                steps: &[("review", 2)],
                fees: &[("inspection", "equipment inspection", 30_000)],
                suspensions: &[K::Testing],
                weight: 2,
            },
        ],
    },
    OfficeTemplate {
        code: "natres",
        name: "Natural Resources and Planning Bureau",
        daily: 10.0,
        matters: &[
            MatterTemplate {
                suffix: "REG",
                name: "real estate registration (不动产登记)",
                kind: Promised,
                statutory: wd(30),
                promised: wd(5),
                steps: &[("review", 2)],
                fees: &[
                    ("registration", "registration fee", 8_000),
                    ("certificate", "certificate cost", 1_000),
                ],
                suspensions: &[K::Other],
                weight: 6,
            },
            MatterTemplate {
                suffix: "LAND",
                name: "land use planning permit (建设用地规划许可)",
                kind: Joint,
                statutory: wd(45),
                promised: wd(20),
                steps: &[("review", 8)],
                fees: NO_FEES,
                suspensions: &[K::Hearing, K::Appraisal],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "security",
        name: "Public Security Bureau (exit-entry)",
        daily: 12.0,
        matters: &[
            MatterTemplate {
                suffix: "PASS",
                name: "ordinary passport (普通护照签发)",
                kind: Promised,
                statutory: wd(15),
                promised: wd(7),
                steps: &[("review", 3)],
                fees: &[("passport", "passport fee", 12_000)],
                suspensions: &[],
                weight: 5,
            },
            MatterTemplate {
                suffix: "RES",
                name: "residence permit (居住证)",
                kind: Immediate,
                statutory: wd(0),
                promised: wd(0),
                steps: NO_STEPS,
                fees: NO_FEES,
                suspensions: &[],
                weight: 4,
            },
        ],
    },
    OfficeTemplate {
        code: "housing",
        name: "Housing and Urban-Rural Development Bureau",
        daily: 6.0,
        matters: &[
            MatterTemplate {
                suffix: "BUILD",
                name: "construction permit (建筑工程施工许可)",
                kind: Promised,
                statutory: wd(15),
                promised: wd(7),
                steps: &[("review", 3), ("approve", 2)],
                fees: NO_FEES,
                suspensions: &[K::ExpertReview],
                weight: 3,
            },
            MatterTemplate {
                suffix: "PLAN",
                name: "construction project planning permit (建设工程规划许可)",
                kind: Joint,
                statutory: wd(45),
                promised: wd(20),
                steps: &[("review", 8)],
                fees: NO_FEES,
                suspensions: &[K::Hearing, K::ExpertReview],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "health",
        name: "Health Commission",
        daily: 6.0,
        matters: &[
            MatterTemplate {
                suffix: "HYG",
                name: "public place hygiene licence (公共场所卫生许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[K::Testing],
                weight: 4,
            },
            MatterTemplate {
                suffix: "MED",
                name: "medical institution registration (医疗机构执业登记)",
                kind: Reported,
                statutory: wd(20),
                promised: wd(15),
                steps: &[("review", 5)],
                fees: NO_FEES,
                suspensions: &[K::Appraisal, K::ExpertReview],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "transport",
        name: "Transport Bureau",
        daily: 6.0,
        matters: &[
            MatterTemplate {
                suffix: "ROAD",
                name: "road transport operating licence (道路运输经营许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 2)],
                fees: NO_FEES,
                suspensions: &[],
                weight: 2,
            },
            MatterTemplate {
                suffix: "TAXI",
                name: "ride-hailing vehicle permit (网络预约出租汽车运输证)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(5),
                steps: NO_STEPS,
                fees: NO_FEES,
                suspensions: &[K::Testing],
                weight: 3,
            },
        ],
    },
    OfficeTemplate {
        code: "ecology",
        name: "Ecology and Environment Bureau",
        daily: 3.0,
        matters: &[
            MatterTemplate {
                suffix: "EIA",
                name: "environmental impact assessment approval (环境影响评价审批)",
                kind: Promised,
                statutory: cd(60),
                promised: cd(30),
                steps: &[("review", 10)],
                fees: NO_FEES,
                suspensions: &[K::ExpertReview, K::Hearing],
                weight: 1,
            },
            MatterTemplate {
                suffix: "DISCH",
                name: "pollutant discharge permit (排污许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(15),
                steps: &[("review", 5)],
                fees: NO_FEES,
                suspensions: &[K::Testing],
                weight: 2,
            },
        ],
    },
    OfficeTemplate {
        code: "culture",
        name: "Culture, Radio, TV and Tourism Bureau",
        daily: 4.0,
        matters: &[
            MatterTemplate {
                suffix: "SHOW",
                name: "commercial performance approval (营业性演出审批)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(3),
                steps: &[("approve", 1)],
                fees: NO_FEES,
                suspensions: &[],
                weight: 3,
            },
            MatterTemplate {
                suffix: "ENT",
                name: "entertainment venue licence (娱乐场所经营许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[K::Hearing],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "civil",
        name: "Civil Affairs Bureau",
        daily: 5.0,
        matters: &[
            MatterTemplate {
                suffix: "MAR",
                name: "marriage registration (婚姻登记)",
                kind: Immediate,
                statutory: wd(0),
                promised: wd(0),
                steps: NO_STEPS,
                fees: NO_FEES,
                suspensions: &[],
                weight: 4,
            },
            MatterTemplate {
                suffix: "SOC",
                name: "social organisation registration (社会团体成立登记)",
                kind: Promised,
                statutory: cd(60),
                promised: wd(20),
                steps: &[("review", 8)],
                fees: NO_FEES,
                suspensions: &[K::ExpertReview],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "hrss",
        name: "Human Resources and Social Security Bureau",
        daily: 4.0,
        matters: &[
            MatterTemplate {
                suffix: "HRS",
                name: "human resources service licence (人力资源服务许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[],
                weight: 2,
            },
            MatterTemplate {
                suffix: "LAB",
                name: "labour dispatch licence (劳务派遣经营许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "agri",
        name: "Agriculture and Rural Affairs Bureau",
        daily: 3.0,
        matters: &[
            MatterTemplate {
                suffix: "PEST",
                name: "pesticide trading licence (农药经营许可)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(10),
                steps: &[("review", 3)],
                fees: NO_FEES,
                suspensions: &[K::Testing],
                weight: 2,
            },
            MatterTemplate {
                suffix: "ANIM",
                name: "animal epidemic prevention certificate (动物防疫条件合格证)",
                kind: Promised,
                statutory: wd(20),
                promised: wd(15),
                steps: &[("review", 5)],
                fees: NO_FEES,
                suspensions: &[K::Quarantine],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "water",
        name: "Water Resources Bureau",
        daily: 2.0,
        matters: &[
            MatterTemplate {
                suffix: "DRAW",
                name: "water abstraction permit (取水许可)",
                kind: Reported,
                statutory: wd(20),
                promised: wd(15),
                steps: &[("review", 5)],
                fees: NO_FEES,
                suspensions: &[K::Hearing, K::Appraisal],
                weight: 2,
            },
            MatterTemplate {
                suffix: "RIVER",
                name: "works within river management areas (河道管理范围内建设项目)",
                kind: Joint,
                statutory: wd(45),
                promised: wd(20),
                steps: &[("review", 8)],
                fees: NO_FEES,
                suspensions: &[K::ExpertReview],
                weight: 1,
            },
        ],
    },
    OfficeTemplate {
        code: "emergency",
        name: "Emergency Management Bureau",
        daily: 2.0,
        matters: &[MatterTemplate {
            suffix: "HAZ",
            name: "hazardous chemicals trading licence (危险化学品经营许可)",
            kind: Promised,
            statutory: wd(20),
            promised: wd(10),
            steps: &[("review", 3)],
            fees: NO_FEES,
            suspensions: &[K::Appraisal],
            weight: 1,
        }],
    },
    OfficeTemplate {
        code: "commerce",
        name: "Commerce Bureau",
        daily: 3.0,
        matters: &[MatterTemplate {
            suffix: "TRADE",
            name: "foreign trade operator filing (对外贸易经营者备案)",
            kind: Immediate,
            statutory: wd(0),
            promised: wd(0),
            steps: NO_STEPS,
            fees: NO_FEES,
            suspensions: &[],
            weight: 1,
        }],
    },
];

/// Which offices the districts have, in the order they are added after the city's offices.
const DISTRICT_OFFICES: [&str; 4] = ["market", "health", "security", "natres"];

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

/// Profiles for `n` departments: a quarter fast, a third steady, the rest slow and careless
/// in equal parts, at least one slow and one careless from two departments on, shuffled by
/// the seed.
fn deal_profiles(n: usize, rng: &mut Rng) -> Vec<Profile> {
    if n == 1 {
        return vec![Profile::Careless];
    }
    let slow = (n / 5).max(1);
    let careless = (n / 5).max(1);
    let fast = (n / 4).min(n - slow - careless);
    let steady = n - slow - careless - fast;
    let mut profiles: Vec<Profile> = std::iter::repeat_n(Profile::Fast, fast)
        .chain(std::iter::repeat_n(Profile::Steady, steady))
        .chain(std::iter::repeat_n(Profile::Slow, slow))
        .chain(std::iter::repeat_n(Profile::Careless, careless))
        .collect();
    profiles.shuffle(rng);
    profiles
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
