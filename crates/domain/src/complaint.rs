//! Complaints (投诉处理, docs/design.md §3.3): a member of the public complains about a case, a
//! department or a matter, named or anonymous, online; or a supervisor registers a complaint
//! received by phone, letter or visit. The supervision office holding it (the complaint's
//! region) decides within 5 working days whether to accept it ([`clock`]); an accepted one is
//! handled by the office or forwarded to the department with a due date for its report; the
//! office reviews and closes it as substantiated or not; a named complainant is told each
//! decision and may give feedback on the outcome.
//!
//! The workflow is strict, one typed error per refused move:
//!
//! ```text
//! filed ──accept──▶ accepted ──close──▶ closed ──feedback (named, once)
//!   │  └─forward──▶ forwarded ──report──▶ reported ──close──▶ closed
//!   │               ▲     accepted ─forward─┘  │
//!   │               └──────────forward─────────┘ (sent back for more)
//!   └──refuse (with a reason)──▶ refused (final)
//! ```
//!
//! Identity: the complainant's name and contact are shown only to the office handling the
//! complaint (a supervisor whose region holds its office, or an admin), never to a department,
//! whatever it is allowed to read ([`Viewer::sees_complainant`]).

pub mod clock;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::FieldError;
use crate::jurisdiction::is_within;

/// The pseudo case number prefix of a complaint's warnings (`complaint#17/acceptance`): a
/// warning is unique per (case, rule, level), and a complaint's clocks are not a case's.
pub const CASE_PREFIX: &str = "complaint#";

/// How a complaint came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Filed by the public itself (the console's public page, or the API).
    Online,
    /// Registered by a supervisor: a phone call.
    Phone,
    /// Registered by a supervisor: a letter.
    Letter,
    /// Registered by a supervisor: a visit to the office.
    Visit,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Online,
        Channel::Phone,
        Channel::Letter,
        Channel::Visit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Phone => "phone",
            Channel::Letter => "letter",
            Channel::Visit => "visit",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether a supervisor registers complaints of this channel (the public files online).
    pub fn registered_by_office(self) -> bool {
        self != Channel::Online
    }
}

/// What a complaint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Case,
    Department,
    Matter,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 3] = [
        SubjectKind::Case,
        SubjectKind::Department,
        SubjectKind::Matter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Case => "case",
            SubjectKind::Department => "department",
            SubjectKind::Matter => "matter",
        }
    }

    pub fn parse(name: &str) -> Option<SubjectKind> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// Who complains, when they give their name. Validated on creation: a name is required; a
/// contact (phone or address) is how the office tells them its decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complainant {
    pub name: String,
    pub contact: String,
}

impl Complainant {
    /// A named complainant, or None for an anonymous complaint (no name and no contact).
    /// A contact without a name is refused: the office could not address its notice.
    pub fn parse(name: &str, contact: &str) -> Result<Option<Complainant>, FieldError> {
        let (name, contact) = (name.trim(), contact.trim());
        match (name.is_empty(), contact.is_empty()) {
            (true, true) => Ok(None),
            (true, false) => Err(FieldError::new(
                "complainant.name",
                "a contact without a name: give the name, or neither for an anonymous complaint",
            )),
            (false, true) => Err(FieldError::new(
                "complainant.contact",
                "a named complainant gives a contact (phone or address) to be told the decisions",
            )),
            (false, false) => Ok(Some(Complainant {
                name: name.to_owned(),
                contact: contact.to_owned(),
            })),
        }
    }
}

/// Where a complaint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintState {
    /// Filed or registered; the office owes its acceptance decision.
    Filed,
    /// Refused by the office, with a reason; final.
    Refused,
    /// Accepted; the office handles it itself.
    Accepted,
    /// Accepted and forwarded to the department, which owes its report by a due date.
    Forwarded,
    /// The department reported; the office reviews.
    Reported,
    /// Closed by the office as substantiated or not; final but for the complainant's feedback.
    Closed,
}

