//! Test fixtures: the supervision platform on 127.0.0.1:0 over a given store and manual clock
//! (usually shared with an approval platform from `egov_approval::testing`), a client
//! connected to it, and waits that replace sleeping: [`TestSupervision::settled`] until the
//! workers have caught up, [`next_warning`] for the next streamed warning. Used by this
//! crate's tests and by the end-to-end suite.

use egov_domain::rules::RuleConfig;
use std::net::SocketAddr;
use std::time::Duration;

use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::clock::{Clock, ManualClock};
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::{CaseFilter, LogPosition, Page, Store};
use tonic::transport::Channel;

use crate::{Supervision, SupervisionOptions, SupervisionServer};

/// How long a test waits for something that should happen at once before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running supervision platform for one test.
#[derive(Debug)]
pub struct TestSupervision {
    pub addr: SocketAddr,
    pub client: SupervisionServiceClient<Channel>,
    pub store: Store,
    pub clock: ManualClock,
    /// The platform's state, to wait for its workers and read their counters.
    pub supervision: Supervision,
    trigger: ShutdownTrigger,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the platform (server and workers) on `store`, its time given by `clock`, without the
/// correction workflow's timers (`SupervisionOptions::without_corrections`): stories of the
/// raise alone, whose clocks run for weeks past their cards' correction dues.
pub async fn spawn_supervision(store: Store, clock: ManualClock) -> TestSupervision {
    spawn_supervision_with(store, clock, SupervisionOptions::without_corrections()).await
}

/// [`spawn_supervision`] with other options: a fallback poll of an hour shows that the
/// workers wake on time and commits alone.
pub async fn spawn_supervision_with(
    store: Store,
    clock: ManualClock,
    options: SupervisionOptions,
) -> TestSupervision {
    spawn_supervision_with_rules(store, clock, options, RuleConfig::default()).await
}

/// [`spawn_supervision_with`] raising warnings by the rule configuration `rules`.
pub async fn spawn_supervision_with_rules(
    store: Store,
    clock: ManualClock,
    options: SupervisionOptions,
    rules: RuleConfig,
) -> TestSupervision {
    let (trigger, shutdown) = shutdown::channel();
    let supervision = Supervision::with_options_and_rules(
        store.clone(),
        clock.shared(),
        shutdown,
        options,
        rules,
    );
    let server =
        SupervisionServer::build_with("127.0.0.1:0".parse().expect("address"), supervision)
            .await
            .expect("the supervision platform starts");
    let addr = server.local_addr();
    let supervision = server.supervision().clone();
    let handle = tokio::spawn(async move {
        server
            .run_until_stopped(Duration::from_secs(2))
            .await
            .expect("the supervision platform serves");
    });
    let client = SupervisionServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("a client connects");
    TestSupervision {
        addr,
        client,
        store,
        clock,
        supervision,
        trigger,
        server: Some(handle),
    }
}

impl TestSupervision {
    /// Waits until the workers have fired everything due at the clock's current time and
    /// followed every record committed so far, and every warning stored by then is listed
    /// (on PostgreSQL lists and streams hold warnings back while an older transaction of the
    /// server is open, other tests' too). Panics after [`PATIENCE`].
    pub async fn settled(&self) {
        let now = self.clock.now();
        let wait = async {
            let head = committed_log_head(&self.store).await;
            self.supervision.caught_up(now, head).await;
            egov_store::testing::warnings_settled(&self.store).await;
            head
        };
        if tokio::time::timeout(PATIENCE, wait).await.is_err() {
            panic!("the workers did not catch up with {now} and the log");
        }
    }

    /// Every warning, through all pages of `ListWarnings` with `filter` (its page fields
    /// ignored).
    pub async fn list_all(&mut self, filter: pb::ListWarningsRequest) -> Vec<pb::Warning> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .list_warnings(pb::ListWarningsRequest {
                    page_size: 1000,
                    page_token: token,
                    ..filter.clone()
                })
                .await
                .expect("list warnings")
                .into_inner();
            all.extend(page.warnings);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    /// Opens a warning stream.
    pub async fn stream(
        &mut self,
        request: pb::StreamWarningsRequest,
    ) -> tonic::Streaming<pb::StreamWarningsResponse> {
        self.client
            .stream_warnings(request)
            .await
            .expect("stream warnings")
            .into_inner()
    }

    /// Stops the platform and waits for it (server, streams and workers) to finish.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for TestSupervision {
    fn drop(&mut self) {
        self.trigger.trigger();
    }
}

/// The position of the last record committed so far. `Store::log_head` alone may be behind:
/// on PostgreSQL the log holds records back while any older writing transaction of the
/// server is open (other tests' too), so this reads the log until it has as many records as
/// the cases say were stored (a case's version counts its records).
async fn committed_log_head(store: &Store) -> LogPosition {
    let mut stored: i64 = 0;
    let mut page = Page::first(Page::MAX_SIZE);
    loop {
        let (cases, next) = store
            .list_cases(&CaseFilter::default(), page)
            .await
            .expect("list cases");
        stored += cases.iter().map(|c| c.version).sum::<i64>();
        match next {
            Some(token) => page = Page::next(Page::MAX_SIZE, token),
            None => break,
        }
    }
    let (mut head, mut read) = (LogPosition::START, 0_i64);
    while read < stored {
        let entries = store.read_log(head, 10_000).await.expect("read the log");
        match entries.last() {
            Some((last, _)) => {
                head = *last;
                read += entries.len() as i64;
            }
            // Held back: an older transaction of the server is still open.
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    head
}

/// The next warning of a stream. Panics if none comes within [`PATIENCE`], or the stream
/// ends or fails.
pub async fn next_warning(
    stream: &mut tonic::Streaming<pb::StreamWarningsResponse>,
) -> pb::Warning {
    match tokio::time::timeout(PATIENCE, stream.message()).await {
        Ok(Ok(Some(m))) => m.warning.expect("a warning in the message"),
        Ok(Ok(None)) => panic!("the warning stream ended"),
        Ok(Err(status)) => panic!("the warning stream failed: {status}"),
        Err(_) => panic!("no warning within {PATIENCE:?}"),
    }
}
