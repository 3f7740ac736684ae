//! Worked deadline cases around Spring Festival 2024 and National Day 2025, computed by hand from
//! `data/cn-statutory-calendar.csv` (each row's comment shows the count), one row per case.
//!
//! The days that matter:
//! - 2024: Sun 02-04 adjusted working day; Sat 02-10..Sat 02-17 Spring Festival off; Sun 02-18
//!   adjusted working day; Thu 04-04..Sat 04-06 Tomb-sweeping Day off; Sun 04-07 adjusted.
//! - 2025: Wed 01-01 New Year's Day; Sun 01-26 adjusted; Tue 01-28..Tue 02-04 Spring Festival off;
//!   Sun 09-28 adjusted; Wed 10-01..Wed 10-08 off (10-06 is Mid-autumn Festival, the rest National
//!   Day); Sat 10-11 adjusted.
//! - The calendar knows 2004-01-01..2026-12-31; beyond it, plain Monday-Friday, flagged.

use chrono::NaiveDate;
use egov_domain::calendar::Calendar;
use egov_domain::limit::{
    Deadline, DeadlineInput, Limit, Suspension, deadline, deadline_explained,
    remaining_working_days,
};

struct Case {
    /// The clock's start event, as the explanation names it.
    event: &'static str,
    start: &'static str,
    /// "20 wd" (working days) or "30 cd" (calendar days).
    limit: &'static str,
    /// Suspensions as (start, end): the days start < d <= end are not counted.
    suspensions: &'static [(&'static str, &'static str)],
    extension: u32,
    last_day: &'static str,
    suspended: u32,
    provisional: bool,
    explanation: &'static str,
}

