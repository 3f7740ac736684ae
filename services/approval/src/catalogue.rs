//! The matter catalogue and the working-day calendars as the approval platform uses them:
//! stored in the shared database, validated with the domain, calendars cached in memory (they
//! change once a year, when a new year is loaded).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::FixedOffset;
use egov_domain::calendar::{Calendar, CalendarDay, CalendarId, DayKind};
use egov_domain::matter::Matter;
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
    /// a newer copy, with more years, keeps it).
    pub async fn open(store: Store) -> Result<Self, ApiError> {
        let bundled = Calendar::china();
        let stored = store.get_calendar(bundled.id().as_str()).await?;
        let (_, bundled_end) = bundled.known_range();
        let newer = stored
            .as_ref()
            .is_some_and(|row| row.last_year >= chrono::Datelike::year(&bundled_end));
        if !newer {
            store.put_calendar(&calendar_row(&bundled)).await?;
        }
        Ok(Self {
            store,
            calendars: Arc::default(),
        })
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
