//! How results look on a terminal: aligned tables (Chinese names count as two columns),
//! local times, short enum names, readable warning lines, and JSON Lines in the canonical
//! protobuf JSON mapping for `--json`.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as spb;
use pbjson_types::Timestamp;

/// The jurisdiction's local time (Asia/Shanghai, no daylight saving): the offset deadlines are
/// counted in, so times are shown as supervisors read them.
pub fn local_zone() -> FixedOffset {
    egov_domain::local::china_offset()
}

pub fn to_utc(ts: &Timestamp) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0))
        .single()
}

/// `2026-11-20 09:30` in local time; midnight that ends a day is shown as `24:00` of that day,
/// the way deadlines are written (ALL Art. 82: a limit ends at the end of its last day).
pub fn local_time(ts: Option<&Timestamp>) -> String {
    ts.and_then(to_utc).map_or_else(|| "-".into(), local)
}

/// [`local_time`] of an instant the CLI holds itself (the data directory's rows).
pub fn local(t: DateTime<Utc>) -> String {
    egov_domain::local::local_time(local_zone(), t)
}

/// An enum value's name without its prefix, lowercase: `WARNING_LEVEL_YELLOW_CARD` ->
/// `yellow_card`.
pub fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

pub fn level_name(level: i32) -> String {
    spb::WarningLevel::try_from(level).map_or_else(
        |_| level.to_string(),
        |l| match l {
            spb::WarningLevel::Reminder => "reminder".into(),
            spb::WarningLevel::YellowCard => "YELLOW".into(),
            spb::WarningLevel::RedCard => "RED".into(),
            spb::WarningLevel::Unspecified => "?".into(),
        },
    )
}

pub fn rule_name(rule: i32) -> String {
    spb::WarningRule::try_from(rule).map_or_else(
        |_| rule.to_string(),
        |r| short(r.as_str_name(), "WARNING_RULE_").replace('_', "-"),
    )
}

pub fn warning_state_name(state: i32) -> String {
    spb::WarningState::try_from(state).map_or_else(
        |_| state.to_string(),
        |s| short(s.as_str_name(), "WARNING_STATE_"),
    )
}

pub fn case_state_name(state: i32) -> String {
    pb::CaseState::try_from(state).map_or_else(
        |_| state.to_string(),
        |s| short(s.as_str_name(), "CASE_STATE_"),
    )
}

pub fn clock_kind_name(kind: i32, step: &str) -> String {
    let name = pb::DeadlineClockKind::try_from(kind).map_or_else(
        |_| kind.to_string(),
        |k| short(k.as_str_name(), "DEADLINE_CLOCK_KIND_"),
    );
    if step.is_empty() {
        name
    } else {
        format!("{name} {step}")
    }
}

pub fn clock_status_name(status: i32) -> String {
    pb::DeadlineClockStatus::try_from(status).map_or_else(
        |_| status.to_string(),
        |s| short(s.as_str_name(), "DEADLINE_CLOCK_STATUS_").replace('_', " "),
    )
}

/// One readable line for a warning: time raised, level, rule, case, department, message.
pub fn warning_line(w: &spb::Warning) -> String {
    format!(
        "{}  {:<8}  {:<22}  {}  {}  {}",
        local_time(w.raised_at.as_ref()),
        level_name(w.level),
        rule_name(w.rule),
        w.case_no,
        w.department,
        w.message
    )
}

/// One JSON line in the canonical protobuf JSON mapping.
pub fn json_line<T: serde::Serialize>(value: &T) -> String {
    // The wire types serialize infallibly except for timestamps outside years 1-9999, which the
    // platforms never send; a placeholder keeps the line count right if one ever comes.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

/// Display width of `s` in a terminal: East Asian wide characters take two columns.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let c = c as u32;
    let wide = matches!(c,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// A plain aligned table: a header row, then rows; the last column is not padded.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(widths[i] - width(cell)));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_and_midnight_ends_the_day() {
        let t = |s: &str| {
            let t: DateTime<Utc> = s.parse().unwrap();
            Timestamp::from(t)
        };
        assert_eq!(
            local_time(Some(&t("2026-11-20T01:30:00Z"))),
            "2026-11-20 09:30"
        );
        assert_eq!(
            local_time(Some(&t("2026-11-20T16:00:00Z"))),
            "2026-11-20 24:00"
        );
        assert_eq!(local_time(None), "-");
    }

    #[test]
    fn tables_align_wide_characters() {
        let mut t = Table::new(&["code", "name", "dept"]);
        t.row(vec!["M1".into(), "食品经营许可".into(), "market".into()]);
        t.row(vec!["M22".into(), "abc".into(), "housing".into()]);
        let out = t.render();
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines[1], "M1    食品经营许可  market");
        assert_eq!(lines[2], "M22   abc           housing");
    }

    #[test]
    fn enum_names_are_short() {
        assert_eq!(
            rule_name(spb::WarningRule::PromisedLimitPassed as i32),
            "promised-limit-passed"
        );
        assert_eq!(level_name(spb::WarningLevel::RedCard as i32), "RED");
        assert_eq!(case_state_name(pb::CaseState::Accepted as i32), "accepted");
    }
}
