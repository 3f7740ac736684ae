//! The bundled calendar against its data, day by day, and the calendar file format's errors.
//!
//! The expected status of each day is rebuilt here from the CSV text and the Monday-Friday rule,
//! independently of `Calendar`'s own parser and prefix sums, so a bug in either shows up as a
//! named date.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, FixedOffset, NaiveDate, Weekday};
use egov_domain::calendar::{Calendar, CalendarDay, CalendarError, CalendarId, DayKind};
use proptest::prelude::*;

const CSV: &str = include_str!("../data/cn-statutory-calendar.csv");

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The working-day status of every listed date, straight from the CSV text.
fn listed() -> &'static HashMap<NaiveDate, bool> {
    static LISTED: LazyLock<HashMap<NaiveDate, bool>> = LazyLock::new(|| {
        CSV.lines()
            .filter(|l| !l.starts_with('#') && *l != "date,kind,name")
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let working = match f[1] {
                    "workday" => true,
                    "holiday" => false,
                    other => panic!("unexpected kind {other} in {l}"),
                };
                (d(f[0]), working)
            })
            .collect()
    });
    &LISTED
}

/// ALL Art. 82 by definition: Monday-Friday unless listed otherwise.
fn expected_working(listed: &HashMap<NaiveDate, bool>, day: NaiveDate) -> bool {
    listed
        .get(&day)
        .copied()
        .unwrap_or(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
}

/// The only day-by-day walk allowed: the reference count in tests.
fn naive_between(listed: &HashMap<NaiveDate, bool>, a: NaiveDate, b: NaiveDate) -> u32 {
    a.iter_days()
        .skip(1)
        .take_while(|x| *x <= b)
        .filter(|x| expected_working(listed, *x))
        .count() as u32
}

fn cn_id() -> CalendarId {
    CalendarId::parse("cn").unwrap()
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

#[test]
fn every_day_2004_to_2026_matches_the_data() {
    let cal = Calendar::china();
    let listed = listed();
    let mut days = 0;
    let mut working = 0;
    for day in d("2004-01-01")
        .iter_days()
        .take_while(|x| *x <= d("2026-12-31"))
    {
        assert!(cal.is_known(day), "{day} is within the known range");
        assert_eq!(
            cal.is_working_day(day),
            expected_working(listed, day),
            "working-day status of {day} ({})",
            day.weekday()
        );
        days += 1;
        working += u32::from(expected_working(listed, day));
    }
    assert_eq!(days, 8401);
    // The running count agrees over the whole range too.
    assert_eq!(
        cal.working_days_between(d("2003-12-31"), d("2026-12-31")),
        working
    );
}

#[test]
fn the_bundled_calendar_describes_itself() {
    let cal = Calendar::china();
    assert_eq!(cal.id().as_str(), "cn");
    assert_eq!(cal.utc_offset(), cst());
    assert_eq!(cal.known_range(), (d("2004-01-01"), d("2026-12-31")));
    assert_eq!(cal.days().len(), listed().len());
    assert!(cal.days().windows(2).all(|w| w[0].date < w[1].date));
    assert!(!cal.is_known(d("2003-12-31")));
    assert!(!cal.is_known(d("2027-01-01")));
}

/// Issue 10, item 5: Saturday 2005-12-31 was an adjusted working day (State Council notice
/// Guobanfa Mingdian [2005] No. 35); the bundled calendar once lacked it.
#[test]
fn saturday_2005_12_31_is_an_adjusted_working_day() {
    let cal = Calendar::china();
    assert_eq!(d("2005-12-31").weekday(), Weekday::Sat);
    assert!(cal.is_working_day(d("2005-12-31")));
    // Friday 2005-12-30 + 1 working day is that Saturday, not Monday 2006-01-02 (a holiday).
    assert_eq!(cal.add_working_days(d("2005-12-30"), 1), d("2005-12-31"));
}

/// Where the shared design data lives: `EGOV_SHARED_DIR`, else `/work/shared` or `../shared`
/// beside the repository, if present.
fn shared_dir() -> Option<std::path::PathBuf> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("EGOV_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([
            std::path::PathBuf::from("/work/shared"),
            repo.join("../shared"),
        ])
        .find(|p| p.join("data/cn-statutory-calendar.csv").is_file())
}

