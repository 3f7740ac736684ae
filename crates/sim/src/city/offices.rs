//! The offices a city has and the matters each handles, as templates (a data table): limits,
//! steps, fees and the special procedures allowed, and each matter's share of its office's
//! applications.

use super::*;

/// One kind of matter in a department's catalogue.
pub(super) struct MatterTemplate {
    pub(super) suffix: &'static str,
    pub(super) name: &'static str,
    pub(super) kind: MatterKind,
    pub(super) statutory: Limit,
    pub(super) promised: Limit,
    pub(super) steps: &'static [(&'static str, u32)],
    pub(super) fees: &'static [(&'static str, &'static str, i64)],
    pub(super) suspensions: &'static [SuspensionKind],
    /// Relative share of the department's applications.
    pub(super) weight: u32,
}

/// One kind of office: its short code, its name and its matters.
pub(super) struct OfficeTemplate {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    /// Applications per working day at city level (district offices get half).
    pub(super) daily: f64,
    pub(super) matters: &'static [MatterTemplate],
}

pub(super) const fn wd(n: u32) -> Limit {
    Limit {
        amount: n,
        unit: egov_domain::limit::LimitUnit::WorkingDays,
    }
}

pub(super) const fn cd(n: u32) -> Limit {
    Limit {
        amount: n,
        unit: egov_domain::limit::LimitUnit::CalendarDays,
    }
}

use MatterKind::{Immediate, Joint, Promised, Reported};
use SuspensionKind as K;

const NO_STEPS: &[(&str, u32)] = &[];
const NO_FEES: &[(&str, &str, i64)] = &[];

pub(super) const OFFICES: &[OfficeTemplate] = &[
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
pub(super) const DISTRICT_OFFICES: [&str; 4] = ["market", "health", "security", "natres"];
