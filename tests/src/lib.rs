//! End-to-end fixtures shared by the tests in `tests/tests/` and the platform benchmark.
//!
//! [`Platforms`] is the whole system for one story: the approval and the supervision platform
//! on 127.0.0.1:0, over one fresh database and one manual clock, with the story matter in the
//! catalogue and a supervisor's warning stream opened before anything happens. Records go in
//! over the approval platform's gRPC; time moves only by the clock; warnings come out of the
//! stream ([`Platforms::next`], [`Platforms::arrives_at`]), and absence is proved after the
//! workers have caught up with the clock and the log ([`Platforms::quiet`]), never after a
//! sleep: the warning list then holds exactly what the supervisor has read.
//!
//! Times in stories are local (Asia/Shanghai), written "2024-03-04 09:00".

use chrono::{DateTime, Duration, FixedOffset, Timelike, Utc};
use egov_approval::testing::fixtures::{local, matter, record};
use egov_domain::calendar::Calendar;
use egov_domain::case::Case;
use egov_domain::clock::{clocks, due_instants};
use egov_domain::matter::Matter;
use egov_domain::record::{Record, RecordBody};
use egov_domain::rules::RuleConfig;
use egov_platform::testing::{TestApproval, fresh_store, spawn_approval_with};
use egov_platform::testing::{TestSupervision, next_warning, spawn_supervision_with_rules};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_runtime::clock::{Clock, ManualClock};
use egov_store::{Backend, Store};
use egov_supervision::SupervisionOptions;

/// The matter of every story: a food business licence, promised in 10 and allowed 20 working
/// days by law, on the Chinese statutory calendar.
pub const MATTER: &str = "M-FOOD";
pub const DEPARTMENT: &str = "market";
pub const REGION: &str = "330106";
pub const PROMISED_DAYS: u32 = 10;
pub const STATUTORY_DAYS: u32 = 20;

/// Far past every deadline of every story, within the calendar's known range.
pub const THE_END: &str = "2026-12-31 00:00";

/// The story matter on the wire.
pub fn the_matter() -> apb::Matter {
    matter(MATTER, DEPARTMENT, PROMISED_DAYS, STATUTORY_DAYS)
}

/// Both platforms on one fresh database and one manual clock, and a supervisor's desk: a
/// warning stream opened before the story began, and the warnings read from it so far.
#[derive(Debug)]
pub struct Platforms {
    pub approval: TestApproval,
    supervision: Option<TestSupervision>,
    pub store: Store,
    pub clock: ManualClock,
    /// The supervisor's stream; None until the supervision platform first starts.
    desk: Option<tonic::Streaming<spb::StreamWarningsResponse>>,
    seen: Vec<spb::Warning>,
    /// The rule configuration both platforms run with.
    rules: RuleConfig,
    /// How the supervision platform runs when (re)started: without the correction
    /// workflow's timers, webhooks to public addresses only, unless a story says otherwise.
    pub supervision_options: SupervisionOptions,
}

impl Platforms {
    /// A fresh database of `backend` with the story matter, the clock at local time `now`,
    /// both platforms up, and the supervisor's stream open.
    pub async fn start(backend: Backend, now: &str) -> Platforms {
        Self::start_with(backend, now, RuleConfig::default(), vec![the_matter()]).await
    }

    /// [`Platforms::start`] with both platforms running the rule configuration `rules`, and
    /// `matters` in the catalogue instead of the story matter.
    pub async fn start_with(
        backend: Backend,
        now: &str,
        rules: RuleConfig,
        matters: Vec<apb::Matter>,
    ) -> Platforms {
        let mut w = Self::start_approval(backend, now, rules, matters).await;
        w.start_supervision().await;
        w
    }

    /// [`Platforms::start`] with the supervision platform running `options` (webhooks to
    /// receivers on loopback: `egov_platform::testing::local_webhooks`).
    pub async fn start_with_options(
        backend: Backend,
        now: &str,
        options: SupervisionOptions,
    ) -> Platforms {
        let mut w =
            Self::start_approval(backend, now, RuleConfig::default(), vec![the_matter()]).await;
        w.supervision_options = options;
        w.start_supervision().await;
        w
    }

