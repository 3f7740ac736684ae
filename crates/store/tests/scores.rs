//! The score tables' contract (`Store::apply_score_facts` and friends), one generic suite run
//! against both backends: facts replace facts, the rollups follow by differences and equal a
//! rebuild from the facts, an older computation never overwrites a newer one, snapshots are
//! versioned, and a change landing in a closed period is noted late. Also the analysts' views.

use chrono::{DateTime, NaiveDate, Utc};
use egov_store::scores::{
    BuiltSnapshot, CounterValues, NewScoreSnapshot, SCORE_COUNTERS, ScoreBatch, ScoreDay,
    ScoreFacts, ScoreResultRow, SnapshotOutcome,
};
use egov_store::testing::{fresh_postgres, fresh_postgres_url, fresh_sqlite, fresh_sqlite_url};
use egov_store::{Backend, Store};

fn d(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a time").to_utc()
}

/// Counters with the named columns set.
fn c(set: &[(&str, i64)]) -> CounterValues {
    let mut out = [0; SCORE_COUNTERS.len()];
    for (name, v) in set {
        let i = SCORE_COUNTERS
            .iter()
            .position(|c| c == name)
            .expect("a counter");
        out[i] = *v;
    }
    out
}

fn facts(
    source: &str,
    key: &str,
    version: i64,
    dept: &str,
    days: &[(&str, CounterValues)],
) -> ScoreFacts {
    ScoreFacts {
        source: source.into(),
        key: key.into(),
        version,
        department: dept.into(),
        days: days
            .iter()
            .map(|(day, counters)| ScoreDay {
                day: d(day),
                counters: *counters,
            })
            .collect(),
        detail: format!("{key}@{version}"),
    }
}

async fn apply(
    store: &Store,
    f: Vec<ScoreFacts>,
    note_late: bool,
) -> egov_store::scores::ScoreApplied {
    store
        .apply_score_facts(&ScoreBatch {
            facts: &f,
            units: &[],
            cursor: Some(("scores.test", "p")),
            note_late,
            at: t("2025-02-01T00:00:00Z"),
        })
        .await
        .expect("apply facts")
}

/// The rollups as (department, day, non-zero counters).
async fn daily(store: &Store) -> Vec<(String, String, Vec<(&'static str, i64)>)> {
    store
        .score_daily(None)
        .await
        .expect("daily")
        .into_iter()
        .map(|r| {
            (
                r.department,
                r.day.to_string(),
                SCORE_COUNTERS
                    .iter()
                    .zip(r.counters)
                    .filter(|(_, v)| *v != 0)
                    .map(|(n, v)| (*n, v))
                    .collect(),
            )
        })
        .collect()
}

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
    facts_replace_facts_and_rollups_follow_by_differences,
    an_older_computation_never_overwrites_a_newer_one,
    closing_freezes_and_later_changes_are_noted_late,
    answers_are_found_per_warning,
    the_cursor_only_moves_forward,
    a_card_keeps_its_first_correction_due_through_an_escalation,
    the_grades_view_shows_the_version_in_force,
);

/// `score_grades` holds the results (score, rank, grade) of each closed period's newest
/// version, as the services computed them.
async fn the_grades_view_shows_the_version_in_force(store: Store) {
    let new = NewScoreSnapshot {
        period: "2025",
        first_day: d("2025-01-01"),
        last_day: d("2025-12-31"),
        computed_at: t("2026-01-02T01:00:00Z"),
        actor: "analyst",
        reason: "year end",
    };
    let row = |department: &str, rank: Option<i64>, score: i64, grade: Option<&str>, bottom| {
        ScoreResultRow {
            department: department.into(),
            region: "330106".into(),
            rank,
            position: rank,
            score_hundredths: score,
            grade: grade.map(Into::into),
            bottom_two: bottom,
        }
    };
    let v1 = vec![
        row("market", Some(1), 9_150, Some("excellent"), false),
        row("idle", None, 10_200, None, false),
        row("tax", Some(2), 7_025, Some("pass"), true),
    ];
    assert!(store.score_grades("2025").await.unwrap().is_empty());
    let built = |results: Vec<ScoreResultRow>| {
        move |_: &[(String, CounterValues)]| {
            Ok(BuiltSnapshot {
                assessment: "{}".into(),
                results,
            })
        }
    };
    let stored = store
        .store_score_snapshot(&new, 0, built(v1.clone()))
        .await
        .unwrap();
    assert!(matches!(stored, SnapshotOutcome::Stored(_)), "{stored:?}");
    let shown = store.score_grades("2025").await.unwrap();
    // By position, the unranked last.
    assert_eq!(shown, [v1[0].clone(), v1[2].clone(), v1[1].clone()]);
    // A recomputation's results replace them in the view; version 1's stay in the table.
    let v2 = vec![row("tax", Some(1), 8_000, Some("good"), false)];
    store
        .store_score_snapshot(&new, 1, built(v2.clone()))
        .await
        .unwrap();
    assert_eq!(store.score_grades("2025").await.unwrap(), v2);
}

