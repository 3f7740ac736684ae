//! `egov demo`'s engine: a month of the city, driven through both platforms in process on a
//! clock the simulator owns ([`crate::platforms::InProcess`]).
//!
//! Time moves in ticks (15 simulated minutes). At each tick, with the platforms settled at
//! time `t`:
//! 1. the departments and supervisors make the workflow moves due by `t` ([`crate::react`]);
//! 2. every record that happens before `t + tick` is sent (`SubmitRecords`, in time order), so
//!    no record can arrive after a deadline it would have stopped: records happen in office
//!    hours, deadlines at midnight and suspensions' planned ends at 17:00, both tick
//!    boundaries;
//! 3. the platforms settle at `t` (the log follower judges the records at `t`), the clock
//!    moves to `t + tick`, and they settle again (the due loop fires what came due) unless
//!    nothing was sent or moved and nothing is due by then;
//! 4. the warning stream is read up to the head the platforms reported, and the new warnings
//!    and states are handed to the desk, which plans its reactions;
//! 5. the tick is paced by the wall clock (`speed` simulated seconds per second).
//!
//! So a seed's run is the same every time: the same records at the same platform times, the
//! same warnings raised at the same simulated times, the same workflow moves.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use egov_domain::record::RecordBody;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::Authed;
use egov_store::WarningPosition;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::city::{City, Profile};
use crate::platforms::InProcess;
use crate::react::{Action, Desk, Move, Seen, WorkflowStats};
use crate::registry::{self, Registered};
use crate::traffic::{Traffic, TrafficSpec};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSpec {
    pub seed: u64,
    /// The first simulated day.
    pub start: NaiveDate,
    /// Calendar days simulated.
    pub days: u32,
    pub departments: usize,
    /// Simulated seconds per wall-clock second (3600: an hour a second); None: as fast as the
    /// platforms settle.
    pub speed: Option<f64>,
    /// Working days before the start whose open cases are re-synced first.
    pub backlog_working_days: u32,
    /// How far simulated time moves at once.
    pub tick: Duration,
}

impl DemoSpec {
    /// The demo's defaults: September 2026 (the Mid-autumn holiday and an adjusted working
    /// Sunday included), twenty departments, a month in about a minute.
    pub fn month(seed: u64) -> DemoSpec {
        DemoSpec {
            seed,
            start: NaiveDate::from_ymd_opt(2026, 9, 1).expect("a date"),
            days: 30,
            departments: 20,
            speed: Some(DEFAULT_SPEED),
            backlog_working_days: 15,
            tick: Duration::minutes(15),
        }
    }
}

/// The default pace: 12 simulated hours a second, a month in a minute.
pub const DEFAULT_SPEED: f64 = 43_200.0;