    /// A fresh database of `backend` with `matters`, the clock at local time `now`, and the
    /// approval platform running the rule configuration `rules`.
    async fn start_approval(
        backend: Backend,
        now: &str,
        rules: RuleConfig,
        matters: Vec<apb::Matter>,
    ) -> Platforms {
        let store = fresh_store(backend).await;
        let clock = ManualClock::new(local(now));
        let mut approval = spawn_approval_with(store.clone(), clock.clone(), rules.clone()).await;
        let loaded = approval
            .client
            .upsert_matters(apb::UpsertMattersRequest { matters })
            .await
            .expect("the matters are loaded")
            .into_inner()
            .results;
        for result in &loaded {
            assert_eq!(
                result.status(),
                apb::MatterResultStatus::Created,
                "{loaded:?}"
            );
        }
        Platforms {
            approval,
            supervision: None,
            store,
            clock,
            desk: None,
            seen: Vec::new(),
            rules,
            supervision_options: SupervisionOptions::without_corrections(),
        }
    }

    /// The approval platform alone, on a fresh database of `backend` with the story matter,
    /// the clock at local time `now`: a story of what happens before the supervision
    /// platform (and its workers) first start, with [`Platforms::start_supervision`].
    pub async fn start_before_supervision(backend: Backend, now: &str) -> Platforms {
        Self::start_approval(backend, now, RuleConfig::default(), vec![the_matter()]).await
    }

