//! Performance scores' storage (docs/design.md §4): the facts each case and warning adds to its
//! department per local day, their rollups per (department, day), the snapshots of closed
//! periods (versioned) and the changes that reached a closed period late. The services compute
//! the facts (the domain's `scores::facts`); the store keeps them and their sums.
//!
//! Invariant: `score_daily` is the sum of `score_facts` per (department, day), all-zero rows
//! left out. [`Store::apply_score_facts`] keeps it so in the transaction that replaces facts
//! (adding the difference, never rescanning), and [`Store::rebuild_score_rollups`] recomputes
//! it from the facts; tests compare the two.
//!
//! Concurrency: a fact is replaced only by one computed from a version at least as new
//! (`score_fact_keys`, whose row is also the lock two writers of one fact queue on). Closing a
//! period ([`Store::store_score_snapshot`]) and applying facts exclude each other (PostgreSQL:
//! an advisory lock, shared by fact writers, exclusive for snapshots; SQLite: one writer at a
//! time), so a change either is in a snapshot or is noted late for it, never neither.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use crate::dialect::{Dialect, Keys};
use crate::error::{Result, StoreError};
use crate::rows::micros;
use crate::store::{Store, UPSERT_CURSOR, on_db};
use crate::{LogPosition, WarningPosition};

/// The counter columns of the score tables, in order (the domain's `Counters::NAMES`).
pub const SCORE_COUNTERS: [&str; 21] = [
    "accepted",
    "completed",
    "on_time",
    "early",
    "share_cases",
    "share_bp_sum",
    "ratings",
    "satisfied",
    "bad_reviews",
    "reminders",
    "yellow_cards",
    "red_cards",
    "anomalies",
    "irregular_fees",
    "corrected_in_time",
    "fees_fen",
    "complaints_substantiated",
    "admonition_talks",
    "circulated_criticisms",
    "efficiency_warnings",
    "removals_from_post",
];

/// Values of the [`SCORE_COUNTERS`], in order.
pub type CounterValues = [i64; SCORE_COUNTERS.len()];

/// The order of a persisted cursor (a [`LogPosition`] or a [`WarningPosition`] token); None
/// for a token of neither kind.
fn position_key(token: &str) -> Option<(i64, i64)> {
    if let Ok(p) = token.parse::<LogPosition>() {
        return Some((p.tx(), p.n()));
    }
    token
        .parse::<WarningPosition>()
        .ok()
        .map(|p| (p.tx(), p.n()))
}

/// PostgreSQL advisory lock key of the score tables ("egovscor").
const SCORES_LOCK: i64 = 0x6567_6f76_7363_6f72;

/// Rows per multi-row statement: at most 25 parameters a row keeps a statement far below
/// both backends' parameter limits.
const CHUNK: usize = 200;

/// What one case or warning adds to its department on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreDay {
    /// The local date.
    pub day: NaiveDate,
    /// The counters, in [`SCORE_COUNTERS`] order.
    pub counters: CounterValues,
}

/// Everything one case or one warning adds, replacing what it added before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreFacts {
    /// `case` or `warning`.
    pub source: String,
    /// The case number, or the warning id.
    pub key: String,
    /// What the facts were computed from: a case's version (its record count), a warning's
    /// stream position. Facts of an older version than the stored ones are ignored.
    pub version: i64,
    /// The department the facts count for.
    pub department: String,
    /// Per day, days with nothing left out.
    pub days: Vec<ScoreDay>,
    /// What to name if the change lands in a closed period (the event ids of the records that
    /// changed the case, or the warning).
    pub detail: String,
}

/// One transaction of fact replacements.
#[derive(Debug, Clone, Copy)]
pub struct ScoreBatch<'a> {
    /// The facts, at most one per (source, key).
    pub facts: &'a [ScoreFacts],
    /// (department, region) of departments whose region changed.
    pub units: &'a [(String, String)],
    /// The follower's cursor to persist with the facts: (consumer, position).
    pub cursor: Option<(&'a str, &'a str)>,
    /// Whether changes landing in a closed period are noted as late (a follower of new
    /// records: yes; a rebuild: no).
    pub note_late: bool,
    /// When the batch is applied (for late notes).
    pub at: DateTime<Utc>,
}

/// What [`Store::apply_score_facts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScoreApplied {
    /// Facts replaced (those not older than the stored ones).
    pub replaced: usize,
    /// Late notes written.
    pub late: usize,
}