/// What the demo reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The city is registered and the month's traffic is planned.
    Ready {
        city: &'a City,
        traffic: &'a Traffic,
        registered: &'a Registered,
    },
    /// A warning was raised (the first time the stream showed it).
    Raised(&'a spb::Warning),
    /// A tick is done.
    Tick(&'a Progress),
    /// A simulated day is over (the clock is at its midnight).
    Day(&'a Progress),
}

/// Counts so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The platforms' (simulated) time.
    pub now: DateTime<Utc>,
    pub records_sent: u64,
    pub records_stored: u64,
    /// Records the platform refused; the completions deliberately sent before their decision
    /// are among them.
    pub records_rejected: u64,
    /// Applications stored: cases opened.
    pub cases: u64,
    /// Warnings raised, by rule and level.
    pub raised: BTreeMap<(spb::WarningRule, spb::WarningLevel), u64>,
    pub workflow: WorkflowStats,
    /// How far behind its pace the run is, in wall-clock seconds (0 when on time).
    pub behind_secs: f64,
}

impl Progress {
    /// Warnings raised at `level`.
    pub fn at_level(&self, level: spb::WarningLevel) -> u64 {
        self.raised
            .iter()
            .filter(|((_, l), _)| *l == level)
            .map(|(_, n)| n)
            .sum()
    }

    /// Warnings raised by `rule`, every level.
    pub fn of_rule(&self, rule: spb::WarningRule) -> u64 {
        self.raised
            .iter()
            .filter(|((r, _), _)| *r == rule)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total_raised(&self) -> u64 {
        self.raised.values().sum()
    }
}

/// One department at the end of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentLine {
    pub code: String,
    pub name: String,
    pub profile: Profile,
    pub cases: u64,
    pub reminders: u64,
    pub yellow: u64,
    pub red: u64,
}

/// The run's outcome.
#[derive(Debug, Clone)]
pub struct Report {
    pub progress: Progress,
    pub departments: Vec<DepartmentLine>,
    /// A case that shows each rule (the first warned), for `egov case`.
    pub example_case: BTreeMap<spb::WarningRule, String>,
    /// The first few refusals that were not the deliberate ones, for diagnosis.
    pub unexpected_rejections: Vec<String>,
    /// The ranking from the scores service, when the platform has one.
    pub ranking: Option<Vec<registry::RankingRow>>,
    /// The month ranked (`2026-09`).
    pub period: String,
    pub registered: Registered,
    /// Wall-clock time of the run.
    pub elapsed: std::time::Duration,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Report {
    /// The rules of docs/design.md §3 that never fired.
    pub fn silent_rules(&self) -> Vec<spb::WarningRule> {
        ALL_RULES
            .into_iter()
            .filter(|r| self.progress.of_rule(*r) == 0)
            .collect()
    }
}

/// Every rule of docs/design.md §3, in its order there.
pub const ALL_RULES: [spb::WarningRule; 12] = [
    spb::WarningRule::ApproachingDeadline,
    spb::WarningRule::PromisedLimitPassed,
    spb::WarningRule::StatutoryLimitPassed,
    spb::WarningRule::AcceptanceOverdue,
    spb::WarningRule::StepOverdue,
    spb::WarningRule::RepeatedCorrection,
    spb::WarningRule::MissingReasons,
    spb::WarningRule::SuspensionAbuse,
    spb::WarningRule::ExtensionAbuse,
    spb::WarningRule::IrregularFee,
    spb::WarningRule::ProcedureAnomaly,
    spb::WarningRule::CertificateOverdue,
];

/// A planned month of the city: built from the spec alone, run against the platforms.
#[derive(Debug)]
pub struct Demo {
    pub spec: DemoSpec,
    pub city: City,
    pub traffic: Traffic,
}

/// Workflow moves sent at once.
const MOVES_IN_FLIGHT: usize = 16;

/// How many unexpected refusals a report keeps.
const KEEP_REJECTIONS: usize = 5;

impl Demo {
    pub fn new(spec: DemoSpec) -> Demo {
        let city = City::build(spec.departments, spec.seed);
        let traffic = Traffic::generate(
            &city,
            TrafficSpec {
                seed: spec.seed,
                start: spec.start,
                days: spec.days,
                backlog_working_days: spec.backlog_working_days,
            },
        );
        Demo {
            spec,
            city,
            traffic,
        }
    }

    /// The month the ranking is asked for (`2026-09`): the one in the middle of the run.
    pub fn period(&self) -> String {
        let middle = self.spec.start + chrono::Days::new(u64::from(self.spec.days / 2));
        middle.format("%Y-%m").to_string()
    }

    /// Where the platforms' clock must start: local midnight of the first day.
    pub fn start_at(&self) -> DateTime<Utc> {
        self.traffic.start
    }

    /// Runs the month against `platforms` (started at [`Demo::start_at`]), reporting to
    /// `observe` as it goes.
    pub async fn run(
        &self,
        platforms: &InProcess,
        mut observe: impl FnMut(Event<'_>),
    ) -> anyhow::Result<Report> {
        let began = Instant::now();
        if platforms.now() != self.traffic.start {
            bail!(
                "the platforms' clock is at {}, not at the demo's start {}",
                platforms.now(),
                self.traffic.start
            );
        }
        let channel = platforms.channel().await?;
        let mut approval = ApprovalServiceClient::new(channel.clone())
            .max_decoding_message_size(16 << 20)
            .max_encoding_message_size(16 << 20);
        let mut supervision = SupervisionServiceClient::new(channel.clone());
        let registered = registry::register_city(&mut approval, &self.city).await?;
        observe(Event::Ready {
            city: &self.city,
            traffic: &self.traffic,
            registered: &registered,
        });

        let mut warnings = open_stream(&mut supervision).await?;
        let mut run = Run {
            demo: self,
            approval,
            supervision,
            desk: Desk::new(&self.city, self.spec.seed),
            progress: Progress {
                now: platforms.now(),
                ..Progress::default()
            },
            next_record: 0,
            read_through: WarningPosition::START,
            by_department: HashMap::new(),
            example_case: BTreeMap::new(),
            unexpected: Vec::new(),
        };

        let mut t = self.traffic.start;
        while t < self.traffic.end {
            let next = t + self.spec.tick;
            let moved = run.react(t).await?;
            let sent = run.send_before(next).await?;
            if sent {
                // The follower judges what was just stored at `t`, before time moves on.
                let head = platforms.settled().await?;
                run.read(&mut warnings, head, t, &mut observe).await?;
            }
            // Most ticks (nights, weekends) have nothing due: the clock just moves on.
            let due = platforms.next_due().await?;
            platforms.advance_to(next);
            if moved || sent || due.is_some_and(|d| d <= next) {
                let head = platforms.settled().await?;
                run.read(&mut warnings, head, next, &mut observe).await?;
            }
            t = next;
            run.progress.now = t;
            run.progress.workflow = run.desk.stats;
            if let Some(speed) = self.spec.speed {
                let due = std::time::Duration::from_secs_f64(
                    (t - self.traffic.start).num_milliseconds() as f64 / 1000.0 / speed,
                );
                let elapsed = began.elapsed();
                if elapsed < due {
                    tokio::time::sleep(due - elapsed).await;
                    run.progress.behind_secs = 0.0;
                } else {
                    run.progress.behind_secs = (elapsed - due).as_secs_f64();
                }
            }
            observe(Event::Tick(&run.progress));
            let local = t.with_timezone(&self.city.calendar.utc_offset());
            if local.hour() == 0 && local.minute() == 0 {
                observe(Event::Day(&run.progress));
            }
        }
        let head = platforms.settled().await?;
        run.read(&mut warnings, head, t, &mut observe).await?;
        run.progress.workflow = run.desk.stats;

        platforms.scores_settled().await?;
        let ranking = registry::ranking(channel, &self.period()).await?;
        let departments = self
            .city
            .departments
            .iter()
            .map(|d| {
                let counts = run.by_department.get(&d.code).copied().unwrap_or_default();
                DepartmentLine {
                    code: d.code.clone(),
                    name: d.name.clone(),
                    profile: d.profile,
                    cases: counts[0],
                    reminders: counts[1],
                    yellow: counts[2],
                    red: counts[3],
                }
            })
            .collect();
        Ok(Report {
            progress: run.progress,
            departments,
            example_case: run
                .example_case
                .into_iter()
                .map(|(rule, (_, case))| (rule, case))
                .collect(),
            unexpected_rejections: run.unexpected,
            ranking,
            period: self.period(),
            registered,
            elapsed: began.elapsed(),
            start: self.traffic.start,
            end: self.traffic.end,
        })
    }
}

/// The state of one run.
struct Run<'a> {
    demo: &'a Demo,
    approval: ApprovalServiceClient<Authed>,
    supervision: SupervisionServiceClient<Authed>,
    desk: Desk,
    progress: Progress,
    /// The next record of the traffic to send.
    next_record: usize,
    /// The position of the last warning message read.
    read_through: WarningPosition,
    /// Department -> [cases, reminders, yellow cards, red cards].
    by_department: HashMap<String, [u64; 4]>,
    /// Per rule, the (raised_at, case) of its earliest warning.
    example_case: BTreeMap<spb::WarningRule, (i64, String)>,
    unexpected: Vec<String>,
}

impl Run<'_> {
    /// Makes the workflow moves due by `now`; whether any was made. The moves of one tick
    /// concern different warnings (one pending move per warning) and are made at the same
    /// platform time, so they go out together; their answers are taken in the desk's order.
    async fn react(&mut self, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let due = self.desk.due(now);
        if due.is_empty() {
            return Ok(false);
        }
        let client = self.supervision.clone();
        let answers: Vec<Result<spb::Warning, tonic::Status>> =
            futures::stream::iter(due.iter().map(|action| make(client.clone(), action)))
                .buffered(MOVES_IN_FLIGHT)
                .collect()
                .await;
        for (action, answer) in due.iter().zip(answers) {
            match answer {
                Ok(warning) => self.desk.made(action, &warning, now),
                // The warning moved on meanwhile (the platform escalated it): nothing to do.
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::FailedPrecondition | tonic::Code::PermissionDenied
                    ) =>
                {
                    self.desk.refused();
                }
                Err(status) => {
                    return Err(status).with_context(|| {
                        format!(
                            "{} warning {} of case {}",
                            action.action.as_str(),
                            action.warning_id,
                            action.case_no
                        )
                    });
                }
            }
        }
        Ok(true)
    }

    /// Sends every record that happens before `until`; whether any was sent.
    async fn send_before(&mut self, until: DateTime<Utc>) -> anyhow::Result<bool> {
        let records = &self.demo.traffic.records;
        let from = self.next_record;
        let mut to = from;
        while to < records.len() && records[to].1.occurred_at < until {
            to += 1;
        }
        if to == from {
            return Ok(false);
        }
        self.next_record = to;
        for chunk in records[from..to].chunks(1000) {
            let wire: Vec<apb::Record> = chunk.iter().map(|(_, r)| apb::Record::from(r)).collect();
            let results = self
                .approval
                .submit_records(apb::SubmitRecordsRequest { records: wire })
                .await
                .context("sending records")?
                .into_inner()
                .results;
            for ((case, record), result) in chunk.iter().zip(&results) {
                self.progress.records_sent += 1;
                match result.status() {
                    apb::RecordStatus::Stored | apb::RecordStatus::Duplicate => {
                        self.progress.records_stored += 1;
                        if matches!(record.body, RecordBody::Application(_)) {
                            self.progress.cases += 1;
                            let dept = &self.demo.city.departments
                                [self.demo.traffic.cases[*case].department];
                            self.by_department.entry(dept.code.clone()).or_default()[0] += 1;
                        }
                    }
                    _ => {
                        self.progress.records_rejected += 1;
                        let deliberate = matches!(record.body, RecordBody::Completion { .. });
                        if !deliberate && self.unexpected.len() < KEEP_REJECTIONS {
                            let why = result
                                .error
                                .as_ref()
                                .map_or(String::new(), |e| e.message.clone());
                            self.unexpected.push(format!("{}: {why}", record.event_id));
                        }
                    }
                }
            }
        }
        Ok(true)
    }

    /// Reads the warning stream through `head`, handing each message to the desk at `now`.
    async fn read(
        &mut self,
        stream: &mut mpsc::UnboundedReceiver<Result<spb::Warning, tonic::Status>>,
        head: WarningPosition,
        now: DateTime<Utc>,
        observe: &mut impl FnMut(Event<'_>),
    ) -> anyhow::Result<()> {
        while self.read_through < head {
            let message = tokio::time::timeout(std::time::Duration::from_secs(60), stream.recv())
                .await
                .context("the warning stream fell silent")?;
            let warning = match message {
                Some(Ok(w)) => w,
                Some(Err(status)) => return Err(status).context("the warning stream failed"),
                None => bail!("the warning stream ended"),
            };
            if let Ok(p) = WarningPosition::from_str(&warning.position) {
                self.read_through = self.read_through.max(p);
            }
            if self.desk.observe(&warning, now) == Seen::New {
                let key = (warning.rule(), warning.level());
                *self.progress.raised.entry(key).or_insert(0) += 1;
                let slot = match warning.level() {
                    spb::WarningLevel::Reminder => 1,
                    spb::WarningLevel::YellowCard => 2,
                    _ => 3,
                };
                self.by_department
                    .entry(warning.department.clone())
                    .or_default()[slot] += 1;
                // The earliest raised (then the least case number): the same case every run,
                // whatever order warnings raised together stream in.
                let raised = warning.raised_at.as_ref().map_or(0, |t| t.seconds);
                let example = (raised, warning.case_no.clone());
                self.example_case
                    .entry(warning.rule())
                    .and_modify(|e| {
                        if example < *e {
                            *e = example.clone();
                        }
                    })
                    .or_insert(example);
                observe(Event::Raised(&warning));
            }
        }
        Ok(())
    }
}

/// Makes one workflow move.
async fn make(
    mut s: SupervisionServiceClient<Authed>,
    action: &Action,
) -> Result<spb::Warning, tonic::Status> {
    let input = Some(spb::WarningTransitionInput {
        id: action.warning_id.clone(),
        actor: action.actor.clone(),
        reason: action.reason.clone(),
        attachments: action.attachments.clone(),
        ..Default::default()
    });
    let warning = match action.action {
        Move::Acknowledge => {
            s.acknowledge_warning(spb::AcknowledgeWarningRequest { input })
                .await?
                .into_inner()
                .warning
        }
        Move::Answer => {
            s.answer_warning(spb::AnswerWarningRequest { input })
                .await?
                .into_inner()
                .warning
        }
        Move::Close => {
            s.close_warning(spb::CloseWarningRequest { input })
                .await?
                .into_inner()
                .warning
        }
        Move::Escalate => {
            s.escalate_warning(spb::EscalateWarningRequest { input })
                .await?
                .into_inner()
                .warning
        }
    };
    warning.ok_or_else(|| tonic::Status::internal("a workflow answer without its warning"))
}

/// Opens the supervisor's warning stream from the beginning of the warning log, read by a
/// task into a channel (so reading never holds up the stream's flow control).
async fn open_stream(
    supervision: &mut SupervisionServiceClient<Authed>,
) -> anyhow::Result<mpsc::UnboundedReceiver<Result<spb::Warning, tonic::Status>>> {
    let mut stream = supervision
        .stream_warnings(spb::StreamWarningsRequest::default())
        .await
        .context("opening the warning stream")?
        .into_inner();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match stream.message().await {
                Ok(Some(m)) => {
                    if let Some(w) = m.warning
                        && tx.send(Ok(w)).is_err()
                    {
                        return;
                    }
                }
                Ok(None) => return,
                Err(status) => {
                    let _ = tx.send(Err(status));
                    return;
                }
            }
        }
    });
    Ok(rx)
}
