//! `egov import FILE`: streams case records from a JSON Lines file through `StreamRecords`,
//! with a progress bar, and reports every line that was not stored by its number.
//!
//! Each line is parsed and validated here first (the same checks as the platform's): a line
//! that is not JSON, not a `Record`, or a record with invalid fields is rejected locally and
//! never sent. The rest are sent without waiting for each answer (up to [`WINDOW`] in flight);
//! the platform answers each record in order, so answers are matched to lines by order. If
//! the stream breaks, the unanswered records are sent again on a new stream: a resend of the
//! same `event_id` is answered DUPLICATE, never stored twice.
//!
//! With `--by-case` the file is read whole, its records grouped by case, and whole cases are
//! sent per `SubmitRecords` call (up to 1000 records, one transaction each). That is for
//! history: a file of cases that are already over. Streamed in time order, a case's early
//! records are committed before its later ones, and the supervision platform, which judges
//! each case as it stands against the current time, rightly raises warnings for the moment in
//! between (a case accepted in October and completed in November is, until its completion
//! arrives, a case overdue today). Sent whole, each case is only ever seen complete.

use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use indicatif::ProgressBar;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::lines::{self, Line};
use crate::cli::ImportArgs;
use crate::client;
use crate::settings::Target;

/// Records sent but not yet answered, at most: enough to keep the platform's batches full
/// (it gathers up to 500 per transaction), small enough to resend cheaply after a break.
const WINDOW: usize = 2_000;
/// How often a broken stream is reopened before the import gives up.
const MAX_RETRIES: u32 = 5;

/// A line that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: usize,
    pub event_id: Option<String>,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event_id {
            Some(id) => write!(f, "line {}: event_id {id}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Record lines read (blank and comment lines not counted).
    pub records: usize,
    /// Blank and comment lines skipped.
    pub skipped: usize,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: Vec<Rejection>,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "{} stored, {} duplicates, {} rejected ({} record lines, {} blank or comment lines skipped)",
            self.stored,
            self.duplicates,
            self.rejected.len(),
            self.records,
            self.skipped
        )
    }

    /// The summary line, then each rejection on its own line.
    pub fn render(&self) -> String {
        let mut out = self.summary();
        out.push('\n');
        for r in &self.rejected {
            out.push_str("  ");
            out.push_str(&r.to_string());
            out.push('\n');
        }
        out
    }
}

/// How records travel to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `StreamRecords`, in file order: for feeds and re-syncs.
    Stream,
    /// `SubmitRecords` with whole cases per call: for files of past cases.
    ByCase,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let path = &args.file;
    let total = lines::count_records(path)?;
    let reader = lines::open(path)?;
    let mut approval = client::approval(&target).await?;
    let progress = lines::progress_bar(total as u64, "records");
    let mode = if args.by_case {
        Mode::ByCase
    } else {
        Mode::Stream
    };
    let report = import(&mut approval, &target, reader, &progress, mode).await;
    progress.finish_and_clear();
    let report = report?;
    println!("{}: {}", path.display(), report.render().trim_end());
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One record to send: its line, for the report, and the record, kept for a resend.
type Pending = (usize, pb::Record);

/// Sends every record of `reader` the way `mode` says and answers what became of each line.
pub async fn import(
    client: &mut ApprovalServiceClient<Channel>,
    target: &Target,
    reader: impl BufRead,
    progress: &ProgressBar,
    mode: Mode,
) -> anyhow::Result<Report> {
    match mode {
        Mode::Stream => stream_records(client, target, reader, progress).await,
        Mode::ByCase => submit_by_case(client, target, reader, progress).await,
    }
}

