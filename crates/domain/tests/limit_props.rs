//! Properties of the working-day arithmetic and of deadlines, over dates on both sides of the
//! bundled calendar's range (2004-2026): against a day-by-day reference model, and the
//! monotonicity a supervisor relies on (suspensions and extensions never bring a deadline
//! forward).

use std::sync::LazyLock;

use chrono::{FixedOffset, NaiveDate, TimeDelta};
use egov_domain::calendar::{Calendar, CalendarId};
use egov_domain::limit::{Deadline, DeadlineInput, Limit, LimitUnit, Suspension, deadline};
use proptest::prelude::*;

static CN: LazyLock<Calendar> = LazyLock::new(Calendar::china);

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2002, 1, 1).unwrap() + TimeDelta::days(offset)
}

/// A date from 2002 to 2028, so both edges of the known range are crossed.
fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..365 * 27).prop_map(day)
}

fn unit() -> impl Strategy<Value = LimitUnit> {
    prop_oneof![Just(LimitUnit::WorkingDays), Just(LimitUnit::CalendarDays)]
}

/// Suspensions near `start`: some before it, some overlapping, some empty.
fn suspensions_near(start: NaiveDate) -> impl Strategy<Value = Vec<Suspension>> {
    prop::collection::vec((-10i64..90, 0i64..30), 0..4).prop_map(move |v| {
        v.into_iter()
            .map(|(from, len)| Suspension {
                start: start + TimeDelta::days(from),
                end: start + TimeDelta::days(from + len),
            })
            .collect()
    })
}

/// A whole deadline problem.
fn problem() -> impl Strategy<Value = (NaiveDate, Limit, u32, Vec<Suspension>)> {
    (date(), 0u32..60, unit(), 0u32..16).prop_flat_map(|(start, amount, unit, extension)| {
        (
            Just(start),
            Just(Limit { amount, unit }),
            Just(extension),
            suspensions_near(start),
        )
    })
}

fn compute(start: NaiveDate, limit: Limit, extension: u32, suspensions: &[Suspension]) -> Deadline {
    deadline(
        &CN,
        &DeadlineInput {
            start,
            limit,
            extension,
            suspensions,
        },
    )
}

fn counts(limit: Limit, d: NaiveDate) -> bool {
    match limit.unit {
        LimitUnit::WorkingDays => CN.is_working_day(d),
        LimitUnit::CalendarDays => true,
    }
}

/// The day on which `n` units after `start` are used up, walking day by day; 0 units is the
/// start day itself when it is a unit day.
fn walk(start: NaiveDate, limit: Limit, n: u32) -> NaiveDate {
    let mut left = n;
    let mut d = start;
    while left > 0 {
        d = d.succ_opt().unwrap();
        if counts(limit, d) {
            left -= 1;
        }
    }
    d
}

/// Civil Code Art. 203 for calendar-day limits, one day at a time.
fn art_203(limit: Limit, mut d: NaiveDate) -> NaiveDate {
    if limit.unit == LimitUnit::CalendarDays {
        while !CN.is_working_day(d) {
            d = d.succ_opt().unwrap();
        }
    }
    d
}

