//! Field-level validation errors shared by every domain value that validates on creation.

use std::fmt;

/// One invalid field: its dotted path in the record contract (`acceptance.handler`) and why.
///
/// Kept as data, not prose, so adapters can turn a list of them into a per-field report
/// (gRPC `BadRequest` details, an import summary line) without parsing messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, relative to the message that was validated.
    pub field: String,
    /// Why the value was refused, phrased for the person who sent it.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error seen from an enclosing message: `handler` becomes `acceptance.handler`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}