impl ComplaintState {
    pub const ALL: [ComplaintState; 6] = [
        ComplaintState::Filed,
        ComplaintState::Refused,
        ComplaintState::Accepted,
        ComplaintState::Forwarded,
        ComplaintState::Reported,
        ComplaintState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintState::Filed => "filed",
            ComplaintState::Refused => "refused",
            ComplaintState::Accepted => "accepted",
            ComplaintState::Forwarded => "forwarded",
            ComplaintState::Reported => "reported",
            ComplaintState::Closed => "closed",
        }
    }

    pub fn parse(name: &str) -> Option<ComplaintState> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ComplaintState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the office closed a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Substantiated,
    Unsubstantiated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Substantiated => "substantiated",
            Outcome::Unsubstantiated => "unsubstantiated",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        [Outcome::Substantiated, Outcome::Unsubstantiated]
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// A move of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// The office accepts it and handles it itself.
    Accept,
    /// The office refuses it; the reason is told to a named complainant.
    Refuse { reason: String },
    /// The office forwards it (accepting it, when still filed) to the department, whose report
    /// is due at `due_at`; also sends a report back for more.
    Forward { due_at: DateTime<Utc> },
    /// The department reports what it found and did.
    Report,
    /// The office closes it.
    Close { outcome: Outcome },
    /// The named complainant's feedback on the outcome.
    Feedback { satisfied: bool },
}

impl Move {
    /// The stored name of the move.
    pub fn as_str(&self) -> &'static str {
        match self {
            Move::Accept => "accept",
            Move::Refuse { .. } => "refuse",
            Move::Forward { .. } => "forward",
            Move::Report => "report",
            Move::Close { .. } => "close",
            Move::Feedback { .. } => "feedback",
        }
    }
}

/// A move the workflow refuses, naming why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ComplaintError {
    #[error("a complaint that is {state} cannot be {verb}")]
    NotNow {
        state: ComplaintState,
        verb: &'static str,
    },
    #[error("a refusal gives its reason (the complainant is told why)")]
    ReasonRequired,
    #[error("the report's due date {due_at} is not after now ({now})")]
    DueInThePast {
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("an anonymous complainant cannot give feedback")]
    Anonymous,
    #[error("the complainant's feedback is already recorded")]
    FeedbackGiven,
}

impl ComplaintError {
    /// The stable reason code the services answer with.
    pub fn reason(&self) -> &'static str {
        match self {
            ComplaintError::NotNow { .. } => "COMPLAINT_STATE",
            ComplaintError::ReasonRequired => "REASON_REQUIRED",
            ComplaintError::DueInThePast { .. } => "DUE_IN_THE_PAST",
            ComplaintError::Anonymous => "ANONYMOUS_COMPLAINANT",
            ComplaintError::FeedbackGiven => "FEEDBACK_GIVEN",
        }
    }
}

/// What a move depends on besides the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub state: ComplaintState,
    /// Whether the complainant gave their name.
    pub named: bool,
    /// Whether feedback was already recorded.
    pub feedback_given: bool,
}

/// The state after `m` from `standing` at `now`, or why not.
pub fn next(
    standing: Standing,
    m: &Move,
    now: DateTime<Utc>,
) -> Result<ComplaintState, ComplaintError> {
    use ComplaintState as S;
    let state = standing.state;
    let not_now = |verb| ComplaintError::NotNow { state, verb };
    match m {
        Move::Accept => match state {
            S::Filed => Ok(S::Accepted),
            _ => Err(not_now("accepted")),
        },
        Move::Refuse { reason } => match state {
            S::Filed if reason.trim().is_empty() => Err(ComplaintError::ReasonRequired),
            S::Filed => Ok(S::Refused),
            _ => Err(not_now("refused")),
        },
        Move::Forward { due_at } => match state {
            S::Filed | S::Accepted | S::Reported if *due_at <= now => {
                Err(ComplaintError::DueInThePast {
                    due_at: *due_at,
                    now,
                })
            }
            S::Filed | S::Accepted | S::Reported => Ok(S::Forwarded),
            _ => Err(not_now("forwarded")),
        },
        Move::Report => match state {
            S::Forwarded => Ok(S::Reported),
            _ => Err(not_now("reported on")),
        },
        Move::Close { .. } => match state {
            S::Accepted | S::Reported => Ok(S::Closed),
            _ => Err(not_now("closed")),
        },
        Move::Feedback { .. } => match state {
            S::Closed if !standing.named => Err(ComplaintError::Anonymous),
            S::Closed if standing.feedback_given => Err(ComplaintError::FeedbackGiven),
            S::Closed => Ok(S::Closed),
            _ => Err(not_now("given feedback on")),
        },
    }
}

