//! I2NP messages (spec/i2np.md): [`I2npMessage`] = message id + expiration + a typed
//! [`I2npBody`] for every message type, encoded with either header format.
//!
//! - Standard 16-byte header: [`I2npMessage::parse`] checks that `size` matches the payload
//!   exactly and that the checksum byte is right; [`I2npMessage::parse_ignoring_checksum`]
//!   skips only the checksum (Java disables the check in places; i2pd never checks) and
//!   re-encoding then writes a correct checksum.
//! - Short 9-byte header (NTCP2/SSU2 blocks, ECIES garlic cloves): [`I2npMessage::parse_short`];
//!   the payload is the rest of the block, the expiration has whole-second resolution.
//!
//! Unknown type codes are kept as [`I2npBody::Unknown`] (the spec reserves 0, 224–254 for
//! experiments and 255 for expansion; a router drops what it does not understand, it does not
//! fail the connection).

pub mod database;
pub mod header;
pub mod simple;
pub mod tunnel;

use crate::error::{Error, Expected, Field, Result, ResultExt};
use crate::primitives::Date;
use crate::reader::{Decode, Encode, Reader, Sink};

pub use database::{
    DatabaseLookup, DatabaseSearchReply, DatabaseStore, GzippedRouterInfo, LookupType,
    ReplyEncryption, StoreData, StoreKind, StoreReply,
};
pub use header::{SHORT_HEADER_LEN, STANDARD_HEADER_LEN, ShortHeader, StandardHeader, checksum};
pub use simple::{Data, DeliveryStatus, Garlic};
pub use tunnel::{
    BuildRecords, ShortBuildRecords, TunnelBuildRecords, TunnelData, TunnelGateway,
    VariableBuildRecords,
};

/// I2NP message type codes.
pub mod msg_type {
    pub const DATABASE_STORE: u8 = 1;
    pub const DATABASE_LOOKUP: u8 = 2;
    pub const DATABASE_SEARCH_REPLY: u8 = 3;
    pub const DELIVERY_STATUS: u8 = 10;
    pub const GARLIC: u8 = 11;
    pub const TUNNEL_DATA: u8 = 18;
    pub const TUNNEL_GATEWAY: u8 = 19;
    pub const DATA: u8 = 20;
    pub const TUNNEL_BUILD: u8 = 21;
    pub const TUNNEL_BUILD_REPLY: u8 = 22;
    pub const VARIABLE_TUNNEL_BUILD: u8 = 23;
    pub const VARIABLE_TUNNEL_BUILD_REPLY: u8 = 24;
    pub const SHORT_TUNNEL_BUILD: u8 = 25;
    pub const OUTBOUND_TUNNEL_BUILD_REPLY: u8 = 26;
}

/// Largest payload the 2-byte size field allows.
pub const MAX_PAYLOAD_LEN: usize = 65535;

/// The typed payload of an I2NP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum I2npBody {
    DatabaseStore(DatabaseStore),
    DatabaseLookup(DatabaseLookup),
    DatabaseSearchReply(DatabaseSearchReply),
    DeliveryStatus(DeliveryStatus),
    Garlic(Garlic),
    TunnelData(TunnelData),
    TunnelGateway(TunnelGateway),
    Data(Data),
    TunnelBuild(TunnelBuildRecords),
    TunnelBuildReply(TunnelBuildRecords),
    VariableTunnelBuild(VariableBuildRecords),
    VariableTunnelBuildReply(VariableBuildRecords),
    ShortTunnelBuild(ShortBuildRecords),
    OutboundTunnelBuildReply(ShortBuildRecords),
    /// A type this crate does not know, kept verbatim.
    Unknown {
        type_id: u8,
        payload: Vec<u8>,
    },
}

impl I2npBody {
    pub fn type_id(&self) -> u8 {
        use msg_type::*;
        match self {
            I2npBody::DatabaseStore(_) => DATABASE_STORE,
            I2npBody::DatabaseLookup(_) => DATABASE_LOOKUP,
            I2npBody::DatabaseSearchReply(_) => DATABASE_SEARCH_REPLY,
            I2npBody::DeliveryStatus(_) => DELIVERY_STATUS,
            I2npBody::Garlic(_) => GARLIC,
            I2npBody::TunnelData(_) => TUNNEL_DATA,
            I2npBody::TunnelGateway(_) => TUNNEL_GATEWAY,
            I2npBody::Data(_) => DATA,
            I2npBody::TunnelBuild(_) => TUNNEL_BUILD,
            I2npBody::TunnelBuildReply(_) => TUNNEL_BUILD_REPLY,
            I2npBody::VariableTunnelBuild(_) => VARIABLE_TUNNEL_BUILD,
            I2npBody::VariableTunnelBuildReply(_) => VARIABLE_TUNNEL_BUILD_REPLY,
            I2npBody::ShortTunnelBuild(_) => SHORT_TUNNEL_BUILD,
            I2npBody::OutboundTunnelBuildReply(_) => OUTBOUND_TUNNEL_BUILD_REPLY,
            I2npBody::Unknown { type_id, .. } => *type_id,
        }
    }

