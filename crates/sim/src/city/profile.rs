//! How a department's handlers work ([`Profile`]) and what that means in chances and spans
//! ([`Behaviour`]), and how profiles are dealt to the departments of a city.

use super::*;

/// How a department's handlers work: the source of every rule they break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Decides well within the promised limit and keeps its paperwork in order.
    Fast,
    /// Mostly on time, now and then close to the deadline.
    Steady,
    /// Overloaded: late acceptances, steps over their limits, suspensions that overrun,
    /// promised and statutory limits passed, certificates late.
    Slow,
    /// On time often enough, but sloppy: refusals without reasons, piecemeal correction
    /// notices, suspensions without a kind, extensions without an approver, fees off the
    /// catalogue, records out of order.
    Careless,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fast => "fast",
            Profile::Steady => "steady",
            Profile::Slow => "slow",
            Profile::Careless => "careless",
        }
    }

    /// The chances and spans this profile's handlers work by.
    pub fn behaviour(self) -> Behaviour {
        match self {
            Profile::Fast => Behaviour {
                accept_days: (0, 1),
                late_acceptance: 0.0,
                correction: 0.08,
                second_correction: 0.02,
                refusal: 0.03,
                unexplained: 0.0,
                speed: (0.2, 0.6),
                stuck: 0.0,
                suspension: 0.08,
                suspension_overrun: 0.05,
                sloppy_suspension: 0.0,
                extra_suspensions: 0.0,
                extension: 0.0,
                sloppy_extension: 0.0,
                irregular_fee: 0.0,
                wrong_promise: 0.0,
                out_of_order: 0.0,
                late_certificate: 0.01,
                late_immediate: 0.0,
                denial: 0.06,
                withdrawal: 0.01,
                respond: 0.97,
                answer_hours: (2, 10),
            },
            Profile::Steady => Behaviour {
                accept_days: (0, 2),
                late_acceptance: 0.01,
                correction: 0.12,
                second_correction: 0.05,
                refusal: 0.04,
                unexplained: 0.02,
                speed: (0.4, 0.95),
                stuck: 0.005,
                suspension: 0.12,
                suspension_overrun: 0.1,
                sloppy_suspension: 0.02,
                extra_suspensions: 0.01,
                extension: 0.03,
                sloppy_extension: 0.1,
                irregular_fee: 0.005,
                wrong_promise: 0.01,
                out_of_order: 0.005,
                late_certificate: 0.03,
                late_immediate: 0.01,
                denial: 0.08,
                withdrawal: 0.02,
                respond: 0.85,
                answer_hours: (4, 18),
            },
            Profile::Slow => Behaviour {
                accept_days: (1, 4),
                late_acceptance: 0.1,
                correction: 0.15,
                second_correction: 0.08,
                refusal: 0.04,
                unexplained: 0.03,
                speed: (0.7, 1.4),
                stuck: 0.06,
                suspension: 0.15,
                suspension_overrun: 0.35,
                sloppy_suspension: 0.03,
                extra_suspensions: 0.02,
                extension: 0.15,
                sloppy_extension: 0.15,
                irregular_fee: 0.01,
                wrong_promise: 0.02,
                out_of_order: 0.01,
                late_certificate: 0.12,
                late_immediate: 0.06,
                denial: 0.08,
                withdrawal: 0.03,
                respond: 0.55,
                answer_hours: (10, 40),
            },
            Profile::Careless => Behaviour {
                accept_days: (0, 3),
                late_acceptance: 0.04,
                correction: 0.15,
                second_correction: 0.35,
                refusal: 0.06,
                unexplained: 0.35,
                speed: (0.3, 1.15),
                stuck: 0.02,
                suspension: 0.15,
                suspension_overrun: 0.2,
                sloppy_suspension: 0.35,
                extra_suspensions: 0.1,
                extension: 0.1,
                sloppy_extension: 0.5,
                irregular_fee: 0.08,
                wrong_promise: 0.12,
                out_of_order: 0.06,
                late_certificate: 0.1,
                late_immediate: 0.04,
                denial: 0.1,
                withdrawal: 0.02,
                respond: 0.6,
                answer_hours: (6, 30),
            },
        }
    }
}

/// The chances (0..1) and spans a department's handlers work by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// Working days from receipt to the acceptance decision, usually (inclusive range).
    pub accept_days: (u32, u32),
    /// The acceptance decision comes after the 5 working days of ALL Art. 32.
    pub late_acceptance: f64,
    /// A correction notice before acceptance.
    pub correction: f64,
    /// A second correction notice after the first ("tell everything once" broken).
    pub second_correction: f64,
    /// A refusal to accept.
    pub refusal: f64,
    /// A refusal or denial without reasons.
    pub unexplained: f64,
    /// The share of the promised limit a decision takes (uniform in the range).
    pub speed: (f64, f64),
    /// The case is left undecided past its statutory limit.
    pub stuck: f64,
    /// A special procedure (suspension) during the handling, where the matter allows one.
    pub suspension: f64,
    /// The suspension ends after its planned end.
    pub suspension_overrun: f64,
    /// The suspension has no kind or no reason, or a kind the matter does not allow.
    pub sloppy_suspension: f64,
    /// Three suspensions on one case (two are allowed).
    pub extra_suspensions: f64,
    /// An extension of the limits (ALL Art. 42).
    pub extension: f64,
    /// The extension is too long or has no approver.
    pub sloppy_extension: f64,
    /// A fee off the catalogue or above it.
    pub irregular_fee: f64,
    /// The acceptance promises the applicant another day than the promised limit gives.
    pub wrong_promise: f64,
    /// A completion sent before its decision (refused by the platform, an anomaly).
    pub out_of_order: f64,
    /// The certificate comes after the 10 working days of ALL Art. 44, or never.
    pub late_certificate: f64,
    /// An immediate matter decided the next working day instead of the same one.
    pub late_immediate: f64,
    /// A denial instead of an approval.
    pub denial: f64,
    /// The applicant withdraws during the handling.
    pub withdrawal: f64,
    /// The department works a yellow or red card (acknowledges and answers it).
    pub respond: f64,
    /// Office hours from acknowledging a card to answering it (inclusive range).
    pub answer_hours: (u32, u32),
}

/// Profiles for `n` departments: a quarter fast, a third steady, the rest slow and careless
/// in equal parts, at least one slow and one careless from two departments on, shuffled by
/// the seed.
pub(super) fn deal_profiles(n: usize, rng: &mut Rng) -> Vec<Profile> {
    if n == 1 {
        return vec![Profile::Careless];
    }
    let slow = (n / 5).max(1);
    let careless = (n / 5).max(1);
    let fast = (n / 4).min(n - slow - careless);
    let steady = n - slow - careless - fast;
    let mut profiles: Vec<Profile> = std::iter::repeat_n(Profile::Fast, fast)
        .chain(std::iter::repeat_n(Profile::Steady, steady))
        .chain(std::iter::repeat_n(Profile::Slow, slow))
        .chain(std::iter::repeat_n(Profile::Careless, careless))
        .collect();
    profiles.shuffle(rng);
    profiles
}
