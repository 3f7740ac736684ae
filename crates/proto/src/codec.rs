//! The gRPC codec of every egov service: prost's, except that a message that cannot be decoded
//! (invalid UTF-8 in a `string`, a truncated field, a group, a wrong wire type) is the sender's
//! fault and answered INVALID_ARGUMENT naming the field, where prost's codec says INTERNAL
//! (which clients read as "the server is broken" and may retry forever).
//!
//! `build.rs` generates the servers and clients with [`Codec`]. On a client the same mapping
//! applies to an undecodable answer; a client of egov never meets one from an egov server.

use std::marker::PhantomData;

use egov_domain::error::FieldError;
use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, DecodeBuf, Decoder};
use tonic_prost::{ProstDecoder, ProstEncoder};

use crate::convert::FieldViolations;

/// prost's codec with undecodable messages answered INVALID_ARGUMENT (see the module comment).
#[derive(Debug, Clone)]
pub struct Codec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self { _pd: PhantomData }
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(ProstDecoder::default())
    }
}

/// prost's decoder, its decode errors turned into [`undecodable`] statuses.
#[derive(Debug, Clone)]
pub struct CheckedDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // prost's decoder fails only on a decode error (its message is prost's DecodeError).
        self.0.decode(buf).map_err(|s| undecodable(s.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// INVALID_ARGUMENT for a message prost could not decode, naming the field where decoding
/// stopped (`records.source`: prost does not say which element of a list) with a
/// `google.rpc.BadRequest` detail, like every other bad field.
///
/// `message` is prost's `DecodeError` text: `failed to decode Protobuf message: Record.source:
/// SubmitRecordsRequest.records: invalid string value: data is not UTF-8 encoded`, innermost
/// field first. It holds type and field names and a fixed description, never the input.
pub fn undecodable(message: &str) -> Status {
    let rest = message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(message);
    let mut fields = Vec::new();
    let mut description = rest;
    while let Some((head, tail)) = description.split_once(": ") {
        match head.split_once('.') {
            Some((ty, field))
                if !ty.is_empty()
                    && !field.is_empty()
                    && head
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
            {
                fields.push(field);
                description = tail;
            }
            _ => break,
        }
    }
    fields.reverse();
    let field = fields.join(".");
    let reason = format!(
        "the message cannot be decoded: {}",
        crate::limits::shown_raw(description)
    );
    FieldViolations::new(vec![FieldError::new(field, reason)]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prost_errors_name_the_field_outermost_first() {
        let s = undecodable(
            "failed to decode Protobuf message: Record.source: SubmitRecordsRequest.records: \
             invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(
            s.message().starts_with("invalid field: records.source ("),
            "{s:?}"
        );
        assert!(s.message().contains("not UTF-8"), "{s:?}");
    }

    #[test]
    fn an_error_without_a_field_names_the_message() {
        let s = undecodable("failed to decode Protobuf message: buffer underflow");
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().contains("buffer underflow"), "{s:?}");
    }

    #[test]
    fn undecodable_bytes_are_invalid_argument() {
        use crate::approval::v1 as pb;
        // Field 4 (source) of a Record as a length-delimited string that is not UTF-8.
        let bytes: &[u8] = &[0x22, 0x02, 0xff, 0xfe];
        let e = pb::Record::decode(bytes).unwrap_err();
        let s = undecodable(&e.to_string());
        assert!(s.message().contains("source"), "{s:?}");
    }
}
