//! Assessment periods (docs/design.md §4): a calendar month, quarter or year of local dates,
//! written `2025-07`, `2025-Q3` and `2025`. Days are local dates of the jurisdiction (Asia/Shanghai
//! by default), so a case completed at 23:30 local time on 30 September counts in the third quarter
//! whatever UTC says.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The earliest and latest years a period may name: wide enough for any archive, narrow
/// enough that every date computation stays far inside chrono's range.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 3] = [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }
}

/// One assessment period. Ordered by year, then kind (month < quarter < year), then index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    kind: PeriodKind,
    /// Month 1-12, quarter 1-4, 0 for a year.
    index: u32,
}

impl Period {
    /// The field name used in errors when a period is parsed on its own.
    pub const FIELD: &'static str = "period";

    /// The year `year`.
    pub fn year(year: i32) -> Result<Period, FieldError> {
        check_year(year)?;
        Ok(Period {
            year,
            kind: PeriodKind::Year,
            index: 0,
        })
    }

    /// Quarter `quarter` (1-4) of `year`.
    pub fn quarter(year: i32, quarter: u32) -> Result<Period, FieldError> {
        check_year(year)?;
        if !(1..=4).contains(&quarter) {
            return Err(FieldError::new(Self::FIELD, "a quarter is Q1 to Q4"));
        }
        Ok(Period {
            year,
            kind: PeriodKind::Quarter,
            index: quarter,
        })
    }

    /// Month `month` (1-12) of `year`.
    pub fn month(year: i32, month: u32) -> Result<Period, FieldError> {
        check_year(year)?;
        if !(1..=12).contains(&month) {
            return Err(FieldError::new(Self::FIELD, "a month is 01 to 12"));
        }
        Ok(Period {
            year,
            kind: PeriodKind::Month,
            index: month,
        })
    }

    /// `2025`, `2025-Q3` (or `2025-q3`) or `2025-07`.
    pub fn parse(text: &str) -> Result<Period, FieldError> {
        let bad = || {
            FieldError::new(
                Self::FIELD,
                format!(
                    "{text:?} is not a period: write a year (2025), a quarter (2025-Q3) or a month (2025-07)"
                ),
            )
        };
        let number = |s: &str| -> Result<u32, FieldError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 4 {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (year, rest) = match text.split_once('-') {
            Some((y, rest)) => (y, Some(rest)),
            None => (text, None),
        };
        if year.len() != 4 {
            return Err(bad());
        }
        let year = i32::try_from(number(year)?).map_err(|_| bad())?;
        match rest {
            None => Period::year(year),
            Some(q) if q.starts_with(['Q', 'q']) => {
                if q.len() != 2 {
                    return Err(bad());
                }
                Period::quarter(year, number(&q[1..])?)
            }
            Some(m) if m.len() == 2 => Period::month(year, number(m)?),
            Some(_) => Err(bad()),
        }
    }

    /// The period of `kind` that contains `day`.
    pub fn containing(day: NaiveDate, kind: PeriodKind) -> Period {
        let year = day.year();
        match kind {
            PeriodKind::Year => Period {
                year,
                kind,
                index: 0,
            },
            PeriodKind::Quarter => Period {
                year,
                kind,
                index: day.month0() / 3 + 1,
            },
            PeriodKind::Month => Period {
                year,
                kind,
                index: day.month(),
            },
        }
    }

    pub fn kind(self) -> PeriodKind {
        self.kind
    }

    /// The calendar year the period lies in.
    pub fn calendar_year(self) -> i32 {
        self.year
    }

    /// The year the period lies in, as a period.
    pub fn the_year(self) -> Period {
        Period {
            year: self.year,
            kind: PeriodKind::Year,
            index: 0,
        }
    }

    /// The first local date of the period.
    pub fn first_day(self) -> NaiveDate {
        let month = match self.kind {
            PeriodKind::Year => 1,
            PeriodKind::Quarter => (self.index - 1) * 3 + 1,
            PeriodKind::Month => self.index,
        };
        NaiveDate::from_ymd_opt(self.year, month, 1).expect("a valid first day")
    }

    /// The last local date of the period.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a day before")
    }

    /// Whether the local date `day` lies in the period.
    pub fn contains(self, day: NaiveDate) -> bool {
        self.first_day() <= day && day <= self.last_day()
    }

