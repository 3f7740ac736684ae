//! Positions in the two streams followers read (the record log and the warning stream), and
//! the opaque page tokens of keyset-paginated listings.
//!
//! A position is `(tx, n)`: on PostgreSQL `tx` is the id of the writing transaction and `n`
//! the row's sequence number, and rows are read in `(tx, n)` order only below the oldest
//! running transaction (docs/design.md §7: never skip a record). On SQLite writers are serialized,
//! so `tx` is 0 and `n` alone orders the stream.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, StoreError};

/// Why a position token did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {0} position token")]
pub struct ParsePositionError(&'static str);

macro_rules! position {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name {
            /// The writing transaction on PostgreSQL (0 on SQLite); orders first.
            tx: i64,
            /// The row's sequence number within the stream.
            n: i64,
        }

        impl $name {
            /// Before the first row: reading from here returns the whole stream.
            pub const START: $name = $name { tx: 0, n: 0 };

            pub(crate) fn new(tx: i64, n: i64) -> Self {
                $name { tx, n }
            }

            pub(crate) fn tx(self) -> i64 {
                self.tx
            }

            pub(crate) fn n(self) -> i64 {
                self.n
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}.{}"), self.tx, self.n)
            }
        }

        impl FromStr for $name {
            type Err = ParsePositionError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = ParsePositionError($what);
                let (tx, n) = s
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.split_once('.'))
                    .ok_or(err.clone())?;
                let tx = tx.parse::<i64>().map_err(|_| err.clone())?;
                let n = n.parse::<i64>().map_err(|_| err.clone())?;
                if tx < 0 || n < 0 {
                    return Err(err);
                }
                Ok($name { tx, n })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

position!(
    /// A position in the record log (see [`crate::Store::read_log`]). Opaque: compare,
    /// persist as its `Display` string, parse back with `FromStr`.
    LogPosition,
    "r",
    "log"
);

position!(
    /// A position in the warning stream (see [`crate::Store::read_warnings`]). Opaque like
    /// [`LogPosition`].
    WarningPosition,
    "w",
    "warning"
);

/// Page tokens: a kind letter, the hex of the last key of the previous page, `-`, and the tag
/// of the filters the page was listed with ([`filters_tag`]). Hex keeps the token URL-safe
/// whatever the key holds; the letter rejects a token of another listing, the tag a token
/// reused with other filters (the contract answers INVALID_ARGUMENT rather than apply a
/// position that meant something else). Warning lists page by [`WarningPosition`] instead
/// (their token is the position of the last warning listed, so a list and the stream are one
/// view), tagged the same way by [`tag_token`].
pub(crate) fn encode_token(kind: char, key: &str, tag: &str) -> String {
    let mut token = String::with_capacity(1 + 2 * key.len() + 1 + tag.len());
    token.push(kind);
    token.push_str(&crate::chain::hex(key.as_bytes()));
    tag_token(&token, tag)
}

/// The key of a page token made by [`encode_token`] with the same `kind` and filters `tag`.
pub(crate) fn decode_token(kind: char, token: &str, tag: &str) -> Result<String> {
    let (body, token_tag) = split_token(token)?;
    let hex = body
        .strip_prefix(kind)
        .ok_or(StoreError::InvalidPageToken)?;
    if hex.len() % 2 != 0 {
        return Err(StoreError::InvalidPageToken);
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(StoreError::InvalidPageToken)?;
    let key = String::from_utf8(bytes).map_err(|_| StoreError::InvalidPageToken)?;
    same_filters(token_tag, tag)?;
    Ok(key)
}

/// `body` with the filters `tag` appended.
pub(crate) fn tag_token(body: &str, tag: &str) -> String {
    format!("{body}-{tag}")
}

/// A token made by [`tag_token`], split into its body and its tag; the caller checks the body
/// (a token of another listing is [`StoreError::InvalidPageToken`]) before [`same_filters`].
pub(crate) fn split_token(token: &str) -> Result<(&str, &str)> {
    let (body, tag) = token.rsplit_once('-').ok_or(StoreError::InvalidPageToken)?;
    if tag.len() != 16 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::InvalidPageToken);
    }
    Ok((body, tag))
}

/// [`StoreError::PageTokenForOtherFilters`] unless a token's tag is this listing's `tag`.
pub(crate) fn same_filters(token_tag: &str, tag: &str) -> Result<()> {
    if token_tag == tag {
        Ok(())
    } else {
        Err(StoreError::PageTokenForOtherFilters)
    }
}

/// A short tag of a listing's filters (the first 8 bytes of the SHA-256 of their JSON, in
/// hex): equal filters, equal tags. Callers leave out what is not a filter (a listing's "now").
pub(crate) fn filters_tag(filters: &impl serde::Serialize) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(filters).unwrap_or_default();
    crate::chain::hex(&Sha256::digest(&json)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_order() {
        let a = LogPosition::new(7, 12);
        let b = LogPosition::new(8, 3);
        assert!(LogPosition::START < a && a < b);
        assert_eq!(a.to_string().parse::<LogPosition>(), Ok(a));
        assert!("w7.12".parse::<LogPosition>().is_err());
        assert!("r7".parse::<LogPosition>().is_err());
        assert!("r-1.2".parse::<LogPosition>().is_err());
        assert_eq!(
            WarningPosition::new(1, 2).to_string().parse(),
            Ok(WarningPosition::new(1, 2))
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_foreign_ones() {
        let tag = filters_tag(&("3301", 1));
        let token = encode_token('c', "3301/案件-1", &tag);
        assert_eq!(
            decode_token('c', &token, &tag).ok().as_deref(),
            Some("3301/案件-1")
        );
        assert!(decode_token('m', &token, &tag).is_err());
        assert!(decode_token('c', "c0", &tag).is_err());
        assert!(decode_token('c', "czz", &tag).is_err());
        assert!(decode_token('c', &format!("c30-{tag}"), &tag).is_ok());
    }

    #[test]
    fn a_token_of_other_filters_is_refused_as_such() {
        let mine = filters_tag(&("3301", 1));
        let other = filters_tag(&("3302", 1));
        assert_ne!(mine, other);
        let token = encode_token('c', "C-1", &mine);
        assert!(matches!(
            decode_token('c', &token, &other),
            Err(StoreError::PageTokenForOtherFilters)
        ));
        // A token of an older format (no tag) is simply not one of this server's.
        assert!(matches!(
            decode_token('c', "c432d31", &mine),
            Err(StoreError::InvalidPageToken)
        ));
    }
}
