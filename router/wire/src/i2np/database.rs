//! netDb I2NP bodies (spec/i2np.md): DatabaseStore (1), DatabaseLookup (2, all flag bits
//! incl. proposal 154 ECIES reply keys) and DatabaseSearchReply (3).
//!
//! A RouterInfo in a DatabaseStore is gzip-compressed behind a 2-byte length. Decompression
//! is capped at [`MAX_DECOMPRESSED_ROUTER_INFO`] (zip bombs) and the compressed bytes are kept,
//! so the message re-encodes to exactly the bytes received (gzip is not bijective). When we
//! compress, the header matches Java I2P as the spec recommends (mtime 0, XFL 2, OS 0xFF).
//! LeaseSets of every kind are kept as bytes with a typed parse on demand.

use std::io::{Read, Write};

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::lease_set::AnyLeaseSet;
use crate::primitives::{Hash, TunnelId};
use crate::reader::{Decode, Encode, Reader, Sink};
use crate::router_info::RouterInfo;
use crate::signed::Unverified;

/// Hard cap on a decompressed RouterInfo. i2pd 2.45.1 drops anything over 3072 bytes; this
/// leaves room for growth while bounding memory per message.
pub const MAX_DECOMPRESSED_ROUTER_INFO: usize = 16 * 1024;
/// Most excluded peers a DatabaseLookup may list (spec; i2pd drops larger lookups).
pub const MAX_EXCLUDED_PEERS: usize = 512;
/// Most reply tags in an encrypted-reply lookup (spec: 1–32).
pub const MAX_REPLY_TAGS: usize = 32;

/// What a DatabaseStore carries, from bits 3–0 of its type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    RouterInfo,
    LeaseSet,
    LeaseSet2,
    EncryptedLeaseSet,
    MetaLeaseSet,
}

impl StoreKind {
    fn from_type_byte(b: u8) -> Option<StoreKind> {
        match b & 0x0f {
            0 => Some(StoreKind::RouterInfo),
            1 => Some(StoreKind::LeaseSet),
            3 => Some(StoreKind::LeaseSet2),
            5 => Some(StoreKind::EncryptedLeaseSet),
            7 => Some(StoreKind::MetaLeaseSet),
            _ => None,
        }
    }

    /// The type code (0, 1, 3, 5, 7); also the byte prepended to LeaseSet2-family signatures.
    pub fn code(self) -> u8 {
        match self {
            StoreKind::RouterInfo => 0,
            StoreKind::LeaseSet => 1,
            StoreKind::LeaseSet2 => 3,
            StoreKind::EncryptedLeaseSet => 5,
            StoreKind::MetaLeaseSet => 7,
        }
    }
}

/// Reply request of a DatabaseStore (present when the reply token is nonzero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreReply {
    /// nonzero; the DeliveryStatus reply carries it as message id
    pub token: u32,
    /// zero: reply directly to `gateway`
    pub tunnel_id: TunnelId,
    pub gateway: Hash,
}

/// A gzip-compressed RouterInfo as carried in a DatabaseStore.
#[derive(Clone, PartialEq, Eq)]
pub struct GzippedRouterInfo {
    compressed: Vec<u8>,
    decompressed: Vec<u8>,
}

impl core::fmt::Debug for GzippedRouterInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "GzippedRouterInfo({} -> {} bytes)",
            self.compressed.len(),
            self.decompressed.len()
        )
    }
}

impl GzippedRouterInfo {
    /// Compress encoded RouterInfo bytes (Java-compatible gzip header).
    pub fn compress(router_info: &[u8]) -> Result<GzippedRouterInfo> {
        let gz_err = |_| Error::bad_value("gzip compression failed", 0).at(Field::Gzip);
        let mut enc = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(0xff)
            .write(Vec::new(), flate2::Compression::best());
        enc.write_all(router_info).map_err(gz_err)?;
        let compressed = enc.finish().map_err(gz_err)?;
        if compressed.len() > usize::from(u16::MAX) {
            return Err(Error::bad_length(
                compressed.len(),
                Expected::AtMost(u32::from(u16::MAX)),
                0,
            )
            .at(Field::Gzip));
        }
        Ok(GzippedRouterInfo {
            compressed,
            decompressed: router_info.to_vec(),
        })
    }

    /// Compress a RouterInfo.
    pub fn from_router_info(ri: &RouterInfo) -> Result<GzippedRouterInfo> {
        GzippedRouterInfo::compress(&ri.to_bytes())
    }

