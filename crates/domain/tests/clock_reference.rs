//! A deliberately plain reference implementation of the deadline clocks (docs/design.md §2), and a
//! property test comparing it with `clock::clocks` over generated cases (issue 10).
//!
//! The reference shares nothing with the real code but the record types: it reads the working
//! days from the calendar file's text (Monday-Friday unless listed), walks the calendar one day
//! at a time, and applies each record in time order, with no prefix sums and no fast paths.
//! The generator produces on purpose the shapes where the two readings of the rules part:
//! suspensions starting before, on and after a limit's last day (and zero-day ones), extensions
//! before and after the due, late acceptance, corrections, step limits, both units, and cases
//! that cross long holidays.
//!
//! `EGOV_LAW_CASES` sets the number of cases (20,000 by default); the long run is
//! `EGOV_LAW_CASES=1000000 cargo test --release -p egov-domain --test clock_reference`.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use egov_domain::calendar::Calendar;
use egov_domain::case::Case;
use egov_domain::clock::{ClockStatus, clocks};
use egov_domain::ids::{CaseNo, EventId};
use egov_domain::limit::{Limit, LimitUnit};
use egov_domain::matter::{Matter, MatterKind, StepLimit};
use egov_domain::record::{IssueMethod, Outcome, Record, RecordBody, SuspensionKind};
use proptest::prelude::*;

const CSV: &str = include_str!("../data/cn-statutory-calendar.csv");

// ---- The calendar, from the file's text ---------------------------------------------------

/// The working-day status of every listed date.
static LISTED: LazyLock<HashMap<NaiveDate, bool>> = LazyLock::new(|| {
    CSV.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && *l != "date,kind,name")
        .map(|l| {
            let mut f = l.splitn(3, ',');
            let date = NaiveDate::parse_from_str(f.next().unwrap(), "%Y-%m-%d").unwrap();
            (date, f.next().unwrap() == "workday")
        })
        .collect()
});

/// The first days of the long holidays (Spring Festival, National Day), to start cases near.
static LONG_HOLIDAYS: LazyLock<Vec<NaiveDate>> = LazyLock::new(|| {
    let mut v: Vec<NaiveDate> = CSV
        .lines()
        .filter(|l| l.contains("Spring Festival") || l.contains("National Day"))
        .filter_map(|l| NaiveDate::parse_from_str(&l[..10], "%Y-%m-%d").ok())
        .filter(|d| d.year() >= 2007)
        .collect();
    v.sort();
    v.dedup_by(|b, a| (*b - *a).num_days() < 10);
    v
});

fn working(d: NaiveDate) -> bool {
    LISTED
        .get(&d)
        .copied()
        .unwrap_or(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
}

fn known(d: NaiveDate) -> bool {
    (2004..=2026).contains(&d.year())
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&cst()).date_naive()
}

