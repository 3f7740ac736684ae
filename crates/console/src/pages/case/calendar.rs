//! The small working-day calendar drawn under each clock: a month grid (Monday first) for
//! each month from the clock's start to its last day, at most the three months ending with
//! the last day's, each day marked as a working day, a weekend day, a public holiday (休), an
//! adjusted working day (班) or a suspended day (the days `(start, end]` of the case's special
//! procedures), with the start day and the last day highlighted. Server-drawn HTML: no script.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use egov_proto::approval::v1 as apb;
use fluent_bundle::FluentValue;
use serde::Serialize;

use super::explain::festival;
use crate::App;
use crate::i18n::Lang;

/// The most months drawn for one clock.
const MOST_MONTHS: u32 = 3;

/// One day of a grid; `day` 0 is a blank before the first or after the last day.
#[derive(Debug, Serialize)]
pub struct Cell {
    day: u32,
    class: String,
    mark: String,
    label: String,
}

/// One month's grid.
#[derive(Debug, Serialize)]
pub struct Month {
    title: String,
    weeks: Vec<Vec<Cell>>,
}

/// The case's calendar exceptions and suspended days.
#[derive(Debug)]
pub struct Days {
    exceptions: HashMap<NaiveDate, (apb::CalendarDayKind, String)>,
    suspended: Vec<(NaiveDate, NaiveDate)>,
}

fn naive(d: &apb::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

impl Days {
    pub fn new(case: &apb::Case) -> Days {
        let exceptions = case
            .calendar_days
            .iter()
            .filter_map(|d| {
                let kind = apb::CalendarDayKind::try_from(d.kind).ok()?;
                Some((naive(d.date.as_ref()?)?, (kind, d.name.clone())))
            })
            .collect();
        let suspended = case
            .suspensions
            .iter()
            .filter_map(|s| Some((naive(s.start_day.as_ref()?)?, naive(s.end_day.as_ref()?)?)))
            .collect();
        Days {
            exceptions,
            suspended,
        }
    }

    fn is_suspended(&self, d: NaiveDate) -> bool {
        self.suspended.iter().any(|&(a, b)| a < d && d <= b)
    }

    /// The grids of a clock that started on `start` and ends with `last`.
    pub fn months(
        &self,
        app: &App,
        lang: Lang,
        start: Option<&apb::Date>,
        last: &apb::Date,
    ) -> Vec<Month> {
        let Some(last) = naive(last) else {
            return Vec::new();
        };
        let start = start.and_then(naive);
        let last_month = last.with_day(1).unwrap_or(last);
        let earliest = last_month
            .checked_sub_months(Months::new(MOST_MONTHS - 1))
            .unwrap_or(last_month);
        let mut month = start
            .and_then(|s| s.with_day(1))
            .unwrap_or(last_month)
            .clamp(earliest, last_month);
        let mut out = Vec::new();
        while month <= last_month {
            out.push(self.month(app, lang, month, start, last));
            let Some(next) = month.checked_add_months(Months::new(1)) else {
                break;
            };
            month = next;
        }
        out
    }

    fn month(
        &self,
        app: &App,
        lang: Lang,
        first: NaiveDate,
        start: Option<NaiveDate>,
        last: NaiveDate,
    ) -> Month {
        let t = |id: &str| app.catalogues.text(lang, id, &[]);
        let title = app.catalogues.text(
            lang,
            "cal-month",
            &[
                ("year", FluentValue::from(i64::from(first.year()))),
                ("month", FluentValue::from(i64::from(first.month()))),
            ],
        );
        let blanks = first.weekday().num_days_from_monday();
        let mut cells: Vec<Cell> = (0..blanks).map(|_| blank()).collect();
        let mut day = first;
        while day.month() == first.month() {
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            let (mut class, mark, mut label) = match self.exceptions.get(&day) {
                Some((apb::CalendarDayKind::Holiday, name)) => (
                    "holiday".to_owned(),
                    t("cal-mark-holiday"),
                    format!(
                        "{} {}",
                        t("cal-holiday"),
                        festival(&app.catalogues, lang, name)
                    ),
                ),
                Some((apb::CalendarDayKind::AdjustedWorkingDay, name)) => (
                    "adjusted".to_owned(),
                    t("cal-mark-adjusted"),
                    format!(
                        "{} {}",
                        t("cal-adjusted"),
                        festival(&app.catalogues, lang, name)
                    ),
                ),
                _ if weekend => ("weekend".to_owned(), String::new(), t("cal-weekend")),
                _ => ("work".to_owned(), String::new(), t("cal-working")),
            };
            let mut add = |name: &str, text: String| {
                class.push(' ');
                class.push_str(name);
                label.push_str(&t("list-sep"));
                label.push_str(&text);
            };
            if self.is_suspended(day) {
                add("suspended", t("cal-suspended"));
            }
            if Some(day) == start {
                add("start", t("cal-start"));
            }
            if day == last {
                add("due", t("cal-due"));
            }
            cells.push(Cell {
                day: day.day(),
                class,
                mark,
                label,
            });
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        while !cells.len().is_multiple_of(7) {
            cells.push(blank());
        }
        let mut weeks = Vec::new();
        let mut cells = cells.into_iter().peekable();
        while cells.peek().is_some() {
            weeks.push(cells.by_ref().take(7).collect());
        }
        Month { title, weeks }
    }
}

fn blank() -> Cell {
    Cell {
        day: 0,
        class: "blank".to_owned(),
        mark: String::new(),
        label: String::new(),
    }
}