/// The rules of docs/design.md §2 walked day by day (allowed in tests only), with `DeadlineInput`'s
/// order of events: the extension at the start, then the suspensions by start day, each
/// counting when it starts on or before the last day as it stands, and adding its units not
/// added before. Returns the last day, the units suspended and the day the count ends on
/// (before Art. 203).
fn reference(
    start: NaiveDate,
    limit: Limit,
    extension: u32,
    suspensions: &[Suspension],
) -> (NaiveDate, u32, NaiveDate) {
    // A working-day limit of 0 starting on a day off ends on the next working day: one unit.
    let mut units = if limit.amount == 0 && !counts(limit, start) {
        1
    } else {
        limit.amount
    };
    units += extension;
    let mut sorted = suspensions.to_vec();
    sorted.sort_by_key(|s| (s.start, s.end));
    let mut suspended_days = std::collections::BTreeSet::new();
    for s in sorted {
        let last = art_203(limit, walk(start, limit, units));
        if s.start > last {
            continue;
        }
        let mut d = s.start.max(start);
        while d < s.end {
            d = d.succ_opt().unwrap();
            if counts(limit, d) && suspended_days.insert(d) {
                units += 1;
            }
        }
    }
    let end = walk(start, limit, units);
    (art_203(limit, end), suspended_days.len() as u32, end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Adding n working days then counting them gives n back, and lands on a working day.
    #[test]
    fn adding_then_counting_round_trips(a in date(), n in 1u32..3000) {
        let b = CN.add_working_days(a, n);
        prop_assert_eq!(CN.working_days_between(a, b), n);
        prop_assert!(CN.is_working_day(b));
        // ... and it is the first such day: one day earlier falls one short.
        prop_assert_eq!(CN.working_days_between(a, b.pred_opt().unwrap()), n - 1);
    }

    #[test]
    fn add_working_days_lands_on_a_working_day(a in date(), n in 0u32..3000) {
        prop_assert!(CN.is_working_day(CN.add_working_days(a, n)));
    }

    /// The deadline agrees with the day-by-day reference, its suspended count is the number of
    /// distinct suspended units of the suspensions that counted, and it is due at local
    /// midnight.
    #[test]
    fn deadline_matches_the_reference((start, limit, ext, susp) in problem()) {
        let got = compute(start, limit, ext, &susp);
        let (last_day, suspended, end) = reference(start, limit, ext, &susp);
        prop_assert_eq!(got.last_day, last_day, "{}", got.explanation);
        prop_assert_eq!(got.suspended, suspended);
        prop_assert_eq!(got.due_at, CN.end_of_day(got.last_day));
        let (first, last) = CN.known_range();
        let provisional = match limit.unit {
            LimitUnit::WorkingDays => start < first || got.last_day > last,
            // Art. 203 asks whether the day the count ends on is a rest day.
            LimitUnit::CalendarDays => end < first || got.last_day > last,
        };
        prop_assert_eq!(got.provisional, provisional);
        let due_text = format!("-> due {} 24:00", got.last_day);
        prop_assert!(got.explanation.ends_with(&due_text), "{}", got.explanation);
    }

    #[test]
    fn a_suspension_never_brings_the_deadline_forward(
        (start, limit, ext, susp) in problem(),
        from in -10i64..90,
        len in 0i64..30,
    ) {
        let before = compute(start, limit, ext, &susp);
        let mut more = susp.clone();
        more.push(Suspension {
            start: start + TimeDelta::days(from),
            end: start + TimeDelta::days(from + len),
        });
        let after = compute(start, limit, ext, &more);
        prop_assert!(after.last_day >= before.last_day);
        prop_assert!(after.suspended >= before.suspended);
    }

    #[test]
    fn lengthening_a_suspension_never_brings_the_deadline_forward(
        (start, limit, ext, susp) in problem(),
        which in any::<prop::sample::Index>(),
        extra in 1i64..20,
    ) {
        prop_assume!(!susp.is_empty());
        let before = compute(start, limit, ext, &susp);
        let mut longer = susp.clone();
        longer[which.index(susp.len())].end += TimeDelta::days(extra);
        prop_assert!(compute(start, limit, ext, &longer).last_day >= before.last_day);
    }

    #[test]
    fn an_extension_never_brings_the_deadline_forward(
        (start, limit, ext, susp) in problem(),
        more in 1u32..16,
    ) {
        let before = compute(start, limit, ext, &susp);
        prop_assert!(compute(start, limit, ext + more, &susp).last_day >= before.last_day);
    }

    /// Not for a same-day limit (0 units) with suspensions: one received on a holiday is due on
    /// the first working day, and a suspension over that day moves it to the first working day
    /// after the suspension, while a case starting on the suspension's last day (a working day)
    /// is due that very day. Found by this property: 2023-10-01, 0 working days, 13 extended,
    /// suspended 10-01..10-13, due 11-02; the same started 10-13, due 11-01. Both are right.
    #[test]
    fn the_deadline_is_monotonic_in_the_start_and_the_limit(
        (start, limit, ext, susp) in problem(),
        later in 0i64..40,
        more in 0u32..40,
    ) {
        prop_assume!(limit.amount > 0 || susp.is_empty());
        let base = compute(start, limit, ext, &susp).last_day;
        let later_start = compute(start + TimeDelta::days(later), limit, ext, &susp).last_day;
        prop_assert!(later_start >= base);
        let bigger = Limit { amount: limit.amount + more, ..limit };
        prop_assert!(compute(start, bigger, ext, &susp).last_day >= base);
    }

    /// A suspension that begins after the last day (after the due instant) changes nothing.
    #[test]
    fn a_suspension_after_the_deadline_changes_nothing(
        (start, limit, ext, susp) in problem(),
        gap in 1i64..30,
        len in 0i64..30,
    ) {
        let before = compute(start, limit, ext, &susp);
        let mut more = susp.clone();
        let from = before.last_day + TimeDelta::days(gap);
        more.push(Suspension { start: from, end: from + TimeDelta::days(len) });
        let after = compute(start, limit, ext, &more);
        prop_assert_eq!(after.last_day, before.last_day);
        prop_assert_eq!(after.suspended, before.suspended);
        prop_assert!(after.explanation.contains(": not counted"), "{}", after.explanation);
    }

    /// A suspension that begins on the last day itself counts (docs/design.md §2: at 11:00 of the last
    /// day the limit still has 13 hours): its units are added after the last day.
    #[test]
    fn a_suspension_on_the_last_day_adds_its_units(
        (start, limit, ext, _) in problem(),
        len in 1i64..30,
    ) {
        let before = compute(start, limit, ext, &[]);
        let from = before.last_day;
        let to = from + TimeDelta::days(len);
        let after = compute(start, limit, ext, &[Suspension { start: from, end: to }]);
        let added = from.iter_days().skip(1).take_while(|d| *d <= to)
            .filter(|d| counts(limit, *d))
            .count() as u32;
        prop_assert_eq!(after.suspended, added, "{}", after.explanation);
        prop_assert!(after.last_day >= before.last_day);
        // A calendar-day limit moved past a rest by Art. 203 may absorb the added days: the
        // days are added to the count, which ends on the rest day (docs/design.md §2 "its last day").
        if added > 0 && limit.unit == LimitUnit::WorkingDays {
            prop_assert!(after.last_day > before.last_day, "{}", after.explanation);
        }
    }
}

// ---- Merging calendar files ----------------------------------------------------------------

const CSV: &str = include_str!("../data/cn-statutory-calendar.csv");

fn data_lines(years: std::ops::RangeInclusive<i32>) -> Vec<&'static str> {
    CSV.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| years.contains(&l[..4].parse::<i32>().unwrap()))
        .collect()
}

