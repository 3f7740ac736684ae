//! The people behind the warnings: departments acknowledge and answer their yellow and red
//! cards (or let them lapse, and the platform gives a red card or escalates), supervisors
//! close the answers or escalate them. Reminders need no response and get none.
//!
//! Each reaction is decided from the seed, the warning's identity (case, rule, level), the
//! state it reached and the simulated time the simulator saw it there, never from warning ids
//! or wall time, and is carried out at a simulated time: so a seed's run works the same
//! warnings the same way every time. The [`Desk`] keeps what it knows of each warning (its
//! state and latest stream position, so an echo of an older state is ignored) and the
//! actions due, in a deterministic order.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use egov_proto::supervision::v1 as spb;
use egov_store::WarningPosition;
use rand::RngExt;

use crate::city::{City, Profile};
use crate::worktime::add_office_minutes;

/// A move of the correction workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Move {
    Acknowledge,
    Answer,
    Close,
    Escalate,
}

impl Move {
    pub fn as_str(self) -> &'static str {
        match self {
            Move::Acknowledge => "acknowledge",
            Move::Answer => "answer",
            Move::Close => "close",
            Move::Escalate => "escalate",
        }
    }
}

/// One move to make on a warning at a simulated time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub at: DateTime<Utc>,
    pub warning_id: String,
    pub case_no: String,
    pub action: Move,
    pub actor: String,
    pub reason: String,
    pub attachments: Vec<String>,
}

/// How the correction workflow went, as the simulator saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkflowStats {
    pub acknowledged: u64,
    pub answered: u64,
    pub closed: u64,
    /// Escalated by a supervisor (the simulator).
    pub escalated: u64,
    /// Escalated by the platform itself (a red card's correction due passed).
    pub escalated_by_system: u64,
    /// Moves the platform refused (the warning had moved on meanwhile).
    pub refused: u64,
}

type QueueKey = (DateTime<Utc>, String, i32, i32, String);

/// What the desk knows of one warning.
#[derive(Debug, Clone)]
struct Known {
    state: i32,
    position: WarningPosition,
    /// How often it reached each state (an escalated warning is worked again one level up).
    visits: HashMap<i32, u32>,
}

/// The departments' and supervisors' desk: what they know and what they will do when.
#[derive(Debug)]
pub struct Desk {
    seed: u64,
    /// Department code -> profile.
    profiles: HashMap<String, Profile>,
    known: HashMap<String, Known>,
    /// Actions by (time, case, rule, level, warning id): a deterministic order of work.
    queue: BTreeMap<QueueKey, Action>,
    /// The one action pending per warning: a warning that reached a new state (the platform
    /// escalated it) drops what was planned for the old one.
    pending: HashMap<String, QueueKey>,
    pub stats: WorkflowStats,
    cal: egov_domain::calendar::Calendar,
}

/// What a stream message was to the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A warning the desk had not seen: just raised.
    New,
    /// A known warning in a new state.
    Changed,
    /// Nothing new (an echo of a state already known).
    Old,
}

impl Desk {
    pub fn new(city: &City, seed: u64) -> Desk {
        Desk {
            seed,
            profiles: city
                .departments
                .iter()
                .map(|d| (d.code.clone(), d.profile))
                .collect(),
            known: HashMap::new(),
            queue: BTreeMap::new(),
            pending: HashMap::new(),
            stats: WorkflowStats::default(),
            cal: city.calendar.clone(),
        }
    }

    /// Takes in a warning as the stream (or a workflow call's answer) shows it, seen at
    /// simulated time `now`, and plans the reaction to a new state.
    pub fn observe(&mut self, w: &spb::Warning, now: DateTime<Utc>) -> Seen {
        let position = WarningPosition::from_str(&w.position).unwrap_or_default();
        let seen = match self.known.get_mut(&w.id) {
            Some(k) if k.position >= position => return Seen::Old,
            Some(k) => {
                k.position = position;
                if k.state == w.state {
                    return Seen::Old;
                }
                k.state = w.state;
                Seen::Changed
            }
            None => {
                self.known.insert(
                    w.id.clone(),
                    Known {
                        state: w.state,
                        position,
                        visits: HashMap::new(),
                    },
                );
                Seen::New
            }
        };
        let visits = {
            let k = self.known.get_mut(&w.id).expect("known");
            let v = k.visits.entry(w.state).or_insert(0);
            *v += 1;
            *v
        };
        if seen == Seen::Changed && w.state() == spb::WarningState::Escalated {
            self.stats.escalated_by_system += 1;
        }
        self.plan(w, visits, now);
        seen
    }

