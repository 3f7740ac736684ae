//! The hash chain that makes the record log tamper-evident (docs/design.md §7: a changed or deleted
//! record is detected): how a record's hash is computed and how a case's chain is verified.
//!
//! Each record's hash is SHA-256 over a version tag and the fields (prev_hash, event_id,
//! case_no, occurred_at as RFC 3339 UTC with microseconds, source, kind, body as the stored
//! compact JSON text), each preceded by its length as 8 bytes big-endian, so no two different
//! field lists hash the same bytes. The body is hashed exactly as stored, so verification does
//! not depend on how a JSON library orders keys. `seq` and `received_at` are assigned by the
//! store and not covered.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Tags the hash layout, so a future layout can coexist with this one.
const LAYOUT: &str = "egov.record.v1";

/// The hex SHA-256 of one record, given the hash of the case's previous record (`""` for the
/// first) and the record's body as compact JSON text.
pub fn record_hash(
    prev_hash: &str,
    event_id: &str,
    case_no: &str,
    occurred_at: DateTime<Utc>,
    source: &str,
    kind: &str,
    body_json: &str,
) -> String {
    let occurred_at = occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    fields_hash(&[
        Some(LAYOUT),
        Some(prev_hash),
        Some(event_id),
        Some(case_no),
        Some(&occurred_at),
        Some(source),
        Some(kind),
        Some(body_json),
    ])
}

/// The hex SHA-256 of a list of fields, each preceded by its length as 8 bytes big-endian (an
/// absent field by `u64::MAX`, which no present field's length can be), so no two different
/// field lists hash the same bytes. The one canonical encoding of both chains (the record log
/// here, the audit log in `crate::audit`).
pub(crate) fn fields_hash(fields: &[Option<&str>]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        match field {
            Some(field) => {
                hasher.update((field.len() as u64).to_be_bytes());
                hasher.update(field.as_bytes());
            }
            None => hasher.update(u64::MAX.to_be_bytes()),
        }
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The outcome of [`crate::Store::verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// The case verified.
    pub case_no: String,
    /// How many records the case has now.
    pub records: u64,
    /// The first place the chain does not hold, `None` when it is intact.
    pub broken: Option<ChainBreak>,
}

impl ChainReport {
    /// Whether every record matches its hash and links to its predecessor, and the case's head
    /// matches the last record.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The first record (in log order) that fails; `None` when every stored record chains but
    /// the case's head does not match the last one (records at the end were deleted).
    pub seq: Option<i64>,
    /// That record's `event_id` (`None` with `seq`).
    pub event_id: Option<String>,
    /// What fails there.
    pub kind: ChainBreakKind,
}

/// What a [`ChainBreak`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainBreakKind {
    /// The record's content no longer hashes to its stored hash: changed in place.
    ContentChanged,
    /// The record does not link to the record before it: a record was deleted before it, or
    /// records were reordered.
    LinkBroken,
    /// The case's stored head hash or record count does not match the log: records at the end
    /// were deleted (or the case row was changed).
    HeadMismatch,
}

impl std::fmt::Display for ChainBreakKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChainBreakKind::ContentChanged => {
                "content changed: the record no longer hashes to its stored hash"
            }
            ChainBreakKind::LinkBroken => {
                "link broken: the record does not link to the record before it (one deleted or reordered)"
            }
            ChainBreakKind::HeadMismatch => {
                "head mismatch: the case's head does not match its last record (records at the end deleted)"
            }
        })
    }
}

/// What verification needs of one stored record.
#[derive(Debug)]
pub(crate) struct Link<'a> {
    pub seq: i64,
    pub event_id: &'a str,
    pub case_no: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub source: &'a str,
    pub kind: &'a str,
    pub body_json: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Verifies a case's records (in log order) against the case's head hash and version.
pub(crate) fn verify<'a>(
    case_no: &str,
    head_hash: &str,
    version: i64,
    links: impl IntoIterator<Item = Link<'a>>,
) -> ChainReport {
    let mut expected_prev = String::new();
    let mut records = 0u64;
    let mut broken = None;
    for link in links {
        records += 1;
        if broken.is_some() {
            continue;
        }
        let recomputed = record_hash(
            link.prev_hash,
            link.event_id,
            link.case_no,
            link.occurred_at,
            link.source,
            link.kind,
            link.body_json,
        );
        let kind = if link.prev_hash != expected_prev {
            Some(ChainBreakKind::LinkBroken)
        } else if recomputed != link.hash {
            Some(ChainBreakKind::ContentChanged)
        } else {
            None
        };
        if let Some(kind) = kind {
            broken = Some(ChainBreak {
                seq: Some(link.seq),
                event_id: Some(link.event_id.to_owned()),
                kind,
            });
        }
        expected_prev = link.hash.to_owned();
    }
    if broken.is_none() && (expected_prev != head_hash || i64::try_from(records) != Ok(version)) {
        broken = Some(ChainBreak {
            seq: None,
            event_id: None,
            kind: ChainBreakKind::HeadMismatch,
        });
    }
    ChainReport {
        case_no: case_no.to_owned(),
        records,
        broken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_encodes_lower_case() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn fields_cannot_run_together() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let a = record_hash("", "ab", "c", t, "s", "k", "{}");
        let b = record_hash("", "a", "bc", t, "s", "k", "{}");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(a, record_hash("", "ab", "c", t, "s", "k", "{}"));
    }
}
