//! The registry of jurisdictions: regions (the tree is in their codes, see the domain's
//! `jurisdiction` module) and the departments that belong to them. The store keeps what it is
//! given; the approval platform validates the codes and checks each region's parent first.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::dialect::{Arg, Dialect, Sql, bind_args};
use crate::error::Result;
use crate::rows::micros;
use crate::store::{Store, on_db};

/// A region as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct RegionRow {
    /// Its code (`330106`).
    pub code: String,
    /// Its name.
    pub name: String,
    /// `province`, `city`, `county` or `township`.
    pub level: String,
    /// The region one level up; None for a province.
    pub parent: Option<String>,
}

/// A department as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DepartmentRow {
    /// Its code (the `department` of matters and cases).
    pub code: String,
    /// Its name.
    pub name: String,
    /// The region it belongs to.
    pub region: String,
}

/// The most rows a registry listing returns (the registry of a province is a few thousand).
const MAX_LIST: i64 = 100_000;

impl Store {
    /// Creates or replaces `regions` (by code), in ONE transaction.
    pub async fn upsert_regions(&self, regions: &[RegionRow]) -> Result<()> {
        if regions.is_empty() {
            return Ok(());
        }
        let now = micros(Utc::now());
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            for r in regions {
                sqlx::query(
                    "INSERT INTO regions (code, name, level, parent, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
                         level = excluded.level, parent = excluded.parent, \
                         updated_at = excluded.updated_at",
                )
                .bind(&r.code)
                .bind(&r.name)
                .bind(&r.level)
                .bind(&r.parent)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The regions of the subtree rooted at `within` (every region for ""), by code: a parent
    /// always comes before its children.
    pub async fn list_regions(&self, within: &str) -> Result<Vec<RegionRow>> {
        let mut sql = Sql::new("SELECT code, name, level, parent FROM regions WHERE TRUE");
        sql.prefix("code", Some(within));
        sql.push(" ORDER BY code LIMIT ").bind(Arg::I64(MAX_LIST));
        let Sql { text, args } = sql;
        Ok(on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The stored regions among `codes`.
    pub async fn get_regions(&self, codes: &[&str]) -> Result<Vec<RegionRow>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT code, name, level, parent FROM regions WHERE TRUE");
        sql.any_of(
            "code",
            &codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(),
        );
        let Sql { text, args } = sql;
        Ok(on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Creates or replaces `departments` (by code), in ONE transaction.
    pub async fn upsert_departments(&self, departments: &[DepartmentRow]) -> Result<()> {
        if departments.is_empty() {
            return Ok(());
        }
        let now = micros(Utc::now());
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            for d in departments {
                sqlx::query(
                    "INSERT INTO departments (code, name, region, updated_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
                         region = excluded.region, updated_at = excluded.updated_at",
                )
                .bind(&d.code)
                .bind(&d.name)
                .bind(&d.region)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The departments of the regions in the subtree rooted at `within` (every department for
    /// ""), by region then code.
    pub async fn list_departments(&self, within: &str) -> Result<Vec<DepartmentRow>> {
        let mut sql = Sql::new("SELECT code, name, region FROM departments WHERE TRUE");
        sql.prefix("region", Some(within));
        sql.push(" ORDER BY region, code LIMIT ")
            .bind(Arg::I64(MAX_LIST));
        let Sql { text, args } = sql;
        Ok(on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The department `code`, if registered.
    pub async fn get_department(&self, code: &str) -> Result<Option<DepartmentRow>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as("SELECT code, name, region FROM departments WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await?
        }))
    }
}
