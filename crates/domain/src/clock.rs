//! The deadline clocks of a case (docs/design.md §2): acceptance decision (5 working days, ALL
//! Art. 32), the promised and statutory decision limits (ALL Art. 42/43), immediate items, the
//! certificate (10 working days, ALL Art. 44) and per-step limits of the matter.
//!
//! Clocks are a pure function of the case, its matter and the calendar, with no notion of
//! "now": whether a running clock is overdue is asked with [`DeadlineClock::is_overdue`]. The instants
//! the supervision platform must wake at are derived by [`due_instants`].
//!
//! Each clock takes the case's suspensions and extensions in the order they happened, each
//! judged against the due instant the earlier ones left (docs/design.md §2,
//! [`crate::limit::deadline_in_order`]): one that came after the limit passed does not count,
//! is named in the explanation and listed in [`DeadlineClock::passed_events`], and an open suspension
//! pauses only the clocks it counts for.
//!
//! How a clock was counted, as data for people to read in their own language, is
//! [`count::count`].

pub mod count;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, Utc};

use crate::calendar::Calendar;
use crate::case::{Case, CaseState};
use crate::limit::{
    Deadline, DeadlineInput, Limit, LimitEvent, LimitEventKind, LimitUnit, OrderedInput,
    deadline_explained, deadline_in_order,
};
use crate::matter::{Matter, MatterKind};
use crate::record::Outcome;
use crate::rules::approaching_deadline::{self, Approaching};

/// The acceptance decision is due within 5 working days of receipt (ALL Art. 32).
pub const ACCEPTANCE_LIMIT: Limit = Limit {
    amount: 5,
    unit: LimitUnit::WorkingDays,
};

/// The certificate is issued or served within 10 working days of approval (ALL Art. 44).
pub const CERTIFICATE_LIMIT: Limit = Limit {
    amount: 10,
    unit: LimitUnit::WorkingDays,
};

/// Which limit a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClockKind {
    Acceptance,
    Promised,
    Statutory,
    /// The same-working-day limit of an immediate item (即办件).
    Immediate,
    Certificate,
    /// A step's own limit, from the matter's step limits.
    Step,
}

impl ClockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Acceptance => "acceptance",
            ClockKind::Promised => "promised",
            ClockKind::Statutory => "statutory",
            ClockKind::Immediate => "immediate",
            ClockKind::Certificate => "certificate",
            ClockKind::Step => "step",
        }
    }
}

/// Whether a clock still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStatus {
    Running,
    /// A suspension is open: time is not counted until it ends (ALL Art. 45). The deadline
    /// shown assumes it ends as planned.
    Paused,
    /// The event the clock waited for happened at `at`; `on_time` compares it with the due.
    Stopped {
        at: DateTime<Utc>,
        on_time: bool,
    },
}

/// One deadline clock of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineClock {
    pub kind: ClockKind,
    /// The step's name for [`ClockKind::Step`].
    pub step: Option<String>,
    pub started_at: DateTime<Utc>,
    pub limit: Limit,
    /// Extra units granted by the extensions that came in time.
    pub extension: u32,
    pub deadline: Deadline,
    /// The suspensions and extensions this clock did not count because they came after its
    /// limit had passed (docs/design.md §2), in time order.
    pub passed_events: Vec<PassedEvent>,
    pub status: ClockStatus,
    /// Not judged before this instant. A decision clock that runs only because the
    /// acceptance decision is missing (the case counts as accepted on receipt, ALL Art. 32)
    /// cannot be overdue while the department still has time to decide on acceptance.
    pub not_before: Option<DateTime<Utc>>,
}

/// A suspension or extension that came after a clock's limit had passed, so it did not count:
/// a limit once passed stays passed (an extension must be approved within the limit, ALL
/// Art. 42).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassedEvent {
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// True for an extension, false for a suspension.
    pub extension: bool,
    /// The last day of the limit it came after, as the earlier events left it: the limit had
    /// passed at 24:00 of that day.
    pub last_day: NaiveDate,
}

