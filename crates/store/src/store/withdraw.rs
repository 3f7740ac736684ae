//! Withdrawn warnings (docs/design.md §3.2) in storage: the live warnings of the cases a batch
//! of the log touches, withdrawing a warning (with the red card its yellow card gave, in the
//! same transaction), and raising a yellow card's red card only while that yellow card still
//! awaits its answer, so a red card never outlives the yellow card it stands on.

use egov_domain::warning::{WarningDetail, Withdrawal};

use super::warnings::warning_ins;
use super::*;

/// The actor of the changes the platform makes itself.
const SYSTEM: &str = "system";

impl Store {
    /// The warnings of these cases that are not withdrawn, oldest first: what a batch of
    /// later records may disprove. One query for the set.
    pub async fn live_warnings_of(&self, case_nos: &[String]) -> Result<Vec<WarningRow>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings WHERE {} AND state <> '{}' ORDER BY id",
                Db::one_of("case_no", "$1"),
                WarningState::Withdrawn.as_str()
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawWarning::into_row)
    }

    /// In ONE transaction: withdraws each warning of `withdrawals` that is not withdrawn yet,
    /// from whatever state it is in, by actor "system" at `at`: its state, its detail's
    /// [`Withdrawal`], a transition in its history with the reason, and a new place at the end
    /// of the warning stream. A red card raised by a withdrawn yellow card's passed correction
    /// due (its detail's `yellow_card`) is withdrawn with it. Returns the warnings withdrawn,
    /// in stream order; one already withdrawn (by another instance) is left out.
    pub async fn withdraw_warnings(
        &self,
        withdrawals: &[(i64, Withdrawal)],
        at: DateTime<Utc>,
    ) -> Result<Vec<WarningRow>> {
        if withdrawals.is_empty() {
            return Ok(Vec::new());
        }
        let at = micros(at);
        let withdrawn = WarningState::Withdrawn.as_str();
        let mut raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let mut done = Vec::new();
            let mut queue: Vec<(i64, Withdrawal)> = withdrawals.to_vec();
            while let Some((id, why)) = queue.pop() {
                let current: Option<(String, String, String, String)> =
                    sqlx::query_as(AssertSqlSafe(format!(
                        "SELECT state, detail, case_no, rule FROM warnings WHERE id = $1{}",
                        Db::FOR_UPDATE
                    )))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((state, detail, case_no, rule)) = current else {
                    continue;
                };
                if state == withdrawn {
                    continue;
                }
                let detail = WarningDetail {
                    withdrawal: Some(why.clone()),
                    ..WarningDetail::from_json(&serde_json::from_str(&detail).unwrap_or_default())
                };
                let row: RawWarning = sqlx::query_as(AssertSqlSafe(format!(
                    "UPDATE warnings SET state = $1, detail = $2, {} WHERE id = $3 \
                     RETURNING {WARNING_COLUMNS}",
                    Db::BUMP_WARNING
                )))
                .bind(withdrawn)
                .bind(json_text(&detail.to_json()))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO warning_transitions \
                         (warning_id, at, actor, from_state, to_state, reason, attachments, \
                          to_office) \
                     VALUES ($1, $2, $3, $4, $5, $6, '[]', NULL)",
                )
                .bind(id)
                .bind(at)
                .bind(SYSTEM)
                .bind(&state)
                .bind(withdrawn)
                .bind(&why.reason)
                .execute(&mut *tx)
                .await?;
                done.push(row);
                // The red card this card gave as a yellow card, read after the card is locked:
                // one raised meanwhile ([`Store::raise_red_card`]) committed before the lock.
                let reds: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT id, detail FROM warnings WHERE case_no = $1 AND rule = $2 \
                     AND level = '{}' AND state <> $3",
                    Level::RedCard.as_str()
                )))
                .bind(&case_no)
                .bind(&rule)
                .bind(withdrawn)
                .fetch_all(&mut *tx)
                .await?;
                for (red, detail) in reds {
                    let detail = WarningDetail::from_json(
                        &serde_json::from_str(&detail).unwrap_or_default(),
                    );
                    if detail.yellow_card == Some(id) {
                        queue.push((
                            red,
                            Withdrawal {
                                event_id: why.event_id.clone(),
                                reason: format!("yellow card {id} withdrawn: {}", why.reason),
                            },
                        ));
                    }
                }
            }
            if !done.is_empty() {
                Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            }
            tx.commit().await?;
            done
        });
        if !raws.is_empty() {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        raws.sort_by_key(|w| (w.tx, w.pos));
        convert(raws, RawWarning::into_row)
    }

    /// In ONE transaction: raises `red`, the red card of yellow card `yellow` whose correction
    /// due passed unanswered, only while that yellow card is still in state `expected` (read
    /// under a lock, so a withdrawal of the yellow card either waits for this commit and then
    /// withdraws the red card too, or commits first and this raises nothing). Returns the red
    /// card if it was raised (one per case, rule and level, as every warning).
    pub async fn raise_red_card(
        &self,
        yellow: i64,
        expected: &str,
        red: &NewWarning,
    ) -> Result<Option<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let state: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT state FROM warnings WHERE id = $1{}",
                Db::FOR_UPDATE
            )))
            .bind(yellow)
            .fetch_optional(&mut *tx)
            .await?;
            if state.as_deref() != Some(expected) {
                return Ok(None);
            }
            let new = Db::insert_warnings(&mut tx, &[warning_ins(red)]).await?;
            if !new.is_empty() {
                Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            }
            tx.commit().await?;
            new
        });
        if !raws.is_empty() {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        Ok(convert(raws, RawWarning::into_row)?.into_iter().next())
    }
}
