//! The complaints' storage contract, run against both backends: a complaint is filed with its
//! first event, moves apply only to the version they were decided on and are recorded in
//! order, listings filter by department, office subtree and state, page newest first, and the
//! due instants are read in order and moved on only as read.

use chrono::{DateTime, Utc};
use egov_store::complaints::{ComplaintFilter, ComplaintMove, NewComplaint};
use egov_store::testing::{fresh_postgres, fresh_sqlite};
use egov_store::{Page, Store, StoreError};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a time").to_utc()
}

fn complaint(department: &str, office: &str, named: bool) -> NewComplaint {
    NewComplaint {
        filed_at: t("2025-03-03T02:00:00Z"),
        channel: "online".into(),
        subject_kind: "department".into(),
        subject: department.into(),
        department: department.into(),
        region: office.into(),
        office: office.into(),
        summary: "charged a fee not in the catalogue".into(),
        complainant: named.then(|| ("Wang Fang".into(), "13800000000".into())),
        filed_by: "public".into(),
        acceptance_due_at: t("2025-03-10T16:00:00Z"),
        next_due_at: Some(t("2025-03-07T16:00:00Z")),
    }
}

fn a_move(action: &str, to: &str) -> ComplaintMove {
    ComplaintMove {
        at: t("2025-03-04T02:00:00Z"),
        actor: "office-330106".into(),
        action: action.into(),
        to_state: to.into(),
        note: String::new(),
        notice: None,
        report_due_at: None,
        outcome: None,
        feedback_satisfied: None,
        next_due_at: None,
    }
}

async fn a_complaint_moves_by_version_and_keeps_its_history(store: Store) {
    let filed = store
        .file_complaint(&complaint("market", "330106", true))
        .await
        .unwrap();
    assert_eq!((filed.state.as_str(), filed.version), ("filed", 1));
    assert_eq!(filed.complainant_name.as_deref(), Some("Wang Fang"));
    let forward = ComplaintMove {
        report_due_at: Some(t("2025-03-20T16:00:00Z")),
        next_due_at: Some(t("2025-03-20T16:00:00Z")),
        notice: Some("forwarded".into()),
        ..a_move("forward", "forwarded")
    };
    let moved = store.move_complaint(filed.id, 1, &forward).await.unwrap();
    assert_eq!((moved.state.as_str(), moved.version), ("forwarded", 2));
    assert_eq!(moved.report_due_at, Some(t("2025-03-20T16:00:00Z")));
    // A move decided on the old version lost the race.
    let again = store
        .move_complaint(filed.id, 1, &a_move("accept", "accepted"))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let missing = store
        .move_complaint(999, 1, &a_move("accept", "accepted"))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let reported = store
        .move_complaint(filed.id, 2, &a_move("report", "reported"))
        .await
        .unwrap();
    assert_eq!(reported.reported_at, Some(t("2025-03-04T02:00:00Z")));
    // The report due is kept when a later move does not set it.
    assert_eq!(reported.report_due_at, Some(t("2025-03-20T16:00:00Z")));
    let closed = store
        .move_complaint(
            filed.id,
            3,
            &ComplaintMove {
                outcome: Some("substantiated".into()),
                ..a_move("close", "closed")
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.outcome.as_deref(), Some("substantiated"));
    assert_eq!(closed.closed_at, Some(t("2025-03-04T02:00:00Z")));
    let fed = store
        .move_complaint(
            filed.id,
            4,
            &ComplaintMove {
                feedback_satisfied: Some(true),
                ..a_move("feedback", "closed")
            },
        )
        .await
        .unwrap();
    assert_eq!(fed.feedback_satisfied, Some(true));
    assert_eq!(fed.outcome.as_deref(), Some("substantiated"));
    let events = store.complaint_events(filed.id).await.unwrap();
    let seen: Vec<(i64, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.seq,
                e.action.as_str(),
                e.from_state.as_str(),
                e.to_state.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "file", "", "filed"),
            (2, "forward", "filed", "forwarded"),
            (3, "report", "forwarded", "reported"),
            (4, "close", "reported", "closed"),
            (5, "feedback", "closed", "closed"),
        ]
    );
    assert_eq!(events[1].notice.as_deref(), Some("forwarded"));
    assert_eq!(store.get_complaint(filed.id).await.unwrap(), Some(fed));
}

async fn listings_filter_and_page_newest_first(store: Store) {
    let mut ids = Vec::new();
    for (department, office) in [
        ("market", "330106"),
        ("tax", "330106"),
        ("market", "330102"),
        ("market", "3302"),
    ] {
        ids.push(
            store
                .file_complaint(&complaint(department, office, false))
                .await
                .unwrap()
                .id,
        );
    }
    store
        .move_complaint(ids[0], 1, &a_move("accept", "accepted"))
        .await
        .unwrap();
    let list = |filter: ComplaintFilter| {
        let store = store.clone();
        async move {
            let (rows, _) = store
                .list_complaints(&filter, Page::first(0))
                .await
                .unwrap();
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ComplaintFilter {
            office: Some("3301".into()),
            ..Default::default()
        })
        .await,
        [ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        list(ComplaintFilter {
            department: Some("market".into()),
            states: vec!["filed".into()],
            ..Default::default()
        })
        .await,
        [ids[3], ids[2]]
    );
    let (first, token) = store
        .list_complaints(&ComplaintFilter::default(), Page::first(3))
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    let (rest, end) = store
        .list_complaints(&ComplaintFilter::default(), Page::next(3, token.unwrap()))
        .await
        .unwrap();
    assert_eq!((rest.len(), end), (1, None));
    assert_eq!(rest[0].id, ids[0]);
    assert!(matches!(
        store
            .list_complaints(&ComplaintFilter::default(), Page::next(3, "x"))
            .await,
        Err(StoreError::InvalidPageToken)
    ));
}

async fn due_instants_are_read_in_order_and_moved_on_as_read(store: Store) {
    let early = store
        .file_complaint(&complaint("market", "330106", false))
        .await
        .unwrap();
    let late = store
        .file_complaint(&NewComplaint {
            next_due_at: Some(t("2025-03-08T16:00:00Z")),
            ..complaint("tax", "330106", false)
        })
        .await
        .unwrap();
    let none = store
        .file_complaint(&NewComplaint {
            next_due_at: None,
            ..complaint("tax", "330106", false)
        })
        .await
        .unwrap();
    assert_eq!(
        store.next_complaint_due().await.unwrap(),
        Some(t("2025-03-07T16:00:00Z"))
    );
    let due = store
        .complaints_due(t("2025-03-09T00:00:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|c| c.id).collect::<Vec<_>>(),
        [early.id, late.id]
    );
    assert!(!due.iter().any(|c| c.id == none.id));
    let fired = early.next_due_at.unwrap();
    let next = Some(t("2025-03-10T16:00:00Z"));
    assert!(
        store
            .advance_complaint_due(early.id, 1, fired, next)
            .await
            .unwrap()
    );
    // As read only: a second instance firing the same instant moves nothing.
    assert!(
        !store
            .advance_complaint_due(early.id, 1, fired, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_complaint(early.id)
            .await
            .unwrap()
            .unwrap()
            .next_due_at,
        next
    );
    assert_eq!(
        store.next_complaint_due().await.unwrap(),
        Some(t("2025-03-08T16:00:00Z"))
    );
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
    a_complaint_moves_by_version_and_keeps_its_history,
    listings_filter_and_page_newest_first,
    due_instants_are_read_in_order_and_moved_on_as_read,
);
