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
}
