//! The stored catalogue: calendars, the matters with their versions, and the rule
//! configuration (each write versioned and checked against the version it expects).

use super::*;

impl Store {
    // ----- calendars ---------------------------------------------------------------------

    /// Stores a calendar, replacing its header and ALL its days.
    pub async fn put_calendar(&self, calendar: &CalendarRow) -> Result<()> {
        let mut dates: Vec<_> = calendar.days.iter().map(|d| d.date).collect();
        dates.sort_unstable();
        if let Some(w) = dates.windows(2).find(|w| w[0] == w[1]) {
            return Err(StoreError::InvalidInput(
                format!("calendar {:?} lists {} twice", calendar.id, w[0]).into(),
            ));
        }
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            sqlx::query(
                "INSERT INTO calendars (id, utc_offset_seconds, first_year, last_year) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET utc_offset_seconds = excluded.utc_offset_seconds, \
                    first_year = excluded.first_year, last_year = excluded.last_year",
            )
            .bind(calendar.id.as_str())
            .bind(calendar.utc_offset_seconds)
            .bind(calendar.first_year)
            .bind(calendar.last_year)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM calendar_days WHERE calendar_id = $1")
                .bind(calendar.id.as_str())
                .execute(&mut *tx)
                .await?;
            if !calendar.days.is_empty() {
                Db::insert_days(&mut tx, &calendar.id, &calendar.days).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The calendar `id` with its days in date order, if stored.
    pub async fn get_calendar(&self, id: &str) -> Result<Option<CalendarRow>> {
        // One statement, so the header and the days come from one snapshot.
        let rows: Vec<RawCalendarDay> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT c.id, c.utc_offset_seconds, c.first_year, c.last_year, \
                        d.day, d.kind, d.name \
                 FROM calendars c LEFT JOIN calendar_days d ON d.calendar_id = c.id \
                 WHERE c.id = $1 ORDER BY d.day",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut calendar = CalendarRow {
            id: first.id.clone(),
            utc_offset_seconds: first.utc_offset_seconds,
            first_year: first.first_year,
            last_year: first.last_year,
            days: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            if let (Some(date), Some(kind), Some(name)) = (row.day, row.kind, row.name) {
                calendar.days.push(CalendarDayRow { date, kind, name });
            }
        }
        Ok(Some(calendar))
    }

    // ----- the matter catalogue ------------------------------------------------------------

    /// Inserts or replaces matters in one transaction and says, per input row, what happened.
    /// A row whose name, department, kind and definition equal the stored ones is
    /// `Unchanged` and keeps its stored `updated_at`. Each created or changed matter also gets
    /// its next version in `matter_versions`, in force from its `updated_at`. A code given twice is applied in order.
    /// Outcomes are computed against the rows read in the same transaction; two concurrent
    /// loads of the same new code may both report `Created` (the last one wins).
    pub async fn upsert_matters(&self, matters: &[MatterRow]) -> Result<Vec<UpsertOutcome>> {
        if matters.is_empty() {
            return Ok(Vec::new());
        }
        let codes = distinct(matters.iter().map(|m| m.matter_code.as_str()));
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let sql = format!(
                "SELECT {MATTER_COLUMNS} FROM matters WHERE {}",
                Db::one_of("matter_code", "$1")
            );
            let stored: Vec<RawMatter> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(Keys(codes))
                .fetch_all(&mut *tx)
                .await?;
            let stored = convert(stored, RawMatter::into_row)?;
            let (outcomes, writes) = plan_matters(matters, stored);
            if !writes.is_empty() {
                Db::upsert_matters(&mut tx, &writes).await?;
                for m in &writes {
                    sqlx::query(
                        "INSERT INTO matter_versions (matter_code, version, name, department, \
                             kind, definition, valid_from) \
                         VALUES ($1, COALESCE((SELECT MAX(version) FROM matter_versions \
                             WHERE matter_code = $2), 0) + 1, $3, $4, $5, $6, $7)",
                    )
                    .bind(m.matter_code)
                    .bind(m.matter_code)
                    .bind(m.name)
                    .bind(m.department)
                    .bind(m.kind)
                    .bind(m.definition.as_str())
                    .bind(m.updated_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(outcomes)
        })
    }

    /// Every version of the matter `code`, oldest first (empty if it was never loaded).
    pub async fn matter_versions(&self, code: &str) -> Result<Vec<MatterVersion>> {
        let raws: Vec<(i64, RawMatter)> = on_db!(self, |pool| {
            let rows: Vec<RawMatterVersion> = sqlx::query_as(
                "SELECT version, matter_code, name, department, kind, definition, \
                     valid_from AS updated_at \
                 FROM matter_versions WHERE matter_code = $1 ORDER BY version",
            )
            .bind(code)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(RawMatterVersion::split).collect()
        });
        raws.into_iter()
            .map(|(version, raw)| {
                Ok(MatterVersion {
                    version,
                    matter: raw.into_row()?,
                })
            })
            .collect()
    }

    /// The matter `code`, if stored.
    pub async fn get_matter(&self, code: &str) -> Result<Option<MatterRow>> {
        let raw: Option<RawMatter> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {MATTER_COLUMNS} FROM matters WHERE matter_code = $1"
            )))
            .bind(code)
            .fetch_optional(pool)
            .await?
        });
        raw.map(RawMatter::into_row).transpose()
    }

    /// Matters in code order, optionally of one department, one page at a time; the token
    /// is `Some` when more rows follow.
    pub async fn list_matters(
        &self,
        department: Option<&str>,
        page: Page,
    ) -> Result<(Vec<MatterRow>, Option<String>)> {
        self.list_matters_within(department, None, page).await
    }

    /// Like [`Store::list_matters`], and when `within` is given only matters of departments
    /// registered in a region of that subtree (see [`Store::list_departments`]).
    pub async fn list_matters_within(
        &self,
        department: Option<&str>,
        within: Option<&str>,
        page: Page,
    ) -> Result<(Vec<MatterRow>, Option<String>)> {
        let size = page.effective_size();
        let tag = filters_tag(&(department, within));
        let mut sql = Sql::new(format!("SELECT {MATTER_COLUMNS} FROM matters WHERE TRUE"));
        if let Some(token) = &page.token {
            sql.push(" AND matter_code > ")
                .bind(Arg::Text(decode_token('m', token, &tag)?));
        }
        sql.eq("department", department);
        if let Some(within) = within {
            sql.push(" AND department IN (SELECT code FROM departments WHERE TRUE");
            sql.prefix("region", Some(within));
            sql.push(")");
        }
        sql.push(" ORDER BY matter_code LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let raws: Vec<RawMatter> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let rows = convert(raws, RawMatter::into_row)?;
        Ok(paginate(rows, size, |m| {
            encode_token('m', &m.matter_code, &tag)
        }))
    }

    // ----- the rule configuration --------------------------------------------------------

    /// The rule configuration in force, as `(version, json)`: the newest stored version, or
    /// None when none was ever stored (the platforms then use the built-in one).
    pub async fn get_rule_config(&self) -> Result<Option<(i64, String)>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as("SELECT version, config FROM rule_configs ORDER BY version DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Stores `json` as the rule configuration in force, if the one in force is still
    /// `expected_version` (0: none stored yet). Returns the new version (`expected + 1`), or
    /// None, writing nothing, when another writer stored a version meanwhile: reload, reapply
    /// the change and retry. The store does not read the JSON; its owner validates it.
    pub async fn put_rule_config(&self, expected_version: i64, json: &str) -> Result<Option<i64>> {
        let version = expected_version.saturating_add(1);
        let stored = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM rule_configs")
                .fetch_one(&mut *tx)
                .await?;
            let stored = if current.unwrap_or(0) == expected_version {
                // A concurrent writer of the same version makes this insert a no-op.
                sqlx::query(
                    "INSERT INTO rule_configs (version, config, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (version) DO NOTHING",
                )
                .bind(version)
                .bind(json)
                .bind(micros(Utc::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            } else {
                false
            };
            tx.commit().await?;
            stored
        });
        Ok(stored.then_some(version))
    }
}

/// A row of `matter_versions`, read as a matter row and its version.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct RawMatterVersion {
    version: i64,
    #[sqlx(flatten)]
    matter: RawMatter,
}

