//! The storage contract, one generic suite run against both backends: each test is an
//! `async fn(Store)` and `both_backends!` instantiates it for PostgreSQL (a fresh database per
//! test) and SQLite (a fresh file per test). PostgreSQL-only behaviour (the late-commit gap of
//! docs/design.md §7) has its own module at the end.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use egov_store::testing::{
    fresh_postgres, fresh_postgres_url, fresh_sqlite, fresh_sqlite_url, read_log_settled,
    read_warnings_settled, warnings_settled,
};
use egov_store::{
    Backend, CalendarDayRow, CalendarRow, CaseFilter, CaseRow, CaseWrite, ChainBreak,
    ChainBreakKind, DueInstant, DueReplacement, Firing, LogPosition, MatterRow, NewRecord,
    NewWarning, Page, Store, StoreError, UpsertOutcome, WarningFilter, WarningPosition,
};
use serde_json::json;

// ----- fixtures ------------------------------------------------------------------------------

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("fixture timestamp")
        .with_timezone(&Utc)
}

/// 2024-03-01 00:00 UTC plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    t("2024-03-01T00:00:00Z") + chrono::Duration::minutes(minutes)
}

fn case(case_no: &str, region: &str, department: &str) -> CaseRow {
    CaseRow {
        case_no: case_no.into(),
        matter_code: "M-001".into(),
        department: department.into(),
        region: region.into(),
        state: "accepted".into(),
        opened_at: at(0),
        updated_at: at(1),
        version: 0,
        next_due_at: Some(at(600)),
        overdue: false,
        provisional: false,
        view: json!({ "clocks": [{ "clock": "promised", "due_at": "2024-03-01T10:00:00Z" }] }),
    }
}

fn record(event_id: &str, case_no: &str, kind: &str, minute: i64) -> NewRecord {
    NewRecord {
        event_id: event_id.into(),
        case_no: case_no.into(),
        occurred_at: at(minute),
        source: "centre-1".into(),
        kind: kind.into(),
        body: json!({ "handler": "h-7", "minute": minute, "note": "材料齐全" }),
    }
}

fn due(case_no: &str, clock: &str, minute: i64) -> DueInstant {
    DueInstant {
        case_no: case_no.into(),
        clock: clock.into(),
        due_at: at(minute),
    }
}

/// A write creating `case_no` with one record per event id.
fn create(case_no: &str, event_ids: &[&str]) -> CaseWrite {
    CaseWrite {
        case: case(case_no, "330106", "dept-a"),
        expected_version: None,
        records: event_ids
            .iter()
            .enumerate()
            .map(|(i, e)| record(e, case_no, "application", i as i64))
            .collect(),
        due: vec![due(case_no, "promised", 600)],
        warnings: Vec::new(),
    }
}

/// A write appending to `case_no` at `expected`.
fn append(case_no: &str, expected: i64, event_ids: &[&str]) -> CaseWrite {
    CaseWrite {
        expected_version: Some(expected),
        ..create(case_no, event_ids)
    }
}

fn warning(case_no: &str, rule: &str, level: &str, region: &str) -> NewWarning {
    NewWarning {
        case_no: case_no.into(),
        rule: rule.into(),
        level: level.into(),
        department: "dept-a".into(),
        region: region.into(),
        matter_code: "M-001".into(),
        due_at: Some(at(600)),
        raised_at: at(601),
        detail: json!({ "rule": rule }),
    }
}

fn ids(entries: &[(LogPosition, egov_store::StoredRecord)]) -> Vec<&str> {
    entries.iter().map(|(_, r)| r.event_id.as_str()).collect()
}

/// SQL that disables the append-only protection of `records`, as a DBA could.
fn unprotect(store: &Store) -> &'static str {
    match store.backend() {
        Backend::Postgres => "ALTER TABLE records DISABLE TRIGGER USER",
        Backend::Sqlite => "DROP TRIGGER records_no_update; DROP TRIGGER records_no_delete",
    }
}

/// Instantiates each generic test for both backends.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::fresh_postgres().await).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::fresh_sqlite().await).await
                }
            )*
        }
    };
}

both_backends!(
    calendar_round_trip,
    matters_upsert_reports_created_updated_unchanged,
    matters_are_versioned,
    matters_list_by_department_in_pages,
    commit_writes_several_cases_in_one_call,
    commit_chains_several_writes_of_one_case,
    duplicate_event_id_conflicts_and_writes_nothing,
    wrong_expected_version_conflicts_and_writes_nothing,
    commit_rejects_records_of_another_case,
    load_cases_is_one_batch_in_the_order_asked,
    hash_chain_detects_changed_and_deleted_records,
    log_is_append_only,
    read_log_in_order_and_from_a_position,
    due_instants_are_replaced_by_commit,
    reminders_are_replaced_alone_and_pages_read_by_key,
    commit_inserts_the_records_warnings_once,
    commit_rejects_warnings_of_another_case,
    fire_due_is_idempotent_and_keeps_replaced_instants,
    warnings_list_and_stream_with_filters_and_pages,
    cursors_round_trip,
    advance_cursor_with_warnings_is_atomic,
    timestamps_round_trip_identically,
    list_cases_filters_and_keyset_pages,
    notifications_wake_on_commit,
    invalid_page_tokens_are_rejected,
    a_page_token_is_refused_with_other_filters,
    racing_creations_of_one_case_conflict,
    warning_transitions_are_optimistic_recorded_and_streamed_again,
);

// ----- migrations ----------------------------------------------------------------------------

async fn migrations_are_idempotent(url: String) {
    let store = Store::connect(&url).await.expect("first connect");
    store
        .commit(&[create("C-1", &["e1"])], at(5))
        .await
        .expect("commit");
    store.close().await;
    let again = Store::connect(&url)
        .await
        .expect("second connect migrates again");
    let snapshot = again
        .get_case("C-1")
        .await
        .expect("read")
        .expect("case kept");
    assert_eq!(snapshot.records.len(), 1);
    assert!(again.verify_chain("C-1").await.expect("verify").is_intact());
    assert!(matches!(store.ping().await, Err(StoreError::Closed)));
    again.ping().await.expect("the second store is open");
}

#[tokio::test]
async fn postgres_migrations_are_idempotent() {
    migrations_are_idempotent(fresh_postgres_url().await).await;
}

#[tokio::test]
async fn sqlite_migrations_are_idempotent() {
    migrations_are_idempotent(fresh_sqlite_url()).await;
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_rejects_bad_urls() {
    let dir = std::env::temp_dir().join(format!("egov_t_dir_{}", std::process::id()));
    let url = format!("sqlite://{}/nested/egov.db", dir.display());
    let store = Store::connect(&url)
        .await
        .expect("connect creates the directory");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(
        Store::connect("mysql://x").await,
        Err(StoreError::InvalidUrl(_))
    ));
    assert!(matches!(
        Store::connect("sqlite::memory:").await,
        Err(StoreError::InvalidUrl(_))
    ));
}

// ----- calendars -----------------------------------------------------------------------------

async fn calendar_round_trip(store: Store) {
    let day = |y, m, d, kind: &str, name: &str| CalendarDayRow {
        date: NaiveDate::from_ymd_opt(y, m, d).expect("fixture date"),
        kind: kind.into(),
        name: name.into(),
    };
    let mut calendar = CalendarRow {
        id: "cn".into(),
        utc_offset_seconds: 8 * 3600,
        first_year: 2024,
        last_year: 2025,
        days: vec![
            day(2024, 10, 1, "holiday", "National Day"),
            day(2024, 2, 10, "holiday", "Spring Festival"),
            day(2024, 2, 4, "workday", "Spring Festival"),
        ],
    };
    store.put_calendar(&calendar).await.expect("put");
    let stored = store
        .get_calendar("cn")
        .await
        .expect("get")
        .expect("stored");
    calendar.days.sort_by_key(|d| d.date);
    assert_eq!(stored, calendar);

    // Putting again replaces the header and all the days.
    calendar.last_year = 2026;
    calendar.days = vec![day(2026, 1, 1, "holiday", "New Year")];
    store.put_calendar(&calendar).await.expect("replace");
    assert_eq!(
        store.get_calendar("cn").await.expect("get"),
        Some(calendar.clone())
    );

    // A calendar without exceptions is still a calendar.
    calendar.id = "empty".into();
    calendar.days.clear();
    store.put_calendar(&calendar).await.expect("put empty");
    assert_eq!(
        store.get_calendar("empty").await.expect("get"),
        Some(calendar.clone())
    );
    assert_eq!(store.get_calendar("missing").await.expect("get"), None);

    calendar.days = vec![
        day(2026, 1, 1, "holiday", "a"),
        day(2026, 1, 1, "holiday", "b"),
    ];
    assert!(matches!(
        store.put_calendar(&calendar).await,
        Err(StoreError::InvalidInput(_))
    ));
}

