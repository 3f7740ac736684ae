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
                fields.push(head);
                description = tail;
            }
            _ => break,
        }
    }
    fields.reverse();
    let field = contract_path(&fields);
    let reason = format!(
        "the message cannot be decoded: {}",
        crate::limits::shown_raw(description)
    );
    FieldViolations::new(vec![FieldError::new(field, reason)]).into()
}

/// The contract's path for prost's stack of fields (`(message, field)`, outermost first): a
/// oneof is named by its variant where the next message's type tells which one it was
/// (`Record.body` then `Application.matter_code` is `application.matter_code`), else by the
/// oneof's own name.
fn contract_path(stack: &[&str]) -> String {
    let oneofs = oneofs();
    let mut path: Vec<&str> = Vec::with_capacity(stack.len());
    for (i, entry) in stack.iter().enumerate() {
        let (message, field) = entry.split_once('.').unwrap_or(("", entry));
        let inner = stack
            .get(i + 1)
            .and_then(|next| next.split_once('.'))
            .map(|(ty, _)| ty);
        let variant = inner.and_then(|inner| {
            let candidates: Vec<&str> = oneofs
                .iter()
                .filter(|o| o.message == message && o.oneof == field && o.variant_type == inner)
                .map(|o| o.variant.as_str())
                .collect();
            (candidates.len() == 1).then(|| candidates[0])
        });
        path.push(variant.unwrap_or(field));
    }
    path.join(".")
}

/// One variant of a oneof in the contract, by short names.
#[derive(Debug)]
struct OneofVariant {
    message: String,
    oneof: String,
    variant: String,
    variant_type: String,
}

/// Every oneof variant of the contract, read once from [`crate::FILE_DESCRIPTOR_SET`].
fn oneofs() -> &'static [OneofVariant] {
    static ONEOFS: std::sync::OnceLock<Vec<OneofVariant>> = std::sync::OnceLock::new();
    ONEOFS.get_or_init(|| {
        let mut out = Vec::new();
        let Ok(set) = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET) else {
            return out;
        };
        let mut messages: Vec<&prost_types::DescriptorProto> = set
            .file
            .iter()
            .flat_map(|f| f.message_type.iter())
            .collect();
        while let Some(m) = messages.pop() {
            messages.extend(m.nested_type.iter());
            for f in &m.field {
                let (Some(index), Some(ty)) = (f.oneof_index, f.type_name.as_deref()) else {
                    continue;
                };
                let Some(oneof) = usize::try_from(index)
                    .ok()
                    .and_then(|i| m.oneof_decl.get(i))
                else {
                    continue;
                };
                out.push(OneofVariant {
                    message: m.name().to_owned(),
                    oneof: oneof.name().to_owned(),
                    variant: f.name().to_owned(),
                    variant_type: ty.rsplit('.').next().unwrap_or(ty).to_owned(),
                });
            }
        }
        out
    })
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
        assert!(s.message().starts_with("invalid field: source ("), "{s:?}");
    }

    #[test]
    fn a_oneof_is_named_by_its_variant() {
        assert_eq!(
            contract_path(&[
                "SubmitRecordsRequest.records",
                "Record.body",
                "CorrectionNotice.materials"
            ]),
            "records.correction_notice.materials"
        );
        // Two variants of one type: the oneof's own name.
        assert_eq!(
            contract_path(&["UpdateRuleConfigRequest.change", "LayerChange.code"]),
            "change.code"
        );
    }
}
