//! `egov import FILE`: reads a JSON Lines file of case records, sends them through
//! `StreamRecords` grouped by case, with a progress bar, and reports every line that was not
//! stored by its number.
//!
//! The whole file is read first. Each line is parsed and validated here (the same checks as
//! the platform's): a line that is not JSON, not a `Record`, or a record with invalid fields is
//! rejected locally and never sent. The valid records are then sent grouped by case: all the
//! records of a case one after the other, cases in the order of their first line, a case's
//! records in file order. They are sent without waiting for each answer (up to [`WINDOW`] in
//! flight); the platform answers each record in sending order, and each record keeps its line
//! number, so answers are matched to lines by order. If the stream breaks, the unanswered
//! records are sent again on a new stream: a resend of the same `event_id` is answered
//! DUPLICATE, never stored twice. The report lists the rejected lines in line order.
//!
//! Why grouped: past cases (a backlog, a re-sync after an outage) have deadlines that passed
//! long ago. The approval platform judges a deadline that had already passed when a case was
//! written [`egov_approval::ingest::LATE_GRACE`] (3 s) after the case's last write, and every
//! new record of the case moves that instant again; a case whose records arrive close together
//! is therefore judged once complete (a case accepted in October and completed in November
//! raises no warning for the moment in between), and a case really left late is warned about a
//! few seconds after its last record. The grace counts time between one case's records as they
//! arrive: in a large file in time order, a case's first and last records can be many seconds
//! of streaming apart, and a case judged in between gets a warning its later records would
//! have prevented, and that warning stays. Sent grouped, a case's records arrive together,
//! moments apart at most (the platform's stream batches keep a run of one case's consecutive
//! records together), so a file may hold its records in any order.
//!
//! The price is memory: the file is held whole, as decoded records (about the size of the
//! file). A file too large for that can be imported in parts, one `egov import` each, split in
//! any way that keeps all the records of each case in one part (by case number, say); a split
//! by line count or by date can cut a case in two, and its first part is then judged alone.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::access::Authed;
use indicatif::ProgressBar;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

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

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let path = &args.file;
    let reader = lines::open(path)?;
    let mut approval = client::approval(&target).await?;
    // Its length is known once the file is read (in `import`).
    let progress = lines::progress_bar(0, "records");
    let report = import(&mut approval, &target, reader, &progress).await;
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

/// Reads every line of `reader`, then streams its valid records grouped by case (see the
/// module doc) and answers what became of each line.
pub async fn import(
    client: &mut ApprovalServiceClient<Authed>,
    target: &Target,
    reader: impl BufRead,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    progress.set_message("reading the file");
    let (records, mut report) = read(reader)?;
    progress.set_message("");
    progress.set_length(report.records as u64);
    progress.inc(report.rejected.len() as u64);
    // Not sent yet, in sending order; after a break, the unanswered records go back in front.
    let mut unsent: VecDeque<Pending> = group_by_case(records).into();
    // Sent and not yet answered, in sending order (the order of the answers).
    let mut pending: VecDeque<Pending> = VecDeque::new();
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
                    match unsent.pop_front() {
                        Some((line, record)) => {
                            permit.send(pb::StreamRecordsRequest { record: Some(record.clone()) });
                            pending.push_back((line, record));
                        }
                        None => {
                            drop(permit);
                            // Dropping the sender ends the request stream: the platform answers
                            // what is in flight, then closes its side.
                            tx = None;
                        }
                    }
                }
            }
        };
        let Some(status) = broken else {
            // Answers came in sending order, case by case; the report goes by line.
            report.rejected.sort_by_key(|r| r.line);
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
        // Unanswered records go first, in their order, ahead of those not sent yet.
        while let Some(p) = pending.pop_back() {
            unsent.push_front(p);
        }
        backoff(retries).await;
    }
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

