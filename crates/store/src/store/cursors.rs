//! Consumer cursors: where each follower of a stream stands, moved in the transaction that
//! handles what it read.

use super::*;

impl Store {
    // ----- consumer cursors --------------------------------------------------------------

    /// The persisted position of a follower, if it has one.
    pub async fn get_cursor(&self, consumer: &str) -> Result<Option<String>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar("SELECT position FROM consumer_cursors WHERE consumer = $1")
                .bind(consumer)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Persists the position of a follower.
    pub async fn set_cursor(&self, consumer: &str, position: &str) -> Result<()> {
        self.write_supervision(&[], Some((consumer, position)), &[])
            .await
            .map(drop)
    }

    /// In ONE transaction: persists the follower's position and inserts the warnings it
    /// derived from what it read (skipping any already stored), so a restart neither loses
    /// nor repeats them. Returns only the new warnings.
    pub async fn advance_cursor_with_warnings(
        &self,
        consumer: &str,
        position: &str,
        warnings: &[NewWarning],
    ) -> Result<Vec<WarningRow>> {
        self.write_supervision(&[], Some((consumer, position)), warnings)
            .await
    }

    /// How far each follower of the record log or of the warning stream stands behind the
    /// head of what it follows, in rows, by consumer (for metrics). Counted in sequence
    /// numbers: exact on SQLite, an estimate on PostgreSQL (a sequence value is taken before
    /// commit, and a rolled-back one leaves a gap). Cursors of other streams are left out.
    pub async fn cursor_lags(&self) -> Result<Vec<(String, i64)>> {
        let cursors: Vec<(String, String)> = on_db!(self, |pool| {
            sqlx::query_as("SELECT consumer, position FROM consumer_cursors")
                .fetch_all(pool)
                .await?
        });
        let log = self.log_head().await?;
        let warnings = self.warnings_head().await?;
        Ok(cursors
            .into_iter()
            .filter_map(|(consumer, position)| {
                let lag = if let Ok(p) = position.parse::<crate::LogPosition>() {
                    log.n() - p.n()
                } else if let Ok(p) = position.parse::<crate::WarningPosition>() {
                    warnings.n() - p.n()
                } else {
                    return None;
                };
                Some((consumer, lag.max(0)))
            })
            .collect())
    }
}