/// Streams every record of `reader` and answers what became of each line.
async fn stream_records(
    client: &mut ApprovalServiceClient<Channel>,
    target: &Target,
    reader: impl BufRead,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut source = lines::Lines::new(reader);
    let mut exhausted = false;
    // Sent and not yet answered, in sending order (the order of the answers).
    let mut pending: VecDeque<Pending> = VecDeque::new();
    // Unanswered records of a broken stream, to send first on the next one.
    let mut resend: VecDeque<Pending> = VecDeque::new();
    let mut retries = 0;
    loop {
        let (tx, rx) = mpsc::channel::<pb::StreamRecordsRequest>(256);
        let mut inbound = match client.stream_records(ReceiverStream::new(rx)).await {
            Ok(response) => response.into_inner(),
            Err(status) if client::is_transient(&status) && retries < MAX_RETRIES => {
                retries += 1;
                backoff(retries).await;
                continue;
            }
            Err(status) => return Err(client::call_failed(target, "importing records", status)),
        };
        let mut tx = Some(tx);
        let broken = loop {
            let can_send = tx.is_some() && pending.len() < WINDOW;
            tokio::select! {
                biased;
                answer = inbound.message() => match answer {
                    Ok(Some(answer)) => {
                        retries = 0;
                        let (line, record) = pending
                            .pop_front()
                            .ok_or_else(|| anyhow!("the platform answered a record that was not sent"))?;
                        let result = answer.result.unwrap_or_default();
                        if result.event_id != record.event_id {
                            bail!(
                                "line {line}: the platform answered event_id {:?} for {:?}; \
                                 answers are out of order",
                                result.event_id,
                                record.event_id
                            );
                        }
                        count(&mut report, line, result);
                        progress.inc(1);
                    }
                    Ok(None) if pending.is_empty() && tx.is_none() => break None,
                    Ok(None) => break Some(tonic::Status::unavailable("the stream ended early")),
                    Err(status) => break Some(status),
                },
                permit = reserve(tx.clone()), if can_send => {
                    let permit = permit?;
                    let next = match resend.pop_front() {
                        Some(p) => Some(p),
                        None if exhausted => None,
                        None => next_record(&mut source, &mut report, progress)?,
                    };
                    match next {
                        Some((line, record)) => {
                            permit.send(pb::StreamRecordsRequest { record: Some(record.clone()) });
                            pending.push_back((line, record));
                        }
                        None => {
                            drop(permit);
                            exhausted = true;
                            // Dropping the sender ends the request stream: the platform answers
                            // what is in flight, then closes its side.
                            tx = None;
                        }
                    }
                }
            }
        };
        let Some(status) = broken else {
            report.skipped = source.skipped();
            return Ok(report);
        };
        if !client::is_transient(&status) || retries >= MAX_RETRIES {
            return Err(client::call_failed(target, "importing records", status));
        }
        retries += 1;
        tracing::warn!(
            unanswered = pending.len(),
            %status,
            "the record stream broke; sending the unanswered records again"
        );
        // Unanswered records go first, in their order, ahead of any still waiting to resend.
        while let Some(p) = pending.pop_back() {
            resend.push_front(p);
        }
        backoff(retries).await;
    }
}

/// Most records per `SubmitRecords` call (the platform's limit).
const MAX_CALL: usize = 1000;