    /// Moves the clock to local time `t`.
    pub fn at(&self, t: &str) {
        self.clock.set(local(t));
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Submits a batch over gRPC and returns the answers, whatever they are.
    pub async fn submit(&mut self, records: Vec<apb::Record>) -> Vec<apb::RecordResult> {
        self.approval
            .client
            .submit_records(apb::SubmitRecordsRequest { records })
            .await
            .expect("submit records")
            .into_inner()
            .results
    }

    /// Submits a batch of which every record must be stored.
    pub async fn push(&mut self, records: Vec<apb::Record>) -> Vec<apb::RecordResult> {
        let results = self.submit(records).await;
        for r in &results {
            assert_eq!(r.status(), apb::RecordStatus::Stored, "{r:?}");
        }
        results
    }

    /// Moves the clock to local time `t`, then pushes the batch: records sent as they happen.
    pub async fn push_at(&mut self, t: &str, records: Vec<apb::Record>) -> Vec<apb::RecordResult> {
        self.at(t);
        self.push(records).await
    }

    /// The running supervision platform.
    pub fn supervision(&mut self) -> &mut TestSupervision {
        self.supervision
            .as_mut()
            .expect("the supervision platform is running")
    }

    /// The next warning on the supervisor's stream (patience: `PATIENCE`, never a sleep).
    pub async fn next(&mut self) -> spb::Warning {
        let desk = self
            .desk
            .as_mut()
            .expect("the supervision platform was started");
        let warning = next_warning(desk).await;
        self.seen.push(warning.clone());
        warning
    }

    /// The next `n` warnings on the supervisor's stream.
    pub async fn next_n(&mut self, n: usize) -> Vec<spb::Warning> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            got.push(self.next().await);
        }
        got
    }

    /// The warnings read from the stream so far.
    pub fn seen(&self) -> &[spb::Warning] {
        &self.seen
    }

    /// Every warning the supervision platform lists, once every warning stored so far is
    /// listed: on PostgreSQL a warning raised or moved by a state change (acknowledged,
    /// answered ...) is held back from lists while any older transaction of the server is
    /// open, other tests' and other copies' of the suite too, so a list right after the
    /// change could lack it.
    pub async fn listed(&mut self) -> Vec<spb::Warning> {
        egov_store::testing::warnings_settled(&self.store).await;
        self.supervision().list_all(Default::default()).await
    }

    /// Once the workers have caught up with the clock and the log, the platform lists exactly
    /// the warnings the supervisor has read: nothing was raised that was not expected.
    ///
    /// Compared by id: the list is in id order and the stream in warning-log order, which on
    /// PostgreSQL is (transaction id, id); when two transactions raise warnings at once (the
    /// due loop and the log follower) the two orders can differ.
    pub async fn quiet(&mut self) {
        self.supervision().settled().await;
        let listed = by_id(self.listed().await);
        let seen = by_id(self.seen.clone());
        assert_eq!(
            lines(&listed),
            lines(&seen),
            "at {}: the list holds other warnings than the ones read from the stream",
            local_text(self.now())
        );
        assert_eq!(listed, seen);
    }

    /// [`Platforms::quiet`] with the clock at local time `t`.
    pub async fn quiet_at(&mut self, t: &str) {
        self.at(t);
        self.quiet().await;
    }

    /// The next warning arrives when the clock reaches local time `t` and not a minute
    /// earlier: quiet at `t` - 1 minute, then raised at `t` exactly.
    pub async fn arrives_at(&mut self, t: &str) -> spb::Warning {
        let t = local(t);
        self.clock.set(t - Duration::minutes(1));
        self.quiet().await;
        self.clock.set(t);
        let warning = self.next().await;
        assert_eq!(raised_at(&warning), t, "{}", line(&warning));
        warning
    }

    /// The clock far past every deadline; then nothing more than what was read.
    pub async fn the_end(&mut self) {
        self.quiet_at(THE_END).await;
    }

    /// The due instants the store holds for a case, as (clock, due_at), earliest first.
    pub async fn stored_due(&self, case_no: &str) -> Vec<(String, DateTime<Utc>)> {
        self.store
            .due_for_case(case_no)
            .await
            .expect("due instants")
            .into_iter()
            .map(|d| (d.clock, d.due_at))
            .collect()
    }

    /// Stops the supervision platform (server, streams, workers); the supervisor's stream ends.
    pub async fn stop_supervision(&mut self) {
        let supervision = self
            .supervision
            .take()
            .expect("the supervision platform is running");
        supervision.stop().await;
    }

    /// Starts a new supervision platform on the same store and clock, and opens the
    /// supervisor's stream again from the beginning of the warning log. Returns the warnings
    /// read before; the stream replays them first.
    pub async fn start_supervision(&mut self) -> Vec<spb::Warning> {
        assert!(
            self.supervision.is_none(),
            "stop the running platform first"
        );
        let mut supervision = spawn_supervision_with_rules(
            self.store.clone(),
            self.clock.clone(),
            self.supervision_options.clone(),
            self.rules.clone(),
        )
        .await;
        self.desk = Some(supervision.stream(Default::default()).await);
        self.supervision = Some(supervision);
        std::mem::take(&mut self.seen)
    }
}

/// Record number `n` of case `case_no` at local time `at`: event id `CASE-n`.
pub fn rec(case_no: &str, n: u32, at: &str, body: RecordBody) -> apb::Record {
    record(case_no, &format!("{case_no}-{n}"), at, body)
}

/// 不予受理 with its reasons.
pub fn refusal() -> RecordBody {
    RecordBody::Refusal {
        reason: "the premises are outside the licensed zone".into(),
        handler: "clerk-1".into(),
    }
}

pub fn step_completed(step: &str) -> RecordBody {
    RecordBody::StepCompleted {
        step: step.into(),
        handler: "officer-1".into(),
        opinion: "complete".into(),
    }
}

