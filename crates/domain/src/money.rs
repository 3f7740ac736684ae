//! Money as an integer number of fen (1/100 yuan): fees are compared with catalogue amounts to
//! the fen, so floating point never touches them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A non-negative amount of money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Fen(i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn new(amount: i64) -> Result<Self, FieldError> {
        if amount < 0 {
            return Err(FieldError::new("amount_fen", "must not be negative"));
        }
        Ok(Self(amount))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Fen {
    type Error = FieldError;
    fn try_from(value: i64) -> Result<Self, FieldError> {
        Self::new(value)
    }
}

impl From<Fen> for i64 {
    fn from(value: Fen) -> i64 {
        value.0
    }
}

impl fmt::Display for Fen {
    /// Yuan with two decimals, the way a receipt shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_refuses_negative_amounts_and_prints_as_yuan() {
        assert!(Fen::new(-1).is_err());
        assert_eq!(Fen::new(12_345).unwrap().to_string(), "¥123.45");
        assert_eq!(Fen::ZERO.to_string(), "¥0.00");
    }
}