impl DeadlineClock {
    /// A stable name for the clock within its case (`promised`, `step:review`).
    pub fn key(&self) -> String {
        match &self.step {
            Some(step) => format!("step:{step}"),
            None => self.kind.as_str().to_owned(),
        }
    }

    /// When a running clock is judged overdue: its deadline, or `not_before` if later.
    pub fn judged_at(&self) -> DateTime<Utc> {
        self.not_before
            .map_or(self.deadline.due_at, |t| t.max(self.deadline.due_at))
    }

    /// Running (or paused) past its due instant at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            ClockStatus::Running | ClockStatus::Paused => now >= self.judged_at(),
            ClockStatus::Stopped { on_time, .. } => !on_time,
        }
    }
}

/// The suspensions and extensions that may change a clock, in the order they happened: the
/// suspensions that began at or after `from` and the extensions (when `extensions`), both
/// before the clock stopped at `until`. An open suspension counts to its planned end.
struct Events {
    events: Vec<LimitEvent>,
    /// Per event: its instant, and whether it is the open suspension.
    facts: Vec<(DateTime<Utc>, bool)>,
}

fn events_of(
    case: &Case,
    cal: &Calendar,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    extensions: bool,
) -> Events {
    let before_stop = |t: DateTime<Utc>| until.is_none_or(|u| t < u);
    let mut timed: Vec<(DateTime<Utc>, bool, LimitEvent)> = case
        .suspensions
        .iter()
        .filter(|s| s.started_at >= from && before_stop(s.started_at))
        .map(|s| {
            let event = LimitEvent {
                on: cal.local_date(s.started_at),
                kind: LimitEventKind::Suspension {
                    end: cal.local_date(s.ended_at.unwrap_or(s.planned_end)),
                },
            };
            (s.started_at, s.ended_at.is_none(), event)
        })
        .collect();
    if extensions {
        timed.extend(
            case.extensions
                .iter()
                .filter(|e| before_stop(e.at))
                .map(|e| {
                    let event = LimitEvent {
                        on: cal.local_date(e.at),
                        kind: LimitEventKind::Extension {
                            units: e.working_days,
                        },
                    };
                    (e.at, false, event)
                }),
        );
    }
    // Stable: at one instant a suspension comes before an extension, as the case lists them.
    timed.sort_by_key(|(at, _, _)| *at);
    Events {
        events: timed.iter().map(|(_, _, e)| *e).collect(),
        facts: timed.iter().map(|(at, open, _)| (*at, *open)).collect(),
    }
}

/// A clock's deadline over its events in time order: the deadline, the extension units that
/// counted, the events that came after the limit passed, and whether an open suspension counts
/// (the clock is then paused).
fn ordered_deadline(
    cal: &Calendar,
    start: NaiveDate,
    limit: Limit,
    events: &Events,
    name: &str,
    label: &str,
) -> (Deadline, u32, Vec<PassedEvent>, bool) {
    let out = deadline_in_order(
        cal,
        &OrderedInput {
            start,
            limit,
            events: &events.events,
            name,
        },
        label,
    );
    let mut passed = Vec::new();
    let mut open_counts = false;
    for ((event, (at, open)), late) in events.events.iter().zip(&events.facts).zip(&out.passed) {
        match late {
            Some(last) => passed.push(PassedEvent {
                at: *at,
                extension: matches!(event.kind, LimitEventKind::Extension { .. }),
                last_day: *last,
            }),
            None => open_counts |= *open,
        }
    }
    (out.deadline, out.extension, passed, open_counts)
}

fn stop_status(stop: Option<DateTime<Utc>>, deadline: &Deadline) -> ClockStatus {
    match stop {
        Some(at) => ClockStatus::Stopped {
            at,
            on_time: at < deadline.due_at,
        },
        None => ClockStatus::Running,
    }
}

/// The decision limits of a matter: the same-day limit of an immediate item, or the promised
/// and statutory limits.
fn decision_limits(matter: &Matter) -> Vec<(ClockKind, Limit)> {
    if matter.kind == MatterKind::Immediate {
        vec![(ClockKind::Immediate, matter.promised_limit)]
    } else {
        vec![
            (ClockKind::Promised, matter.promised_limit),
            (ClockKind::Statutory, matter.statutory_limit),
        ]
    }
}

