//! What the supervision tests share: both platforms on one fresh database and one manual
//! clock, record pushes over real gRPC, the expected due instants computed by the domain, and
//! the macro that runs each story on PostgreSQL and on SQLite.

#![allow(dead_code)] // each test binary uses its own part of this module

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures::{local, matter};
use egov_domain::calendar::Calendar;
use egov_domain::case::Case;
use egov_domain::clock::{clocks, due_instants};
use egov_domain::matter::Matter;
use egov_domain::record::Record;
use egov_platform::testing::{PATIENCE, TestSupervision, spawn_supervision};
use egov_platform::testing::{TestApproval, fresh_store, spawn_approval_on};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as pb;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, Store};

/// The matter of every story: promised 10, statutory 20 working days.
pub const MATTER: &str = "M-FOOD";
pub const DEPARTMENT: &str = "market";
pub const REGION: &str = "330106";

/// Both platforms on one database and one clock.
#[derive(Debug)]
pub struct World {
    pub approval: TestApproval,
    pub supervision: TestSupervision,
    pub store: Store,
    pub clock: ManualClock,
}

/// A fresh database with the story matter, the clock at local time `now`, both platforms up.
pub async fn world(backend: Backend, now: &str) -> World {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(local(now));
    let mut approval = spawn_approval_on(store.clone(), clock.clone()).await;
    approval
        .client
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![matter(MATTER, DEPARTMENT, 10, 20)],
        })
        .await
        .expect("the matter is loaded");
    let supervision = spawn_supervision(store.clone(), clock.clone()).await;
    World {
        approval,
        supervision,
        store,
        clock,
    }
}

impl World {
    /// Moves the clock to local time `t`.
    pub fn at(&self, t: &str) {
        self.clock.set(local(t));
    }

    /// Submits records over gRPC; every one must be stored.
    pub async fn push(&mut self, records: Vec<apb::Record>) {
        push(&mut self.approval, records).await;
    }

    /// Every warning raised so far, in stream order.
    pub async fn warnings(&mut self) -> Vec<pb::Warning> {
        self.supervision
            .list_all(pb::ListWarningsRequest::default())
            .await
    }
}

/// Submits records to an approval platform; every one must be stored.
pub async fn push(approval: &mut TestApproval, records: Vec<apb::Record>) {
    let results = approval
        .client
        .submit_records(apb::SubmitRecordsRequest { records })
        .await
        .expect("submit")
        .into_inner()
        .results;
    for r in &results {
        assert_eq!(r.status(), apb::RecordStatus::Stored, "{r:?}");
    }
}

/// The due instants the domain computes for a case told by `records` (the story matter on the
/// Chinese calendar), as (clock, due_at): the reference the stories are checked against.
pub fn expected_due(records: &[apb::Record]) -> Vec<(String, DateTime<Utc>)> {
    let matter = Matter::try_from(matter(MATTER, DEPARTMENT, 10, 20)).expect("matter");
    let records: Vec<Record> = records
        .iter()
        .map(|r| Record::try_from(r.clone()).expect("record"))
        .collect();
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), &matter).expect("replays");
    let calendar = Calendar::china();
    due_instants(&clocks(&case, &matter, &calendar), &calendar)
        .into_iter()
        .map(|d| (d.clock, d.due_at))
        .collect()
}

/// (case, rule, level) of warnings, sorted: what the invariant "one per key" is about.
pub fn keys(warnings: &[pb::Warning]) -> Vec<(String, pb::WarningRule, pb::WarningLevel)> {
    let mut keys: Vec<_> = warnings
        .iter()
        .map(|w| (w.case_no.clone(), w.rule(), w.level()))
        .collect();
    keys.sort();
    keys
}

/// `f`'s output, or a panic naming `what` after [`PATIENCE`].
pub async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {PATIENCE:?}"))
}

/// Waits until `check` holds, looking again every few milliseconds; for conditions no
/// signal announces. Panics after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

pub fn instant(ts: &Option<pbjson_types::Timestamp>) -> DateTime<Utc> {
    let ts = ts.expect("a timestamp");
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("a valid instant")
}

/// Runs each story, an `async fn(Backend)`, once on PostgreSQL and once on SQLite.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test]
              async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test]
              async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}