    /// Decompress with the default cap.
    pub fn decompress(compressed: &[u8]) -> Result<GzippedRouterInfo> {
        GzippedRouterInfo::decompress_with_limit(compressed, MAX_DECOMPRESSED_ROUTER_INFO)
    }

    /// Decompress, failing with [`ErrorKind::TooLarge`] beyond `limit` bytes.
    pub fn decompress_with_limit(compressed: &[u8], limit: usize) -> Result<GzippedRouterInfo> {
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        flate2::read::GzDecoder::new(compressed)
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|_| Error::bad_value("invalid gzip data", 0).at(Field::Gzip))?;
        if out.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge {
                    limit: u32::try_from(limit).unwrap_or(u32::MAX),
                },
                0,
            )
            .at(Field::Gzip));
        }
        Ok(GzippedRouterInfo {
            compressed: compressed.to_vec(),
            decompressed: out,
        })
    }

    pub fn compressed(&self) -> &[u8] {
        &self.compressed
    }

    /// The RouterInfo bytes.
    pub fn decompressed(&self) -> &[u8] {
        &self.decompressed
    }

    /// Parse (not verify) the RouterInfo.
    pub fn router_info(&self) -> Result<Unverified<RouterInfo>> {
        RouterInfo::parse(&self.decompressed)
    }
}

/// What a DatabaseStore carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreData {
    RouterInfo(GzippedRouterInfo),
    /// Any LeaseSet kind (see [`DatabaseStore::kind`]), uncompressed.
    LeaseSet(Vec<u8>),
}

/// A netDb store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseStore {
    key: Hash,
    type_byte: u8,
    kind: StoreKind,
    reply: Option<StoreReply>,
    data: StoreData,
}

impl DatabaseStore {
    /// Store a RouterInfo under its hash.
    pub fn router_info(ri: &RouterInfo, reply: Option<StoreReply>) -> Result<DatabaseStore> {
        check_reply(reply.as_ref())?;
        Ok(DatabaseStore {
            key: ri.hash(),
            type_byte: 0,
            kind: StoreKind::RouterInfo,
            reply,
            data: StoreData::RouterInfo(GzippedRouterInfo::from_router_info(ri)?),
        })
    }

    /// Store encoded LeaseSet bytes of `kind` (not RouterInfo) under `key`.
    pub fn lease_set(
        key: Hash,
        kind: StoreKind,
        bytes: Vec<u8>,
        reply: Option<StoreReply>,
    ) -> Result<DatabaseStore> {
        check_reply(reply.as_ref())?;
        if kind == StoreKind::RouterInfo {
            return Err(Error::bad_value("use DatabaseStore::router_info", 0).at(Field::Type));
        }
        if bytes.len() > 65535 - 32 - 1 - 40 {
            return Err(
                Error::bad_length(bytes.len(), Expected::AtMost(65535 - 73), 0)
                    .at(Field::StoreData),
            );
        }
        Ok(DatabaseStore {
            key,
            type_byte: kind.code(),
            kind,
            reply,
            data: StoreData::LeaseSet(bytes),
        })
    }

    pub fn key(&self) -> Hash {
        self.key
    }
    pub fn kind(&self) -> StoreKind {
        self.kind
    }
    /// The type byte as received (bits 7–4 are ignored but kept).
    pub fn type_byte(&self) -> u8 {
        self.type_byte
    }
    pub fn reply(&self) -> Option<&StoreReply> {
        self.reply.as_ref()
    }
    pub fn data(&self) -> &StoreData {
        &self.data
    }

    /// Parse the LeaseSet carried (not verified); an error for RouterInfo stores.
    pub fn parse_lease_set(&self) -> Result<AnyLeaseSet> {
        match &self.data {
            StoreData::LeaseSet(b) => AnyLeaseSet::parse(self.kind.code(), b)
                .at(Field::StoreData)
                .at(Field::DatabaseStore),
            StoreData::RouterInfo(_) => Err(Error::bad_value("store carries a RouterInfo", 0)
                .at(Field::StoreData)
                .at(Field::DatabaseStore)),
        }
    }

    /// Parse the RouterInfo carried (not verified); an error for LeaseSet stores.
    pub fn parse_router_info(&self) -> Result<Unverified<RouterInfo>> {
        match &self.data {
            StoreData::RouterInfo(g) => g
                .router_info()
                .at(Field::StoreData)
                .at(Field::DatabaseStore),
            StoreData::LeaseSet(_) => Err(Error::bad_value("store carries a LeaseSet", 0)
                .at(Field::StoreData)
                .at(Field::DatabaseStore)),
        }
    }
}

