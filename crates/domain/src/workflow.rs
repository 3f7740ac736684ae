//! The correction workflow of a warning (docs/design.md §3): a warning is raised, acknowledged by
//! the department, answered (an explanation or a correction), then closed by a supervisor who
//! accepts the answer, or escalated to the supervision office one level up.
//!
//! The order is strict: `raised -> acknowledged -> answered -> closed`; acknowledging is not
//! optional, so the record always shows when the department first reacted. Escalation is
//! allowed from every open state and hands the warning to the supervision office one level up
//! (see [`crate::jurisdiction`]): there it is `escalated`, which works like `raised` at the new
//! office (the department acknowledges and answers again, that office closes it or escalates it
//! further, up to the province). `closed` ends the work on a warning. A warning whose ground
//! records that arrived later disproved is `withdrawn` by "system" from whatever state it
//! reached, closed included (a false card must not keep counting against its department);
//! `withdrawn` is final, nothing leaves it. Every refused move has its own error naming the
//! current state; whether an office exists above is the caller's check.

use std::fmt;

use crate::jurisdiction;
use crate::warning::Level;

/// Where a warning stands in the correction workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningState {
    /// Raised by the rules; the department has not reacted yet.
    Raised,
    /// The department acknowledged it.
    Acknowledged,
    /// The department answered (explained or corrected).
    Answered,
    /// A supervisor accepted the answer; the work on it has ended.
    Closed,
    /// Escalated to the supervision office one level up, which now holds it; the department
    /// has not reacted there yet.
    Escalated,
    /// Records that arrived later disproved its ground (a clock it said passed stopped on
    /// time); withdrawn by the platform, final, and counted nowhere.
    Withdrawn,
}

impl WarningState {
    /// Every state, in workflow order.
    pub const ALL: [WarningState; 6] = [
        WarningState::Raised,
        WarningState::Acknowledged,
        WarningState::Answered,
        WarningState::Closed,
        WarningState::Escalated,
        WarningState::Withdrawn,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningState::Raised => "raised",
            WarningState::Acknowledged => "acknowledged",
            WarningState::Answered => "answered",
            WarningState::Closed => "closed",
            WarningState::Escalated => "escalated",
            WarningState::Withdrawn => "withdrawn",
        }
    }

    /// The state of a stored name.
    pub fn parse(name: &str) -> Option<WarningState> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the department still owes a response: a correction due that passes in this
    /// state fires (a yellow card becomes a red card, a red card escalates).
    pub fn awaits_answer(self) -> bool {
        matches!(
            self,
            WarningState::Raised | WarningState::Acknowledged | WarningState::Escalated
        )
    }

    /// The states in which the department still owes a response ([`Self::awaits_answer`]), in
    /// workflow order: the one list the store renders into its SQL.
    pub fn awaiting_answer() -> impl Iterator<Item = WarningState> {
        Self::ALL.into_iter().filter(|s| s.awaits_answer())
    }

    /// Whether no transition leaves this state.
    pub fn is_final(self) -> bool {
        matches!(self, WarningState::Withdrawn)
    }

    /// Whether the warning counts (in scores, as a card of its department): every state but
    /// [`WarningState::Withdrawn`].
    pub fn counts(self) -> bool {
        self != WarningState::Withdrawn
    }
}

impl fmt::Display for WarningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The department acknowledges the warning.
    Acknowledge,
    /// The department answers it.
    Answer,
    /// A supervisor accepts the answer.
    Close,
    /// A supervisor (or the rules, when a red card's correction due passes) escalates it.
    Escalate,
    /// The platform ("system") withdraws it: records that arrived later disproved its ground.
    /// No RPC offers it; people close or escalate.
    Withdraw,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::Acknowledge,
        Action::Answer,
        Action::Close,
        Action::Escalate,
        Action::Withdraw,
    ];
}

/// A move the workflow refuses, one variant per action, each naming the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Only a raised or escalated warning can be acknowledged.
    #[error("cannot acknowledge a warning that is {0}; only a raised or escalated warning can be")]
    CannotAcknowledge(WarningState),
    /// Only an acknowledged warning can be answered.
    #[error(
        "cannot answer a warning that is {0}; acknowledge it first (only an acknowledged warning can be answered)"
    )]
    CannotAnswer(WarningState),
    /// Only an answered warning can be closed.
    #[error("cannot close a warning that is {0}; only an answered warning can be")]
    CannotClose(WarningState),
    /// A closed or withdrawn warning cannot be escalated.
    #[error("cannot escalate a warning that is {0}; its work has ended")]
    CannotEscalate(WarningState),
    /// A withdrawn warning cannot be withdrawn again.
    #[error("cannot withdraw a warning that is {0}; it is final")]
    CannotWithdraw(WarningState),
}

