//! Applying score facts: one transaction replaces a batch of facts (newer versions only), adds
//! the difference to the daily rollups, and notes the changes that reached a closed period.

use super::*;

impl Store {
    /// Replaces the facts of `batch` in ONE transaction: each fact not older than the stored
    /// one replaces it, the difference is added to the daily rollups (rows that become all
    /// zero are removed), a change landing in a closed period is noted late (when
    /// `note_late`), the departments' regions are set, and the follower's cursor is persisted.
    pub async fn apply_score_facts(&self, batch: &ScoreBatch<'_>) -> Result<ScoreApplied> {
        // One fact per key: the newest version, the last given among equals.
        let mut by_key: BTreeMap<(&str, &str), &ScoreFacts> = BTreeMap::new();
        for f in batch.facts {
            let slot = by_key
                .entry((f.source.as_str(), f.key.as_str()))
                .or_insert(f);
            if f.version >= slot.version {
                *slot = f;
            }
        }
        let facts: Vec<&ScoreFacts> = by_key.into_values().collect();
        let at = micros(batch.at);
        let applied = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            Db::lock(&mut tx, SCORES_LOCK, true).await?;
            // 1. Claim the keys whose stored version is not newer; the others are left alone.
            let mut accepted: Vec<&ScoreFacts> = Vec::with_capacity(facts.len());
            for chunk in facts.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_fact_keys (source, key, version, department) VALUES {} \
                     ON CONFLICT (source, key) DO UPDATE SET version = excluded.version, \
                         department = excluded.department \
                     WHERE score_fact_keys.version <= excluded.version \
                     RETURNING source, key",
                    placeholders(chunk.len(), 4)
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|f| {
                        [
                            V::T(&f.source),
                            V::T(&f.key),
                            V::I(f.version),
                            V::T(&f.department),
                        ]
                    })
                    .collect();
                let claimed: Vec<(String, String)> =
                    bind_values!(sqlx::query_as(AssertSqlSafe(text)), &args)
                        .fetch_all(&mut *tx)
                        .await?;
                let claimed: HashSet<(String, String)> = claimed.into_iter().collect();
                accepted.extend(
                    chunk
                        .iter()
                        .filter(|f| claimed.contains(&(f.source.clone(), f.key.clone()))),
                );
            }
            // 2. What they added before.
            let mut old: OldFacts = HashMap::new();
            for source in ["case", "warning", "complaint", "accountability"] {
                let keys: Vec<&str> = accepted
                    .iter()
                    .filter(|f| f.source == source)
                    .map(|f| f.key.as_str())
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT key, day, department, {} FROM score_facts \
                     WHERE source = $1 AND {}",
                    columns(),
                    Db::one_of("key", "$2")
                )))
                .bind(source)
                .bind(Keys(keys.clone()))
                .fetch_all(&mut *tx)
                .await?;
                for row in rows {
                    let key: String = row.try_get(0)?;
                    let day: NaiveDate = row.try_get(1)?;
                    let department: String = row.try_get(2)?;
                    old.entry((source.to_owned(), key)).or_default().push((
                        day,
                        department,
                        counters_at(&row, 3)?,
                    ));
                }
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM score_facts WHERE source = $1 AND {}",
                    Db::one_of("key", "$2")
                )))
                .bind(source)
                .bind(Keys(keys))
                .execute(&mut *tx)
                .await?;
            }
            // 3. The new facts, and the differences per (department, day), overall and per
            // fact (for late notes).
            let mut delta: BTreeMap<(String, NaiveDate), CounterValues> = BTreeMap::new();
            let mut changed_days: Vec<(&ScoreFacts, Vec<NaiveDate>)> = Vec::new();
            let mut rows: Vec<(&ScoreFacts, &ScoreDay)> = Vec::new();
            for f in &accepted {
                let mut own: BTreeMap<(String, NaiveDate), CounterValues> = BTreeMap::new();
                if let Some(before) = old.get(&(f.source.clone(), f.key.clone())) {
                    for (day, department, c) in before {
                        add(own.entry((department.clone(), *day)).or_default(), c, -1);
                    }
                }
                for d in &f.days {
                    if d.counters != [0; SCORE_COUNTERS.len()] {
                        add(
                            own.entry((f.department.clone(), d.day)).or_default(),
                            &d.counters,
                            1,
                        );
                        rows.push((f, d));
                    }
                }
                own.retain(|_, c| *c != [0; SCORE_COUNTERS.len()]);
                if !own.is_empty() {
                    changed_days.push((f, own.keys().map(|(_, day)| *day).collect()));
                }
                for (k, c) in own {
                    add(delta.entry(k).or_default(), &c, 1);
                }
            }
            for chunk in rows.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_facts (source, key, day, department, {}) VALUES {}",
                    columns(),
                    placeholders(chunk.len(), 4 + SCORE_COUNTERS.len())
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|(f, d)| {
                        [
                            V::T(&f.source),
                            V::T(&f.key),
                            V::D(d.day),
                            V::T(&f.department),
                        ]
                        .into_iter()
                        .chain(d.counters.iter().map(|n| V::I(*n)))
                    })
                    .collect();
                bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                    .execute(&mut *tx)
                    .await?;
            }
            // 4. The rollups, in key order (two writers lock rows in the same order).
            delta.retain(|_, c| *c != [0; SCORE_COUNTERS.len()]);
            let delta: Vec<((String, NaiveDate), CounterValues)> = delta.into_iter().collect();
            let mut emptied: Vec<(String, NaiveDate)> = Vec::new();
            for chunk in delta.chunks(CHUNK) {
                let set = SCORE_COUNTERS
                    .iter()
                    .map(|c| format!("{c} = score_daily.{c} + excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let text = format!(
                    "INSERT INTO score_daily (department, day, {}) VALUES {} \
                     ON CONFLICT (department, day) DO UPDATE SET {set} \
                     RETURNING department, day, ({}) AS emptied",
                    columns(),
                    placeholders(chunk.len(), 2 + SCORE_COUNTERS.len()),
                    all_zero("")
                );
                let args: Vec<V<'_>> = chunk
                    .iter()
                    .flat_map(|((department, day), c)| {
                        [V::T(department), V::D(*day)]
                            .into_iter()
                            .chain(c.iter().map(|n| V::I(*n)))
                    })
                    .collect();
                let result: Vec<(String, NaiveDate, bool)> =
                    bind_values!(sqlx::query_as(AssertSqlSafe(text)), &args)
                        .fetch_all(&mut *tx)
                        .await?;
                emptied.extend(
                    result
                        .into_iter()
                        .filter(|(_, _, e)| *e)
                        .map(|(d, day, _)| (d, day)),
                );
            }
            for (department, day) in &emptied {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM score_daily WHERE department = $1 AND day = $2 AND {}",
                    all_zero("")
                )))
                .bind(department.as_str())
                .bind(*day)
                .execute(&mut *tx)
                .await?;
            }
            // 5. Late notes: a fact whose change reaches a closed period.
            let mut late = 0;
            if batch.note_late && !changed_days.is_empty() {
                let closed: Vec<(String, NaiveDate, NaiveDate)> = sqlx::query_as(
                    "SELECT period, first_day, last_day FROM score_snapshots WHERE version = 1",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut notes: Vec<(&str, &ScoreFacts)> = Vec::new();
                for (f, days) in &changed_days {
                    for (period, first, last) in &closed {
                        if days.iter().any(|d| first <= d && d <= last) {
                            notes.push((period.as_str(), f));
                        }
                    }
                }
                late = notes.len();
                for chunk in notes.chunks(CHUNK) {
                    let text = format!(
                        "INSERT INTO score_late (period, department, source, key, detail, \
                         noted_at) VALUES {}",
                        placeholders(chunk.len(), 6)
                    );
                    let args: Vec<V<'_>> = chunk
                        .iter()
                        .flat_map(|(period, f)| {
                            [
                                V::T(period),
                                V::T(&f.department),
                                V::T(&f.source),
                                V::T(&f.key),
                                V::T(&f.detail),
                                V::Ts(at),
                            ]
                        })
                        .collect();
                    bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // 6. Regions and the cursor.
            for chunk in batch.units.chunks(CHUNK) {
                let text = format!(
                    "INSERT INTO score_units (department, region) VALUES {} \
                     ON CONFLICT (department) DO UPDATE SET region = excluded.region",
                    placeholders(chunk.len(), 2)
                );
                let args: Vec<V<'_>> = chunk.iter().flat_map(|(d, r)| [V::T(d), V::T(r)]).collect();
                bind_values!(sqlx::query(AssertSqlSafe(text)), &args)
                    .execute(&mut *tx)
                    .await?;
            }
            // The cursor only moves forward: a slower instance applying an older batch after a
            // faster one must not send the next pass back over what was read (the facts
            // themselves are already protected by their versions). The score lock taken above
            // serializes writers, so reading then writing cannot interleave.
            if let Some((consumer, position)) = batch.cursor {
                let stored: Option<(String,)> =
                    sqlx::query_as("SELECT position FROM consumer_cursors WHERE consumer = $1")
                        .bind(consumer)
                        .fetch_optional(&mut *tx)
                        .await?;
                let forward = stored.is_none_or(|(stored,)| {
                    match (position_key(position), position_key(&stored)) {
                        (Some(new), Some(old)) => new > old,
                        // An unreadable stored cursor is replaced, as before.
                        _ => true,
                    }
                });
                if forward {
                    sqlx::query(UPSERT_CURSOR)
                        .bind(consumer)
                        .bind(position)
                        .bind(micros(Utc::now()))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            ScoreApplied {
                replaced: accepted.len(),
                late,
            }
        });
        Ok(applied)
    }
}
