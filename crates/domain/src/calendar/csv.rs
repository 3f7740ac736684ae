//! Calendar files: the `date,kind,name` format of `data/cn-statutory-calendar.csv`, read line
//! by line and validated, every error naming its line.

use super::*;

/// The header line every calendar file carries, so a file with its columns in another order is
/// refused instead of misread.
const CSV_HEADER: &str = "date,kind,name";

impl CalendarError {
    fn at_line(self, line: usize) -> CalendarError {
        CalendarError::Line {
            line,
            error: Box::new(self),
        }
    }
}

/// Parses and validates a calendar file; returns its year range and its days sorted by date.
pub(super) fn parse_csv(text: &str) -> Result<(i32, i32, Vec<CalendarDay>), CalendarError> {
    let mut header_seen = false;
    // Each day with its 1-based line number, so validation errors can point at the line.
    let mut rows: Vec<(usize, CalendarDay)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !header_seen {
            if line.trim() != CSV_HEADER {
                return Err(CalendarError::BadHeader {
                    found: line.to_owned(),
                }
                .at_line(line_no));
            }
            header_seen = true;
            continue;
        }
        let day = parse_line(line).map_err(|e| e.at_line(line_no))?;
        rows.push((line_no, day));
    }
    // Stable, so of two equal dates the later line comes second and is the one reported.
    rows.sort_by_key(|(_, d)| d.date);
    let (Some((_, first)), Some((_, last))) = (rows.first(), rows.last()) else {
        return Err(CalendarError::NoDays);
    };
    let (first_year, last_year) = (first.date.year(), last.date.year());
    let days: Vec<CalendarDay> = rows.iter().map(|(_, d)| d.clone()).collect();
    if let Err((i, e)) = validate(first_year, last_year, &days) {
        return Err(match e {
            // Name the line holding the year outside the allowed span.
            CalendarError::InvalidYearRange { .. } if !YEARS.contains(&first_year) => {
                e.at_line(rows[0].0)
            }
            CalendarError::InvalidYearRange { .. } => e.at_line(rows[rows.len() - 1].0),
            e => e.at_line(rows[i].0),
        });
    }
    Ok((first_year, last_year, days))
}

fn parse_line(line: &str) -> Result<CalendarDay, CalendarError> {
    let mut fields = line.splitn(3, ',');
    let date_text = fields.next().unwrap_or("").trim();
    let kind_text = fields
        .next()
        .ok_or(CalendarError::MissingField { field: "kind" })?
        .trim();
    let name = fields
        .next()
        .ok_or(CalendarError::MissingField { field: "name" })?
        .trim();
    let date =
        NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| CalendarError::BadDate {
            text: date_text.to_owned(),
        })?;
    let kind = match kind_text {
        "holiday" => DayKind::Holiday,
        "workday" => DayKind::Workday,
        _ => {
            return Err(CalendarError::UnknownKind {
                text: kind_text.to_owned(),
            });
        }
    };
    Ok(CalendarDay {
        date,
        kind,
        name: name.to_owned(),
    })
}