impl TransitionError {
    /// The state the move was refused in.
    pub fn current(self) -> WarningState {
        match self {
            TransitionError::CannotAcknowledge(s)
            | TransitionError::CannotAnswer(s)
            | TransitionError::CannotClose(s)
            | TransitionError::CannotEscalate(s)
            | TransitionError::CannotWithdraw(s) => s,
        }
    }
}

/// The state `action` leads to from `from`, or why it is refused.
pub fn transition(from: WarningState, action: Action) -> Result<WarningState, TransitionError> {
    use WarningState as S;
    match (action, from) {
        (Action::Acknowledge, S::Raised | S::Escalated) => Ok(S::Acknowledged),
        (Action::Acknowledge, s) => Err(TransitionError::CannotAcknowledge(s)),
        (Action::Answer, S::Acknowledged) => Ok(S::Answered),
        (Action::Answer, s) => Err(TransitionError::CannotAnswer(s)),
        (Action::Close, S::Answered) => Ok(S::Closed),
        (Action::Close, s) => Err(TransitionError::CannotClose(s)),
        (Action::Escalate, S::Raised | S::Acknowledged | S::Answered | S::Escalated) => {
            Ok(S::Escalated)
        }
        (Action::Escalate, s) => Err(TransitionError::CannotEscalate(s)),
        (Action::Withdraw, s) if !s.is_final() => Ok(S::Withdrawn),
        (Action::Withdraw, s) => Err(TransitionError::CannotWithdraw(s)),
    }
}

/// What a card's correction due that passed unanswered does (docs/design.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassedCorrection<'a> {
    /// A yellow card: its case gets a red card of the same rule.
    RedCard,
    /// A red card: escalated (by the rules themselves) to the supervision office of region
    /// `to`, one level up from the office holding it, with a new correction due there.
    Escalate { to: &'a str },
    /// A red card at the top office (a province): nobody to hand it to, the due just ends.
    End,
    /// Nothing: a reminder, or a card the department answered meanwhile.
    Nothing,
}

