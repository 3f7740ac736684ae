//! The audit log against both backends (docs/design.md §9): appends chain in order, also when
//! many run at once; it lists by filter and page; it refuses UPDATE and DELETE; a row changed
//! or deleted past the triggers breaks the chain at that row; and the record log's chains are
//! verified in bulk (by pages of cases, or a set of cases) as one case's are.

use chrono::{DateTime, Utc};
use egov_store::testing::{fresh_postgres, fresh_sqlite, tamper};
use egov_store::{
    AuditBreak, AuditBreakKind, AuditFilter, AuditRow, NewAudit, Page, Store,
    audit::verify_audit_rows,
};

/// 2024-03-01 00:00 UTC plus `seconds`.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z")
        .expect("fixture timestamp")
        .with_timezone(&Utc)
        + chrono::Duration::seconds(seconds)
}

fn act(seconds: i64, principal: &str, action: &str, outcome: &str) -> NewAudit {
    NewAudit {
        at: at(seconds),
        principal: principal.to_owned(),
        role: "admin".to_owned(),
        action: action.to_owned(),
        target: format!("t-{seconds}"),
        outcome: outcome.to_owned(),
        peer: (seconds % 2 == 0).then(|| "127.0.0.1:5000".to_owned()),
    }
}

async fn all(store: &Store) -> Vec<AuditRow> {
    store.read_audit(0, 10_000).await.expect("read")
}

async fn appends_chain_in_order_and_list_by_filter(store: Store) {
    let acts = [
        act(1, "alice", "/s/CloseWarning", "OK"),
        act(2, "bob", "/s/CloseWarning", "PERMISSION_DENIED"),
        act(3, "alice", "/s/UpdateRuleConfig", "OK"),
        act(4, "anonymous", "/a/SubmitRecords", "UNAUTHENTICATED"),
    ];
    for (i, a) in acts.iter().enumerate() {
        let row = store.append_audit(a).await.expect("append");
        assert_eq!(row.seq, i as i64 + 1);
        assert_eq!(row.hash, row.recomputed_hash());
    }
    let rows = all(&store).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(verify_audit_rows(None, &rows), None);
    assert_eq!(rows[1].prev_hash, rows[0].hash);
    assert_eq!(rows[0].peer, None);
    assert_eq!(rows[3].peer.as_deref(), Some("127.0.0.1:5000"));
    assert_eq!(rows[0].at, at(1));

    let list = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let (rows, next) = store
                .list_audit(&filter, Page::first(10))
                .await
                .expect("list");
            assert_eq!(next, None);
            rows.into_iter().map(|r| r.seq).collect::<Vec<_>>()
        }
    };
    let by_alice = AuditFilter {
        principal: Some("alice".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_alice).await, [1, 3]);
    let denied = AuditFilter {
        outcome: Some("PERMISSION_DENIED".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(denied).await, [2]);
    let window = AuditFilter {
        action: Some("/s/CloseWarning".into()),
        since: Some(at(2)),
        until: Some(at(4)),
        ..AuditFilter::default()
    };
    assert_eq!(list(window).await, [2]);
    let by_method = AuditFilter {
        action: Some("CloseWarning".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_method).await, [1, 2]);
    let wildcard = AuditFilter {
        action: Some("%".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(wildcard).await, Vec::<i64>::new());

    let (first, next) = store
        .list_audit(&AuditFilter::default(), Page::first(3))
        .await
        .expect("page 1");
    assert_eq!(first.len(), 3);
    let (rest, end) = store
        .list_audit(
            &AuditFilter::default(),
            Page::next(3, next.expect("a next page")),
        )
        .await
        .expect("page 2");
    assert_eq!(rest.iter().map(|r| r.seq).collect::<Vec<_>>(), [4]);
    assert_eq!(end, None);
}

async fn concurrent_appends_form_one_chain(store: Store) {
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append_audit(&act(i, &format!("p{i}"), "/s/X", "OK"))
                    .await
                    .expect("append")
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined");
    }
    let rows = all(&store).await;
    assert_eq!(rows.len(), 24);
    assert_eq!(verify_audit_rows(None, &rows), None);
    assert_eq!(store.count_audit().await.expect("count"), 24);
}

async fn the_audit_log_is_append_only_and_tampering_breaks_the_chain(store: Store) {
    for i in 1..=5 {
        store
            .append_audit(&act(i, "alice", "/s/CloseWarning", "OK"))
            .await
            .expect("append");
    }
    for sql in [
        "UPDATE audit_log SET principal = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        assert!(
            store.execute_raw(sql).await.is_err(),
            "{sql} must be refused"
        );
    }
    assert_eq!(verify_audit_rows(None, &all(&store).await), None);

    tamper(
        &store,
        "UPDATE audit_log SET outcome = 'OK', principal = 'someone' WHERE seq = 2",
    )
    .await;
    assert_eq!(
        verify_audit_rows(None, &all(&store).await),
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::ContentChanged
        })
    );
    // Verification can start in the middle, from the row before.
    let before = store.audit_before(4).await.expect("before").expect("row 3");
    assert_eq!(before.seq, 3);
    let tail = store.read_audit(3, 100).await.expect("tail");
    assert_eq!(verify_audit_rows(Some(&before), &tail), None);

    tamper(&store, "DELETE FROM audit_log WHERE seq = 4").await;
    let tail = store.read_audit(3, 100).await.expect("tail");
    assert_eq!(
        verify_audit_rows(Some(&before), &tail),
        Some(AuditBreak {
            seq: 5,
            kind: AuditBreakKind::Gap
        })
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
    appends_chain_in_order_and_list_by_filter,
    concurrent_appends_form_one_chain,
    the_audit_log_is_append_only_and_tampering_breaks_the_chain,
);
