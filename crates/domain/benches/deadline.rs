//! The cost of one deadline computation (crate `limit`) and of the calendar lookups under it.
//!
//! Supervision recomputes every running clock of every case whenever a record arrives, so a
//! deadline must cost microseconds at most, whatever its dates: inside the known range, or years
//! beyond it (provisional), with or without suspensions.

use std::hint::black_box;

use chrono::{FixedOffset, NaiveDate};
use criterion::{Criterion, criterion_group, criterion_main};
use egov_domain::calendar::{Calendar, CalendarId};
use egov_domain::limit::{DeadlineInput, Limit, Suspension, deadline_explained};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn deadlines(c: &mut Criterion) {
    let cal = Calendar::china();
    // Joint handling (ALL Art. 42: 45 working days) across National Day 2025, with an expert
    // review and a hearing suspended (ALL Art. 45).
    let suspensions = [
        Suspension {
            start: d("2025-09-10"),
            end: d("2025-09-19"),
        },
        Suspension {
            start: d("2025-10-20"),
            end: d("2025-11-07"),
        },
    ];
    let joint = DeadlineInput {
        start: d("2025-09-01"),
        limit: Limit::working_days(45),
        extension: 0,
        suspensions: &suspensions,
    };
    let far_suspensions = [
        Suspension {
            start: d("2041-03-10"),
            end: d("2041-03-19"),
        },
        Suspension {
            start: d("2041-04-20"),
            end: d("2041-05-07"),
        },
    ];
    let provisional = DeadlineInput {
        start: d("2041-03-01"),
        suspensions: &far_suspensions,
        ..joint
    };
    let plain = DeadlineInput {
        start: d("2024-02-08"),
        limit: Limit::working_days(20),
        extension: 0,
        suspensions: &[],
    };

    let mut group = c.benchmark_group("deadline");
    group.bench_function("45 working days, two suspensions", |b| {
        b.iter(|| deadline_explained(&cal, black_box(&joint), "accepted"))
    });
    group.bench_function(
        "45 working days, two suspensions, 2041 (provisional)",
        |b| b.iter(|| deadline_explained(&cal, black_box(&provisional), "accepted")),
    );
    group.bench_function("20 working days, plain", |b| {
        b.iter(|| deadline_explained(&cal, black_box(&plain), "accepted"))
    });
    group.finish();

    let (from, to) = (d("2005-03-01"), d("2025-09-30"));
    let mut group = c.benchmark_group("calendar");
    group.bench_function("working_days_between over 20 years", |b| {
        b.iter(|| cal.working_days_between(black_box(from), black_box(to)))
    });
    group.bench_function("add_working_days 45", |b| {
        b.iter(|| cal.add_working_days(black_box(to), black_box(45)))
    });
    group.bench_function("load the bundled CSV", |b| {
        let id = CalendarId::parse("cn").unwrap();
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let text = include_str!("../data/cn-statutory-calendar.csv");
        b.iter(|| Calendar::from_csv(id.clone(), offset, black_box(text)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, deadlines);
criterion_main!(benches);
