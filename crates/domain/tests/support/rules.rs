//! Plays a case story the way the two platforms do, for the rule tests: records arrive in the
//! given order (each at its own `occurred_at`); before each record, and at the end up to a given
//! time, the due instants that came are fired in time order; after each admitted record the
//! record rules run and the case's due instants are replaced (as the store replaces them on
//! every write). Refused records of the case are reported as procedure anomalies. As in the
//! store, a due instant fired again does not raise its rule and level twice (a record after a
//! passed deadline reschedules the running clock's past instants).

use chrono::{DateTime, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::case::{Case, admit};
use egov_domain::clock::{DueInstant, clocks};
use egov_domain::matter::Matter;
use egov_domain::record::{Record, RecordBody};
use egov_domain::rules::{self, EffectiveRules, RuleConfig, WarningDraft};

use super::at;

/// A case being played.
pub struct Play {
    pub matter: Matter,
    pub calendar: Calendar,
    pub config: RuleConfig,
    pub stored: Vec<Record>,
    pub case: Option<Case>,
    pub due: Vec<DueInstant>,
    /// Every warning draft, in the order raised, with the instant it was raised.
    pub raised: Vec<(DateTime<Utc>, WarningDraft)>,
}

impl Play {
    pub fn new(matter: Matter, config: RuleConfig) -> Self {
        Play {
            matter,
            calendar: Calendar::china(),
            config,
            stored: Vec::new(),
            case: None,
            due: Vec::new(),
            raised: Vec::new(),
        }
    }

    fn effective(&self, case: &Case) -> EffectiveRules {
        self.config.effective(&case.matter_code, &case.department)
    }

    /// Fires every due instant up to `now`, earliest first.
    pub fn wake(&mut self, now: DateTime<Utc>) {
        let Some(case) = self.case.clone() else {
            return;
        };
        let config = self.effective(&case);
        let (fire, keep): (Vec<_>, Vec<_>) = self.due.drain(..).partition(|d| d.due_at <= now);
        self.due = keep;
        for d in fire {
            if let Some(w) = rules::on_due(
                &d.clock,
                d.due_at,
                &case,
                &self.matter,
                &self.calendar,
                &config,
            ) {
                self.raise(d.due_at, w);
            }
        }
    }

    /// One record arrives (at its own time, or later for a late record).
    pub fn arrive(&mut self, r: &Record) {
        self.wake(r.occurred_at);
        let before = self.case.clone();
        let result = match &before {
            None => match &r.body {
                RecordBody::Application(_) => Case::open(r, &self.matter),
                // A record of an unknown case: the sender is told; supervision never hears.
                _ => return,
            },
            Some(case) => admit(&self.stored, Some(case), r, &self.matter),
        };
        match result {
            Ok(after) => {
                let config = self.effective(&after);
                let drafts = rules::on_record(
                    before.as_ref(),
                    &after,
                    r,
                    &self.matter,
                    &self.calendar,
                    &config,
                );
                self.raised
                    .extend(drafts.into_iter().map(|w| (r.occurred_at, w)));
                let clocks = clocks(&after, &self.matter, &self.calendar);
                self.due = rules::due_instants(&after, &clocks, &self.calendar, &config);
                self.stored.push(r.clone());
                self.case = Some(after);
            }
            Err(error) => {
                let case = before.expect("a refused record of a known case");
                let config = self.effective(&case);
                if let Some(w) = rules::on_refused(r, &error, &self.calendar, &config) {
                    self.raised.push((r.occurred_at, w));
                }
            }
        }
    }

    /// Raises the due instant's `w` at `when` unless the case already has a warning of its rule
    /// and level.
    fn raise(&mut self, when: DateTime<Utc>, w: WarningDraft) {
        if !self
            .raised
            .iter()
            .any(|(_, r)| r.rule == w.rule && r.level == w.level)
        {
            self.raised.push((when, w));
        }
    }

    /// The warnings as lines: `LOCAL-TIME rule level (config): message`.
    pub fn lines(&self) -> Vec<String> {
        self.raised
            .iter()
            .map(|(when, w)| {
                format!(
                    "{} {} {} ({}): {}",
                    when.with_timezone(&self.calendar.utc_offset())
                        .format("%Y-%m-%d %H:%M"),
                    w.rule,
                    w.level,
                    w.config,
                    w.message
                )
            })
            .collect()
    }
}

/// The warnings of a story: `records` arrive in order, then time runs to `until` (local).
pub fn warnings(
    matter: Matter,
    config: RuleConfig,
    records: &[Record],
    until: &str,
) -> Vec<String> {
    let mut play = Play::new(matter, config);
    for r in records {
        play.arrive(r);
    }
    play.wake(at(until));
    play.lines()
}