/// The bundled calendar and the shared one cannot drift apart (issue 10, item 5): where the
/// shared file is present, the bundled file is a byte-for-byte copy of it. On a fresh clone
/// without it, the day-by-day tests above still hold the bundled calendar to its own data.
#[test]
fn bundled_calendar_equals_the_shared_file() {
    let Some(dir) = shared_dir() else {
        eprintln!("no shared data directory: the bundled calendar is checked on its own");
        return;
    };
    let shared = std::fs::read_to_string(dir.join("data/cn-statutory-calendar.csv")).unwrap();
    assert!(
        shared == CSV,
        "crates/domain/data/cn-statutory-calendar.csv differs from {}: copy the shared file",
        dir.display()
    );
    // And the parsed calendars agree day by day.
    let from_shared = Calendar::from_csv(cn_id(), cst(), &shared).unwrap();
    assert_eq!(from_shared.days(), Calendar::china().days());
}

#[test]
fn outside_the_known_range_is_plain_monday_to_friday() {
    let cal = Calendar::china();
    // 2027-01-01 is a Friday: the real New Year's Day is not known yet, so it counts.
    assert!(cal.is_working_day(d("2027-01-01")));
    assert!(!cal.is_working_day(d("2027-01-02")));
    assert!(cal.is_working_day(d("2003-12-31")));
    assert!(!cal.is_working_day(d("2003-12-28")));
    // A thousand years out, still whole-week arithmetic: 2 Jan 3000 is a Thursday.
    assert_eq!(
        cal.add_working_days(d("3000-01-01"), 1),
        d("3000-01-02"),
        "1 Jan 3000 is a Wednesday"
    );
    assert_eq!(
        cal.working_days_between(d("2030-01-01"), d("2030-12-31")),
        260
    );
}

