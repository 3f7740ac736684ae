//! Warnings: firing due instants and inserting warnings (one transaction with the cursor
//! that moves past them), and reading them back by id, as pages and as a stream.

use super::*;

impl Store {
    // ----- warnings ----------------------------------------------------------------------

    /// In ONE transaction: deletes the fired due instants that still have exactly their
    /// `due_at` (one a commit replaced or removed meanwhile stays, to fire at its new time or
    /// never), and inserts the warning of each instant actually deleted, skipping any
    /// (case_no, rule, level) already stored. Returns only the new warnings, in stream order,
    /// so firing twice raises once.
    pub async fn fire_due(&self, firings: &[Firing]) -> Result<Vec<WarningRow>> {
        self.write_supervision(firings, None, &[]).await
    }

    /// Inserts warnings like [`Store::fire_due`], without due instants.
    pub async fn insert_warnings(&self, warnings: &[NewWarning]) -> Result<Vec<WarningRow>> {
        self.write_supervision(&[], None, warnings).await
    }

    /// The warning `id`, if stored.
    pub async fn get_warning(&self, id: i64) -> Result<Option<WarningRow>> {
        let raw: Option<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        raw.map(RawWarning::into_row).transpose()
    }

    /// Warnings matching `filter`, one page at a time, as the warning stream shows them: in
    /// stream order, and only those [`Store::read_warnings`] can return now (on PostgreSQL a
    /// warning written after a transaction still open on the server is held back until that
    /// transaction ends). The token is `Some` when more rows follow; it is the position of
    /// the page's last warning (its `Display` string), and a token that is not a warning
    /// position is [`StoreError::InvalidPageToken`].
    ///
    /// Listing and streaming are one view: a client may list, then stream from the
    /// `position` of any listed warning, and miss nothing, since no warning can later appear
    /// before a position that was listed.
    pub async fn list_warnings(
        &self,
        filter: &WarningFilter,
        page: Page,
    ) -> Result<(Vec<WarningRow>, Option<String>)> {
        let size = page.effective_size();
        let tag = filters_tag(filter);
        let after = match &page.token {
            None => WarningPosition::START,
            Some(token) => {
                let (body, token_tag) = split_token(token)?;
                let after = body
                    .parse::<WarningPosition>()
                    .map_err(|_| StoreError::InvalidPageToken)?;
                same_filters(token_tag, &tag)?;
                after
            }
        };
        let rows = self.warnings_after(after, filter, size + 1).await?;
        Ok(paginate(rows, size, |w| {
            tag_token(&w.position.to_string(), &tag)
        }))
    }

    /// Up to `limit` (at most 10 000) warnings matching `filter` after `after`, in stream
    /// order, for a resumable stream; never skips a warning (same rule as
    /// [`Store::read_log`]). Resume from the `position` of the last warning processed.
    pub async fn read_warnings(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.warnings_after(after, filter, limit.min(MAX_READ))
            .await
    }

