//! The public contract of egov on the wire: code generated from `proto/` and the conversions
//! between it and the domain. Only this crate knows protobuf; services use its types at their
//! edges and hand domain types inward.
//!
//! Map of the modules:
//! - [`approval::v1`]: package `egov.approval.v1`: the record contract ([`approval::v1::Record`],
//!   docs/design.md §6), the matter catalogue ([`approval::v1::Matter`]), cases and deadline
//!   clocks, and the `ApprovalService` client and server.
//! - [`supervision::v1`]: package `egov.supervision.v1`: warnings and the `SupervisionService`
//!   client and server.
//! - [`access::v1`]: package `egov.access.v1`: `SignIn`, local accounts' short-lived tokens.
//! - [`target`]: what an audited call is about (a warning id, a case number, ...), read from
//!   its request, one entry per RPC.
//! - [`convert`]: `TryFrom<proto> for domain` (reporting every bad field with its dotted path as
//!   [`convert::FieldViolations`]) and `From<&domain> for proto`, plus the mapping of
//!   violations to a gRPC `INVALID_ARGUMENT` status.
//! - [`limits`]: the one check of every request's text (no NUL, a length per kind of field)
//!   and lists (each bounded), run before anything else reads the request.
//! - [`codec`]: prost's gRPC codec, an undecodable message answered INVALID_ARGUMENT.
//! - [`json`]: the JSON Lines format of bulk import and export: one record (or matter) per line
//!   in the canonical protobuf JSON mapping.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors of every package, for gRPC reflection.
//!
//! Every message also has serde impls following the canonical protobuf JSON mapping (from
//! pbjson): lowerCamelCase names on output, both spellings accepted on input, enums by their full
//! value name (`CHANNEL_WINDOW`), int64 as strings, Timestamps as RFC 3339.
//!
//! Architecture invariant: the generated code is rebuilt from `proto/` by `build.rs` on every
//! change, never checked in, so it cannot drift from the contract.

#![forbid(unsafe_code)]

pub mod codec;
pub mod convert;
pub mod json;
pub mod limits;
pub mod target;

/// Package `egov.approval.v1`.
pub mod approval {
    /// Generated from `proto/egov/approval/v1/*.proto` (prost, tonic and pbjson).
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic,
        clippy::nursery
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egov.approval.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/egov.approval.v1.serde.rs"));
    }
}

/// Package `egov.access.v1`.
pub mod access {
    /// Generated from `proto/egov/access/v1/*.proto` (prost, tonic and pbjson).
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic,
        clippy::nursery
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egov.access.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/egov.access.v1.serde.rs"));
    }
}

/// Package `egov.supervision.v1`.
pub mod supervision {
    /// Generated from `proto/egov/supervision/v1/*.proto` (prost, tonic and pbjson).
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic,
        clippy::nursery
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egov.supervision.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/egov.supervision.v1.serde.rs"));
    }
}

/// The encoded `google.protobuf.FileDescriptorSet` of every egov package (and the well-known
/// types they import), for `tonic-reflection`'s `register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/egov_descriptor.bin"));