/// The clocks of a case. Clocks that have not started (a certificate before approval) are
/// absent.
pub fn clocks(case: &Case, matter: &Matter, cal: &Calendar) -> Vec<DeadlineClock> {
    let mut out = Vec::new();

    // Acceptance: its current run starts at receipt or at the last corrected materials, and
    // ends at acceptance, refusal, a correction notice or withdrawal.
    let acceptance_stop = case
        .acceptance_decided_at
        .or(case.withdrawn_at.filter(|_| case.accepted_at.is_none()));
    let acceptance = deadline_explained(
        cal,
        &DeadlineInput {
            start: cal.local_date(case.acceptance_clock_from),
            limit: ACCEPTANCE_LIMIT,
            extension: 0,
            suspensions: &[],
        },
        "received",
    );
    let acceptance_due = acceptance.due_at;
    let acceptance_status = stop_status(acceptance_stop, &acceptance);
    let acceptance_late = matches!(
        acceptance_status,
        ClockStatus::Stopped { on_time: false, .. }
    );
    out.push(DeadlineClock {
        kind: ClockKind::Acceptance,
        step: None,
        started_at: case.acceptance_clock_from,
        limit: ACCEPTANCE_LIMIT,
        extension: 0,
        deadline: acceptance,
        status: acceptance_status,
        passed_events: Vec::new(),
        not_before: None,
    });

    if let Some(accepted_at) = case.accepted_at {
        // Missing the 5 days means the case counts as accepted on the day of receipt
        // (ALL Art. 32), so a late acceptance does not buy the department time.
        let (start, label) = if acceptance_late {
            (case.acceptance_clock_from, "deemed accepted on receipt")
        } else {
            (accepted_at, "accepted")
        };
        let stop = [
            case.decision.as_ref().map(|d| d.at),
            case.withdrawn_at,
            case.completed_at,
        ]
        .into_iter()
        .flatten()
        .min();
        let events = events_of(case, cal, start, stop, true);
        let suspended_now = stop.is_none() && case.state == CaseState::Suspended;
        for (kind, limit) in decision_limits(matter) {
            // An extension lengthens every decision limit still running when it is approved:
            // the promised one is the department's own commitment within the statutory one and
            // moves with it, unless it has passed already.
            let name = format!("{} limit", kind.as_str());
            let (d, extension, passed_events, open_counts) =
                ordered_deadline(cal, cal.local_date(start), limit, &events, &name, label);
            let status = if suspended_now && open_counts {
                ClockStatus::Paused
            } else {
                stop_status(stop, &d)
            };
            out.push(DeadlineClock {
                kind,
                step: None,
                started_at: start,
                limit,
                extension,
                deadline: d,
                status,
                passed_events,
                not_before: None,
            });
        }

        for span in &case.steps {
            let Some(limit) = matter.step_limit(&span.step) else {
                continue;
            };
            // A step still open when the case is decided, withdrawn or completed ends there:
            // the case no longer waits on it.
            let step_stop = span.completed_at.or(stop.filter(|s| *s >= span.started_at));
            let events = events_of(case, cal, span.started_at, step_stop, false);
            let (d, _, passed_events, open_counts) = ordered_deadline(
                cal,
                cal.local_date(span.started_at),
                limit,
                &events,
                "step limit",
                "step started",
            );
            let status = if step_stop.is_none() && case.state == CaseState::Suspended && open_counts
            {
                ClockStatus::Paused
            } else {
                stop_status(step_stop, &d)
            };
            out.push(DeadlineClock {
                kind: ClockKind::Step,
                step: Some(span.step.clone()),
                started_at: span.started_at,
                limit,
                extension: 0,
                deadline: d,
                status,
                passed_events,
                not_before: None,
            });
        }
    } else if case.state == CaseState::Received {
        // No acceptance decision yet. Once the 5 working days pass, the case counts as
        // accepted on the day of receipt (ALL Art. 32): the decision clocks run from receipt,
        // judged no earlier than the acceptance deadline.
        let start = case.acceptance_clock_from;
        for (kind, limit) in decision_limits(matter) {
            let d = deadline_explained(
                cal,
                &DeadlineInput {
                    start: cal.local_date(start),
                    limit,
                    extension: 0,
                    suspensions: &[],
                },
                "received (counts as accepted without an acceptance decision)",
            );
            out.push(DeadlineClock {
                kind,
                step: None,
                started_at: start,
                limit,
                extension: 0,
                deadline: d,
                status: ClockStatus::Running,
                passed_events: Vec::new(),
                not_before: Some(acceptance_due),
            });
        }
    }

    if let Some(decision) = case
        .decision
        .as_ref()
        .filter(|d| d.outcome == Outcome::Approved)
    {
        let d = deadline_explained(
            cal,
            &DeadlineInput {
                start: cal.local_date(decision.at),
                limit: CERTIFICATE_LIMIT,
                extension: 0,
                suspensions: &[],
            },
            "approved",
        );
        let status = stop_status(case.certificate_issued_at, &d);
        out.push(DeadlineClock {
            kind: ClockKind::Certificate,
            step: None,
            started_at: decision.at,
            limit: CERTIFICATE_LIMIT,
            extension: 0,
            deadline: d,
            status,
            passed_events: Vec::new(),
            not_before: None,
        });
    }
    out
}