// ----- matters -------------------------------------------------------------------------------

fn matter(code: &str, department: &str, promised: u32) -> MatterRow {
    MatterRow {
        matter_code: code.into(),
        name: format!("matter {code}"),
        department: department.into(),
        kind: "promised".into(),
        definition: json!({ "promised_limit": { "value": promised, "unit": "working_days" } }),
        updated_at: at(0),
    }
}

async fn matters_upsert_reports_created_updated_unchanged(store: Store) {
    let a = matter("A", "d1", 5);
    let b = matter("B", "d1", 5);
    assert_eq!(
        store
            .upsert_matters(&[a.clone(), b.clone()])
            .await
            .expect("create"),
        vec![UpsertOutcome::Created, UpsertOutcome::Created]
    );

    let a_again = MatterRow {
        updated_at: at(60),
        ..a.clone()
    };
    let b_changed = MatterRow {
        updated_at: at(60),
        ..matter("B", "d1", 3)
    };
    assert_eq!(
        store
            .upsert_matters(&[a_again, b_changed.clone()])
            .await
            .expect("upsert"),
        vec![UpsertOutcome::Unchanged, UpsertOutcome::Updated]
    );
    // Unchanged keeps the stored row, updated_at included.
    assert_eq!(store.get_matter("A").await.expect("get"), Some(a));
    assert_eq!(store.get_matter("B").await.expect("get"), Some(b_changed));
    assert_eq!(store.get_matter("Z").await.expect("get"), None);

    // A code given twice applies in order; the last version is stored.
    let c1 = matter("C", "d2", 1);
    let c2 = matter("C", "d2", 2);
    assert_eq!(
        store
            .upsert_matters(&[c1.clone(), c2.clone(), c2.clone()])
            .await
            .expect("upsert"),
        vec![
            UpsertOutcome::Created,
            UpsertOutcome::Updated,
            UpsertOutcome::Unchanged
        ]
    );
    assert_eq!(store.get_matter("C").await.expect("get"), Some(c2));
    assert_eq!(store.upsert_matters(&[]).await.expect("empty"), vec![]);
}

/// Issue 10, item 6: every created or changed matter is a new version in `matter_versions`,
/// in force from its `updated_at`; an unchanged one adds none; a code given twice in one call
/// stores only the last version.
async fn matters_are_versioned(store: Store) {
    let v1 = matter("V", "d1", 5);
    store
        .upsert_matters(std::slice::from_ref(&v1))
        .await
        .expect("create");
    let same = MatterRow {
        updated_at: at(30),
        ..v1.clone()
    };
    store.upsert_matters(&[same]).await.expect("unchanged");
    let v2 = MatterRow {
        updated_at: at(60),
        ..matter("V", "d1", 400)
    };
    let v3 = MatterRow {
        updated_at: at(120),
        kind: "immediate".into(),
        ..matter("V", "d1", 0)
    };
    store
        .upsert_matters(std::slice::from_ref(&v2))
        .await
        .expect("update");
    store
        .upsert_matters(&[matter("V", "d1", 7), v3.clone()])
        .await
        .expect("update twice");
    let versions = store.matter_versions("V").await.expect("versions");
    let got: Vec<(i64, MatterRow)> = versions
        .into_iter()
        .map(|v| (v.version, v.matter))
        .collect();
    assert_eq!(got, vec![(1, v1), (2, v2), (3, v3.clone())]);
    assert_eq!(store.get_matter("V").await.expect("get"), Some(v3));
    assert!(
        store
            .matter_versions("NONE")
            .await
            .expect("none")
            .is_empty()
    );
}

async fn matters_list_by_department_in_pages(store: Store) {
    let matters: Vec<MatterRow> = (0..7)
        .map(|i| {
            matter(
                &format!("M{i:02}"),
                if i % 2 == 0 { "even" } else { "odd" },
                5,
            )
        })
        .collect();
    store.upsert_matters(&matters).await.expect("upsert");

    let (page1, token) = store
        .list_matters(None, Page::first(5))
        .await
        .expect("page 1");
    assert_eq!(page1.len(), 5);
    let token = token.expect("more pages");
    let (page2, end) = store
        .list_matters(None, Page::next(5, token))
        .await
        .expect("page 2");
    assert_eq!(end, None);
    let codes: Vec<String> = page1
        .iter()
        .chain(&page2)
        .map(|m| m.matter_code.clone())
        .collect();
    assert_eq!(
        codes,
        matters
            .iter()
            .map(|m| m.matter_code.clone())
            .collect::<Vec<_>>()
    );

    let (even, end) = store
        .list_matters(Some("even"), Page::default())
        .await
        .expect("even");
    assert_eq!(end, None);
    assert_eq!(
        even.iter()
            .map(|m| m.matter_code.as_str())
            .collect::<Vec<_>>(),
        ["M00", "M02", "M04", "M06"]
    );
}

// ----- commit --------------------------------------------------------------------------------

