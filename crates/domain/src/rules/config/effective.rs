//! [`EffectiveRules`]: the rule configuration resolved for one case, every threshold and level
//! with the layer it came from, and what the rules ask of it (levels, the reminder threshold of
//! a limit, the correction due of a card).

use super::*;

/// The rules as they apply to one case: every threshold and level resolved, each with its
/// source. Built by [`RuleConfig::effective`]; [`EffectiveRules::defaults`] is the built-in
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveRules {
    /// The level of every rule.
    levels: BTreeMap<Rule, Sourced<Level>>,
    approaching_working_days: Sourced<u32>,
    approaching_short_limit_working_days: Sourced<u32>,
    approaching_short_limit_max_days: Sourced<u32>,
    max_suspensions: Sourced<u32>,
    max_extensions: Sourced<u32>,
    /// Per matter kind, all four present.
    extension_working_days: BTreeMap<MatterKind, Sourced<u32>>,
    /// Per card level (yellow and red).
    correction_working_days: BTreeMap<Level, Sourced<u32>>,
}

impl Default for EffectiveRules {
    fn default() -> Self {
        Self::defaults()
    }
}

impl EffectiveRules {
    /// The built-in configuration: docs/design.md §3 and the law, every source `default`.
    pub fn defaults() -> Self {
        let a = Approaching::DEFAULT;
        EffectiveRules {
            levels: Rule::ALL
                .into_iter()
                .map(|r| (r, Sourced::default(default_level(r))))
                .collect(),
            approaching_working_days: Sourced::default(a.working_days),
            approaching_short_limit_working_days: Sourced::default(a.short_limit_working_days),
            approaching_short_limit_max_days: Sourced::default(a.short_limit_max_days),
            max_suspensions: Sourced::default(DEFAULT_MAX_SUSPENSIONS),
            max_extensions: Sourced::default(LAW_MAX_EXTENSIONS),
            extension_working_days: MatterKind::ALL
                .into_iter()
                .map(|k| (k, Sourced::default(k.allowed_extension_days())))
                .collect(),
            correction_working_days: [Level::YellowCard, Level::RedCard]
                .into_iter()
                .map(|l| (l, Sourced::default(DEFAULT_CORRECTION_WORKING_DAYS)))
                .collect(),
        }
    }

    pub(super) fn apply(&mut self, o: &RuleOverrides, source: &ConfigSource) {
        let set = |slot: &mut Sourced<u32>, value: Option<u32>| {
            if let Some(value) = value {
                *slot = Sourced {
                    value,
                    source: source.clone(),
                };
            }
        };
        set(
            &mut self.approaching_working_days,
            o.approaching.working_days,
        );
        set(
            &mut self.approaching_short_limit_working_days,
            o.approaching.short_limit_working_days,
        );
        set(
            &mut self.approaching_short_limit_max_days,
            o.approaching.short_limit_max_days,
        );
        set(&mut self.max_suspensions, o.max_suspensions);
        set(&mut self.max_extensions, o.max_extensions);
        for (&kind, &days) in &o.extension_working_days {
            let slot = self
                .extension_working_days
                .entry(kind)
                .or_insert_with(|| Sourced::default(0));
            set(slot, Some(days));
        }
        for (&level, &days) in &o.correction_working_days {
            let slot = self
                .correction_working_days
                .entry(level)
                .or_insert_with(|| Sourced::default(0));
            set(slot, Some(days));
        }
        for (&rule, &level) in &o.levels {
            self.levels.insert(
                rule,
                Sourced {
                    value: level,
                    source: source.clone(),
                },
            );
        }
    }

    /// The level `rule` raises.
    pub fn level(&self, rule: Rule) -> Sourced<Level> {
        self.levels
            .get(&rule)
            .cloned()
            .unwrap_or_else(|| Sourced::default(default_level(rule)))
    }

    /// The reminder thresholds, for placing due instants ([`crate::rules::due_instants`]).
    pub fn approaching(&self) -> Approaching {
        Approaching {
            working_days: self.approaching_working_days.value,
            short_limit_working_days: self.approaching_short_limit_working_days.value,
            short_limit_max_days: self.approaching_short_limit_max_days.value,
        }
    }

    /// The reminder threshold for a clock of `limit`, and where it came from (the more
    /// specific of the threshold used and the short-limit bound that chose it).
    pub fn approaching_threshold(&self, limit: Limit) -> Sourced<u32> {
        let bound = &self.approaching_short_limit_max_days;
        let used = if limit.amount <= bound.value {
            &self.approaching_short_limit_working_days
        } else {
            &self.approaching_working_days
        };
        Sourced {
            value: used.value,
            source: used.source.clone().max(bound.source.clone()),
        }
    }

    /// Suspensions allowed per case.
    pub fn max_suspensions(&self) -> &Sourced<u32> {
        &self.max_suspensions
    }

    /// Extensions allowed per case.
    pub fn max_extensions(&self) -> &Sourced<u32> {
        &self.max_extensions
    }

    /// Extension working days allowed per case for a matter of `kind`.
    pub fn extension_working_days(&self, kind: MatterKind) -> Sourced<u32> {
        self.extension_working_days
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| Sourced::default(kind.allowed_extension_days()))
    }

    /// Working days a card of `level` gives to explain or correct; None for a reminder.
    pub fn correction_working_days(&self, level: Level) -> Option<Sourced<u32>> {
        self.correction_working_days.get(&level).cloned()
    }

    /// When the correction of a warning of `level` raised at `raised_at` is due (the start day
    /// not counted, like every limit), and which configuration set it; None for a reminder.
    /// The workflow turns an unanswered yellow card into a red card at this instant, and
    /// escalates an unanswered red card (docs/design.md §3).
    pub fn correction_due(
        &self,
        level: Level,
        raised_at: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Option<(Deadline, ConfigSource)> {
        let days = self.correction_working_days(level)?;
        let deadline = deadline_explained(
            calendar,
            &DeadlineInput {
                start: calendar.local_date(raised_at),
                limit: Limit::working_days(days.value),
                extension: 0,
                suspensions: &[],
            },
            &format!("{level} raised"),
        );
        Some((deadline, days.source))
    }
}
