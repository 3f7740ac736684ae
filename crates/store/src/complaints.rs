//! Complaints' storage (docs/design.md §3.3): the complaints, every move of each (who, when,
//! what, the notice a named complainant is told), and their next due instant for the due
//! loop. The domain (`egov_domain::complaint`) decides every move and every due instant; the
//! store applies a move only to the version it was decided on, so two offices deciding at once
//! cannot both win.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::dialect::{Arg, Dialect, Sql, bind_args};
use crate::error::{Result, StoreError};
use crate::model::Page;
use crate::rows::micros;
use crate::store::{Store, on_db};

/// A complaint to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComplaint {
    /// When it was filed (the platform's clock).
    pub filed_at: DateTime<Utc>,
    /// `online`, `phone`, `letter` or `visit`.
    pub channel: String,
    /// `case`, `department` or `matter`.
    pub subject_kind: String,
    /// The case number, department code or matter code.
    pub subject: String,
    /// The department complained about.
    pub department: String,
    /// The region of the subject (the case's, else the department's).
    pub region: String,
    /// The region of the supervision office holding it.
    pub office: String,
    /// What the complainant says happened.
    pub summary: String,
    /// None for an anonymous complaint.
    pub complainant: Option<(String, String)>,
    /// Who filed it: the principal that called, or `public` for an anonymous caller.
    pub filed_by: String,
    /// When the office's acceptance decision is due.
    pub acceptance_due_at: DateTime<Utc>,
    /// Its next due instant; None when nothing more is due.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// A stored complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ComplaintRow {
    /// Its number.
    pub id: i64,
    /// When it was filed (the platform's clock).
    pub filed_at: DateTime<Utc>,
    /// See [`NewComplaint::channel`].
    pub channel: String,
    /// See [`NewComplaint::subject_kind`].
    pub subject_kind: String,
    /// See [`NewComplaint::subject`].
    pub subject: String,
    /// See [`NewComplaint::department`].
    pub department: String,
    /// See [`NewComplaint::region`].
    pub region: String,
    /// See [`NewComplaint::office`].
    pub office: String,
    /// What the complainant says happened.
    pub summary: String,
    /// The complainant's name; None when anonymous.
    pub complainant_name: Option<String>,
    /// The complainant's contact; None when anonymous.
    pub complainant_contact: Option<String>,
    /// Who filed or registered it.
    pub filed_by: String,
    /// Its state (`egov_domain::complaint::ComplaintState`).
    pub state: String,
    /// When the office's acceptance decision is due.
    pub acceptance_due_at: DateTime<Utc>,
    /// When the department's report is due, once forwarded.
    pub report_due_at: Option<DateTime<Utc>>,
    /// `substantiated` or `unsubstantiated`, once closed.
    pub outcome: Option<String>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// When the department last reported.
    pub reported_at: Option<DateTime<Utc>>,
    /// The named complainant's feedback: satisfied or not.
    pub feedback_satisfied: Option<bool>,
    /// Its next due instant; None when nothing more is due.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Moves made, plus one: what a move is decided on.
    pub version: i64,
}

/// One move of a complaint, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ComplaintEventRow {
    /// The complaint.
    pub complaint_id: i64,
    /// 1 for the filing, then one more per move.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// The move: `file`, `accept`, `refuse`, `forward`, `report`, `close`, `feedback`.
    #[sqlx(rename = "move")]
    pub action: String,
    /// The state before.
    pub from_state: String,
    /// The state after.
    pub to_state: String,
    /// The mover's note (a refusal's reason, the report, the review).
    pub note: String,
    /// What a named complainant is told.
    pub notice: Option<String>,
}

/// A move to apply, as the domain decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintMove {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// `accept`, `refuse`, `forward`, `report`, `close`, `feedback`.
    pub action: String,
    /// The state after.
    pub to_state: String,
    /// The mover's note (a refusal's reason, the report, the review).
    pub note: String,
    /// What a named complainant is told.
    pub notice: Option<String>,
    /// Set by a forward; kept otherwise.
    pub report_due_at: Option<DateTime<Utc>>,
    /// Set by a close.
    pub outcome: Option<String>,
    /// Set by a feedback.
    pub feedback_satisfied: Option<bool>,
    /// The next due instant in the new state.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// Which complaints a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplaintFilter {
    /// Only this department's.
    pub department: Option<String>,
    /// Only those held by offices in this region subtree.
    pub office: Option<String>,
    /// Only these states.
    pub states: Vec<String>,
}

const COLUMNS: &str = "id, filed_at, channel, subject_kind, subject, department, region, office, \
    summary, complainant_name, complainant_contact, filed_by, state, acceptance_due_at, \
    report_due_at, outcome, closed_at, reported_at, feedback_satisfied, next_due_at, version";