    /// Whether a warning matching `filter` is stored after `after`, readable by
    /// [`Store::read_warnings`] now or still held back. A reader whose read came back empty
    /// asks this to know whether to look again soon: on PostgreSQL a warning held back behind
    /// an open transaction becomes readable when that transaction ends, and nothing notifies
    /// that.
    pub async fn warnings_pending(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
    ) -> Result<bool> {
        Ok(on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT EXISTS (SELECT 1 FROM warnings WHERE TRUE");
            Db::stream_beyond(&mut sql, "pos", after.tx(), after.n());
            warning_filter(&mut sql, filter);
            sql.push(")");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_one(pool)
                .await?
        }))
    }

    /// The position of the last warning [`Store::read_warnings`] can return now
    /// ([`WarningPosition::START`] when none).
    pub async fn warnings_head(&self) -> Result<WarningPosition> {
        let head: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT tx, pos FROM warnings WHERE ");
            Db::stream_visible(&mut sql, self.horizon_floor());
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("pos", true))
                .push(" LIMIT 1");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_optional(pool)
                .await?
        });
        Ok(head.map_or(WarningPosition::START, |(tx, id)| {
            self.saw_visible(tx);
            WarningPosition::new(tx, id)
        }))
    }

    /// [`StoreError::PositionAhead`] when `after` lies beyond every warning stored (held back
    /// or not): a position this database never handed out, which a stream would wait on
    /// forever (a client resuming after the database was restored from an older backup).
    pub async fn check_warning_position(&self, after: WarningPosition) -> Result<()> {
        if after == WarningPosition::START {
            return Ok(());
        }
        let last: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT tx, pos FROM warnings ORDER BY {} LIMIT 1",
                Db::stream_order("pos", true)
            )))
            .fetch_optional(pool)
            .await?
        });
        let head = last.map_or(WarningPosition::START, |(tx, n)| {
            WarningPosition::new(tx, n)
        });
        if after > head {
            return Err(StoreError::PositionAhead {
                position: after.to_string(),
                head: head.to_string(),
            });
        }
        Ok(())
    }

    /// A wake-up for every write that stores new warnings; see
    /// [`Store::listen_for_records`].
    pub async fn listen_for_warnings(&self) -> Result<Option<Notifications>> {
        self.listen(WARNINGS_CHANNEL, &self.inner.warnings).await
    }

    /// The stream read behind [`Store::read_warnings`] and [`Store::list_warnings`], in
    /// stream order `(tx, pos)`: a warning's `pos` moves to the end of the stream at each of
    /// its state changes ([`Store::transition_warning`]), so it is streamed again.
    pub(super) async fn warnings_after(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new(format!("SELECT {WARNING_COLUMNS} FROM warnings WHERE TRUE"));
            Db::stream_after(&mut sql, "pos", after.tx(), after.n(), self.horizon_floor());
            warning_filter(&mut sql, filter);
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("pos", false))
                .push(" LIMIT ")
                .bind(Arg::I64(i64::from(limit)));
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        if let Some(last) = raws.last() {
            self.saw_visible(last.tx);
        }
        convert(raws, RawWarning::into_row)
    }

    /// The one transaction behind `fire_due`, `insert_warnings`, `set_cursor` and
    /// `advance_cursor_with_warnings`.
    pub(super) async fn write_supervision(
        &self,
        firings: &[Firing],
        cursor: Option<(&str, &str)>,
        warnings: &[NewWarning],
    ) -> Result<Vec<WarningRow>> {
        if firings.is_empty() && cursor.is_none() && warnings.is_empty() {
            return Ok(Vec::new());
        }
        let fired: Vec<DueInstant> = firings
            .iter()
            .map(|f| DueInstant {
                due_at: micros(f.due.due_at),
                ..f.due.clone()
            })
            .collect();
        let mut raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let mut rows: Vec<WarningIns<'_>> = warnings.iter().map(warning_ins).collect();
            if !fired.is_empty() {
                // Only the instants still there are fired: one replaced by a commit meanwhile
                // (the case moved on) raises nothing.
                let deleted: HashSet<(String, String)> = Db::delete_due_exact(&mut tx, &fired)
                    .await?
                    .into_iter()
                    .collect();
                rows.extend(
                    firings
                        .iter()
                        .filter(|f| deleted.contains(&(f.due.case_no.clone(), f.due.clock.clone())))
                        .filter_map(|f| f.warning.as_ref().map(warning_ins)),
                );
            }
            if let Some((consumer, position)) = cursor {
                sqlx::query(UPSERT_CURSOR)
                    .bind(consumer)
                    .bind(position)
                    .bind(micros(Utc::now()))
                    .execute(&mut *tx)
                    .await?;
            }
            let new = if rows.is_empty() {
                Vec::new()
            } else {
                Db::insert_warnings(&mut tx, &rows).await?
            };
            if !new.is_empty() {
                Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            }
            tx.commit().await?;
            new
        });
        if !raws.is_empty() {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        raws.sort_by_key(|w| w.id);
        convert(raws, RawWarning::into_row)
    }
}

pub(super) fn warning_filter(sql: &mut Sql, filter: &WarningFilter) {
    sql.eq("department", filter.department.as_deref())
        .prefix("region", filter.region_prefix.as_deref())
        .any_of("level", &filter.levels)
        .eq("rule", filter.rule.as_deref())
        .eq("case_no", filter.case_no.as_deref())
        .eq("state", filter.state.as_deref())
        .eq("coalesce(office, region)", filter.office.as_deref());
}

pub(super) fn warning_ins(w: &NewWarning) -> WarningIns<'_> {
    WarningIns {
        case_no: &w.case_no,
        rule: &w.rule,
        level: &w.level,
        department: &w.department,
        region: &w.region,
        matter_code: &w.matter_code,
        due_at: w.due_at.map(micros),
        raised_at: micros(w.raised_at),
        detail: json_text(&w.detail),
    }
}