/// Notes in the explanation of each clock whose limit comes from the catalogue (decision and
/// step clocks) which catalogue version of the matter it counts from:
/// "...; catalogue M-001 version 2 -> due ...". The acceptance and certificate limits are the
/// law's and name no version.
pub fn note_catalogue_version(clocks: &mut [DeadlineClock], matter: &str, version: i64) {
    for c in clocks
        .iter_mut()
        .filter(|c| !matches!(c.kind, ClockKind::Acceptance | ClockKind::Certificate))
    {
        let text = &mut c.deadline.explanation;
        let at = text.rfind(" -> due ").unwrap_or(text.len());
        text.insert_str(at, &format!("; catalogue {matter} version {version}"));
    }
}

/// What the supervision platform must wake for: a named instant of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueInstant {
    /// `acceptance`, `promised`, `statutory`, `immediate`, `certificate`, `step:NAME`, or
    /// `approaching:promised` / `approaching:immediate` for the reminder before a deadline; and,
    /// from [`crate::rules::due_instants`], `suspension:planned_end` for an open suspension.
    pub clock: String,
    pub due_at: DateTime<Utc>,
}

/// Working days left before a deadline at which the "approaching deadline" reminder fires,
/// with the default configuration (docs/design.md §3): 2, or 1 for limits of at most 3 days. The
/// effective threshold of a case is [`crate::rules::EffectiveRules::approaching`].
pub fn approaching_threshold(limit: Limit) -> u32 {
    Approaching::DEFAULT.threshold(limit)
}

/// The first instant at which at most `threshold` working days remain before `last_day`
/// (the start of the `threshold`-th working day before it). None if that is not after `start`.
pub fn approaching_at(
    cal: &Calendar,
    start: NaiveDate,
    last_day: NaiveDate,
    threshold: u32,
) -> Option<DateTime<Utc>> {
    // The smallest day D with working_days_between(D, last_day) <= threshold; the count is
    // monotonic in D, so a binary search over [start, last_day] finds it without a day walk.
    let (mut lo, mut hi) = (start, last_day);
    if cal.working_days_between(lo, last_day) <= threshold {
        return None;
    }
    while lo < hi {
        let span = (hi - lo).num_days() as u64;
        let mid = lo + Days::new(span / 2);
        if cal.working_days_between(mid, last_day) <= threshold {
            hi = mid;
        } else {
            lo = mid + Days::new(1);
        }
    }
    let day_before = lo - Days::new(1);
    Some(cal.end_of_day(day_before))
}

