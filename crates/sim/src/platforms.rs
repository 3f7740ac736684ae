//! Both platforms in this process, on one port, on a clock the simulator owns: the demo's
//! set-up. It is `egov up`, built by the same composition root (`egov_platform`: the approval
//! and supervision services on one gRPC router, the supervision workers with the correction
//! workflow) with one difference: time is a [`ManualClock`] that only
//! [`InProcess::advance_to`] moves. Production never builds this.
//!
//! [`InProcess::settled`] is the hook that makes a seed's run repeatable: it resolves once
//! the supervision workers have fired everything due up to the current time and followed
//! every record stored so far (`Supervision::caught_up`, the same wait the test fixtures
//! use), and answers the warning stream's head, so the simulator knows how far to read the
//! warnings before it moves on.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use egov_platform::{ConsoleSettings, Database, Platforms, Serve, Settings};
use egov_runtime::access::{Authed, Bearer, Principal, Role, Scope, authed};
use egov_runtime::clock::{Clock, ManualClock};
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::{Store, WarningPosition};
use egov_supervision::Supervision;
use tokio::task::JoinHandle;

/// How long the platforms may take to settle after one tick before the run fails: far more
/// than a tick ever needs, short enough to report a stuck worker.
const SETTLE_PATIENCE: Duration = Duration::from_secs(60);

/// How long calls in flight may finish once the demo ends.
const GRACE: Duration = Duration::from_secs(2);

/// The local admin of a demo: the operator at the machine.
fn admin() -> Principal {
    Principal {
        id: "local-admin".to_owned(),
        role: Role::Admin,
        scope: Scope::All,
    }
}

/// Both platforms serving on `addr`, on the simulator's clock.
#[derive(Debug)]
pub struct InProcess {
    addr: SocketAddr,
    /// Where the web console serves, when the demo asked for it.
    console: Option<SocketAddr>,
    clock: ManualClock,
    store: Store,
    supervision: Supervision,
    /// The local admin's token: the simulated city registers itself and sends its records
    /// with it, and the demo leaves it for the command line (docs/design.md "Trust").
    admin_token: String,
    trigger: ShutdownTrigger,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl InProcess {
    /// Starts both platforms through the composition root on `store` (migrated), the clock at
    /// `start`, serving on `listen` (port 0 picks a free one), with the built-in rule
    /// configuration and the correction workflow.
    pub async fn start(
        store: Store,
        start: DateTime<Utc>,
        listen: SocketAddr,
    ) -> anyhow::Result<InProcess> {
        Self::start_with_console(store, start, listen, None).await
    }

    /// [`InProcess::start`], with the web console served as `console` asks.
    pub async fn start_with_console(
        store: Store,
        start: DateTime<Utc>,
        listen: SocketAddr,
        console: Option<ConsoleSettings>,
    ) -> anyhow::Result<InProcess> {
        let clock = ManualClock::new(start);
        let platforms = Platforms::build(Settings {
            listen,
            grace: GRACE,
            // The simulator sends each tick's records while the clock stands at the tick's
            // start: records may be dated ahead of it by up to a tick, not a clock's error.
            max_clock_skew: std::time::Duration::MAX,
            console,
            ..Settings::new(Serve::Both, Database::Store(store.clone()), clock.shared())
        })
        .await
        .context("cannot start the platforms")?;
        let addr = platforms.addr();
        let console = platforms.console_addr();
        let admin_token = platforms
            .issue_credential(&admin(), None)
            .await
            .context("cannot store the local admin credential")?
            .token;
        let supervision = platforms
            .supervision()
            .cloned()
            .context("the supervision platform is served")?;
        let (trigger, stop) = shutdown::channel();
        let server = tokio::spawn(platforms.run_until_stopped(stop));
        Ok(InProcess {
            addr,
            console,
            clock,
            store,
            supervision,
            admin_token,
            trigger,
            server,
        })
    }

    /// The local admin's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A channel to the platforms whose calls carry the local admin's token.
    pub async fn channel(&self) -> anyhow::Result<Authed> {
        let channel = tonic::transport::Endpoint::from_shared(self.target())?
            .tcp_nodelay(true)
            .connect()
            .await
            .context("connecting to the platforms")?;
        Ok(authed(channel, Bearer::new(&self.admin_token)))
    }

    /// Where both platforms serve.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the web console serves, when it does.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console
    }

    /// The platforms' database (the demo makes its people's accounts in it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The gRPC target of both platforms (`http://127.0.0.1:PORT`).
    pub fn target(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the platforms' time forward to `t` (never back).
    pub fn advance_to(&self, t: DateTime<Utc>) {
        self.clock.set(t);
    }

    /// Waits until the workers have fired everything due up to now and followed every record
    /// stored so far, and answers the position of the last warning stored by then.
    ///
    /// Exact on SQLite, where writers are serialized (the demo's database). On PostgreSQL the
    /// log's head may be held back by transactions of other clients of the server; the demo
    /// does not run there.
    pub async fn settled(&self) -> anyhow::Result<WarningPosition> {
        let now = self.clock.now();
        let head = self.store.log_head().await?;
        tokio::time::timeout(SETTLE_PATIENCE, self.supervision.caught_up(now, head))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the supervision platform did not catch up with {now} within {}s",
                    SETTLE_PATIENCE.as_secs()
                )
            })?;
        Ok(self.store.warnings_head().await?)
    }

    /// The earliest instant at which the supervision platform has something to do by its
    /// clock: a stored due instant, or a card's correction due. Until then, moving the clock
    /// changes nothing, and the simulator need not wait for the platforms to settle.
    pub async fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let due = self.store.next_due().await?;
        let correction = self.store.next_correction_due().await?;
        Ok(match (due, correction) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Waits until the scores' rollups hold every record and warning stored so far, so the
    /// ranking asked for next is the whole run's.
    pub async fn scores_settled(&self) -> anyhow::Result<()> {
        egov_supervision::scores::follower::settle(&self.supervision, SETTLE_PATIENCE)
            .await
            .map_err(|e| anyhow::anyhow!("the scores did not catch up: {e}"))
    }

    /// Stops serving, waits for the workers and every other task, and closes the store.
    pub async fn stop(self) {
        self.trigger.trigger();
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the demo's server failed"),
            Err(e) => tracing::warn!(error = %e, "the demo's server task failed"),
        }
        self.store.close().await;
    }
}
