//! The correction workflow (docs/design.md §3) in storage: moving a warning optimistically
//! from the state it was read in, its history, and the correction dues of cards.

use super::*;

/// The conditions of a card whose correction due has come and that still awaits its answer:
/// in a state the domain says awaits one ([`WarningState::awaiting_answer`]), and, for a yellow
/// card, no red card of the same case and rule yet (the red card is what a passed yellow
/// card's due raises, once). Rendered from the domain's names once.
fn awaiting_correction() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let states: Vec<String> = WarningState::awaiting_answer()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let (yellow, red) = (Level::YellowCard.as_str(), Level::RedCard.as_str());
        format!(
            "state IN ({}) \
             AND correction_due_at IS NOT NULL \
             AND NOT (level = '{yellow}' AND EXISTS (SELECT 1 FROM warnings r \
                 WHERE r.case_no = w.case_no AND r.rule = w.rule AND r.level = '{red}'))",
            states.join(", ")
        )
    });
    &SQL
}

impl Store {
    /// In ONE transaction: moves warning `id` from state `expected` to `new_state` and records
    /// the transition (who, when, why, attachments) in its history. The warning moves to the
    /// end of the warning stream, so streams show it again in its new state. Optimistic:
    /// [`StoreError::Conflict`] (naming the warning's case) when the warning is no longer in
    /// `expected`, [`StoreError::NotFound`] for an unknown id. The store does not judge
    /// whether the move is allowed; the domain's workflow does.
    #[allow(clippy::too_many_arguments)]
    pub async fn transition_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
    ) -> Result<WarningRow> {
        self.move_warning(
            id,
            expected,
            new_state,
            actor,
            reason,
            attachments,
            at,
            None,
        )
        .await
    }

    /// Like [`Store::transition_warning`], and in the same transaction hands the warning to
    /// another supervision office with a new correction due, as `to` says; only while the
    /// warning is still held by `to.from_office` (and, when `to.expected_due` is set, still has
    /// that correction due), so two instances firing one passed due, or a supervisor and the
    /// rules at once, move it once ([`StoreError::Conflict`] for the later). A card left with
    /// no correction due and an office set is never stamped again.
    #[allow(clippy::too_many_arguments)]
    pub async fn reassign_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
        to: &Reassignment<'_>,
    ) -> Result<WarningRow> {
        self.move_warning(
            id,
            expected,
            new_state,
            actor,
            reason,
            attachments,
            at,
            Some(to),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn move_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
        to: Option<&Reassignment<'_>>,
    ) -> Result<WarningRow> {
        let at = micros(at);
        let attachments = serde_json::Value::from(attachments.to_vec());
        let raw: RawWarning = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let sql = match to {
                None => format!(
                    "UPDATE warnings SET state = $1, {} WHERE id = $2 AND state = $3 \
                     RETURNING {WARNING_COLUMNS}",
                    Db::BUMP_WARNING
                ),
                Some(_) => format!(
                    "UPDATE warnings SET state = $1, office = $4, correction_due_at = $5, {} \
                     WHERE id = $2 AND state = $3 AND coalesce(office, region) = $6 \
                     AND ($7 IS NULL OR correction_due_at = $7) RETURNING {WARNING_COLUMNS}",
                    Db::BUMP_WARNING
                ),
            };
            let mut query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(new_state)
                .bind(id)
                .bind(expected);
            if let Some(to) = to {
                query = query
                    .bind(to.office)
                    .bind(to.correction_due_at.map(micros))
                    .bind(to.from_office)
                    .bind(to.expected_due.map(micros));
            }
            let updated: Option<RawWarning> = query.fetch_optional(&mut *tx).await?;
            let Some(row) = updated else {
                let case_no: Option<String> =
                    sqlx::query_scalar("SELECT case_no FROM warnings WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                return Err(match case_no {
                    None => StoreError::NotFound {
                        what: "warning",
                        key: id.to_string(),
                    },
                    Some(case_no) => StoreError::Conflict { case_no },
                });
            };
            sqlx::query(
                "INSERT INTO warning_transitions \
                     (warning_id, at, actor, from_state, to_state, reason, attachments, \
                      to_office) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(at)
            .bind(actor)
            .bind(expected)
            .bind(new_state)
            .bind(reason)
            .bind(json_text(&attachments))
            .bind(to.map(|t| t.office))
            .execute(&mut *tx)
            .await?;
            Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            tx.commit().await?;
            row
        });
        self.inner.warnings.send_modify(|n| *n += 1);
        raw.into_row()
    }

    /// The recorded transitions of warning `id`, oldest first (empty for a warning never
    /// moved, or unknown). The raise itself is the warning's `raised_at`.
    pub async fn warning_history(&self, id: i64) -> Result<Vec<WarningTransitionRow>> {
        type Raw = (
            i64,
            DateTime<Utc>,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
        );
        let raws: Vec<Raw> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT warning_id, at, actor, from_state, to_state, reason, attachments, \
                     to_office \
                 FROM warning_transitions WHERE warning_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        raws.into_iter()
            .map(
                |(warning_id, at, actor, from_state, to_state, reason, attachments, to_office)| {
                    let attachments = serde_json::from_str(&attachments).map_err(|e| {
                        StoreError::InvalidInput(format!("stored attachments: {e}").into())
                    })?;
                    Ok(WarningTransitionRow {
                        warning_id,
                        at,
                        actor,
                        from_state,
                        to_state,
                        reason,
                        attachments,
                        to_office,
                    })
                },
            )
            .collect()
    }

    /// Up to `limit` (at most 10 000) cards whose correction due is at or before `until` and
    /// that still await their answer (raised or acknowledged; a yellow card only while its
    /// case has no red card of the same rule), earliest due first.
    pub async fn due_corrections(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings w WHERE {} \
                 AND correction_due_at <= $1 ORDER BY correction_due_at, id LIMIT $2",
                awaiting_correction()
            )))
            .bind(micros(until))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawWarning::into_row)
    }

    /// The earliest correction due of a card still awaiting its answer (see
    /// [`Store::due_corrections`]), if any.
    pub async fn next_correction_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT correction_due_at FROM warnings w WHERE {} \
                 ORDER BY correction_due_at LIMIT 1",
                awaiting_correction()
            )))
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Up to `limit` yellow and red cards without a correction due yet, still with the office
    /// of their case's region (never reassigned), oldest first: the supervision platform
    /// computes their dues and stores them with [`Store::set_correction_dues`].
    pub async fn cards_without_correction_due(&self, limit: u32) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings \
                 WHERE level IN ('yellow_card', 'red_card') AND correction_due_at IS NULL \
                 AND office IS NULL ORDER BY id LIMIT $1"
            )))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawWarning::into_row)
    }

    /// In ONE transaction: sets the correction due of each (warning id, due) that has none
    /// yet, and its first correction due (kept through escalations, which replace the due:
    /// scores judge "corrected in time" against it). Not a state change: the warnings keep
    /// their place in the stream.
    pub async fn set_correction_dues(&self, dues: &[(i64, DateTime<Utc>)]) -> Result<()> {
        if dues.is_empty() {
            return Ok(());
        }
        let dues: Vec<(i64, DateTime<Utc>)> =
            dues.iter().map(|(id, due)| (*id, micros(*due))).collect();
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            Db::set_correction_dues(&mut tx, &dues).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