impl RawMatterVersion {
    pub(super) fn split(self) -> (i64, RawMatter) {
        (self.version, self.matter)
    }
}

/// Decides, in input order, what each matter row does; returns the outcomes and the rows to
/// write (the last version of each code that changed).
pub(super) fn plan_matters(
    matters: &[MatterRow],
    stored: Vec<MatterRow>,
) -> (Vec<UpsertOutcome>, Vec<MatterIns<'_>>) {
    let same = |a: &MatterRow, b: &MatterRow| {
        a.name == b.name
            && a.department == b.department
            && a.kind == b.kind
            && a.definition == b.definition
    };
    let mut current: HashMap<&str, &MatterRow> = HashMap::new();
    let stored: HashMap<String, MatterRow> = stored
        .into_iter()
        .map(|m| (m.matter_code.clone(), m))
        .collect();
    let mut last_write: HashMap<&str, usize> = HashMap::new();
    let mut outcomes = Vec::with_capacity(matters.len());
    for (i, m) in matters.iter().enumerate() {
        let code = m.matter_code.as_str();
        let before = current.get(code).copied().or_else(|| stored.get(code));
        let outcome = match before {
            None => UpsertOutcome::Created,
            Some(before) if same(before, m) => UpsertOutcome::Unchanged,
            Some(_) => UpsertOutcome::Updated,
        };
        if outcome != UpsertOutcome::Unchanged {
            current.insert(code, m);
            last_write.insert(code, i);
        }
        outcomes.push(outcome);
    }
    let mut indexes: Vec<usize> = last_write.into_values().collect();
    indexes.sort_unstable();
    let writes = indexes
        .into_iter()
        .map(|i| {
            let m = &matters[i];
            MatterIns {
                matter_code: &m.matter_code,
                name: &m.name,
                department: &m.department,
                kind: &m.kind,
                definition: json_text(&m.definition),
                updated_at: micros(m.updated_at),
            }
        })
        .collect();
    (outcomes, writes)
}
