//! Office hours on the city's calendar: the simulated people work 09:00-12:00 and 13:30-17:30
//! local time on working days (the statutory calendar of `egov_domain::calendar`, so holidays
//! are off and adjusted weekend days are on). Every time the simulator invents is made here,
//! from a date and a number of minutes, so it is a pure function of the seed.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use egov_domain::calendar::Calendar;
use rand::RngExt;

use crate::Rng;

/// The morning and afternoon sessions, in minutes after local midnight.
const SESSIONS: [(u32, u32); 2] = [(9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30)];

/// Minutes of office time in one working day.
pub const DAY_MINUTES: u32 = (SESSIONS[0].1 - SESSIONS[0].0) + (SESSIONS[1].1 - SESSIONS[1].0);

/// Local time `minutes` after midnight of `day`, as an instant.
pub fn at(cal: &Calendar, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
    let offset = i64::from(cal.utc_offset().local_minus_utc());
    (local - Duration::seconds(offset)).and_utc()
}

/// `day` if it is a working day, else the next working day.
pub fn on_or_after(cal: &Calendar, day: NaiveDate) -> NaiveDate {
    let mut d = day;
    while !cal.is_working_day(d) {
        d = d.succ_opt().expect("a next day");
    }
    d
}

/// The `n`-th working day after `day` (`day` itself, or the next working day, for 0).
pub fn add_working_days(cal: &Calendar, day: NaiveDate, n: u32) -> NaiveDate {
    if n == 0 {
        on_or_after(cal, day)
    } else {
        cal.add_working_days(day, n)
    }
}

/// The working days from `from` (included) to `to` (excluded).
pub fn working_days(cal: &Calendar, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|d| *d < to)
        .filter(|d| cal.is_working_day(*d))
        .collect()
}

/// The working day `n` working days before `day`.
pub fn working_days_before(cal: &Calendar, day: NaiveDate, n: u32) -> NaiveDate {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d = d.pred_opt().expect("a day before");
        if cal.is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// A random minute of office time (the start of something done during the day).
pub fn office_minute(rng: &mut Rng) -> u32 {
    let offset = rng.random_range(0..DAY_MINUTES);
    minute_of_office(offset)
}

/// A random minute of office time from `from_minute` on, or None if the day is over.
pub fn office_minute_after(rng: &mut Rng, from_minute: u32) -> Option<u32> {
    let start = office_offset(from_minute);
    (start < DAY_MINUTES).then(|| minute_of_office(rng.random_range(start..DAY_MINUTES)))
}

/// The minute of the day `offset` minutes of office time after the day's opening.
fn minute_of_office(offset: u32) -> u32 {
    let morning = SESSIONS[0].1 - SESSIONS[0].0;
    if offset < morning {
        SESSIONS[0].0 + offset
    } else {
        SESSIONS[1].0 + (offset - morning)
    }
}

/// Office minutes of the day already passed at `minute` after midnight.
fn office_offset(minute: u32) -> u32 {
    let mut passed = 0;
    for (open, close) in SESSIONS {
        passed += minute.clamp(open, close) - open;
    }
    passed
}

/// `t` plus `minutes` of office time: a clerk who starts now and works that long finishes
/// then, skipping nights, lunch, weekends and holidays.
pub fn add_office_minutes(cal: &Calendar, t: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    let local = t.with_timezone(&cal.utc_offset());
    let mut day = local.date_naive();
    let mut used = if cal.is_working_day(day) {
        let minute = local
            .time()
            .signed_duration_since(NaiveTime::MIN)
            .num_minutes() as u32;
        office_offset(minute)
    } else {
        day = on_or_after(cal, day);
        0
    };
    let mut left = minutes;
    loop {
        let room = DAY_MINUTES - used;
        if left < room || (left == room && left > 0) {
            return at(cal, day, minute_of_office(used + left));
        }
        left -= room;
        used = 0;
        day = add_working_days(cal, day, 1);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn local(cal: &Calendar, t: DateTime<Utc>) -> String {
        t.with_timezone(&cal.utc_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    #[test]
    fn office_minutes_skip_lunch_nights_and_holidays() {
        let cal = Calendar::china();
        // Friday 2026-09-25 is the Mid-autumn holiday: Thursday 16:30 + 2 office hours is
        // Monday 2026-09-28 10:00.
        let t = at(&cal, day("2026-09-24"), 16 * 60 + 30);
        assert_eq!(
            local(&cal, add_office_minutes(&cal, t, 120)),
            "2026-09-28 10:00"
        );
        let t = at(&cal, day("2026-09-01"), 11 * 60 + 30);
        assert_eq!(
            local(&cal, add_office_minutes(&cal, t, 60)),
            "2026-09-01 14:00"
        );
        // A Sunday declared a working day (2026-09-20) is worked.
        assert_eq!(on_or_after(&cal, day("2026-09-19")), day("2026-09-20"));
    }

    #[test]
    fn random_office_minutes_are_in_office_hours() {
        let mut rng = Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let m = office_minute(&mut rng);
            assert!(
                (540..720).contains(&m) || (810..1050).contains(&m),
                "{m} is outside office hours"
            );
        }
        assert_eq!(office_minute_after(&mut rng, 17 * 60 + 30), None);
    }

    #[test]
    fn working_days_back_and_forth() {
        let cal = Calendar::china();
        assert_eq!(
            working_days_before(&cal, day("2026-09-28"), 1),
            day("2026-09-24")
        );
        assert_eq!(
            add_working_days(&cal, day("2026-09-24"), 1),
            day("2026-09-28")
        );
        assert_eq!(
            working_days(&cal, day("2026-09-21"), day("2026-09-28")).len(),
            4
        );
    }
}
