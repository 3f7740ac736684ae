//! Records on the wire and in the domain: a record checked field by field (every bad field
//! at once, with its dotted path), and a stored record answered.

use super::*;

impl TryFrom<pb::Record> for Record {
    type Error = FieldViolations;

    fn try_from(r: pb::Record) -> Result<Self, FieldViolations> {
        // Text out of bounds is reported first; the checks below report nothing more there.
        let mut v = Violations::bounds(&r);
        let event_id = v.check(EventId::parse(r.event_id), || {
            stand_in(EventId::parse("stand-in"))
        });
        let case_no = v.check(CaseNo::parse(r.case_no), || {
            stand_in(CaseNo::parse("stand-in"))
        });
        let occurred_at = v.check(instant(r.occurred_at, "occurred_at"), || {
            DateTime::<Utc>::UNIX_EPOCH
        });
        let body = match r.body {
            Some(body) => body_from_proto(body, &mut v),
            None => {
                v.push(
                    "body",
                    "is required: exactly one of application, acceptance, correction_notice, \
                     correction_received, refusal, step_started, step_completed, \
                     suspension_started, suspension_ended, extension, decision, fee, completion, \
                     certificate_issued, withdrawal, rating",
                );
                // Checks nothing but the envelope in `validate` below.
                RecordBody::CorrectionReceived
            }
        };
        let record = Record {
            event_id,
            case_no,
            occurred_at,
            source: r.source,
            body,
        };
        v.extend_from_domain(record.validate());
        if v.is_empty() {
            Ok(record)
        } else {
            Err(FieldViolations(v.0))
        }
    }
}

/// The body of a record; violations are recorded with paths like `acceptance.handler`.
fn body_from_proto(body: pb::record::Body, v: &mut Violations) -> RecordBody {
    use pb::record::Body as B;
    match body {
        B::Application(a) => {
            let at = |e: FieldError| e.within("application");
            RecordBody::Application(Application {
                matter_code: v.check(MatterCode::parse(a.matter_code).map_err(at), || {
                    stand_in(MatterCode::parse("stand-in"))
                }),
                department: v.check(DepartmentCode::parse(a.department).map_err(at), || {
                    stand_in(DepartmentCode::parse("stand-in"))
                }),
                region: v.check(RegionCode::parse(a.region).map_err(at), || {
                    stand_in(RegionCode::parse("0"))
                }),
                applicant_ref: a.applicant_ref,
                channel: v.check(channel(a.channel, "application.channel"), || {
                    Channel::Window
                }),
            })
        }
        B::Acceptance(a) => RecordBody::Acceptance {
            handler: a.handler,
            promised_due_at: v.check(
                optional_instant(a.promised_due_at, "acceptance.promised_due_at"),
                || None,
            ),
        },
        B::CorrectionNotice(c) => RecordBody::CorrectionNotice {
            materials: c.materials,
            handler: c.handler,
        },
        B::CorrectionReceived(pb::CorrectionReceived {}) => RecordBody::CorrectionReceived,
        B::Refusal(r) => RecordBody::Refusal {
            reason: r.reason,
            handler: r.handler,
        },
        B::StepStarted(s) => RecordBody::StepStarted {
            step: s.step,
            handler: s.handler,
            opinion: s.opinion,
        },
        B::StepCompleted(s) => RecordBody::StepCompleted {
            step: s.step,
            handler: s.handler,
            opinion: s.opinion,
        },
        B::SuspensionStarted(s) => RecordBody::SuspensionStarted {
            kind: v.check(suspension_kind(s.kind, "suspension_started.kind"), || None),
            reason: s.reason,
            planned_end: v.check(
                instant(s.planned_end, "suspension_started.planned_end"),
                || DateTime::<Utc>::MAX_UTC,
            ),
            approver: s.approver,
        },
        B::SuspensionEnded(s) => RecordBody::SuspensionEnded { result: s.result },
        B::Extension(e) => RecordBody::Extension {
            working_days: e.working_days,
            approver: e.approver,
            reason: e.reason,
        },
        B::Decision(d) => RecordBody::Decision {
            outcome: v.check(outcome(d.outcome, "decision.outcome"), || Outcome::Approved),
            reason: d.reason,
            handler: d.handler,
        },
        B::Fee(f) => RecordBody::Fee {
            fee_item: f.fee_item,
            amount_fen: v.check(
                Fen::new(f.amount_fen).map_err(|e| FieldError::new("fee.amount_fen", e.reason)),
                || Fen::ZERO,
            ),
            receipt_no: f.receipt_no,
        },
        B::Completion(c) => RecordBody::Completion {
            result: c.result,
            certificate_no: c.certificate_no,
        },
        B::CertificateIssued(c) => RecordBody::CertificateIssued {
            certificate_no: c.certificate_no,
            method: v.check(issue_method(c.method, "certificate_issued.method"), || {
                IssueMethod::InPerson
            }),
        },
        B::Withdrawal(w) => RecordBody::Withdrawal { reason: w.reason },
        B::Rating(r) => RecordBody::Rating {
            level: v.check(
                RatingLevel::new(r.level.into()).map_err(|e| e.within("rating")),
                || stand_in(RatingLevel::new(1)),
            ),
            channel: v.check(rating_channel(r.channel, "rating.channel"), || None),
            comment: r.comment,
        },
    }
}

