//! One case's life, planned in full when its application arrives: every record the service
//! centre and the department will send, with the time it happens. The department's
//! [`Behaviour`] decides how fast and how carefully it is handled, so that across a city
//! every supervision rule of docs/design.md §3 is broken now and then:
//!
//! | rule | how the simulated handlers break it |
//! |---|---|
//! | approaching deadline | a case still open two working days before its promised deadline |
//! | promised limit passed | a slow decision, or an immediate matter decided the next day |
//! | statutory limit passed | a case left undecided past the statutory limit ("stuck") |
//! | acceptance overdue | an acceptance decision after 5 working days |
//! | step overdue | a review (or approval) step longer than the matter's limit for it |
//! | repeated correction | a second correction notice |
//! | missing reasons | a refusal or a denial with an empty reason |
//! | suspension abuse | no kind or reason, a kind the matter does not allow, a third one, or an overrun |
//! | extension abuse | more days than the law allows, or no approver |
//! | irregular fee | a fee item off the catalogue, or above the catalogue's amount |
//! | procedure anomaly | an acceptance promising another day than the promised limit, or a completion sent before its decision |
//! | certificate overdue | the certificate more than 10 working days after the approval, or never |
//!
//! The plan is a pure function of the case's seed; the records are domain values, converted to
//! the wire by the caller.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::ids::{CaseNo, EventId, RegionCode};
use egov_domain::limit::{DeadlineInput, LimitUnit, deadline};
use egov_domain::matter::{Matter, MatterKind};
use egov_domain::money::Fen;
use egov_domain::record::{
    Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, SuspensionKind,
};
use rand::RngExt;

use crate::Rng;
use crate::city::{Behaviour, City, Department, Profile};
use crate::worktime::{self, add_working_days, office_minute, office_minute_after};

mod handling;

/// Every record of one case, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePlan {
    pub case_no: String,
    /// Index into [`City::departments`].
    pub department: usize,
    pub records: Vec<Record>,
}

/// Why a refusal or a denial was given (when the handler gives one).
const REFUSALS: [&str; 4] = [
    "the application is outside this department's competence",
    "the premises are in a zone where the activity is not permitted",
    "the applicant does not hold the required qualification",
    "the same application was decided within the last six months",
];
const DENIALS: [&str; 4] = [
    "the site inspection found the safety conditions unmet",
    "the expert review found the plan inconsistent with the zoning",
    "the test report does not meet the national standard",
    "the applicant's staff lack the required certificates",
];
const MATERIALS: [&str; 6] = [
    "floor plan",
    "fire safety certificate",
    "lease contract",
    "staff health certificates",
    "equipment inventory",
    "environmental commitment letter",
];
const SUSPENSION_REASONS: [&str; 4] = [
    "samples sent to the provincial testing centre",
    "the neighbours asked for a hearing",
    "expert panel convened on the technical plan",
    "site appraisal by a qualified agency",
];

/// Plans the case `case_no` of matter `matter` in `department`, received at `received`.
pub fn plan_case(
    city: &City,
    department: usize,
    matter: usize,
    case_no: &str,
    received: DateTime<Utc>,
    rng: &mut Rng,
) -> CasePlan {
    let dept = &city.departments[department];
    let m = &city.matters[matter];
    let mut p = Planner {
        cal: &city.calendar,
        dept,
        matter: m,
        b: dept.profile.behaviour(),
        case_no: CaseNo::parse(case_no).expect("a valid case number"),
        source: format!("window-system:{}", dept.code),
        records: Vec::new(),
        last: received,
        rng,
    };
    p.run(received);
    CasePlan {
        case_no: case_no.to_owned(),
        department,
        records: p.records,
    }
}

struct Planner<'a> {
    cal: &'a Calendar,
    dept: &'a Department,
    matter: &'a Matter,
    b: Behaviour,
    case_no: CaseNo,
    source: String,
    records: Vec<Record>,
    /// The time of the latest record planned: every next one comes strictly later.
    last: DateTime<Utc>,
    rng: &'a mut Rng,
}

