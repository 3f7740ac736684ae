//! Due instants: the instants the supervision platform must wake at, read in order and
//! replaced per case.

use super::*;

impl Store {
    // ----- due instants ------------------------------------------------------------------

    /// The earliest due instant, if any: when the supervision platform must wake next.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar("SELECT due_at FROM due_instants ORDER BY due_at LIMIT 1")
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Up to `limit` (at most 10 000) due instants at or before `until`, earliest first.
    pub async fn due_until(&self, until: DateTime<Utc>, limit: u32) -> Result<Vec<DueInstant>> {
        let raws: Vec<RawDue> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT case_no, clock, due_at FROM due_instants WHERE due_at <= $1 \
                 ORDER BY due_at, case_no, clock LIMIT $2",
            )
            .bind(micros(until))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        Ok(raws.into_iter().map(DueInstant::from).collect())
    }

    /// [`Store::due_until`] of the instants after `after` in (due_at, case_no, clock) order:
    /// the next batch, read while the one before it is still being fired.
    pub async fn due_until_after(
        &self,
        until: DateTime<Utc>,
        after: Option<&DueInstant>,
        limit: u32,
    ) -> Result<Vec<DueInstant>> {
        let Some(after) = after else {
            return self.due_until(until, limit).await;
        };
        let raws: Vec<RawDue> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT case_no, clock, due_at FROM due_instants WHERE due_at <= $1 \
                 AND (due_at, case_no, clock) > ($2, $3, $4) \
                 ORDER BY due_at, case_no, clock LIMIT $5",
            )
            .bind(micros(until))
            .bind(micros(after.due_at))
            .bind(after.case_no.as_str())
            .bind(after.clock.as_str())
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        Ok(raws.into_iter().map(DueInstant::from).collect())
    }

    /// The due instants of one case, earliest first.
    pub async fn due_for_case(&self, case_no: &str) -> Result<Vec<DueInstant>> {
        let raws: Vec<RawDue> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT case_no, clock, due_at FROM due_instants WHERE case_no = $1 \
                 ORDER BY due_at, clock",
            )
            .bind(case_no)
            .fetch_all(pool)
            .await?
        });
        Ok(raws.into_iter().map(DueInstant::from).collect())
    }

    /// How many due instants are pending.
    pub async fn count_open_due(&self) -> Result<u64> {
        let n: i64 = on_db!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM due_instants")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Replaces the due instants of many cases in ONE transaction with multi-row statements
    /// (after a rule configuration change moved them). A case is replaced only while it is
    /// still at `expected_version`: one a commit changed meanwhile was written with fresh due
    /// instants by that commit and is left alone. Returns the cases replaced, in input order.
    /// Wakes the listeners of [`Store::listen_for_records`], so a due loop asleep until a
    /// later instant looks again.
    pub async fn replace_due(&self, cases: &[DueReplacement]) -> Result<Vec<String>> {
        self.replace_due_keyed(cases, "").await
    }

    /// [`Store::replace_due`] of only the due instants whose clock key starts with `prefix`
    /// (`approaching:` after a change of the reminder thresholds): the others, which the
    /// change does not move, are not rewritten.
    pub async fn replace_due_keyed(
        &self,
        cases: &[DueReplacement],
        prefix: &str,
    ) -> Result<Vec<String>> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        for c in cases {
            let mut clocks = HashSet::new();
            if let Some(d) = c.due.iter().find(|d| {
                d.case_no != c.case_no
                    || !d.clock.starts_with(prefix)
                    || !clocks.insert(d.clock.as_str())
            }) {
                return Err(StoreError::InvalidInput(
                    format!(
                        "due instant {:?} of case {:?} is replaced with case {:?}, twice, or \
                         outside {prefix:?}",
                        d.clock, d.case_no, c.case_no
                    )
                    .into(),
                ));
            }
        }
        // A LIKE pattern matching the keys that start with `prefix` (which holds no wildcard
        // of its own: `_` and `%` are escaped).
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let keys = distinct(cases.iter().map(|c| c.case_no.as_str()));
        let replaced: Vec<String> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let versions: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT case_no, version FROM cases WHERE {} ORDER BY case_no{}",
                Db::one_of("case_no", "$1"),
                Db::FOR_UPDATE
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(&mut *tx)
            .await?;
            let versions: HashMap<String, i64> = versions.into_iter().collect();
            let current: Vec<&DueReplacement> = cases
                .iter()
                .filter(|c| versions.get(&c.case_no) == Some(&c.expected_version))
                .collect();
            if !current.is_empty() {
                let replaced = distinct(current.iter().map(|c| c.case_no.as_str()));
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM due_instants WHERE {} AND clock LIKE $2 ESCAPE '\\'",
                    Db::one_of("case_no", "$1")
                )))
                .bind(Keys(replaced))
                .bind(pattern.as_str())
                .execute(&mut *tx)
                .await?;
                let due: Vec<DueInstant> = current
                    .iter()
                    .flat_map(|c| &c.due)
                    .map(|d| DueInstant {
                        due_at: micros(d.due_at),
                        ..d.clone()
                    })
                    .collect();
                if !due.is_empty() {
                    Db::insert_due(&mut tx, &due).await?;
                }
                Db::notify(&mut tx, RECORDS_CHANNEL).await?;
            }
            tx.commit().await?;
            current.iter().map(|c| c.case_no.clone()).collect()
        });
        if !replaced.is_empty() {
            self.inner.records.send_modify(|n| *n += 1);
        }
        Ok(replaced)
    }

    /// [`Store::open_case_nos`] with the cases' projection rows (their clock views, which a
    /// change of the reminder thresholds alone recomputes from, and their versions, which
    /// [`Store::replace_due_keyed`] checks): one query per page.
    pub async fn open_case_rows(
        &self,
        closed_states: &[String],
        scope: Option<(&[String], &[String])>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>> {
        let Sql { text, args } = open_cases_sql(CASE_COLUMNS, closed_states, scope, after, limit);
        let raws: Vec<RawCase> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        raws.into_iter().map(RawCase::into_row).collect()
    }

    /// Up to `limit` case numbers after `after` (exclusive), in case-number order, of the
    /// cases whose state is not one of `closed_states` and that belong to one of `departments`
    /// or one of `matters` (every case when `scope` is None): the open cases a rule
    /// configuration change concerns.
    pub async fn open_case_nos(
        &self,
        closed_states: &[String],
        scope: Option<(&[String], &[String])>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        let Sql { text, args } = open_cases_sql("case_no", closed_states, scope, after, limit);
        Ok(on_db!(self, |pool| {
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        }))
    }
}

/// The page of open cases in `scope` after `after` that [`Store::open_case_nos`] and
/// [`Store::open_case_rows`] read, selecting `columns`.
fn open_cases_sql(
    columns: &str,
    closed_states: &[String],
    scope: Option<(&[String], &[String])>,
    after: Option<&str>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new("SELECT ");
    sql.push(columns).push(" FROM cases WHERE TRUE");
    if let Some(after) = after {
        sql.push(" AND case_no > ")
            .bind(Arg::Text(after.to_owned()));
    }
    if !closed_states.is_empty() {
        sql.push(" AND state NOT IN (");
        for (i, s) in closed_states.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text(s.clone()));
        }
        sql.push(")");
    }
    if let Some((departments, matters)) = scope {
        sql.push(" AND (FALSE");
        for (column, values) in [("department", departments), ("matter_code", matters)] {
            for v in values {
                sql.push(" OR ").push(column).push(" = ");
                sql.bind(Arg::Text(v.clone()));
            }
        }
        sql.push(")");
    }
    sql.push(" ORDER BY case_no LIMIT ")
        .bind(Arg::I64(i64::from(limit.min(MAX_READ))));
    sql
}
