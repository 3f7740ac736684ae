//! The matter catalogue and the working-day calendars as the approval platform uses them:
//! stored in the shared database, validated with the domain, calendars cached in memory (they
//! change once a year, when a new year is loaded).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::FixedOffset;
use chrono::{DateTime, NaiveDate, Utc};
use egov_domain::calendar::{Calendar, CalendarDay, CalendarId, DayKind};
use egov_domain::matter::Matter;
use egov_domain::record::{Record, RecordBody};
use egov_store::{CalendarDayRow, CalendarRow, MatterRow, Store};

use crate::error::ApiError;

/// Calendars by id, loaded on first use.
#[derive(Debug, Clone)]
pub struct Catalogue {
    store: Store,
    calendars: Arc<RwLock<HashMap<String, Arc<Calendar>>>>,
}

impl Catalogue {
    /// Makes sure the bundled mainland China calendar is in the database (a database that has
    /// a newer copy, with more years, keeps it; one with the same years but other days, such
    /// as a copy from before a correction of the data, is brought up to the bundled one).
    pub async fn open(store: Store) -> Result<Self, ApiError> {
        Ok(Self::open_noting_edit(store).await?.0)
    }

    /// [`Catalogue::open`], with the edit it made to a stored calendar (the calendar and the
    /// days it changed, [`crate::recompute::changed_days`]), whose open cases must be
    /// re-timed ([`crate::ingest::Ingestor::recompute_calendar`]).
    pub async fn open_noting_edit(
        store: Store,
    ) -> Result<(Self, Option<(Arc<Calendar>, Vec<NaiveDate>)>), ApiError> {
        let bundled = Calendar::china();
        let bundled_row = calendar_row(&bundled);
        let stored = store.get_calendar(bundled.id().as_str()).await?;
        let keep = stored
            .as_ref()
            .is_some_and(|row| row.last_year > bundled_row.last_year || row == &bundled_row);
        let catalogue = Self {
            store,
            calendars: Arc::default(),
        };
        if keep {
            return Ok((catalogue, None));
        }
        let edit = match stored.as_ref().map(calendar_from_row) {
            Some(Ok(old)) => Some(catalogue.put_calendar_noting(&old, bundled).await?),
            Some(Err(error)) => {
                // Nothing can say which days changed: replaced as before, cases as they are.
                tracing::warn!(%error, "the stored calendar does not parse; replaced by the bundled one");
                catalogue.store.put_calendar(&bundled_row).await?;
                None
            }
            None => {
                catalogue.store.put_calendar(&bundled_row).await?;
                None
            }
        };
        Ok((catalogue, edit))
    }

    /// Stores `new` over `old` and answers it with the days that changed.
    pub async fn put_calendar_noting(
        &self,
        old: &Calendar,
        new: Calendar,
    ) -> Result<(Arc<Calendar>, Vec<NaiveDate>), ApiError> {
        self.put_calendar(&new).await?;
        let changed = crate::recompute::changed_days(old, &new);
        Ok((Arc::new(new), changed))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The calendar `id`, or None if no such calendar is stored.
    pub async fn calendar(&self, id: &CalendarId) -> Result<Option<Arc<Calendar>>, ApiError> {
        if let Some(c) = self.read_cache().get(id.as_str()) {
            return Ok(Some(c.clone()));
        }
        let Some(row) = self.store.get_calendar(id.as_str()).await? else {
            return Ok(None);
        };
        let calendar = Arc::new(calendar_from_row(&row)?);
        self.calendars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.as_str().to_owned(), calendar.clone());
        Ok(Some(calendar))
    }

    /// Stores a calendar (a new jurisdiction, or more years of one) and refreshes the cache.
    pub async fn put_calendar(&self, calendar: &Calendar) -> Result<(), ApiError> {
        self.store.put_calendar(&calendar_row(calendar)).await?;
        self.calendars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(calendar.id().as_str());
        Ok(())
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Calendar>>> {
        self.calendars.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The matter `code` from the catalogue.
    pub async fn matter(&self, code: &str) -> Result<Option<Arc<Matter>>, ApiError> {
        let Some(row) = self.store.get_matter(code).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(matter_from_row(&row)?)))
    }
}

