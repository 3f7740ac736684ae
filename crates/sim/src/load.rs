//! `egov simulate`: the city's traffic against platforms already running (for load tests,
//! typically on PostgreSQL), on the wall clock. Cases are planned as in the demo, but each
//! record happens when it is sent (`occurred_at` is now), so a case lives for seconds and only
//! the record rules (fees, reasons, suspensions, extensions, order) fire; the deadline rules
//! need the demo's clock. Records go over one `StreamRecords` call at the chosen rate, many
//! cases interleaved; the report says what rate was achieved and how long the platform took to
//! answer.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Bearer, authed};
use rand::RngExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::city::City;
use crate::plan::{CasePlan, plan_case};
use crate::registry;

/// What to send.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    pub seed: u64,
    pub departments: usize,
    /// Records per second to send.
    pub rate: f64,
    pub duration: Duration,
    /// Cases in flight at once (their records interleave).
    pub open_cases: usize,
    /// Makes this run's case numbers and event ids unique in a database that holds earlier
    /// runs (the default is the start time).
    pub run_id: String,
}

/// Counts so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadProgress {
    pub sent: u64,
    pub stored: u64,
    pub rejected: u64,
    pub cases: u64,
    /// Warnings raised since the start, if a supervision platform is watched.
    pub warnings: Option<u64>,
    pub elapsed: Duration,
}

/// The run's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub progress: LoadProgress,
    /// Records answered per second over the run.
    pub achieved_rate: f64,
    /// Time from sending a record to its answer: median and 99th percentile.
    pub latency_p50: Duration,
    pub latency_p99: Duration,
}

/// Connects to `target` (`http://host:port`), every call carrying `token`.
pub async fn connect(target: &str, token: Option<&str>) -> anyhow::Result<Authed> {
    let channel = tonic::transport::Endpoint::from_shared(target.to_owned())
        .with_context(|| format!("--target {target}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot reach the platform at {target}"))?;
    Ok(authed(
        channel,
        token.map_or_else(Bearer::none, Bearer::new),
    ))
}