/// Scores judge "corrected in time" against a card's first due: an escalation replaces the due
/// the workflow runs on, not the first one.
async fn a_card_keeps_its_first_correction_due_through_an_escalation(store: Store) {
    use egov_store::{NewWarning, Reassignment};
    let raised = store
        .insert_warnings(&[NewWarning {
            case_no: "C-1".into(),
            rule: "promised_limit_passed".into(),
            level: "yellow_card".into(),
            department: "market".into(),
            region: "330106".into(),
            matter_code: "M-1".into(),
            due_at: None,
            raised_at: t("2025-01-06T01:00:00Z"),
            detail: serde_json::json!({}),
        }])
        .await
        .unwrap();
    let id = raised[0].id;
    assert_eq!(raised[0].first_correction_due_at, None);
    let first = t("2025-01-09T01:00:00Z");
    store.set_correction_dues(&[(id, first)]).await.unwrap();
    let w = store.get_warning(id).await.unwrap().unwrap();
    assert_eq!(
        (w.correction_due_at, w.first_correction_due_at),
        (Some(first), Some(first))
    );
    let later = t("2025-01-14T01:00:00Z");
    store
        .reassign_warning(
            id,
            "raised",
            "escalated",
            "system",
            "due passed",
            &[],
            first,
            &Reassignment {
                from_office: "330106",
                expected_due: Some(first),
                office: "3301",
                correction_due_at: Some(later),
            },
        )
        .await
        .unwrap();
    let w = store.get_warning(id).await.unwrap().unwrap();
    assert_eq!(
        (w.correction_due_at, w.first_correction_due_at),
        (Some(later), Some(first))
    );
}

