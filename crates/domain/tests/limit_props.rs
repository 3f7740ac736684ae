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

fn is_suspended(suspensions: &[Suspension], d: NaiveDate) -> bool {
    suspensions.iter().any(|s| s.start < d && d <= s.end)
}

/// The rules of docs/design.md §2 walked day by day (allowed in tests only): count the unsuspended
/// units after the start day until the limit is reached.
fn reference(
    start: NaiveDate,
    limit: Limit,
    extension: u32,
    suspensions: &[Suspension],
) -> NaiveDate {
    let counts = |d: NaiveDate| match limit.unit {
        LimitUnit::WorkingDays => CN.is_working_day(d),
        LimitUnit::CalendarDays => true,
    };
    let n = limit.amount + extension;
    if n == 0 && (limit.unit == LimitUnit::CalendarDays || CN.is_working_day(start)) {
        return start;
    }
    let mut left = n.max(1);
    let mut d = start;
    loop {
        d = d.succ_opt().unwrap();
        if counts(d) && !is_suspended(suspensions, d) {
            left -= 1;
            if left == 0 {
                return d;
            }
        }
    }
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
    /// distinct suspended units in the final period, and it is due at local midnight.
    #[test]
    fn deadline_matches_the_reference((start, limit, ext, susp) in problem()) {
        let got = compute(start, limit, ext, &susp);
        prop_assert_eq!(got.last_day, reference(start, limit, ext, &susp), "{}", got.explanation);

        let suspended_in_period = start
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= got.last_day)
            .filter(|d| is_suspended(&susp, *d))
            .filter(|d| limit.unit == LimitUnit::CalendarDays || CN.is_working_day(*d))
            .count() as u32;
        prop_assert_eq!(got.suspended, suspended_in_period);
        prop_assert_eq!(got.due_at, CN.end_of_day(got.last_day));
        let (first, last) = CN.known_range();
        prop_assert_eq!(
            got.provisional,
            limit.unit == LimitUnit::WorkingDays && (start < first || got.last_day > last)
        );
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

    #[test]
    fn the_deadline_is_monotonic_in_the_start_and_the_limit(
        (start, limit, ext, susp) in problem(),
        later in 0i64..40,
        more in 0u32..40,
    ) {
        let base = compute(start, limit, ext, &susp).last_day;
        let later_start = compute(start + TimeDelta::days(later), limit, ext, &susp).last_day;
        prop_assert!(later_start >= base);
        let bigger = Limit { amount: limit.amount + more, ..limit };
        prop_assert!(compute(start, bigger, ext, &susp).last_day >= base);
    }

    /// A suspension that begins on or after the last day covers no day of the period.
    #[test]
    fn a_suspension_after_the_deadline_changes_nothing(
        (start, limit, ext, susp) in problem(),
        gap in 0i64..30,
        len in 0i64..30,
    ) {
        let before = compute(start, limit, ext, &susp);
        let mut more = susp.clone();
        let from = before.last_day + TimeDelta::days(gap);
        more.push(Suspension { start: from, end: from + TimeDelta::days(len) });
        prop_assert_eq!(compute(start, limit, ext, &more), before);
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