/// A reply request needs a nonzero token: a zero token on the wire means "no reply".
fn check_reply(reply: Option<&StoreReply>) -> Result<()> {
    match reply {
        Some(r) if r.token == 0 => Err(Error::bad_value(
            "a reply token must be nonzero (zero means no reply)",
            0,
        )
        .at(Field::ReplyToken)
        .at(Field::DatabaseStore)),
        _ => Ok(()),
    }
}

fn read_store(r: &mut Reader<'_>) -> Result<DatabaseStore> {
    let key = Hash::read(r).at(Field::Key)?;
    let type_at = r.position();
    let type_byte = r.u8().at(Field::Type)?;
    let kind = StoreKind::from_type_byte(type_byte).ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownType {
                code: u32::from(type_byte),
            },
            type_at,
        )
        .at(Field::Type)
    })?;
    let token = r.u32().at(Field::ReplyToken)?;
    let reply = if token != 0 {
        Some(StoreReply {
            token,
            tunnel_id: TunnelId::read(r).at(Field::ReplyTunnel)?,
            gateway: Hash::read(r).at(Field::ReplyGateway)?,
        })
    } else {
        None
    };
    let data = if kind == StoreKind::RouterInfo {
        let len = r.u16().at(Field::Length)?;
        let at = r.position();
        let compressed = r.bytes(usize::from(len)).at(Field::StoreData)?;
        let g = GzippedRouterInfo::decompress(compressed).map_err(|e| {
            Error::new(e.kind().clone(), at)
                .at(Field::Gzip)
                .at(Field::StoreData)
        })?;
        StoreData::RouterInfo(g)
    } else {
        StoreData::LeaseSet(r.rest().to_vec())
    };
    Ok(DatabaseStore {
        key,
        type_byte,
        kind,
        reply,
        data,
    })
}

impl Decode for DatabaseStore {
    const NAME: Field = Field::DatabaseStore;

    fn read(r: &mut Reader<'_>) -> Result<DatabaseStore> {
        read_store(r).at(Field::DatabaseStore)
    }
}

impl Encode for DatabaseStore {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.key.encode_to(out);
        out.put_u8(self.type_byte);
        match &self.reply {
            Some(rep) => {
                out.put_u32(rep.token);
                rep.tunnel_id.encode_to(out);
                rep.gateway.encode_to(out);
            }
            None => out.put_u32(0),
        }
        match &self.data {
            StoreData::RouterInfo(g) => {
                out.put_u16(u16::try_from(g.compressed.len()).unwrap_or(u16::MAX));
                out.put(&g.compressed);
            }
            StoreData::LeaseSet(b) => out.put(b),
        }
    }
}

/// The lookup type of flag bits 3–2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupType {
    /// 00: RouterInfo or LeaseSet (deprecated)
    Any,
    /// 01: LeaseSet (any kind)
    LeaseSet,
    /// 10: RouterInfo
    RouterInfo,
    /// 11: exploration (non-floodfill hashes)
    Exploration,
}

impl LookupType {
    fn bits(self) -> u8 {
        match self {
            LookupType::Any => 0,
            LookupType::LeaseSet => 1 << 2,
            LookupType::RouterInfo => 2 << 2,
            LookupType::Exploration => 3 << 2,
        }
    }
}

const FLAG_DELIVERY: u8 = 0x01;
const FLAG_ENCRYPTION: u8 = 0x02;
const FLAG_ECIES: u8 = 0x10;
const FLAG_RESERVED: u8 = 0xe0;

/// Reply encryption requested by a lookup (flag bits 4 and 1; proposals 154/156).
#[derive(Clone, PartialEq, Eq)]
pub enum ReplyEncryption {
    /// bits 4,1 = 0,0
    None,
    /// bits 4,1 = 0,1: AES session key and 32-byte session tags (ElGamal/AES)
    ElGamalAes {
        reply_key: [u8; 32],
        tags: Vec<[u8; 32]>,
    },
    /// bits 4,1 = 1,0: ChaCha/Poly key and 8-byte ratchet tags
    Ratchet {
        reply_key: [u8; 32],
        tags: Vec<[u8; 8]>,
    },
    /// bits 4,1 = 1,1: only the requester's ephemeral X25519 key (future DH variant)
    RatchetDh { ephemeral_key: [u8; 32] },
}

impl core::fmt::Debug for ReplyEncryption {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // never print key material
        match self {
            ReplyEncryption::None => f.write_str("None"),
            ReplyEncryption::ElGamalAes { tags, .. } => {
                write!(f, "ElGamalAes({} tags)", tags.len())
            }
            ReplyEncryption::Ratchet { tags, .. } => write!(f, "Ratchet({} tags)", tags.len()),
            ReplyEncryption::RatchetDh { .. } => f.write_str("RatchetDh"),
        }
    }
}

