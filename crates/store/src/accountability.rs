//! The accountability register's storage (docs/design.md §3.4): the decisions an office records
//! for a red card or a substantiated complaint, append-only, one per (grounds, person,
//! measure), listed with the register's filters. The domain (`egov_domain::accountability`)
//! judges the grounds and validates the decision; their weight in the scores is a score fact
//! the service applies (`Store::apply_score_facts`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::dialect::{Arg, Dialect, Sql, bind_args};
use crate::error::Result;
use crate::model::Page;
use crate::rows::micros;
use crate::store::{Store, on_db};

/// A decision to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    /// When it was recorded (the platform's clock).
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it: the calling principal.
    pub recorded_by: String,
    /// `warning` or `complaint`.
    pub basis_kind: String,
    /// The warning's or complaint's id.
    pub basis_id: i64,
    /// The department of the grounds: whose record it is on.
    pub department: String,
    /// The region of the grounds (the register's region filter is a subtree of it).
    pub region: String,
    /// The region of the office holding the grounds when it was recorded.
    pub office: String,
    /// The person held accountable; empty for the department itself.
    pub person: String,
    /// `admonition_talk`, `circulated_criticism`, `efficiency_warning`, `removal_from_post`.
    pub measure: String,
    /// The local day of the decision: the day it counts in the scores.
    pub decided_on: NaiveDate,
    /// The facts and the rule applied.
    pub grounds: String,
}

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DecisionRow {
    /// Its number in the register.
    pub id: i64,
    /// See [`NewDecision::recorded_at`].
    pub recorded_at: DateTime<Utc>,
    /// See [`NewDecision::recorded_by`].
    pub recorded_by: String,
    /// See [`NewDecision::basis_kind`].
    pub basis_kind: String,
    /// See [`NewDecision::basis_id`].
    pub basis_id: i64,
    /// See [`NewDecision::department`].
    pub department: String,
    /// See [`NewDecision::region`].
    pub region: String,
    /// See [`NewDecision::office`].
    pub office: String,
    /// See [`NewDecision::person`].
    pub person: String,
    /// See [`NewDecision::measure`].
    pub measure: String,
    /// See [`NewDecision::decided_on`].
    pub decided_on: NaiveDate,
    /// See [`NewDecision::grounds`].
    pub grounds: String,
}

/// Which decisions the register shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    /// Only those of departments in this region subtree.
    pub region: Option<String>,
    /// Only this department's.
    pub department: Option<String>,
    /// Only these measures.
    pub measures: Vec<String>,
    /// Only those dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Only those dated on or before this day.
    pub to: Option<NaiveDate>,
}

const COLUMNS: &str = "id, recorded_at, recorded_by, basis_kind, basis_id, department, region, \
    office, person, measure, decided_on, grounds";

impl Store {
    /// Stores a decision; None when one of the same measure for the same person (or the
    /// department) on the same grounds is already stored, which is then left as it was.
    pub async fn record_decision(&self, d: &NewDecision) -> Result<Option<DecisionRow>> {
        let sql = format!(
            "INSERT INTO accountability_decisions (recorded_at, recorded_by, basis_kind, \
                 basis_id, department, region, office, person, measure, decided_on, grounds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (basis_kind, basis_id, person, measure) DO NOTHING \
             RETURNING {COLUMNS}"
        );
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let row: Option<DecisionRow> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(micros(d.recorded_at))
                .bind(&d.recorded_by)
                .bind(&d.basis_kind)
                .bind(d.basis_id)
                .bind(&d.department)
                .bind(&d.region)
                .bind(&d.office)
                .bind(&d.person)
                .bind(&d.measure)
                .bind(d.decided_on)
                .bind(&d.grounds)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The decision `id`, if stored.
    pub async fn get_decision(&self, id: i64) -> Result<Option<DecisionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM accountability_decisions WHERE id = $1");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The decisions taken on one warning's or complaint's grounds, in the order recorded.
    pub async fn decisions_on(&self, basis_kind: &str, basis_id: i64) -> Result<Vec<DecisionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accountability_decisions \
             WHERE basis_kind = $1 AND basis_id = $2 ORDER BY id"
        );
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(basis_kind)
                .bind(basis_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The register: decisions matching `filter`, newest recorded first, a page at a time (the
    /// token is the last id shown).
    pub async fn list_decisions(
        &self,
        filter: &DecisionFilter,
        page: Page,
    ) -> Result<(Vec<DecisionRow>, Option<String>)> {
        let size = page.effective_size();
        let before = page.before_id()?;
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM accountability_decisions WHERE TRUE"
        ));
        sql.eq("department", filter.department.as_deref());
        sql.prefix("region", filter.region.as_deref());
        sql.any_of("measure", &filter.measures);
        if let Some(from) = filter.from {
            sql.push(" AND decided_on >= ").bind(Arg::Date(from));
        }
        if let Some(to) = filter.to {
            sql.push(" AND decided_on <= ").bind(Arg::Date(to));
        }
        if let Some(before) = before {
            sql.push(" AND id < ").bind(Arg::I64(before));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let mut rows: Vec<DecisionRow> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let next = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok((rows, next))
    }
}
