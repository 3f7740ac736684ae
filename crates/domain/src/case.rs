//! The case state machine: which record may follow which, and the facts a case accumulates.
//!
//! A case is a pure function of its records (docs/design.md §7): [`Case::replay`] sorts them by
//! `occurred_at` (ties keep arrival order) and applies them one by one, so a record that arrives
//! late is processed by its own time. [`admit`] decides whether one more record may join a case;
//! every invalid transition has its own [`TransitionError`] variant.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::ids::{CaseNo, DepartmentCode, MatterCode, RegionCode};
use crate::matter::{Matter, MatterKind};
use crate::money::Fen;
use crate::record::{Outcome, RatingLevel, Record, RecordBody, RecordKind, SuspensionKind};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    /// Application received; an acceptance decision is due (ALL Art. 32).
    Received,
    /// A correction notice was sent; waiting for the corrected materials.
    AwaitingCorrection,
    /// Accepted and being handled; the decision clocks run.
    Accepted,
    /// In a special procedure whose time is not counted (ALL Art. 45).
    Suspended,
    /// A decision was taken; completion (and for approvals, a certificate) follows.
    Decided(Outcome),
    /// 办结: closed with a result.
    Completed,
    /// 不予受理: closed without acceptance.
    Refused,
    /// Closed because the applicant withdrew.
    Withdrawn,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::AwaitingCorrection => "awaiting_correction",
            CaseState::Accepted => "accepted",
            CaseState::Suspended => "suspended",
            CaseState::Decided(Outcome::Approved) => "approved",
            CaseState::Decided(Outcome::Denied) => "denied",
            CaseState::Completed => "completed",
            CaseState::Refused => "refused",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(name: &str) -> Option<CaseState> {
        [
            CaseState::Received,
            CaseState::AwaitingCorrection,
            CaseState::Accepted,
            CaseState::Suspended,
            CaseState::Decided(Outcome::Approved),
            CaseState::Decided(Outcome::Denied),
            CaseState::Completed,
            CaseState::Refused,
            CaseState::Withdrawn,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Closed cases take no more handling records (ratings, fees and certificates still come).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CaseState::Completed | CaseState::Refused | CaseState::Withdrawn
        )
    }

    fn is_before_acceptance(self) -> bool {
        matches!(self, CaseState::Received | CaseState::AwaitingCorrection)
    }
}

/// Why a record may not join a case. Each variant is one broken rule of the procedure, so the
/// sender is told exactly which.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    #[error(
        "the case has no application before this {kind} record (an application must come first)"
    )]
    NoApplication { kind: RecordKind },
    #[error("the case already has an application; a case is opened once")]
    AlreadyOpened,
    #[error("record belongs to case {found}, not {expected}")]
    WrongCase { expected: CaseNo, found: CaseNo },
    #[error("a decision before acceptance: accept the application first")]
    DecisionBeforeAcceptance,
    #[error("{kind} before acceptance: the case is {state}")]
    NotAccepted {
        kind: RecordKind,
        state: &'static str,
    },
    #[error("{kind} after the acceptance decision: the case is already {state}")]
    AcceptanceAlreadyDecided {
        kind: RecordKind,
        state: &'static str,
    },
    #[error("correction_received without a pending correction notice")]
    NoCorrectionPending,
    #[error("completion without a decision: send the decision first")]
    CompletionWithoutDecision,
    #[error("a {kind} record after the case was closed ({state})")]
    AfterClose {
        kind: RecordKind,
        state: &'static str,
    },
    #[error("a second decision: the case is already {state}")]
    AlreadyDecided { state: &'static str },
    #[error("{kind} while suspended: end the suspension first")]
    WhileSuspended { kind: RecordKind },
    #[error("suspension_started while already suspended")]
    AlreadySuspended,
    #[error("suspension_ended without a running suspension")]
    NotSuspended,
    #[error("step {step:?} completed but never started (or its times are reversed)")]
    StepNotStarted { step: String },
    #[error("step {step:?} started again while it is still running")]
    StepAlreadyRunning { step: String },
    #[error("certificate_issued without an approval decision")]
    CertificateWithoutApproval,
    #[error("{kind} after the decision: the case is already {state}")]
    AfterDecision {
        kind: RecordKind,
        state: &'static str,
    },
    #[error("conflicts with the later record {event_id} ({kind}) already stored: {cause}")]
    ConflictsWithLater {
        event_id: String,
        kind: RecordKind,
        cause: Box<TransitionError>,
    },
}