impl From<&Record> for pb::Record {
    fn from(r: &Record) -> Self {
        pb::Record {
            event_id: r.event_id.as_str().to_owned(),
            case_no: r.case_no.as_str().to_owned(),
            occurred_at: timestamp(r.occurred_at),
            source: r.source.clone(),
            body: Some(body_to_proto(&r.body)),
        }
    }
}

impl From<Record> for pb::Record {
    fn from(r: Record) -> Self {
        pb::Record::from(&r)
    }
}

fn body_to_proto(body: &RecordBody) -> pb::record::Body {
    use pb::record::Body as B;
    match body {
        RecordBody::Application(a) => B::Application(pb::Application {
            matter_code: a.matter_code.as_str().to_owned(),
            department: a.department.as_str().to_owned(),
            region: a.region.as_str().to_owned(),
            applicant_ref: a.applicant_ref.clone(),
            channel: channel_to_proto(a.channel).into(),
        }),
        RecordBody::Acceptance {
            handler,
            promised_due_at,
        } => B::Acceptance(pb::Acceptance {
            handler: handler.clone(),
            promised_due_at: promised_due_at.map(Timestamp::from),
        }),
        RecordBody::CorrectionNotice { materials, handler } => {
            B::CorrectionNotice(pb::CorrectionNotice {
                materials: materials.clone(),
                handler: handler.clone(),
            })
        }
        RecordBody::CorrectionReceived => B::CorrectionReceived(pb::CorrectionReceived {}),
        RecordBody::Refusal { reason, handler } => B::Refusal(pb::Refusal {
            reason: reason.clone(),
            handler: handler.clone(),
        }),
        RecordBody::StepStarted {
            step,
            handler,
            opinion,
        } => B::StepStarted(pb::StepStarted {
            step: step.clone(),
            handler: handler.clone(),
            opinion: opinion.clone(),
        }),
        RecordBody::StepCompleted {
            step,
            handler,
            opinion,
        } => B::StepCompleted(pb::StepCompleted {
            step: step.clone(),
            handler: handler.clone(),
            opinion: opinion.clone(),
        }),
        RecordBody::SuspensionStarted {
            kind,
            reason,
            planned_end,
            approver,
        } => B::SuspensionStarted(pb::SuspensionStarted {
            kind: suspension_kind_to_proto(*kind).into(),
            reason: reason.clone(),
            planned_end: timestamp(*planned_end),
            approver: approver.clone(),
        }),
        RecordBody::SuspensionEnded { result } => B::SuspensionEnded(pb::SuspensionEnded {
            result: result.clone(),
        }),
        RecordBody::Extension {
            working_days,
            approver,
            reason,
        } => B::Extension(pb::Extension {
            working_days: *working_days,
            approver: approver.clone(),
            reason: reason.clone(),
        }),
        RecordBody::Decision {
            outcome,
            reason,
            handler,
        } => B::Decision(pb::Decision {
            outcome: outcome_to_proto(*outcome).into(),
            reason: reason.clone(),
            handler: handler.clone(),
        }),
        RecordBody::Fee {
            fee_item,
            amount_fen,
            receipt_no,
        } => B::Fee(pb::Fee {
            fee_item: fee_item.clone(),
            amount_fen: amount_fen.get(),
            receipt_no: receipt_no.clone(),
        }),
        RecordBody::Completion {
            result,
            certificate_no,
        } => B::Completion(pb::Completion {
            result: result.clone(),
            certificate_no: certificate_no.clone(),
        }),
        RecordBody::CertificateIssued {
            certificate_no,
            method,
        } => B::CertificateIssued(pb::CertificateIssued {
            certificate_no: certificate_no.clone(),
            method: issue_method_to_proto(*method).into(),
        }),
        RecordBody::Withdrawal { reason } => B::Withdrawal(pb::Withdrawal {
            reason: reason.clone(),
        }),
        RecordBody::Rating {
            level,
            channel,
            comment,
        } => B::Rating(pb::Rating {
            level: level.get().into(),
            channel: channel
                .map_or(pb::Channel::Unspecified, channel_to_proto)
                .into(),
            comment: comment.clone(),
        }),
    }
}
