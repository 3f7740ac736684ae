//! Commit planning: what a commit can check without the database, and what it writes
//! (inserts, updates, records and due instants) from the writes and the stored case heads.

use super::*;

/// Checks what a commit can check without the database.
pub(super) fn validate_writes(writes: &[CaseWrite]) -> Result<()> {
    let mut event_ids = HashSet::new();
    for w in writes {
        let case_no = &w.case.case_no;
        let mut clocks = HashSet::new();
        for r in &w.records {
            if &r.case_no != case_no {
                return Err(StoreError::InvalidInput(
                    format!(
                        "record {:?} belongs to case {:?} but is written with case {case_no:?}",
                        r.event_id, r.case_no
                    )
                    .into(),
                ));
            }
            if !event_ids.insert(r.event_id.as_str()) {
                return Err(conflict(case_no));
            }
        }
        if let Some(x) = w.warnings.iter().find(|x| &x.case_no != case_no) {
            return Err(StoreError::InvalidInput(
                format!(
                    "warning {:?} of case {:?} is written with case {case_no:?}",
                    x.rule, x.case_no
                )
                .into(),
            ));
        }
        for d in &w.due {
            if &d.case_no != case_no {
                return Err(StoreError::InvalidInput(
                    format!(
                        "due instant {:?} of case {:?} is written with case {case_no:?}",
                        d.clock, d.case_no
                    )
                    .into(),
                ));
            }
            if !clocks.insert(d.clock.as_str()) {
                return Err(StoreError::InvalidInput(
                    format!("case {case_no:?} lists clock {:?} twice", d.clock).into(),
                ));
            }
        }
    }
    Ok(())
}

/// What a commit writes, computed from the writes and the stored case heads.
#[derive(Debug)]
pub(super) struct CommitPlan<'a> {
    pub(super) inserts: Vec<CaseIns<'a>>,
    pub(super) updates: Vec<CaseIns<'a>>,
    pub(super) records: Vec<RecordIns<'a>>,
    pub(super) due: Vec<DueInstant>,
}

/// A case's version and chain head as a commit proceeds through its writes.
#[derive(Debug)]
pub(super) struct Head {
    /// The version it has now; `None` while it does not exist.
    version: Option<i64>,
    last_hash: String,
    /// The version stored before this commit (what the UPDATE must still find).
    stored: Option<i64>,
    /// The last write of this case in the commit.
    last_write: usize,
}

pub(super) fn plan_commit(
    writes: &[CaseWrite],
    stored: Vec<(String, i64, String)>,
) -> Result<CommitPlan<'_>> {
    let mut heads: HashMap<&str, Head> = HashMap::new();
    let stored: HashMap<String, (i64, String)> = stored
        .into_iter()
        .map(|(case_no, version, last_hash)| (case_no, (version, last_hash)))
        .collect();
    let mut records = Vec::with_capacity(writes.iter().map(|w| w.records.len()).sum());
    for (i, w) in writes.iter().enumerate() {
        let case_no = w.case.case_no.as_str();
        let head = heads
            .entry(case_no)
            .or_insert_with(|| match stored.get(case_no) {
                Some((version, last_hash)) => Head {
                    version: Some(*version),
                    last_hash: last_hash.clone(),
                    stored: Some(*version),
                    last_write: i,
                },
                None => Head {
                    version: None,
                    last_hash: String::new(),
                    stored: None,
                    last_write: i,
                },
            });
        if head.version != w.expected_version {
            return Err(conflict(case_no));
        }
        for r in &w.records {
            let occurred_at = micros(r.occurred_at);
            let body = json_text(&r.body);
            let hash = chain::record_hash(
                &head.last_hash,
                &r.event_id,
                &r.case_no,
                occurred_at,
                &r.source,
                &r.kind,
                &body,
            );
            let prev_hash = std::mem::replace(&mut head.last_hash, hash.clone());
            records.push(RecordIns {
                event_id: &r.event_id,
                case_no: &r.case_no,
                occurred_at,
                source: &r.source,
                kind: &r.kind,
                body,
                prev_hash,
                hash,
            });
        }
        let added = i64::try_from(w.records.len()).unwrap_or(i64::MAX);
        head.version = Some(w.expected_version.unwrap_or(0).saturating_add(added));
        head.last_write = i;
    }
    // Cases in key order, so concurrent commits touch index entries in the same order.
    let mut heads: Vec<(&str, Head)> = heads.into_iter().collect();
    heads.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut plan = CommitPlan {
        inserts: Vec::new(),
        updates: Vec::new(),
        records,
        due: Vec::new(),
    };
    for (_, head) in heads {
        let w = &writes[head.last_write];
        let c = &w.case;
        let row = CaseIns {
            case_no: &c.case_no,
            matter_code: &c.matter_code,
            department: &c.department,
            region: &c.region,
            state: &c.state,
            opened_at: micros(c.opened_at),
            updated_at: micros(c.updated_at),
            version: head.version.unwrap_or(0),
            next_due_at: c.next_due_at.map(micros),
            overdue: c.overdue,
            provisional: c.provisional,
            view: json_text(&c.view),
            last_hash: head.last_hash,
            expected: head.stored.unwrap_or(0),
        };
        plan.due.extend(w.due.iter().map(|d| DueInstant {
            due_at: micros(d.due_at),
            ..d.clone()
        }));
        match head.stored {
            None => plan.inserts.push(row),
            Some(_) => plan.updates.push(row),
        }
    }
    Ok(plan)
}

pub(super) fn conflict(case_no: &str) -> StoreError {
    StoreError::Conflict {
        case_no: case_no.to_owned(),
    }
}

/// The records of a successful commit as stored, in input order (`planned` is in the same
/// order as the writes' records).
pub(super) fn stored_records(
    writes: &[CaseWrite],
    planned: Vec<RecordIns<'_>>,
    received_at: DateTime<Utc>,
    seqs: &HashMap<String, i64>,
) -> Result<Vec<StoredRecord>> {
    writes
        .iter()
        .flat_map(|w| &w.records)
        .zip(planned)
        .map(|(r, p)| {
            let seq = *seqs
                .get(p.event_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no seq for {:?}", p.event_id)))?;
            Ok(StoredRecord {
                seq,
                event_id: r.event_id.clone(),
                case_no: r.case_no.clone(),
                occurred_at: p.occurred_at,
                received_at,
                source: r.source.clone(),
                kind: r.kind.clone(),
                body: r.body.clone(),
                prev_hash: p.prev_hash,
                hash: p.hash,
            })
        })
        .collect()
}