/// Reads every line, groups the valid records by case (in file order within a case), and
/// submits whole cases per call; a case of more than [`MAX_CALL`] records is split.
async fn submit_by_case(
    client: &mut ApprovalServiceClient<Channel>,
    target: &Target,
    reader: impl BufRead,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut source = lines::Lines::new(reader);
    let mut order: Vec<String> = Vec::new();
    let mut cases: std::collections::HashMap<String, Vec<Pending>> = Default::default();
    while let Some((line, record)) = next_record(&mut source, &mut report, progress)? {
        let records = cases.entry(record.case_no.clone()).or_insert_with(|| {
            order.push(record.case_no.clone());
            Vec::new()
        });
        records.push((line, record));
    }
    report.skipped = source.skipped();
    let mut call: Vec<Pending> = Vec::with_capacity(MAX_CALL);
    for case_no in &order {
        let records = cases.remove(case_no).unwrap_or_default();
        if call.len() + records.len() > MAX_CALL && !call.is_empty() {
            submit(
                client,
                target,
                std::mem::take(&mut call),
                &mut report,
                progress,
            )
            .await?;
        }
        if records.len() > MAX_CALL {
            tracing::warn!(%case_no, records = records.len(), "a case too large for one call is sent in parts");
        }
        for chunk in records.chunks(MAX_CALL) {
            call.extend_from_slice(chunk);
            if call.len() >= MAX_CALL {
                submit(
                    client,
                    target,
                    std::mem::take(&mut call),
                    &mut report,
                    progress,
                )
                .await?;
            }
        }
    }
    if !call.is_empty() {
        submit(client, target, call, &mut report, progress).await?;
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

/// One `SubmitRecords` call, retried on transient failures (a resend is answered DUPLICATE).
async fn submit(
    client: &mut ApprovalServiceClient<Channel>,
    target: &Target,
    call: Vec<Pending>,
    report: &mut Report,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let (lines, records): (Vec<usize>, Vec<pb::Record>) = call.into_iter().unzip();
    let mut retries = 0;
    let results = loop {
        let request = pb::SubmitRecordsRequest {
            records: records.clone(),
        };
        match client.submit_records(request).await {
            Ok(response) => break response.into_inner().results,
            Err(status) if client::is_transient(&status) && retries < MAX_RETRIES => {
                retries += 1;
                tracing::warn!(%status, "submitting records failed; retrying");
                backoff(retries).await;
            }
            Err(status) => return Err(client::call_failed(target, "importing records", status)),
        }
    };
    if results.len() != lines.len() {
        bail!(
            "the platform answered {} results for {} records",
            results.len(),
            lines.len()
        );
    }
    for (line, result) in lines.into_iter().zip(results) {
        count(report, line, result);
        progress.inc(1);
    }
    Ok(())
}

/// A permit to send on `tx`, or never when the request stream is closed (the select branch is
/// disabled then, but its future is still built). The permit owns a clone of the sender, so
/// the loop may close its own while holding one.
async fn reserve(
    tx: Option<mpsc::Sender<pb::StreamRecordsRequest>>,
) -> anyhow::Result<mpsc::OwnedPermit<pb::StreamRecordsRequest>> {
    match tx {
        Some(tx) => tx
            .reserve_owned()
            .await
            .map_err(|_| anyhow!("the record stream closed while sending")),
        None => std::future::pending().await,
    }
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
}

/// The next record to send, after reporting (and counting) the lines rejected before it.
fn next_record(
    source: &mut lines::Lines<impl BufRead>,
    report: &mut Report,
    progress: &ProgressBar,
) -> anyhow::Result<Option<Pending>> {
    while let Some(line) = source.next_line()? {
        report.records += 1;
        match parse(&line) {
            Ok(record) => return Ok(Some((line.number, record))),
            Err(rejection) => {
                report.rejected.push(rejection);
                progress.inc(1);
            }
        }
    }
    Ok(None)
}

/// Parses and validates one line as the platform would, so nothing invalid is sent.
fn parse(line: &Line) -> Result<pb::Record, Rejection> {
    let reject = |event_id, reason| Rejection {
        line: line.number,
        event_id,
        reason,
    };
    let record = match egov_proto::json::parse_record_line(&line.text) {
        Ok(record) => record,
        Err(e) => {
            return Err(
                match serde_json::from_str::<serde_json::Value>(&line.text) {
                    Err(_) => reject(None, format!("not valid JSON: {e}")),
                    Ok(value) => reject(
                        lines::event_id_of(&value),
                        format!("not a valid Record: {e}"),
                    ),
                },
            );
        }
    };
    let event_id = (!record.event_id.is_empty()).then(|| record.event_id.clone());
    match egov_approval::service::validate_record(record.clone()) {
        Ok(_) => Ok(record),
        Err(e) => Err(reject(event_id, e.message)),
    }
}

fn count(report: &mut Report, line: usize, result: pb::RecordResult) {
    match pb::RecordStatus::try_from(result.status) {
        Ok(pb::RecordStatus::Stored) => report.stored += 1,
        Ok(pb::RecordStatus::Duplicate) => report.duplicates += 1,
        _ => {
            let reason = result.error.map_or_else(
                || format!("not stored (status {})", result.status),
                |e| e.message,
            );
            report.rejected.push(Rejection {
                line,
                event_id: Some(result.event_id),
                reason,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            number: 7,
            text: text.into(),
        }
    }

    #[test]
    fn bad_lines_are_named_with_their_reason() {
        let r = parse(&line("{not json")).unwrap_err();
        assert_eq!(r.line, 7);
        assert!(r.to_string().starts_with("line 7: not valid JSON"), "{r}");

        let r = parse(&line(r#"{"eventId":"e-1","caseNo":"C-1","bogus":1}"#)).unwrap_err();
        assert!(
            r.to_string()
                .starts_with("line 7: event_id e-1: not a valid Record"),
            "{r}"
        );

        let r = parse(&line(
            r#"{"eventId":"e-2","caseNo":"C-1","source":"s","acceptance":{"handler":"h"}}"#,
        ))
        .unwrap_err();
        assert!(r.to_string().contains("occurred_at"), "{r}");
        assert!(r.to_string().starts_with("line 7: event_id e-2: "), "{r}");
    }

    #[test]
    fn a_valid_line_is_sent() {
        let record = parse(&line(
            r#"{"eventId":"e-3","caseNo":"C-1","occurredAt":"2026-11-02T09:00:00+08:00","source":"s","acceptance":{"handler":"h"}}"#,
        ))
        .unwrap();
        assert_eq!(record.event_id, "e-3");
    }
}