async fn commit_writes_several_cases_in_one_call(store: Store) {
    let stored = store
        .commit(
            &[
                create("C-1", &["a1", "a2"]),
                create("C-2", &["b1"]),
                create("C-3", &[]),
            ],
            at(10),
        )
        .await
        .expect("commit");
    assert_eq!(
        stored
            .iter()
            .map(|r| r.event_id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2", "b1"]
    );
    assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(stored[0].prev_hash, "");
    assert_eq!(stored[1].prev_hash, stored[0].hash);
    assert_eq!(stored[2].prev_hash, "", "each case has its own chain");
    assert!(stored.iter().all(|r| r.received_at == at(10)));

    let snapshots = store
        .load_cases(&["C-1".into(), "C-2".into(), "C-3".into()])
        .await
        .expect("load");
    let versions: Vec<i64> = snapshots.iter().map(|s| s.case.version).collect();
    assert_eq!(versions, [2, 1, 0], "version = number of records");
    assert_eq!(snapshots[0].records, stored[..2]);
    assert_eq!(snapshots[1].records, stored[2..]);
    assert_eq!(store.count_open_due().await.expect("count"), 3);

    // The next commit appends to two cases at once.
    let more = store
        .commit(
            &[append("C-1", 2, &["a3"]), append("C-3", 0, &["c1"])],
            at(20),
        )
        .await
        .expect("second commit");
    assert_eq!(more[0].prev_hash, stored[1].hash);
    let c1 = store.get_case("C-1").await.expect("get").expect("exists");
    assert_eq!(c1.case.version, 3);
    assert_eq!(c1.records.len(), 3);
    assert!(store.verify_chain("C-1").await.expect("verify").is_intact());
    assert!(store.verify_chain("C-3").await.expect("verify").is_intact());

    // A write without records updates the case and keeps its version.
    let mut view_only = append("C-2", 1, &[]);
    view_only.case.state = "suspended".into();
    assert_eq!(
        store.commit(&[view_only], at(30)).await.expect("commit"),
        vec![]
    );
    let c2 = store.get_case("C-2").await.expect("get").expect("exists");
    assert_eq!((c2.case.version, c2.case.state.as_str()), (1, "suspended"));
    assert_eq!(store.commit(&[], at(30)).await.expect("nothing"), vec![]);
}

async fn commit_chains_several_writes_of_one_case(store: Store) {
    let stored = store
        .commit(
            &[
                create("C-1", &["e1"]),
                append("C-1", 1, &["e2", "e3"]),
                CaseWrite {
                    due: vec![due("C-1", "statutory", 900)],
                    ..append("C-1", 3, &["e4"])
                },
            ],
            at(10),
        )
        .await
        .expect("commit");
    assert_eq!(stored.len(), 4);
    for pair in stored.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let snapshot = store.get_case("C-1").await.expect("get").expect("exists");
    assert_eq!(snapshot.case.version, 4);
    assert_eq!(snapshot.records, stored);
    assert_eq!(
        store.due_for_case("C-1").await.expect("due"),
        vec![due("C-1", "statutory", 900)],
        "the last write's due instants replace the others"
    );
    assert!(store.verify_chain("C-1").await.expect("verify").is_intact());
}

async fn duplicate_event_id_conflicts_and_writes_nothing(store: Store) {
    let first = store
        .commit(&[create("C-1", &["e1"])], at(10))
        .await
        .expect("commit");

    // Resending e1 (with a new case in the same batch) fails as a whole.
    let result = store
        .commit(&[create("C-2", &["e2"]), append("C-1", 1, &["e1"])], at(20))
        .await;
    assert!(
        matches!(&result, Err(StoreError::Conflict { case_no }) if case_no == "C-1"),
        "{result:?}"
    );
    assert_eq!(store.get_case("C-2").await.expect("get"), None);
    assert_eq!(
        store.find_records(&["e2".into()]).await.expect("find"),
        vec![]
    );
    assert_eq!(store.count_open_due().await.expect("count"), 1);

    // The same event id twice in one batch is a conflict too.
    let result = store.commit(&[create("C-3", &["x", "x"])], at(20)).await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(store.get_case("C-3").await.expect("get"), None);

    // What a resend is answered with: the record as first stored.
    let found = store
        .find_records(&["e1".into(), "nope".into(), "e1".into()])
        .await
        .expect("find");
    assert_eq!(found, first);
    let c1 = store.get_case("C-1").await.expect("get").expect("exists");
    assert_eq!(c1.case.version, 1);
}

async fn wrong_expected_version_conflicts_and_writes_nothing(store: Store) {
    store
        .commit(&[create("C-1", &["e1"])], at(10))
        .await
        .expect("commit");
    let before = store.get_case("C-1").await.expect("get");

    for (write, label) in [
        (append("C-1", 0, &["e2"]), "stale version"),
        (create("C-1", &["e2"]), "creating an existing case"),
        (append("C-9", 3, &["e2"]), "updating a missing case"),
    ] {
        let result = store
            .commit(&[create("C-2", &["n1"]), write.clone()], at(20))
            .await;
        assert!(
            matches!(&result, Err(StoreError::Conflict { case_no }) if *case_no == write.case.case_no),
            "{label}: {result:?}"
        );
        assert_eq!(store.get_case("C-2").await.expect("get"), None, "{label}");
        assert_eq!(store.get_case("C-1").await.expect("get"), before, "{label}");
        assert_eq!(
            store
                .find_records(&["e2".into(), "n1".into()])
                .await
                .expect("find"),
            vec![]
        );
    }
}

async fn commit_rejects_records_of_another_case(store: Store) {
    let mut write = create("C-1", &["e1"]);
    write.records[0].case_no = "C-2".into();
    assert!(matches!(
        store.commit(&[write], at(10)).await,
        Err(StoreError::InvalidInput(_))
    ));
    let mut write = create("C-1", &["e1"]);
    write.due.push(due("C-1", "promised", 700));
    assert!(matches!(
        store.commit(&[write], at(10)).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert_eq!(store.get_case("C-1").await.expect("get"), None);
}

async fn load_cases_is_one_batch_in_the_order_asked(store: Store) {
    let writes: Vec<CaseWrite> = (0..40)
        .map(|i| {
            let case_no = format!("C-{i:03}");
            let events: Vec<String> = (0..3).map(|j| format!("e-{i}-{j}")).collect();
            let refs: Vec<&str> = events.iter().map(String::as_str).collect();
            create(&case_no, &refs)
        })
        .collect();
    store.commit(&writes, at(10)).await.expect("commit");

    let asked: Vec<String> = ["C-031", "missing", "C-002", "C-031", "C-017"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let snapshots = store.load_cases(&asked).await.expect("load");
    assert_eq!(
        snapshots
            .iter()
            .map(|s| s.case.case_no.as_str())
            .collect::<Vec<_>>(),
        ["C-031", "C-002", "C-017"]
    );
    for s in &snapshots {
        assert_eq!(s.records.len(), 3);
        assert!(s.records.iter().all(|r| r.case_no == s.case.case_no));
        assert!(s.records.windows(2).all(|w| w[0].seq < w[1].seq));
    }
    assert_eq!(store.load_cases(&[]).await.expect("empty"), vec![]);
}

/// Two commits creating the same case at the same time: one wins, the other conflicts and
/// writes nothing (whichever way the race goes).
async fn racing_creations_of_one_case_conflict(store: Store) {
    let (release, a) = hold_commit(&store, vec![create("C-1", &["a1"])]).await;
    let b = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .commit(&[create("C-0", &["b0"]), create("C-1", &["b1"])], at(2))
                .await
        }
    });
    tokio::task::yield_now().await;
    release.send(()).expect("release A");
    a.await.expect("join").expect("A wins");
    let b = b.await.expect("join");
    assert!(
        matches!(&b, Err(StoreError::Conflict { case_no }) if case_no == "C-1"),
        "{b:?}"
    );
    assert_eq!(store.get_case("C-0").await.expect("get"), None);
    assert_eq!(
        store
            .find_records(&["b0".into(), "b1".into()])
            .await
            .expect("find"),
        vec![]
    );
}

type HeldCommit = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<Vec<egov_store::StoredRecord>, StoreError>>,
);

/// Starts committing `writes` and returns once every statement ran but before COMMIT; the
/// commit finishes when the returned sender fires (or is dropped).
async fn hold_commit(store: &Store, writes: Vec<CaseWrite>) -> HeldCommit {
    let (inserted_tx, inserted_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .commit_with_hook(&writes, at(1), async move {
                    let _ = inserted_tx.send(());
                    let _ = release_rx.await;
                })
                .await
        }
    });
    inserted_rx.await.expect("the commit reached its hook");
    (release_tx, task)
}

// ----- the hash chain ------------------------------------------------------------------------

async fn hash_chain_detects_changed_and_deleted_records(store: Store) {
    let mut writes = Vec::new();
    for case_no in ["C-BODY", "C-MID", "C-TAIL", "C-OK"] {
        let events: Vec<String> = (1..=3).map(|i| format!("{case_no}-{i}")).collect();
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        writes.push(create(case_no, &refs));
    }
    let stored = store.commit(&writes, at(10)).await.expect("commit");
    let seq = |event_id: &str| {
        stored
            .iter()
            .find(|r| r.event_id == event_id)
            .map(|r| r.seq)
            .expect("stored")
    };
    for case_no in ["C-BODY", "C-MID", "C-TAIL", "C-OK"] {
        let report = store.verify_chain(case_no).await.expect("verify");
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.records, 3);
    }

    store
        .execute_raw(unprotect(&store))
        .await
        .expect("unprotect");
    store
        .execute_raw(
            r#"UPDATE records SET body = '{"handler":"someone else"}' WHERE event_id = 'C-BODY-2'"#,
        )
        .await
        .expect("tamper body");
    store
        .execute_raw("DELETE FROM records WHERE event_id = 'C-MID-2'")
        .await
        .expect("delete middle");
    store
        .execute_raw("DELETE FROM records WHERE event_id = 'C-TAIL-3'")
        .await
        .expect("delete tail");

    let report = store.verify_chain("C-BODY").await.expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: Some(seq("C-BODY-2")),
            event_id: Some("C-BODY-2".to_owned()),
            kind: ChainBreakKind::ContentChanged
        })
    );
    let report = store.verify_chain("C-MID").await.expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: Some(seq("C-MID-3")),
            event_id: Some("C-MID-3".to_owned()),
            kind: ChainBreakKind::LinkBroken
        })
    );
    assert_eq!(report.records, 2);
    let report = store.verify_chain("C-TAIL").await.expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: None,
            event_id: None,
            kind: ChainBreakKind::HeadMismatch
        })
    );
    assert!(
        store
            .verify_chain("C-OK")
            .await
            .expect("verify")
            .is_intact()
    );
    assert!(matches!(
        store.verify_chain("nope").await,
        Err(StoreError::NotFound { .. })
    ));

    // In bulk, by pages of cases or a set of cases, each case as alone.
    let mut bulk = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .verify_chains(after.as_deref(), 3)
            .await
            .expect("verify a page");
        let Some(last) = page.last() else { break };
        after = Some(last.case_no.clone());
        bulk.extend(page);
    }
    let mut one_by_one = Vec::new();
    for case_no in ["C-BODY", "C-MID", "C-OK", "C-TAIL"] {
        one_by_one.push(store.verify_chain(case_no).await.expect("verify"));
    }
    assert_eq!(bulk, one_by_one);
    let set = store
        .verify_cases(&["C-TAIL".into(), "nope".into(), "C-BODY".into()])
        .await
        .expect("verify a set");
    assert_eq!(set, [one_by_one[0].clone(), one_by_one[3].clone()]);
}