/// One rollup row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreDailyRow {
    /// The department.
    pub department: String,
    /// The local date.
    pub day: NaiveDate,
    /// Its counters, in [`SCORE_COUNTERS`] order.
    pub counters: CounterValues,
}

/// A new snapshot of a period.
#[derive(Debug, Clone, Copy)]
pub struct NewScoreSnapshot<'a> {
    /// The period's name (`2025`, `2025-Q3`, `2025-07`).
    pub period: &'a str,
    /// Its first local date.
    pub first_day: NaiveDate,
    /// Its last local date.
    pub last_day: NaiveDate,
    /// When it is taken.
    pub computed_at: DateTime<Utc>,
    /// Who asked.
    pub actor: &'a str,
    /// Why.
    pub reason: &'a str,
}

/// A stored snapshot (one version of a closed period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSnapshotRow {
    /// The period's name.
    pub period: String,
    /// 1 for the close, then one more per recomputation.
    pub version: i64,
    /// Its first local date.
    pub first_day: NaiveDate,
    /// Its last local date.
    pub last_day: NaiveDate,
    /// When it was taken.
    pub computed_at: DateTime<Utc>,
    /// Who asked.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// The last late note it includes (notes after it came later).
    pub late_through: i64,
    /// The frozen assessment (the services' JSON); None in listings.
    pub assessment: Option<String>,
}

/// One department's frozen result in a snapshot (`score_results`, the view `score_grades`):
/// computed by the domain, kept so that SQL sees what the API serves for a closed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreResultRow {
    /// The department code.
    pub department: String,
    /// Its region.
    pub region: String,
    /// Its rank (shared by ties); None when not ranked.
    pub rank: Option<i64>,
    /// Its place in the list; None when not ranked.
    pub position: Option<i64>,
    /// The score in hundredths of a point.
    pub score_hundredths: i64,
    /// `excellent`, `good`, `pass` or `fail`; None when not ranked.
    pub grade: Option<String>,
    /// In the bottom two of the ranking.
    pub bottom_two: bool,
}

/// What a snapshot's builder gives [`Store::store_score_snapshot`] to store: the assessment
/// (the services' JSON) and the whole city's results computed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuiltSnapshot {
    /// The frozen assessment (the services' JSON).
    pub assessment: String,
    /// Every department's result in the whole city's ranking.
    pub results: Vec<ScoreResultRow>,
}

impl From<String> for BuiltSnapshot {
    /// An assessment without results (the store's own tests).
    fn from(assessment: String) -> Self {
        BuiltSnapshot {
            assessment,
            results: Vec::new(),
        }
    }
}

/// What [`Store::store_score_snapshot`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Stored as the next version.
    Stored(ScoreSnapshotRow),
    /// Not stored: the period's newest version is this one (0: not closed), not the expected.
    VersionIs(i64),
}

/// A change that reached a closed period after it was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreLateRow {
    /// Its number; increasing.
    pub id: i64,
    /// The closed period.
    pub period: String,
    /// The department whose counters changed.
    pub department: String,
    /// `case` or `warning`.
    pub source: String,
    /// The case number or warning id.
    pub key: String,
    /// The records or warning that changed it.
    pub detail: String,
    /// When it was noted.
    pub noted_at: DateTime<Utc>,
}

/// How far a warning went in the correction workflow ([`Store::warning_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningProgress {
    /// Its recorded transitions.
    pub transitions: i64,
    /// When it was first answered, if it was.
    pub answered_at: Option<DateTime<Utc>>,
}

/// A value bound to a built statement.
enum V<'a> {
    T(&'a str),
    I(i64),
    D(NaiveDate),
    Ts(DateTime<Utc>),
}

/// Binds `$args` (a slice of [`V`]) to `$query`, for either backend.
macro_rules! bind_values {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                V::T(s) => query.bind(*s),
                V::I(n) => query.bind(*n),
                V::D(d) => query.bind(*d),
                V::Ts(t) => query.bind(*t),
            };
        }
        query
    }};
}

