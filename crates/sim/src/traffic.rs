//! The month's traffic: applications arriving at the city's departments in office hours on
//! working days (a Poisson number a day, busier on Mondays), each planned in full
//! ([`crate::plan`]), merged into one time-ordered list of records. A backlog of cases opened
//! in the working days before the start, still open at the start, is re-synced first: it
//! lets long limits (the statutory 20 working days, the certificate's 10) run out within the
//! simulated month.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use egov_domain::record::Record;
use rand::RngExt;

use crate::city::City;
use crate::plan::{CasePlan, plan_case};
use crate::worktime::{self, office_minute, working_days, working_days_before};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSpec {
    pub seed: u64,
    /// The first simulated day (from its local midnight).
    pub start: NaiveDate,
    /// Calendar days simulated.
    pub days: u32,
    /// Working days before `start` whose cases, still open at the start, are re-synced.
    pub backlog_working_days: u32,
}

/// Every record of the simulated period, in the order they happen.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// The cases that send anything in the period, in the order they were opened.
    pub cases: Vec<CasePlan>,
    /// (case index, record), ordered by `occurred_at` (ties by case, then by record).
    pub records: Vec<(usize, Record)>,
    /// Local midnight of the first simulated day.
    pub start: DateTime<Utc>,
    /// Local midnight after the last simulated day.
    pub end: DateTime<Utc>,
}

impl Traffic {
    pub fn generate(city: &City, spec: TrafficSpec) -> Traffic {
        let cal = &city.calendar;
        let start = worktime::at(cal, spec.start, 0);
        let end_day = spec.start + Days::new(u64::from(spec.days));
        let end = worktime::at(cal, end_day, 0);
        let first_day = working_days_before(cal, spec.start, spec.backlog_working_days);

        let mut cases = Vec::new();
        let mut serial: u64 = 0;
        for day in working_days(cal, first_day, end_day) {
            let mut rng = crate::rng_for(spec.seed, "arrivals", day.num_days_from_ce() as u64);
            let busy = match day.weekday() {
                Weekday::Mon => 1.2,
                Weekday::Fri => 0.9,
                Weekday::Sat | Weekday::Sun => 0.7,
                _ => 1.0,
            };
            // (minute, department, matter) of the day's applications.
            let mut arrivals = Vec::new();
            for (d, dept) in city.departments.iter().enumerate() {
                let n = poisson(&mut rng, dept.daily_applications * busy);
                let total: u32 = dept.matters.iter().map(|(_, w)| w).sum();
                for _ in 0..n {
                    let mut pick = rng.random_range(0..total);
                    let matter = dept
                        .matters
                        .iter()
                        .find(|(_, w)| {
                            if pick < *w {
                                true
                            } else {
                                pick -= w;
                                false
                            }
                        })
                        .map(|(m, _)| *m)
                        .expect("a matter by weight");
                    arrivals.push((office_minute(&mut rng), d, matter));
                }
            }
            arrivals.sort();
            for (seq, (minute, d, matter)) in arrivals.into_iter().enumerate() {
                let case_no = format!("HZ-{}-{:04}", day.format("%Y%m%d"), seq + 1);
                let received = worktime::at(cal, day, minute);
                let mut rng = crate::rng_for(spec.seed, "case", serial);
                serial += 1;
                let mut plan = plan_case(city, d, matter, &case_no, received, &mut rng);
                plan.records.retain(|r| r.occurred_at < end);
                // A backlog case already closed before the start is history, not traffic.
                if plan.records.iter().any(|r| r.occurred_at >= start) {
                    cases.push(plan);
                }
            }
        }
        let mut records: Vec<(usize, Record)> = cases
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.records.iter().map(move |r| (i, r.clone())))
            .collect();
        // Stable: ties keep case order, and a case's records their own order.
        records.sort_by_key(|(_, r)| r.occurred_at);
        Traffic {
            cases,
            records,
            start,
            end,
        }
    }
}

/// A Poisson-distributed count of mean `lambda` (Knuth's method: means here are small).
fn poisson(rng: &mut crate::Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let mut product: f64 = rng.random();
    let mut n = 0;
    while product > limit {
        product *= rng.random::<f64>();
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> TrafficSpec {
        TrafficSpec {
            seed,
            start: "2026-09-01".parse().unwrap(),
            days: 5,
            backlog_working_days: 10,
        }
    }

    #[test]
    fn records_come_in_time_order_within_the_period() {
        let city = City::build(6, 1);
        let t = Traffic::generate(&city, spec(1));
        assert!(!t.cases.is_empty());
        for w in t.records.windows(2) {
            assert!(w[0].1.occurred_at <= w[1].1.occurred_at);
        }
        assert!(t.records.iter().all(|(_, r)| r.occurred_at < t.end));
        // The backlog: cases opened before the start that send records after it.
        assert!(t.records.iter().any(|(_, r)| r.occurred_at < t.start));
    }

    #[test]
    fn the_same_seed_makes_the_same_traffic() {
        let city = City::build(6, 1);
        let a = Traffic::generate(&city, spec(9));
        let b = Traffic::generate(&city, spec(9));
        assert_eq!(a.records, b.records);
        let c = Traffic::generate(&city, spec(10));
        assert_ne!(a.records, c.records);
    }
}
