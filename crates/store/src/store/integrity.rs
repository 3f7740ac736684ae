//! Verifying the record log's chains in bulk: a page of cases, or a set of cases, with their
//! records read in one snapshot and checked by the one verification of `crate::chain`
//! (`egov verify` walks every case by pages; the supervision platform's integrity worker
//! re-checks the cases new records joined).

use super::*;

impl Store {
    /// The chains of up to `limit` (at most 1000) cases after `after` in case-number order
    /// (`None`: from the first), each verified as [`Store::verify_chain`] does.
    pub async fn verify_chains(&self, after: Option<&str>, limit: u32) -> Result<Vec<ChainReport>> {
        let limit = i64::from(limit.clamp(1, 1000));
        let after = after.unwrap_or("");
        let (heads, records): (Vec<(String, i64, String)>, Vec<RawRecord>) =
            on_db!(self, |pool, Db| {
                let mut tx = Db::begin_read(pool).await?;
                let heads: Vec<(String, i64, String)> = sqlx::query_as(
                    "SELECT case_no, version, last_hash FROM cases WHERE case_no > $1 \
                     ORDER BY case_no LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                let keys = Keys(heads.iter().map(|(c, _, _)| c.as_str()).collect());
                let records = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY case_no, seq",
                    Db::one_of("case_no", "$1")
                )))
                .bind(keys)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                (heads, records)
            });
        Ok(verify_heads(&heads, &records))
    }

    /// The chains of these cases (missing ones left out), in case-number order, each verified
    /// as [`Store::verify_chain`] does; one snapshot, two queries.
    pub async fn verify_cases(&self, case_nos: &[String]) -> Result<Vec<ChainReport>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let (heads, records): (Vec<(String, i64, String)>, Vec<RawRecord>) =
            on_db!(self, |pool, Db| {
                let mut tx = Db::begin_read(pool).await?;
                let heads = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT case_no, version, last_hash FROM cases WHERE {} ORDER BY case_no",
                    Db::one_of("case_no", "$1")
                )))
                .bind(Keys(keys.clone()))
                .fetch_all(&mut *tx)
                .await?;
                let records = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY case_no, seq",
                    Db::one_of("case_no", "$1")
                )))
                .bind(Keys(keys.clone()))
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                (heads, records)
            });
        Ok(verify_heads(&heads, &records))
    }
}

/// Verifies each case of `heads` against its records (`records` in (case_no, seq) order).
fn verify_heads(heads: &[(String, i64, String)], records: &[RawRecord]) -> Vec<ChainReport> {
    let mut by_case: HashMap<&str, Vec<&RawRecord>> = HashMap::with_capacity(heads.len());
    for record in records {
        by_case
            .entry(record.case_no.as_str())
            .or_default()
            .push(record);
    }
    heads
        .iter()
        .map(|(case_no, version, head_hash)| {
            let links = by_case.get(case_no.as_str()).into_iter().flatten();
            chain::verify(case_no, head_hash, *version, links.map(|r| r.link()))
        })
        .collect()
}