    /// Whether the period is over on the local date `today` (its last day has passed).
    pub fn is_over(self, today: NaiveDate) -> bool {
        today > self.last_day()
    }

    /// The period of the same kind just before.
    pub fn previous(self) -> Period {
        match (self.kind, self.index) {
            (PeriodKind::Year, _) => Period {
                year: self.year - 1,
                ..self
            },
            (PeriodKind::Quarter, 1) => Period {
                year: self.year - 1,
                index: 4,
                ..self
            },
            (PeriodKind::Month, 1) => Period {
                year: self.year - 1,
                index: 12,
                ..self
            },
            (_, i) => Period {
                index: i - 1,
                ..self
            },
        }
    }

    /// The period of the same kind just after.
    pub fn next(self) -> Period {
        match (self.kind, self.index) {
            (PeriodKind::Year, _) => Period {
                year: self.year + 1,
                ..self
            },
            (PeriodKind::Quarter, 4) => Period {
                year: self.year + 1,
                index: 1,
                ..self
            },
            (PeriodKind::Month, 12) => Period {
                year: self.year + 1,
                index: 1,
                ..self
            },
            (_, i) => Period {
                index: i + 1,
                ..self
            },
        }
    }

    /// The periods from `self` through `last`, both included, which must be of the same kind;
    /// empty when `last` comes first.
    pub fn through(self, last: Period) -> Vec<Period> {
        let mut out = Vec::new();
        if self.kind != last.kind {
            return out;
        }
        let mut p = self;
        while p <= last {
            out.push(p);
            p = p.next();
        }
        out
    }
}

fn check_year(year: i32) -> Result<(), FieldError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(FieldError::new(
            Period::FIELD,
            format!("year {year} is outside {}-{}", YEARS.start(), YEARS.end()),
        ))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Year => write!(f, "{}", self.year),
            PeriodKind::Quarter => write!(f, "{}-Q{}", self.year, self.index),
            PeriodKind::Month => write!(f, "{}-{:02}", self.year, self.index),
        }
    }
}

impl FromStr for Period {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        Period::parse(s)
    }
}

impl TryFrom<String> for Period {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, FieldError> {
        Period::parse(&value)
    }
}

impl From<Period> for String {
    fn from(value: Period) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_parse_print_and_span_their_days() {
        let q = Period::parse("2025-Q3").unwrap();
        assert_eq!(q.to_string(), "2025-Q3");
        assert_eq!(
            (q.first_day(), q.last_day()),
            (d("2025-07-01"), d("2025-09-30"))
        );
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(m.last_day(), d("2024-02-29"));
        let y = Period::parse("2025").unwrap();
        assert_eq!(
            (y.first_day(), y.last_day()),
            (d("2025-01-01"), d("2025-12-31"))
        );
        assert_eq!(Period::parse("2025-q4").unwrap().to_string(), "2025-Q4");
        for bad in [
            "",
            "25",
            "2025-13",
            "2025-Q5",
            "2025-7",
            "2025-Q",
            "x025",
            "2025-07-01",
        ] {
            let e = Period::parse(bad).unwrap_err();
            assert_eq!(e.field, "period", "{bad}");
        }
        assert!(
            Period::parse("1800")
                .unwrap_err()
                .reason
                .contains("outside")
        );
    }

    #[test]
    fn neighbours_wrap_around_the_year() {
        let jan = Period::parse("2025-01").unwrap();
        assert_eq!(jan.previous().to_string(), "2024-12");
        assert_eq!(
            Period::parse("2024-Q4").unwrap().next().to_string(),
            "2025-Q1"
        );
        assert_eq!(
            Period::parse("2025").unwrap().previous().to_string(),
            "2024"
        );
        let months = jan.through(Period::parse("2025-12").unwrap());
        assert_eq!(months.len(), 12);
        assert!(jan.through(jan.previous()).is_empty());
        assert_eq!(
            Period::containing(d("2025-09-30"), PeriodKind::Quarter).to_string(),
            "2025-Q3"
        );
        assert!(Period::parse("2025-Q3").unwrap().is_over(d("2025-10-01")));
        assert!(!Period::parse("2025-Q3").unwrap().is_over(d("2025-09-30")));
    }
}