/// A special procedure of the case (ALL Art. 45).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspensionSpan {
    pub started_at: DateTime<Utc>,
    pub planned_end: DateTime<Utc>,
    /// None while the procedure is still running.
    pub ended_at: Option<DateTime<Utc>>,
    pub kind: Option<SuspensionKind>,
    pub reason: String,
    pub approver: String,
}

/// An extension granted (ALL Art. 42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionGrant {
    pub at: DateTime<Utc>,
    pub working_days: u32,
    pub approver: String,
    pub reason: String,
}

/// One handling step (承办, 审核, 批准 ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpan {
    pub step: String,
    pub handler: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A fee collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCharge {
    pub at: DateTime<Utc>,
    pub fee_item: String,
    pub amount: Fen,
}

/// The decision on the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFact {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    pub reason: String,
}

/// What a case's records add up to: its state and every fact the clocks and rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub case_no: CaseNo,
    pub matter_code: MatterCode,
    pub matter_kind: MatterKind,
    pub department: DepartmentCode,
    pub region: RegionCode,
    pub state: CaseState,
    /// When the application was received (the case opened).
    pub received_at: DateTime<Utc>,
    /// When the acceptance clock last (re)started: receipt, or the last corrected materials.
    pub acceptance_clock_from: DateTime<Utc>,
    /// The correction notices sent, in time order ("tell everything once" wants one).
    pub correction_notices: Vec<DateTime<Utc>>,
    /// When the acceptance decision was taken: acceptance, refusal or a correction notice
    /// ends the acceptance clock's current run.
    pub acceptance_decided_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub refused_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub suspensions: Vec<SuspensionSpan>,
    pub extensions: Vec<ExtensionGrant>,
    pub decision: Option<DecisionFact>,
    pub completed_at: Option<DateTime<Utc>>,
    pub certificate_issued_at: Option<DateTime<Utc>>,
    pub steps: Vec<StepSpan>,
    pub fees: Vec<FeeCharge>,
    pub ratings: Vec<RatingLevel>,
    /// The latest `occurred_at` of any record.
    pub last_occurred_at: DateTime<Utc>,
    /// How many records the case holds.
    pub record_count: usize,
}

impl Case {
    /// Opens a case from its application.
    pub fn open(record: &Record, matter: &Matter) -> Result<Case, TransitionError> {
        let RecordBody::Application(app) = &record.body else {
            return Err(TransitionError::NoApplication {
                kind: record.kind(),
            });
        };
        Ok(Case {
            case_no: record.case_no.clone(),
            matter_code: app.matter_code.clone(),
            matter_kind: matter.kind,
            department: app.department.clone(),
            region: app.region.clone(),
            state: CaseState::Received,
            received_at: record.occurred_at,
            acceptance_clock_from: record.occurred_at,
            correction_notices: Vec::new(),
            acceptance_decided_at: None,
            accepted_at: None,
            refused_at: None,
            withdrawn_at: None,
            suspensions: Vec::new(),
            extensions: Vec::new(),
            decision: None,
            completed_at: None,
            certificate_issued_at: None,
            steps: Vec::new(),
            fees: Vec::new(),
            ratings: Vec::new(),
            last_occurred_at: record.occurred_at,
            record_count: 1,
        })
    }

