//! Test fixtures: the approval platform on 127.0.0.1:0 against a fresh database (PostgreSQL
//! or SQLite), with a manual clock, and a client connected to it. Used by this crate's tests
//! and by the end-to-end suite.

use egov_domain::rules::RuleConfig;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::{Backend, Store};
use tonic::transport::Channel;

use crate::ApprovalServer;

/// A running approval platform for one test.
#[derive(Debug)]
pub struct TestApproval {
    pub addr: SocketAddr,
    pub store: Store,
    pub clock: ManualClock,
    pub client: ApprovalServiceClient<Channel>,
    trigger: ShutdownTrigger,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// A fresh database of the given kind.
pub async fn fresh_store(backend: Backend) -> Store {
    match backend {
        Backend::Postgres => egov_store::testing::fresh_postgres().await,
        Backend::Sqlite => egov_store::testing::fresh_sqlite().await,
    }
}

/// Starts the platform on a fresh database, its clock at `now`.
pub async fn spawn_approval(backend: Backend, now: DateTime<Utc>) -> TestApproval {
    spawn_approval_on(fresh_store(backend).await, ManualClock::new(now)).await
}

/// Starts the platform on a given store and clock.
pub async fn spawn_approval_on(store: Store, clock: ManualClock) -> TestApproval {
    spawn_approval_with(store, clock, RuleConfig::default()).await
}

/// [`spawn_approval_on`] judging records by the rule configuration `rules`.
pub async fn spawn_approval_with(
    store: Store,
    clock: ManualClock,
    rules: RuleConfig,
) -> TestApproval {
    let (trigger, shutdown) = shutdown::channel();
    let server = ApprovalServer::build_with_rules(
        "127.0.0.1:0".parse().expect("address"),
        store.clone(),
        clock.shared(),
        shutdown,
        rules,
    )
    .await
    .expect("the approval platform starts");
    let addr = server.local_addr();
    let handle = tokio::spawn(async move {
        server
            .run_until_stopped(Duration::from_secs(2))
            .await
            .expect("the approval platform serves");
    });
    let client = ApprovalServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("a client connects");
    TestApproval {
        addr,
        store,
        clock,
        client,
        trigger,
        server: Some(handle),
    }
}

impl TestApproval {
    /// Stops the platform and waits for it to finish.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for TestApproval {
    fn drop(&mut self) {
        self.trigger.trigger();
    }
}

/// Builders of wire values for tests: matters and records in a few words.
pub mod fixtures {
    use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
    use egov_domain::calendar::CalendarId;
    use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
    use egov_domain::limit::Limit;
    use egov_domain::matter::{Matter, MatterKind};
    use egov_domain::money::Fen;
    use egov_domain::record::{
        Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, SuspensionKind,
    };
    use egov_proto::approval::v1 as pb;

    /// Asia/Shanghai local time "2024-03-04 09:00" as UTC.
    pub fn local(t: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").expect("local time");
        FixedOffset::east_opt(8 * 3600)
            .expect("offset")
            .from_local_datetime(&naive)
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    /// A promised matter of `department` with the given limits in working days.
    pub fn matter(code: &str, department: &str, promised: u32, statutory: u32) -> pb::Matter {
        let kind = if statutory == 0 {
            MatterKind::Immediate
        } else {
            MatterKind::Promised
        };
        (&Matter {
            code: MatterCode::parse(code).expect("code"),
            name: format!("matter {code}"),
            department: DepartmentCode::parse(department).expect("department"),
            region: None,
            kind,
            statutory_limit: Limit::working_days(statutory),
            promised_limit: Limit::working_days(promised),
            step_limits: vec![],
            fee_items: vec![],
            suspension_kinds: vec![SuspensionKind::Testing],
            calendar: CalendarId::parse("cn").expect("calendar"),
        })
            .into()
    }

    /// A record of `case_no` at local time `at`.
    pub fn record(case_no: &str, event_id: &str, at: &str, body: RecordBody) -> pb::Record {
        (&Record {
            event_id: EventId::parse(event_id).expect("event id"),
            case_no: CaseNo::parse(case_no).expect("case no"),
            occurred_at: local(at),
            source: "test-centre".into(),
            body,
        })
            .into()
    }

    pub fn application(matter_code: &str, department: &str, region: &str) -> RecordBody {
        RecordBody::Application(Application {
            matter_code: MatterCode::parse(matter_code).expect("matter"),
            department: DepartmentCode::parse(department).expect("department"),
            region: RegionCode::parse(region).expect("region"),
            applicant_ref: "applicant-1".into(),
            channel: Channel::Window,
        })
    }

    pub fn acceptance() -> RecordBody {
        RecordBody::Acceptance {
            handler: "clerk-1".into(),
            promised_due_at: None,
        }
    }

    pub fn step_started(step: &str) -> RecordBody {
        RecordBody::StepStarted {
            step: step.into(),
            handler: "officer-1".into(),
            opinion: String::new(),
        }
    }

    pub fn suspension(planned_end: &str) -> RecordBody {
        RecordBody::SuspensionStarted {
            kind: Some(SuspensionKind::Testing),
            reason: "laboratory test of samples".into(),
            planned_end: local(planned_end),
            approver: "head-1".into(),
        }
    }

    pub fn suspension_ended() -> RecordBody {
        RecordBody::SuspensionEnded {
            result: "samples passed".into(),
        }
    }

    pub fn decision(approved: bool) -> RecordBody {
        RecordBody::Decision {
            outcome: if approved {
                Outcome::Approved
            } else {
                Outcome::Denied
            },
            reason: if approved {
                String::new()
            } else {
                "unsafe premises".into()
            },
            handler: "head-1".into(),
        }
    }

    pub fn completion() -> RecordBody {
        RecordBody::Completion {
            result: "licence granted".into(),
            certificate_no: "CERT-1".into(),
        }
    }

    pub fn certificate() -> RecordBody {
        RecordBody::CertificateIssued {
            certificate_no: "CERT-1".into(),
            method: IssueMethod::Electronic,
        }
    }

    pub fn fee(item: &str, fen: i64) -> RecordBody {
        RecordBody::Fee {
            fee_item: item.into(),
            amount_fen: Fen::new(fen).expect("fen"),
            receipt_no: "R-1".into(),
        }
    }

    pub fn rating(level: i64) -> RecordBody {
        RecordBody::Rating {
            level: RatingLevel::new(level).expect("level"),
            channel: Some(Channel::Online),
            comment: String::new(),
        }
    }
}