/// Runs the load against the approval platform on `approval` and, when given, counts the
/// warnings the supervision platform on `supervision` raises meanwhile; `report` is called
/// about once a second.
pub async fn run(
    approval: Authed,
    supervision: Option<Authed>,
    spec: &LoadSpec,
    mut report: impl FnMut(&LoadProgress),
) -> anyhow::Result<LoadReport> {
    if spec.rate.is_nan() || spec.rate <= 0.0 {
        bail!("the rate must be more than 0 records a second");
    }
    let city = City::build(spec.departments, spec.seed);
    let mut client = ApprovalServiceClient::new(approval)
        .max_decoding_message_size(16 << 20)
        .max_encoding_message_size(16 << 20);
    registry::register_city(&mut client, &city).await?;

    let started = Utc::now();
    let (warnings_tx, mut warnings_rx) = mpsc::unbounded_channel::<()>();
    let watching = supervision.is_some();
    if let Some(channel) = supervision {
        let mut s = SupervisionServiceClient::new(channel);
        let mut stream = s
            .stream_warnings(spb::StreamWarningsRequest::default())
            .await
            .context("opening the warning stream")?
            .into_inner();
        tokio::spawn(async move {
            let mut seen = HashSet::new();
            while let Ok(Some(m)) = stream.message().await {
                let Some(w) = m.warning else { continue };
                let raised = w
                    .raised_at
                    .as_ref()
                    .is_some_and(|t| t.seconds >= started.timestamp());
                if raised && seen.insert(w.id) && warnings_tx.send(()).is_err() {
                    return;
                }
            }
        });
    }

    let (tx, rx) = mpsc::channel::<apb::StreamRecordsRequest>(1024);
    let mut answers = client
        .stream_records(ReceiverStream::new(rx))
        .await
        .context("opening the record stream")?
        .into_inner();

    // The sender paces the records on a task of its own, so a slow platform (its answers
    // held back by flow control) can never stop this task from reading them.
    let sent = Arc::new(AtomicU64::new(0));
    let cases = Arc::new(AtomicU64::new(0));
    let (times_tx, mut times) = mpsc::unbounded_channel::<Instant>();
    let began = Instant::now();
    let sender = {
        let (sent, cases) = (sent.clone(), cases.clone());
        let mut source = Source::new(city, spec.clone());
        let (rate, duration) = (spec.rate, spec.duration);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(10));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut n = 0;
            loop {
                ticker.tick().await;
                let elapsed = began.elapsed();
                if elapsed >= duration {
                    return;
                }
                let owed = (rate * elapsed.as_secs_f64()) as u64;
                while n < owed {
                    let (record, opens) = source.next();
                    let request = apb::StreamRecordsRequest {
                        record: Some(record),
                    };
                    if tx.send(request).await.is_err() {
                        return;
                    }
                    let _ = times_tx.send(Instant::now());
                    n += 1;
                    sent.store(n, Ordering::Relaxed);
                    cases.fetch_add(u64::from(opens), Ordering::Relaxed);
                }
            }
            // Dropping `tx` ends the request stream; the platform then ends the answers.
        })
    };

    let mut progress = LoadProgress {
        warnings: watching.then_some(0),
        ..LoadProgress::default()
    };
    let mut latencies: Vec<Duration> = Vec::new();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.tick().await;
    loop {
        tokio::select! {
            answer = answers.message() => {
                let Some(answer) = answer.context("the record stream failed")? else {
                    break;
                };
                // Sent before it was answered: its time is there or about to be.
                if let Some(t) = times.recv().await {
                    latencies.push(t.elapsed());
                }
                match answer.result.map(|r| r.status()) {
                    Some(apb::RecordStatus::Stored | apb::RecordStatus::Duplicate) => {
                        progress.stored += 1;
                    }
                    _ => progress.rejected += 1,
                }
            }
            _ = second.tick() => {
                while warnings_rx.try_recv().is_ok() {
                    progress.warnings = progress.warnings.map(|n| n + 1);
                }
                progress.sent = sent.load(Ordering::Relaxed);
                progress.cases = cases.load(Ordering::Relaxed);
                progress.elapsed = began.elapsed();
                report(&progress);
            }
        }
    }
    sender.await.context("the sender failed")?;
    progress.sent = sent.load(Ordering::Relaxed);
    progress.cases = cases.load(Ordering::Relaxed);
    // Warnings of the last records come a moment after their answers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while warnings_rx.try_recv().is_ok() {
        progress.warnings = progress.warnings.map(|n| n + 1);
    }
    progress.elapsed = began.elapsed();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(LoadReport {
        achieved_rate: (progress.stored + progress.rejected) as f64
            / progress.elapsed.as_secs_f64().max(1e-3),
        latency_p50: pick(0.5),
        latency_p99: pick(0.99),
        progress,
    })
}

/// Cases in flight and the order their records go out.
struct Source {
    city: City,
    spec: LoadSpec,
    rng: crate::Rng,
    open: Vec<(CasePlan, usize)>,
    serial: u64,
}

impl Source {
    fn new(city: City, spec: LoadSpec) -> Self {
        Source {
            rng: crate::rng_for(spec.seed, "load", 0),
            city,
            spec,
            open: Vec::new(),
            serial: 0,
        }
    }

    /// The next record to send, stamped now, and whether it opens a case.
    fn next(&mut self) -> (apb::Record, bool) {
        while self.open.len() < self.spec.open_cases.max(1) {
            let plan = self.plan();
            self.open.push((plan, 0));
        }
        let i = self.rng.random_range(0..self.open.len());
        let (plan, n) = &mut self.open[i];
        let mut record = plan.records[*n].clone();
        *n += 1;
        let opens = *n == 1;
        if *n == plan.records.len() {
            self.open.swap_remove(i);
        }
        record.occurred_at = Utc::now();
        (apb::Record::from(&record), opens)
    }

    fn plan(&mut self) -> CasePlan {
        let departments = &self.city.departments;
        let d = self.rng.random_range(0..departments.len());
        let matters = &departments[d].matters;
        let m = matters[self.rng.random_range(0..matters.len())].0;
        let case_no = format!("LT-{}-{:07}", self.spec.run_id, self.serial);
        let mut rng = crate::rng_for(self.spec.seed, "load-case", self.serial);
        self.serial += 1;
        plan_case(&self.city, d, m, &case_no, Utc::now(), &mut rng)
    }
}
