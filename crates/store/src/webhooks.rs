//! Webhooks (issue 4): the registry of HTTP receivers of warnings and their outbox of
//! deliveries. The store keeps hooks and deliveries and moves them through their states
//! atomically; the supervision platform decides which warning goes to which hook, sends, and
//! says what happened.
//!
//! A delivery is unique per (hook, warning), and a warning is unique per (case, rule, level):
//! [`Store::enqueue_deliveries`] adds the deliveries of a batch of the warning stream in the
//! transaction that moves the follower's cursor, so neither a restart nor a warning streamed
//! again (after a state change) ever makes a second one. A sender claims due deliveries
//! ([`Store::claim_deliveries`]: one attempt more, held by a wall-clock lease so that another
//! sender leaves them alone while the HTTP call is in flight), then records the outcome
//! ([`Store::finish_delivery`]), which only applies while the claim is still its own.
//!
//! A hook is owed every matching warning raised after it exists. The follower's cursor
//! ([`DELIVERIES_CURSOR`]) is what decides it: whatever lies beyond the cursor is matched
//! against the hooks. So the cursor is started, if it does not exist yet, in the transaction
//! that creates a hook ([`Store::create_webhook`]), at the head of the warning stream as that
//! transaction sees it, and a follower starting for the first time only takes the head itself
//! when no cursor is stored ([`Store::start_deliveries_cursor`]): a follower that first
//! starts after a hook was created and warnings were raised (a platform just started on a
//! loaded machine answers RPCs before its workers ran) must not skip those warnings.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::dialect::{Arg, Dialect, Sql, bind_args};
use crate::error::{Result, StoreError};
use crate::model::Page;
use crate::position::{WarningPosition, decode_token, encode_token, filters_tag};
use crate::rows::micros;
use crate::store::{Store, UPSERT_CURSOR, on_db};

/// The consumer cursor of the follower that fills the outbox (the position in the warning
/// stream through which it enqueued deliveries).
pub const DELIVERIES_CURSOR: &str = "supervision.webhooks";

/// A delivery waiting for its (next) attempt.
pub const DELIVERY_PENDING: &str = "pending";
/// A delivery the receiver accepted (2xx); never sent again.
pub const DELIVERY_DELIVERED: &str = "delivered";
/// A delivery given up after its hook's `max_attempts`.
pub const DELIVERY_FAILED: &str = "failed";
/// A delivery still pending when its hook was removed; never sent.
pub const DELIVERY_CANCELLED: &str = "cancelled";

/// A hook to register.
#[derive(Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where to POST (validated by the caller: http:// with a host).
    pub url: String,
    /// The key of the body's HMAC-SHA256 signature.
    pub secret: String,
    /// Only warnings of this department; None for any.
    pub department: Option<String>,
    /// Only warnings whose region code starts with this prefix; None for any.
    pub region_prefix: Option<String>,
    /// Only warnings of this level or a more serious one (stored level name); None for any.
    pub min_level: Option<String>,
    /// Attempts before a delivery is given up (at least 1).
    pub max_attempts: i64,
    /// When it was registered (the platform's clock).
    pub created_at: DateTime<Utc>,
}

/// A registered hook.
#[derive(Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct WebhookRow {
    /// Its id, for removal and the deliveries listing.
    pub id: i64,
    /// See [`NewWebhook::url`].
    pub url: String,
    /// See [`NewWebhook::secret`]. Never printed (not even by `Debug`).
    #[serde(skip)]
    pub secret: String,
    /// See [`NewWebhook::department`].
    pub department: Option<String>,
    /// See [`NewWebhook::region_prefix`].
    pub region_prefix: Option<String>,
    /// See [`NewWebhook::min_level`].
    pub min_level: Option<String>,
    /// See [`NewWebhook::max_attempts`].
    pub max_attempts: i64,
    /// False once removed: it gets no new deliveries and its pending ones were cancelled.
    pub active: bool,
    /// See [`NewWebhook::created_at`].
    pub created_at: DateTime<Utc>,
    /// When it was removed.
    pub removed_at: Option<DateTime<Utc>>,
}