/// Reads every line: the valid records in file order, and the report so far (lines counted,
/// lines rejected here).
fn read(reader: impl BufRead) -> anyhow::Result<(Vec<Pending>, Report)> {
    let mut report = Report::default();
    let mut source = lines::Lines::new(reader);
    let mut records = Vec::new();
    while let Some(line) = source.next_line()? {
        report.records += 1;
        match parse(&line) {
            Ok(record) => records.push((line.number, record)),
            Err(rejection) => report.rejected.push(rejection),
        }
    }
    report.skipped = source.skipped();
    Ok((records, report))
}

/// The records in sending order: each case's records together, cases in the order of their
/// first record, a case's records in their own order (a stable sort by the index of the
/// case's first appearance).
fn group_by_case(records: Vec<Pending>) -> Vec<Pending> {
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut keyed: Vec<(usize, Pending)> = records
        .into_iter()
        .map(|pending| {
            let case_no = &pending.1.case_no;
            let index = match first_seen.get(case_no) {
                Some(&index) => index,
                None => {
                    let index = first_seen.len();
                    first_seen.insert(case_no.clone(), index);
                    index
                }
            };
            (index, pending)
        })
        .collect();
    keyed.sort_by_key(|(index, _)| *index);
    keyed.into_iter().map(|(_, pending)| pending).collect()
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
            let event_id = serde_json::from_str::<serde_json::Value>(&line.text)
                .ok()
                .and_then(|value| lines::event_id_of(&value));
            return Err(reject(event_id, e.to_string()));
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
                .starts_with("line 7: event_id e-1: invalid field: bogus (is not a field"),
            "{r}"
        );

        let r = parse(&line(
            r#"{"eventId":"e-2","caseNo":"C-1","source":"s","acceptance":{"handler":"h"}}"#,
        ))
        .unwrap_err();
        assert!(r.to_string().contains("occurred_at"), "{r}");
        assert!(r.to_string().starts_with("line 7: event_id e-2: "), "{r}");
    }

    fn pending(line: usize, case_no: &str) -> Pending {
        let record = pb::Record {
            event_id: format!("e-{line}"),
            case_no: case_no.into(),
            ..Default::default()
        };
        (line, record)
    }

    #[test]
    fn records_are_sent_case_by_case_in_the_order_of_first_appearance() {
        // Case A's records at the top and the bottom, B and C in between.
        let file = [
            (1, "A"),
            (2, "B"),
            (3, "A"),
            (4, "C"),
            (5, "B"),
            (6, "C"),
            (9, "A"),
        ];
        let sent: Vec<(usize, String)> =
            group_by_case(file.iter().map(|&(l, c)| pending(l, c)).collect())
                .into_iter()
                .map(|(line, record)| (line, record.case_no))
                .collect();
        let expected: Vec<(usize, String)> = [
            (1, "A"),
            (3, "A"),
            (9, "A"),
            (2, "B"),
            (5, "B"),
            (4, "C"),
            (6, "C"),
        ]
        .iter()
        .map(|&(l, c)| (l, c.to_owned()))
        .collect();
        assert_eq!(sent, expected);
        // Each record keeps its line number (and the event id of that line).
        let again = group_by_case(file.iter().map(|&(l, c)| pending(l, c)).collect());
        assert!(
            again
                .iter()
                .all(|(line, r)| r.event_id == format!("e-{line}"))
        );
    }

    #[test]
    fn the_whole_file_is_read_and_bad_lines_reported_before_sending() {
        let text = concat!(
            "# a comment\n",
            r#"{"eventId":"e-1","caseNo":"C-1","occurredAt":"2026-11-02T09:00:00+08:00","source":"s","acceptance":{"handler":"h"}}"#,
            "\n{not json\n\n",
            r#"{"eventId":"e-2","caseNo":"C-2","occurredAt":"2026-11-02T09:00:00+08:00","source":"s","acceptance":{"handler":"h"}}"#,
            "\n",
        );
        let (records, report) = read(text.as_bytes()).unwrap();
        let lines: Vec<usize> = records.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 5]);
        assert_eq!((report.records, report.skipped), (3, 2));
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].line, 3);
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