async fn log_is_append_only(store: Store) {
    store
        .commit(&[create("C-1", &["e1"])], at(10))
        .await
        .expect("commit");
    for sql in [
        "UPDATE records SET kind = 'x' WHERE event_id = 'e1'",
        "DELETE FROM records WHERE event_id = 'e1'",
    ] {
        assert!(
            store.execute_raw(sql).await.is_err(),
            "{sql} must be refused"
        );
    }
    assert!(store.verify_chain("C-1").await.expect("verify").is_intact());
}

// ----- the log -------------------------------------------------------------------------------

async fn read_log_in_order_and_from_a_position(store: Store) {
    assert_eq!(store.log_head().await.expect("head"), LogPosition::START);
    store
        .commit(
            &[create("C-1", &["a1", "a2"]), create("C-2", &["b1"])],
            at(10),
        )
        .await
        .expect("commit");
    store
        .commit(&[append("C-1", 2, &["a3"])], at(20))
        .await
        .expect("commit");

    let all = read_log_settled(&store, LogPosition::START, 4).await;
    assert_eq!(ids(&all), ["a1", "a2", "b1", "a3"]);
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "positions increase"
    );
    assert_eq!(store.log_head().await.expect("head"), all[3].0);

    // A follower persists a position as text and resumes after it.
    let saved = all[1].0.to_string();
    let resumed: LogPosition = saved.parse().expect("position parses");
    let rest = store.read_log(resumed, 100).await.expect("read");
    assert_eq!(ids(&rest), ["b1", "a3"]);
    let limited = store.read_log(LogPosition::START, 2).await.expect("read");
    assert_eq!(ids(&limited), ["a1", "a2"]);
    assert_eq!(store.read_log(all[3].0, 100).await.expect("read"), vec![]);
    assert_eq!(
        store.read_log(LogPosition::START, 0).await.expect("read"),
        vec![]
    );

    // The entries are the stored records.
    let c1 = store.get_case("C-1").await.expect("get").expect("exists");
    assert_eq!(all[0].1, c1.records[0]);
}

// ----- due instants --------------------------------------------------------------------------

/// The warnings of a write are stored with its records, once per (case, rule, level).
async fn commit_inserts_the_records_warnings_once(store: Store) {
    store
        .commit(
            &[CaseWrite {
                warnings: vec![
                    warning("C-1", "irregular_fee", "red_card", "330106"),
                    warning("C-1", "irregular_fee", "red_card", "330106"),
                ],
                ..create("C-1", &["e1"])
            }],
            at(10),
        )
        .await
        .expect("commit");
    store
        .commit(
            &[CaseWrite {
                warnings: vec![
                    warning("C-1", "irregular_fee", "red_card", "330106"),
                    warning("C-1", "missing_reasons", "yellow_card", "330106"),
                ],
                ..append("C-1", 1, &["e2"])
            }],
            at(11),
        )
        .await
        .expect("commit");
    warnings_settled(&store).await;
    let (all, _) = store
        .list_warnings(&WarningFilter::default(), Page::default())
        .await
        .expect("list");
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|w| (w.rule.as_str(), w.level.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("irregular_fee", "red_card"),
            ("missing_reasons", "yellow_card")
        ]
    );
}

async fn commit_rejects_warnings_of_another_case(store: Store) {
    let err = store
        .commit(
            &[CaseWrite {
                warnings: vec![warning("C-2", "irregular_fee", "red_card", "330106")],
                ..create("C-1", &["e1"])
            }],
            at(10),
        )
        .await
        .expect_err("a warning of another case");
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert_eq!(
        store.load_cases(&["C-1".to_owned()]).await.expect("load"),
        []
    );
}

async fn due_instants_are_replaced_by_commit(store: Store) {
    assert_eq!(store.next_due().await.expect("next"), None);
    let mut a = create("C-A", &["a1"]);
    a.due = vec![due("C-A", "promised", 100), due("C-A", "statutory", 200)];
    let mut b = create("C-B", &["b1"]);
    b.due = vec![due("C-B", "acceptance", 50)];
    store.commit(&[a, b], at(10)).await.expect("commit");

    assert_eq!(store.next_due().await.expect("next"), Some(at(50)));
    assert_eq!(
        store.due_until(at(100), 10).await.expect("due"),
        vec![due("C-B", "acceptance", 50), due("C-A", "promised", 100)]
    );
    assert_eq!(
        store.due_until(at(1000), 1).await.expect("due"),
        vec![due("C-B", "acceptance", 50)]
    );
    assert_eq!(store.count_open_due().await.expect("count"), 3);

    // A commit replaces ALL due instants of its case.
    let mut a = append("C-A", 1, &["a2"]);
    a.due = vec![due("C-A", "statutory", 300)];
    store.commit(&[a], at(20)).await.expect("commit");
    assert_eq!(
        store.due_for_case("C-A").await.expect("due"),
        vec![due("C-A", "statutory", 300)]
    );
    assert_eq!(store.count_open_due().await.expect("count"), 2);

    // ... and an empty list removes them.
    let mut b = append("C-B", 1, &["b2"]);
    b.due = vec![];
    store.commit(&[b], at(30)).await.expect("commit");
    assert_eq!(store.due_for_case("C-B").await.expect("due"), vec![]);
    assert_eq!(store.next_due().await.expect("next"), Some(at(300)));
}

async fn reminders_are_replaced_alone_and_pages_read_by_key(store: Store) {
    let mut writes = Vec::new();
    for (case_no, dept) in [("C-1", "dept-a"), ("C-2", "dept-b"), ("C-3", "dept-a")] {
        let mut w = create(case_no, &[&format!("{case_no}-e")]);
        w.case.department = dept.into();
        w.due = vec![
            due(case_no, "approaching:promised", 100),
            due(case_no, "promised", 600),
        ];
        writes.push(w);
    }
    let mut closed = create("C-4", &["C-4-e"]);
    closed.case.state = "completed".into();
    writes.push(closed);
    store.commit(&writes, at(10)).await.expect("commit");

    // Open cases in scope, a page after a key.
    let closed_states = ["completed".to_owned()];
    let depts = ["dept-a".to_owned()];
    let page = store
        .open_case_rows(&closed_states, Some((&depts, &[])), None, 10)
        .await
        .expect("page");
    let nos: Vec<&str> = page.iter().map(|r| r.case_no.as_str()).collect();
    assert_eq!(nos, ["C-1", "C-3"]);
    let page = store
        .open_case_rows(&closed_states, None, Some("C-1"), 10)
        .await
        .expect("page");
    let nos: Vec<&str> = page.iter().map(|r| r.case_no.as_str()).collect();
    assert_eq!(nos, ["C-2", "C-3"]);
    assert_eq!(page[0].version, 1);

    // Only the reminders are replaced, and only at the version read.
    let replaced = store
        .replace_due_keyed(
            &[
                DueReplacement {
                    case_no: "C-1".into(),
                    expected_version: 1,
                    due: vec![due("C-1", "approaching:promised", 50)],
                },
                DueReplacement {
                    case_no: "C-2".into(),
                    expected_version: 1,
                    due: vec![],
                },
                DueReplacement {
                    case_no: "C-3".into(),
                    expected_version: 7,
                    due: vec![due("C-3", "approaching:promised", 50)],
                },
            ],
            "approaching:",
        )
        .await
        .expect("replace");
    assert_eq!(replaced, ["C-1", "C-2"]);
    assert_eq!(
        store.due_for_case("C-1").await.expect("due"),
        [
            due("C-1", "approaching:promised", 50),
            due("C-1", "promised", 600)
        ]
    );
    assert_eq!(
        store.due_for_case("C-2").await.expect("due"),
        [due("C-2", "promised", 600)]
    );
    assert_eq!(
        store.due_for_case("C-3").await.expect("due"),
        [
            due("C-3", "approaching:promised", 100),
            due("C-3", "promised", 600)
        ]
    );
    // An instant outside the prefix is refused.
    let outside = store
        .replace_due_keyed(
            &[DueReplacement {
                case_no: "C-1".into(),
                expected_version: 1,
                due: vec![due("C-1", "promised", 1)],
            }],
            "approaching:",
        )
        .await;
    assert!(
        matches!(outside, Err(StoreError::InvalidInput(_))),
        "{outside:?}"
    );

    // The due loop's next batch, after the last instant of the one before.
    let all = store.due_until(at(1000), 10).await.expect("due");
    assert_eq!(all.len(), 6, "{all:?}");
    let first = store.due_until(at(1000), 2).await.expect("due");
    let rest = store
        .due_until_after(at(1000), first.last(), 10)
        .await
        .expect("after");
    assert_eq!([first, rest].concat(), all);
    assert_eq!(
        store
            .due_until_after(at(100), Some(&all[0]), 10)
            .await
            .expect("after"),
        all[1..2]
    );
}