/// Secrets are never printed: `Debug` of a hook masks it.
impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"***")
            .field("department", &self.department)
            .field("region_prefix", &self.region_prefix)
            .field("min_level", &self.min_level)
            .field("max_attempts", &self.max_attempts)
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .field("removed_at", &self.removed_at)
            .finish()
    }
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &self.url)
            .field("secret", &"***")
            .field("department", &self.department)
            .field("region_prefix", &self.region_prefix)
            .field("min_level", &self.min_level)
            .field("max_attempts", &self.max_attempts)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// One warning to deliver to one hook, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Its id: the `Egov-Delivery` header, the same on every attempt, for receivers to
    /// deduplicate.
    pub id: i64,
    /// The hook it goes to.
    pub hook_id: i64,
    /// The warning it carries.
    pub warning_id: i64,
    /// What happened to the warning: [`EVENT_RAISED`] (raised, or changed state) or
    /// [`EVENT_WITHDRAWN`] (withdrawn: its ground was disproved). A hook gets each once.
    pub event: String,
    /// [`DELIVERY_PENDING`], [`DELIVERY_DELIVERED`], [`DELIVERY_FAILED`] or
    /// [`DELIVERY_CANCELLED`].
    pub state: String,
    /// Attempts started so far (the current one included, once claimed).
    pub attempts: i64,
    /// While pending: when the next attempt is due (the platform's clock).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the last failed attempt failed (kept after a later success, for the record).
    pub last_error: Option<String>,
    /// When it was enqueued (the platform's clock).
    pub created_at: DateTime<Utc>,
}

/// How many deliveries of one hook are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DeliveryCounts {
    /// Waiting for an attempt (or in flight).
    pub pending: i64,
    /// Accepted by the receiver.
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
    /// Cancelled by the hook's removal.
    pub cancelled: i64,
}

/// What an attempt came to, for [`Store::finish_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered {
        /// When (the platform's clock).
        at: DateTime<Utc>,
    },
    /// The attempt failed; try again later.
    Retry {
        /// When the next attempt is due (the platform's clock).
        at: DateTime<Utc>,
        /// Why it failed, for the operator.
        error: String,
    },
    /// The attempt failed and was the last one allowed.
    GaveUp {
        /// Why it failed, for the operator.
        error: String,
    },
}

const HOOK_COLUMNS: &str = "id, url, secret, department, region_prefix, min_level, \
     max_attempts, active, created_at, removed_at";

/// A delivery of a warning raised (or changed, before the follower read it).
pub const EVENT_RAISED: &str = "raised";
/// A delivery of a warning's withdrawal (docs/design.md §3.2).
pub const EVENT_WITHDRAWN: &str = "withdrawn";

const DELIVERY_COLUMNS: &str = "id, hook_id, warning_id, event, state, attempts, next_attempt_at, \
     delivered_at, last_error, created_at";

/// Stores a consumer's cursor unless it has one.
const INSERT_CURSOR_IF_ABSENT: &str = "INSERT INTO consumer_cursors (consumer, position, \
     updated_at) VALUES ($1, $2, $3) ON CONFLICT (consumer) DO NOTHING";

/// The most deliveries one claim or one listing page returns.
const MAX_CLAIM: u32 = 1000;

