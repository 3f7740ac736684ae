//! The audit log (docs/design.md §9): who did what, append-only and hash-chained, so that a row
//! changed or deleted by someone with database access is found. Its rows, how a row's hash is
//! computed, how the chain is verified, and the store's queries.
//!
//! Each row's hash is SHA-256 over a version tag and its fields (prev_hash, seq, at as RFC 3339
//! UTC with microseconds, principal, role, action, target, outcome, peer), in the one canonical
//! encoding of the record log's chain (`chain::fields_hash`: each field length-prefixed, an
//! absent peer distinct from an empty one). `seq` counts from 1 without gaps and is covered, so
//! a deleted or reordered row breaks the chain as a changed one does. Appends are serialized:
//! on PostgreSQL under a table lock (`LOCK TABLE ... IN EXCLUSIVE MODE`: reads go on, a second
//! appender waits for the first to commit), on SQLite by `BEGIN IMMEDIATE`. So `seq` order is
//! commit order, and a reader by `seq` never skips a row that commits later.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::chain::fields_hash;
use crate::dialect::{Arg, Dialect, Sql, bind_args};
use crate::error::Result;
use crate::model::Page;
use crate::position::{decode_token, encode_token, filters_tag};
use crate::rows::micros;
use crate::store::{Store, on_db};

/// Tags the hash layout, so a future layout can coexist with this one.
const LAYOUT: &str = "egov.audit.v1";

/// Columns of [`AuditRow`], in order, for SELECT lists.
const AUDIT_COLUMNS: &str =
    "seq, at, principal, role, action, target, outcome, peer, prev_hash, hash";

/// One act to append (its `seq` and hashes are the store's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// When the act was decided (wall clock); stored to the microsecond.
    pub at: DateTime<Utc>,
    /// Who: a principal id, or "anonymous".
    pub principal: String,
    /// The principal's role, "" when unauthenticated.
    pub role: String,
    /// The RPC's full method name.
    pub action: String,
    /// What the call names (a warning id, a case, a hook), "" when none.
    pub target: String,
    /// "OK" or the gRPC code's name.
    pub outcome: String,
    /// The peer's socket address, when known.
    pub peer: Option<String>,
}

/// One stored row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AuditRow {
    /// Its place in the chain, from 1, without gaps.
    pub seq: i64,
    /// When the act was decided.
    pub at: DateTime<Utc>,
    /// Who ([`NewAudit::principal`]).
    pub principal: String,
    /// Their role.
    pub role: String,
    /// The RPC's full method name.
    pub action: String,
    /// What the call named.
    pub target: String,
    /// "OK" or the gRPC code's name.
    pub outcome: String,
    /// The peer's socket address, when known.
    pub peer: Option<String>,
    /// The hash of the row before (`""` for the first).
    pub prev_hash: String,
    /// [`audit_hash`] of this row.
    pub hash: String,
}

impl AuditRow {
    /// The hash this row's fields give now (equal to `hash` unless it was changed).
    pub fn recomputed_hash(&self) -> String {
        audit_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.principal,
            &self.role,
            &self.action,
            &self.target,
            &self.outcome,
            self.peer.as_deref(),
        )
    }
}

/// The hex SHA-256 of one audit row, given the previous row's hash (`""` for the first).
#[allow(clippy::too_many_arguments)] // the fields of one row, in their one order
pub fn audit_hash(
    prev_hash: &str,
    seq: i64,
    at: DateTime<Utc>,
    principal: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    peer: Option<&str>,
) -> String {
    let seq = seq.to_string();
    let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    fields_hash(&[
        Some(LAYOUT),
        Some(prev_hash),
        Some(&seq),
        Some(&at),
        Some(principal),
        Some(role),
        Some(action),
        Some(target),
        Some(outcome),
        peer,
    ])
}

/// Which audit rows [`Store::list_audit`] returns; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditFilter {
    /// Acts of this principal.
    pub principal: Option<String>,
    /// Acts of this RPC: its full method name (`/pkg.Service/Method`), or, without a `/`, its
    /// method name alone (`CloseWarning`).
    pub action: Option<String>,
    /// Acts that ended so ("OK", "PERMISSION_DENIED", ...).
    pub outcome: Option<String>,
    /// Acts at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Acts before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// What breaks the audit chain at a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditBreakKind {
    /// The row's fields no longer hash to its stored hash: changed in place.
    ContentChanged,
    /// The row does not link to the row before it (its `prev_hash` differs).
    LinkBroken,
    /// `seq` does not follow the row before: rows before it were deleted.
    Gap,
}

impl std::fmt::Display for AuditBreakKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuditBreakKind::ContentChanged => {
                "content changed: the row no longer hashes to its stored hash"
            }
            AuditBreakKind::LinkBroken => "link broken: the row does not link to the row before it",
            AuditBreakKind::Gap => "gap: rows before it were deleted",
        })
    }
}

/// The first row where the audit chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    /// The first row that fails.
    pub seq: i64,
    /// What fails there.
    pub kind: AuditBreakKind,
}

/// Verifies `rows` (in `seq` order) as the continuation of the chain after `prev` (`None`: the
/// rows start the log). Answers the first break.
pub fn verify_audit_rows<'a>(
    prev: Option<&AuditRow>,
    rows: impl IntoIterator<Item = &'a AuditRow>,
) -> Option<AuditBreak> {
    let (mut expected_seq, mut expected_prev) =
        prev.map_or((1, String::new()), |p| (p.seq + 1, p.hash.clone()));
    for row in rows {
        let kind = if row.seq != expected_seq {
            Some(AuditBreakKind::Gap)
        } else if row.prev_hash != expected_prev {
            Some(AuditBreakKind::LinkBroken)
        } else if row.recomputed_hash() != row.hash {
            Some(AuditBreakKind::ContentChanged)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Some(AuditBreak { seq: row.seq, kind });
        }
        expected_seq = row.seq + 1;
        expected_prev = row.hash.clone();
    }
    None
}