const NONE: &[(&str, &str)] = &[];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ---- Spring Festival 2024 ----
    // The example of the design: 02-09 is day 1, 02-18 day 2, 02-19..23 days 3-7, 02-26..03-01
    // days 8-12, 03-04..08 days 13-17, 03-11..13 days 18-20; 02-20 and 02-21 suspended -> 03-15.
    Case { event: "accepted", start: "2024-02-08", limit: "20 wd", suspensions: &[("2024-02-19", "2024-02-21")], extension: 0,
           last_day: "2024-03-15", suspended: 2, provisional: false,
           explanation: "accepted 2024-02-08, 20 working days; Spring Festival days off 02-10..02-17 skipped, the adjusted working day 02-18 counted; 2 working days suspended -> due 2024-03-15 24:00" },
    // The same without the suspension: day 20 is 03-13.
    Case { event: "accepted", start: "2024-02-08", limit: "20 wd", suspensions: NONE, extension: 0,
           last_day: "2024-03-13", suspended: 0, provisional: false,
           explanation: "accepted 2024-02-08, 20 working days; Spring Festival days off 02-10..02-17 skipped, the adjusted working day 02-18 counted -> due 2024-03-13 24:00" },
    // Start on a day off (Mon 02-12): 02-18 is day 1, 02-19..22 days 2-5.
    Case { event: "accepted", start: "2024-02-12", limit: "5 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-22", suspended: 0, provisional: false,
           explanation: "accepted 2024-02-12, 5 working days; Spring Festival days off 02-13..02-17 skipped, the adjusted working day 02-18 counted -> due 2024-02-22 24:00" },
    // Start on the adjusted working day Sun 02-04 (not counted): 02-05..09 days 1-5, 02-18 day 6,
    // 02-19..22 days 7-10.
    Case { event: "accepted", start: "2024-02-04", limit: "10 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-22", suspended: 0, provisional: false,
           explanation: "accepted 2024-02-04, 10 working days; Spring Festival days off 02-10..02-17 skipped, the adjusted working day 02-18 counted -> due 2024-02-22 24:00" },
    // A limit ending exactly on the adjusted Sunday 02-18: 02-04 day 1, 02-05..09 days 2-6, 02-18 day 7.
    Case { event: "received", start: "2024-02-02", limit: "7 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-18", suspended: 0, provisional: false,
           explanation: "received 2024-02-02, 7 working days; Spring Festival days off 02-10..02-17 skipped, the adjusted working days 02-04, 02-18 counted -> due 2024-02-18 24:00" },
    // The 5-working-day acceptance decision (ALL Art. 32): 02-08, 02-09, 02-18, 02-19, 02-20.
    Case { event: "received", start: "2024-02-07", limit: "5 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-20", suspended: 0, provisional: false,
           explanation: "received 2024-02-07, 5 working days; Spring Festival days off 02-10..02-17 skipped, the adjusted working day 02-18 counted -> due 2024-02-20 24:00" },
    // ---- National Day 2025 ----
    // 09-28 day 1, 09-29 day 2, 09-30 day 3, 10-01..08 off, 10-09 day 4, 10-10 day 5.
    Case { event: "accepted", start: "2025-09-26", limit: "5 wd", suspensions: NONE, extension: 0,
           last_day: "2025-10-10", suspended: 0, provisional: false,
           explanation: "accepted 2025-09-26, 5 working days; National Day days off 10-01..10-05 skipped, Mid-autumn Festival day off 10-06 skipped, National Day days off 10-07..10-08 skipped, the adjusted working day 09-28 counted -> due 2025-10-10 24:00" },
    // 10-09 day 1, 10-10 day 2, Sat 10-11 day 3, 10-13..17 days 4-8, 10-20..24 days 9-13,
    // 10-27..31 days 14-18, 11-03 day 19, 11-04 day 20.
    Case { event: "accepted", start: "2025-09-30", limit: "20 wd", suspensions: NONE, extension: 0,
           last_day: "2025-11-04", suspended: 0, provisional: false,
           explanation: "accepted 2025-09-30, 20 working days; National Day days off 10-01..10-05 skipped, Mid-autumn Festival day off 10-06 skipped, National Day days off 10-07..10-08 skipped, the adjusted working day 10-11 counted -> due 2025-11-04 24:00" },
    // The certificate clock (ALL Art. 44): 09-30 day 1, 10-09 day 2, 10-10 day 3, 10-11 day 4,
    // 10-13..17 days 5-9, 10-20 day 10.
    Case { event: "approved", start: "2025-09-29", limit: "10 wd", suspensions: NONE, extension: 0,
           last_day: "2025-10-20", suspended: 0, provisional: false,
           explanation: "approved 2025-09-29, 10 working days; National Day days off 10-01..10-05 skipped, Mid-autumn Festival day off 10-06 skipped, National Day days off 10-07..10-08 skipped, the adjusted working day 10-11 counted -> due 2025-10-20 24:00" },
    // ---- Calendar days: holidays matter only for the last day (Civil Code Art. 203) ----
    // 02-08 + 30 days, February 2024 having 29: Saturday 03-09, a rest day, so Monday 03-11.
    Case { event: "accepted", start: "2024-02-08", limit: "30 cd", suspensions: NONE, extension: 0,
           last_day: "2024-03-11", suspended: 0, provisional: false,
           explanation: "accepted 2024-02-08, 30 calendar days; the last day 2024-03-09 is a rest day: moved to 2024-03-11 (Civil Code Art. 203) -> due 2024-03-11 24:00" },
    // 01-31 + 10 days = 02-10, Spring Festival: the first working day after the rest is the
    // adjusted Sunday 02-18.
    Case { event: "accepted", start: "2024-01-31", limit: "10 cd", suspensions: NONE, extension: 0,
           last_day: "2024-02-18", suspended: 0, provisional: false,
           explanation: "accepted 2024-01-31, 10 calendar days; the last day 2024-02-10 is a rest day: moved to 2024-02-18 (Civil Code Art. 203) -> due 2024-02-18 24:00" },
    // Only the last day matters: 09-25 + 10 = 10-05, inside National Day (10-01..10-08), so
    // Thursday 10-09, the first working day after the rest.
    Case { event: "accepted", start: "2025-09-25", limit: "10 cd", suspensions: NONE, extension: 0,
           last_day: "2025-10-09", suspended: 0, provisional: false,
           explanation: "accepted 2025-09-25, 10 calendar days; the last day 2025-10-05 is a rest day: moved to 2025-10-09 (Civil Code Art. 203) -> due 2025-10-09 24:00" },
    // 02-11, 02-12, 02-13 suspended: three calendar days more.
    Case { event: "accepted", start: "2024-02-08", limit: "30 cd", suspensions: &[("2024-02-10", "2024-02-13")], extension: 0,
           last_day: "2024-03-12", suspended: 3, provisional: false,
           explanation: "accepted 2024-02-08, 30 calendar days; 3 calendar days suspended -> due 2024-03-12 24:00" },
    // Past the known range a calendar-day limit is provisional too: whether its last day is a
    // rest day (Art. 203) is not known yet.
    Case { event: "accepted", start: "2026-12-20", limit: "30 cd", suspensions: NONE, extension: 0,
           last_day: "2027-01-19", suspended: 0, provisional: true,
           explanation: "accepted 2026-12-20, 30 calendar days; provisional: 2027-01-19 is beyond the calendar's known range (to 2026-12-31) -> due 2027-01-19 24:00" },
    // Issue 10 item 1 on the limit alone: 2 working days from 03-04 end 03-06; a suspension
    // starting on 03-06 itself counts and adds 03-07 and 03-08.
    Case { event: "accepted", start: "2024-03-04", limit: "2 wd", suspensions: &[("2024-03-06", "2024-03-08")], extension: 0,
           last_day: "2024-03-08", suspended: 2, provisional: false,
           explanation: "accepted 2024-03-04, 2 working days; 2 working days suspended -> due 2024-03-08 24:00" },
    // One starting the day after the last day does not count.
    Case { event: "accepted", start: "2024-03-04", limit: "2 wd", suspensions: &[("2024-03-07", "2024-03-08")], extension: 0,
           last_day: "2024-03-06", suspended: 0, provisional: false,
           explanation: "accepted 2024-03-04, 2 working days; suspension of 2024-03-07 came after the limit passed on 2024-03-06 24:00: not counted -> due 2024-03-06 24:00" },
    // ---- Amount 0: immediate items, due the same working day ----
    Case { event: "received", start: "2024-02-08", limit: "0 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-08", suspended: 0, provisional: false,
           explanation: "received 2024-02-08, 0 working days -> due 2024-02-08 24:00" },
    // Received on a day off: due the next working day, the adjusted Sunday.
    Case { event: "received", start: "2024-02-10", limit: "0 wd", suspensions: NONE, extension: 0,
           last_day: "2024-02-18", suspended: 0, provisional: false,
           explanation: "received 2024-02-10, 0 working days; Spring Festival days off 02-11..02-17 skipped, the adjusted working day 02-18 counted -> due 2024-02-18 24:00" },
    // Received on an adjusted Saturday: that is a working day.
    Case { event: "received", start: "2025-10-11", limit: "0 wd", suspensions: NONE, extension: 0,
           last_day: "2025-10-11", suspended: 0, provisional: false,
           explanation: "received 2025-10-11, 0 working days -> due 2025-10-11 24:00" },
    // ---- Suspensions and extensions ----
    // Two overlapping suspensions, (03-05, 03-08] and (03-07, 03-12]: together 03-06, 07, 08, 11,
    // 12 = 5 working days. Counting the rest: 03-04, 05 days 1-2, 03-13..15 days 3-5, 03-18..22
    // days 6-10, 03-25..29 days 11-15, 04-01..03 days 16-18, 04-04..06 off, Sun 04-07 day 19,
    // 04-08 day 20. The suspension pushed the limit across Tomb-sweeping Day.
    Case { event: "accepted", start: "2024-03-01", limit: "20 wd", suspensions: &[("2024-03-07", "2024-03-12"), ("2024-03-05", "2024-03-08")], extension: 0,
           last_day: "2024-04-08", suspended: 5, provisional: false,
           explanation: "accepted 2024-03-01, 20 working days; Tomb-sweeping Day days off 04-04..04-06 skipped, the adjusted working day 04-07 counted; 5 working days suspended -> due 2024-04-08 24:00" },
    // 20 days end on 03-29; the extension (ALL Art. 42) adds 04-01..03, 04-07, 04-08..12, 04-15.
    Case { event: "accepted", start: "2024-03-01", limit: "20 wd", suspensions: NONE, extension: 10,
           last_day: "2024-04-15", suspended: 0, provisional: false,
           explanation: "accepted 2024-03-01, 20 working days; Tomb-sweeping Day days off 04-04..04-06 skipped, the adjusted working day 04-07 counted; extended by 10 working days -> due 2024-04-15 24:00" },
    // A suspension that ended before the clock started changes nothing.
    Case { event: "accepted", start: "2024-03-01", limit: "20 wd", suspensions: &[("2024-02-20", "2024-03-01")], extension: 0,
           last_day: "2024-03-29", suspended: 0, provisional: false,
           explanation: "accepted 2024-03-01, 20 working days -> due 2024-03-29 24:00" },
    // ---- Across a year boundary: dates carry the year ----
    // 01-02, 03 days 1-2, 01-06..10 days 3-7, 01-13..17 days 8-12, 01-20..24 days 13-17,
    // Sun 01-26 day 18, 01-27 day 19, 01-28..02-04 off, 02-05 day 20.
    Case { event: "accepted", start: "2024-12-31", limit: "20 wd", suspensions: NONE, extension: 0,
           last_day: "2025-02-05", suspended: 0, provisional: false,
           explanation: "accepted 2024-12-31, 20 working days; New Year's Day day off 2025-01-01 skipped, Spring Festival days off 2025-01-28..2025-02-04 skipped, the adjusted working day 2025-01-26 counted -> due 2025-02-05 24:00" },
    // ---- Outside the known range: provisional ----
    // Tue 2026-12-01: December has 22 more working days (12-02..31); 2027 is plain Monday-Friday:
    // Fri 01-01 day 23, then five a week to 01-29 day 43, 02-01 day 44, 02-02 day 45.
    Case { event: "accepted", start: "2026-12-01", limit: "45 wd", suspensions: NONE, extension: 0,
           last_day: "2027-02-02", suspended: 0, provisional: true,
           explanation: "accepted 2026-12-01, 45 working days; provisional: 2027-02-02 is beyond the calendar's known range (to 2026-12-31) -> due 2027-02-02 24:00" },
    // Far past the range, still exact arithmetic: Mon 2040-01-02, 20 weekdays later is 01-30.
    Case { event: "accepted", start: "2040-01-02", limit: "20 wd", suspensions: NONE, extension: 0,
           last_day: "2040-01-30", suspended: 0, provisional: true,
           explanation: "accepted 2040-01-02, 20 working days; provisional: 2040-01-30 is beyond the calendar's known range (to 2026-12-31) -> due 2040-01-30 24:00" },
    // Before 2004: Wed 2003-12-24; 12-25, 26, 29, 30, 31 days 1-5; 2004-01-01 off; 01-02 day 6,
    // 01-05..08 days 7-10.
    Case { event: "accepted", start: "2003-12-24", limit: "10 wd", suspensions: NONE, extension: 0,
           last_day: "2004-01-08", suspended: 0, provisional: true,
           explanation: "accepted 2003-12-24, 10 working days; New Year's Day day off 2004-01-01 skipped; provisional: 2003-12-24 is before the calendar's known range (from 2004-01-01) -> due 2004-01-08 24:00" },
];

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn limit(text: &str) -> Limit {
    let (amount, unit) = text.split_once(' ').unwrap();
    let amount = amount.parse().unwrap();
    match unit {
        "wd" => Limit::working_days(amount),
        "cd" => Limit::calendar_days(amount),
        _ => panic!("unknown unit in {text:?}"),
    }
}

