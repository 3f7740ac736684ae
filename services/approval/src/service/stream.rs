//! The record stream pipeline (`StreamRecords`): batches stored with a few in flight, a
//! case's records admitted in the order they were sent, acknowledgements in that order.

use super::*;

/// A batch of a record stream being stored.
pub(super) struct InFlight {
    cases: HashSet<String>,
    handle: tokio::task::JoinHandle<Result<Vec<pb::RecordResult>, ApiError>>,
}

pub(super) type Acks = mpsc::Sender<Result<pb::StreamRecordsResponse, Status>>;

impl Approval {
    /// Stores a record stream batch by batch, with up to [`STREAM_IN_FLIGHT`] batches in
    /// flight: the next batch is planned while the previous one commits. A batch that shares a
    /// case with one in flight waits for it, so a case's records are admitted in the order
    /// they were sent; acknowledgements leave in that order too.
    pub(super) async fn pipeline(
        self,
        mut inbound: mpsc::Receiver<Result<pb::StreamRecordsRequest, Status>>,
        acks: Acks,
    ) {
        let mut queue: VecDeque<InFlight> = VecDeque::new();
        // A message taken from the channel that belongs to the next batch.
        let mut carry: Option<Result<pb::StreamRecordsRequest, Status>> = None;
        // Why the client's side of the stream broke (an undecodable message): the stream ends
        // with it once everything before it is stored and acknowledged, never with OK.
        let mut ended_by: Option<Status> = None;
        loop {
            let first = match carry.take() {
                Some(m) => Some(m),
                None => tokio::select! {
                    biased;
                    done = async { (&mut queue.front_mut().expect("guarded").handle).await },
                        if !queue.is_empty() =>
                    {
                        queue.pop_front();
                        if !send_acks(done, &acks).await {
                            return;
                        }
                        continue;
                    }
                    m = inbound.recv() => m,
                },
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            // Take what has arrived, up to a full batch; past that, finish the run of the last
            // case, so that consecutive batches of a stream sent case by case share no case
            // and can be stored concurrently.
            while let Ok(m) = inbound.try_recv() {
                if batch.len() >= STREAM_BATCH && case_of(&m) != batch.last().and_then(case_of) {
                    carry = Some(m);
                    break;
                }
                batch.push(m);
                if batch.len() >= 2 * STREAM_BATCH {
                    break;
                }
            }
            let mut records = Vec::with_capacity(batch.len());
            let mut failed = None;
            for m in batch {
                match m {
                    Ok(m) => records.push(m.record.unwrap_or_default()),
                    Err(status) => {
                        failed = Some(status);
                        break;
                    }
                }
            }
            if !records.is_empty() {
                let cases: HashSet<String> = records.iter().map(|r| r.case_no.clone()).collect();
                // Wait for every batch up to the last one sharing a case, and keep at most
                // STREAM_IN_FLIGHT running.
                let wait_for = queue
                    .iter()
                    .rposition(|f| !f.cases.is_disjoint(&cases))
                    .map_or(0, |i| i + 1)
                    .max((queue.len() + 1).saturating_sub(STREAM_IN_FLIGHT));
                for _ in 0..wait_for {
                    let f = queue.pop_front().expect("counted");
                    if !send_acks(f.handle.await, &acks).await {
                        return;
                    }
                }
                let this = self.clone();
                queue.push_back(InFlight {
                    cases,
                    handle: self.tasks.spawn(async move { this.submit(records).await }),
                });
            }
            if let Some(status) = failed {
                tracing::debug!(%status, "record stream ended by the client's error");
                ended_by = Some(status);
                break;
            }
        }
        while let Some(f) = queue.pop_front() {
            if !send_acks(f.handle.await, &acks).await {
                return;
            }
        }
        if let Some(status) = ended_by {
            let _ = acks.send(Err(status)).await;
        }
    }
}

/// What ends a record stream when its inbound side fails. An undecodable message is already
/// INVALID_ARGUMENT (`egov_proto::codec`); tonic's own framing errors (a truncated last frame,
/// a bad compression flag) come as INTERNAL, but they too are the sender's fault; an oversized
/// message is RESOURCE_EXHAUSTED (tonic says OUT_OF_RANGE).
pub(super) fn client_fault(status: Status) -> Status {
    let status = egov_runtime::error::message_too_large(status);
    if status.code() == tonic::Code::Internal {
        Status::invalid_argument(format!(
            "the record stream cannot be read on: {}",
            limits::shown_raw(status.message())
        ))
    } else {
        status
    }
}

pub(super) fn case_of(m: &Result<pb::StreamRecordsRequest, Status>) -> Option<&str> {
    m.as_ref()
        .ok()
        .and_then(|m| m.record.as_ref())
        .map(|r| r.case_no.as_str())
}

/// Sends a batch's acknowledgements; false when the stream is over (client gone or error).
pub(super) async fn send_acks(
    done: Result<Result<Vec<pb::RecordResult>, ApiError>, tokio::task::JoinError>,
    acks: &Acks,
) -> bool {
    let results = match done {
        Ok(Ok(results)) => results,
        Ok(Err(e)) => {
            let _ = acks.send(Err(e.into())).await;
            return false;
        }
        Err(join) => {
            tracing::error!(error = %join, "a record batch task failed");
            let _ = acks.send(Err(Status::internal("internal error"))).await;
            return false;
        }
    };
    for result in results {
        let ack = pb::StreamRecordsResponse {
            result: Some(result),
        };
        if acks.send(Ok(ack)).await.is_err() {
            return false;
        }
    }
    true
}
