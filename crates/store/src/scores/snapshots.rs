//! Snapshots of closed periods (versioned) and the changes noted late for them.

use super::*;

impl Store {
    /// Stores a snapshot of a period as its next version, if its newest version is still
    /// `expected` (0: not closed yet), in ONE transaction that fact writers wait for: `build`
    /// gets the period's rollup totals per department as of that transaction and returns the
    /// assessment to store with its results (its error is [`StoreError::InvalidInput`]). Every
    /// later change to the period's days is noted late.
    pub async fn store_score_snapshot<F, B>(
        &self,
        new: &NewScoreSnapshot<'_>,
        expected: i64,
        build: F,
    ) -> Result<SnapshotOutcome>
    where
        F: FnOnce(&[(String, CounterValues)]) -> std::result::Result<B, String> + Send,
        B: Into<BuiltSnapshot>,
    {
        let computed_at = micros(new.computed_at);
        let sums = sums();
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            Db::lock(&mut tx, SCORES_LOCK, false).await?;
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
            let built: BuiltSnapshot = build(&totals)
                .map_err(|e| StoreError::InvalidInput(e.into()))?
                .into();
            let assessment = built.assessment;
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
            for r in &built.results {
                sqlx::query(
                    "INSERT INTO score_results (period, version, department, region, rank, \
                         position, score_hundredths, grade, bottom_two) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&row.period)
                .bind(row.version)
                .bind(&r.department)
                .bind(&r.region)
                .bind(r.rank)
                .bind(r.position)
                .bind(r.score_hundredths)
                .bind(r.grade.as_deref())
                .bind(r.bottom_two)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(SnapshotOutcome::Stored(row))
        })
    }

    /// The results of a closed period's version in force, by position (unranked last, by
    /// department), read from the view `score_grades` analysts query; empty when not closed.
    pub async fn score_grades(&self, period: &str) -> Result<Vec<ScoreResultRow>> {
        type Raw = (
            String,
            String,
            Option<i64>,
            Option<i64>,
            i64,
            Option<String>,
            bool,
        );
        let raws: Vec<Raw> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT g.department, g.region, g.rank, g.position, r.score_hundredths, g.grade, \
                     g.bottom_two \
                 FROM score_grades g JOIN score_results r ON r.period = g.period \
                     AND r.version = g.version AND r.department = g.department \
                 WHERE g.period = $1 \
                 ORDER BY g.position IS NULL, g.position, g.department",
            )
            .bind(period)
            .fetch_all(pool)
            .await?
        });
        Ok(raws
            .into_iter()
            .map(
                |(department, region, rank, position, score_hundredths, grade, bottom_two)| {
                    ScoreResultRow {
                        department,
                        region,
                        rank,
                        position,
                        score_hundredths,
                        grade,
                        bottom_two,
                    }
                },
            )
            .collect())
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