fn compute(cal: &Calendar, case: &Case) -> Deadline {
    let suspensions: Vec<Suspension> = case
        .suspensions
        .iter()
        .map(|&(start, end)| Suspension {
            start: d(start),
            end: d(end),
        })
        .collect();
    let input = DeadlineInput {
        start: d(case.start),
        limit: limit(case.limit),
        extension: case.extension,
        suspensions: &suspensions,
    };
    deadline_explained(cal, &input, case.event)
}

#[test]
fn worked_cases() {
    let cal = Calendar::china();
    let mut failures = Vec::new();
    for case in CASES {
        let got = compute(&cal, case);
        let row = format!("{} {} {}", case.event, case.start, case.limit);
        if got.last_day != d(case.last_day)
            || got.suspended != case.suspended
            || got.provisional != case.provisional
            || got.explanation != case.explanation
        {
            failures.push(format!(
                "{row}:\n  expected {} suspended={} provisional={}\n    {}\n  got      {} suspended={} provisional={}\n    {}",
                case.last_day,
                case.suspended,
                case.provisional,
                case.explanation,
                got.last_day,
                got.suspended,
                got.provisional,
                got.explanation
            ));
        }
        assert_eq!(got.due_at, cal.end_of_day(got.last_day), "{row}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn due_at_is_midnight_in_beijing() {
    let cal = Calendar::china();
    let got = compute(&cal, &CASES[0]);
    // 24:00 on 15 March at UTC+08:00 is 16:00 UTC.
    assert_eq!(got.due_at.to_rfc3339(), "2024-03-15T16:00:00+00:00");
}

#[test]
fn the_default_label_is_neutral() {
    let cal = Calendar::china();
    let input = DeadlineInput {
        start: d("2024-02-08"),
        limit: Limit::working_days(1),
        extension: 0,
        suspensions: &[],
    };
    assert_eq!(
        deadline(&cal, &input).explanation,
        "started 2024-02-08, 1 working day -> due 2024-02-09 24:00"
    );
}

#[test]
fn remaining_working_days_counts_after_today() {
    let cal = Calendar::china();
    let due = compute(&cal, &CASES[1]); // last day 2024-03-13
    // On 02-08 all 20 remain; during the holiday 19 do (02-18, then 02-19..03-13).
    assert_eq!(remaining_working_days(&cal, d("2024-02-08"), &due), 20);
    assert_eq!(remaining_working_days(&cal, d("2024-02-12"), &due), 19);
    assert_eq!(remaining_working_days(&cal, d("2024-03-12"), &due), 1);
    assert_eq!(remaining_working_days(&cal, d("2024-03-13"), &due), 0);
    assert_eq!(remaining_working_days(&cal, d("2024-04-01"), &due), 0);
}