/// A matter as a case counts on it: the catalogue version in force when the case was accepted
/// (or, before acceptance, received).
#[derive(Debug, Clone)]
pub struct CaseMatter {
    pub matter: Arc<Matter>,
    /// The catalogue version (1, 2 ...).
    pub version: i64,
    /// When that version came into force.
    pub valid_from: DateTime<Utc>,
}

impl Catalogue {
    /// Every version of the matter `code`, oldest first.
    pub async fn matter_versions(&self, code: &str) -> Result<Vec<CaseMatter>, ApiError> {
        self.store
            .matter_versions(code)
            .await?
            .into_iter()
            .map(|v| {
                Ok(CaseMatter {
                    matter: Arc::new(matter_from_row(&v.matter)?),
                    version: v.version,
                    valid_from: v.matter.updated_at,
                })
            })
            .collect()
    }

    /// The version of the matter `code` a case with `records` counts on (see
    /// [`version_in_force`]); None if the matter was never loaded.
    pub async fn matter_for(
        &self,
        code: &str,
        records: &[Record],
    ) -> Result<Option<CaseMatter>, ApiError> {
        let versions = self.matter_versions(code).await?;
        Ok(version_in_force(&versions, records).cloned())
    }
}

/// The instant that decides a case's catalogue version: its acceptance, or its receipt before
/// it is accepted. None for no records.
pub fn version_instant(records: &[Record]) -> Option<DateTime<Utc>> {
    let of = |accept: bool| {
        records
            .iter()
            .filter(|r| {
                if accept {
                    matches!(r.body, RecordBody::Acceptance { .. })
                } else {
                    matches!(r.body, RecordBody::Application(_))
                }
            })
            .map(|r| r.occurred_at)
            .min()
    };
    of(true).or_else(|| of(false))
}

/// The version in force at the case's acceptance (or receipt): the last one in force by then,
/// or the first version for a case older than the catalogue itself (records pushed after the
/// fact). `versions` are oldest first.
pub fn version_in_force<'a>(
    versions: &'a [CaseMatter],
    records: &[Record],
) -> Option<&'a CaseMatter> {
    let at = version_instant(records);
    at.and_then(|at| versions.iter().rev().find(|v| v.valid_from <= at))
        .or_else(|| versions.first())
}

/// The stored form of a matter: its definition is the domain value as JSON.
pub fn matter_row(matter: &Matter, now: chrono::DateTime<chrono::Utc>) -> MatterRow {
    MatterRow {
        matter_code: matter.code.to_string(),
        name: matter.name.clone(),
        department: matter.department.to_string(),
        kind: serde_json::to_value(matter.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        definition: serde_json::to_value(matter).unwrap_or_default(),
        updated_at: now,
    }
}

pub fn matter_from_row(row: &MatterRow) -> Result<Matter, ApiError> {
    serde_json::from_value(row.definition.clone()).map_err(|e| {
        ApiError::Internal(format!(
            "stored matter {} does not parse: {e}",
            row.matter_code
        ))
    })
}

pub fn calendar_row(c: &Calendar) -> CalendarRow {
    let (first, last) = c.known_range();
    CalendarRow {
        id: c.id().as_str().to_owned(),
        utc_offset_seconds: c.utc_offset().local_minus_utc(),
        first_year: chrono::Datelike::year(&first),
        last_year: chrono::Datelike::year(&last),
        days: c
            .days()
            .iter()
            .map(|d| CalendarDayRow {
                date: d.date,
                kind: d.kind.as_str().to_owned(),
                name: d.name.clone(),
            })
            .collect(),
    }
}

pub fn calendar_from_row(row: &CalendarRow) -> Result<Calendar, ApiError> {
    let corrupt = |what: String| ApiError::Internal(format!("stored calendar {}: {what}", row.id));
    let id = CalendarId::parse(&row.id).map_err(|e| corrupt(e.to_string()))?;
    let offset = FixedOffset::east_opt(row.utc_offset_seconds)
        .ok_or_else(|| corrupt(format!("bad UTC offset {}", row.utc_offset_seconds)))?;
    let days = row
        .days
        .iter()
        .map(|d| {
            let kind = match d.kind.as_str() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                other => return Err(corrupt(format!("unknown day kind {other:?}"))),
            };
            Ok(CalendarDay {
                date: d.date,
                kind,
                name: d.name.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Calendar::new(id, offset, row.first_year, row.last_year, days)
        .map_err(|e| corrupt(e.to_string()))
}