async fn fire_due_is_idempotent_and_keeps_replaced_instants(store: Store) {
    let firings = |fired: &[DueInstant], warnings: &[NewWarning]| -> Vec<Firing> {
        fired
            .iter()
            .zip(warnings)
            .map(|(d, w)| Firing {
                due: d.clone(),
                warning: Some(w.clone()),
            })
            .collect()
    };
    let mut a = create("C-A", &["a1"]);
    a.due = vec![due("C-A", "promised", 100)];
    let mut b = create("C-B", &["b1"]);
    b.due = vec![due("C-B", "promised", 100)];
    store.commit(&[a, b], at(10)).await.expect("commit");

    let fired = store.due_until(at(100), 100).await.expect("due");
    assert_eq!(fired.len(), 2);

    // Meanwhile a commit moves C-A's deadline (say, a suspension).
    let mut a = append("C-A", 1, &["a2"]);
    a.due = vec![due("C-A", "promised", 500)];
    store.commit(&[a], at(20)).await.expect("commit");

    let warnings = [
        warning("C-A", "promised_limit_passed", "yellow", "330106"),
        warning("C-B", "promised_limit_passed", "yellow", "330106"),
    ];
    let new = store
        .fire_due(&firings(&fired, &warnings))
        .await
        .expect("fire");
    // C-A moved on: its old instant raises nothing; C-B's fires.
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].case_no, "C-B");
    assert!(new.iter().all(|w| w.state == "raised"));
    assert_eq!(
        store.due_for_case("C-A").await.expect("due"),
        vec![due("C-A", "promised", 500)],
        "a due instant replaced meanwhile stays"
    );
    assert_eq!(store.due_for_case("C-B").await.expect("due"), vec![]);

    // Firing again (a restart, a second instance) raises nothing new.
    assert_eq!(
        store
            .fire_due(&firings(&fired, &warnings))
            .await
            .expect("fire"),
        vec![]
    );
    assert_eq!(
        store.insert_warnings(&warnings[1..]).await.expect("insert"),
        vec![]
    );
    warnings_settled(&store).await;
    let (all, _) = store
        .list_warnings(&WarningFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(all, new);
    assert_eq!(
        store.get_warning(new[0].id).await.expect("get"),
        Some(new[0].clone())
    );
    assert_eq!(store.get_warning(-1).await.expect("get"), None);
    assert_eq!(store.fire_due(&[]).await.expect("nothing"), vec![]);
}

// ----- warnings ------------------------------------------------------------------------------

