//! Performance scores end to end (issue 5): a small city of five departments and 300 cases over
//! two summers (2024 and 2025), pushed through the approval platform over gRPC as they happen,
//! with cards answered in time or late through the supervision platform. Then every indicator,
//! the scores, the rankings, the bottom two and leadership review are checked against values
//! computed here by hand from how the city was built, independently of the platform's code;
//! a period is closed, a late record reported and the period recomputed; and a full rebuild of
//! the rollups gives exactly what following the log gave. On both databases.
//!
//! How the city is built, so that every number can be counted by hand:
//! - department dN has matter M-N: promised 10, statutory 20 working days, fee item F (at most
//!   ¥100.00); d1 also lists M-1B (promised 5 of 20), never applied for. d1 and d2 are in
//!   district 330106, d3 in 330105 (city 3301), d4 and d5 in 330206 (city 3302).
//! - Each department gets 30 cases a year, accepted on a Monday of July-August (no holiday
//!   within reach: 2024-07-01 + 7w, 2025-07-07 + 7w, w = i mod 8) and decided `offset` days
//!   later (offsets from the department's profile, i mod 10), completed the same day. The
//!   promised limit of a case accepted on Monday D ends on Monday D+14 (10 working days, the
//!   start day not counted): offsets 3, 8, 11 are early, 14 is on time on the last day, 15 and
//!   more are late (a yellow card, raised when the case is pushed). Working days used: 3->3,
//!   8->6, 11->9, 14->10, 15->11, 18->14, 22->16.
//! - Case i pays ¥50.00 when i mod 4 = 1; in d4 and d5, case i = 7, 22 pays ¥200.00 instead (an
//!   irregular fee: a red card) and case i mod 10 = 9 promises the applicant a wrong deadline
//!   at acceptance (a procedure anomaly: a yellow card). Case i mod 3 = 0 is rated the day after
//!   its decision, level 1 + (i/3 + N) mod 5.
//! - A card is answered the day after it was raised (in time) when (i + N + card) is even,
//!   eight days after (late) when it is 1 mod 3, else never.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use egov_approval::testing::fixtures::{
    acceptance, application, certificate, completion, decision, fee, local, rating, record,
};
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{FeeItem, Matter, MatterKind};
use egov_domain::money::Fen;
use egov_domain::record::RecordBody;
use egov_domain::rules::RuleConfig;
use egov_platform::testing::PATIENCE;
use egov_platform::testing::connect;
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::access::Authed;
use egov_store::{Backend, Page, WarningFilter};
use egov_tests::Platforms;

const DEPARTMENTS: [(&str, &str); 5] = [
    ("d1", "330106"),
    ("d2", "330106"),
    ("d3", "330105"),
    ("d4", "330206"),
    ("d5", "330206"),
];

/// Decision offsets (calendar days after the Monday of acceptance), per profile, by i mod 10.
const PROFILES: [[i64; 10]; 5] = [
    [3, 3, 8, 8, 8, 11, 11, 14, 14, 14],
    [3, 8, 8, 11, 11, 11, 14, 14, 14, 15],
    [8, 8, 11, 11, 14, 14, 14, 14, 15, 18],
    [8, 11, 11, 14, 14, 14, 14, 15, 18, 22],
    [11, 11, 14, 14, 14, 14, 15, 15, 18, 22],
];

