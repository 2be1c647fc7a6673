//! Tunnel-related I2NP bodies (spec/i2np.md): TunnelData (18, tunnel id + 1024 bytes),
//! TunnelGateway (19, tunnel id + length + an embedded standard-header I2NP message),
//! TunnelBuild / TunnelBuildReply (21/22, eight 528-byte records), VariableTunnelBuild /
//! VariableTunnelBuildReply (23/24, 1–8 records of 528 bytes), ShortTunnelBuild /
//! OutboundTunnelBuildReply (25/26, 1–8 records of 218 bytes).
//!
//! Build records stay opaque encrypted blobs here; their cleartext layouts belong to the
//! tunnel layer (spec/tunnel-creation-ecies.md).

use crate::error::{Error, Expected, Field, Result, ResultExt};
use crate::i2np::I2npMessage;
use crate::primitives::TunnelId;
use crate::reader::{Decode, Encode, Reader, Sink};

/// Payload size of a TunnelData message.
pub const TUNNEL_DATA_LEN: usize = 1024;
/// Size of a (long) build request/response record.
pub const BUILD_RECORD_LEN: usize = 528;
/// Size of a short build request/response record.
pub const SHORT_BUILD_RECORD_LEN: usize = 218;
/// Records in a TunnelBuild / TunnelBuildReply; most in a variable-length build message.
pub const MAX_BUILD_RECORDS: usize = 8;

/// An encrypted tunnel message on its way along a tunnel.
#[derive(Clone, PartialEq, Eq)]
pub struct TunnelData {
    pub tunnel_id: TunnelId,
    pub data: Box<[u8; TUNNEL_DATA_LEN]>,
}

impl core::fmt::Debug for TunnelData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TunnelData")
            .field("tunnel_id", &self.tunnel_id)
            .finish_non_exhaustive()
    }
}

impl Decode for TunnelData {
    const NAME: Field = Field::TunnelData;

    fn read(r: &mut Reader<'_>) -> Result<TunnelData> {
        let tunnel_id = TunnelId::read(r)
            .at(Field::TunnelId)
            .at(Field::TunnelData)?;
        let data = Box::new(
            r.array::<TUNNEL_DATA_LEN>()
                .at(Field::Payload)
                .at(Field::TunnelData)?,
        );
        Ok(TunnelData { tunnel_id, data })
    }
}

impl Encode for TunnelData {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.tunnel_id.encode_to(out);
        out.put(self.data.as_slice());
    }
}

/// A message to be sent into a tunnel at its inbound gateway. The embedded message is kept as
/// bytes (parse it with [`TunnelGateway::message`]) so nesting depth stays bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelGateway {
    tunnel_id: TunnelId,
    message: Vec<u8>,
}

impl TunnelGateway {
    /// Wrap `message` (encoded with the standard header).
    pub fn new(tunnel_id: TunnelId, message: &I2npMessage) -> Result<TunnelGateway> {
        TunnelGateway::from_raw(tunnel_id, message.to_bytes())
    }

    /// Wrap already-encoded message bytes (at most 65535).
    pub fn from_raw(tunnel_id: TunnelId, message: Vec<u8>) -> Result<TunnelGateway> {
        if message.len() > usize::from(u16::MAX) {
            return Err(
                Error::bad_length(message.len(), Expected::AtMost(u32::from(u16::MAX)), 0)
                    .at(Field::TunnelGateway),
            );
        }
        Ok(TunnelGateway { tunnel_id, message })
    }

    pub fn tunnel_id(&self) -> TunnelId {
        self.tunnel_id
    }

    /// The embedded message bytes.
    pub fn message_bytes(&self) -> &[u8] {
        &self.message
    }

    /// Parse the embedded message (standard header, checksum verified).
    pub fn message(&self) -> Result<I2npMessage> {
        I2npMessage::parse(&self.message)
            .at(Field::Message)
            .at(Field::TunnelGateway)
    }
}

impl Decode for TunnelGateway {
    const NAME: Field = Field::TunnelGateway;

    fn read(r: &mut Reader<'_>) -> Result<TunnelGateway> {
        let inner = |r: &mut Reader<'_>| -> Result<TunnelGateway> {
            let tunnel_id = TunnelId::read(r).at(Field::TunnelId)?;
            let len = r.u16().at(Field::Length)?;
            let message = r.bytes(usize::from(len)).at(Field::Message)?.to_vec();
            Ok(TunnelGateway { tunnel_id, message })
        };
        inner(r).at(Field::TunnelGateway)
    }
}

