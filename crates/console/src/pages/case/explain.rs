//! A clock's explanation in the reader's language, worded from the count `GetCase` gives
//! (`ClockCount`: what started it, the days off skipped, the adjusted working days counted,
//! the suspended and extension days, late events, Civil Code Art. 203, the calendar's known
//! range), never a translation of the domain's English line, which is shown only by a server
//! that sends no count.

use egov_proto::approval::v1 as apb;
use fluent_bundle::FluentValue;

use super::super::key;
use crate::i18n::{Catalogues, Lang, local_ts};

/// `2026-10-08`, or `10-08` when `short`.
pub fn date(d: &apb::Date, short: bool) -> String {
    if short {
        format!("{:02}-{:02}", d.month, d.day)
    } else {
        format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
    }
}

fn next_day(a: &apb::Date, b: &apb::Date) -> bool {
    let day = |d: &apb::Date| {
        chrono::NaiveDate::from_ymd_opt(
            d.year,
            u32::try_from(d.month).unwrap_or(0),
            u32::try_from(d.day).unwrap_or(0),
        )
    };
    matches!((day(a), day(b)), (Some(a), Some(b)) if a.succ_opt() == Some(b))
}

/// A festival's name in `lang` (`festival-spring_festival`), or as the calendar wrote it.
pub fn festival(cat: &Catalogues, lang: Lang, name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let id = format!("festival-{slug}");
    let text = cat.text(lang, &id, &[]);
    if text == id { name.to_owned() } else { text }
}

/// The days as runs of one festival: "国庆节 10-01至10-07、中秋节 10-06".
fn runs(cat: &Catalogues, lang: Lang, days: &[apb::CalendarDay], short: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len()
            && days[j + 1].name == days[i].name
            && matches!((&days[j].date, &days[j + 1].date), (Some(a), Some(b)) if next_day(a, b))
        {
            j += 1;
        }
        let name = festival(cat, lang, &days[i].name);
        let from = days[i]
            .date
            .as_ref()
            .map(|d| date(d, short))
            .unwrap_or_default();
        parts.push(if i == j {
            cat.text(
                lang,
                "explain-run-one",
                &[("name", name.into()), ("day", from.into())],
            )
        } else {
            let to = days[j]
                .date
                .as_ref()
                .map(|d| date(d, short))
                .unwrap_or_default();
            cat.text(
                lang,
                "explain-run",
                &[
                    ("name", name.into()),
                    ("from", from.into()),
                    ("to", to.into()),
                ],
            )
        });
        i = j + 1;
    }
    parts.join(&cat.text(lang, "list-sep", &[]))
}

/// "3 个工作日", "1 working day", "2 calendar days".
fn days(cat: &Catalogues, lang: Lang, n: u32, unit: &'static str) -> FluentValue<'static> {
    cat.text(
        lang,
        "days-n",
        &[
            ("n", FluentValue::from(i64::from(n))),
            ("unit", unit.into()),
        ],
    )
    .into()
}

fn unit(c: &apb::DeadlineClock) -> &'static str {
    let calendar = c
        .limit
        .as_ref()
        .is_some_and(|l| l.unit == apb::LimitUnit::CalendarDays as i32);
    if calendar { "calendar" } else { "working" }
}

/// The explanation, one sentence a line, Chinese or English.
pub fn lines(cat: &Catalogues, lang: Lang, c: &apb::DeadlineClock) -> Vec<String> {
    let Some(count) = &c.count else {
        return vec![c.explanation.clone()];
    };
    let t = |id: &str, args: &[(&str, FluentValue<'_>)]| cat.text(lang, id, args);
    let n = |v: u32| FluentValue::from(i64::from(v));
    let unit = unit(c);
    let d = |v: u32| days(cat, lang, v, unit);
    let mut out = Vec::new();
    let start_day = count
        .start_day
        .as_ref()
        .map(|d| date(d, false))
        .unwrap_or_default();
    let start = apb::ClockStart::try_from(count.start).unwrap_or(apb::ClockStart::Unspecified);
    out.push(t(
        &key("explain-start", start.as_str_name(), "CLOCK_START_"),
        &[("day", start_day.into()), ("step", c.step.clone().into())],
    ));
    let amount = c.limit.as_ref().map_or(0, |l| l.amount);
    out.push(if amount == 0 {
        t("explain-limit-same_day", &[])
    } else {
        t(&format!("explain-limit-{unit}"), &[("days", d(amount))])
    });
    let short = matches!((&count.start_day, &c.last_day), (Some(a), Some(b)) if a.year == b.year);
    if !count.days_off.is_empty() {
        out.push(t(
            "explain-days-off",
            &[
                (
                    "count",
                    n(u32::try_from(count.days_off.len()).unwrap_or(u32::MAX)),
                ),
                ("days", runs(cat, lang, &count.days_off, short).into()),
            ],
        ));
    }
    if !count.adjusted_working_days.is_empty() {
        out.push(t(
            "explain-adjusted",
            &[(
                "days",
                runs(cat, lang, &count.adjusted_working_days, short).into(),
            )],
        ));
    }
    if c.extension_days > 0 {
        out.push(t("explain-extension", &[("days", d(c.extension_days))]));
    }
    if c.suspended_days > 0 {
        out.push(t("explain-suspended", &[("days", d(c.suspended_days))]));
    }
    for late in &count.late_events {
        let last = late
            .limit_last_day
            .as_ref()
            .map(|d| date(d, false))
            .unwrap_or_default();
        out.push(t(
            if late.extension {
                "explain-late-extension"
            } else {
                "explain-late-suspension"
            },
            &[
                ("at", local_ts(late.at.as_ref()).into()),
                ("last", last.into()),
            ],
        ));
    }
    if let (Some(from), Some(to)) = (&count.moved_from, &c.last_day) {
        out.push(t(
            "explain-moved",
            &[
                ("from", date(from, false).into()),
                ("to", date(to, false).into()),
            ],
        ));
    }
    if c.provisional {
        let to = count
            .known_to
            .as_ref()
            .map(|d| date(d, false))
            .unwrap_or_default();
        out.push(t("explain-provisional", &[("to", to.into())]));
    }
    out.push(t(
        "explain-due",
        &[("due", local_ts(c.due_at.as_ref()).into())],
    ));
    out
}

/// Where the clock stands: days used and left, past its last day, or to spare when it
/// stopped on time.
pub fn progress(cat: &Catalogues, lang: Lang, c: &apb::DeadlineClock) -> String {
    let Some(count) = &c.count else {
        return String::new();
    };
    let unit = unit(c);
    let d = |v: u32| days(cat, lang, v, unit);
    let on_time = c.status == apb::DeadlineClockStatus::StoppedOnTime as i32;
    if on_time {
        cat.text(
            lang,
            "progress-done",
            &[("used", d(count.days_used)), ("left", d(count.days_left))],
        )
    } else if count.days_over > 0 {
        cat.text(
            lang,
            "progress-over",
            &[("used", d(count.days_used)), ("over", d(count.days_over))],
        )
    } else {
        cat.text(
            lang,
            "progress",
            &[("used", d(count.days_used)), ("left", d(count.days_left))],
        )
    }
}