/// What a named complainant is told after a move (the office's notice, kept in the
/// complaint's history and shown to the office that sends it); None when the move tells them
/// nothing, or the complaint is anonymous.
pub fn notice(id: i64, m: &Move, named: bool, note: &str) -> Option<String> {
    if !named {
        return None;
    }
    let text = match m {
        Move::Accept => format!("Your complaint {id} has been accepted; the office handles it."),
        Move::Refuse { reason } => {
            format!("Your complaint {id} was not accepted: {}", reason.trim())
        }
        Move::Forward { .. } => format!(
            "Your complaint {id} has been accepted and forwarded to the department concerned for \
             its report."
        ),
        Move::Close { outcome } => {
            let found = match outcome {
                Outcome::Substantiated => "found substantiated",
                Outcome::Unsubstantiated => "found not substantiated",
            };
            let note = note.trim();
            if note.is_empty() {
                format!("Your complaint {id} was {found}.")
            } else {
                format!("Your complaint {id} was {found}: {note}")
            }
        }
        Move::Report | Move::Feedback { .. } => return None,
    };
    Some(text)
}

/// Who reads a complaint, for what they may see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// An operator of the platform.
    Admin,
    /// A supervision office: a region's subtree.
    Office { region: String },
    /// A department's staff, or anyone else: never the complainant.
    Other,
}

impl Viewer {
    /// Whether this viewer sees the complainant of a complaint held by the office of region
    /// `office`: the office handling it (or one above it, which supervises it) and admins.
    /// A department never does, even the one complained about: that is the point.
    pub fn sees_complainant(&self, office: &str) -> bool {
        match self {
            Viewer::Admin => true,
            Viewer::Office { region } => !region.is_empty() && is_within(office, region),
            Viewer::Other => false,
        }
    }
}