async fn warnings_list_and_stream_with_filters_and_pages(store: Store) {
    let regions = ["330106", "330102", "330201", "3301", "320101", "330106"];
    let levels = ["yellow", "red", "yellow", "reminder", "red", "red"];
    let warnings: Vec<NewWarning> = regions
        .iter()
        .zip(levels)
        .enumerate()
        .map(|(i, (region, level))| warning(&format!("C-{i}"), "rule", level, region))
        .collect();
    let inserted = store.insert_warnings(&warnings).await.expect("insert");
    assert_eq!(inserted.len(), 6);
    assert!(inserted.windows(2).all(|w| w[0].id < w[1].id));
    warnings_settled(&store).await;

    // Region prefix: 3301 matches 3301, 330106, 330102, not 330201 or 320101.
    let in_3301 = WarningFilter {
        region_prefix: Some("3301".into()),
        ..WarningFilter::default()
    };
    let mut seen = Vec::new();
    let mut page = Page::first(2);
    loop {
        let (rows, next) = store
            .list_warnings(&in_3301, page.clone())
            .await
            .expect("list");
        assert!(rows.len() <= 2);
        if let Some(token) = &next {
            let last = rows.last().expect("a full page").position;
            assert!(
                token.starts_with(&format!("{last}-")),
                "a page token is the position of the page's last warning, tagged with the \
                 filters: {token}"
            );
        }
        seen.extend(rows.into_iter().map(|w| w.case_no));
        match next {
            Some(token) => page = Page::next(2, token),
            None => break,
        }
    }
    assert_eq!(seen, ["C-0", "C-1", "C-3", "C-5"]);

    let red_3301 = WarningFilter {
        levels: vec!["red".into()],
        ..in_3301.clone()
    };
    let (rows, next) = store
        .list_warnings(&red_3301, Page::default())
        .await
        .expect("list");
    assert_eq!(next, None);
    assert_eq!(
        rows.iter().map(|w| w.case_no.as_str()).collect::<Vec<_>>(),
        ["C-1", "C-5"]
    );
    for (filter, expected) in [
        (
            WarningFilter {
                case_no: Some("C-2".into()),
                ..WarningFilter::default()
            },
            vec!["C-2"],
        ),
        (
            WarningFilter {
                department: Some("dept-a".into()),
                rule: Some("rule".into()),
                state: Some("raised".into()),
                region_prefix: Some("32".into()),
                ..WarningFilter::default()
            },
            vec!["C-4"],
        ),
        (
            WarningFilter {
                state: Some("closed".into()),
                ..WarningFilter::default()
            },
            vec![],
        ),
        (
            WarningFilter {
                levels: vec!["reminder".into(), "yellow".into()],
                ..WarningFilter::default()
            },
            vec!["C-0", "C-2", "C-3"],
        ),
    ] {
        let (rows, _) = store
            .list_warnings(&filter, Page::default())
            .await
            .expect("list");
        assert_eq!(
            rows.iter().map(|w| w.case_no.as_str()).collect::<Vec<_>>(),
            expected,
            "{filter:?}"
        );
    }

    // The stream: resumable from the position of the last warning processed.
    let stream = read_warnings_settled(&store, WarningPosition::START, &red_3301, 2).await;
    assert_eq!(stream, rows);
    let rest = store
        .read_warnings(stream[0].position, &red_3301, 100)
        .await
        .expect("read");
    assert_eq!(rest, stream[1..]);
    let all =
        read_warnings_settled(&store, WarningPosition::START, &WarningFilter::default(), 6).await;
    assert_eq!(all, inserted);
    let (listed, _) = store
        .list_warnings(&WarningFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(listed, all, "a list is the stream");
    assert_eq!(
        store.warnings_head().await.expect("head"),
        inserted[5].position
    );
    let limited = store
        .read_warnings(WarningPosition::START, &WarningFilter::default(), 2)
        .await
        .expect("read");
    assert_eq!(limited, inserted[..2]);
    let position: WarningPosition = inserted[2].position.to_string().parse().expect("parses");
    assert_eq!(position, inserted[2].position);
}

async fn invalid_page_tokens_are_rejected(store: Store) {
    store
        .upsert_matters(&[matter("A", "d", 1), matter("B", "d", 1)])
        .await
        .expect("upsert");
    let (_, token) = store
        .list_matters(None, Page::first(1))
        .await
        .expect("list");
    let matter_token = token.expect("more");
    // A token of another listing, or garbage, is refused rather than misread.
    assert!(matches!(
        store
            .list_cases(&CaseFilter::default(), Page::next(1, matter_token.clone()))
            .await,
        Err(StoreError::InvalidPageToken)
    ));
    for token in ["w41", "garbage", "w1.-2", "r1.2", matter_token.as_str()] {
        assert!(
            matches!(
                store
                    .list_warnings(&WarningFilter::default(), Page::next(1, token))
                    .await,
                Err(StoreError::InvalidPageToken)
            ),
            "{token}"
        );
    }
    assert!(matches!(
        store.list_matters(None, Page::next(1, "garbage")).await,
        Err(StoreError::InvalidPageToken)
    ));
}

async fn a_page_token_is_refused_with_other_filters(store: Store) {
    store
        .commit(
            &[
                create("C-1", &["a"]),
                create("C-2", &["b"]),
                create("C-3", &["c"]),
            ],
            at(10),
        )
        .await
        .expect("commit");
    store
        .insert_warnings(&[
            warning("C-1", "promised_limit_passed", "yellow", "330106"),
            warning("C-2", "promised_limit_passed", "yellow", "330106"),
        ])
        .await
        .expect("warnings");
    store
        .upsert_matters(&[matter("A", "d", 1), matter("B", "d", 1)])
        .await
        .expect("upsert");

    let in_3301 = CaseFilter {
        region_prefix: Some("3301".into()),
        ..CaseFilter::default()
    };
    let (_, token) = store
        .list_cases(&in_3301, Page::first(1))
        .await
        .expect("list");
    let token = token.expect("more");
    // The same filters go on (the instant `overdue` is judged at is not a filter)...
    let later = CaseFilter {
        now: Some(at(99)),
        ..in_3301.clone()
    };
    store
        .list_cases(&later, Page::next(1, token.clone()))
        .await
        .expect("same filters");
    // ...other filters are told so.
    assert!(matches!(
        store
            .list_cases(&CaseFilter::default(), Page::next(1, token))
            .await,
        Err(StoreError::PageTokenForOtherFilters)
    ));

    let yellow = WarningFilter {
        levels: vec!["yellow".into()],
        ..WarningFilter::default()
    };
    let (_, token) = store
        .list_warnings(&yellow, Page::first(1))
        .await
        .expect("list");
    let token = token.expect("more");
    store
        .list_warnings(&yellow, Page::next(1, token.clone()))
        .await
        .expect("same filters");
    assert!(matches!(
        store
            .list_warnings(&WarningFilter::default(), Page::next(1, token))
            .await,
        Err(StoreError::PageTokenForOtherFilters)
    ));

    let (_, token) = store
        .list_matters(Some("d"), Page::first(1))
        .await
        .expect("list");
    assert!(matches!(
        store
            .list_matters(None, Page::next(1, token.expect("more")))
            .await,
        Err(StoreError::PageTokenForOtherFilters)
    ));
}

// ----- cursors -------------------------------------------------------------------------------

async fn cursors_round_trip(store: Store) {
    assert_eq!(store.get_cursor("supervision").await.expect("get"), None);
    store.set_cursor("supervision", "r1.2").await.expect("set");
    store.set_cursor("export", "r0.0").await.expect("set");
    assert_eq!(
        store
            .get_cursor("supervision")
            .await
            .expect("get")
            .as_deref(),
        Some("r1.2")
    );
    store.set_cursor("supervision", "r3.4").await.expect("set");
    assert_eq!(
        store
            .get_cursor("supervision")
            .await
            .expect("get")
            .as_deref(),
        Some("r3.4")
    );
    assert_eq!(
        store.get_cursor("export").await.expect("get").as_deref(),
        Some("r0.0")
    );
}

async fn advance_cursor_with_warnings_is_atomic(store: Store) {
    store
        .commit(&[create("C-1", &["e1", "e2"])], at(10))
        .await
        .expect("commit");
    let log = read_log_settled(&store, LogPosition::START, 2).await;
    let after_first = log[0].0.to_string();
    let w1 = warning("C-1", "repeated_correction", "yellow", "330106");

    let new = store
        .advance_cursor_with_warnings("supervision", &after_first, std::slice::from_ref(&w1))
        .await
        .expect("advance");
    assert_eq!(new.len(), 1);
    assert_eq!(
        store
            .get_cursor("supervision")
            .await
            .expect("get")
            .as_deref(),
        Some(after_first.as_str())
    );

    // A crash before the next advance, then a restart: the follower re-reads from its cursor,
    // derives the same warning again, and nothing is repeated.
    let cursor: LogPosition = store
        .get_cursor("supervision")
        .await
        .expect("get")
        .expect("set")
        .parse()
        .expect("parses");
    let again = store.read_log(cursor, 100).await.expect("read");
    assert_eq!(ids(&again), ["e2"]);
    let after_second = again[0].0.to_string();
    let w2 = warning("C-1", "procedure_anomaly", "yellow", "330106");

    // When the transaction fails, neither the cursor nor the warnings are written.
    let (install, remove) = match store.backend() {
        Backend::Postgres => (
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON warnings \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
            "DROP TRIGGER refuse ON warnings",
        ),
        Backend::Sqlite => (
            "CREATE TRIGGER refuse BEFORE INSERT ON warnings \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            "DROP TRIGGER refuse",
        ),
    };
    store.execute_raw(install).await.expect("install failure");
    let failed = store
        .advance_cursor_with_warnings("supervision", &after_second, &[w1.clone(), w2.clone()])
        .await;
    assert!(failed.is_err());
    assert_eq!(
        store
            .get_cursor("supervision")
            .await
            .expect("get")
            .as_deref(),
        Some(after_first.as_str()),
        "the cursor did not move"
    );
    store.execute_raw(remove).await.expect("remove failure");

    let new = store
        .advance_cursor_with_warnings("supervision", &after_second, &[w1, w2])
        .await
        .expect("advance");
    assert_eq!(
        new.iter().map(|w| w.rule.as_str()).collect::<Vec<_>>(),
        ["procedure_anomaly"],
        "the warning raised before the crash is not repeated"
    );
    assert_eq!(
        store
            .get_cursor("supervision")
            .await
            .expect("get")
            .as_deref(),
        Some(after_second.as_str())
    );
}

// ----- timestamps ----------------------------------------------------------------------------

async fn timestamps_round_trip_identically(store: Store) {
    // Nanoseconds in, microseconds out, on both backends; offsets normalised to UTC.
    let precise = t("2024-05-06T07:08:09.123456789+08:00");
    let expected = t("2024-05-05T23:08:09.123456Z");
    let mut write = create("C-1", &["e1"]);
    write.case.opened_at = precise;
    write.case.updated_at = precise;
    write.case.next_due_at = Some(precise);
    write.records[0].occurred_at = precise;
    write.due = vec![DueInstant {
        case_no: "C-1".into(),
        clock: "promised".into(),
        due_at: precise,
    }];
    let committed = store.commit(&[write], precise).await.expect("commit");
    let loaded = store.get_case("C-1").await.expect("get").expect("exists");

    assert_eq!(
        loaded.records, committed,
        "commit answers what a later read returns"
    );
    let r = &loaded.records[0];
    assert_eq!((r.occurred_at, r.received_at), (expected, expected));
    assert_eq!(
        (
            loaded.case.opened_at,
            loaded.case.updated_at,
            loaded.case.next_due_at
        ),
        (expected, expected, Some(expected))
    );
    let dues = store.due_for_case("C-1").await.expect("due");
    assert_eq!(dues[0].due_at, expected);
    assert_eq!(store.next_due().await.expect("next"), Some(expected));
    // An untruncated instant fires the due instant it names.
    assert_eq!(store.due_until(precise, 10).await.expect("due"), dues);
    let new = store
        .fire_due(&[Firing {
            due: DueInstant {
                due_at: precise,
                ..dues[0].clone()
            },
            warning: Some(NewWarning {
                due_at: Some(precise),
                raised_at: precise,
                ..warning("C-1", "r", "red", "330106")
            }),
        }])
        .await
        .expect("fire");
    assert_eq!(
        (new[0].due_at, new[0].raised_at),
        (Some(expected), expected)
    );
    assert_eq!(store.count_open_due().await.expect("count"), 0);

    let m = MatterRow {
        updated_at: precise,
        ..matter("M", "d", 1)
    };
    store.upsert_matters(&[m]).await.expect("upsert");
    let stored = store.get_matter("M").await.expect("get").expect("exists");
    assert_eq!(stored.updated_at, expected);
    assert_eq!(
        r.occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "2024-05-05T23:08:09.123456Z"
    );
    // JSON comes back as it went in, whatever the backend (no jsonb normalisation).
    assert_eq!(
        r.body,
        json!({ "handler": "h-7", "minute": 0, "note": "材料齐全" })
    );
}

// ----- listing cases -------------------------------------------------------------------------

async fn list_cases_filters_and_keyset_pages(store: Store) {
    let regions = ["330106", "330102", "330201", "320101", "3301"];
    let states = ["accepted", "completed", "suspended"];
    let writes: Vec<CaseWrite> = (0..250)
        .map(|i| {
            let case_no = format!("C-{i:04}");
            let mut w = create(&case_no, &[]);
            w.case.region = regions[i % regions.len()].into();
            w.case.department = format!("dept-{}", i % 4);
            w.case.state = states[i % states.len()].into();
            w.case.overdue = i % 10 == 0;
            // Two cases opened at each instant: the case number breaks the tie.
            w.case.opened_at = at(i as i64 / 2);
            w.due = vec![];
            w
        })
        .collect();
    store
        .commit(&writes, at(10))
        .await
        .expect("commit 250 cases");

    // Paging through everything: 100 + 100 + 50, most recently opened first (ties by case
    // number, descending), nothing twice.
    let mut all = Vec::new();
    let mut page = Page::first(100);
    let mut sizes = Vec::new();
    loop {
        let (rows, next) = store
            .list_cases(&CaseFilter::default(), page.clone())
            .await
            .expect("list");
        sizes.push(rows.len());
        all.extend(rows.into_iter().map(|c| c.case_no));
        match next {
            Some(token) => page = Page::next(100, token),
            None => break,
        }
    }
    assert_eq!(sizes, [100, 100, 50]);
    let expected: Vec<String> = (0..250).rev().map(|i| format!("C-{i:04}")).collect();
    assert_eq!(all, expected);

    // Pages stay stable while cases are added before the cursor (opened later).
    let (first, token) = store
        .list_cases(&CaseFilter::default(), Page::first(10))
        .await
        .expect("list");
    let mut newer = create("A-0000", &[]);
    newer.case.opened_at = at(1000);
    store.commit(&[newer], at(20)).await.expect("commit");
    let (second, _) = store
        .list_cases(&CaseFilter::default(), Page::next(10, token.expect("more")))
        .await
        .expect("list");
    assert_eq!(
        first.last().map(|c| &c.case_no),
        Some(&"C-0240".to_string())
    );
    assert_eq!(second[0].case_no, "C-0239");

    let count = |filter: CaseFilter| {
        let store = store.clone();
        async move {
            let mut n = 0;
            let mut page = Page::first(7);
            loop {
                let (rows, next) = store.list_cases(&filter, page).await.expect("list");
                n += rows.len();
                match next {
                    Some(token) => page = Page::next(7, token),
                    None => return n,
                }
            }
        }
    };
    let in_3301 = CaseFilter {
        region_prefix: Some("3301".into()),
        ..CaseFilter::default()
    };
    // 330106, 330102 and 3301 itself (3 of every 5), plus the extra case (region 330106).
    assert_eq!(count(in_3301.clone()).await, 151);
    assert_eq!(
        count(CaseFilter {
            region_prefix: Some("33".into()),
            ..CaseFilter::default()
        })
        .await,
        201
    );
    assert_eq!(
        count(CaseFilter {
            department: Some("dept-1".into()),
            ..CaseFilter::default()
        })
        .await,
        63
    );
    assert_eq!(
        count(CaseFilter {
            overdue: Some(true),
            ..CaseFilter::default()
        })
        .await,
        25
    );
    assert_eq!(
        count(CaseFilter {
            overdue: Some(false),
            ..CaseFilter::default()
        })
        .await,
        226
    );
    let combined = CaseFilter {
        states: vec!["completed".into()],
        overdue: Some(true),
        ..in_3301
    };
    // i % 3 == 1, i % 10 == 0, i % 5 in {0, 1, 4}: i % 30 == 10 (region 3301 index 0), 40 (4)...
    let (rows, _) = store
        .list_cases(&combined, Page::default())
        .await
        .expect("list");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|c| c.state == "completed" && c.overdue && c.region.starts_with("3301"))
    );
    assert_eq!(rows.len(), count(combined).await);

    // Size 0 is the default page, sizes past the cap are capped.
    let (rows, _) = store
        .list_cases(&CaseFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(rows.len(), 100);
    let (rows, next) = store
        .list_cases(&CaseFilter::default(), Page::first(5000))
        .await
        .expect("list");
    assert_eq!((rows.len(), next), (251, None));
}