    /// Applies the next record in time order.
    pub fn apply(&mut self, record: &Record) -> Result<(), TransitionError> {
        use CaseState as S;
        use TransitionError as E;
        if record.case_no != self.case_no {
            return Err(E::WrongCase {
                expected: self.case_no.clone(),
                found: record.case_no.clone(),
            });
        }
        let at = record.occurred_at;
        let kind = record.kind();
        let state = self.state;
        // Ratings, fees and certificates legitimately follow the close of a case; every other
        // record after it is a procedure error.
        let allowed_after_close = matches!(
            kind,
            RecordKind::Rating | RecordKind::Fee | RecordKind::CertificateIssued
        );
        if state.is_closed() && !allowed_after_close {
            return Err(E::AfterClose {
                kind,
                state: state.as_str(),
            });
        }
        match &record.body {
            RecordBody::Application(_) => return Err(E::AlreadyOpened),
            RecordBody::Acceptance { .. } => {
                if !state.is_before_acceptance() {
                    return Err(E::AcceptanceAlreadyDecided {
                        kind,
                        state: state.as_str(),
                    });
                }
                // Accepting while a notice is pending implies the materials came in.
                self.state = S::Accepted;
                self.accepted_at = Some(at);
                self.acceptance_decided_at = Some(at);
            }
            RecordBody::CorrectionNotice { .. } => {
                if !state.is_before_acceptance() {
                    return Err(E::AcceptanceAlreadyDecided {
                        kind,
                        state: state.as_str(),
                    });
                }
                self.state = S::AwaitingCorrection;
                self.correction_notices.push(at);
                if state == S::Received {
                    self.acceptance_decided_at = Some(at);
                }
            }
            RecordBody::CorrectionReceived => {
                if state != S::AwaitingCorrection {
                    return Err(E::NoCorrectionPending);
                }
                self.state = S::Received;
                self.acceptance_clock_from = at;
                self.acceptance_decided_at = None;
            }
            RecordBody::Refusal { .. } => {
                if !state.is_before_acceptance() {
                    return Err(E::AcceptanceAlreadyDecided {
                        kind,
                        state: state.as_str(),
                    });
                }
                self.state = S::Refused;
                self.refused_at = Some(at);
                self.acceptance_decided_at.get_or_insert(at);
            }
            RecordBody::StepStarted { step, handler, .. } => {
                self.require_handling(kind)?;
                if self
                    .steps
                    .iter()
                    .any(|s| &s.step == step && s.completed_at.is_none())
                {
                    return Err(E::StepAlreadyRunning { step: step.clone() });
                }
                self.steps.push(StepSpan {
                    step: step.clone(),
                    handler: handler.clone(),
                    started_at: at,
                    completed_at: None,
                });
            }
            RecordBody::StepCompleted { step, .. } => {
                self.require_handling(kind)?;
                let Some(span) = self
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| &s.step == step && s.completed_at.is_none())
                else {
                    return Err(E::StepNotStarted { step: step.clone() });
                };
                span.completed_at = Some(at);
            }
            RecordBody::SuspensionStarted {
                kind: procedure,
                reason,
                planned_end,
                approver,
            } => {
                match state {
                    S::Accepted => {}
                    S::Suspended => return Err(E::AlreadySuspended),
                    _ => self.require_handling(kind)?,
                }
                self.state = S::Suspended;
                self.suspensions.push(SuspensionSpan {
                    started_at: at,
                    planned_end: *planned_end,
                    ended_at: None,
                    kind: *procedure,
                    reason: reason.clone(),
                    approver: approver.clone(),
                });
            }
            RecordBody::SuspensionEnded { .. } => {
                if state != S::Suspended {
                    return Err(E::NotSuspended);
                }
                self.state = S::Accepted;
                if let Some(open) = self.suspensions.last_mut() {
                    open.ended_at = Some(at);
                }
            }
            RecordBody::Extension {
                working_days,
                approver,
                reason,
            } => {
                self.require_handling(kind)?;
                self.extensions.push(ExtensionGrant {
                    at,
                    working_days: *working_days,
                    approver: approver.clone(),
                    reason: reason.clone(),
                });
            }
            RecordBody::Decision {
                outcome, reason, ..
            } => {
                match state {
                    S::Accepted => {}
                    S::Received | S::AwaitingCorrection => {
                        return Err(E::DecisionBeforeAcceptance);
                    }
                    S::Suspended => return Err(E::WhileSuspended { kind }),
                    _ => {
                        return Err(E::AlreadyDecided {
                            state: state.as_str(),
                        });
                    }
                }
                self.state = S::Decided(*outcome);
                self.decision = Some(DecisionFact {
                    at,
                    outcome: *outcome,
                    reason: reason.clone(),
                });
            }
            RecordBody::Fee {
                fee_item,
                amount_fen,
                ..
            } => {
                // Fees are due for an accepted application only, though they may be paid
                // after the decision or the completion.
                if self.accepted_at.is_none() {
                    return Err(E::NotAccepted {
                        kind,
                        state: state.as_str(),
                    });
                }
                self.fees.push(FeeCharge {
                    at,
                    fee_item: fee_item.clone(),
                    amount: *amount_fen,
                });
            }
            RecordBody::Completion { .. } => {
                match state {
                    S::Decided(_) => {}
                    // An immediate item is decided on the spot; its completion is the decision.
                    S::Accepted if self.matter_kind == MatterKind::Immediate => {
                        self.decision = Some(DecisionFact {
                            at,
                            outcome: Outcome::Approved,
                            reason: String::new(),
                        });
                    }
                    S::Accepted => return Err(E::CompletionWithoutDecision),
                    S::Suspended => return Err(E::WhileSuspended { kind }),
                    _ => {
                        return Err(E::NotAccepted {
                            kind,
                            state: state.as_str(),
                        });
                    }
                }
                self.state = S::Completed;
                self.completed_at = Some(at);
            }
            RecordBody::CertificateIssued { .. } => {
                let approved = self
                    .decision
                    .as_ref()
                    .is_some_and(|d| d.outcome == Outcome::Approved);
                if !approved {
                    return Err(E::CertificateWithoutApproval);
                }
                self.certificate_issued_at.get_or_insert(at);
            }
            RecordBody::Withdrawal { .. } => {
                if let S::Decided(_) = state {
                    return Err(E::AfterDecision {
                        kind,
                        state: state.as_str(),
                    });
                }
                if state == S::Suspended
                    && let Some(open) = self.suspensions.last_mut()
                {
                    open.ended_at = Some(at);
                }
                self.state = S::Withdrawn;
                self.withdrawn_at = Some(at);
            }
            RecordBody::Rating { level, .. } => self.ratings.push(*level),
        }
        self.last_occurred_at = self.last_occurred_at.max(at);
        self.record_count += 1;
        Ok(())
    }

    /// Steps, suspensions and extensions belong to the handling phase: after acceptance, before
    /// the decision.
    fn require_handling(&self, kind: RecordKind) -> Result<(), TransitionError> {
        match self.state {
            CaseState::Accepted | CaseState::Suspended => Ok(()),
            CaseState::Received | CaseState::AwaitingCorrection => {
                Err(TransitionError::NotAccepted {
                    kind,
                    state: self.state.as_str(),
                })
            }
            s => Err(TransitionError::AfterDecision {
                kind,
                state: s.as_str(),
            }),
        }
    }

    /// Rebuilds a case from its records, in `occurred_at` order (ties keep the given order).
    /// On failure, returns the index (into `records`) of the record that broke the procedure.
    pub fn replay(records: &[&Record], matter: &Matter) -> Result<Case, (usize, TransitionError)> {
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|&i| records[i].occurred_at);
        let mut iter = order.into_iter();
        let Some(first) = iter.next() else {
            unreachable!("replay of a case without records");
        };
        let mut case = Case::open(records[first], matter).map_err(|e| (first, e))?;
        for i in iter {
            case.apply(records[i]).map_err(|e| (i, e))?;
        }
        Ok(case)
    }
}

/// Decides whether `new` may join a case whose stored records are `existing` (in arrival
/// order), and returns the case rebuilt with it. A late record is placed by its `occurred_at`;
/// if that makes a later stored record invalid, the new record is the one refused.
///
/// `current` is the case as `existing` makes it, when the caller has it: a record that comes
/// in time order (the usual case) is then applied to it instead of replaying every record.
pub fn admit(
    existing: &[Record],
    current: Option<&Case>,
    new: &Record,
    matter: &Matter,
) -> Result<Case, TransitionError> {
    if let Some(case) = current.filter(|c| new.occurred_at >= c.last_occurred_at) {
        // Replay sorts by occurred_at with ties in arrival order, so a record not earlier
        // than every other one lands last: applying it to the current case is the replay.
        let mut next = case.clone();
        next.apply(new)?;
        return Ok(next);
    }
    let mut all: Vec<&Record> = existing.iter().collect();
    all.push(new);
    Case::replay(&all, matter).map_err(|(i, cause)| {
        if i == existing.len() {
            cause
        } else {
            TransitionError::ConflictsWithLater {
                event_id: all[i].event_id.to_string(),
                kind: all[i].kind(),
                cause: Box::new(cause),
            }
        }
    })
}