/// What the passed correction due of a card of `level` in `state`, held by the supervision
/// office of region `office`, does.
pub fn on_passed_correction_due(
    level: Level,
    state: WarningState,
    office: &str,
) -> PassedCorrection<'_> {
    if !state.awaits_answer() {
        return PassedCorrection::Nothing;
    }
    match level {
        Level::YellowCard => PassedCorrection::RedCard,
        Level::RedCard => match jurisdiction::parent_region(office) {
            Some(to) => PassedCorrection::Escalate { to },
            None => PassedCorrection::End,
        },
        Level::Reminder => PassedCorrection::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WarningState as S;

    #[test]
    fn every_transition_is_allowed_or_refused_with_its_own_error() {
        for from in S::ALL {
            for action in Action::ALL {
                let got = transition(from, action);
                let want = match (action, from) {
                    (Action::Acknowledge, S::Raised | S::Escalated) => Ok(S::Acknowledged),
                    (Action::Acknowledge, _) => Err(TransitionError::CannotAcknowledge(from)),
                    (Action::Answer, S::Acknowledged) => Ok(S::Answered),
                    (Action::Answer, _) => Err(TransitionError::CannotAnswer(from)),
                    (Action::Close, S::Answered) => Ok(S::Closed),
                    (Action::Close, _) => Err(TransitionError::CannotClose(from)),
                    (
                        Action::Escalate,
                        S::Raised | S::Acknowledged | S::Answered | S::Escalated,
                    ) => Ok(S::Escalated),
                    (Action::Escalate, _) => Err(TransitionError::CannotEscalate(from)),
                    (Action::Withdraw, S::Withdrawn) => Err(TransitionError::CannotWithdraw(from)),
                    (Action::Withdraw, _) => Ok(S::Withdrawn),
                };
                assert_eq!(got, want, "{action:?} from {from}");
                if let Err(e) = got {
                    assert_eq!(e.current(), from);
                    assert!(e.to_string().contains(from.as_str()), "{e}");
                }
            }
        }
    }

    #[test]
    fn the_happy_path_and_the_refusals_in_words() {
        let s = transition(S::Raised, Action::Acknowledge).unwrap();
        let s = transition(s, Action::Answer).unwrap();
        assert_eq!(transition(s, Action::Close), Ok(S::Closed));
        assert_eq!(
            transition(S::Raised, Action::Answer),
            Err(TransitionError::CannotAnswer(S::Raised))
        );
        assert_eq!(
            transition(S::Acknowledged, Action::Close),
            Err(TransitionError::CannotClose(S::Acknowledged))
        );
        assert_eq!(
            transition(S::Closed, Action::Escalate),
            Err(TransitionError::CannotEscalate(S::Closed))
        );
    }

    #[test]
    fn states_round_trip_and_only_open_unanswered_ones_await_an_answer() {
        for s in S::ALL {
            assert_eq!(WarningState::parse(s.as_str()), Some(s));
        }
        assert_eq!(WarningState::parse("open"), None);
        let waiting: Vec<_> = S::ALL.into_iter().filter(|s| s.awaits_answer()).collect();
        assert_eq!(waiting, [S::Raised, S::Acknowledged, S::Escalated]);
        assert_eq!(WarningState::awaiting_answer().collect::<Vec<_>>(), waiting);
    }

    #[test]
    fn a_passed_correction_due_gives_a_red_card_escalates_or_ends() {
        use PassedCorrection as P;
        for state in S::ALL {
            let waiting = state.awaits_answer();
            let cases = [
                (Level::Reminder, "330106", P::Nothing),
                (Level::YellowCard, "330106", P::RedCard),
                (Level::YellowCard, "33", P::RedCard),
                (Level::RedCard, "330106", P::Escalate { to: "3301" }),
                (Level::RedCard, "3301", P::Escalate { to: "33" }),
                (Level::RedCard, "33", P::End),
            ];
            for (level, office, want) in cases {
                let want = if waiting { want } else { P::Nothing };
                assert_eq!(
                    on_passed_correction_due(level, state, office),
                    want,
                    "{level} {state} at {office}"
                );
            }
        }
    }

    #[test]
    fn a_warning_is_withdrawn_from_every_state_once_and_then_nothing_moves_it() {
        for from in S::ALL {
            let got = transition(from, Action::Withdraw);
            if from == S::Withdrawn {
                assert_eq!(got, Err(TransitionError::CannotWithdraw(S::Withdrawn)));
            } else {
                assert_eq!(got, Ok(S::Withdrawn), "from {from}");
            }
        }
        for action in Action::ALL {
            assert!(transition(S::Withdrawn, action).is_err(), "{action:?}");
        }
        assert!(S::Withdrawn.is_final() && !S::Closed.is_final());
        assert!(!S::Withdrawn.awaits_answer() && !S::Withdrawn.counts());
        assert!(
            S::ALL
                .into_iter()
                .filter(|s| *s != S::Withdrawn)
                .all(S::counts)
        );
        // A closed card is withdrawn too (it still counted), but no longer escalated.
        assert_eq!(
            transition(S::Closed, Action::Escalate),
            Err(TransitionError::CannotEscalate(S::Closed))
        );
        assert_eq!(
            transition(S::Withdrawn, Action::Escalate),
            Err(TransitionError::CannotEscalate(S::Withdrawn))
        );
        assert_eq!(
            on_passed_correction_due(Level::YellowCard, S::Withdrawn, "330106"),
            PassedCorrection::Nothing
        );
    }

    #[test]
    fn an_escalated_warning_is_worked_again_at_the_office_above() {
        let s = transition(S::Raised, Action::Escalate).unwrap();
        assert_eq!(s, S::Escalated);
        assert_eq!(transition(s, Action::Escalate), Ok(S::Escalated));
        assert_eq!(
            transition(s, Action::Close),
            Err(TransitionError::CannotClose(S::Escalated))
        );
        let s = transition(s, Action::Acknowledge).unwrap();
        let s = transition(s, Action::Answer).unwrap();
        assert_eq!(transition(s, Action::Close), Ok(S::Closed));
    }
}