// ----- notifications -------------------------------------------------------------------------

async fn notifications_wake_on_commit(store: Store) {
    let mut records = store
        .listen_for_records()
        .await
        .expect("listen")
        .expect("both backends wake");
    let mut warnings = store
        .listen_for_warnings()
        .await
        .expect("listen")
        .expect("both backends wake");
    store
        .commit(&[create("C-1", &["e1"])], at(10))
        .await
        .expect("commit");
    tokio::time::timeout(Duration::from_secs(5), records.recv())
        .await
        .expect("woken within 5 s")
        .expect("recv");
    store
        .insert_warnings(&[warning("C-1", "r", "red", "330106")])
        .await
        .expect("insert");
    tokio::time::timeout(Duration::from_secs(5), warnings.recv())
        .await
        .expect("woken within 5 s")
        .expect("recv");
    store.close().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), records.recv())
        .await
        .expect("a closed store ends the wait");
    assert!(matches!(closed, Err(StoreError::Closed)), "{closed:?}");
}

// ----- PostgreSQL only: the late-commit gap (docs/design.md §7)
// --------------------------------------

mod postgres_only {
    use super::*;
    use sqlx::Connection;

    /// A transaction that took its sequence number first but commits last must not be
    /// skipped by a follower that read in between.
    #[tokio::test]
    async fn read_log_never_skips_a_late_commit() {
        let store = fresh_postgres().await;
        store
            .commit(&[create("C-0", &["e0"])], at(0))
            .await
            .expect("commit");
        let first = read_log_settled(&store, LogPosition::START, 1).await;
        assert_eq!(ids(&first), ["e0"]);
        let position = first[0].0;

        // Transaction A inserts its record (taking the smaller seq) and waits before COMMIT.
        let (release, a) = hold_commit(&store, vec![create("C-A", &["ea"])]).await;

        // Transaction B takes a larger seq and commits first.
        let b = store
            .commit(&[create("C-B", &["eb"])], at(2))
            .await
            .expect("commit B");
        assert!(
            store.get_case("C-B").await.expect("get").is_some(),
            "B is committed"
        );

        // The follower reads now: B is held back, since A may still commit before it.
        assert_eq!(store.read_log(position, 100).await.expect("read"), vec![]);
        assert_eq!(store.log_head().await.expect("head"), position);

        release.send(()).expect("release A");
        let a = a.await.expect("join").expect("commit A");
        assert!(a[0].seq < b[0].seq, "A holds the smaller sequence number");

        // After A commits, the follower resuming from its stored position gets both.
        let rest = read_log_settled(&store, position, 2).await;
        assert_eq!(ids(&rest), ["ea", "eb"]);
        assert!(rest.iter().all(|(p, _)| *p > position));
    }

    /// Transaction ids are shared by every database of the server, but only a transaction that
    /// can write here holds the streams back: one left open in another database (another
    /// application, or a slow `CREATE DATABASE`) must not, while one of this database still does.
    #[tokio::test]
    async fn an_open_transaction_of_another_database_holds_nothing_back() {
        let store = fresh_postgres().await;
        let other_url = fresh_postgres_url().await;
        let mut other = sqlx::PgConnection::connect(&other_url)
            .await
            .expect("connect to the other database");
        let mut open = other.begin().await.expect("begin");
        sqlx::query("CREATE TABLE elsewhere (x int)")
            .execute(&mut *open)
            .await
            .expect("write in the other database");
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut *open)
            .await
            .expect("the other transaction holds an xid");

        store
            .commit(&[create("C-0", &["e0"])], at(0))
            .await
            .expect("commit");
        let read = store.read_log(LogPosition::START, 10).await.expect("read");
        assert_eq!(ids(&read), ["e0"], "not held back by the other database");
        let warned = store
            .insert_warnings(&[warning("C-0", "r", "red", "330106")])
            .await
            .expect("insert");
        assert_eq!(
            store
                .read_warnings(WarningPosition::START, &WarningFilter::default(), 10)
                .await
                .expect("read"),
            warned
        );

