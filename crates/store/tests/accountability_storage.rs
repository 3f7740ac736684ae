//! The accountability register's storage contract, run against both backends: a decision is
//! stored once per (grounds, person, measure), the register filters by region subtree,
//! department, measure and dates and pages newest first, and a decision's score fact counts
//! in the period of the day it is dated, not the day it was recorded.

use chrono::{DateTime, NaiveDate, Utc};
use egov_store::accountability::{DecisionFilter, NewDecision};
use egov_store::scores::{SCORE_COUNTERS, ScoreBatch, ScoreDay, ScoreFacts};
use egov_store::testing::{fresh_postgres, fresh_sqlite};
use egov_store::{Page, Store, StoreError};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a time").to_utc()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a day")
}

fn decision(basis_id: i64, department: &str, region: &str, measure: &str, on: &str) -> NewDecision {
    NewDecision {
        recorded_at: t("2026-04-02T02:00:00Z"),
        recorded_by: "office-330106".into(),
        basis_kind: "warning".into(),
        basis_id,
        department: department.into(),
        region: region.into(),
        office: region.into(),
        person: "王五".into(),
        measure: measure.into(),
        decided_on: day(on),
        grounds: "a red card left unanswered".into(),
    }
}

async fn a_decision_is_stored_once_per_grounds_person_and_measure(store: Store) {
    let first = store
        .record_decision(&decision(
            7,
            "market",
            "330106",
            "admonition_talk",
            "2026-04-01",
        ))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(first.person, "王五");
    assert_eq!(first.decided_on, day("2026-04-01"));
    assert_eq!(
        store.get_decision(first.id).await.unwrap(),
        Some(first.clone())
    );
    // The same again (a resend) is not stored twice; another measure, or the department
    // itself, on the same grounds is.
    let again = decision(7, "market", "330106", "admonition_talk", "2026-04-02");
    assert_eq!(store.record_decision(&again).await.unwrap(), None);
    let other = decision(7, "market", "330106", "circulated_criticism", "2026-04-01");
    assert!(store.record_decision(&other).await.unwrap().is_some());
    let itself = NewDecision {
        person: String::new(),
        ..decision(7, "market", "330106", "admonition_talk", "2026-04-01")
    };
    assert!(store.record_decision(&itself).await.unwrap().is_some());
    let on = store.decisions_on("warning", 7).await.unwrap();
    assert_eq!(on.len(), 3);
    assert_eq!(on[0], first);
    assert!(store.decisions_on("complaint", 7).await.unwrap().is_empty());
}

async fn the_register_filters_and_pages_newest_first(store: Store) {
    for (i, (department, region, measure, on)) in [
        ("market", "330106", "admonition_talk", "2026-03-05"),
        ("market", "330106", "removal_from_post", "2026-04-01"),
        ("tax", "330108", "efficiency_warning", "2026-04-10"),
        ("other", "3302", "circulated_criticism", "2026-04-11"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .record_decision(&decision(i as i64 + 1, department, region, measure, on))
            .await
            .unwrap()
            .expect("stored");
    }
    let list = |filter: DecisionFilter| {
        let store = store.clone();
        async move {
            let (rows, _) = store
                .list_decisions(&filter, Page::default())
                .await
                .unwrap();
            rows.into_iter().map(|r| r.basis_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(DecisionFilter::default()).await, [4, 3, 2, 1]);
    let city = DecisionFilter {
        region: Some("3301".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(list(city.clone()).await, [3, 2, 1]);
    assert_eq!(
        list(DecisionFilter {
            department: Some("market".into()),
            ..city.clone()
        })
        .await,
        [2, 1]
    );
    assert_eq!(
        list(DecisionFilter {
            measures: vec!["removal_from_post".into(), "efficiency_warning".into()],
            ..city.clone()
        })
        .await,
        [3, 2]
    );
    assert_eq!(
        list(DecisionFilter {
            from: Some(day("2026-04-01")),
            to: Some(day("2026-04-10")),
            ..DecisionFilter::default()
        })
        .await,
        [3, 2]
    );
    // Pages of two, newest first, then the rest.
    let (page, next) = store
        .list_decisions(
            &DecisionFilter::default(),
            Page {
                size: 2,
                token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.iter().map(|r| r.basis_id).collect::<Vec<_>>(), [4, 3]);
    let (rest, last) = store
        .list_decisions(
            &DecisionFilter::default(),
            Page {
                size: 2,
                token: next,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|r| r.basis_id).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(last, None);
    assert!(matches!(
        store
            .list_decisions(
                &DecisionFilter::default(),
                Page {
                    size: 2,
                    token: Some("x".into()),
                },
            )
            .await,
        Err(StoreError::InvalidPageToken)
    ));
}

async fn a_decision_counts_in_the_period_it_is_dated(store: Store) {
    let row = store
        .record_decision(&decision(
            9,
            "market",
            "330106",
            "removal_from_post",
            "2026-04-01",
        ))
        .await
        .unwrap()
        .expect("stored");
    let column = SCORE_COUNTERS
        .iter()
        .position(|c| *c == "removals_from_post")
        .expect("a counter per measure");
    let mut counters = [0; SCORE_COUNTERS.len()];
    counters[column] = 1;
    let fact = ScoreFacts {
        source: "accountability".into(),
        key: row.id.to_string(),
        version: 1,
        department: row.department.clone(),
        days: vec![ScoreDay {
            day: row.decided_on,
            counters,
        }],
        detail: "accountability 1".into(),
    };
    let batch = ScoreBatch {
        facts: std::slice::from_ref(&fact),
        units: &[],
        cursor: None,
        note_late: true,
        at: t("2026-04-02T02:00:00Z"),
    };
    store.apply_score_facts(&batch).await.unwrap();
    // Applying it again (a retry) adds nothing.
    store.apply_score_facts(&batch).await.unwrap();
    let april = store
        .score_totals(day("2026-04-01"), day("2026-04-30"))
        .await
        .unwrap();
    assert_eq!(april.len(), 1);
    assert_eq!((april[0].0.as_str(), april[0].1[column]), ("market", 1));
    let march = store
        .score_totals(day("2026-03-01"), day("2026-03-31"))
        .await
        .unwrap();
    assert!(march.is_empty(), "{march:?}");
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
    a_decision_is_stored_once_per_grounds_person_and_measure,
    the_register_filters_and_pages_newest_first,
    a_decision_counts_in_the_period_it_is_dated,
);