    /// Counts a move the simulator made, and takes in the warning as it answered.
    pub fn made(&mut self, action: &Action, answer: &spb::Warning, now: DateTime<Utc>) {
        match action.action {
            Move::Acknowledge => self.stats.acknowledged += 1,
            Move::Answer => self.stats.answered += 1,
            Move::Close => self.stats.closed += 1,
            Move::Escalate => self.stats.escalated += 1,
        }
        // Not through `observe`'s escalation count: this escalation was a supervisor's.
        let position = WarningPosition::from_str(&answer.position).unwrap_or_default();
        let visits = match self.known.get_mut(&answer.id) {
            Some(k) if k.position < position => {
                k.position = position;
                k.state = answer.state;
                let v = k.visits.entry(answer.state).or_insert(0);
                *v += 1;
                *v
            }
            _ => return,
        };
        self.plan(answer, visits, now);
    }

    /// Counts a move the platform refused.
    pub fn refused(&mut self) {
        self.stats.refused += 1;
    }

    /// The actions due at or before `now`, in their order.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let action = entry.remove();
            self.pending.remove(&action.warning_id);
            out.push(action);
        }
        out
    }

    /// Actions still waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Plans who does what next about `w`, which just reached its state.
    fn plan(&mut self, w: &spb::Warning, visits: u32, now: DateTime<Utc>) {
        if let Some(old) = self.pending.remove(&w.id) {
            self.queue.remove(&old);
        }
        if w.level() == spb::WarningLevel::Reminder {
            return;
        }
        let profile = self
            .profiles
            .get(&w.department)
            .copied()
            .unwrap_or(Profile::Steady);
        let b = profile.behaviour();
        let mut rng = crate::rng_for(
            self.seed,
            "react",
            crate::hash_text(&format!(
                "{}|{}|{}|{}|{}",
                w.case_no, w.rule, w.level, w.state, visits
            )),
        );
        let state = w.state();
        let clerk = format!("{}/clerk-{}", w.department, rng.random_range(1..=6));
        let office = if w.region.len() >= 4 {
            &w.region[..4]
        } else {
            w.region.as_str()
        };
        let supervisor = format!("supervisor@{office}");
        let (after_minutes, action, actor, reason, attachments) = match state {
            spb::WarningState::Raised | spb::WarningState::Escalated => {
                if !rng.random_bool(b.respond) {
                    return;
                }
                (
                    rng.random_range(15..=240),
                    Move::Acknowledge,
                    clerk,
                    "seen; the handler is looking into it".to_owned(),
                    Vec::new(),
                )
            }
            spb::WarningState::Acknowledged => {
                let (lo, hi) = b.answer_hours;
                (
                    60 * rng.random_range(lo..=hi),
                    Move::Answer,
                    clerk,
                    answer_for(w.rule()).to_owned(),
                    vec![format!("doc://{}/{}", w.department, w.case_no)],
                )
            }
            spb::WarningState::Answered => {
                let close = rng.random_bool(0.85);
                (
                    rng.random_range(30..=480),
                    if close { Move::Close } else { Move::Escalate },
                    supervisor,
                    if close {
                        "the explanation is accepted".to_owned()
                    } else {
                        "the answer does not explain the delay; to the office above".to_owned()
                    },
                    Vec::new(),
                )
            }
            _ => return,
        };
        let at = add_office_minutes(&self.cal, now, after_minutes);
        let key = (at, w.case_no.clone(), w.rule, w.level, w.id.clone());
        self.pending.insert(w.id.clone(), key.clone());
        self.queue.insert(
            key,
            Action {
                at,
                warning_id: w.id.clone(),
                case_no: w.case_no.clone(),
                action,
                actor,
                reason,
                attachments,
            },
        );
    }
}

/// What a department answers to a card of `rule`.
fn answer_for(rule: spb::WarningRule) -> &'static str {
    use spb::WarningRule as R;
    match rule {
        R::PromisedLimitPassed | R::StatutoryLimitPassed => {
            "the site inspection was delayed by the applicant; the decision is issued and the \
             handler was reminded of the limit"
        }
        R::AcceptanceOverdue => {
            "the window was short-staffed; acceptance is now decided the same week"
        }
        R::RepeatedCorrection => "the checklist of materials was updated so one notice lists all",
        R::MissingReasons => "the written reasons were sent to the applicant",
        R::SuspensionAbuse => "the procedure's kind and reason were recorded; it has ended",
        R::ExtensionAbuse => "the extension was re-approved by the head within the legal days",
        R::IrregularFee => "the overcharge was refunded to the applicant",
        R::ProcedureAnomaly => "the window system's record order was fixed",
        R::CertificateOverdue => "the certificate was mailed to the applicant",
        _ => "corrected",
    }
}