        // A transaction of this database, opened later, still holds the streams back.
        let (release, a) = hold_commit(&store, vec![create("C-A", &["ea"])]).await;
        store
            .commit(&[create("C-B", &["eb"])], at(2))
            .await
            .expect("commit B");
        assert_eq!(
            ids(&store.read_log(read[0].0, 10).await.expect("read")),
            Vec::<&str>::new()
        );
        release.send(()).expect("release");
        a.await.expect("join").expect("commit A");
        assert_eq!(
            ids(&read_log_settled(&store, read[0].0, 2).await),
            ["ea", "eb"]
        );
        open.rollback().await.expect("rollback");
    }

    /// The same for the warning stream.
    #[tokio::test]
    async fn read_warnings_never_skips_a_late_commit() {
        let store = fresh_postgres().await;
        // Hold a writing transaction open (as a slow commit would), then raise a warning.
        let (release, a) = hold_commit(&store, vec![create("C-A", &["ea"])]).await;
        let w = store
            .insert_warnings(&[warning("C-B", "r", "red", "330106")])
            .await
            .expect("insert");
        assert_eq!(
            store
                .read_warnings(WarningPosition::START, &WarningFilter::default(), 10)
                .await
                .expect("read"),
            vec![],
            "held back behind the open transaction"
        );
        release.send(()).expect("release");
        a.await.expect("join").expect("commit A");
        let stream =
            read_warnings_settled(&store, WarningPosition::START, &WarningFilter::default(), 1)
                .await;
        assert_eq!(stream, w);
    }

    /// A list and the stream are one view. Connection 1 begins (the older transaction) and
    /// raises X1; connection 2 raises X2 and commits; connection 1 raises X3, then commits.
    /// Were X2 listed while connection 1 was open, a client resuming the stream from its
    /// position would never get X1 nor X3. So the list holds X2 back like the stream does,
    /// lists in the stream's order, (transaction, id) and not id, and a stream resumed from
    /// any position a list showed, then or later, gets every warning after it.
    #[tokio::test]
    async fn a_position_from_a_list_resumes_the_stream_without_losing_a_late_commit() {
        let url = fresh_postgres_url().await;
        let store = Store::connect(&url).await.expect("connect");
        let all = WarningFilter::default();
        let cases = |rows: &[egov_store::WarningRow]| -> Vec<String> {
            rows.iter().map(|w| w.case_no.clone()).collect()
        };
        let x0 = store
            .insert_warnings(&[warning("X0", "r", "red", "330106")])
            .await
            .expect("insert X0");
        warnings_settled(&store).await;

        let mut conn1 = sqlx::PgConnection::connect(&url).await.expect("connect");
        let mut tx1 = conn1.begin().await.expect("begin");
        let raise = |case_no: &'static str| {
            sqlx::query(
                "INSERT INTO warnings (case_no, rule, level, department, region, matter_code, \
                     due_at, raised_at, detail) \
                 VALUES ($1, 'r', 'red', 'dept-a', '330106', 'M-001', NULL, now(), '{}')",
            )
            .bind(case_no)
        };
        raise("X1").execute(&mut *tx1).await.expect("insert X1");
        let x2 = store
            .insert_warnings(&[warning("X2", "r", "red", "330106")])
            .await
            .expect("insert X2");
        raise("X3").execute(&mut *tx1).await.expect("insert X3");

        // While connection 1 is open, X2 is committed but neither listed nor streamed.
        let (listed, next) = store
            .list_warnings(&all, Page::default())
            .await
            .expect("list");
        assert_eq!(listed, x0, "X2 is held back behind connection 1");
        assert_eq!(next, None);
        let (page, token) = store
            .list_warnings(&all, Page::first(1))
            .await
            .expect("list");
        assert_eq!((page, token), (x0.clone(), None));
        let listed_then = listed[0].position;
        assert_eq!(
            store
                .read_warnings(listed_then, &all, 100)
                .await
                .expect("read"),
            vec![]
        );

        tx1.commit().await.expect("commit connection 1");

        // The stream resumed from the position listed then delivers X1, X3 and X2.
        let resumed = read_warnings_settled(&store, listed_then, &all, 3).await;
        assert_eq!(cases(&resumed), ["X1", "X3", "X2"]);
        assert_eq!(resumed[2], x2[0]);
        assert!(
            resumed[1].id > resumed[2].id,
            "X3 has a larger id than X2 yet comes first: its transaction is older"
        );

        // Now every warning is listed, in the stream's order, page by page with positions as
        // tokens; and the stream resumed from any listed position gets the rest of the list.
        warnings_settled(&store).await;
        let streamed = read_warnings_settled(&store, WarningPosition::START, &all, 4).await;
        assert_eq!(cases(&streamed), ["X0", "X1", "X3", "X2"]);
        let (listed, next) = store
            .list_warnings(&all, Page::default())
            .await
            .expect("list");
        assert_eq!(next, None);
        assert_eq!(listed, streamed, "list order is stream order");
        let mut paged = Vec::new();
        let mut page = Page::first(1);
        loop {
            let (rows, next) = store.list_warnings(&all, page).await.expect("list");
            paged.extend(rows);
            match next {
                Some(token) => {
                    let last = paged.last().expect("a row before a token");
                    assert!(token.starts_with(&format!("{}-", last.position)));
                    page = Page::next(1, token);
                }
                None => break,
            }
        }
        assert_eq!(paged, listed);
        for (i, w) in listed.iter().enumerate() {
            let rest = store
                .read_warnings(w.position, &all, 100)
                .await
                .expect("read");
            assert_eq!(rest, listed[i + 1..], "resumed after {}", w.case_no);
        }
    }

    /// The race decided at the INSERT: B looked before A committed (C-1 did not exist yet),
    /// then blocked on A's uncommitted row; when A commits, B conflicts and writes nothing.
    #[tokio::test]
    async fn a_case_created_concurrently_conflicts_at_insert() {
        let url = fresh_postgres_url().await;
        let store = Store::connect(&url).await.expect("connect");
        let (release, a) = hold_commit(&store, vec![create("C-1", &["a1"])]).await;
        let b = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .commit(&[create("C-0", &["b0"]), create("C-1", &["b1"])], at(2))
                    .await
            }
        });

        // Wait (on the database, not the clock) until B waits for A's lock.
        let mut watcher = sqlx::PgConnection::connect(&url).await.expect("connect");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut watcher)
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "B never blocked on A"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        release.send(()).expect("release A");
        a.await.expect("join").expect("A wins");
        let b = b.await.expect("join");
        assert!(
            matches!(&b, Err(StoreError::Conflict { case_no }) if case_no == "C-1"),
            "{b:?}"
        );
        assert_eq!(store.get_case("C-0").await.expect("get"), None);
        let c1 = store.get_case("C-1").await.expect("get").expect("A's case");
        assert_eq!(c1.records.len(), 1);
        assert_eq!(c1.records[0].event_id, "a1");
    }
}

async fn warning_transitions_are_optimistic_recorded_and_streamed_again(store: Store) {
    let raised = store
        .insert_warnings(&[
            warning("C-1", "promised_limit_passed", "yellow_card", "330106"),
            warning("C-2", "promised_limit_passed", "red_card", "330106"),
        ])
        .await
        .expect("insert");
    let (yellow, red) = (&raised[0], &raised[1]);
    egov_store::testing::warnings_settled(&store).await;

    // Cards without a correction due, stamped; then found when their due has come.
    let unset = store.cards_without_correction_due(10).await.expect("unset");
    assert_eq!(unset.len(), 2);
    store
        .set_correction_dues(&[(yellow.id, at(700)), (red.id, at(800))])
        .await
        .expect("stamp");
    assert!(
        store
            .cards_without_correction_due(10)
            .await
            .expect("unset")
            .is_empty()
    );
    assert_eq!(
        store.next_correction_due().await.expect("next"),
        Some(at(700))
    );
    let due = store.due_corrections(at(750), 10).await.expect("due");
    assert_eq!(due.iter().map(|w| w.id).collect::<Vec<_>>(), [yellow.id]);
    assert_eq!(due[0].correction_due_at, Some(at(700)));

    // A transition moves the warning to the end of the stream and is in its history.
    let moved = store
        .transition_warning(
            yellow.id,
            "raised",
            "acknowledged",
            "li",
            "seen",
            &["doc-1".into()],
            at(710),
        )
        .await
        .expect("ack");
    assert_eq!(moved.state, "acknowledged");
    assert!(
        moved.position > red.position,
        "{:?} after {:?}",
        moved.position,
        red.position
    );
    egov_store::testing::warnings_settled(&store).await;
    let after_red = store
        .read_warnings(red.position, &WarningFilter::default(), 10)
        .await
        .expect("read");
    assert_eq!(
        after_red.iter().map(|w| w.id).collect::<Vec<_>>(),
        [yellow.id]
    );
    let history = store.warning_history(yellow.id).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].from_state.as_str(),
            history[0].to_state.as_str(),
            history[0].actor.as_str()
        ),
        ("raised", "acknowledged", "li")
    );
    assert_eq!(
        (history[0].at, history[0].reason.as_str()),
        (at(710), "seen")
    );
    assert_eq!(history[0].attachments, ["doc-1"]);

    // Optimistic on the expected state; unknown ids are not found.
    let stale = store
        .transition_warning(yellow.id, "raised", "escalated", "x", "y", &[], at(720))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let unknown = store
        .transition_warning(9_999, "raised", "escalated", "x", "y", &[], at(720))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(
        store
            .warning_history(yellow.id)
            .await
            .expect("history")
            .len(),
        1
    );

    // A yellow card whose case has its red card no longer awaits its correction.
    store
        .insert_warnings(&[warning(
            "C-1",
            "promised_limit_passed",
            "red_card",
            "330106",
        )])
        .await
        .expect("red");
    let due = store.due_corrections(at(900), 10).await.expect("due");
    assert_eq!(due.iter().map(|w| w.id).collect::<Vec<_>>(), [red.id]);
}