/// Which profile department `dept` (0-based) has in `year`: d3 and d5 swap in 2025.
fn profile(dept: usize, year: i32) -> usize {
    match (dept, year) {
        (2, 2025) => 4,
        (4, 2025) => 2,
        (d, _) => d,
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// Working days d with a < d <= b, in windows without holidays: weekdays.
fn weekdays_between(a: NaiveDate, b: NaiveDate) -> i64 {
    let mut n = 0;
    let mut d = a;
    while d < b {
        d = d + Days::new(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            n += 1;
        }
    }
    n
}

/// One case of the city, as built.
#[derive(Debug, Clone)]
struct Case {
    no: String,
    dept: usize,
    i: usize,
    accepted: NaiveDate,
    offset: i64,
    decided: NaiveDate,
    fee: Option<i64>,
    irregular: bool,
    anomaly: bool,
    rating: Option<(NaiveDate, i64)>,
}

impl Case {
    fn late(&self) -> bool {
        self.offset > 14
    }

    /// The cards the case raises, as (rule, level), in a fixed order (the card index of the
    /// answering rule).
    fn cards(&self) -> Vec<(&'static str, &'static str)> {
        let mut cards = Vec::new();
        if self.late() {
            cards.push(("promised_limit_passed", "yellow_card"));
        }
        if self.anomaly {
            cards.push(("procedure_anomaly", "yellow_card"));
        }
        if self.irregular {
            cards.push(("irregular_fee", "red_card"));
        }
        cards
    }

    /// When card `k` is answered: Some(days after the raise), None for never.
    fn answer_after(&self, k: usize) -> Option<u64> {
        let n = self.i + self.dept + 1 + k;
        if n.is_multiple_of(2) {
            Some(1)
        } else if n % 3 == 1 {
            Some(8)
        } else {
            None
        }
    }

    fn records(&self) -> Vec<apb::Record> {
        let (dept, region) = DEPARTMENTS[self.dept];
        let at = |d: NaiveDate, time: &str| format!("{d} {time}");
        let e = |n: &str| format!("{}-{n}", self.no);
        let mut out = vec![
            record(
                &self.no,
                &e("a"),
                &at(self.accepted, "09:00"),
                application(&format!("M-{}", self.dept + 1), dept, region),
            ),
            record(
                &self.no,
                &e("b"),
                &at(self.accepted, "10:00"),
                if self.anomaly {
                    RecordBody::Acceptance {
                        handler: "clerk-1".into(),
                        promised_due_at: Some(local(&at(self.accepted + Days::new(3), "18:00"))),
                    }
                } else {
                    acceptance()
                },
            ),
        ];
        if let Some(fen) = self.fee {
            out.push(record(
                &self.no,
                &e("c"),
                &at(self.accepted + Days::new(1), "10:00"),
                fee("F", fen),
            ));
        }
        out.extend([
            record(
                &self.no,
                &e("d"),
                &at(self.decided, "15:00"),
                decision(true),
            ),
            record(&self.no, &e("e"), &at(self.decided, "16:00"), completion()),
            record(&self.no, &e("f"), &at(self.decided, "16:30"), certificate()),
        ]);
        out
    }
}

fn city() -> Vec<Case> {
    let mut cases = Vec::new();
    for (year, first_monday) in [(2024, day("2024-07-01")), (2025, day("2025-07-07"))] {
        for dept in 0..5 {
            for i in 0..30 {
                let accepted = first_monday + Days::new(7 * (i as u64 % 8));
                let offset = PROFILES[profile(dept, year)][i % 10];
                let decided = accepted + Days::new(offset as u64);
                let irregular = dept >= 3 && i % 15 == 7;
                let fee = if irregular {
                    Some(20_000)
                } else if i % 4 == 1 {
                    Some(5_000)
                } else {
                    None
                };
                cases.push(Case {
                    no: format!("{year}-d{}-{i:02}", dept + 1),
                    dept,
                    i,
                    accepted,
                    offset,
                    decided,
                    fee,
                    irregular,
                    anomaly: dept >= 3 && i % 10 == 9,
                    rating: (i % 3 == 0)
                        .then(|| (decided + Days::new(1), 1 + ((i / 3 + dept + 1) % 5) as i64)),
                });
            }
        }
    }
    cases
}

/// The counters of one department in one period, counted by hand from the city.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Expected {
    accepted: i64,
    completed: i64,
    on_time: i64,
    early: i64,
    share_cases: i64,
    share_bp_sum: i64,
    ratings: i64,
    satisfied: i64,
    bad_reviews: i64,
    reminders: i64,
    yellow_cards: i64,
    red_cards: i64,
    anomalies: i64,
    irregular_fees: i64,
    corrected_in_time: i64,
    fees_fen: i64,
}

/// Every counted event of the city: (department, day, what it adds).
fn events(cases: &[Case]) -> Vec<(usize, NaiveDate, Expected)> {
    let mut out = Vec::new();
    for c in cases {
        out.push((
            c.dept,
            c.accepted,
            Expected {
                accepted: 1,
                ..Expected::default()
            },
        ));
        let used = weekdays_between(c.accepted, c.decided);
        out.push((
            c.dept,
            c.decided,
            Expected {
                completed: 1,
                on_time: i64::from(c.offset <= 14),
                early: i64::from(c.offset <= 11),
                share_cases: 1,
                share_bp_sum: used * 1_000,
                ..Expected::default()
            },
        ));
        if let Some(fen) = c.fee {
            out.push((
                c.dept,
                c.accepted + Days::new(1),
                Expected {
                    fees_fen: fen,
                    ..Expected::default()
                },
            ));
        }
        if let Some((d, level)) = c.rating {
            out.push((
                c.dept,
                d,
                Expected {
                    ratings: 1,
                    satisfied: i64::from(level <= 2),
                    bad_reviews: i64::from(level >= 4),
                    ..Expected::default()
                },
            ));
        }
        // Cards are raised when the case is pushed, the evening of its decision.
        for (k, (rule, level)) in c.cards().into_iter().enumerate() {
            out.push((
                c.dept,
                c.decided,
                Expected {
                    yellow_cards: i64::from(level == "yellow_card"),
                    red_cards: i64::from(level == "red_card"),
                    anomalies: i64::from(rule == "procedure_anomaly"),
                    irregular_fees: i64::from(rule == "irregular_fee"),
                    corrected_in_time: i64::from(c.answer_after(k) == Some(1)),
                    ..Expected::default()
                },
            ));
        }
    }
    out
}

fn plus(a: Expected, b: Expected) -> Expected {
    Expected {
        accepted: a.accepted + b.accepted,
        completed: a.completed + b.completed,
        on_time: a.on_time + b.on_time,
        early: a.early + b.early,
        share_cases: a.share_cases + b.share_cases,
        share_bp_sum: a.share_bp_sum + b.share_bp_sum,
        ratings: a.ratings + b.ratings,
        satisfied: a.satisfied + b.satisfied,
        bad_reviews: a.bad_reviews + b.bad_reviews,
        reminders: a.reminders + b.reminders,
        yellow_cards: a.yellow_cards + b.yellow_cards,
        red_cards: a.red_cards + b.red_cards,
        anomalies: a.anomalies + b.anomalies,
        irregular_fees: a.irregular_fees + b.irregular_fees,
        corrected_in_time: a.corrected_in_time + b.corrected_in_time,
        fees_fen: a.fees_fen + b.fees_fen,
    }
}

/// The counters per department over the local days first..=last.
fn expected(
    events: &[(usize, NaiveDate, Expected)],
    first: NaiveDate,
    last: NaiveDate,
) -> [Expected; 5] {
    let mut out = [Expected::default(); 5];
    for (dept, d, e) in events {
        if first <= *d && *d <= last {
            out[*dept] = plus(out[*dept], *e);
        }
    }
    out
}

fn from_wire(i: &spb::Indicators) -> Expected {
    Expected {
        accepted: i.accepted,
        completed: i.completed,
        on_time: i.on_time,
        early: i.early,
        share_cases: i.share_cases,
        share_bp_sum: i.share_basis_points_sum,
        ratings: i.ratings,
        satisfied: i.satisfied,
        bad_reviews: i.bad_reviews,
        reminders: i.reminders,
        yellow_cards: i.yellow_cards,
        red_cards: i.red_cards,
        anomalies: i.anomalies,
        irregular_fees: i.irregular_fees,
        corrected_in_time: i.corrected_in_time,
        fees_fen: i.fees_fen,
    }
}

/// The catalogue speed-up of department `dept` as (numerator, denominator): 1 - promised /
/// statutory averaged over its matters (d1: (0.5 + 0.25) / 2 -> 0.625; the others 0.5).
fn speed_up(dept: usize) -> (i64, i64) {
    if dept == 0 { (5, 8) } else { (1, 2) }
}

/// `n / d` rounded half up (n >= 0, d > 0).
fn round_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

/// The score by the default configuration, by hand, in hundredths of a point; each component
/// rounded half up to the hundredth, the score their sum:
///   weighted component = weight × 100 / W × rate, for the indicators with data (W: the sum of
///     their weights)
///   deductions (30 cases a year, under the 100 of `per_cases`: full points): yellow card 1,
///     red card 3, irregular fee 2, bad review 0.5; at most 40 in all
///   bonuses: 2 without cards; 3 with at least half the completions early.
fn expected_score(e: &Expected, dept: usize) -> i64 {
    let unused = (e.share_cases * 10_000 - e.share_bp_sum).max(0);
    let rates = [
        (40, e.on_time, e.completed),
        (10, e.early, e.completed),
        (10, unused, e.share_cases * 10_000),
        (10, speed_up(dept).0, speed_up(dept).1),
        (20, e.satisfied, e.ratings),
        (10, e.corrected_in_time, e.yellow_cards + e.red_cards),
    ];
    let w: i128 = rates.iter().filter(|r| r.2 > 0).map(|r| r.0).sum();
    let mut total: i128 = 0;
    for (weight, num, den) in rates {
        if den > 0 {
            // weight × 100 / w × num / den points, in hundredths.
            total += round_half_up(weight * 100 * 100 * num as i128, w * den as i128);
        }
    }
    let deductions =
        100 * e.yellow_cards + 300 * e.red_cards + 200 * e.irregular_fees + 50 * e.bad_reviews;
    total -= deductions.min(4_000) as i128;
    if e.yellow_cards + e.red_cards == 0 {
        total += 200;
    }
    if e.completed > 0 && 2 * e.early >= e.completed {
        total += 300;
    }
    (total as i64).max(0)
}

/// The ranking by hand: departments in order, with (rank, bottom two).
fn expected_ranking(counters: &[Expected; 5], depts: &[usize]) -> Vec<(String, u32, bool)> {
    let key = |d: usize| {
        let e = &counters[d];
        (
            expected_score(e, d),
            e.on_time,
            e.completed,
            e.red_cards,
            e.yellow_cards,
        )
    };
    let better = |a: usize, b: usize| -> std::cmp::Ordering {
        let (ka, kb) = (key(a), key(b));
        kb.0.cmp(&ka.0)
            .then_with(|| (kb.1 * ka.2).cmp(&(ka.1 * kb.2)))
            .then_with(|| ka.3.cmp(&kb.3))
            .then_with(|| ka.4.cmp(&kb.4))
    };
    let mut order: Vec<usize> = depts.to_vec();
    order.sort_by(|a, b| better(*a, *b).then_with(|| a.cmp(b)));
    let n = order.len();
    let mut out = Vec::new();
    for (pos, d) in order.iter().enumerate() {
        let rank = order
            .iter()
            .position(|o| better(*o, *d) == std::cmp::Ordering::Equal)
            .unwrap() as u32
            + 1;
        let last_of_tie = order
            .iter()
            .rposition(|o| better(*o, *d) == std::cmp::Ordering::Equal)
            .unwrap();
        let _ = pos;
        out.push((
            DEPARTMENTS[*d].0.to_owned(),
            rank,
            n >= 3 && last_of_tie + 2 >= n,
        ));
    }
    out
}

fn catalogue_matters() -> Vec<apb::Matter> {
    let m = |code: &str, dept: &str, promised: u32| {
        apb::Matter::from(&Matter {
            code: MatterCode::parse(code).unwrap(),
            name: format!("matter {code}"),
            department: DepartmentCode::parse(dept).unwrap(),
            region: None,
            kind: MatterKind::Promised,
            statutory_limit: Limit::working_days(20),
            promised_limit: Limit::working_days(promised),
            step_limits: vec![],
            fee_items: vec![FeeItem {
                fee_item: "F".into(),
                name: "licence fee".into(),
                max: Fen::new(10_000).unwrap(),
            }],
            suspension_kinds: vec![],
            calendar: CalendarId::parse("cn").unwrap(),
        })
    };
    let mut out: Vec<apb::Matter> = DEPARTMENTS
        .iter()
        .enumerate()
        .map(|(n, (dept, _))| m(&format!("M-{}", n + 1), dept, 10))
        .collect();
    out.push(m("M-1B", "d1", 5));
    out
}

/// What happens at one instant of the city's life.
enum Step {
    /// Answer card `k` of a case (acknowledge, then answer).
    Answer(String, &'static str, &'static str),
    /// Push these records.
    Push(Vec<apb::Record>),
}

fn timeline(cases: &[Case]) -> Vec<(String, Step)> {
    let mut steps: Vec<(String, Step)> = Vec::new();
    let mut pushes: BTreeMap<NaiveDate, Vec<apb::Record>> = BTreeMap::new();
    for c in cases {
        pushes.entry(c.decided).or_default().extend(c.records());
        if let Some((d, level)) = c.rating {
            pushes.entry(d).or_default().push(record(
                &c.no,
                &format!("{}-g", c.no),
                &format!("{d} 10:00"),
                rating(level),
            ));
        }
        for (k, (rule, level)) in c.cards().into_iter().enumerate() {
            if let Some(after) = c.answer_after(k) {
                steps.push((
                    format!("{} 10:00", c.decided + Days::new(after)),
                    Step::Answer(c.no.clone(), rule, level),
                ));
            }
        }
    }
    for (d, records) in pushes {
        steps.push((format!("{d} 20:00"), Step::Push(records)));
    }
    // Local times sort as text; answers at 10:00 come before the evening's push.
    steps.sort_by(|a, b| a.0.cmp(&b.0));
    steps
}

async fn scores_client(p: &mut Platforms) -> ScoresServiceClient<Authed> {
    let supervision = p.supervision();
    ScoresServiceClient::new(connect(supervision.addr, Some(supervision.admin_token())).await)
}

async fn settle_scores(p: &mut Platforms) {
    let s = p.supervision().supervision.clone();
    egov_supervision::scores::follower::settle(&s, PATIENCE)
        .await
        .expect("the scores follower catches up");
}

async fn get_scores(
    client: &mut ScoresServiceClient<Authed>,
    period: &str,
    region: &str,
) -> spb::GetScoresResponse {
    client
        .get_scores(spb::GetScoresRequest {
            period: period.into(),
            region: region.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("scores of {period}: {s}"))
        .into_inner()
}

/// The response's departments as (department, rank, bottom two), ranked ones only.
fn ranking_of(r: &spb::GetScoresResponse) -> Vec<(String, u32, bool)> {
    r.departments
        .iter()
        .filter(|d| d.ranked)
        .map(|d| (d.department.clone(), d.rank, d.bottom_two))
        .collect()
}

/// Every indicator and score of `r` against the hand-counted `counters`.
fn check_departments(r: &spb::GetScoresResponse, counters: &[Expected; 5], what: &str) {
    for d in &r.departments {
        let n = DEPARTMENTS
            .iter()
            .position(|(code, _)| *code == d.department)
            .unwrap_or_else(|| panic!("{what}: unknown department {}", d.department));
        let got = from_wire(d.indicators.as_ref().expect("indicators"));
        assert_eq!(
            got, counters[n],
            "{what}: the indicators of {}",
            d.department
        );
        assert_eq!(
            d.score_hundredths,
            expected_score(&counters[n], n),
            "{what}: the score of {} ({:?})",
            d.department,
            d.components
        );
        assert_eq!(
            d.region, DEPARTMENTS[n].1,
            "{what}: the region of {}",
            d.department
        );
    }
}

async fn the_city(backend: Backend) {
    let cases = city();
    assert_eq!(cases.len(), 300);
    let events = events(&cases);
    let mut p = Platforms::start_with(
        backend,
        "2024-07-01 08:00",
        RuleConfig::default(),
        catalogue_matters(),
    )
    .await;
    let mut supervision = p.supervision().client.clone();
    // The city's two summers, as they happen.
    for (at, step) in timeline(&cases) {
        p.at(&at);
        match step {
            Step::Push(records) => {
                p.push(records).await;
                p.supervision().settled().await;
            }
            Step::Answer(case_no, rule, level) => {
                let (rows, _) = p
                    .store
                    .list_warnings(
                        &WarningFilter {
                            case_no: Some(case_no.clone()),
                            rule: Some(rule.into()),
                            levels: vec![level.into()],
                            ..WarningFilter::default()
                        },
                        Page::first(10),
                    )
                    .await
                    .expect("warnings of the case");
                assert_eq!(rows.len(), 1, "{case_no} {rule} {level}: {rows:?}");
                let input = |reason: &str| spb::WarningTransitionInput {
                    id: rows[0].id.to_string(),
                    actor: "dept-head".into(),
                    reason: reason.into(),
                    ..Default::default()
                };
                supervision
                    .acknowledge_warning(spb::AcknowledgeWarningRequest {
                        input: Some(input("seen")),
                    })
                    .await
                    .expect("acknowledged");
                supervision
                    .answer_warning(spb::AnswerWarningRequest {
                        input: Some(input("corrected")),
                    })
                    .await
                    .expect("answered");
            }
        }
    }
    // Exactly the cards the city was built with: no other warning. Settled first: on
    // PostgreSQL the list holds an answered warning back while an older transaction of the
    // server (another test's) is open.
    p.supervision().settled().await;
    let listed = p.listed().await;
    let cards: usize = cases.iter().map(|c| c.cards().len()).sum();
    assert_eq!(listed.len(), cards, "{:#?}", egov_tests::lines(&listed));
    settle_scores(&mut p).await;
    let mut client = scores_client(&mut p).await;

    // ----- 2024: every indicator, score and the ranking -------------------------------------
    let y2024 = expected(&events, day("2024-01-01"), day("2024-12-31"));
    // By hand, for d1: 30 cases, offsets 3,3,8,8,8,11,11,14,14,14 three times each: all on
    // time, 21 early, no card (so no correction rate, and the no-cards bonus).
    assert_eq!(
        (y2024[0].completed, y2024[0].on_time, y2024[0].early),
        (30, 30, 21)
    );
    assert_eq!(y2024[0].yellow_cards + y2024[0].red_cards, 0);
    // Working days used 3+3+6+6+6+9+9+10+10+10 = 72 tenths: 72 000 bp three times.
    assert_eq!(y2024[0].share_bp_sum, 216_000);
    // d5: offsets 11,11,14,14,14,14,15,15,18,22: 12 late (yellow), 3 anomalies (yellow),
    // 2 irregular fees (red).
    assert_eq!(
        (y2024[4].on_time, y2024[4].yellow_cards, y2024[4].red_cards),
        (18, 15, 2)
    );
    let r2024 = get_scores(&mut client, "2024", "").await;
    assert!(!r2024.closed);
    check_departments(&r2024, &y2024, "2024");
    // Two scores worked out on paper, on top of `expected_score`'s computation.
    let score_of = |code: &str| {
        r2024
            .departments
            .iter()
            .find(|d| d.department == code)
            .map(|d| d.score_hundredths)
    };
    // d1, 2024: 30 completed, 30 on time, 21 early; unused share 1 - 216 000 / 300 000 = 0.28;
    // speed-up 5/8; 10 ratings (levels 2,3,4,5,1,2,3,4,5,1): 4 satisfied, 4 bad; no card, so
    // no corrected-in-time rate: W = 40 + 10 + 10 + 10 + 20 = 90.
    //   on time 40 × 100/90 × 1 = 44.444 -> 44.44; early 10 × 100/90 × 21/30 = 7.777 -> 7.78;
    //   unused 10 × 100/90 × 0.28 = 3.111 -> 3.11; speed-up 10 × 100/90 × 5/8 = 6.944 -> 6.94;
    //   satisfaction 20 × 100/90 × 4/10 = 8.888 -> 8.89: weighted 71.16.
    //   Deductions: 4 bad reviews × 0.5 = 2. Bonuses: no card +2, 70 % early +3.
    //   71.16 - 2 + 2 + 3 = 74.16.
    assert_eq!(score_of("d1"), Some(7_416));
    // d5, 2024: 30 completed, 18 on time, 6 early; working days used 9,9,10,10,10,10,11,11,14,16
    // of 10 promised, three times: 330 000 bp > 300 000, unused share 0; speed-up 1/2; 10
    // ratings (levels 1-5 twice): 4 satisfied, 4 bad; 17 cards (15 yellow, 2 red), 6 answered
    // after a day (cases 7, 17, 27 late; 9, 19, 29 late). W = 100.
    //   on time 40 × 18/30 = 24; early 10 × 6/30 = 2; unused 0; speed-up 10 × 1/2 = 5;
    //   satisfaction 20 × 4/10 = 8; corrected 10 × 6/17 = 3.529 -> 3.53: weighted 42.53.
    //   Deductions: yellow 15 × 1 + red 2 × 3 + irregular fee 2 × 2 + bad reviews 4 × 0.5 = 27.
    //   Bonuses: none (cards; 20 % early). 42.53 - 27 = 15.53.
    assert_eq!(score_of("d5"), Some(1_553));
    let ranking_2024 = ranking_of(&r2024);
    assert_eq!(ranking_2024, expected_ranking(&y2024, &[0, 1, 2, 3, 4]));
    // The city's order by hand: the profiles get worse from d1 to d5.
    assert_eq!(
        ranking_2024
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        ["d1", "d2", "d3", "d4", "d5"]
    );
    assert_eq!(
        ranking_2024
            .iter()
            .filter(|r| r.2)
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        ["d4", "d5"]
    );
    assert!(r2024.departments.iter().all(|d| !d.leadership_review));

    // ----- 2025: d3 takes d5's profile and d5 takes d3's ---------------------------------------
    // d5 climbs to third; d3 (the worst profile) and d4 (anomalies and irregular fees) are the
    // bottom two. d4 was in the bottom two of 2024 too: leadership review; d5 is not, nor d3.
    let y2025 = expected(&events, day("2025-01-01"), day("2025-12-31"));
    let r2025 = get_scores(&mut client, "2025", "").await;
    check_departments(&r2025, &y2025, "2025");
    let ranking_2025 = ranking_of(&r2025);
    assert_eq!(ranking_2025, expected_ranking(&y2025, &[0, 1, 2, 3, 4]));
    assert_eq!(
        ranking_2025
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        ["d1", "d2", "d5", "d3", "d4"]
    );
    let review: Vec<&str> = r2025
        .departments
        .iter()
        .filter(|d| d.leadership_review)
        .map(|d| d.department.as_str())
        .collect();
    assert_eq!(review, ["d4"], "bottom two in 2024 and 2025");

    // ----- a region subtree: city 3301 holds d1, d2, d3 ---------------------------------------
    let city_2025 = get_scores(&mut client, "2025", "3301").await;
    assert_eq!(ranking_of(&city_2025), expected_ranking(&y2025, &[0, 1, 2]));
    // Bottom two of three in 2024 (d2, d3) and 2025 (d2, d3): both for review in the city.
    let review: Vec<&str> = city_2025
        .departments
        .iter()
        .filter(|d| d.leadership_review)
        .map(|d| d.department.as_str())
        .collect();
    assert_eq!(review, ["d2", "d3"]);
    let ranking = client
        .get_ranking(spb::GetRankingRequest {
            period: "2025".into(),
            region: "3302".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ranking
            .entries
            .iter()
            .map(|e| (e.department.as_str(), e.rank, e.bottom_two))
            .collect::<Vec<_>>(),
        [("d5", 1, false), ("d4", 2, false)],
        "two departments have no bottom two"
    );

    // ----- months and quarters ----------------------------------------------------------------
    for (period, first, last) in [
        ("2024-07", "2024-07-01", "2024-07-31"),
        ("2024-08", "2024-08-01", "2024-08-31"),
        ("2024-09", "2024-09-01", "2024-09-30"),
        ("2025-Q3", "2025-07-01", "2025-09-30"),
        ("2025-Q2", "2025-04-01", "2025-06-30"),
    ] {
        let counters = expected(&events, day(first), day(last));
        let r = get_scores(&mut client, period, "").await;
        check_departments(&r, &counters, period);
        // Ranked: at least one case completed (`min_completed`); one accepted is not enough.
        let active: Vec<usize> = (0..5).filter(|d| counters[*d].completed > 0).collect();
        assert_eq!(
            ranking_of(&r),
            expected_ranking(&counters, &active),
            "{period}"
        );
    }
    let history = client
        .get_department_indicators(spb::GetDepartmentIndicatorsRequest {
            department: "d2".into(),
            first_period: "2024-06".into(),
            to: "2024-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.region, "330106");
    let months: Vec<(String, Expected)> = history
        .periods
        .iter()
        .map(|p| (p.period.clone(), from_wire(p.indicators.as_ref().unwrap())))
        .collect();
    let by_hand: Vec<(String, Expected)> = [
        ("2024-06", "2024-06-01", "2024-06-30"),
        ("2024-07", "2024-07-01", "2024-07-31"),
        ("2024-08", "2024-08-01", "2024-08-31"),
        ("2024-09", "2024-09-01", "2024-09-30"),
        ("2024-10", "2024-10-01", "2024-10-31"),
    ]
    .iter()
    .map(|(p, a, b)| ((*p).to_owned(), expected(&events, day(a), day(b))[1]))
    .collect();
    assert_eq!(months, by_hand);

    // ----- the catalogue --------------------------------------------------------------------
    let stats = client
        .get_catalogue_stats(spb::GetCatalogueStatsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let total = stats.total.unwrap();
    assert_eq!(
        (total.matters, total.fee_items, total.compared_matters),
        (6, 6, 6)
    );
    // (5 × 0.5 + 0.25) / 6 = 0.458 33...: 4 583 bp.
    assert_eq!(
        total.average_promised_statutory_ratio.unwrap().basis_points,
        4_583
    );
    let d1 = &stats.departments[0];
    assert_eq!((d1.department.as_str(), d1.matters), ("d1", 2));
    assert_eq!(d1.speed_up.as_ref().unwrap().basis_points, 6_250);

    // ----- closing 2024, a late record, recomputing ------------------------------------------
    let error = client
        .close_period(spb::ClosePeriodRequest {
            period: "2025".into(),
            actor: "analyst".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition, "{error:?}");
    assert!(error.message().contains("not over"), "{}", error.message());
    let closed = client
        .close_period(spb::ClosePeriodRequest {
            period: "2024".into(),
            actor: "analyst".into(),
            reason: "year end".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    assert_eq!((closed.period.as_str(), closed.version), ("2024", 1));
    let again = client
        .close_period(spb::ClosePeriodRequest {
            period: "2024".into(),
            actor: "analyst".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert!(
        again.message().contains("already closed"),
        "{}",
        again.message()
    );

    // A bad review of a 2024 case of d1, sent a year late.
    p.push(vec![record(
        "2024-d1-01",
        "2024-d1-01-late",
        "2024-09-02 10:00",
        rating(5),
    )])
    .await;
    settle_scores(&mut p).await;
    let frozen = get_scores(&mut client, "2024", "").await;
    assert!(frozen.closed);
    assert_eq!(frozen.version, 1);
    check_departments(&frozen, &y2024, "2024 closed");
    assert_eq!(frozen.late_changes, 1);
    let late_of: Vec<(&str, u64)> = frozen
        .departments
        .iter()
        .map(|d| (d.department.as_str(), d.late_changes))
        .collect();
    assert_eq!(
        late_of,
        ranking_2024
            .iter()
            .map(|(d, _, _)| (d.as_str(), u64::from(d == "d1")))
            .collect::<Vec<_>>()
    );
    let versions = client
        .list_period_versions(spb::ListPeriodVersionsRequest {
            period: "2024".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(versions.versions.len(), 1);
    assert_eq!(versions.late_changes.len(), 1);
    assert_eq!(
        (
            versions.late_changes[0].department.as_str(),
            versions.late_changes[0].key.as_str(),
            versions.late_changes[0].detail.as_str()
        ),
        ("d1", "2024-d1-01", "2024-d1-01-late")
    );
    // The month is not closed: it shows the late review at once.
    let mut sept = expected(&events, day("2024-09-01"), day("2024-09-30"));
    sept[0].ratings += 1;
    sept[0].bad_reviews += 1;
    check_departments(
        &get_scores(&mut client, "2024-09", "").await,
        &sept,
        "2024-09 live",
    );

    let recomputed = client
        .recompute_period(spb::RecomputePeriodRequest {
            period: "2024".into(),
            actor: "analyst".into(),
            reason: "late reviews".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recomputed.version.unwrap().version, 2);
    assert_eq!(recomputed.late_changes_included, 1);
    let mut y2024_late = y2024;
    y2024_late[0].ratings += 1;
    y2024_late[0].bad_reviews += 1;
    let r = get_scores(&mut client, "2024", "").await;
    assert_eq!((r.closed, r.version, r.late_changes), (true, 2, 0));
    check_departments(&r, &y2024_late, "2024 recomputed");
    let versions = client
        .list_period_versions(spb::ListPeriodVersionsRequest {
            period: "2024".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        versions
            .versions
            .iter()
            .map(|v| (v.version, v.reason.as_str()))
            .collect::<Vec<_>>(),
        [(1, "year end"), (2, "late reviews")]
    );
    assert!(versions.late_changes.is_empty());
    let error = client
        .recompute_period(spb::RecomputePeriodRequest {
            period: "2023".into(),
            actor: "analyst".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition);

    // ----- bad requests name their field ------------------------------------------------------
    for (period, region, field) in [("2024-13", "", "period"), ("2024", "33x", "region")] {
        let e = client
            .get_scores(spb::GetScoresRequest {
                period: period.into(),
                region: region.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message()
                .starts_with(&format!("invalid field: {field} (")),
            "{}",
            e.message()
        );
    }

    // ----- a full rebuild gives exactly what following gave ------------------------------------
    let followed = p.store.score_daily(None).await.unwrap();
    let s = p.supervision().supervision.clone();
    egov_supervision::scores::follower::rebuild(&s)
        .await
        .expect("the rollups rebuild");
    assert_eq!(p.store.score_daily(None).await.unwrap(), followed);
    assert!(!followed.is_empty());
}

#[tokio::test]
async fn a_small_city_scores_as_counted_by_hand_on_postgres() {
    the_city(Backend::Postgres).await;
}

#[tokio::test]
async fn a_small_city_scores_as_counted_by_hand_on_sqlite() {
    the_city(Backend::Sqlite).await;
}