    /// Parse a payload of type `type_id`; it must be consumed exactly.
    pub fn parse(type_id: u8, payload: &[u8]) -> Result<I2npBody> {
        let mut r = Reader::new(payload);
        let body = I2npBody::read(type_id, &mut r)?;
        r.finish().at(Field::Body)?;
        Ok(body)
    }

    /// Read a payload of type `type_id` from `r` (which should end where the payload ends).
    pub fn read(type_id: u8, r: &mut Reader<'_>) -> Result<I2npBody> {
        use msg_type::*;
        Ok(match type_id {
            DATABASE_STORE => I2npBody::DatabaseStore(DatabaseStore::read(r)?),
            DATABASE_LOOKUP => I2npBody::DatabaseLookup(DatabaseLookup::read(r)?),
            DATABASE_SEARCH_REPLY => I2npBody::DatabaseSearchReply(DatabaseSearchReply::read(r)?),
            DELIVERY_STATUS => I2npBody::DeliveryStatus(DeliveryStatus::read(r)?),
            GARLIC => I2npBody::Garlic(Garlic::read(r)?),
            TUNNEL_DATA => I2npBody::TunnelData(TunnelData::read(r)?),
            TUNNEL_GATEWAY => I2npBody::TunnelGateway(TunnelGateway::read(r)?),
            DATA => I2npBody::Data(Data::read(r)?),
            TUNNEL_BUILD => I2npBody::TunnelBuild(TunnelBuildRecords::read_build(r)?),
            TUNNEL_BUILD_REPLY => I2npBody::TunnelBuildReply(TunnelBuildRecords::read_reply(r)?),
            VARIABLE_TUNNEL_BUILD => {
                I2npBody::VariableTunnelBuild(BuildRecords::read_as(r, Field::VariableTunnelBuild)?)
            }
            VARIABLE_TUNNEL_BUILD_REPLY => I2npBody::VariableTunnelBuildReply(
                BuildRecords::read_as(r, Field::VariableTunnelBuildReply)?,
            ),
            SHORT_TUNNEL_BUILD => {
                I2npBody::ShortTunnelBuild(BuildRecords::read_as(r, Field::ShortTunnelBuild)?)
            }
            OUTBOUND_TUNNEL_BUILD_REPLY => I2npBody::OutboundTunnelBuildReply(
                BuildRecords::read_as(r, Field::OutboundTunnelBuildReply)?,
            ),
            other => I2npBody::Unknown {
                type_id: other,
                payload: r.rest().to_vec(),
            },
        })
    }
}

impl Encode for I2npBody {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        match self {
            I2npBody::DatabaseStore(b) => b.encode_to(out),
            I2npBody::DatabaseLookup(b) => b.encode_to(out),
            I2npBody::DatabaseSearchReply(b) => b.encode_to(out),
            I2npBody::DeliveryStatus(b) => b.encode_to(out),
            I2npBody::Garlic(b) => b.encode_to(out),
            I2npBody::TunnelData(b) => b.encode_to(out),
            I2npBody::TunnelGateway(b) => b.encode_to(out),
            I2npBody::Data(b) => b.encode_to(out),
            I2npBody::TunnelBuild(b) | I2npBody::TunnelBuildReply(b) => b.encode_to(out),
            I2npBody::VariableTunnelBuild(b) | I2npBody::VariableTunnelBuildReply(b) => {
                b.encode_to(out)
            }
            I2npBody::ShortTunnelBuild(b) | I2npBody::OutboundTunnelBuildReply(b) => {
                b.encode_to(out)
            }
            I2npBody::Unknown { payload, .. } => out.put(payload),
        }
    }
}

/// An I2NP message: id, expiration and typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I2npMessage {
    msg_id: u32,
    expiration: Date,
    body: I2npBody,
}

