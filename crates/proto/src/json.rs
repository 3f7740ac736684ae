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
    Json(#[from] JsonLineError),
    /// Well-formed, but fields are invalid; every one is listed with its path.
    #[error(transparent)]
    Invalid(#[from] FieldViolations),
}

/// Where and why a line is not the protobuf JSON of its message, told as the gRPC answers tell
/// a bad field: the dotted path in the contract's field names (`application.channel`,
/// `step_limits[2].days`; empty when the line as a whole is wrong) and the reason, without the
/// parser's "at line 1 column 100" (a file's line number is the reader's to give).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct JsonLineError {
    /// The dotted path of the field where reading stopped; empty at the top of the line.
    pub path: String,
    /// What is wrong there.
    pub reason: String,
    /// The column (in characters, from 1) where reading stopped.
    pub column: usize,
    /// Not JSON at all (rather than JSON of another shape).
    pub syntax: bool,
}

impl JsonLineError {
    fn describe(&self) -> String {
        match (self.syntax, self.path.is_empty()) {
            (true, true) => format!("not valid JSON (column {}): {}", self.column, self.reason),
            (true, false) => format!(
                "not valid JSON in {} (column {}): {}",
                self.path, self.column, self.reason
            ),
            (false, true) => self.reason.clone(),
            (false, false) => format!("invalid field: {} ({})", self.path, self.reason),
        }
    }
}

/// Parses one line of a JSON Lines file into `T`, naming where it went wrong. `what` names one
/// item (`record`, `matter`), for a file that holds a JSON array of them instead of one a line.
fn read_line<T: serde::de::DeserializeOwned>(line: &str, what: &str) -> Result<T, JsonLineError> {
    if line.trim_start().starts_with('[') {
        return Err(JsonLineError {
            path: String::new(),
            reason: format!(
                "a JSON array, where one {what} per line is expected (JSON Lines: each line one \
                 JSON object; `jq -c '.[]' FILE` turns an array into lines)"
            ),
            column: 1,
            syntax: false,
        });
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(if path == "." { "" } else { &path }, e.inner())
    })?;
    de.end().map_err(|e| json_error("", &e))?;
    Ok(value)
}

fn json_error(path: &str, e: &serde_json::Error) -> JsonLineError {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let reason = text.strip_suffix(&position).unwrap_or(&text);
    // A field given twice or not in the message: the error is the object's, the field its own.
    let (path, reason) = match field_named(reason, "duplicate field `") {
        Some(field) => (join(path, field), "is given twice".to_owned()),
        None => match field_named(reason, "unknown field `") {
            Some(field) => (
                join(path, field),
                format!(
                    "is not a field of this message{}",
                    reason
                        .split_once("`,")
                        .map_or(String::new(), |(_, expected)| format!(",{expected}"))
                ),
            ),
            None => (path.to_owned(), reason.to_owned()),
        },
    };
    JsonLineError {
        path: contract_path(&path),
        reason,
        column: e.column(),
        syntax: e.is_syntax() || e.is_eof(),
    }
}

/// The field a serde message of the kind `prefix` names: `duplicate field `withdrawal``.
fn field_named<'a>(reason: &'a str, prefix: &str) -> Option<&'a str> {
    reason.strip_prefix(prefix)?.split('`').next()
}

/// `path.field`, unless `path` already ends at the field (an unknown key is in the path).
fn join(path: &str, field: &str) -> String {
    if path == field || path.ends_with(&format!(".{field}")) {
        path.to_owned()
    } else if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// A path in JSON names (`stepLimits[2].days`) in the contract's field names
/// (`step_limits[2].days`): protobuf JSON names are the fields' names in lowerCamelCase.
fn contract_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses one line (leading and trailing blanks allowed) into a wire `Record`.
pub fn parse_record_line(line: &str) -> Result<v1::Record, JsonLineError> {
    read_line(line, "record")
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
pub fn parse_matter_line(line: &str) -> Result<v1::Matter, JsonLineError> {
    read_line(line, "matter")
}

/// Parses one line of a catalogue file into a domain matter.
pub fn decode_matter_line(line: &str) -> Result<egov_domain::matter::Matter, LineError> {
    Ok(parse_matter_line(line)?.try_into()?)
}

/// One line (without the newline) for a wire `Matter`.
pub fn matter_line(matter: &v1::Matter) -> Result<String, serde_json::Error> {
    serde_json::to_string(matter)
}