impl ReplyEncryption {
    fn flag_bits(&self) -> u8 {
        match self {
            ReplyEncryption::None => 0,
            ReplyEncryption::ElGamalAes { .. } => FLAG_ENCRYPTION,
            ReplyEncryption::Ratchet { .. } => FLAG_ECIES,
            ReplyEncryption::RatchetDh { .. } => FLAG_ENCRYPTION | FLAG_ECIES,
        }
    }

    fn tag_count(&self) -> usize {
        match self {
            ReplyEncryption::ElGamalAes { tags, .. } => tags.len(),
            ReplyEncryption::Ratchet { tags, .. } => tags.len(),
            _ => 1,
        }
    }
}

/// A netDb lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseLookup {
    key: Hash,
    from: Hash,
    reply_tunnel: Option<TunnelId>,
    lookup_type: LookupType,
    excluded: Vec<Hash>,
    encryption: ReplyEncryption,
    reserved_flags: u8,
}

impl DatabaseLookup {
    /// `reply_tunnel`: `Some` to have the reply sent to that tunnel at gateway `from`,
    /// `None` to have it sent directly to router `from`.
    pub fn new(
        key: Hash,
        from: Hash,
        reply_tunnel: Option<TunnelId>,
        lookup_type: LookupType,
        excluded: Vec<Hash>,
        encryption: ReplyEncryption,
    ) -> Result<DatabaseLookup> {
        if excluded.len() > MAX_EXCLUDED_PEERS {
            return Err(Error::bad_length(
                excluded.len(),
                Expected::AtMost(MAX_EXCLUDED_PEERS as u32),
                0,
            )
            .at(Field::ExcludedPeers)
            .at(Field::DatabaseLookup));
        }
        let n = encryption.tag_count();
        if n == 0 || n > MAX_REPLY_TAGS {
            return Err(
                Error::bad_length(n, Expected::Between(1, MAX_REPLY_TAGS as u32), 0)
                    .at(Field::ReplyTags)
                    .at(Field::DatabaseLookup),
            );
        }
        Ok(DatabaseLookup {
            key,
            from,
            reply_tunnel,
            lookup_type,
            excluded,
            encryption,
            reserved_flags: 0,
        })
    }

    pub fn key(&self) -> Hash {
        self.key
    }
    /// The requesting router, or the reply tunnel's gateway.
    pub fn from(&self) -> Hash {
        self.from
    }
    pub fn reply_tunnel(&self) -> Option<TunnelId> {
        self.reply_tunnel
    }
    pub fn lookup_type(&self) -> LookupType {
        self.lookup_type
    }
    pub fn excluded_peers(&self) -> &[Hash] {
        &self.excluded
    }
    pub fn reply_encryption(&self) -> &ReplyEncryption {
        &self.encryption
    }
    /// The flags byte as it is encoded.
    pub fn flags(&self) -> u8 {
        let mut f = self.reserved_flags | self.lookup_type.bits() | self.encryption.flag_bits();
        if self.reply_tunnel.is_some() {
            f |= FLAG_DELIVERY;
        }
        f
    }
}

fn read_tags<const N: usize>(r: &mut Reader<'_>) -> Result<Vec<[u8; N]>> {
    let at = r.position();
    let n = usize::from(r.u8()?);
    if n == 0 || n > MAX_REPLY_TAGS {
        return Err(Error::bad_length(
            n,
            Expected::Between(1, MAX_REPLY_TAGS as u32),
            at,
        ));
    }
    let mut tags = Vec::with_capacity(n);
    for i in 0..n {
        tags.push(r.array::<N>().at_index(Field::ReplyTags, i)?);
    }
    Ok(tags)
}