impl Encode for TunnelGateway {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.tunnel_id.encode_to(out);
        out.put_u16(u16::try_from(self.message.len()).unwrap_or(u16::MAX));
        out.put(&self.message);
    }
}

/// The eight 528-byte records of a TunnelBuild or TunnelBuildReply.
#[derive(Clone, PartialEq, Eq)]
pub struct TunnelBuildRecords(pub Box<[[u8; BUILD_RECORD_LEN]; MAX_BUILD_RECORDS]>);

impl core::fmt::Debug for TunnelBuildRecords {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TunnelBuildRecords(8 records)")
    }
}

impl TunnelBuildRecords {
    fn read_as(r: &mut Reader<'_>, name: Field) -> Result<TunnelBuildRecords> {
        let mut recs = Box::new([[0u8; BUILD_RECORD_LEN]; MAX_BUILD_RECORDS]);
        for (i, slot) in recs.iter_mut().enumerate() {
            *slot = r.array().at_index(Field::Records, i).at(name)?;
        }
        Ok(TunnelBuildRecords(recs))
    }

    pub(crate) fn read_build(r: &mut Reader<'_>) -> Result<TunnelBuildRecords> {
        Self::read_as(r, Field::TunnelBuild)
    }

    pub(crate) fn read_reply(r: &mut Reader<'_>) -> Result<TunnelBuildRecords> {
        Self::read_as(r, Field::TunnelBuildReply)
    }
}

impl Encode for TunnelBuildRecords {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        for rec in self.0.iter() {
            out.put(rec);
        }
    }
}

/// 1–8 records of `N` bytes after a count byte: VariableTunnelBuild(Reply) with `N` = 528,
/// ShortTunnelBuild / OutboundTunnelBuildReply with `N` = 218.
#[derive(Clone, PartialEq, Eq)]
pub struct BuildRecords<const N: usize> {
    records: Vec<[u8; N]>,
}

impl<const N: usize> core::fmt::Debug for BuildRecords<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BuildRecords<{N}>({} records)", self.records.len())
    }
}

/// Records of VariableTunnelBuild / VariableTunnelBuildReply.
pub type VariableBuildRecords = BuildRecords<BUILD_RECORD_LEN>;
/// Records of ShortTunnelBuild / OutboundTunnelBuildReply.
pub type ShortBuildRecords = BuildRecords<SHORT_BUILD_RECORD_LEN>;

impl<const N: usize> BuildRecords<N> {
    /// 1 to 8 records.
    pub fn new(records: Vec<[u8; N]>) -> Result<BuildRecords<N>> {
        if records.is_empty() || records.len() > MAX_BUILD_RECORDS {
            return Err(Error::bad_length(
                records.len(),
                Expected::Between(1, MAX_BUILD_RECORDS as u32),
                0,
            )
            .at(Field::Records));
        }
        Ok(BuildRecords { records })
    }

    pub fn records(&self) -> &[[u8; N]] {
        &self.records
    }

    pub fn into_records(self) -> Vec<[u8; N]> {
        self.records
    }

    pub(crate) fn read_as(r: &mut Reader<'_>, name: Field) -> Result<BuildRecords<N>> {
        let inner = |r: &mut Reader<'_>| -> Result<BuildRecords<N>> {
            let at = r.position();
            let num = usize::from(r.u8().at(Field::Records)?);
            if num == 0 || num > MAX_BUILD_RECORDS {
                return Err(Error::bad_length(
                    num,
                    Expected::Between(1, MAX_BUILD_RECORDS as u32),
                    at,
                )
                .at(Field::Records));
            }
            let mut records = Vec::with_capacity(num);
            for i in 0..num {
                records.push(r.array::<N>().at_index(Field::Records, i)?);
            }
            Ok(BuildRecords { records })
        };
        inner(r).at(name)
    }
}

impl<const N: usize> Encode for BuildRecords<N> {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u8(u8::try_from(self.records.len()).unwrap_or(u8::MAX));
        for rec in &self.records {
            out.put(rec);
        }
    }
}
