//! Cases and the record log: loading and listing cases, committing writes (the records, the
//! cases, their due instants and the warnings of the record rules in one transaction), the
//! hash chain's check, and reading the log in stream order.

use super::*;

impl Store {
    // ----- cases and the record log -----------------------------------------------------

    /// Cases with all their records, in the order asked (missing cases are left out, a case
    /// asked twice comes once). One query per table for the whole set, in one snapshot.
    pub async fn load_cases(&self, case_nos: &[String]) -> Result<Vec<CaseSnapshot>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let (cases, records): (Vec<RawCase>, Vec<RawRecord>) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_read(pool).await?;
            let cases = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {}",
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
            (cases, records)
        });
        let mut by_case: HashMap<String, CaseSnapshot> = HashMap::with_capacity(cases.len());
        for raw in cases {
            let case = raw.into_row()?;
            by_case.insert(
                case.case_no.clone(),
                CaseSnapshot {
                    case,
                    records: Vec::new(),
                },
            );
        }
        for raw in records {
            if let Some(snapshot) = by_case.get_mut(&raw.case_no) {
                snapshot.records.push(raw.into_record()?);
            }
        }
        Ok(keys
            .iter()
            .filter_map(|case_no| by_case.remove(*case_no))
            .collect())
    }

    /// The projection rows of these cases (no records), in the order asked; missing cases
    /// are left out. One query for the whole set.
    pub async fn get_case_rows(&self, case_nos: &[String]) -> Result<Vec<CaseRow>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let raws: Vec<RawCase> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {}",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(pool)
            .await?
        });
        let mut by_case: HashMap<String, CaseRow> = HashMap::with_capacity(raws.len());
        for raw in raws {
            let row = raw.into_row()?;
            by_case.insert(row.case_no.clone(), row);
        }
        Ok(keys
            .iter()
            .filter_map(|case_no| by_case.remove(*case_no))
            .collect())
    }

    /// One case with all its records, if stored.
    pub async fn get_case(&self, case_no: &str) -> Result<Option<CaseSnapshot>> {
        Ok(self
            .load_cases(&[case_no.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    /// The stored records among `event_ids` (in log order), to answer a resend the same as
    /// the first send. One query for the whole batch.
    pub async fn find_records(&self, event_ids: &[String]) -> Result<Vec<StoredRecord>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(event_ids.iter().map(String::as_str));
        let raws: Vec<RawRecord> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY seq",
                Db::one_of("event_id", "$1")
            )))
            .bind(Keys(keys))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawRecord::into_record)
    }

    /// Writes cases with their new records, due instants and the warnings the records raised,
    /// all or nothing, in ONE transaction with multi-row statements.
    ///
    /// Per write: the case must be at `expected_version` (or not exist when `None`); its
    /// records are appended in order and chained to the case's previous record; its version
    /// becomes `expected + records.len()`; its due instants are replaced; its warnings are
    /// inserted, skipping any (case_no, rule, level) already stored. Several writes for
    /// the same case apply in order (the second expects the version the first produced).
    ///
    /// Fails with [`StoreError::Conflict`], writing nothing, when a version does not match, a
    /// new case already exists, or an `event_id` is already stored (or given twice); with
    /// [`StoreError::InvalidInput`] when a record or due instant names another case than its
    /// write, or a write lists a clock twice. Returns the stored records in input order.
    pub async fn commit(
        &self,
        writes: &[CaseWrite],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        self.commit_with_hook(writes, received_at, std::future::ready(()))
            .await
    }

    /// [`Store::commit`] that awaits `before_commit` after every statement and before
    /// COMMIT, so tests can hold a transaction open (the late-commit gap of docs/design.md §7).
    #[doc(hidden)]
    pub async fn commit_with_hook(
        &self,
        writes: &[CaseWrite],
        received_at: DateTime<Utc>,
        before_commit: impl Future<Output = ()> + Send,
    ) -> Result<Vec<StoredRecord>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        validate_writes(writes)?;
        let received_at = micros(received_at);
        let case_nos = distinct(writes.iter().map(|w| w.case.case_no.as_str()));
        let (planned, seqs, raised) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            // Lock the existing cases in key order (no deadlock between two commits) and
            // read the versions and chain heads the new records continue.
            let heads: Vec<(String, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT case_no, version, last_hash FROM cases WHERE {} ORDER BY case_no{}",
                Db::one_of("case_no", "$1"),
                Db::FOR_UPDATE
            )))
            .bind(Keys(case_nos.clone()))
            .fetch_all(&mut *tx)
            .await?;
            let plan = plan_commit(writes, heads)?;
            if !plan.inserts.is_empty() {
                let inserted = Db::insert_cases(&mut tx, &plan.inserts).await?;
                let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
                if let Some(raced) = plan.inserts.iter().find(|c| !inserted.contains(c.case_no)) {
                    // A concurrent commit created this case after we looked.
                    return Err(conflict(raced.case_no));
                }
            }
            if !plan.updates.is_empty() {
                // Cannot miss under the row locks (PostgreSQL) or the write lock (SQLite)
                // taken above; checked all the same, so a broken assumption is a conflict
                // and not a silent lost update.
                let updated = Db::update_cases(&mut tx, &plan.updates).await?;
                if updated != plan.updates.len() as u64 {
                    return Err(conflict(plan.updates[0].case_no));
                }
            }
            let mut seqs = HashMap::with_capacity(plan.records.len());
            if !plan.records.is_empty() {
                let stored = Db::insert_records(&mut tx, received_at, &plan.records).await?;
                seqs.extend(stored.into_iter().map(|(seq, event_id)| (event_id, seq)));
                if let Some(missing) = plan.records.iter().find(|r| !seqs.contains_key(r.event_id))
                {
                    // Stored meanwhile by a concurrent commit: a resend that raced.
                    return Err(conflict(missing.case_no));
                }
            }
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM due_instants WHERE {}",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(case_nos.clone()))
            .execute(&mut *tx)
            .await?;
            if !plan.due.is_empty() {
                Db::insert_due(&mut tx, &plan.due).await?;
            }
            if !plan.records.is_empty() {
                Db::notify(&mut tx, RECORDS_CHANNEL).await?;
            }
            let warnings: Vec<WarningIns<'_>> = writes
                .iter()
                .flat_map(|w| w.warnings.iter().map(warning_ins))
                .collect();
            let raised = if warnings.is_empty() {
                false
            } else {
                let new = Db::insert_warnings(&mut tx, &warnings).await?;
                if !new.is_empty() {
                    Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
                }
                !new.is_empty()
            };
            before_commit.await;
            tx.commit().await?;
            (plan.records, seqs, raised)
        });
        if !seqs.is_empty() {
            self.inner.records.send_modify(|n| *n += 1);
        }
        if raised {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        stored_records(writes, planned, received_at, &seqs)
    }

    /// Recomputes the hash chain of a case and reports the first place it does not hold (a
    /// changed body, a deleted or reordered record, a deleted tail). [`StoreError::NotFound`]
    /// if the case does not exist.
    pub async fn verify_chain(&self, case_no: &str) -> Result<ChainReport> {
        let (head, records): (Option<(i64, String)>, Vec<RawRecord>) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_read(pool).await?;
            let head = sqlx::query_as("SELECT version, last_hash FROM cases WHERE case_no = $1")
                .bind(case_no)
                .fetch_optional(&mut *tx)
                .await?;
            let records = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE case_no = $1 ORDER BY seq"
            )))
            .bind(case_no)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (head, records)
        });
        let Some((version, head_hash)) = head else {
            return Err(StoreError::NotFound {
                what: "case",
                key: case_no.to_owned(),
            });
        };
        Ok(chain::verify(
            case_no,
            &head_hash,
            version,
            records.iter().map(RawRecord::link),
        ))
    }

    /// Cases in case-number order matching `filter`, one page at a time; the token is `Some`
    /// when more rows follow.
    pub async fn list_cases(
        &self,
        filter: &CaseFilter,
        page: Page,
    ) -> Result<(Vec<CaseRow>, Option<String>)> {
        let size = page.effective_size();
        // The instant `overdue` is judged at is not a filter: a page token stays good while
        // the clock moves on.
        let tag = filters_tag(&CaseFilter {
            now: None,
            ..filter.clone()
        });
        let mut sql = Sql::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE TRUE"));
        if let Some(token) = &page.token {
            let (opened_at, case_no) = decode_case_key(&decode_token('o', token, &tag)?)?;
            sql.push(" AND (opened_at, case_no) < (")
                .bind(Arg::Time(opened_at))
                .push(", ")
                .bind(Arg::Text(case_no))
                .push(")");
        }
        sql.eq("department", filter.department.as_deref())
            .prefix("region", filter.region_prefix.as_deref())
            .any_of("state", &filter.states)
            .eq("matter_code", filter.matter_code.as_deref());
        match (filter.overdue, filter.now) {
            (None, _) => {}
            (Some(overdue), None) => {
                sql.push(" AND overdue = ").bind(Arg::Bool(overdue));
            }
            (Some(true), Some(now)) => {
                sql.push(" AND (overdue OR next_due_at <= ")
                    .bind(Arg::Time(micros(now)))
                    .push(")");
            }
            (Some(false), Some(now)) => {
                sql.push(" AND NOT overdue AND (next_due_at IS NULL OR next_due_at > ")
                    .bind(Arg::Time(micros(now)))
                    .push(")");
            }
        }
        // Most recently opened first (the contract), the case number breaking ties.
        sql.push(" ORDER BY opened_at DESC, case_no DESC LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let raws: Vec<RawCase> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let rows = convert(raws, RawCase::into_row)?;
        Ok(paginate(rows, size, |c| {
            encode_token('o', &encode_case_key(c.opened_at, &c.case_no), &tag)
        }))
    }

    /// Up to `limit` (at most 10 000) records after `after`, each with its position, in log
    /// order. Never skips a record (docs/design.md §7): a record that a still-open transaction may yet
    /// commit before a returned one is held back until it can no longer appear behind it.
    /// A follower stores the position of the last entry it processed and reads on from there.
    ///
    /// On PostgreSQL a record becomes readable once every transaction that started writing
    /// before its own has ended, anywhere on the server (transaction ids are server-wide): a
    /// long-running writing transaction, even in another database, delays the log (it never
    /// loses records). Log order is commit order per case, and across cases the order of the
    /// writing transactions' ids.
    pub async fn read_log(&self, after: LogPosition, limit: u32) -> Result<Vec<LogEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let raws: Vec<RawRecord> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new(format!("SELECT {RECORD_COLUMNS} FROM records WHERE TRUE"));
            Db::stream_after(&mut sql, "seq", after.tx(), after.n(), self.horizon_floor());
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("seq", false))
                .push(" LIMIT ")
                .bind(Arg::I64(i64::from(limit.min(MAX_READ))));
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        if let Some(last) = raws.last() {
            self.saw_visible(last.position().tx());
        }
        raws.into_iter()
            .map(|raw| Ok((raw.position(), raw.into_record()?)))
            .collect()
    }

    /// Whether a record is stored after `after`, readable by [`Store::read_log`] now or still
    /// held back; see [`Store::warnings_pending`].
    pub async fn log_pending(&self, after: LogPosition) -> Result<bool> {
        Ok(on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT EXISTS (SELECT 1 FROM records WHERE TRUE");
            Db::stream_beyond(&mut sql, "seq", after.tx(), after.n());
            sql.push(")");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_one(pool)
                .await?
        }))
    }

    /// The position of the last record [`Store::read_log`] can return now
    /// ([`LogPosition::START`] when none): a follower that starts here sees only new records.
    pub async fn log_head(&self) -> Result<LogPosition> {
        let head: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT tx, seq FROM records WHERE ");
            Db::stream_visible(&mut sql, self.horizon_floor());
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("seq", true))
                .push(" LIMIT 1");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_optional(pool)
                .await?
        });
        Ok(head.map_or(LogPosition::START, |(tx, seq)| {
            self.saw_visible(tx);
            LogPosition::new(tx, seq)
        }))
    }

    /// [`StoreError::PositionAhead`] when `after` lies beyond every record stored (see
    /// [`Store::check_warning_position`]).
    pub async fn check_log_position(&self, after: LogPosition) -> Result<()> {
        if after == LogPosition::START {
            return Ok(());
        }
        let last: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT tx, seq FROM records ORDER BY {} LIMIT 1",
                Db::stream_order("seq", true)
            )))
            .fetch_optional(pool)
            .await?
        });
        let head = last.map_or(LogPosition::START, |(tx, n)| LogPosition::new(tx, n));
        if after > head {
            return Err(StoreError::PositionAhead {
                position: after.to_string(),
                head: head.to_string(),
            });
        }
        Ok(())
    }

    /// A wake-up for every commit that stores records (see [`Notifications`]). `Some` on
    /// both backends: PostgreSQL LISTEN/NOTIFY across processes; on SQLite an in-process
    /// signal for commits through this store and its clones (other processes: poll).
    pub async fn listen_for_records(&self) -> Result<Option<Notifications>> {
        self.listen(RECORDS_CHANNEL, &self.inner.records).await
    }
}

/// The key of a case list's page token: where the last case listed stands in the order
/// "most recently opened first", as `<opened_at in microseconds>:<case_no>`.
fn encode_case_key(opened_at: DateTime<Utc>, case_no: &str) -> String {
    format!("{}:{case_no}", opened_at.timestamp_micros())
}

fn decode_case_key(key: &str) -> Result<(DateTime<Utc>, String)> {
    let (micros, case_no) = key.split_once(':').ok_or(StoreError::InvalidPageToken)?;
    let opened_at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or(StoreError::InvalidPageToken)?;
    Ok((opened_at, case_no.to_owned()))
}