impl Store {
    /// Stores a new complaint in state `filed` with its first event.
    pub async fn file_complaint(&self, c: &NewComplaint) -> Result<ComplaintRow> {
        let (name, contact) = match &c.complainant {
            Some((n, k)) => (Some(n.as_str()), Some(k.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "INSERT INTO complaints (filed_at, channel, subject_kind, subject, department, \
                 region, office, summary, complainant_name, complainant_contact, filed_by, \
                 state, acceptance_due_at, next_due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'filed', $12, $13) \
             RETURNING {COLUMNS}"
        );
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let row: ComplaintRow = sqlx::query_as(AssertSqlSafe(sql))
                .bind(micros(c.filed_at))
                .bind(&c.channel)
                .bind(&c.subject_kind)
                .bind(&c.subject)
                .bind(&c.department)
                .bind(&c.region)
                .bind(&c.office)
                .bind(&c.summary)
                .bind(name)
                .bind(contact)
                .bind(&c.filed_by)
                .bind(micros(c.acceptance_due_at))
                .bind(c.next_due_at.map(micros))
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO complaint_events (complaint_id, seq, at, actor, move, from_state, \
                     to_state, note, notice) VALUES ($1, 1, $2, $3, 'file', '', 'filed', '', NULL)",
            )
            .bind(row.id)
            .bind(micros(c.filed_at))
            .bind(&c.filed_by)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The complaint `id`, if stored.
    pub async fn get_complaint(&self, id: i64) -> Result<Option<ComplaintRow>> {
        let sql = format!("SELECT {COLUMNS} FROM complaints WHERE id = $1");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The moves of complaint `id`, in order.
    pub async fn complaint_events(&self, id: i64) -> Result<Vec<ComplaintEventRow>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT complaint_id, seq, at, actor, move, from_state, to_state, note, notice \
                 FROM complaint_events WHERE complaint_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Complaints matching `filter`, newest first, a page at a time (the token is the last
    /// id shown).
    pub async fn list_complaints(
        &self,
        filter: &ComplaintFilter,
        page: Page,
    ) -> Result<(Vec<ComplaintRow>, Option<String>)> {
        let size = page.effective_size();
        let before = page.before_id()?;
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM complaints WHERE TRUE"));
        sql.eq("department", filter.department.as_deref());
        sql.prefix("office", filter.office.as_deref());
        sql.any_of("state", &filter.states);
        if let Some(before) = before {
            sql.push(" AND id < ").bind(Arg::I64(before));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let mut rows: Vec<ComplaintRow> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let next = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Applies move `m` to complaint `id` if it is still at `expected_version`, with its event,
    /// in ONE transaction; returns the complaint as it now is. [`StoreError::Conflict`] when
    /// another move came first, [`StoreError::NotFound`] when there is no such complaint.
    pub async fn move_complaint(
        &self,
        id: i64,
        expected_version: i64,
        m: &ComplaintMove,
    ) -> Result<ComplaintRow> {
        let sql = format!(
            "UPDATE complaints SET state = $3, version = version + 1, \
                 report_due_at = COALESCE($4, report_due_at), \
                 outcome = COALESCE($5, outcome), \
                 feedback_satisfied = COALESCE($6, feedback_satisfied), \
                 next_due_at = $7, \
                 closed_at = CASE WHEN $3 = 'closed' THEN COALESCE(closed_at, $8) ELSE closed_at END, \
                 reported_at = CASE WHEN $9 = 'report' THEN $8 ELSE reported_at END \
             WHERE id = $1 AND version = $2 RETURNING {COLUMNS}"
        );
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let before: Option<String> =
                sqlx::query_scalar("SELECT state FROM complaints WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(from_state) = before else {
                return Err(StoreError::NotFound {
                    what: "complaint",
                    key: id.to_string(),
                });
            };
            let row: Option<ComplaintRow> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .bind(expected_version)
                .bind(&m.to_state)
                .bind(m.report_due_at.map(micros))
                .bind(m.outcome.as_deref())
                .bind(m.feedback_satisfied)
                .bind(m.next_due_at.map(micros))
                .bind(micros(m.at))
                .bind(&m.action)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Err(StoreError::Conflict {
                    case_no: format!("complaint#{id}"),
                });
            };
            sqlx::query(
                "INSERT INTO complaint_events (complaint_id, seq, at, actor, move, from_state, \
                     to_state, note, notice) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(row.version)
            .bind(micros(m.at))
            .bind(&m.actor)
            .bind(&m.action)
            .bind(&from_state)
            .bind(&m.to_state)
            .bind(&m.note)
            .bind(m.notice.as_deref())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The earliest due instant of any complaint: when the due loop must wake for them.
    pub async fn next_complaint_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar(
                "SELECT next_due_at FROM complaints WHERE next_due_at IS NOT NULL \
                 ORDER BY next_due_at LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Up to `limit` complaints whose next due instant is at or before `until`, earliest first.
    pub async fn complaints_due(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ComplaintRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM complaints WHERE next_due_at IS NOT NULL \
             AND next_due_at <= $1 ORDER BY next_due_at, id LIMIT $2"
        );
        Ok(on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(micros(until))
                .bind(i64::from(limit.min(10_000)))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Moves complaint `id`'s next due instant from `fired` (as read) to `next`, only while it
    /// is still `fired` and its version `version` (a move meanwhile recomputed it); returns
    /// whether it moved.
    pub async fn advance_complaint_due(
        &self,
        id: i64,
        version: i64,
        fired: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = on_db!(self, |pool| {
            sqlx::query(
                "UPDATE complaints SET next_due_at = $4 \
                 WHERE id = $1 AND version = $2 AND next_due_at = $3",
            )
            .bind(id)
            .bind(version)
            .bind(micros(fired))
            .bind(next.map(micros))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}