/// 24:00 local of `d`.
fn end_of(d: NaiveDate) -> DateTime<Utc> {
    cst()
        .from_local_datetime(&d.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

// ---- The reference ------------------------------------------------------------------------

/// What the reference says about one clock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    last_day: NaiveDate,
    due_at: DateTime<Utc>,
    /// `running`, `paused`, `on_time` or `late`.
    status: &'static str,
    suspended: u32,
    extension: u32,
    provisional: bool,
    not_counted: usize,
    /// Not judged before this instant (a case counting as accepted on receipt, ALL Art. 32).
    not_before: Option<DateTime<Utc>>,
}

/// One suspension or extension as the records tell it.
#[derive(Debug, Clone, Copy)]
enum Ev {
    Suspension {
        at: DateTime<Utc>,
        end: DateTime<Utc>,
        open: bool,
    },
    Extension {
        at: DateTime<Utc>,
        units: u32,
    },
}

impl Ev {
    fn at(&self) -> DateTime<Utc> {
        match *self {
            Ev::Suspension { at, .. } | Ev::Extension { at, .. } => at,
        }
    }
}

/// One clock walked day by day: `units` after `start`, then each event in time order against
/// the last day as it stands; `stop` is when the clock stopped, `suspended_now` whether the
/// case is in a suspension.
fn walk_clock(
    start: DateTime<Utc>,
    limit: Limit,
    events: &[Ev],
    stop: Option<DateTime<Utc>>,
    suspended_now: bool,
) -> Expected {
    let day0 = local_date(start);
    let unit_day = |d: NaiveDate| limit.unit == LimitUnit::CalendarDays || working(d);
    // Amount 0 on a day off: the next working day, one unit.
    let mut budget = if limit.amount == 0 && !unit_day(day0) {
        1
    } else {
        limit.amount
    };
    let count_end = |budget: u32| {
        let mut d = day0;
        let mut left = budget;
        while left > 0 {
            d = d.succ_opt().unwrap();
            if unit_day(d) {
                left -= 1;
            }
        }
        d
    };
    let art_203 = |mut d: NaiveDate| {
        if limit.unit == LimitUnit::CalendarDays {
            while !working(d) {
                d = d.succ_opt().unwrap();
            }
        }
        d
    };
    let mut suspended_days: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut extension = 0;
    let mut not_counted = 0;
    let mut open_counted = false;
    let mut ordered: Vec<Ev> = events
        .iter()
        .copied()
        .filter(|e| stop.is_none_or(|s| e.at() < s))
        .collect();
    ordered.sort_by_key(|e| e.at());
    for e in ordered {
        let last = art_203(count_end(budget));
        if e.at() >= end_of(last) {
            not_counted += 1;
            continue;
        }
        match e {
            Ev::Extension { units, .. } => {
                budget += units;
                extension += units;
            }
            Ev::Suspension { at, end, open } => {
                open_counted |= open;
                let mut d = local_date(at).max(day0);
                while d < local_date(end) {
                    d = d.succ_opt().unwrap();
                    if unit_day(d) && suspended_days.insert(d) {
                        budget += 1;
                    }
                }
            }
        }
    }
    let end = count_end(budget);
    let last_day = art_203(end);
    let due_at = end_of(last_day);
    let status = match stop {
        Some(s) if s < due_at => "on_time",
        Some(_) => "late",
        None if suspended_now && open_counted => "paused",
        None => "running",
    };
    let provisional = match limit.unit {
        LimitUnit::WorkingDays => day0.year() < 2004 || !known(last_day),
        LimitUnit::CalendarDays => end.year() < 2004 || !known(last_day),
    };
    Expected {
        last_day,
        due_at,
        status,
        suspended: suspended_days.len() as u32,
        extension,
        provisional,
        not_counted,
        not_before: None,
    }
}

/// The clocks of a case, by key, from its records in time order.
fn reference(records: &[Record], m: &Matter) -> Vec<(String, Expected)> {
    let mut received = None;
    let mut acceptance_from = None;
    let mut acceptance_stop: Option<DateTime<Utc>> = None;
    let mut accepted = None;
    let mut awaiting_correction = false;
    let mut refused = false;
    let mut withdrawn = None;
    let mut decision: Option<(DateTime<Utc>, Outcome)> = None;
    let mut completed = None;
    let mut certificate = None;
    let mut events: Vec<Ev> = Vec::new();
    let mut suspended_now = false;
    let mut steps: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    for r in records {
        let at = r.occurred_at;
        match &r.body {
            RecordBody::Application(_) => {
                received = Some(at);
                acceptance_from = Some(at);
            }
            RecordBody::CorrectionNotice { .. } => {
                awaiting_correction = true;
                acceptance_stop.get_or_insert(at);
            }
            RecordBody::CorrectionReceived => {
                awaiting_correction = false;
                acceptance_from = Some(at);
                acceptance_stop = None;
            }
            RecordBody::Acceptance { .. } => {
                accepted = Some(at);
                acceptance_stop = Some(at);
            }
            RecordBody::Refusal { .. } => {
                refused = true;
                acceptance_stop.get_or_insert(at);
            }
            RecordBody::SuspensionStarted { planned_end, .. } => {
                suspended_now = true;
                events.push(Ev::Suspension {
                    at,
                    end: *planned_end,
                    open: true,
                });
            }
            RecordBody::SuspensionEnded { .. } => {
                suspended_now = false;
                if let Some(Ev::Suspension { end, open, .. }) = events
                    .iter_mut()
                    .rev()
                    .find(|e| matches!(e, Ev::Suspension { .. }))
                {
                    *end = at;
                    *open = false;
                }
            }
            RecordBody::Extension { working_days, .. } => events.push(Ev::Extension {
                at,
                units: *working_days,
            }),
            RecordBody::StepStarted { .. } => steps.push((at, None)),
            RecordBody::StepCompleted { .. } => {
                if let Some(s) = steps.iter_mut().rev().find(|s| s.1.is_none()) {
                    s.1 = Some(at);
                }
            }
            RecordBody::Decision { outcome, .. } => decision = Some((at, *outcome)),
            RecordBody::Completion { .. } => {
                completed = Some(at);
                if m.kind == MatterKind::Immediate && decision.is_none() {
                    decision = Some((at, Outcome::Approved));
                }
            }
            RecordBody::CertificateIssued { .. } => certificate = Some(at),
            RecordBody::Withdrawal { .. } => withdrawn = Some(at),
            _ => {}
        }
    }
    let received = received.expect("an application");
    let acceptance_from = acceptance_from.unwrap_or(received);
    let mut out = Vec::new();

    let acceptance_stop = acceptance_stop.or(withdrawn.filter(|_| accepted.is_none()));
    let acceptance = walk_clock(
        acceptance_from,
        Limit::working_days(5),
        &[],
        acceptance_stop,
        false,
    );
    let acceptance_late = acceptance.status == "late";
    let acceptance_due = acceptance.due_at;
    out.push(("acceptance".to_owned(), acceptance));

    let decision_limits: Vec<(&str, Limit)> = if m.kind == MatterKind::Immediate {
        vec![("immediate", m.promised_limit)]
    } else {
        vec![
            ("promised", m.promised_limit),
            ("statutory", m.statutory_limit),
        ]
    };
    if let Some(accepted) = accepted {
        let start = if acceptance_late {
            acceptance_from
        } else {
            accepted
        };
        let stop = [decision.map(|d| d.0), withdrawn, completed]
            .into_iter()
            .flatten()
            .min();
        let counted: Vec<Ev> = events
            .iter()
            .copied()
            .filter(|e| !matches!(e, Ev::Suspension { at, .. } if *at < start))
            .collect();
        for (key, limit) in &decision_limits {
            out.push((
                key.to_string(),
                walk_clock(
                    start,
                    *limit,
                    &counted,
                    stop,
                    suspended_now && stop.is_none(),
                ),
            ));
        }
        let step_limit = m.step_limit("review").unwrap();
        for (started, completed) in &steps {
            let step_stop = completed.or(stop.filter(|s| s >= started));
            let counted: Vec<Ev> = events
                .iter()
                .copied()
                .filter(|e| matches!(e, Ev::Suspension { at, .. } if at >= started))
                .collect();
            out.push((
                "step:review".to_owned(),
                walk_clock(
                    *started,
                    step_limit,
                    &counted,
                    step_stop,
                    suspended_now && step_stop.is_none(),
                ),
            ));
        }
    } else if !refused && !awaiting_correction && withdrawn.is_none() {
        for (key, limit) in &decision_limits {
            let mut e = walk_clock(acceptance_from, *limit, &[], None, false);
            e.not_before = Some(acceptance_due);
            out.push((key.to_string(), e));
        }
    }
    if let Some((at, Outcome::Approved)) = decision {
        out.push((
            "certificate".to_owned(),
            walk_clock(at, Limit::working_days(10), &[], certificate, false),
        ));
    }
    out
}

/// The real clocks in the reference's terms.
fn actual(records: &[Record], m: &Matter) -> Vec<(String, Expected)> {
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), m)
        .unwrap_or_else(|e| panic!("the generated story replays: {e:?}\n{}", tell(records)));
    clocks(&case, m, &Calendar::china())
        .into_iter()
        .map(|c| {
            let status = match c.status {
                ClockStatus::Running => "running",
                ClockStatus::Paused => "paused",
                ClockStatus::Stopped { on_time: true, .. } => "on_time",
                ClockStatus::Stopped { on_time: false, .. } => "late",
            };
            let e = Expected {
                last_day: c.deadline.last_day,
                due_at: c.deadline.due_at,
                status,
                suspended: c.deadline.suspended,
                extension: c.extension,
                provisional: c.deadline.provisional,
                not_counted: c.passed_events.len(),
                not_before: c.not_before,
            };
            (c.key(), e)
        })
        .collect()
}