/// The instants at which the running clocks of a case need attention, earliest first, with
/// the default reminder thresholds. Paused and stopped clocks need none: a suspension's end or
/// the next record recomputes them. [`crate::rules::due_instants`] is the configured version,
/// which also wakes for a suspension past its planned end.
pub fn due_instants(clocks: &[DeadlineClock], cal: &Calendar) -> Vec<DueInstant> {
    due_instants_with(clocks, cal, &Approaching::DEFAULT)
}

/// [`due_instants`] with the reminder thresholds `approaching` (the effective configuration of
/// the case's matter and department).
pub fn due_instants_with(
    clocks: &[DeadlineClock],
    cal: &Calendar,
    approaching: &Approaching,
) -> Vec<DueInstant> {
    let mut out = Vec::new();
    for c in clocks.iter().filter(|c| c.status == ClockStatus::Running) {
        if let Some(at) = approaching_deadline::reminder_at(c, cal, approaching) {
            out.push(DueInstant {
                clock: format!("{}{}", approaching_deadline::PREFIX, c.key()),
                due_at: at,
            });
        }
        out.push(DueInstant {
            clock: c.key(),
            due_at: c.judged_at(),
        });
    }
    sort_due(&mut out);
    out
}

/// Earliest first; instants at the same time by key, so the order is a pure function.
pub(crate) fn sort_due(due: &mut [DueInstant]) {
    due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.clock.cmp(&b.clock)));
}

/// A clock as stored in a case's projection (the `view` of the case row) and read back by the
/// supervision platform: enough to word a warning without replaying the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClockView {
    /// [`DeadlineClock::key`]: `promised`, `step:review` ...
    pub key: String,
    pub started_at: DateTime<Utc>,
    pub limit: Limit,
    pub suspended: u32,
    pub extension: u32,
    pub due_at: DateTime<Utc>,
    pub last_day: NaiveDate,
    /// `running`, `paused`, `stopped_on_time` or `stopped_late`.
    pub status: String,
    pub stopped_at: Option<DateTime<Utc>>,
    pub provisional: bool,
    pub explanation: String,
    /// [`DeadlineClock::not_before`]: an open clock is overdue only from the later of this and
    /// `due_at`. Absent in views written before it existed.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
}

impl ClockView {
    /// The offset of the calendar the clock was computed on, read off the view itself: its
    /// `due_at` is 24:00 local of `last_day` ([`crate::limit::Deadline`]), so local midnight
    /// after `last_day` minus `due_at` is the offset. Mainland China's when that is not a
    /// valid offset (a deadline at the end of time).
    pub fn utc_offset(&self) -> FixedOffset {
        self.last_day
            .succ_opt()
            .map(|next| next.and_time(NaiveTime::MIN) - self.due_at.naive_utc())
            .and_then(|d| i32::try_from(d.num_seconds()).ok())
            .and_then(FixedOffset::east_opt)
            .unwrap_or_else(crate::local::china_offset)
    }

    /// Whether the clock counts as overdue at `now` (as [`DeadlineClock::is_overdue`]).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match self.status.as_str() {
            "stopped_late" => true,
            "running" | "paused" => {
                now >= self.not_before.map_or(self.due_at, |t| t.max(self.due_at))
            }
            _ => false,
        }
    }
}

impl From<&DeadlineClock> for ClockView {
    fn from(c: &DeadlineClock) -> Self {
        let (status, stopped_at) = match c.status {
            ClockStatus::Running => ("running", None),
            ClockStatus::Paused => ("paused", None),
            ClockStatus::Stopped { at, on_time: true } => ("stopped_on_time", Some(at)),
            ClockStatus::Stopped { at, on_time: false } => ("stopped_late", Some(at)),
        };
        ClockView {
            key: c.key(),
            started_at: c.started_at,
            limit: c.limit,
            suspended: c.deadline.suspended,
            extension: c.extension,
            due_at: c.deadline.due_at,
            last_day: c.deadline.last_day,
            status: status.to_owned(),
            stopped_at,
            provisional: c.deadline.provisional,
            explanation: c.deadline.explanation.clone(),
            not_before: c.not_before,
        }
    }
}
