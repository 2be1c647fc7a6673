//! I2P wire formats, parsed from and encoded to bytes without keys, sockets or clocks.
//!
//! This crate owns the byte layouts of spec/common-structures.md (base64/base32 and
//! `.b32.i2p` addresses, Hash, Date, String, Mapping, Certificate, KeysAndCert /
//! RouterIdentity / Destination, RouterAddress, RouterInfo, Lease(Set), LeaseSet2 and its
//! relatives) and of spec/i2np.md (headers and every message body). It depends on
//! `i2p-crypto` only for SHA-256 and signature verification; signing is done by callbacks.
//!
//! Rules every module follows:
//! - Parsing never panics (`clippy::indexing_slicing` is denied) and reports an [`Error`] with
//!   the field path, the byte offset and what was wrong.
//! - Round trips are exact: every value encodes back to the bytes it was parsed from (Mapping
//!   order, padding, unknown certificate payloads and gzip bytes are kept).
//! - Signed structures parse into [`Unverified`] and become usable only through
//!   `verify(now)`, which checks the signature over the exact received bytes and time rules.
//! - Builders (`RouterInfoBuilder`, `LeaseSet2Builder`, `Mapping::from_pairs`, the
//!   `RouterAddress` constructors) produce canonical output.
//!
//! # Pure parse entry points (for fuzz targets)
//!
//! Each takes `&[u8]` (or `&str`) and returns a `Result`; none panics on any input:
//! - [`base64::decode`], [`base32::decode`], [`base32::parse_b32_address`]
//! - [`Mapping::parse`](reader::Decode::parse), [`Certificate::parse`](reader::Decode::parse)
//! - [`KeysAndCert::parse`](reader::Decode::parse), [`RouterIdentity::parse`](reader::Decode::parse),
//!   [`Destination::parse`](reader::Decode::parse)
//! - [`RouterAddress::parse`](reader::Decode::parse)
//! - [`RouterInfo::parse`] (then `verify`), [`LeaseSet::parse`], [`LeaseSet2::parse`],
//!   [`EncryptedLeaseSet::parse`], [`AnyLeaseSet::parse`]
//! - [`I2npMessage::parse`], [`I2npMessage::parse_ignoring_checksum`],
//!   [`I2npMessage::parse_short`], [`I2npBody::parse`] (type byte + payload)
//! - [`i2np::GzippedRouterInfo::decompress`]
//! - [`su3::Su3::parse`]
//! - [`streaming::StreamPacket::parse`]
//! - [`datagram::Datagram1::parse`], [`datagram::Datagram2::parse`] (then `verify`),
//!   [`datagram::Datagram3::parse`]
//! - nested, lazily parsed data: [`i2np::DatabaseStore::parse_router_info`],
//!   [`i2np::DatabaseStore::parse_lease_set`], [`i2np::TunnelGateway::message`]

#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

pub mod base32;
pub mod base64;
pub mod certificate;
pub mod client_payload;
pub mod datagram;
pub mod error;
pub mod i2np;
pub mod identity;
pub mod lease_set;
pub mod lease_set2;
pub mod mapping;
pub mod primitives;
pub mod reader;
pub mod router_address;
pub mod router_info;
pub mod signed;
pub mod streaming;
pub mod su3;

pub use certificate::{Certificate, KeyCertificate};
pub use error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
pub use i2np::{I2npBody, I2npMessage};
pub use i2p_crypto::SigType;
pub use identity::{Destination, KeysAndCert, RouterIdentity};
pub use lease_set::{AnyLeaseSet, EncryptedLeaseSet, Lease, LeaseSet};
pub use lease_set2::{EncryptionKey, Lease2, LeaseSet2, LeaseSet2Builder, OfflineSignature};
pub use mapping::Mapping;
pub use primitives::{Date, EncType, Hash, I2pString, TunnelId};
pub use reader::{Decode, Encode, Reader, Sink};
pub use router_address::{AddressCaps, Ntcp2Address, RouterAddress, Ssu2Address, Transport};
pub use router_info::{
    BandwidthClass, Congestion, RouterCaps, RouterInfo, RouterInfoBuilder, Version,
};
pub use signed::Unverified;
pub use streaming::StreamPacket;
