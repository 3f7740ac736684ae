//! A calendar edit re-times exactly the open cases it touches, on PostgreSQL and on SQLite:
//! the database holds a copy of the `cn` calendar with an extra holiday (Tue 2024-03-12) that
//! the cases were timed by; an approval platform starting with the bundled calendar stores it
//! and, before it serves, replays the open cases whose running clocks span that day. Their
//! deadlines, due instants and projections move back a working day; a case opened after that
//! day and a closed case are not written.
//!
//! Times are local (Asia/Shanghai). The story matter promises 10 working days.

use egov_approval::catalogue::calendar_row;
use egov_approval::testing::fixtures::*;
use egov_domain::calendar::{Calendar, CalendarDay, DayKind};
use egov_platform::testing::{fresh_store, spawn_approval_on};
use egov_proto::approval::v1 as apb;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, Store};
use egov_tests::*;

/// The bundled calendar with Tue 2024-03-12 a holiday.
fn with_extra_holiday() -> Calendar {
    let cn = Calendar::china();
    let (first, last) = cn.known_range();
    let mut days = cn.days().to_vec();
    days.push(CalendarDay {
        date: chrono::NaiveDate::from_ymd_opt(2024, 3, 12).expect("date"),
        kind: DayKind::Holiday,
        name: "an extra holiday".into(),
    });
    days.sort_by_key(|d| d.date);
    Calendar::new(
        cn.id().clone(),
        cn.utc_offset(),
        chrono::Datelike::year(&first),
        chrono::Datelike::year(&last),
        days,
    )
    .expect("a calendar")
}

fn opened(case: &str, at: &str) -> Vec<apb::Record> {
    vec![
        rec(case, 1, at, application(MATTER, DEPARTMENT, REGION)),
        rec(case, 2, at, acceptance()),
    ]
}

fn promised(due: &[(String, chrono::DateTime<chrono::Utc>)]) -> String {
    due.iter()
        .find(|(clock, _)| clock == "promised")
        .map(|(_, t)| deadline_text(*t))
        .expect("a promised instant")
}

async fn stored_due(store: &Store, case_no: &str) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    store
        .due_for_case(case_no)
        .await
        .expect("due")
        .into_iter()
        .map(|d| (d.clock, d.due_at))
        .collect()
}

async fn a_calendar_edit_retimes_exactly_the_open_cases_it_touches(backend: Backend) {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(local("2024-03-04 09:00"));
    let mut app = spawn_approval_on(store.clone(), clock.clone()).await;
    app.client
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![the_matter()],
        })
        .await
        .expect("matter");
    // The database's copy of the calendar has the extra holiday before any case is timed.
    store
        .put_calendar(&calendar_row(&with_extra_holiday()))
        .await
        .expect("the edited copy");
    app.stop().await;
    let mut app = spawn_approval_on(store.clone(), clock.clone()).await;
    store
        .put_calendar(&calendar_row(&with_extra_holiday()))
        .await
        .expect("the edited copy again");

    let mut records = opened("CAL-SPANS", "2024-03-04 09:00");
    records.extend(opened("CAL-CLOSED", "2024-03-04 09:00"));
    records.push(rec("CAL-CLOSED", 3, "2024-03-04 09:30", decision(true)));
    records.push(rec("CAL-CLOSED", 4, "2024-03-04 09:40", completion()));
    records.extend(opened("CAL-AFTER", "2024-03-13 09:00"));
    clock.set(local("2024-03-13 10:00"));
    let answers = app
        .client
        .submit_records(apb::SubmitRecordsRequest { records })
        .await
        .expect("submit")
        .into_inner();
    assert!(
        answers
            .results
            .iter()
            .all(|r| r.status() == apb::RecordStatus::Stored),
        "{answers:?}"
    );
    // Timed by the copy: 10 working days from Mon 03-04 skipping 03-12 end on Tue 03-19.
    assert_eq!(
        promised(&stored_due(&store, "CAL-SPANS").await),
        "2024-03-19 24:00"
    );
    let after_before = stored_due(&store, "CAL-AFTER").await;
    let rows_before = store
        .get_case_rows(&["CAL-AFTER".to_owned(), "CAL-CLOSED".to_owned()])
        .await
        .expect("rows");
    app.stop().await;

    // The platform starts with the bundled calendar, where 03-12 is a working day.
    let app = spawn_approval_on(store.clone(), clock.clone()).await;
    let spans = stored_due(&store, "CAL-SPANS").await;
    assert_eq!(promised(&spans), "2024-03-18 24:00");
    assert_eq!(
        spans,
        expected_due(&opened("CAL-SPANS", "2024-03-04 09:00")),
        "every instant as a fresh ingest computes it"
    );
    let row = store
        .get_case_rows(&["CAL-SPANS".to_owned()])
        .await
        .expect("row")
        .pop()
        .expect("the case");
    assert_eq!(
        row.next_due_at.map(deadline_text).as_deref(),
        Some("2024-03-18 24:00"),
        "the projection moved with the instants"
    );
    assert_eq!(stored_due(&store, "CAL-AFTER").await, after_before);
    assert_eq!(
        store
            .get_case_rows(&["CAL-AFTER".to_owned(), "CAL-CLOSED".to_owned()])
            .await
            .expect("rows"),
        rows_before,
        "untouched cases are not written"
    );
    app.stop().await;
}

mod postgres {
    #[tokio::test]
    async fn a_calendar_edit_retimes_exactly_the_open_cases_it_touches() {
        super::a_calendar_edit_retimes_exactly_the_open_cases_it_touches(
            egov_store::Backend::Postgres,
        )
        .await
    }
}

mod sqlite {
    #[tokio::test]
    async fn a_calendar_edit_retimes_exactly_the_open_cases_it_touches() {
        super::a_calendar_edit_retimes_exactly_the_open_cases_it_touches(
            egov_store::Backend::Sqlite,
        )
        .await
    }
}