fn read_lookup(r: &mut Reader<'_>) -> Result<DatabaseLookup> {
    let key = Hash::read(r).at(Field::Key)?;
    let from = Hash::read(r).at(Field::From)?;
    let flags = r.u8().at(Field::Flags)?;
    let reply_tunnel = if flags & FLAG_DELIVERY != 0 {
        Some(TunnelId::read(r).at(Field::ReplyTunnel)?)
    } else {
        None
    };
    let lookup_type = match (flags >> 2) & 3 {
        0 => LookupType::Any,
        1 => LookupType::LeaseSet,
        2 => LookupType::RouterInfo,
        _ => LookupType::Exploration,
    };
    let size_at = r.position();
    let size = usize::from(r.u16().at(Field::ExcludedPeers)?);
    if size > MAX_EXCLUDED_PEERS {
        return Err(
            Error::bad_length(size, Expected::AtMost(MAX_EXCLUDED_PEERS as u32), size_at)
                .at(Field::ExcludedPeers),
        );
    }
    let mut excluded = Vec::with_capacity(size.min(r.remaining() / 32));
    for i in 0..size {
        excluded.push(Hash::read(r).at_index(Field::ExcludedPeers, i)?);
    }
    let encryption = match (flags & FLAG_ECIES != 0, flags & FLAG_ENCRYPTION != 0) {
        (false, false) => ReplyEncryption::None,
        (false, true) => ReplyEncryption::ElGamalAes {
            reply_key: r.array().at(Field::ReplyKey)?,
            tags: read_tags::<32>(r).at(Field::ReplyTags)?,
        },
        (true, false) => ReplyEncryption::Ratchet {
            reply_key: r.array().at(Field::ReplyKey)?,
            tags: read_tags::<8>(r).at(Field::ReplyTags)?,
        },
        (true, true) => ReplyEncryption::RatchetDh {
            ephemeral_key: r.array().at(Field::ReplyKey)?,
        },
    };
    Ok(DatabaseLookup {
        key,
        from,
        reply_tunnel,
        lookup_type,
        excluded,
        encryption,
        reserved_flags: flags & FLAG_RESERVED,
    })
}

impl Decode for DatabaseLookup {
    const NAME: Field = Field::DatabaseLookup;

    fn read(r: &mut Reader<'_>) -> Result<DatabaseLookup> {
        read_lookup(r).at(Field::DatabaseLookup)
    }
}

impl Encode for DatabaseLookup {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.key.encode_to(out);
        self.from.encode_to(out);
        out.put_u8(self.flags());
        if let Some(t) = self.reply_tunnel {
            t.encode_to(out);
        }
        out.put_u16(u16::try_from(self.excluded.len()).unwrap_or(u16::MAX));
        for h in &self.excluded {
            h.encode_to(out);
        }
        match &self.encryption {
            ReplyEncryption::None => {}
            ReplyEncryption::ElGamalAes { reply_key, tags } => {
                out.put(reply_key);
                out.put_u8(u8::try_from(tags.len()).unwrap_or(u8::MAX));
                for t in tags {
                    out.put(t);
                }
            }
            ReplyEncryption::Ratchet { reply_key, tags } => {
                out.put(reply_key);
                out.put_u8(u8::try_from(tags.len()).unwrap_or(u8::MAX));
                for t in tags {
                    out.put(t);
                }
            }
            ReplyEncryption::RatchetDh { ephemeral_key } => out.put(ephemeral_key),
        }
    }
}

/// The reply to a lookup that found nothing: peers closer to the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseSearchReply {
    key: Hash,
    peers: Vec<Hash>,
    from: Hash,
}

impl DatabaseSearchReply {
    pub fn new(key: Hash, peers: Vec<Hash>, from: Hash) -> Result<DatabaseSearchReply> {
        if peers.len() > 255 {
            return Err(Error::bad_length(peers.len(), Expected::AtMost(255), 0)
                .at(Field::PeerHashes)
                .at(Field::DatabaseSearchReply));
        }
        Ok(DatabaseSearchReply { key, peers, from })
    }
    pub fn key(&self) -> Hash {
        self.key
    }
    pub fn peers(&self) -> &[Hash] {
        &self.peers
    }
    /// Unauthenticated claim of who replied.
    pub fn from(&self) -> Hash {
        self.from
    }
}

impl Decode for DatabaseSearchReply {
    const NAME: Field = Field::DatabaseSearchReply;

    fn read(r: &mut Reader<'_>) -> Result<DatabaseSearchReply> {
        let inner = |r: &mut Reader<'_>| -> Result<DatabaseSearchReply> {
            let key = Hash::read(r).at(Field::Key)?;
            let n = r.u8().at(Field::PeerHashes)?;
            let mut peers = Vec::with_capacity(usize::from(n));
            for i in 0..usize::from(n) {
                peers.push(Hash::read(r).at_index(Field::PeerHashes, i)?);
            }
            let from = Hash::read(r).at(Field::From)?;
            Ok(DatabaseSearchReply { key, peers, from })
        };
        inner(r).at(Field::DatabaseSearchReply)
    }
}

impl Encode for DatabaseSearchReply {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.key.encode_to(out);
        out.put_u8(u8::try_from(self.peers.len()).unwrap_or(u8::MAX));
        for p in &self.peers {
            p.encode_to(out);
        }
        self.from.encode_to(out);
    }
}