impl Store {
    /// Registers a hook (active) and returns it with its id. In the same transaction, starts
    /// the follower's cursor ([`DELIVERIES_CURSOR`]) at the head of the warning stream if it
    /// has none yet: the warnings beyond it, every one raised after the hook exists among
    /// them, are matched against the hook, however late the follower first starts.
    pub async fn create_webhook(&self, hook: &NewWebhook) -> Result<WebhookRow> {
        if hook.max_attempts < 1 {
            return Err(StoreError::InvalidInput(
                "a webhook needs at least one attempt".into(),
            ));
        }
        let sql = format!(
            "INSERT INTO webhooks (url, secret, department, region_prefix, min_level, \
                 max_attempts, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING {HOOK_COLUMNS}"
        );
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let row: WebhookRow = sqlx::query_as(AssertSqlSafe(sql))
                .bind(&hook.url)
                .bind(&hook.secret)
                .bind(&hook.department)
                .bind(&hook.region_prefix)
                .bind(&hook.min_level)
                .bind(hook.max_attempts)
                .bind(micros(hook.created_at))
                .fetch_one(&mut *tx)
                .await?;
            // The head read after the hook's row was written: a warning not in it is beyond
            // the cursor (on PostgreSQL, its transaction was still running when the head was
            // read), so it cannot be left behind by a hook that commits later.
            let mut sql = Sql::new("SELECT tx, pos FROM warnings WHERE ");
            Db::stream_visible(&mut sql, self.horizon_floor());
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("pos", true))
                .push(" LIMIT 1");
            let Sql { text, args } = sql;
            let head: Option<(i64, i64)> = bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_optional(&mut *tx)
                .await?;
            let head = head.map_or(WarningPosition::START, |(t, n)| WarningPosition::new(t, n));
            sqlx::query(INSERT_CURSOR_IF_ABSENT)
                .bind(DELIVERIES_CURSOR)
                .bind(head.to_string())
                .bind(micros(Utc::now()))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The position of the outbox's follower ([`DELIVERIES_CURSOR`]) to start from. When none
    /// is stored (no hook was ever created and no follower ran), it is started at the head of
    /// the warning stream: no hook exists that is owed what lies before it, and a first start
    /// on a large database does not read its whole history. Only stored if still absent, so a
    /// hook created meanwhile keeps the earlier position its creation stored.
    pub async fn start_deliveries_cursor(&self) -> Result<String> {
        if let Some(position) = self.get_cursor(DELIVERIES_CURSOR).await? {
            return Ok(position);
        }
        let head = self.warnings_head().await?;
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            sqlx::query(INSERT_CURSOR_IF_ABSENT)
                .bind(DELIVERIES_CURSOR)
                .bind(head.to_string())
                .bind(micros(Utc::now()))
                .execute(&mut *tx)
                .await?;
            let position: String =
                sqlx::query_scalar("SELECT position FROM consumer_cursors WHERE consumer = $1")
                    .bind(DELIVERIES_CURSOR)
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(position)
        })
    }

    /// Every hook, removed ones included, in id order (a city has a handful).
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks ORDER BY id");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?
        }))
    }

    /// The hook `id`, if registered (removed or not).
    pub async fn get_webhook(&self, id: i64) -> Result<Option<WebhookRow>> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = $1");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// In ONE transaction: makes hook `id` inactive (it gets no new deliveries) and cancels
    /// its pending deliveries; the hook and its deliveries stay, for the record. Removing a
    /// removed hook changes nothing. [`StoreError::NotFound`] for an unknown id.
    pub async fn remove_webhook(&self, id: i64, at: DateTime<Utc>) -> Result<WebhookRow> {
        let sql = format!(
            "UPDATE webhooks SET active = FALSE, removed_at = coalesce(removed_at, $2) \
             WHERE id = $1 RETURNING {HOOK_COLUMNS}"
        );
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let row: Option<WebhookRow> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .bind(micros(at))
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Err(StoreError::NotFound {
                    what: "webhook",
                    key: id.to_string(),
                });
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, \
                     leased_until = NULL \
                 WHERE hook_id = $1 AND state = 'pending'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// How many deliveries of each of the hooks `hook_ids` are in each state (hooks without
    /// any are absent). Only those hooks' rows are counted, through the (hook, state) index:
    /// the outbox keeps every delivery ever made, for the record, so counting it all would
    /// slow down with every warning sent.
    pub async fn delivery_counts(&self, hook_ids: &[i64]) -> Result<HashMap<i64, DeliveryCounts>> {
        if hook_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // The ids bound as one JSON array, whatever their number.
        let ids = serde_json::to_string(hook_ids)
            .map_err(|e| StoreError::InvalidInput(e.to_string().into()))?;
        let rows: Vec<(i64, String, i64)> = on_db!(self, |pool, Db| {
            let sql = format!(
                "SELECT hook_id, state, count(*) FROM webhook_deliveries WHERE {} \
                 GROUP BY hook_id, state",
                Db::one_of_json_ids("hook_id", "$1")
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(&ids)
                .fetch_all(pool)
                .await?
        });
        let mut counts: HashMap<i64, DeliveryCounts> = HashMap::new();
        for (hook_id, state, n) in rows {
            let c = counts.entry(hook_id).or_default();
            match state.as_str() {
                DELIVERY_PENDING => c.pending = n,
                DELIVERY_DELIVERED => c.delivered = n,
                DELIVERY_FAILED => c.failed = n,
                DELIVERY_CANCELLED => c.cancelled = n,
                other => return Err(StoreError::Corrupt(format!("delivery state {other:?}"))),
            }
        }
        Ok(counts)
    }

    /// In ONE transaction: adds a pending delivery, due at `at`, for each (hook id, warning
    /// id, event: [`EVENT_RAISED`] or [`EVENT_WITHDRAWN`]) whose hook is still active and that
    /// is not stored yet, and persists the follower's position (see [`Store::get_cursor`]), so
    /// a restart neither loses nor repeats a batch. Returns how many deliveries are new.
    pub async fn enqueue_deliveries(
        &self,
        consumer: &str,
        position: &str,
        pairs: &[(i64, i64, &str)],
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let at = micros(at);
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let mut added = 0;
            if !pairs.is_empty() {
                // Locks the active hooks (PostgreSQL), so a removal waits for this commit
                // and then cancels what it added: no delivery stays pending for a removed
                // hook.
                let active: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT id FROM webhooks WHERE active ORDER BY id{}",
                    Db::FOR_UPDATE
                )))
                .fetch_all(&mut *tx)
                .await?;
                let triples: Vec<(i64, i64, &str)> = pairs
                    .iter()
                    .filter(|(hook, _, _)| active.contains(hook))
                    .copied()
                    .collect();
                if !triples.is_empty() {
                    // One statement for the whole batch, the triples bound as one JSON array.
                    let json = serde_json::to_string(&triples)
                        .map_err(|e| StoreError::InvalidInput(e.to_string().into()))?;
                    added = sqlx::query(Db::INSERT_DELIVERIES)
                        .bind(json)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
            }
            sqlx::query(UPSERT_CURSOR)
                .bind(consumer)
                .bind(position)
                .bind(micros(Utc::now()))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Claims up to `limit` (at most 1 000) pending deliveries of hook `hook_id` (if active)
    /// due at or before `due_by` (the platform's clock) and not held by another sender,
    /// earliest due first: each gets one attempt more and is held for `lease` of wall time,
    /// the longest its attempt may take. Returns them with their new attempt count, which
    /// [`Store::finish_delivery`] must be given back.
    ///
    /// On PostgreSQL, concurrent claimers skip each other's rows (`SKIP LOCKED`); on SQLite
    /// writers are serialized.
    pub async fn claim_deliveries(
        &self,
        hook_id: i64,
        due_by: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DeliveryRow>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let wall = micros(Utc::now());
        let until = wall + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let mut rows: Vec<DeliveryRow> = on_db!(self, |pool, Db| {
            let sql = format!(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = $4 \
                 WHERE id IN (SELECT id FROM webhook_deliveries \
                     WHERE hook_id = $1 AND state = 'pending' AND next_attempt_at <= $2 \
                     AND (leased_until IS NULL OR leased_until <= $3) \
                     ORDER BY next_attempt_at, id LIMIT $5{skip_locked}) \
                 AND EXISTS (SELECT 1 FROM webhooks h WHERE h.id = $1 AND h.active) \
                 RETURNING {DELIVERY_COLUMNS}",
                skip_locked = Db::SKIP_LOCKED
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(hook_id)
                .bind(micros(due_by))
                .bind(wall)
                .bind(until)
                .bind(i64::from(limit.min(MAX_CLAIM)))
                .fetch_all(pool)
                .await?
        });
        rows.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(rows)
    }

    /// Records the outcome of attempt `attempt` of delivery `id` and releases it. Applies
    /// only while the delivery is pending at that attempt (not cancelled by the hook's
    /// removal, not taken over by another sender after its lease ran out); returns whether
    /// it did.
    pub async fn finish_delivery(
        &self,
        id: i64,
        attempt: i64,
        outcome: &DeliveryOutcome,
    ) -> Result<bool> {
        let (state, next, delivered, error) = match outcome {
            DeliveryOutcome::Delivered { at } => {
                (DELIVERY_DELIVERED, None, Some(micros(*at)), None)
            }
            DeliveryOutcome::Retry { at, error } => (
                DELIVERY_PENDING,
                Some(micros(*at)),
                None,
                Some(error.as_str()),
            ),
            DeliveryOutcome::GaveUp { error } => {
                (DELIVERY_FAILED, None, None, Some(error.as_str()))
            }
        };
        let updated = on_db!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, \
                     delivered_at = $3, last_error = coalesce($4, last_error), \
                     leased_until = NULL \
                 WHERE id = $5 AND state = 'pending' AND attempts = $6",
            )
            .bind(state)
            .bind(next)
            .bind(delivered)
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// When the earliest pending delivery of an active hook that no sender holds is due (the
    /// platform's clock), if any: when a sender must look next.
    pub async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>> {
        let wall = micros(Utc::now());
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar(
                "SELECT d.next_attempt_at FROM webhook_deliveries d \
                 JOIN webhooks h ON h.id = d.hook_id AND h.active \
                 WHERE d.state = 'pending' AND (d.leased_until IS NULL OR d.leased_until <= $1) \
                 ORDER BY d.next_attempt_at LIMIT 1",
            )
            .bind(wall)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The deliveries of hook `hook_id`, newest first, optionally only those in `states`,
    /// one page at a time; the token is `Some` when more rows follow.
    pub async fn list_deliveries(
        &self,
        hook_id: i64,
        states: &[String],
        page: Page,
    ) -> Result<(Vec<DeliveryRow>, Option<String>)> {
        let size = page.effective_size();
        let tag = filters_tag(&(hook_id, states));
        let mut sql = Sql::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE hook_id = "
        ));
        sql.bind(Arg::I64(hook_id));
        if let Some(token) = &page.token {
            let before: i64 = decode_token('d', token, &tag)?
                .parse()
                .map_err(|_| StoreError::InvalidPageToken)?;
            sql.push(" AND id < ").bind(Arg::I64(before));
        }
        sql.any_of("state", states);
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let mut rows: Vec<DeliveryRow> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let next = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last()
                .map(|d| encode_token('d', &d.id.to_string(), &tag))
        } else {
            None
        };
        Ok((rows, next))
    }
}