impl I2npMessage {
    /// A message; the encoded body must fit the 2-byte size field.
    pub fn new(msg_id: u32, expiration: Date, body: I2npBody) -> Result<I2npMessage> {
        let n = body.encoded_len();
        if n > MAX_PAYLOAD_LEN {
            return Err(
                Error::bad_length(n, Expected::AtMost(MAX_PAYLOAD_LEN as u32), 0)
                    .at(Field::Body)
                    .at(Field::I2npMessage),
            );
        }
        Ok(I2npMessage {
            msg_id,
            expiration,
            body,
        })
    }

    pub fn type_id(&self) -> u8 {
        self.body.type_id()
    }
    pub fn msg_id(&self) -> u32 {
        self.msg_id
    }
    pub fn expiration(&self) -> Date {
        self.expiration
    }
    pub fn body(&self) -> &I2npBody {
        &self.body
    }
    pub fn into_body(self) -> I2npBody {
        self.body
    }

    /// Parse a message with the standard header, verifying size and checksum.
    pub fn parse(bytes: &[u8]) -> Result<I2npMessage> {
        <I2npMessage as Decode>::parse(bytes)
    }

    /// Like [`I2npMessage::parse`] but without the checksum check.
    pub fn parse_ignoring_checksum(bytes: &[u8]) -> Result<I2npMessage> {
        let mut r = Reader::new(bytes);
        let m = read_standard(&mut r, false).at(Field::I2npMessage)?;
        r.finish().at(Field::I2npMessage)?;
        Ok(m)
    }

    /// Read one standard-header message from `r` (e.g. several in a row).
    pub fn read_standard(r: &mut Reader<'_>) -> Result<I2npMessage> {
        read_standard(r, true).at(Field::I2npMessage)
    }

    /// Parse a message with the 9-byte short header; the payload is the rest of `bytes`.
    pub fn parse_short(bytes: &[u8]) -> Result<I2npMessage> {
        let inner = || -> Result<I2npMessage> {
            let mut r = Reader::new(bytes);
            let h = ShortHeader::read(&mut r)?;
            let body = I2npBody::read(h.type_id, &mut r).at(Field::Body)?;
            r.finish().at(Field::Body)?;
            I2npMessage::new(h.msg_id, h.expiration(), body)
        };
        inner().at(Field::I2npMessage)
    }

    /// The short header for this message (expiration truncated to seconds, saturating).
    pub fn short_header(&self) -> ShortHeader {
        ShortHeader {
            type_id: self.type_id(),
            msg_id: self.msg_id,
            expiration_secs: u32::try_from(self.expiration.as_secs()).unwrap_or(u32::MAX),
        }
    }

    /// Encode with the short header.
    pub fn encode_short_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.short_header().encode_to(out);
        self.body.encode_to(out);
    }

    /// Encode with the short header into a new vector.
    pub fn to_short_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(SHORT_HEADER_LEN + self.body.encoded_len());
        self.encode_short_to(&mut v);
        v
    }
}

fn read_standard(r: &mut Reader<'_>, verify_checksum: bool) -> Result<I2npMessage> {
    let at = r.position();
    let h = StandardHeader::read(r)?;
    let payload_at = r.position();
    let payload = r.bytes(usize::from(h.size)).at(Field::Body)?;
    if verify_checksum {
        h.check_payload(payload, at)?;
    }
    let mut pr = Reader::with_base_offset(payload, payload_at);
    let body = I2npBody::read(h.type_id, &mut pr).at(Field::Body)?;
    pr.finish().at(Field::Body)?;
    Ok(I2npMessage {
        msg_id: h.msg_id,
        expiration: h.expiration,
        body,
    })
}

impl Decode for I2npMessage {
    const NAME: Field = Field::I2npMessage;

    fn read(r: &mut Reader<'_>) -> Result<I2npMessage> {
        I2npMessage::read_standard(r)
    }
}

impl Encode for I2npMessage {
    /// Standard 16-byte header + payload.
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        let payload = self.body.to_bytes();
        StandardHeader {
            type_id: self.type_id(),
            msg_id: self.msg_id,
            expiration: self.expiration,
            size: u16::try_from(payload.len()).unwrap_or(u16::MAX),
            checksum: checksum(&payload),
        }
        .encode_to(out);
        out.put(&payload);
    }

    fn encoded_len(&self) -> usize {
        STANDARD_HEADER_LEN + self.body.encoded_len()
    }
}