fn file(lines: &[&str]) -> String {
    format!("date,kind,name\n{}\n", lines.join("\n"))
}

fn load(text: &str) -> Calendar {
    Calendar::from_csv(
        CalendarId::parse("cn").unwrap(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
        text,
    )
    .unwrap()
}

proptest! {
    /// Loading years in two files, in either order, equals loading them in one.
    #[test]
    fn a_merged_calendar_equals_one_built_from_the_concatenated_file(
        (first, split, last) in (2004i32..=2025)
            .prop_flat_map(|first| (Just(first), first + 1..=2026))
            .prop_flat_map(|(first, split)| (Just(first), Just(split), split..=2026)),
        earlier_first in any::<bool>(),
    ) {
        let low = data_lines(first..=split - 1);
        let high = data_lines(split..=last);
        let (base, added) = if earlier_first { (&low, &high) } else { (&high, &low) };
        let mut merged = load(&file(base));
        merged.merge_csv(&file(added)).unwrap();

        let whole = load(&file(&[low.as_slice(), high.as_slice()].concat()));
        prop_assert_eq!(&merged, &whole);
        prop_assert_eq!(
            merged.known_range(),
            (
                NaiveDate::from_ymd_opt(first, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(last, 12, 31).unwrap()
            )
        );
    }
}
