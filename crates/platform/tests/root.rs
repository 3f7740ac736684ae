//! The composition root itself, on both databases: one process serves both platforms on one
//! port it reports, every service answers there, and a stop drains the tasks and closes the
//! store the root opened (a store the caller gave stays open); a port already taken fails the
//! build and closes the store it opened.

use egov_platform::testing::{connect, fresh_store};
use egov_platform::{BuildError, Database, Platforms, Serve, Settings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::shutdown;
use egov_store::{Backend, StoreError, StoreOptions};

fn clock() -> ManualClock {
    ManualClock::new("2024-03-04T01:00:00Z".parse().expect("an instant"))
}

async fn database(backend: Backend) -> String {
    match backend {
        Backend::Postgres => egov_store::testing::fresh_postgres_url().await,
        Backend::Sqlite => egov_store::testing::fresh_sqlite_url(),
    }
}

async fn both_on_one_port_then_the_store_is_closed(backend: Backend) {
    let url = database(backend).await;
    let platforms = Platforms::build(Settings::new(
        Serve::Both,
        Database::Url {
            url,
            options: StoreOptions::default(),
        },
        clock().shared(),
    ))
    .await
    .expect("the platforms start");
    let addr = platforms.addr();
    assert_ne!(addr.port(), 0, "port 0 is replaced by the one bound");
    let store = platforms.store().clone();
    let token = platforms
        .issue_credential(&egov_platform::testing::admin(), None)
        .await
        .expect("a credential")
        .token;
    let (trigger, stop) = shutdown::channel();
    let serving = tokio::spawn(platforms.run_until_stopped(stop));

    let cases = ApprovalServiceClient::new(connect(addr, Some(&token)).await)
        .list_cases(apb::ListCasesRequest::default())
        .await
        .expect("the approval platform answers");
    assert!(cases.into_inner().cases.is_empty());
    let warnings = SupervisionServiceClient::new(connect(addr, Some(&token)).await)
        .list_warnings(spb::ListWarningsRequest::default())
        .await
        .expect("the supervision platform answers");
    assert!(warnings.into_inner().warnings.is_empty());
    ScoresServiceClient::new(connect(addr, Some(&token)).await)
        .get_catalogue_stats(spb::GetCatalogueStatsRequest::default())
        .await
        .expect("the scores service answers");

    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
    assert!(
        matches!(store.ping().await, Err(StoreError::Closed)),
        "the root closes the store it opened"
    );
}

async fn a_given_store_stays_open(backend: Backend) {
    let store = fresh_store(backend).await;
    let platforms = Platforms::build(Settings::new(
        Serve::Supervision,
        Database::Store(store.clone()),
        clock().shared(),
    ))
    .await
    .expect("the platform starts");
    let (trigger, stop) = shutdown::channel();
    let serving = tokio::spawn(platforms.run_until_stopped(stop));
    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
    store.ping().await.expect("the caller's store stays open");
}

async fn a_taken_port_fails_the_build(backend: Backend) {
    let store = fresh_store(backend).await;
    let first = Platforms::build(Settings::new(
        Serve::Approval,
        Database::Store(store.clone()),
        clock().shared(),
    ))
    .await
    .expect("the first one starts");
    let second = Platforms::build(Settings {
        listen: first.addr(),
        ..Settings::new(
            Serve::Approval,
            Database::Store(store.clone()),
            clock().shared(),
        )
    })
    .await;
    assert!(
        matches!(second, Err(BuildError::Bind(addr, _)) if addr == first.addr()),
        "{second:?}"
    );
}

macro_rules! on_both_databases {
    ($($story:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story(egov_store::Backend::Postgres).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story(egov_store::Backend::Sqlite).await;
                }
            )*
        }
    };
}

on_both_databases!(
    both_on_one_port_then_the_store_is_closed,
    a_given_store_stays_open,
    a_taken_port_fails_the_build,
);