impl Store {
    /// Appends one act to the audit log, chained to the last row, and returns the stored row.
    /// Appends are serialized (see the module's doc), so concurrent callers chain in order.
    pub async fn append_audit(&self, act: &NewAudit) -> Result<AuditRow> {
        let at = micros(act.at);
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            if let Some(lock) = Db::LOCK_AUDIT {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let last: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let (prev_seq, prev_hash) = last.unwrap_or((0, String::new()));
            let seq = prev_seq + 1;
            let hash = audit_hash(
                &prev_hash,
                seq,
                at,
                &act.principal,
                &act.role,
                &act.action,
                &act.target,
                &act.outcome,
                act.peer.as_deref(),
            );
            sqlx::query(
                "INSERT INTO audit_log (seq, at, principal, role, action, target, outcome, \
                 peer, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(seq)
            .bind(at)
            .bind(&act.principal)
            .bind(&act.role)
            .bind(&act.action)
            .bind(&act.target)
            .bind(&act.outcome)
            .bind(act.peer.as_deref())
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(AuditRow {
                seq,
                at,
                principal: act.principal.clone(),
                role: act.role.clone(),
                action: act.action.clone(),
                target: act.target.clone(),
                outcome: act.outcome.clone(),
                peer: act.peer.clone(),
                prev_hash,
                hash,
            })
        })
    }

    /// Audit rows matching `filter`, oldest first, one page at a time; the token is `Some`
    /// when more rows follow.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<(Vec<AuditRow>, Option<String>)> {
        let size = page.effective_size();
        let tag = filters_tag(filter);
        let mut sql = Sql::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE TRUE"));
        if let Some(token) = &page.token {
            let after: i64 = decode_token('a', token, &tag)?
                .parse()
                .map_err(|_| crate::StoreError::InvalidPageToken)?;
            sql.push(" AND seq > ").bind(Arg::I64(after));
        }
        sql.eq("principal", filter.principal.as_deref())
            .eq("outcome", filter.outcome.as_deref());
        match filter.action.as_deref() {
            Some(action) if !action.contains('/') => {
                let escaped = action
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                sql.push(" AND action LIKE ")
                    .bind(Arg::Text(format!("%/{escaped}")))
                    .push(" ESCAPE '\\'");
            }
            action => {
                sql.eq("action", action);
            }
        }
        if let Some(since) = filter.since {
            sql.push(" AND at >= ").bind(Arg::Time(micros(since)));
        }
        if let Some(until) = filter.until {
            sql.push(" AND at < ").bind(Arg::Time(micros(until)));
        }
        sql.push(" ORDER BY seq LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let rows: Vec<AuditRow> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        Ok(crate::store::paginate(rows, size, |r| {
            encode_token('a', &r.seq.to_string(), &tag)
        }))
    }

    /// Up to `limit` (at most 10 000) audit rows after `after_seq`, in chain order, for
    /// verification and its followers. A row is readable once committed, and no row can
    /// commit behind one already readable (appends are serialized).
    pub async fn read_audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
        let limit = i64::from(limit.min(10_000));
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            )))
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The stored audit row that comes last before `seq` (by `seq`), if any: where a
    /// verification that starts at `seq` continues the chain from.
    pub async fn audit_before(&self, seq: i64) -> Result<Option<AuditRow>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT 1"
            )))
            .bind(seq)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// How many rows the audit log holds.
    pub async fn count_audit(&self) -> Result<i64> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
                .fetch_one(pool)
                .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, prev: &str, principal: &str) -> AuditRow {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let hash = audit_hash(prev, seq, at, principal, "admin", "/a/B", "", "OK", None);
        AuditRow {
            seq,
            at,
            principal: principal.to_owned(),
            role: "admin".to_owned(),
            action: "/a/B".to_owned(),
            target: String::new(),
            outcome: "OK".to_owned(),
            peer: None,
            prev_hash: prev.to_owned(),
            hash,
        }
    }

    #[test]
    fn a_chain_verifies_and_each_break_is_named() {
        let a = row(1, "", "alice");
        let b = row(2, &a.hash, "bob");
        let c = row(3, &b.hash, "carol");
        assert_eq!(verify_audit_rows(None, [&a, &b, &c]), None);
        assert_eq!(verify_audit_rows(Some(&a), [&b, &c]), None);

        let mut changed = b.clone();
        changed.principal = "mallory".to_owned();
        assert_eq!(
            verify_audit_rows(None, [&a, &changed, &c]),
            Some(AuditBreak {
                seq: 2,
                kind: AuditBreakKind::ContentChanged
            })
        );
        assert_eq!(
            verify_audit_rows(None, [&a, &c]).map(|b| b.kind),
            Some(AuditBreakKind::Gap)
        );
        let relinked = row(2, "forged", "bob");
        assert_eq!(
            verify_audit_rows(Some(&a), [&relinked]).map(|b| b.kind),
            Some(AuditBreakKind::LinkBroken)
        );
    }

    #[test]
    fn an_absent_peer_differs_from_an_empty_one() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        assert_ne!(
            audit_hash("", 1, t, "p", "r", "a", "t", "OK", None),
            audit_hash("", 1, t, "p", "r", "a", "t", "OK", Some(""))
        );
    }
}