impl Planner<'_> {
    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random_bool(p.min(1.0))
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.rng.random_range(0..items.len())]
    }

    fn range(&mut self, (lo, hi): (u32, u32)) -> u32 {
        self.rng.random_range(lo..=hi.max(lo))
    }

    fn clerk(&mut self) -> String {
        format!("{}/clerk-{}", self.dept.code, self.rng.random_range(1..=6))
    }

    fn officer(&mut self) -> String {
        format!(
            "{}/officer-{}",
            self.dept.code,
            self.rng.random_range(1..=4)
        )
    }

    fn head(&self) -> String {
        format!("{}/head", self.dept.code)
    }

    fn push(&mut self, at: DateTime<Utc>, body: RecordBody) {
        debug_assert!(
            self.records.is_empty() || at > self.last,
            "records of a case come in time order"
        );
        self.last = at;
        let n = self.records.len() + 1;
        self.records.push(Record {
            event_id: EventId::parse(format!("{}-{n}", self.case_no)).expect("a valid event id"),
            case_no: self.case_no.clone(),
            occurred_at: at,
            source: self.source.clone(),
            body,
        });
    }

    fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        self.cal.local_date(t)
    }

    /// A time on `day` after the latest record (a few minutes after it, past office hours,
    /// when the day's office hours are over).
    fn on(&mut self, day: NaiveDate) -> DateTime<Utc> {
        let day = day.max(self.day_of(self.last));
        let t = if day == self.day_of(self.last) {
            let local = self.last.with_timezone(&self.cal.utc_offset()).time();
            let minute = (local.signed_duration_since(chrono::NaiveTime::MIN)).num_minutes() as u32;
            match office_minute_after(self.rng, minute + 1) {
                Some(m) => worktime::at(self.cal, day, m),
                None => self.last + Duration::minutes(self.rng.random_range(1..=10)),
            }
        } else {
            worktime::at(self.cal, day, office_minute(self.rng))
        };
        t.max(self.last + Duration::minutes(1))
    }

    /// A few minutes after the latest record.
    fn soon(&mut self, lo: i64, hi: i64) -> DateTime<Utc> {
        self.last + Duration::minutes(self.rng.random_range(lo..=hi))
    }

    fn run(&mut self, received: DateTime<Utc>) {
        let channel = match self.rng.random_range(0..20) {
            0..10 => Channel::Window,
            10..19 => Channel::Online,
            _ => Channel::Mail,
        };
        let applicant_ref = format!("P-{:08x}", self.rng.random::<u32>());
        self.push(
            received,
            RecordBody::Application(Application {
                matter_code: self.matter.code.clone(),
                department: self.matter.department.clone(),
                region: RegionCode::parse(self.dept.region.clone()).expect("a valid region"),
                applicant_ref,
                channel,
            }),
        );
        if self.matter.kind == MatterKind::Immediate {
            self.immediate();
            return;
        }
        let Some(accepted) = self.acceptance(received) else {
            return;
        };
        self.handling(accepted);
    }

    /// An immediate matter (即办件): accepted, decided and completed on the spot, or now and
    /// then the next working day (the same-day limit passed).
    fn immediate(&mut self) {
        let clerk = self.clerk();
        let at = self.soon(3, 20);
        self.push(
            at,
            RecordBody::Acceptance {
                handler: clerk.clone(),
                promised_due_at: None,
            },
        );
        self.fees(false);
        let late = self.roll(self.b.late_immediate);
        let at = if late {
            let day = add_working_days(self.cal, self.day_of(self.last), 1);
            self.on(day)
        } else {
            self.soon(5, 40)
        };
        self.push(
            at,
            RecordBody::Decision {
                outcome: Outcome::Approved,
                reason: String::new(),
                handler: clerk,
            },
        );
        let certificate_no = format!("CERT-{}", self.case_no);
        let at = self.soon(1, 10);
        self.push(
            at,
            RecordBody::Completion {
                result: "registered".into(),
                certificate_no: certificate_no.clone(),
            },
        );
        let at = self.soon(1, 5);
        self.push(
            at,
            RecordBody::CertificateIssued {
                certificate_no,
                method: IssueMethod::Electronic,
            },
        );
        self.rating();
    }

    /// The acceptance decision (ALL Art. 32): correction notices, a refusal, or acceptance,
    /// with the time it was accepted.
    fn acceptance(&mut self, received: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut base = self.day_of(received);
        if self.roll(self.b.correction) {
            let notices = if self.roll(self.b.second_correction) {
                2
            } else {
                1
            };
            for _ in 0..notices {
                let k = self.rng.random_range(0..=1);
                let day = add_working_days(self.cal, self.day_of(self.last), k);
                let at = self.on(day);
                let n = self.rng.random_range(1..=3);
                let mut materials: Vec<String> = Vec::new();
                while materials.len() < n {
                    let m = self.pick(&MATERIALS).to_owned();
                    if !materials.contains(&m) {
                        materials.push(m);
                    }
                }
                let handler = self.clerk();
                self.push(at, RecordBody::CorrectionNotice { materials, handler });
                let k = self.rng.random_range(1..=4);
                let day = add_working_days(self.cal, self.day_of(self.last), k);
                let at = self.on(day);
                self.push(at, RecordBody::CorrectionReceived);
                base = self.day_of(at);
            }
        }
        let late = self.roll(self.b.late_acceptance);
        let delay = if late {
            self.rng.random_range(6..=8)
        } else {
            self.range(self.b.accept_days)
        };
        let day = add_working_days(self.cal, base, delay);
        if self.roll(self.b.refusal) {
            let at = self.on(day);
            let reason = if self.roll(self.b.unexplained) {
                String::new()
            } else {
                self.pick(&REFUSALS).to_owned()
            };
            let handler = self.clerk();
            self.push(at, RecordBody::Refusal { reason, handler });
            self.rating();
            return None;
        }
        let at = self.on(day);
        let promised_due_at = self.promise(at, late);
        let handler = self.clerk();
        self.push(
            at,
            RecordBody::Acceptance {
                handler,
                promised_due_at,
            },
        );
        self.fees(true);
        Some(at)
    }

    /// What the sender's system tells the applicant the decision is due: the right day, a
    /// wrong one (its own computation forgot a holiday), or nothing.
    fn promise(&mut self, accepted: DateTime<Utc>, late: bool) -> Option<DateTime<Utc>> {
        let right = deadline(
            self.cal,
            &DeadlineInput {
                start: self.day_of(accepted),
                limit: self.matter.promised_limit,
                extension: 0,
                suspensions: &[],
            },
        );
        if self.roll(self.b.wrong_promise) {
            let wrong = add_working_days(self.cal, right.last_day, 1);
            return Some(self.cal.end_of_day(wrong));
        }
        // A late acceptance counts from receipt (ALL Art. 32); such senders say nothing.
        let careful = matches!(self.dept.profile, Profile::Fast | Profile::Steady);
        (careful && !late && self.roll(0.5)).then_some(right.due_at)
    }

    /// The matter's fees, charged after acceptance; a careless cashier charges an item off
    /// the catalogue or more than its maximum.
    fn fees(&mut self, paid_later: bool) {
        let items = self.matter.fee_items.clone();
        let irregular = self.roll(self.b.irregular_fee);
        if items.is_empty() && !irregular {
            return;
        }
        let at = if paid_later {
            self.soon(10, 90)
        } else {
            self.soon(1, 5)
        };
        let receipt_no = format!("R-{}", self.case_no);
        if irregular && (items.is_empty() || self.rng.random_bool(0.5)) {
            let amount = 100 * self.rng.random_range(20..=200);
            self.push(
                at,
                RecordBody::Fee {
                    fee_item: "expedite".into(),
                    amount_fen: Fen::new(amount).expect("a valid amount"),
                    receipt_no,
                },
            );
            return;
        }
        for (i, item) in items.iter().enumerate() {
            let amount = if irregular && i == 0 {
                item.max.get() + item.max.get() * self.rng.random_range(20..=50) / 100
            } else {
                item.max.get()
            };
            let at = if i == 0 { at } else { self.soon(1, 3) };
            self.push(
                at,
                RecordBody::Fee {
                    fee_item: item.fee_item.clone(),
                    amount_fen: Fen::new(amount).expect("a valid amount"),
                    receipt_no: format!("{receipt_no}-{}", i + 1),
                },
            );
        }
    }

    /// The day the department decides, `share` of the promised limit after acceptance.
    fn decision_day(&mut self, accepted: NaiveDate, stuck: bool) -> NaiveDate {
        let (limit, share) = if stuck {
            (
                self.matter.statutory_limit,
                1.0 + f64::from(self.rng.random_range(15..=40)) / 100.0,
            )
        } else {
            let (lo, hi) = self.b.speed;
            (
                self.matter.promised_limit,
                lo + (hi - lo) * self.rng.random::<f64>(),
            )
        };
        let amount = ((f64::from(limit.amount) * share).round() as u32).max(1);
        match limit.unit {
            LimitUnit::WorkingDays => add_working_days(self.cal, accepted, amount),
            LimitUnit::CalendarDays => {
                worktime::on_or_after(self.cal, accepted + chrono::Days::new(u64::from(amount)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use egov_domain::case::Case;
    use rand::SeedableRng;

    use super::*;

    /// Every planned case replays through the domain's state machine, except the completions
    /// deliberately sent before their decision.
    #[test]
    fn planned_cases_follow_the_procedure() {
        let city = City::build(20, 3);
        let cal = &city.calendar;
        let mut out_of_order = 0;
        let mut cases = 0;
        for (d, dept) in city.departments.iter().enumerate() {
            for &(m, _) in &dept.matters {
                for n in 0..40 {
                    let mut rng = Rng::seed_from_u64(n * 1000 + d as u64);
                    let day = worktime::on_or_after(cal, "2026-09-01".parse().unwrap());
                    let received = worktime::at(cal, day, 9 * 60 + n as u32);
                    let plan =
                        plan_case(&city, d, m, &format!("C-{d}-{m}-{n}"), received, &mut rng);
                    let matter = &city.matters[m];
                    let mut case = Case::open(&plan.records[0], matter).expect("opens");
                    for r in &plan.records[1..] {
                        assert!(r.occurred_at > plan.records[0].occurred_at);
                        if let Err(e) = case.apply(r) {
                            assert!(
                                matches!(
                                    e,
                                    egov_domain::case::TransitionError::CompletionWithoutDecision
                                ),
                                "{}: {e} at {:?}",
                                plan.case_no,
                                r
                            );
                            out_of_order += 1;
                        }
                    }
                    for w in plan.records.windows(2) {
                        assert!(w[0].occurred_at < w[1].occurred_at, "{}", plan.case_no);
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases > 1000);
        assert!(
            out_of_order > 0,
            "some completions come before their decision"
        );
    }
}