/// The pseudo case number of a complaint's clock, for its warnings.
pub fn case_no(id: i64, clock: clock::ComplaintClock) -> String {
    format!("{CASE_PREFIX}{id}/{}", clock.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn standing(state: ComplaintState) -> Standing {
        Standing {
            state,
            named: true,
            feedback_given: false,
        }
    }

    #[test]
    fn the_named_path_from_filing_to_feedback() {
        let now = at("2025-03-03T02:00:00Z");
        let due = at("2025-03-20T16:00:00Z");
        let mut s = standing(ComplaintState::Filed);
        for (m, expected) in [
            (Move::Forward { due_at: due }, ComplaintState::Forwarded),
            (Move::Report, ComplaintState::Reported),
            // Sent back for more, then reported again.
            (Move::Forward { due_at: due }, ComplaintState::Forwarded),
            (Move::Report, ComplaintState::Reported),
            (
                Move::Close {
                    outcome: Outcome::Substantiated,
                },
                ComplaintState::Closed,
            ),
            (Move::Feedback { satisfied: true }, ComplaintState::Closed),
        ] {
            s.state = next(s, &m, now).unwrap_or_else(|e| panic!("{m:?}: {e}"));
            assert_eq!(s.state, expected, "{m:?}");
        }
        s.feedback_given = true;
        assert_eq!(
            next(s, &Move::Feedback { satisfied: false }, now),
            Err(ComplaintError::FeedbackGiven)
        );
    }

    #[test]
    fn refused_moves_name_the_state() {
        let now = at("2025-03-03T02:00:00Z");
        use ComplaintState as S;
        assert_eq!(
            next(standing(S::Accepted), &Move::Accept, now),
            Err(ComplaintError::NotNow {
                state: S::Accepted,
                verb: "accepted"
            })
        );
        assert_eq!(
            next(
                standing(S::Filed),
                &Move::Refuse {
                    reason: "  ".into()
                },
                now
            ),
            Err(ComplaintError::ReasonRequired)
        );
        assert_eq!(
            next(
                standing(S::Filed),
                &Move::Refuse {
                    reason: "not the office's matter".into()
                },
                now
            ),
            Ok(S::Refused)
        );
        // Refused is final.
        for m in [
            Move::Accept,
            Move::Report,
            Move::Forward {
                due_at: at("2026-01-01T00:00:00Z"),
            },
            Move::Close {
                outcome: Outcome::Unsubstantiated,
            },
        ] {
            assert!(next(standing(S::Refused), &m, now).is_err(), "{m:?}");
        }
        // The department reports only what was forwarded; the office closes only what it
        // handles or what was reported.
        assert!(next(standing(S::Accepted), &Move::Report, now).is_err());
        let close = Move::Close {
            outcome: Outcome::Substantiated,
        };
        assert!(next(standing(S::Forwarded), &close, now).is_err());
        assert!(next(standing(S::Filed), &close, now).is_err());
        assert_eq!(next(standing(S::Accepted), &close, now), Ok(S::Closed));
        // A due date must lie ahead.
        assert!(matches!(
            next(standing(S::Accepted), &Move::Forward { due_at: now }, now),
            Err(ComplaintError::DueInThePast { .. })
        ));
        // Feedback: only closed, only named.
        let anonymous = Standing {
            named: false,
            ..standing(S::Closed)
        };
        assert_eq!(
            next(anonymous, &Move::Feedback { satisfied: true }, now),
            Err(ComplaintError::Anonymous)
        );
        assert!(
            next(
                standing(S::Reported),
                &Move::Feedback { satisfied: true },
                now
            )
            .is_err()
        );
    }

    #[test]
    fn only_the_office_handling_it_sees_the_complainant() {
        let office = "330106";
        assert!(Viewer::Admin.sees_complainant(office));
        for region in ["330106", "3301", "33"] {
            assert!(
                Viewer::Office {
                    region: region.into()
                }
                .sees_complainant(office),
                "{region}"
            );
        }
        // A sibling office, an office below, and every department do not.
        for region in ["330102", "330106001", ""] {
            assert!(
                !Viewer::Office {
                    region: region.into()
                }
                .sees_complainant(office),
                "{region}"
            );
        }
        assert!(!Viewer::Other.sees_complainant(office));
    }

    #[test]
    fn a_complainant_is_named_in_full_or_anonymous() {
        assert_eq!(Complainant::parse(" ", ""), Ok(None));
        assert_eq!(
            Complainant::parse("Wang Fang", "13800000000"),
            Ok(Some(Complainant {
                name: "Wang Fang".into(),
                contact: "13800000000".into()
            }))
        );
        assert_eq!(
            Complainant::parse("", "13800000000").unwrap_err().field,
            "complainant.name"
        );
        assert_eq!(
            Complainant::parse("Wang Fang", "").unwrap_err().field,
            "complainant.contact"
        );
    }

    #[test]
    fn a_named_complainant_is_told_the_decisions_and_why_a_refusal() {
        let refuse = Move::Refuse {
            reason: "the matter is before a court".into(),
        };
        assert_eq!(
            notice(7, &refuse, true, "").as_deref(),
            Some("Your complaint 7 was not accepted: the matter is before a court")
        );
        assert_eq!(notice(7, &refuse, false, ""), None);
        let close = Move::Close {
            outcome: Outcome::Substantiated,
        };
        assert_eq!(
            notice(7, &close, true, "the fee is refunded").as_deref(),
            Some("Your complaint 7 was found substantiated: the fee is refunded")
        );
        assert_eq!(notice(7, &Move::Report, true, ""), None);
    }
}