/// `($1, $2, ...), (...)`: `rows` groups of `width` placeholders.
fn placeholders(rows: usize, width: usize) -> String {
    let mut s = String::new();
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * width + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

fn columns() -> String {
    SCORE_COUNTERS.join(", ")
}

fn sums() -> String {
    SCORE_COUNTERS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn all_zero(prefix: &str) -> String {
    SCORE_COUNTERS
        .iter()
        .map(|c| format!("{prefix}{c} = 0"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Reads the counters of a row starting at column `from`.
fn counters_at<R: Row>(row: &R, from: usize) -> Result<CounterValues>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out = [0; SCORE_COUNTERS.len()];
    for (i, v) in out.iter_mut().enumerate() {
        *v = row.try_get(from + i)?;
    }
    Ok(out)
}

fn add(a: &mut CounterValues, b: &CounterValues, sign: i64) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += sign * y;
    }
}

/// Stored facts of one (source, key), per day.
type OldFacts = HashMap<(String, String), Vec<(NaiveDate, String, CounterValues)>>;

// After `bind_values!`, which they use.
mod apply;
mod snapshots;

impl Store {
    /// Recomputes the daily rollups from the stored facts, in ONE transaction (fact writers
    /// wait for it). Returns the number of rollup rows.
    pub async fn rebuild_score_rollups(&self) -> Result<u64> {
        Ok(on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            Db::lock(&mut tx, SCORES_LOCK, false).await?;
            sqlx::query("DELETE FROM score_daily")
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO score_daily (department, day, {cols}) \
                 SELECT department, day, {sums} FROM score_facts \
                 GROUP BY department, day HAVING NOT ({zero})",
                cols = columns(),
                sums = sums(),
                zero = SCORE_COUNTERS
                    .iter()
                    .map(|c| format!("SUM({c}) = 0"))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            inserted
        }))
    }

    /// The rollups summed per department over the local days `first..=last`, by department.
    pub async fn score_totals(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<(String, CounterValues)>> {
        let text = format!(
            "SELECT department, {} FROM score_daily WHERE day >= $1 AND day <= $2 \
             GROUP BY department ORDER BY department",
            sums()
        );
        on_db!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(text))
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, counters_at(row, 1)?)))
                .collect()
        })
    }

    /// Every rollup row (of one department, when given), by department and day.
    pub async fn score_daily(&self, department: Option<&str>) -> Result<Vec<ScoreDailyRow>> {
        let text = format!(
            "SELECT department, day, {} FROM score_daily \
             WHERE ($1 = '' OR department = $2) ORDER BY department, day",
            columns()
        );
        on_db!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(text))
                .bind(department.unwrap_or_default())
                .bind(department.unwrap_or_default())
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(ScoreDailyRow {
                        department: row.try_get(0)?,
                        day: row.try_get(1)?,
                        counters: counters_at(row, 2)?,
                    })
                })
                .collect()
        })
    }

    /// The stored facts of one case or warning, by day.
    pub async fn score_facts(&self, source: &str, key: &str) -> Result<Vec<ScoreDailyRow>> {
        let text = format!(
            "SELECT department, day, {} FROM score_facts WHERE source = $1 AND key = $2 \
             ORDER BY day",
            columns()
        );
        on_db!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(text))
                .bind(source)
                .bind(key)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(ScoreDailyRow {
                        department: row.try_get(0)?,
                        day: row.try_get(1)?,
                        counters: counters_at(row, 2)?,
                    })
                })
                .collect()
        })
    }

    /// The region of each department as its cases show it (see `score_units`), by department.
    pub async fn score_units(&self) -> Result<Vec<(String, String)>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as("SELECT department, region FROM score_units ORDER BY department")
                .fetch_all(pool)
                .await?
        }))
    }

    /// How far each of the warnings `ids` went in the correction workflow: its number of
    /// transitions (a version of what the warning is) and when it was first answered; warnings
    /// never moved are left out.
    pub async fn warning_progress(&self, ids: &[i64]) -> Result<HashMap<i64, WarningProgress>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let text = format!(
                "SELECT warning_id, COUNT(*), \
                     MIN(CASE WHEN to_state = 'answered' THEN at END) \
                 FROM warning_transitions WHERE warning_id IN ({}) GROUP BY warning_id",
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let args: Vec<V<'_>> = chunk.iter().map(|id| V::I(*id)).collect();
            let rows: Vec<(i64, i64, Option<DateTime<Utc>>)> = on_db!(self, |pool| {
                bind_values!(sqlx::query_as(AssertSqlSafe(text)), &args)
                    .fetch_all(pool)
                    .await?
            });
            out.extend(rows.into_iter().map(|(id, transitions, answered_at)| {
                (
                    id,
                    WarningProgress {
                        transitions,
                        answered_at,
                    },
                )
            }));
        }
        Ok(out)
    }
}
