//! The file format of bulk import and export (docs/design.md §6): JSON Lines, one message per line,
//! in the canonical protobuf JSON mapping of [`approval::v1::Record`] (or [`approval::v1::Matter`]
//! for catalogue files), so a file and the gRPC stream carry exactly the same thing.
//!
//! The mapping is pbjson's: on output, lowerCamelCase field names (`eventId`, `occurredAt`),
//! fields at their default value left out, enums by value name (`CHANNEL_WINDOW`), int64 as a
//! string (`"amountFen":"5000"`), Timestamps as RFC 3339 (`"2024-02-08T01:00:00+00:00"`). On
//! input both `event_id` and `eventId` spellings are accepted, int64 as a string or a number,
//! and any RFC 3339 offset; unknown fields are refused, so a misspelt field name is an error
//! rather than silently lost data.
//!
//! ```
//! let line = r#"{"eventId":"e-1","caseNo":"C-1","occurredAt":"2024-02-08T09:00:00+08:00",
//!   "source":"window-7","acceptance":{"handler":"h-1"}}"#;
//! let wire = egov_proto::json::parse_record_line(line).unwrap();
//! let record = egov_domain::record::Record::try_from(wire).unwrap();
//! assert_eq!(record.kind().as_str(), "acceptance");
//! ```
//!
//! [`approval::v1::Record`]: crate::approval::v1::Record
//! [`approval::v1::Matter`]: crate::approval::v1::Matter

use crate::approval::v1;
use crate::convert::FieldViolations;

/// Why one line of a bulk file could not be turned into a domain value.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not JSON, or JSON that is not the protobuf JSON of the expected message (an unknown
    /// field, a wrong type, an unknown enum name, two bodies).
    #[error("not a valid line: {0}")]
    Json(#[from] serde_json::Error),
    /// Well-formed, but fields are invalid; every one is listed with its path.
    #[error(transparent)]
    Invalid(#[from] FieldViolations),
}

/// Parses one line (leading and trailing blanks allowed) into a wire `Record`.
pub fn parse_record_line(line: &str) -> Result<v1::Record, serde_json::Error> {
    serde_json::from_str(line)
}

/// Parses one line into a domain record: [`parse_record_line`], then the checked conversion.
pub fn decode_record_line(line: &str) -> Result<egov_domain::record::Record, LineError> {
    Ok(parse_record_line(line)?.try_into()?)
}

/// One line (without the newline) for a wire `Record`.
///
/// Fails only for a Timestamp outside years 1 to 9999, which a record converted from the domain
/// never holds.
pub fn record_line(record: &v1::Record) -> Result<String, serde_json::Error> {
    serde_json::to_string(record)
}

/// One line (without the newline) for a domain record.
pub fn encode_record_line(
    record: &egov_domain::record::Record,
) -> Result<String, serde_json::Error> {
    record_line(&v1::Record::from(record))
}

/// Parses one line of a catalogue file into a wire `Matter`.
pub fn parse_matter_line(line: &str) -> Result<v1::Matter, serde_json::Error> {
    serde_json::from_str(line)
}

/// Parses one line of a catalogue file into a domain matter.
pub fn decode_matter_line(line: &str) -> Result<egov_domain::matter::Matter, LineError> {
    Ok(parse_matter_line(line)?.try_into()?)
}

/// One line (without the newline) for a wire `Matter`.
pub fn matter_line(matter: &v1::Matter) -> Result<String, serde_json::Error> {
    serde_json::to_string(matter)
}