/// A slower instance applying a batch read before a faster one's must not move the follower's
/// cursor back (the next pass would read again what was read).
async fn the_cursor_only_moves_forward(store: Store) {
    let cursor = |position: &'static str| ScoreBatch {
        facts: &[],
        units: &[],
        cursor: Some(("scores.log", position)),
        note_late: false,
        at: t("2025-02-01T00:00:00Z"),
    };
    let stored = async || store.get_cursor("scores.log").await.unwrap();
    store.apply_score_facts(&cursor("r0.12")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r0.12"));
    // Numerically, not as text: r0.9 < r0.12, and r0.100 > r0.12.
    store.apply_score_facts(&cursor("r0.9")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r0.12"));
    store.apply_score_facts(&cursor("r0.12")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r0.12"));
    store.apply_score_facts(&cursor("r0.100")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r0.100"));
    // The transaction orders first (PostgreSQL).
    store.apply_score_facts(&cursor("r7.1")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r7.1"));
    store.apply_score_facts(&cursor("r6.500")).await.unwrap();
    assert_eq!(stored().await.as_deref(), Some("r7.1"));
}

async fn facts_replace_facts_and_rollups_follow_by_differences(store: Store) {
    apply(
        &store,
        vec![
            facts(
                "case",
                "C-1",
                2,
                "market",
                &[("2025-01-06", c(&[("accepted", 1)]))],
            ),
            facts(
                "case",
                "C-2",
                1,
                "market",
                &[("2025-01-06", c(&[("accepted", 1)]))],
            ),
            facts(
                "warning",
                "7",
                1,
                "tax",
                &[("2025-01-07", c(&[("red_cards", 1)]))],
            ),
        ],
        false,
    )
    .await;
    // C-1 completes on the 10th, paying a fee on the 6th: its facts are replaced.
    apply(
        &store,
        vec![facts(
            "case",
            "C-1",
            4,
            "market",
            &[
                ("2025-01-06", c(&[("accepted", 1), ("fees_fen", 1_250)])),
                ("2025-01-10", c(&[("completed", 1), ("on_time", 1)])),
            ],
        )],
        false,
    )
    .await;
    assert_eq!(
        daily(&store).await,
        vec![
            (
                "market".into(),
                "2025-01-06".into(),
                vec![("accepted", 2), ("fees_fen", 1_250)]
            ),
            (
                "market".into(),
                "2025-01-10".into(),
                vec![("completed", 1), ("on_time", 1)]
            ),
            ("tax".into(), "2025-01-07".into(), vec![("red_cards", 1)]),
        ]
    );
    // A fact that moves away leaves no all-zero row behind.
    apply(
        &store,
        vec![facts(
            "warning",
            "7",
            2,
            "tax",
            &[("2025-01-08", c(&[("red_cards", 1)]))],
        )],
        false,
    )
    .await;
    let rows = daily(&store).await;
    assert_eq!(
        rows.last(),
        Some(&("tax".into(), "2025-01-08".into(), vec![("red_cards", 1)]))
    );
    assert_eq!(rows.len(), 3);
    // The rollups are the sum of the facts: rebuilding them changes nothing.
    let before = store.score_daily(None).await.unwrap();
    assert_eq!(store.rebuild_score_rollups().await.unwrap(), 3);
    assert_eq!(store.score_daily(None).await.unwrap(), before);
    let totals = store
        .score_totals(d("2025-01-01"), d("2025-01-31"))
        .await
        .unwrap();
    assert_eq!(
        totals,
        vec![
            (
                "market".to_owned(),
                c(&[
                    ("accepted", 2),
                    ("fees_fen", 1_250),
                    ("completed", 1),
                    ("on_time", 1)
                ])
            ),
            ("tax".to_owned(), c(&[("red_cards", 1)])),
        ]
    );
    assert_eq!(
        store.get_cursor("scores.test").await.unwrap().as_deref(),
        Some("p")
    );
}

async fn an_older_computation_never_overwrites_a_newer_one(store: Store) {
    let newer = facts(
        "case",
        "C-1",
        5,
        "market",
        &[("2025-01-10", c(&[("completed", 1)]))],
    );
    let older = facts(
        "case",
        "C-1",
        3,
        "market",
        &[("2025-01-06", c(&[("accepted", 1)]))],
    );
    assert_eq!(apply(&store, vec![newer.clone()], false).await.replaced, 1);
    assert_eq!(apply(&store, vec![older], false).await.replaced, 0);
    // The same version again is a no-op on the sums.
    assert_eq!(apply(&store, vec![newer], false).await.replaced, 1);
    assert_eq!(
        daily(&store).await,
        vec![("market".into(), "2025-01-10".into(), vec![("completed", 1)])]
    );
    assert_eq!(
        store.score_facts("case", "C-1").await.unwrap()[0].counters,
        c(&[("completed", 1)])
    );
}

async fn closing_freezes_and_later_changes_are_noted_late(store: Store) {
    apply(
        &store,
        vec![facts(
            "case",
            "C-1",
            1,
            "market",
            &[("2025-01-06", c(&[("accepted", 1)]))],
        )],
        true,
    )
    .await;
    let new = NewScoreSnapshot {
        period: "2025-01",
        first_day: d("2025-01-01"),
        last_day: d("2025-01-31"),
        computed_at: t("2025-02-01T01:00:00Z"),
        actor: "analyst",
        reason: "month end",
    };
    let stored = store
        .store_score_snapshot(&new, 0, |totals| Ok(format!("{totals:?}")))
        .await
        .unwrap();
    let SnapshotOutcome::Stored(first) = stored else {
        panic!("not stored: {stored:?}")
    };
    assert_eq!((first.version, first.late_through), (1, 0));
    assert!(first.assessment.as_deref().unwrap().contains("market"));
    // Closing again expects version 0: refused, naming the version in force.
    assert_eq!(
        store
            .store_score_snapshot(&new, 0, |_| Ok(String::new()))
            .await
            .unwrap(),
        SnapshotOutcome::VersionIs(1)
    );
    // A change in January after the close is noted; one in February is not.
    let applied = apply(
        &store,
        vec![
            facts(
                "case",
                "C-1",
                2,
                "market",
                &[
                    ("2025-01-06", c(&[("accepted", 1)])),
                    ("2025-01-30", c(&[("ratings", 1)])),
                ],
            ),
            facts(
                "case",
                "C-2",
                1,
                "tax",
                &[("2025-02-03", c(&[("accepted", 1)]))],
            ),
        ],
        true,
    )
    .await;
    assert_eq!(applied.late, 1);
    let late = store.score_late("2025-01", 0).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(
        (
            late[0].department.as_str(),
            late[0].key.as_str(),
            late[0].detail.as_str()
        ),
        ("market", "C-1", "C-1@2")
    );
    // A recomputation is version 2 and includes the late note; version 1 stays.
    let SnapshotOutcome::Stored(second) = store
        .store_score_snapshot(&new, 1, |totals| Ok(format!("{totals:?}")))
        .await
        .unwrap()
    else {
        panic!("not stored")
    };
    assert_eq!((second.version, second.late_through), (2, late[0].id));
    let versions = store.score_snapshots("2025-01").await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(versions.iter().all(|v| v.assessment.is_none()));
    let latest = store
        .latest_score_snapshot("2025-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.version, 2);
    assert!(latest.assessment.is_some());
    assert_eq!(store.latest_score_snapshot("2025-02").await.unwrap(), None);
    assert!(
        store
            .score_late("2025-01", second.late_through)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn answers_are_found_per_warning(store: Store) {
    use egov_store::NewWarning;
    let w = |case_no: &str| NewWarning {
        case_no: case_no.into(),
        rule: "promised_limit_passed".into(),
        level: "yellow_card".into(),
        department: "market".into(),
        region: "330106".into(),
        matter_code: "M-1".into(),
        due_at: None,
        raised_at: t("2025-01-06T01:00:00Z"),
        detail: serde_json::json!({}),
    };
    let raised = store.insert_warnings(&[w("C-1"), w("C-2")]).await.unwrap();
    let (a, b) = (raised[0].id, raised[1].id);
    for (state, next, at) in [
        ("raised", "acknowledged", "2025-01-06T02:00:00Z"),
        ("acknowledged", "answered", "2025-01-07T02:00:00Z"),
    ] {
        store
            .transition_warning(a, state, next, "h", "r", &[], t(at))
            .await
            .unwrap();
    }
    let progress = store.warning_progress(&[a, b]).await.unwrap();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[&a].transitions, 2);
    assert_eq!(progress[&a].answered_at, Some(t("2025-01-07T02:00:00Z")));
}

/// The analysts' views answer on both databases with the same numbers.
#[tokio::test]
async fn the_analysts_views_sum_the_rollups_on_both_databases() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let url = match backend {
            Backend::Postgres => fresh_postgres_url().await,
            Backend::Sqlite => fresh_sqlite_url(),
        };
        let store = Store::connect(&url).await.expect("connect");
        apply(
            &store,
            vec![
                facts(
                    "case",
                    "C-1",
                    1,
                    "market",
                    &[("2025-07-01", c(&[("completed", 1), ("on_time", 1)]))],
                ),
                facts(
                    "case",
                    "C-2",
                    1,
                    "market",
                    &[(
                        "2025-09-30",
                        c(&[("completed", 1), ("ratings", 2), ("satisfied", 1)]),
                    )],
                ),
            ],
            false,
        )
        .await;
        store
            .upsert_departments(&[egov_store::DepartmentRow {
                code: "market".into(),
                name: "Market".into(),
                region: "3301".into(),
            }])
            .await
            .expect("a department");
        let sql = "SELECT department, region, period, CAST(completed AS BIGINT), \
                   CAST(on_time AS BIGINT), CAST(on_time_rate AS TEXT), \
                   CAST(satisfaction_rate AS TEXT) FROM score_indicators_quarter";
        type Row = (String, String, String, i64, i64, String, String);
        let rows: Vec<Row> = match backend {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
            }
        };
        assert_eq!(rows.len(), 1, "{backend:?}");
        let (department, region, period, completed, on_time, rate, satisfaction) = rows[0].clone();
        assert_eq!(
            (
                department.as_str(),
                region.as_str(),
                period.as_str(),
                completed,
                on_time
            ),
            ("market", "3301", "2025-Q3", 2, 1),
            "{backend:?}"
        );
        assert_eq!(rate.parse::<f64>().unwrap(), 0.5, "{backend:?}");
        assert_eq!(satisfaction.parse::<f64>().unwrap(), 0.5, "{backend:?}");
        for view in [
            "score_indicators_month",
            "score_indicators_year",
            "score_catalogue",
            "score_period_versions",
            "score_late_changes",
            "score_department_regions",
        ] {
            store
                .execute_raw(&format!("SELECT * FROM {view}"))
                .await
                .unwrap_or_else(|e| panic!("{view} on {backend:?}: {e}"));
        }
    }
}
