//! A case's handling once accepted, planned: the steps, the special procedures and the
//! extension, the decision, the completion, the certificate and the applicant's rating.

use super::*;

impl Planner<'_> {
    /// From acceptance to completion: steps, maybe a suspension and an extension, the
    /// decision, the completion, the certificate and the rating.
    pub(super) fn handling(&mut self, accepted: DateTime<Utc>) {
        let a = self.day_of(accepted);
        let stuck = self.roll(self.b.stuck);
        let mut decide = self.decision_day(a, stuck);
        let withdraw = self.roll(self.b.withdrawal);

        // Three steps share the handling time: undertake, review, approve.
        let span = self.cal.working_days_between(a, decide).max(1);
        let undertake_end = add_working_days(self.cal, a, span * 35 / 100);
        let review_end = add_working_days(self.cal, a, span * 70 / 100);

        let officer = self.officer();
        let at = self.soon(10, 60);
        self.step(at, "undertake", &officer, true);
        let at = self.on(undertake_end);
        self.step(at, "undertake", &officer, false);
        let reviewer = self.officer();
        let at = self.soon(5, 30);
        self.step(at, "review", &reviewer, true);

        if withdraw {
            let day = add_working_days(self.cal, self.day_of(self.last), 1);
            let at = self.on(day);
            self.push(
                at,
                RecordBody::Withdrawal {
                    reason: "the applicant withdrew the application".into(),
                },
            );
            return;
        }

        // Special procedures during the review: their working days are not counted, so the
        // decision moves by as many.
        let suspended = self.suspensions(review_end);
        if suspended > 0 {
            decide = add_working_days(self.cal, decide, suspended);
        }
        let review_end = review_end.max(self.day_of(self.last));
        decide = decide.max(review_end);

        if self.roll(self.b.extension) {
            let extra = self.extension();
            decide = add_working_days(self.cal, decide, self.rng.random_range(0..=extra / 2));
        }

        let at = self.on(review_end);
        self.step(at, "review", &reviewer, false);
        let head = self.head();
        let at = self.soon(5, 30);
        self.step(at, "approve", &head, true);
        let at = self.on(decide);
        self.step(at, "approve", &head, false);

        let denied = self.roll(self.b.denial);
        if !denied && self.roll(self.b.out_of_order) {
            // The window system sends the completion before the decision: refused, and an
            // anomaly for supervision; the decision and a proper completion follow.
            let at = self.soon(1, 5);
            self.push(
                at,
                RecordBody::Completion {
                    result: "approved".into(),
                    certificate_no: format!("CERT-{}", self.case_no),
                },
            );
        }
        let reason = if denied {
            if self.roll(self.b.unexplained) {
                String::new()
            } else {
                self.pick(&DENIALS).to_owned()
            }
        } else {
            "the conditions of the licence are met".to_owned()
        };
        let at = self.soon(5, 40);
        self.push(
            at,
            RecordBody::Decision {
                outcome: if denied {
                    Outcome::Denied
                } else {
                    Outcome::Approved
                },
                reason,
                handler: head,
            },
        );
        let decided = self.last;
        let at = if self.rng.random_bool(0.7) {
            self.soon(10, 90)
        } else {
            let day = add_working_days(self.cal, self.day_of(self.last), 1);
            self.on(day)
        };
        let certificate_no = if denied {
            String::new()
        } else {
            format!("CERT-{}", self.case_no)
        };
        self.push(
            at,
            RecordBody::Completion {
                result: if denied { "denied" } else { "approved" }.into(),
                certificate_no: certificate_no.clone(),
            },
        );
        if !denied {
            self.certificate(decided, certificate_no);
        }
        self.rating();
    }

    fn step(&mut self, at: DateTime<Utc>, step: &str, handler: &str, start: bool) {
        let (step, handler) = (step.to_owned(), handler.to_owned());
        let body = if start {
            RecordBody::StepStarted {
                step,
                handler,
                opinion: String::new(),
            }
        } else {
            RecordBody::StepCompleted {
                step,
                handler,
                opinion: "agreed".into(),
            }
        };
        self.push(at, body);
    }

    /// Special procedures (ALL Art. 45) during the review, if any: returns the working days
    /// they stopped the clocks.
    fn suspensions(&mut self, review_end: NaiveDate) -> u32 {
        let allowed = self.matter.suspension_kinds.clone();
        let sloppy = self.roll(self.b.sloppy_suspension);
        let wanted = if allowed.is_empty() {
            // A matter without special procedures: only a sloppy department suspends it.
            sloppy && self.roll(self.b.suspension)
        } else {
            self.roll(self.b.suspension)
        };
        if !wanted {
            return 0;
        }
        let count = if self.roll(self.b.extra_suspensions) {
            3
        } else {
            1
        };
        let start_day = self.day_of(self.last).max(review_end.min(add_working_days(
            self.cal,
            self.day_of(self.last),
            1,
        )));
        let mut stopped = 0;
        for i in 0..count {
            let (kind, reason) = if sloppy && i == 0 {
                match self.rng.random_range(0..3) {
                    0 => (None, self.pick(&SUSPENSION_REASONS).to_owned()),
                    1 => (allowed.first().copied(), String::new()),
                    _ => (
                        Some(not_allowed(&allowed)),
                        self.pick(&SUSPENSION_REASONS).to_owned(),
                    ),
                }
            } else {
                (
                    Some(allowed.first().copied().unwrap_or(SuspensionKind::Other)),
                    self.pick(&SUSPENSION_REASONS).to_owned(),
                )
            };
            let day = if i == 0 {
                start_day
            } else {
                self.day_of(self.last)
            };
            let started = self.on(day);
            // Short ones when there are three; planned to end at 17:00 (a quarter hour, so
            // that a simulator stepping in quarter hours places it exactly).
            let length = if count > 1 {
                1
            } else {
                self.rng.random_range(2..=6)
            };
            let planned_day = add_working_days(self.cal, self.day_of(started), length);
            let planned_end = worktime::at(self.cal, planned_day, 17 * 60);
            self.push(
                started,
                RecordBody::SuspensionStarted {
                    kind,
                    reason,
                    planned_end,
                    approver: self.head(),
                },
            );
            let ended = if self.roll(self.b.suspension_overrun) {
                let late = self.rng.random_range(1..=3);
                let day = add_working_days(self.cal, planned_day, late);
                self.on(day)
            } else {
                let early = self.rng.random_range(1..=length);
                let day = add_working_days(self.cal, self.day_of(started), early);
                // Before 16:40 on the planned day: ended before it was due.
                let t = if day == planned_day {
                    worktime::at(self.cal, day, self.rng.random_range(540..=1000))
                        .max(self.last + Duration::minutes(1))
                } else {
                    self.on(day)
                };
                t.min(planned_end - Duration::minutes(1))
                    .max(self.last + Duration::minutes(1))
            };
            self.push(
                ended,
                RecordBody::SuspensionEnded {
                    result: "the procedure is complete".into(),
                },
            );
            stopped += self
                .cal
                .working_days_between(self.day_of(started), self.day_of(ended));
        }
        stopped
    }

    /// An extension (ALL Art. 42): the days the law allows once, with the head's approval;
    /// a careless department asks for more or forgets the approver. Returns its days.
    fn extension(&mut self) -> u32 {
        let allowed = self.matter.kind.allowed_extension_days().max(1);
        let sloppy = self.roll(self.b.sloppy_extension);
        let (days, approver) = match (sloppy, self.rng.random_bool(0.5)) {
            (true, true) => (allowed + 2, self.head()),
            (true, false) => (allowed, String::new()),
            _ => (allowed, self.head()),
        };
        let day = add_working_days(self.cal, self.day_of(self.last), 1);
        let at = self.on(day);
        self.push(
            at,
            RecordBody::Extension {
                working_days: days,
                approver,
                reason: "the site inspection needs a second visit".into(),
            },
        );
        days
    }

    /// The certificate (ALL Art. 44): with the completion, or a few days later by mail; a
    /// slow or careless department issues it after the 10 working days, or never.
    fn certificate(&mut self, decided: DateTime<Utc>, certificate_no: String) {
        let (at, method) = if self.roll(self.b.late_certificate) {
            if self.rng.random_bool(0.3) {
                return;
            }
            let late = self.rng.random_range(11..=14);
            let day = add_working_days(self.cal, self.day_of(decided), late);
            (self.on(day), IssueMethod::Mail)
        } else if self.rng.random_bool(0.7) {
            (self.soon(1, 20), IssueMethod::Electronic)
        } else {
            let k = self.rng.random_range(1..=4);
            let day = add_working_days(self.cal, self.day_of(self.last), k);
            (self.on(day), IssueMethod::InPerson)
        };
        self.push(
            at,
            RecordBody::CertificateIssued {
                certificate_no,
                method,
            },
        );
    }

    /// The applicant's rating (好差评), given by most applicants; a slow department earns
    /// more bad reviews.
    pub(super) fn rating(&mut self) {
        if !self.rng.random_bool(0.6) {
            return;
        }
        let bad = match self.dept.profile {
            Profile::Fast => 0.02,
            Profile::Steady => 0.05,
            Profile::Careless => 0.12,
            Profile::Slow => 0.25,
        };
        let level = if self.roll(bad) {
            self.rng.random_range(4..=5)
        } else {
            self.rng.random_range(1..=3)
        };
        let k = self.rng.random_range(0..=1);
        let day = add_working_days(self.cal, self.day_of(self.last), k);
        let at = self.on(day);
        self.push(
            at,
            RecordBody::Rating {
                level: RatingLevel::new(level).expect("a valid level"),
                channel: Some(Channel::Online),
                comment: String::new(),
            },
        );
    }
}

/// A kind of special procedure the matter does not allow.
fn not_allowed(allowed: &[SuspensionKind]) -> SuspensionKind {
    [
        SuspensionKind::Auction,
        SuspensionKind::Tendering,
        SuspensionKind::Quarantine,
        SuspensionKind::Hearing,
    ]
    .into_iter()
    .find(|k| !allowed.contains(k))
    .unwrap_or(SuspensionKind::Other)
}