fn tell(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| {
            let body = match &r.body {
                RecordBody::SuspensionStarted { planned_end, .. } => format!(
                    "suspension_started (planned end {})",
                    planned_end.with_timezone(&cst()).format("%Y-%m-%d %H:%M")
                ),
                RecordBody::Extension { working_days, .. } => format!("extension {working_days}"),
                other => format!("{other:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            };
            format!(
                "  {} {body}",
                r.occurred_at.with_timezone(&cst()).format("%Y-%m-%d %H:%M")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- The generator ------------------------------------------------------------------------

/// A small deterministic generator, so one proptest seed is one case.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn limit(&mut self, max: u64) -> Limit {
        let amount = self.below(max + 1) as u32;
        if self.chance(30) {
            Limit::calendar_days(amount)
        } else {
            Limit::working_days(amount)
        }
    }
}

fn matter(g: &mut Gen) -> Matter {
    let mut m = support::matter(MatterKind::Promised, 0, 20);
    m.kind = match g.below(6) {
        0 => MatterKind::Immediate,
        1 => MatterKind::Joint,
        _ => MatterKind::Promised,
    };
    m.promised_limit = if m.kind == MatterKind::Immediate {
        if g.chance(80) {
            Limit::working_days(0)
        } else {
            g.limit(2)
        }
    } else {
        g.limit(25)
    };
    let mut statutory = g.limit(60);
    statutory.amount = statutory.amount.max(1);
    m.statutory_limit = statutory;
    m.step_limits = vec![StepLimit {
        step: "review".into(),
        limit: g.limit(8),
    }];
    m.suspension_kinds = vec![SuspensionKind::ExpertReview, SuspensionKind::Testing];
    m
}

/// A story being written: records with strictly increasing times.
struct Story {
    records: Vec<Record>,
    now: DateTime<Utc>,
}

impl Story {
    fn push(&mut self, at: DateTime<Utc>, body: RecordBody) {
        // Strictly after the previous record, so time order is the order written.
        let at = at.max(self.now + Duration::minutes(1));
        self.now = at;
        let n = self.records.len() + 1;
        self.records.push(Record {
            event_id: EventId::parse(format!("e{n}")).unwrap(),
            case_no: CaseNo::parse("C1").unwrap(),
            occurred_at: at,
            source: "gen".into(),
            body,
        });
    }
}

/// An instant on local day `d` at a random working hour.
fn on_day(g: &mut Gen, d: NaiveDate) -> DateTime<Utc> {
    let minutes = 8 * 60 + g.below(14 * 60) as i64;
    cst()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

/// An instant 0..n-1 days after local day `d`, at a random working hour.
fn after(g: &mut Gen, d: NaiveDate, n: u64) -> DateTime<Utc> {
    let days = g.below(n.max(1)) as i64;
    on_day(g, d + Duration::days(days))
}

/// When the next event happens: on purpose on a running limit's last day, the day after it or
/// the day before it, or some days after the previous record.
fn next_time(g: &mut Gen, story: &Story, m: &Matter) -> DateTime<Utc> {
    let clocks = reference(&story.records, m);
    let lasts: Vec<NaiveDate> = clocks
        .iter()
        .filter(|(k, e)| k != "acceptance" && k != "certificate" && e.status != "on_time")
        .map(|(_, e)| e.last_day)
        .collect();
    let today = local_date(story.now);
    let day = if lasts.is_empty() || g.chance(25) {
        today + Duration::days(g.below(12) as i64)
    } else {
        let last = lasts[g.below(lasts.len() as u64) as usize];
        match g.below(4) {
            0 | 1 => last,
            2 => last + Duration::days(1),
            _ => last - Duration::days(1),
        }
    };
    on_day(g, day.max(today))
}

fn generate(seed: u64) -> (Matter, Vec<Record>) {
    let mut g = Gen(seed);
    let m = matter(&mut g);
    // 2007-2026, a third of the cases just before a long holiday.
    let first = if g.chance(33) {
        let h = &LONG_HOLIDAYS;
        h[g.below(h.len() as u64) as usize] - Duration::days(g.below(25) as i64)
    } else {
        NaiveDate::from_ymd_opt(2007, 1, 1).unwrap() + Duration::days(g.below(20 * 365) as i64)
    };
    let mut story = Story {
        records: Vec::new(),
        now: on_day(&mut g, first) - Duration::minutes(1),
    };
    let t = on_day(&mut g, first);
    story.push(t, support::plain("application"));

    // Corrections: the acceptance clock runs again from the corrected materials.
    if g.chance(20) {
        let t = after(&mut g, first, 7);
        story.push(t, support::plain("correction_notice"));
        if g.chance(15) {
            return (m, story.records);
        }
        let t = after(&mut g, local_date(story.now), 10);
        story.push(t, RecordBody::CorrectionReceived);
    }
    // Acceptance, on time or late (5 working days is about a week), or never.
    match g.below(20) {
        0 => return (m, story.records),
        1 => {
            let t = after(&mut g, local_date(story.now), 8);
            story.push(
                t,
                RecordBody::Refusal {
                    reason: "out of scope".into(),
                    handler: "h".into(),
                },
            );
            return (m, story.records);
        }
        _ => {
            let t = after(&mut g, local_date(story.now), 12);
            story.push(t, support::plain("acceptance"));
        }
    }

    let mut step_open = false;
    for _ in 0..g.below(7) {
        let at = next_time(&mut g, &story, &m);
        match g.below(10) {
            0..=3 => {
                // A suspension; zero-day now and then; open only as the last event.
                let at_day = local_date(at);
                let length = match g.below(5) {
                    0 => 0,
                    1 => 1 + g.below(3),
                    _ => g.below(25),
                } as i64;
                let planned = on_day(&mut g, at_day + Duration::days(length));
                let planned = planned.max(at + Duration::minutes(30));
                story.push(
                    at,
                    RecordBody::SuspensionStarted {
                        kind: Some(SuspensionKind::ExpertReview),
                        reason: "expert review".into(),
                        planned_end: planned,
                        approver: "head".into(),
                    },
                );
                if g.chance(15) {
                    return (m, story.records);
                }
                let ended = after(&mut g, at_day, length as u64 + 4);
                story.push(ended, support::plain("suspension_ended"));
            }
            4..=6 => {
                let units = 1 + g.below(15) as u32;
                story.push(
                    at,
                    RecordBody::Extension {
                        working_days: units,
                        approver: "head".into(),
                        reason: "complex".into(),
                    },
                );
            }
            _ => {
                let body = if step_open {
                    RecordBody::StepCompleted {
                        step: "review".into(),
                        handler: "h".into(),
                        opinion: "ok".into(),
                    }
                } else {
                    RecordBody::StepStarted {
                        step: "review".into(),
                        handler: "h".into(),
                        opinion: String::new(),
                    }
                };
                step_open = !step_open;
                story.push(at, body);
            }
        }
    }
    // The end: a decision (on time, on the last day or late), then completion and a
    // certificate; a withdrawal; or still open.
    match g.below(10) {
        0..=5 => {
            let at = next_time(&mut g, &story, &m);
            let outcome = if g.chance(80) {
                Outcome::Approved
            } else {
                Outcome::Denied
            };
            story.push(
                at,
                RecordBody::Decision {
                    outcome,
                    reason: "reasons".into(),
                    handler: "h".into(),
                },
            );
            if g.chance(60) {
                let t = after(&mut g, local_date(story.now), 3);
                story.push(
                    t,
                    RecordBody::Completion {
                        result: "done".into(),
                        certificate_no: "C-1".into(),
                    },
                );
                if outcome == Outcome::Approved && g.chance(70) {
                    let t = after(&mut g, local_date(story.now), 20);
                    story.push(
                        t,
                        RecordBody::CertificateIssued {
                            certificate_no: "C-1".into(),
                            method: IssueMethod::Electronic,
                        },
                    );
                }
            }
        }
        6 => {
            let at = next_time(&mut g, &story, &m);
            story.push(
                at,
                RecordBody::Withdrawal {
                    reason: "moved".into(),
                },
            );
        }
        _ => {}
    }
    (m, story.records)
}

fn cases() -> u32 {
    std::env::var("EGOV_LAW_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every clock of every generated case agrees with the plain reference.
    #[test]
    fn clocks_agree_with_the_plain_reference(seed in any::<u64>()) {
        let (m, records) = generate(seed);
        let want = reference(&records, &m);
        let got = actual(&records, &m);
        prop_assert_eq!(
            &got, &want,
            "seed {}: matter {:?} promised {} statutory {} step {}\n{}",
            seed, m.kind, m.promised_limit, m.statutory_limit, m.step_limits[0].limit, tell(&records)
        );
    }
}

/// The generator makes the issue's shapes on purpose: over a fixed set of seeds, each appears
/// many times (a suspension starting on a limit's last day, one after it, an extension after a
/// limit passed, a calendar-day limit moved by Art. 203, a late acceptance).
#[test]
fn the_generator_makes_the_shapes_on_purpose() {
    let (mut on_last_day, mut after_due, mut late_extension, mut art_203, mut late_acceptance) =
        (0, 0, 0, 0, 0);
    for seed in 0..2_000u64 {
        let (m, records) = generate(seed);
        let case = Case::replay(&records.iter().collect::<Vec<_>>(), &m).unwrap();
        for c in clocks(&case, &m, &Calendar::china()) {
            on_last_day += case
                .suspensions
                .iter()
                .filter(|s| local_date(s.started_at) == c.deadline.last_day)
                .count();
            after_due += c.passed_events.iter().filter(|p| !p.extension).count();
            late_extension += c.passed_events.iter().filter(|p| p.extension).count();
            art_203 += usize::from(c.deadline.explanation.contains("Art. 203"));
            late_acceptance += usize::from(c.deadline.explanation.starts_with("deemed"));
        }
    }
    for (shape, n) in [
        ("suspension on a last day", on_last_day),
        ("suspension after the due", after_due),
        ("extension after the due", late_extension),
        ("Art. 203", art_203),
        ("late acceptance", late_acceptance),
    ] {
        assert!(n >= 50, "{shape}: only {n} in 2,000 cases");
    }
}
