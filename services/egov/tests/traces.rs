//! Traces as an operator collects them (issue 13): both platforms as processes on one
//! PostgreSQL database, exporting by OTLP/gRPC to a collector (here the test's own). A client's
//! trace continues through the ingest of its records, and the warnings those records cause,
//! raised later by the supervision process (its due loop for a case left open past its limits,
//! its log follower for a case completed late), are spans of that same trace.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use egov_approval::testing::fixtures;
use egov_proto::approval::v1 as pb;
use egov_store::testing::fresh_postgres_url;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use support::processes::{
    Platform, admin_token, all_warnings, approval, eventually, local_ago, overdue_case, status_of,
    supervision,
};

/// The client's own span: the trace every span of this story must belong to.
const TRACE_ID: &str = "5ee1c0de0f0a11ce0ddba11fee1600d5";
const CLIENT_SPAN: &str = "c0ffee0000c11e47";

/// A span as the collector received it, with the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Span,
}

impl Received {
    fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    fn attribute(&self, key: &str) -> Option<String> {
        text(&self.span.attributes, key)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|a| a.key == key)?.value.as_ref()?;
    match &value.value {
        Some(any_value::Value::StringValue(s)) => Some(s.clone()),
        Some(any_value::Value::IntValue(i)) => Some(i.to_string()),
        _ => None,
    }
}

/// An OTLP/gRPC trace collector keeping every span it is sent.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("not poisoned");
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| text(&r.attributes, "service.name"))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| Received {
                    service: service.clone(),
                    span,
                }));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("its address");
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .expect("the collector serves");
        });
        addr
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().expect("not poisoned").clone()
    }
}

/// A case applied for 60 days ago and completed 10 minutes ago: its clocks stopped long after
/// their limits, so the log follower raises its warnings (no due instant ever will).
fn completed_late(case: &str) -> Vec<pb::Record> {
    let mut records = overdue_case(case, 0);
    let case = &records[0].case_no.clone();
    records.push(fixtures::record(
        case,
        &format!("{case}-c"),
        &local_ago(0, -20),
        fixtures::decision(true),
    ));
    records.push(fixtures::record(
        case,
        &format!("{case}-d"),
        &local_ago(0, -10),
        fixtures::completion(),
    ));
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_records_ingest_and_the_warnings_it_causes_are_one_trace() {
    let url = fresh_postgres_url().await;
    let token = admin_token(&url);
    let collector = Collector::default();
    let endpoint = format!("http://{}", collector.start().await);
    let export = ["--otlp-endpoint", endpoint.as_str()];
    let approval_platform = Platform::start("approval", "approval", &url, &export);
    let supervision_platform = Platform::start("supervision", "supervision", &url, &export);
    let platforms = [&approval_platform, &supervision_platform];

    let mut client = approval(approval_platform.addr, &token).await;
    client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![fixtures::matter("M-FOOD", "market", 10, 20)],
        })
        .await
        .expect("the matter is stored");

    let open_late = overdue_case("TRACE-OPEN", 1);
    let done_late = completed_late("TRACE-DONE");
    let cases: BTreeSet<String> = [&open_late[0].case_no, &done_late[0].case_no]
        .into_iter()
        .cloned()
        .collect();
    let mut request = tonic::Request::new(pb::SubmitRecordsRequest {
        records: open_late.into_iter().chain(done_late).collect(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{CLIENT_SPAN}-01")
            .parse()
            .expect("ASCII"),
    );
    let results = client
        .submit_records(request)
        .await
        .expect("submitted")
        .into_inner()
        .results;
    for r in &results {
        assert_eq!(status_of(r), pb::RecordStatus::Stored, "{r:?}");
    }

    // Every warning of both cases, once raised, is a span of the client's trace.
    let watched = supervision_platform.addr;
    eventually("each case warned and traced", &platforms, || {
        let (token, collector, cases) = (&token, &collector, &cases);
        async move {
            let mut watcher = supervision(watched, token).await;
            let warnings: Vec<_> = all_warnings(&mut watcher)
                .await
                .into_iter()
                .filter(|w| cases.contains(&w.case_no))
                .collect();
            let warned: BTreeSet<String> = warnings.iter().map(|w| w.case_no.clone()).collect();
            if &warned != cases {
                return Err(format!("warned so far: {warned:?}"));
            }
            let spans = collector.spans();
            for w in &warnings {
                let id = w.id.to_string();
                let Some(span) = spans.iter().find(|s| {
                    s.span.name == "warning raised" && s.attribute("warning_id") == Some(id.clone())
                }) else {
                    return Err(format!(
                        "no span yet for warning {id} ({} {})",
                        w.case_no, w.rule
                    ));
                };
                if span.trace_id() != TRACE_ID || span.service != "egov-supervision" {
                    return Err(format!("warning {id} raised in another trace: {span:?}"));
                }
            }
            Ok(())
        }
    })
    .await;

    // The chain: the client's span -> the approval platform's call -> its ingest -> each
    // warning raised by the supervision platform.
    let spans = collector.spans();
    let in_trace: Vec<&Received> = spans.iter().filter(|s| s.trace_id() == TRACE_ID).collect();
    let call = in_trace
        .iter()
        .find(|s| s.span.name.ends_with("/SubmitRecords"))
        .unwrap_or_else(|| panic!("no span of the call in the trace: {in_trace:#?}"));
    assert_eq!(call.service, "egov-approval");
    assert_eq!(hex(&call.span.parent_span_id), CLIENT_SPAN, "{call:?}");
    let ingest = in_trace
        .iter()
        .find(|s| s.span.name == "ingest" && s.span.parent_span_id == call.span.span_id)
        .unwrap_or_else(|| panic!("no ingest span under the call: {in_trace:#?}"));
    assert_eq!(ingest.attribute("records").as_deref(), Some("6"));
    let raised: Vec<&&Received> = in_trace
        .iter()
        .filter(|s| s.span.name == "warning raised" && s.service == "egov-supervision")
        .collect();
    for span in &raised {
        assert_eq!(span.span.parent_span_id, ingest.span.span_id, "{span:?}");
    }
    let traced_cases: BTreeSet<String> = raised
        .iter()
        .filter_map(|s| s.attribute("case_no"))
        .collect();
    assert_eq!(
        traced_cases, cases,
        "both the due loop and the log follower"
    );

    // No span of the platforms' own work strays into the client's trace unasked: the
    // supervision platform's calls (the test's ListWarnings) are traces of their own.
    assert!(
        in_trace
            .iter()
            .all(|s| !s.span.name.ends_with("/ListWarnings")),
        "{in_trace:#?}"
    );
}