#[test]
fn exceptions_between_is_half_open() {
    let cal = Calendar::china();
    let names: Vec<(String, DayKind)> = cal
        .exceptions_between(d("2024-02-10"), d("2024-02-18"))
        .iter()
        .map(|e| (e.date.format("%m-%d").to_string(), e.kind))
        .collect();
    let mut expected: Vec<(String, DayKind)> = (11..=17)
        .map(|day| (format!("02-{day}"), DayKind::Holiday))
        .collect();
    expected.push(("02-18".into(), DayKind::Workday));
    assert_eq!(names, expected);
    assert!(
        cal.exceptions_between(d("2024-02-18"), d("2024-02-10"))
            .is_empty()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Counting is a lookup, not a walk, yet agrees with the walk, across both range edges.
    #[test]
    fn working_days_between_matches_a_naive_count(
        a in 0i64..(365 * 30),
        len in 0i64..800,
        back in any::<bool>(),
    ) {
        let cal = Calendar::china();
        let listed = listed();
        let a = d("2001-01-01") + chrono::TimeDelta::days(a);
        let b = a + chrono::TimeDelta::days(len);
        let (a, b) = if back { (b, a) } else { (a, b) };
        prop_assert_eq!(cal.working_days_between(a, b), naive_between(listed, a, b));
    }

    /// `add_working_days` finds the first day with the right count: a working day, and the day
    /// before it falls one short.
    #[test]
    fn add_working_days_matches_a_naive_walk(a in 0i64..(365 * 30), n in 0u32..300) {
        let cal = Calendar::china();
        let listed = listed();
        let a = d("2001-01-01") + chrono::TimeDelta::days(a);
        let mut expected = a;
        if n > 0 || !expected_working(listed, a) {
            let mut left = n.max(1);
            while left > 0 {
                expected = expected.succ_opt().unwrap();
                if expected_working(listed, expected) {
                    left -= 1;
                }
            }
        }
        prop_assert_eq!(cal.add_working_days(a, n), expected);
    }
}

// ---- Loading more years, and the file format's errors --------------------------------------

/// The bundled CSV's days of the years `years`, as a calendar file with its header.
fn csv_of_years(years: std::ops::RangeInclusive<i32>) -> String {
    let mut out = String::from("# test extract\ndate,kind,name\n");
    for line in CSV
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
    {
        let year: i32 = line[..4].parse().unwrap();
        if years.contains(&year) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn later_and_earlier_years_can_be_merged() {
    let mut cal = Calendar::from_csv(cn_id(), cst(), &csv_of_years(2010..=2020)).unwrap();
    assert_eq!(cal.known_range(), (d("2010-01-01"), d("2020-12-31")));
    // Before the merge, Spring Festival 2024 is unknown: its Monday counts as plain Monday.
    assert!(cal.is_working_day(d("2024-02-12")) && !cal.is_known(d("2024-02-12")));

    cal.merge_csv(&csv_of_years(2021..=2026)).unwrap();
    cal.merge_csv(&csv_of_years(2004..=2009)).unwrap();
    assert_eq!(cal, Calendar::china());
}

#[test]
fn merging_must_keep_the_range_contiguous() {
    let mut cal = Calendar::from_csv(cn_id(), cst(), &csv_of_years(2010..=2020)).unwrap();
    let before = cal.clone();
    let err = cal.merge_csv(&csv_of_years(2022..=2023)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot merge years 2022..=2023 into a calendar of years 2010..=2020: \
         the known range would have a gap"
    );
    let err = cal.merge_csv(&csv_of_years(2020..=2021)).unwrap_err();
    assert!(
        matches!(err, CalendarError::OverlappingYears { .. }),
        "{err}"
    );
    // A refused merge leaves the calendar as it was.
    assert_eq!(cal, before);
}

/// Loads `body` after a header; the header is line 2, so the first data line is line 3.
fn load(body: &str) -> Result<Calendar, CalendarError> {
    Calendar::from_csv(
        cn_id(),
        cst(),
        &format!("# comment\ndate,kind,name\n{body}"),
    )
}

#[test]
fn a_bad_date_names_its_line() {
    let err = load("2024-02-10,holiday,Spring Festival\n2024-02-30,holiday,Spring Festival\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: date \"2024-02-30\" is not a valid YYYY-MM-DD date"
    );
}

#[test]
fn an_unknown_kind_names_its_line() {
    let err = load("2024-02-10,holiday,Spring Festival\n\n2024-02-11,vacation,Spring Festival\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 5: kind \"vacation\" is unknown; expected \"holiday\" or \"workday\""
    );
}

#[test]
fn a_duplicate_date_names_the_second_line() {
    let err = load(
        "2024-02-10,holiday,Spring Festival\n\
         2024-02-11,holiday,Spring Festival\n\
         2024-02-10,holiday,Spring Festival\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 5: 2024-02-10 is listed more than once"
    );
}

#[test]
fn a_workday_on_a_weekday_names_its_line() {
    // 2024-02-19 is a Monday: already a working day, so the line is a data error.
    let err = load("2024-02-18,workday,Spring Festival\n2024-02-19,workday,Spring Festival\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: 2024-02-19 is a Mon: only a Saturday or Sunday can be declared a working day \
         (a weekday is one already)"
    );
    assert!(matches!(
        err,
        CalendarError::Line { line: 4, ref error }
            if matches!(**error, CalendarError::WorkdayOnWeekday { weekday: Weekday::Mon, .. })
    ));
}

#[test]
fn other_file_errors_name_their_line() {
    let cases = [
        (
            "date,name,kind\n",
            "line 1: expected the header line \"date,kind,name\", found \"date,name,kind\"",
        ),
        (
            "date,kind,name\n2024-02-10\n",
            "line 2: the kind field is missing",
        ),
        (
            "date,kind,name\n2024-02-10,holiday\n",
            "line 2: the name field is missing",
        ),
        (
            "date,kind,name\n2024-02-10,holiday, \n",
            "line 2: 2024-02-10 has an empty name",
        ),
        (
            "date,kind,name\n1800-02-10,holiday,Old\n",
            "line 2: year range 1800..=1800 is invalid: the first year must not follow the last, and both must lie within 1900..=2999",
        ),
        (
            "date,kind,name\n2024-02-10,holiday,Spring Festival\n3024-02-10,holiday,Far\n",
            "line 3: year range 2024..=3024 is invalid: the first year must not follow the last, and both must lie within 1900..=2999",
        ),
        (
            "# nothing\ndate,kind,name\n",
            "the calendar file lists no days, so its years are unknown",
        ),
    ];
    for (text, message) in cases {
        let err = Calendar::from_csv(cn_id(), cst(), text).unwrap_err();
        assert_eq!(err.to_string(), message, "for {text:?}");
    }
}

#[test]
fn files_may_use_crlf_and_commas_in_names() {
    let cal = Calendar::from_csv(
        cn_id(),
        cst(),
        "date,kind,name\r\n2024-02-10,holiday,Spring Festival, day 1\r\n",
    )
    .unwrap();
    assert_eq!(
        cal.days(),
        &[CalendarDay {
            date: d("2024-02-10"),
            kind: DayKind::Holiday,
            name: "Spring Festival, day 1".into()
        }]
    );
}