/// The due instants the domain computes for a case told by `records` (the story matter on
/// the Chinese calendar), as (clock, due_at), earliest first: the reference a story's hand
/// computation is checked against.
pub fn expected_due(records: &[apb::Record]) -> Vec<(String, DateTime<Utc>)> {
    let matter = Matter::try_from(the_matter()).expect("matter");
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

/// [`expected_due`] of the clock `key`.
pub fn expected_due_of(records: &[apb::Record], key: &str) -> DateTime<Utc> {
    expected_due(records)
        .into_iter()
        .find(|(clock, _)| clock == key)
        .unwrap_or_else(|| panic!("no {key} instant"))
        .1
}

/// (clock, local time) pairs, for writing expected due instants by hand.
pub fn due_list(pairs: &[(&str, &str)]) -> Vec<(String, DateTime<Utc>)> {
    pairs
        .iter()
        .map(|(clock, t)| ((*clock).to_owned(), local(t)))
        .collect()
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00")
}

/// An instant as local time, "2024-03-19 00:00" (with seconds when it has any).
pub fn local_text(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&shanghai());
    if l.second() == 0 && l.nanosecond() == 0 {
        l.format("%Y-%m-%d %H:%M").to_string()
    } else {
        l.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A deadline as the law words it: local midnight is 24:00 of the day before, "2024-03-18
/// 24:00".
pub fn deadline_text(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&shanghai());
    if l.num_seconds_from_midnight() == 0 && l.nanosecond() == 0 {
        let day = l.date_naive().pred_opt().expect("a day before");
        format!("{day} 24:00")
    } else {
        local_text(t)
    }
}

/// When the warning was raised.
pub fn raised_at(w: &spb::Warning) -> DateTime<Utc> {
    let t = w.raised_at.as_ref().expect("raised_at");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("a valid instant")
}

/// The deadline the warning is about.
pub fn due_at(w: &spb::Warning) -> DateTime<Utc> {
    let t = w.due_at.as_ref().expect("due_at");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("a valid instant")
}

/// A warning in one line, as a supervisor would read it off the desk:
/// "C-1 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 00:00"
/// ("no deadline" instead of the due part for a record rule's warning).
pub fn line(w: &spb::Warning) -> String {
    let rule = w.rule().as_str_name().trim_start_matches("WARNING_RULE_");
    let level = w.level().as_str_name().trim_start_matches("WARNING_LEVEL_");
    let what = format!("{rule} {level}").to_lowercase();
    let due = match w.due_at {
        Some(_) => format!("due {}", deadline_text(due_at(w))),
        None => "no deadline".to_owned(),
    };
    format!(
        "{} {what}, {due}, raised {}",
        w.case_no,
        local_text(raised_at(w))
    )
}

/// The warnings in id order (the order `ListWarnings` uses).
pub fn by_id(mut warnings: Vec<spb::Warning>) -> Vec<spb::Warning> {
    warnings.sort_by_key(|w| w.id.parse::<i64>().expect("a numeric warning id"));
    warnings
}

/// [`line`] of each warning, in order.
pub fn lines(warnings: &[spb::Warning]) -> Vec<String> {
    warnings.iter().map(line).collect()
}

/// [`line`] of each warning, sorted: for warnings raised together, whose order is not told.
pub fn sorted_lines(warnings: &[spb::Warning]) -> Vec<String> {
    let mut lines = lines(warnings);
    lines.sort();
    lines
}

impl Platforms {
    /// Registers the story's department with its region, the region's parents (浙江省,
    /// 杭州市) and the counties `beside` it (code, name), for the stories whose scopes and
    /// subjects name them.
    pub async fn register_regions(&mut self, beside: &[(&str, &str)]) {
        let region = |code: &str, name: &str| apb::Region {
            code: code.into(),
            name: name.into(),
            ..Default::default()
        };
        let mut regions = vec![
            region("33", "浙江省"),
            region("3301", "杭州市"),
            region(REGION, "西湖区"),
        ];
        regions.extend(beside.iter().map(|(code, name)| region(code, name)));
        self.approval
            .client
            .upsert_regions(apb::UpsertRegionsRequest { regions })
            .await
            .expect("regions");
        self.approval
            .client
            .upsert_departments(apb::UpsertDepartmentsRequest {
                departments: vec![apb::Department {
                    code: DEPARTMENT.into(),
                    name: "市场监管".into(),
                    region: REGION.into(),
                }],
            })
            .await
            .expect("departments");
    }
}
