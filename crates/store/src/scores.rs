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
use crate::model::Backend;
use crate::rows::micros;
use crate::store::{Store, UPSERT_CURSOR, on_db};
use crate::{LogPosition, WarningPosition};

/// The counter columns of the score tables, in order (the domain's `Counters::NAMES`).
pub const SCORE_COUNTERS: [&str; 16] = [
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
];

/// Values of the [`SCORE_COUNTERS`], in order.
pub type CounterValues = [i64; 16];

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

/// Rows per multi-row statement: at most 20 parameters a row keeps a statement far below
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

/// Reads the 16 counters of a row starting at column `from`.
fn counters_at<R: Row>(row: &R, from: usize) -> Result<CounterValues>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out = [0; 16];
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

impl Store {
    /// Replaces the facts of `batch` in ONE transaction: each fact not older than the stored
    /// one replaces it, the difference is added to the daily rollups (rows that become all
    /// zero are removed), a change landing in a closed period is noted late (when
    /// `note_late`), the departments' regions are set, and the follower's cursor is persisted.
    pub async fn apply_score_facts(&self, batch: &ScoreBatch<'_>) -> Result<ScoreApplied> {
        // One fact per key: the newest version, the last given among equals.
        let mut by_key: BTreeMap<(&str, &str), &ScoreFacts> = BTreeMap::new();
        for f in batch.facts {
            let slot = by_key
                .entry((f.source.as_str(), f.key.as_str()))
                .or_insert(f);
            if f.version >= slot.version {
                *slot = f;
            }
        }
        let facts: Vec<&ScoreFacts> = by_key.into_values().collect();
        let pg = self.backend() == Backend::Postgres;
        let at = micros(batch.at);
        let applied = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            if pg {
                sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                    .bind(SCORES_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            // 1. Claim the keys whose stored version is not newer; the others are left alone.
            let mut accepted: Vec<&ScoreFacts> = Vec::with_capacity(facts.len());
            for chunk in facts.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_fact_keys (source, key, version, department) VALUES {} \
                     ON CONFLICT (source, key) DO UPDATE SET version = excluded.version, \
                         department = excluded.department \
                     WHERE score_fact_keys.version <= excluded.version \
                     RETURNING source, key",
                    placeholders(chunk.len(), 4)
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|f| {
                        [
                            V::T(&f.source),
                            V::T(&f.key),
                            V::I(f.version),
                            V::T(&f.department),
                        ]
                    })
                    .collect();
                let claimed: Vec<(String, String)> =
                    bind_values!(sqlx::query_as(AssertSqlSafe(text)), &args)
                        .fetch_all(&mut *tx)
                        .await?;
                let claimed: HashSet<(String, String)> = claimed.into_iter().collect();
                accepted.extend(
                    chunk
                        .iter()
                        .filter(|f| claimed.contains(&(f.source.clone(), f.key.clone()))),
                );
            }
            // 2. What they added before.
            let mut old: OldFacts = HashMap::new();
            for source in ["case", "warning"] {
                let keys: Vec<&str> = accepted
                    .iter()
                    .filter(|f| f.source == source)
                    .map(|f| f.key.as_str())
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT key, day, department, {} FROM score_facts \
                     WHERE source = $1 AND {}",
                    columns(),
                    Db::one_of("key", "$2")
                )))
                .bind(source)
                .bind(Keys(keys.clone()))
                .fetch_all(&mut *tx)
                .await?;
                for row in rows {
                    let key: String = row.try_get(0)?;
                    let day: NaiveDate = row.try_get(1)?;
                    let department: String = row.try_get(2)?;
                    old.entry((source.to_owned(), key)).or_default().push((
                        day,
                        department,
                        counters_at(&row, 3)?,
                    ));
                }
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM score_facts WHERE source = $1 AND {}",
                    Db::one_of("key", "$2")
                )))
                .bind(source)
                .bind(Keys(keys))
                .execute(&mut *tx)
                .await?;
            }
            // 3. The new facts, and the differences per (department, day), overall and per
            // fact (for late notes).
            let mut delta: BTreeMap<(String, NaiveDate), CounterValues> = BTreeMap::new();
            let mut changed_days: Vec<(&ScoreFacts, Vec<NaiveDate>)> = Vec::new();
            let mut rows: Vec<(&ScoreFacts, &ScoreDay)> = Vec::new();
            for f in &accepted {
                let mut own: BTreeMap<(String, NaiveDate), CounterValues> = BTreeMap::new();
                if let Some(before) = old.get(&(f.source.clone(), f.key.clone())) {
                    for (day, department, c) in before {
                        add(own.entry((department.clone(), *day)).or_default(), c, -1);
                    }
                }
                for d in &f.days {
                    if d.counters != [0; 16] {
                        add(
                            own.entry((f.department.clone(), d.day)).or_default(),
                            &d.counters,
                            1,
                        );
                        rows.push((f, d));
                    }
                }
                own.retain(|_, c| *c != [0; 16]);
                if !own.is_empty() {
                    changed_days.push((f, own.keys().map(|(_, day)| *day).collect()));
                }
                for (k, c) in own {
                    add(delta.entry(k).or_default(), &c, 1);
                }
            }
            for chunk in rows.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_facts (source, key, day, department, {}) VALUES {}",
                    columns(),
                    placeholders(chunk.len(), 20)
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|(f, d)| {
                        [
                            V::T(&f.source),
                            V::T(&f.key),
                            V::D(d.day),
                            V::T(&f.department),
                        ]
                        .into_iter()
                        .chain(d.counters.iter().map(|n| V::I(*n)))
                    })
                    .collect();
                bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                    .execute(&mut *tx)
                    .await?;
            }
            // 4. The rollups, in key order (two writers lock rows in the same order).
            delta.retain(|_, c| *c != [0; 16]);
            let delta: Vec<((String, NaiveDate), CounterValues)> = delta.into_iter().collect();
            let mut emptied: Vec<(String, NaiveDate)> = Vec::new();
            for chunk in delta.chunks(CHUNK) {
                let set = SCORE_COUNTERS
                    .iter()
                    .map(|c| format!("{c} = score_daily.{c} + excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let text = format!(
                    "INSERT INTO score_daily (department, day, {}) VALUES {} \
                     ON CONFLICT (department, day) DO UPDATE SET {set} \
                     RETURNING department, day, ({}) AS emptied",
                    columns(),
                    placeholders(chunk.len(), 18),
                    all_zero("")
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|((department, day), c)| {
                        [V::T(department), V::D(*day)]
                            .into_iter()
                            .chain(c.iter().map(|n| V::I(*n)))
                    })
                    .collect();
                let result: Vec<(String, NaiveDate, bool)> =
                    bind_values!(sqlx::query_as(AssertSqlSafe(text)), &args)
                        .fetch_all(&mut *tx)
                        .await?;
                emptied.extend(
                    result
                        .into_iter()
                        .filter(|(_, _, e)| *e)
                        .map(|(d, day, _)| (d, day)),
                );
            }
            for (department, day) in &emptied {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM score_daily WHERE department = $1 AND day = $2 AND {}",
                    all_zero("")
                )))
                .bind(department.as_str())
                .bind(*day)
                .execute(&mut *tx)
                .await?;
            }
            // 5. Late notes: a fact whose change reaches a closed period.
            let mut late = 0;
            if batch.note_late && !changed_days.is_empty() {
                let closed: Vec<(String, NaiveDate, NaiveDate)> = sqlx::query_as(
                    "SELECT period, first_day, last_day FROM score_snapshots WHERE version = 1",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut notes: Vec<(&str, &ScoreFacts)> = Vec::new();
                for (f, days) in &changed_days {
                    for (period, first, last) in &closed {
                        if days.iter().any(|d| first <= d && d <= last) {
                            notes.push((period.as_str(), f));
                        }
                    }
                }
                late = notes.len();
                for chunk in notes.chunks(CHUNK) {
                    let text = format!(
                        "INSERT INTO score_late (period, department, source, key, detail, \
                         noted_at) VALUES {}",
                        placeholders(chunk.len(), 6)
                    );
                    let args: Vec<V<'_>> = chunk
                        .iter()
                        .flat_map(|(period, f)| {
                            [
                                V::T(period),
                                V::T(&f.department),
                                V::T(&f.source),
                                V::T(&f.key),
                                V::T(&f.detail),
                                V::Ts(at),
                            ]
                        })
                        .collect();
                    bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // 6. Regions and the cursor.
            for chunk in batch.units.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_units (department, region) VALUES {} \
                     ON CONFLICT (department) DO UPDATE SET region = excluded.region",
                    placeholders(chunk.len(), 2)
                );
                let args: Vec<V<'_>> = chunk.iter().flat_map(|(d, r)| [V::T(d), V::T(r)]).collect();
                bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                    .execute(&mut *tx)
                    .await?;
            }
            // The cursor only moves forward: a slower instance applying an older batch after a
            // faster one must not send the next pass back over what was read (the facts
            // themselves are already protected by their versions). The score lock taken above
            // serializes writers, so reading then writing cannot interleave.
            if let Some((consumer, position)) = batch.cursor {
                let stored: Option<(String,)> =
                    sqlx::query_as("SELECT position FROM consumer_cursors WHERE consumer = $1")
                        .bind(consumer)
                        .fetch_optional(&mut *tx)
                        .await?;
                let forward = stored.is_none_or(|(stored,)| {
                    match (position_key(position), position_key(&stored)) {
                        (Some(new), Some(old)) => new > old,
                        // An unreadable stored cursor is replaced, as before.
                        _ => true,
                    }
                });
                if forward {
                    sqlx::query(UPSERT_CURSOR)
                        .bind(consumer)
                        .bind(position)
                        .bind(micros(Utc::now()))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            ScoreApplied {
                replaced: accepted.len(),
                late,
            }
        });
        Ok(applied)
    }

    /// Recomputes the daily rollups from the stored facts, in ONE transaction (fact writers
    /// wait for it). Returns the number of rollup rows.
    pub async fn rebuild_score_rollups(&self) -> Result<u64> {
        let pg = self.backend() == Backend::Postgres;
        Ok(on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            if pg {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(SCORES_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
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

    /// Stores a snapshot of a period as its next version, if its newest version is still
    /// `expected` (0: not closed yet), in ONE transaction that fact writers wait for: `build`
    /// gets the period's rollup totals per department as of that transaction and returns the
    /// assessment to store (its error is [`StoreError::InvalidInput`]). Every later change to
    /// the period's days is noted late.
    pub async fn store_score_snapshot<F>(
        &self,
        new: &NewScoreSnapshot<'_>,
        expected: i64,
        build: F,
    ) -> Result<SnapshotOutcome>
    where
        F: FnOnce(&[(String, CounterValues)]) -> std::result::Result<String, String> + Send,
    {
        let pg = self.backend() == Backend::Postgres;
        let computed_at = micros(new.computed_at);
        let sums = sums();
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            if pg {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(SCORES_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let current: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM score_snapshots WHERE period = $1")
                    .bind(new.period)
                    .fetch_one(&mut *tx)
                    .await?;
            let current = current.unwrap_or(0);
            if current != expected {
                return Ok(SnapshotOutcome::VersionIs(current));
            }
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT department, {sums} FROM score_daily WHERE day >= $1 AND day <= $2 \
                 GROUP BY department ORDER BY department"
            )))
            .bind(new.first_day)
            .bind(new.last_day)
            .fetch_all(&mut *tx)
            .await?;
            let totals: Vec<(String, CounterValues)> = rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, counters_at(row, 1)?)))
                .collect::<Result<_>>()?;
            let late_through: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM score_late")
                .fetch_one(&mut *tx)
                .await?;
            let assessment = build(&totals).map_err(|e| StoreError::InvalidInput(e.into()))?;
            let row = ScoreSnapshotRow {
                period: new.period.to_owned(),
                version: current + 1,
                first_day: new.first_day,
                last_day: new.last_day,
                computed_at,
                actor: new.actor.to_owned(),
                reason: new.reason.to_owned(),
                late_through: late_through.unwrap_or(0),
                assessment: Some(assessment),
            };
            sqlx::query(
                "INSERT INTO score_snapshots (period, version, first_day, last_day, \
                     computed_at, actor, reason, late_through, assessment) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&row.period)
            .bind(row.version)
            .bind(row.first_day)
            .bind(row.last_day)
            .bind(row.computed_at)
            .bind(&row.actor)
            .bind(&row.reason)
            .bind(row.late_through)
            .bind(row.assessment.as_deref())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(SnapshotOutcome::Stored(row))
        })
    }

    /// Every version of a period's snapshot, oldest first, without the assessments.
    pub async fn score_snapshots(&self, period: &str) -> Result<Vec<ScoreSnapshotRow>> {
        type Raw = (
            String,
            i64,
            NaiveDate,
            NaiveDate,
            DateTime<Utc>,
            String,
            String,
            i64,
        );
        let raws: Vec<Raw> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT period, version, first_day, last_day, computed_at, actor, reason, \
                 late_through FROM score_snapshots WHERE period = $1 ORDER BY version",
            )
            .bind(period)
            .fetch_all(pool)
            .await?
        });
        Ok(raws
            .into_iter()
            .map(
                |(period, version, first_day, last_day, computed_at, actor, reason, late)| {
                    ScoreSnapshotRow {
                        period,
                        version,
                        first_day,
                        last_day,
                        computed_at,
                        actor,
                        reason,
                        late_through: late,
                        assessment: None,
                    }
                },
            )
            .collect())
    }

    /// The newest version of a period's snapshot, with its assessment; None when the period
    /// is not closed.
    pub async fn latest_score_snapshot(&self, period: &str) -> Result<Option<ScoreSnapshotRow>> {
        let Some(mut row) = self.score_snapshots(period).await?.pop() else {
            return Ok(None);
        };
        let assessment: String = on_db!(self, |pool| {
            sqlx::query_scalar(
                "SELECT assessment FROM score_snapshots WHERE period = $1 AND version = $2",
            )
            .bind(period)
            .bind(row.version)
            .fetch_one(pool)
            .await?
        });
        row.assessment = Some(assessment);
        Ok(Some(row))
    }

    /// The late notes of `period` after note `after` (0: all), oldest first.
    pub async fn score_late(&self, period: &str, after: i64) -> Result<Vec<ScoreLateRow>> {
        type Raw = (i64, String, String, String, String, String, DateTime<Utc>);
        let raws: Vec<Raw> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT id, period, department, source, key, detail, noted_at FROM score_late \
                 WHERE period = $1 AND id > $2 ORDER BY id",
            )
            .bind(period)
            .bind(after)
            .fetch_all(pool)
            .await?
        });
        Ok(raws
            .into_iter()
            .map(
                |(id, period, department, source, key, detail, noted_at)| ScoreLateRow {
                    id,
                    period,
                    department,
                    source,
                    key,
                    detail,
                    noted_at,
                },
            )
            .collect())
    }
}
