//! ECIES-X25519 tunnel build records, short (218-byte) form, for both ends of a build
//! (spec/tunnel-creation-ecies.md, "Short Record Specification"; spec/i2np.md,
//! ShortTunnelBuild = 25 and OutboundTunnelBuildReply = 26).
//!
//! # How a build works
//!
//! The creator of a tunnel writes one request per hop ([`ShortRequest`]: which tunnel ids to
//! use, where to forward, the hop's role) and encrypts it to that hop's static X25519 router
//! key with a one-way Noise `N` handshake: a fresh ephemeral key per record, one DH, one
//! ChaCha20-Poly1305 seal whose AD is the handshake hash. The 218-byte record is
//! `hash prefix (16) ‖ ephemeral key (32) ‖ sealed cleartext (154 + 16)`. The records go into
//! 4 or 8 slots in random order, unused slots filled with random bytes ([`RequestBuilder`]).
//!
//! Each hop in turn recognises its slot by the first 16 bytes of its router hash
//! ([`find_our_record`]), opens it ([`open_request`]) and derives from the handshake's final
//! chaining key a reply key, the tunnel layer key and IV key, and (outbound endpoint only) a
//! one-shot garlic key and tag for wrapping the reply ([`HopKeys`]). It then answers
//! ([`HopState::answer`]): its own slot becomes a ChaCha20-Poly1305 sealed reply
//! ([`ShortReply`], status byte last), and every other slot gets one more layer of plain
//! ChaCha20 under the same reply key, the slot number being the nonce. The message moves on
//! to the next hop; the outbound endpoint sends it back to the creator as an
//! OutboundTunnelBuildReply, the last hop of an inbound tunnel forwards it to the creator as
//! a ShortTunnelBuild.
//!
//! Because every hop layers the records after its own, the creator removes, before sending,
//! the layers that the earlier hops will add to each later hop's request (ChaCha20 is its own
//! inverse), so each hop finds its record exactly as sealed. On the way back it walks the
//! hops from last to first: open that hop's reply, then strip that hop's layer from the
//! replies of all hops before it ([`PendingBuild::read_replies`]).
//!
//! # Choices taken from i2pd 2.45.1
//!
//! The spec leaves some details open; these follow i2pd (`TunnelConfig.cpp`,
//! `I2NPProtocol.cpp` `HandleShortTunnelBuildMsg`, `RouterContext.cpp`
//! `DecryptECIESTunnelBuildRecord`, `Crypto.cpp` `InitNoiseNState` / `ChaCha20`,
//! `Tunnel.cpp` `Tunnel::Build` / `HandleTunnelBuildResponse`):
//!
//! * Noise: `h` starts as the padded protocol name, then `MixHash` of an empty prologue, of
//!   the hop's static key and of the ephemeral key; `MixKey(DH)`; AEAD nonce 0.
//! * Key schedule from `ck`, each step `ck, k = HKDF(ck, "", label)`: `SMTunnelReplyKey` →
//!   reply key, `SMTunnelLayerKey` → layer key; then the IV key is the remaining `ck` itself,
//!   except at the outbound endpoint, which takes one more step `TunnelLayerIVKey` and then
//!   `RGarlicKeyAndTag` (garlic key = the second half, tag = the first 8 bytes of the new
//!   `ck`).
//! * Reply and layer nonces: 12 bytes, zero except byte 4 = slot number (0–7).
//! * The plain ChaCha20 layer uses the keystream from block 1, the same keystream the
//!   ChaCha20-Poly1305 construction encrypts with.
//! * Reply cleartext: options Mapping at offset 0, status byte at offset 201.
//! * Flags: 0x80 inbound gateway, 0x40 outbound endpoint; the creator pads the request
//!   cleartext with zeros after an empty options Mapping.
//! * Four slots for up to four hops, eight otherwise.

#![deny(clippy::indexing_slicing)]

use i2p_crypto::aead::{chacha20_xor, decrypt_detached, encrypt_detached, noise_nonce};
use i2p_crypto::hash::hkdf2;
use i2p_crypto::{CryptoRng, SymmetricState, X25519Public, X25519Secret};
use i2p_wire::i2np::tunnel::{MAX_BUILD_RECORDS, SHORT_BUILD_RECORD_LEN};
use i2p_wire::reader::SliceSink;
use i2p_wire::{Date, Decode, Encode, Hash, Mapping, Reader, Sink, TunnelId};
use thiserror::Error;
use zeroize::Zeroizing;

/// Length of a short build record, request or reply (encrypted).
pub const RECORD_LEN: usize = SHORT_BUILD_RECORD_LEN;
/// Length of a short request record's cleartext.
pub const REQUEST_CLEARTEXT_LEN: usize = 154;
/// Length of a short reply record's cleartext.
pub const REPLY_CLEARTEXT_LEN: usize = 202;
/// Most records a build message carries.
pub const MAX_RECORDS: usize = MAX_BUILD_RECORDS;
/// Records used for builds of up to this many hops (i2pd's `STANDARD_NUM_RECORDS`).
pub const STANDARD_RECORDS: usize = 4;
/// Request flag bit: the hop is the inbound gateway.
pub const FLAG_INBOUND_GATEWAY: u8 = 0x80;
/// Request flag bit: the hop is the outbound endpoint.
pub const FLAG_OUTBOUND_ENDPOINT: u8 = 0x40;
/// The only tunnel lifetime the spec currently allows, in seconds.
pub const DEFAULT_EXPIRATION_SECS: u32 = 600;
/// Most bytes the encoded request options Mapping (with its size field) may take.
pub const MAX_REQUEST_OPTIONS_LEN: usize = REQUEST_CLEARTEXT_LEN - OPTIONS_OFFSET;
/// Most bytes the encoded reply options Mapping (with its size field) may take.
pub const MAX_REPLY_OPTIONS_LEN: usize = REPLY_STATUS_OFFSET;
/// [`ShortRequest::check_time`]: oldest request accepted, counted from its (rounded-down)
/// request minute. Our own tolerance: build round trips take seconds, plus clock skew.
pub const MAX_REQUEST_AGE_SECS: u64 = 8 * 60;
/// [`ShortRequest::check_time`]: how far in the future a request time may lie (clock skew).
pub const MAX_REQUEST_FUTURE_SECS: u64 = 5 * 60;

/// One encrypted short build record.
pub type Record = [u8; RECORD_LEN];

const PROTOCOL_NAME: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";
const TO_PEER_LEN: usize = 16;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const OPTIONS_OFFSET: usize = 56;
const REPLY_STATUS_OFFSET: usize = 201;
/// Byte offset into the ChaCha20 keystream of the record layers: block 1 (i2pd `ChaCha20`).
const LAYER_KEYSTREAM_OFFSET: u64 = 64;

/// What went wrong with a build record.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The record's 16-byte prefix is not the start of our router hash.
    #[error("build record is not for us (hash prefix differs)")]
    NotForUs,
    /// An X25519 key in the handshake is a low-order point (no usable shared secret).
    #[error("build record handshake: low-order X25519 key")]
    LowOrderKey,
    /// Our request record failed ChaCha20-Poly1305 authentication.
    #[error("request record failed authentication (corrupt, or sealed to another key)")]
    RequestAead,
    /// A hop's reply failed authentication when the creator opened it.
    #[error("reply of hop {hop} (record {index}) failed authentication")]
    ReplyAead { hop: usize, index: usize },
    /// A cleartext field is invalid.
    #[error("malformed {field} at cleartext offset {offset}: {reason}")]
    Malformed {
        field: &'static str,
        offset: usize,
        reason: &'static str,
    },
    /// The request asks for a layer encryption we do not know (only 0, AES, exists).
    #[error("unknown tunnel layer encryption type {0}")]
    UnknownLayerEncryption(u8),
    /// The flags make the hop both inbound gateway and outbound endpoint.
    #[error("request flags {0:#04x} ask for inbound gateway and outbound endpoint at once")]
    ConflictingRoles(u8),
    /// The request time is too far in the past.
    #[error("request from minute {request_minutes} is too old at {now_secs} s")]
    Expired { request_minutes: u32, now_secs: u64 },
    /// The request time is too far in the future.
    #[error("request from minute {request_minutes} lies in the future at {now_secs} s")]
    FromFuture { request_minutes: u32, now_secs: u64 },
    /// An options Mapping does not fit in its record.
    #[error("options mapping takes {len} bytes, at most {max} fit")]
    OptionsTooLong { len: usize, max: usize },
    /// A record index outside the message (or beyond the 8 slots).
    #[error("record index {index} outside a message of {count} records")]
    BadIndex { index: usize, count: usize },
    /// A message with the wrong number of records.
    #[error("{got} records, expected {expected}")]
    RecordCount { got: usize, expected: usize },
    /// A build with no hops, or more hops than records.
    #[error(
        "{hops} hops cannot be built with {records} records (1 to 8 hops, hops <= records <= 8)"
    )]
    HopCount { hops: usize, records: usize },
    /// A gateway that is not the first hop, or an endpoint that is not the last.
    #[error("hop {hop} cannot be {role:?} at that position")]
    MisplacedRole { hop: usize, role: HopRole },
    /// The Noise cipher refused to seal (cannot happen after a successful `MixKey`).
    #[error("could not seal the request record")]
    Seal,
}

/// What a hop is in the requested tunnel (request flags, bit values as i2pd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HopRole {
    /// A middle hop: neither flag.
    Participant,
    /// The inbound gateway: flag 0x80 ("accept messages from anyone").
    InboundGateway,
    /// The outbound endpoint: flag 0x40 ("send to anyone"; replies with an
    /// OutboundTunnelBuildReply).
    OutboundEndpoint,
}

impl HopRole {
    /// The role a flags byte asks for. Undefined bits are ignored, as i2pd does.
    pub fn from_flags(flags: u8) -> Result<HopRole, BuildError> {
        match (
            flags & FLAG_INBOUND_GATEWAY != 0,
            flags & FLAG_OUTBOUND_ENDPOINT != 0,
        ) {
            (true, true) => Err(BuildError::ConflictingRoles(flags)),
            (true, false) => Ok(HopRole::InboundGateway),
            (false, true) => Ok(HopRole::OutboundEndpoint),
            (false, false) => Ok(HopRole::Participant),
        }
    }

    /// The flags byte for this role.
    pub fn flags(self) -> u8 {
        match self {
            HopRole::Participant => 0,
            HopRole::InboundGateway => FLAG_INBOUND_GATEWAY,
            HopRole::OutboundEndpoint => FLAG_OUTBOUND_ENDPOINT,
        }
    }
}

/// Tunnel layer encryption named in a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum LayerEncryption {
    /// Type 0: AES-256 with the double-encrypted IV (the only one defined).
    #[default]
    Aes,
}

impl LayerEncryption {
    /// The type byte.
    pub fn code(self) -> u8 {
        match self {
            LayerEncryption::Aes => 0,
        }
    }

    /// From the type byte.
    pub fn from_code(code: u8) -> Result<LayerEncryption, BuildError> {
        match code {
            0 => Ok(LayerEncryption::Aes),
            other => Err(BuildError::UnknownLayerEncryption(other)),
        }
    }
}

/// The cleartext of a short build request (154 bytes, big-endian):
///
/// | offset | field |
/// |---|---|
/// | 0 | receive tunnel id |
/// | 4 | next tunnel id |
/// | 8 | next router hash (32) |
/// | 40 | flags |
/// | 41 | more flags (2, zero) |
/// | 43 | layer encryption type |
/// | 44 | request time, minutes since the epoch |
/// | 48 | expiration, seconds |
/// | 52 | next message id |
/// | 56 | options Mapping, then padding |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortRequest {
    /// The tunnel id the hop receives on (nonzero).
    pub receive_tunnel: TunnelId,
    /// The next hop's tunnel id; for the outbound endpoint the reply tunnel's (nonzero).
    pub next_tunnel: TunnelId,
    /// The next hop; for the outbound endpoint the reply tunnel's gateway.
    pub next_router: Hash,
    /// The hop's role (the flags byte).
    pub role: HopRole,
    /// Tunnel layer encryption.
    pub layer_encryption: LayerEncryption,
    /// When the creator made the request, minutes since the epoch (rounded down).
    pub request_time_minutes: u32,
    /// Tunnel lifetime in seconds (600 today).
    pub expiration_secs: u32,
    /// The I2NP message id of the build message the hop sends on (for the outbound endpoint,
    /// of the OutboundTunnelBuildReply).
    pub next_msg_id: u32,
    /// Build options (bandwidth parameters `m`, `r`, `l`); usually empty.
    pub options: Mapping,
}

impl ShortRequest {
    /// Parse a decrypted request. Bytes after the options Mapping are padding and ignored, as
    /// are the "more flags" and undefined flag bits.
    pub fn parse(clear: &[u8; REQUEST_CLEARTEXT_LEN]) -> Result<ShortRequest, BuildError> {
        // the fixed part is 56 bytes of a 154-byte buffer, so only the Mapping can run short
        let fixed = |_| BuildError::Malformed {
            field: "fixed fields",
            offset: 0,
            reason: "truncated",
        };
        let mut r = Reader::new(clear);
        let receive_tunnel = TunnelId(r.u32().map_err(fixed)?);
        let next_tunnel = TunnelId(r.u32().map_err(fixed)?);
        let next_router = Hash::from_bytes(r.array::<32>().map_err(fixed)?);
        let flags = r.u8().map_err(fixed)?;
        let _more_flags = r.u16().map_err(fixed)?;
        let layer_type = r.u8().map_err(fixed)?;
        let request_time_minutes = r.u32().map_err(fixed)?;
        let expiration_secs = r.u32().map_err(fixed)?;
        let next_msg_id = r.u32().map_err(fixed)?;
        let options = Mapping::read(&mut r).map_err(|_| BuildError::Malformed {
            field: "options",
            offset: OPTIONS_OFFSET,
            reason: "not a Mapping that fits in the record",
        })?;
        if receive_tunnel.0 == 0 {
            return Err(BuildError::Malformed {
                field: "receive tunnel id",
                offset: 0,
                reason: "zero",
            });
        }
        if next_tunnel.0 == 0 {
            return Err(BuildError::Malformed {
                field: "next tunnel id",
                offset: 4,
                reason: "zero",
            });
        }
        Ok(ShortRequest {
            receive_tunnel,
            next_tunnel,
            next_router,
            role: HopRole::from_flags(flags)?,
            layer_encryption: LayerEncryption::from_code(layer_type)?,
            request_time_minutes,
            expiration_secs,
            next_msg_id,
            options,
        })
    }

    /// The cleartext as the creator writes it: fields, options, zero padding (as i2pd).
    pub fn to_cleartext(&self) -> Result<[u8; REQUEST_CLEARTEXT_LEN], BuildError> {
        let len = self.options.encoded_len();
        if len > MAX_REQUEST_OPTIONS_LEN {
            return Err(BuildError::OptionsTooLong {
                len,
                max: MAX_REQUEST_OPTIONS_LEN,
            });
        }
        let mut clear = [0u8; REQUEST_CLEARTEXT_LEN];
        let mut out = SliceSink::new(&mut clear);
        out.put_u32(self.receive_tunnel.0);
        out.put_u32(self.next_tunnel.0);
        out.put(self.next_router.as_bytes());
        out.put_u8(self.role.flags());
        out.put_u16(0);
        out.put_u8(self.layer_encryption.code());
        out.put_u32(self.request_time_minutes);
        out.put_u32(self.expiration_secs);
        out.put_u32(self.next_msg_id);
        self.options.encode_to(&mut out);
        if out.overflowed() {
            return Err(BuildError::OptionsTooLong {
                len,
                max: MAX_REQUEST_OPTIONS_LEN,
            });
        }
        Ok(clear)
    }

    /// Refuse a request whose time is more than [`MAX_REQUEST_AGE_SECS`] before `now` or more
    /// than [`MAX_REQUEST_FUTURE_SECS`] after it (i2pd 2.45.1 does not check; the spec gives
    /// no bounds).
    pub fn check_time(&self, now: Date) -> Result<(), BuildError> {
        let now_secs = now.as_secs();
        let at = u64::from(self.request_time_minutes).saturating_mul(60);
        if at.saturating_add(MAX_REQUEST_AGE_SECS) < now_secs {
            return Err(BuildError::Expired {
                request_minutes: self.request_time_minutes,
                now_secs,
            });
        }
        if at > now_secs.saturating_add(MAX_REQUEST_FUTURE_SECS) {
            return Err(BuildError::FromFuture {
                request_minutes: self.request_time_minutes,
                now_secs,
            });
        }
        Ok(())
    }
}

/// The status byte of a build reply (spec/elgamal-tunnel-creation.md lists the codes; ECIES
/// hops are told to use only 0 and 30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BuildReplyCode(pub u8);

impl BuildReplyCode {
    /// The hop takes part in the tunnel.
    pub const ACCEPT: BuildReplyCode = BuildReplyCode(0);
    /// TUNNEL_REJECT_PROBABALISTIC_REJECT.
    pub const PROBABILISTIC_REJECT: BuildReplyCode = BuildReplyCode(10);
    /// TUNNEL_REJECT_TRANSIENT_OVERLOAD.
    pub const TRANSIENT_OVERLOAD: BuildReplyCode = BuildReplyCode(20);
    /// TUNNEL_REJECT_BANDWIDTH: the rejection routers send for every reason.
    pub const BANDWIDTH: BuildReplyCode = BuildReplyCode(30);
    /// TUNNEL_REJECT_CRIT.
    pub const CRITICAL: BuildReplyCode = BuildReplyCode(50);

    /// True for [`BuildReplyCode::ACCEPT`].
    pub fn is_accept(self) -> bool {
        self.0 == 0
    }
}

/// The cleartext of a short build reply (202 bytes): options Mapping at offset 0, padding,
/// status byte at offset 201.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortReply {
    /// Reply options (bandwidth parameter `b`); i2pd sends none.
    pub options: Mapping,
    /// Accept or reject.
    pub code: BuildReplyCode,
}

impl ShortReply {
    /// Parse a decrypted reply. Bytes between the Mapping and the status byte are padding.
    pub fn parse(clear: &[u8; REPLY_CLEARTEXT_LEN]) -> Result<ShortReply, BuildError> {
        let bad = BuildError::Malformed {
            field: "reply options",
            offset: 0,
            reason: "not a Mapping that fits before the status byte",
        };
        let (status, body) = clear.split_last().ok_or_else(|| bad.clone())?;
        let options = Mapping::read(&mut Reader::new(body)).map_err(|_| bad)?;
        Ok(ShortReply {
            options,
            code: BuildReplyCode(*status),
        })
    }

    /// The cleartext: options, zero padding, status.
    pub fn to_cleartext(&self) -> Result<[u8; REPLY_CLEARTEXT_LEN], BuildError> {
        reply_cleartext(&self.options, self.code)
    }
}

fn reply_cleartext(
    options: &Mapping,
    code: BuildReplyCode,
) -> Result<[u8; REPLY_CLEARTEXT_LEN], BuildError> {
    let len = options.encoded_len();
    let too_long = BuildError::OptionsTooLong {
        len,
        max: MAX_REPLY_OPTIONS_LEN,
    };
    let mut clear = [0u8; REPLY_CLEARTEXT_LEN];
    let (status, body) = clear.split_last_mut().ok_or_else(|| too_long.clone())?;
    if len > body.len() {
        return Err(too_long);
    }
    let mut out = SliceSink::new(body);
    options.encode_to(&mut out);
    if out.overflowed() {
        return Err(too_long);
    }
    *status = code.0;
    Ok(clear)
}

/// The outbound endpoint's one-shot key and tag for garlic-wrapping the
/// OutboundTunnelBuildReply to the creator (an ECIES "existing session" message).
#[derive(Clone)]
pub struct GarlicReplyKey {
    key: Zeroizing<[u8; 32]>,
    tag: [u8; 8],
}

impl GarlicReplyKey {
    /// The ChaCha20-Poly1305 key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The session tag, as the 8 bytes that go on the wire.
    pub fn tag(&self) -> &[u8; 8] {
        &self.tag
    }
}

impl std::fmt::Debug for GarlicReplyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GarlicReplyKey([redacted])")
    }
}

/// The keys one hop shares with the creator, derived from the handshake's chaining key.
#[derive(Clone)]
pub struct HopKeys {
    layer_key: Zeroizing<[u8; 32]>,
    iv_key: Zeroizing<[u8; 32]>,
    reply_key: Zeroizing<[u8; 32]>,
    garlic_reply: Option<GarlicReplyKey>,
}

impl HopKeys {
    /// AES-256 key for the tunnel data layer.
    pub fn layer_key(&self) -> &[u8; 32] {
        &self.layer_key
    }

    /// AES-256 key for the tunnel IV.
    pub fn iv_key(&self) -> &[u8; 32] {
        &self.iv_key
    }

    /// ChaCha20(-Poly1305) key for the hop's reply and its layer over the other records.
    pub fn reply_key(&self) -> &[u8; 32] {
        &self.reply_key
    }

    /// Outbound endpoint only: the key and tag for the reply's garlic wrapping.
    pub fn garlic_reply(&self) -> Option<&GarlicReplyKey> {
        self.garlic_reply.as_ref()
    }

    /// The key schedule after the handshake (see the module docs).
    fn derive(ck: &[u8; 32], role: HopRole) -> HopKeys {
        let (ck, reply_key) = hkdf2(ck, &[], b"SMTunnelReplyKey");
        let (ck, layer_key) = hkdf2(&*ck, &[], b"SMTunnelLayerKey");
        if role != HopRole::OutboundEndpoint {
            // the IV key is the last chaining key itself
            return HopKeys {
                layer_key,
                iv_key: ck,
                reply_key,
                garlic_reply: None,
            };
        }
        let (ck, iv_key) = hkdf2(&*ck, &[], b"TunnelLayerIVKey");
        let (ck, key) = hkdf2(&*ck, &[], b"RGarlicKeyAndTag");
        let mut tag = [0u8; 8];
        for (t, c) in tag.iter_mut().zip(ck.iter()) {
            *t = *c;
        }
        HopKeys {
            layer_key,
            iv_key,
            reply_key,
            garlic_reply: Some(GarlicReplyKey { key, tag }),
        }
    }

    /// Add (or remove) this hop's ChaCha20 layer on the record in slot `index`.
    fn layer(&self, record: &mut Record, index: usize) {
        chacha20_xor(
            &self.reply_key,
            &slot_nonce(index),
            LAYER_KEYSTREAM_OFFSET,
            record,
        );
    }
}

impl std::fmt::Debug for HopKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HopKeys")
            .field("garlic_reply", &self.garlic_reply.is_some())
            .finish_non_exhaustive()
    }
}

/// The 12-byte nonce for slot `index`: zero but for byte 4 (indices are below 8).
fn slot_nonce(index: usize) -> [u8; 12] {
    noise_nonce(u64::try_from(index).unwrap_or(u64::MAX))
}

/// Noise `N` up to the ephemeral key: protocol name, empty prologue, the hop's static key.
fn handshake_start(hop_static: &X25519Public) -> SymmetricState {
    let mut ss = SymmetricState::new(PROTOCOL_NAME);
    ss.mix_hash(&[]);
    ss.mix_hash(hop_static.as_bytes());
    ss
}

/// Copy `src` across `parts` in order (lengths are the caller's contract; nothing panics).
fn scatter(src: &[u8], parts: &mut [&mut [u8]]) {
    let dst = parts.iter_mut().flat_map(|p| p.iter_mut());
    for (d, s) in dst.zip(src) {
        *d = *s;
    }
}

/// The first slot whose 16-byte prefix matches our router hash.
pub fn find_our_record(records: &[Record], our_hash: &Hash) -> Option<usize> {
    records.iter().position(|r| is_for(r, our_hash))
}

fn is_for(record: &Record, hash: &Hash) -> bool {
    record
        .iter()
        .take(TO_PEER_LEN)
        .eq(hash.as_bytes().iter().take(TO_PEER_LEN))
}

/// What a hop keeps after opening its record: its role, its keys, and the handshake hash
/// that authenticates its reply.
pub struct HopState {
    role: HopRole,
    keys: HopKeys,
    h: [u8; 32],
}

impl std::fmt::Debug for HopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HopState")
            .field("role", &self.role)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Open the request record addressed to us: check the hash prefix, run the Noise `N`
/// handshake with our static router key, parse the cleartext and derive our keys.
///
/// The request time is not checked here; see [`ShortRequest::check_time`].
pub fn open_request(
    record: &Record,
    our_static: &X25519Secret,
    our_hash: &Hash,
) -> Result<(ShortRequest, HopState), BuildError> {
    if !is_for(record, our_hash) {
        return Err(BuildError::NotForUs);
    }
    let mut prefix = [0u8; TO_PEER_LEN];
    let mut ephemeral = [0u8; KEY_LEN];
    let mut sealed = Zeroizing::new([0u8; REQUEST_CLEARTEXT_LEN + TAG_LEN]);
    scatter(record, &mut [&mut prefix, &mut ephemeral, &mut *sealed]);
    let ephemeral = X25519Public(ephemeral);

    let mut ss = handshake_start(&our_static.public());
    ss.mix_hash(ephemeral.as_bytes());
    let shared = our_static
        .dh(&ephemeral)
        .map_err(|_| BuildError::LowOrderKey)?;
    ss.mix_key(&*shared);
    ss.decrypt_and_hash_in_place(&mut *sealed)
        .map_err(|_| BuildError::RequestAead)?;

    let mut clear = Zeroizing::new([0u8; REQUEST_CLEARTEXT_LEN]);
    scatter(&*sealed, &mut [&mut *clear]);
    let request = ShortRequest::parse(&clear)?;
    let state = HopState {
        role: request.role,
        keys: HopKeys::derive(ss.ck(), request.role),
        h: *ss.h(),
    };
    Ok((request, state))
}

impl HopState {
    /// Our role in the tunnel.
    pub fn role(&self) -> HopRole {
        self.role
    }

    /// Our keys for the tunnel (and, as outbound endpoint, for the reply's garlic).
    pub fn keys(&self) -> &HopKeys {
        &self.keys
    }

    /// The sealed reply that replaces our record in slot `index`: options, zero padding
    /// (hidden by the cipher), the status byte; ChaCha20-Poly1305 with our reply key, the
    /// slot as nonce and the handshake hash as AD.
    pub fn reply(
        &self,
        index: usize,
        code: BuildReplyCode,
        options: &Mapping,
    ) -> Result<Record, BuildError> {
        if index >= MAX_RECORDS {
            return Err(BuildError::BadIndex {
                index,
                count: MAX_RECORDS,
            });
        }
        let mut body = reply_cleartext(options, code)?;
        let tag = encrypt_detached(&self.keys.reply_key, &slot_nonce(index), &self.h, &mut body);
        let mut record = [0u8; RECORD_LEN];
        scatter(
            &[body.as_slice(), tag.as_slice()].concat(),
            &mut [&mut record],
        );
        Ok(record)
    }

    /// Add our ChaCha20 layer to every record except ours (slot `our_index`), each with its
    /// own slot number as nonce.
    pub fn encrypt_other_records(
        &self,
        records: &mut [Record],
        our_index: usize,
    ) -> Result<(), BuildError> {
        check_slot(records.len(), our_index)?;
        for (j, record) in records.iter_mut().enumerate() {
            if j != our_index {
                self.keys.layer(record, j);
            }
        }
        Ok(())
    }

    /// Answer in place, as a hop does before passing the message on: our slot becomes the
    /// sealed reply, every other slot gets our layer.
    pub fn answer(
        &self,
        records: &mut [Record],
        our_index: usize,
        code: BuildReplyCode,
        options: &Mapping,
    ) -> Result<(), BuildError> {
        check_slot(records.len(), our_index)?;
        let reply = self.reply(our_index, code, options)?;
        self.encrypt_other_records(records, our_index)?;
        let count = records.len();
        let ours = records.get_mut(our_index).ok_or(BuildError::BadIndex {
            index: our_index,
            count,
        })?;
        *ours = reply;
        Ok(())
    }
}

fn check_slot(count: usize, index: usize) -> Result<(), BuildError> {
    if count == 0 || count > MAX_RECORDS {
        return Err(BuildError::RecordCount {
            got: count,
            expected: MAX_RECORDS,
        });
    }
    if index >= count {
        return Err(BuildError::BadIndex { index, count });
    }
    Ok(())
}

/// What the creator needs to know about a hop from its RouterInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopPeer {
    /// The hop's router identity hash (its first 16 bytes address the record).
    pub router_hash: Hash,
    /// The hop's static X25519 encryption key from its RouterIdentity.
    pub static_key: X25519Public,
}

/// The creator's view of one hop after sealing its request: where its record went, the
/// handshake hash for its reply and the keys it will share with us.
#[derive(Clone)]
pub struct CreatorHopState {
    router_hash: Hash,
    role: HopRole,
    index: usize,
    keys: HopKeys,
    h: [u8; 32],
}

impl std::fmt::Debug for CreatorHopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatorHopState")
            .field("router_hash", &self.router_hash.to_base64())
            .field("role", &self.role)
            .field("index", &self.index)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl CreatorHopState {
    /// The hop's router hash.
    pub fn router_hash(&self) -> &Hash {
        &self.router_hash
    }

    /// The hop's role.
    pub fn role(&self) -> HopRole {
        self.role
    }

    /// The slot the hop's record occupies.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The keys shared with the hop.
    pub fn keys(&self) -> &HopKeys {
        &self.keys
    }

    /// Open this hop's reply once every later hop's layer is gone.
    fn open_reply(&self, record: &Record, hop: usize) -> Result<ShortReply, BuildError> {
        let mut body = Zeroizing::new([0u8; REPLY_CLEARTEXT_LEN]);
        let mut tag = [0u8; TAG_LEN];
        scatter(record, &mut [&mut *body, &mut tag]);
        decrypt_detached(
            &self.keys.reply_key,
            &slot_nonce(self.index),
            &self.h,
            &mut *body,
            &tag,
        )
        .map_err(|_| BuildError::ReplyAead {
            hop,
            index: self.index,
        })?;
        ShortReply::parse(&body)
    }
}

/// Seal `request` to `peer` (Noise `N`), leaving the record's slot to the caller.
fn seal_request<R: CryptoRng + ?Sized>(
    request: &ShortRequest,
    peer: &HopPeer,
    rng: &mut R,
) -> Result<(Record, HopKeys, [u8; 32]), BuildError> {
    let mut clear = Zeroizing::new(request.to_cleartext()?);
    let ephemeral = X25519Secret::generate(rng);
    let ephemeral_pub = ephemeral.public();
    let mut ss = handshake_start(&peer.static_key);
    ss.mix_hash(ephemeral_pub.as_bytes());
    let shared = ephemeral
        .dh(&peer.static_key)
        .map_err(|_| BuildError::LowOrderKey)?;
    ss.mix_key(&*shared);
    let tag = ss
        .encrypt_and_hash_in_place(&mut *clear)
        .map_err(|_| BuildError::Seal)?
        .ok_or(BuildError::Seal)?;
    let prefix = peer.router_hash.as_bytes().iter().take(TO_PEER_LEN);
    let record_bytes: Vec<u8> = prefix
        .chain(ephemeral_pub.as_bytes())
        .chain(clear.iter())
        .chain(tag.iter())
        .copied()
        .collect();
    let mut record = [0u8; RECORD_LEN];
    scatter(&record_bytes, &mut [&mut record]);
    Ok((record, HopKeys::derive(ss.ck(), request.role), *ss.h()))
}

/// A uniform index below `bound` (> 0) without modulo bias.
fn below<R: CryptoRng + ?Sized>(rng: &mut R, bound: usize) -> usize {
    let bound32 = u32::try_from(bound).unwrap_or(u32::MAX).max(1);
    // values below `cut` would favour small results
    let cut = bound32.wrapping_neg() % bound32;
    loop {
        let x = rng.next_u32();
        if x >= cut {
            return usize::try_from(x % bound32).unwrap_or(0);
        }
    }
}

/// Assembles the records of a new tunnel's build message (the creator's side).
///
/// Add the hops in path order (for an outbound tunnel from the first hop after us to the
/// endpoint, for an inbound tunnel from the gateway to the hop before us), each with its
/// request; [`RequestBuilder::build`] seals every request, shuffles the slots, fills unused
/// slots with random bytes and pre-removes the earlier hops' layers.
#[derive(Debug, Default)]
pub struct RequestBuilder {
    hops: Vec<(HopPeer, ShortRequest)>,
    record_count: Option<usize>,
}

impl RequestBuilder {
    /// An empty build.
    pub fn new() -> RequestBuilder {
        RequestBuilder::default()
    }

    /// Append the next hop of the path.
    pub fn hop(mut self, peer: HopPeer, request: ShortRequest) -> RequestBuilder {
        self.hops.push((peer, request));
        self
    }

    /// Use `count` slots instead of i2pd's choice (4 for up to 4 hops, else 8).
    pub fn record_count(mut self, count: usize) -> RequestBuilder {
        self.record_count = Some(count);
        self
    }

    /// Seal, shuffle, pad and pre-layer. Returns the records for a ShortTunnelBuild message
    /// and the state needed to read the replies.
    pub fn build<R: CryptoRng + ?Sized>(
        self,
        rng: &mut R,
    ) -> Result<(Vec<Record>, PendingBuild), BuildError> {
        let hops = self.hops.len();
        let records = self.record_count.unwrap_or(if hops <= STANDARD_RECORDS {
            STANDARD_RECORDS
        } else {
            MAX_RECORDS
        });
        if hops == 0 || hops > records || records > MAX_RECORDS {
            return Err(BuildError::HopCount { hops, records });
        }
        for (k, (_, req)) in self.hops.iter().enumerate() {
            let misplaced = match req.role {
                HopRole::InboundGateway => k != 0,
                HopRole::OutboundEndpoint => k + 1 != hops,
                HopRole::Participant => false,
            };
            if misplaced {
                return Err(BuildError::MisplacedRole {
                    hop: k,
                    role: req.role,
                });
            }
        }

        // slot of path position k = slots[k]; the slots after the hops stay fake
        let mut slots: Vec<usize> = (0..records).collect();
        for i in (1..records).rev() {
            let j = below(rng, i + 1);
            slots.swap(i, j);
        }
        let mut out = vec![[0u8; RECORD_LEN]; records];
        for record in out.iter_mut() {
            rng.fill_bytes(record);
        }

        let mut states: Vec<CreatorHopState> = Vec::with_capacity(hops);
        for ((peer, request), &index) in self.hops.iter().zip(&slots) {
            let (mut record, keys, h) = seal_request(request, peer, rng)?;
            // each earlier hop will layer this record on its way; undo that in advance
            for earlier in &states {
                earlier.keys.layer(&mut record, index);
            }
            let slot = out.get_mut(index).ok_or(BuildError::BadIndex {
                index,
                count: records,
            })?;
            *slot = record;
            states.push(CreatorHopState {
                router_hash: peer.router_hash,
                role: request.role,
                index,
                keys,
                h,
            });
        }
        Ok((
            out,
            PendingBuild {
                hops: states,
                record_count: records,
            },
        ))
    }
}

/// A build on its way: per hop (in path order) the creator's state, until the reply comes.
#[derive(Debug, Clone)]
pub struct PendingBuild {
    hops: Vec<CreatorHopState>,
    record_count: usize,
}

impl PendingBuild {
    /// The hops in path order.
    pub fn hops(&self) -> &[CreatorHopState] {
        &self.hops
    }

    /// How many records the build message carries.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// Read every hop's reply from the returned records (the OutboundTunnelBuildReply, or the
    /// ShortTunnelBuild arriving at the end of an inbound tunnel). From the last hop back to
    /// the first: open its reply, then strip its layer from the earlier hops' records.
    /// Replies come back in path order. Any reply failing authentication fails the build.
    pub fn read_replies(&self, records: &[Record]) -> Result<Vec<ShortReply>, BuildError> {
        if records.len() != self.record_count {
            return Err(BuildError::RecordCount {
                got: records.len(),
                expected: self.record_count,
            });
        }
        let mut work = records.to_vec();
        let mut replies = Vec::with_capacity(self.hops.len());
        for (k, hop) in self.hops.iter().enumerate().rev() {
            let record = work.get(hop.index).ok_or(BuildError::BadIndex {
                index: hop.index,
                count: records.len(),
            })?;
            replies.push(hop.open_reply(record, k)?);
            for earlier in self.hops.iter().take(k) {
                if let Some(r) = work.get_mut(earlier.index) {
                    hop.keys.layer(r, earlier.index);
                }
            }
        }
        replies.reverse();
        Ok(replies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_crypto::sha256;

    /// i2pd `InitNoiseNState` hard-codes SHA-256 of the padded protocol name (the state after
    /// the empty prologue); ours must reach the same bytes.
    #[test]
    fn initial_state_matches_i2pd_constant() {
        let mut ss = SymmetricState::new(PROTOCOL_NAME);
        ss.mix_hash(&[]);
        let want: [u8; 32] = [
            0x69, 0x4d, 0x52, 0x44, 0x5a, 0x27, 0xd9, 0xad, 0xfa, 0xd2, 0x9c, 0x76, 0x32, 0x39,
            0x5d, 0xc1, 0xe4, 0x35, 0x4c, 0x69, 0xb4, 0xf9, 0x2e, 0xac, 0x8a, 0x1e, 0xe4, 0x6a,
            0x9e, 0xd2, 0x15, 0x54,
        ];
        assert_eq!(ss.h(), &want);
        let mut padded = [0u8; 32];
        padded[..31].copy_from_slice(PROTOCOL_NAME);
        assert_eq!(ss.ck(), &padded);
        // and the start from a static key is one more MixHash of it
        let key = X25519Public([0x42; 32]);
        let mut cat = want.to_vec();
        cat.extend_from_slice(&[0x42; 32]);
        assert_eq!(handshake_start(&key).h(), &sha256(&cat));
    }

    /// The key schedule written out step by step with raw HKDF, as the spec's KDF block.
    #[test]
    fn key_schedule_labels_and_order() {
        let ck0 = [0x11u8; 32];
        let step = |ck: &[u8], label: &[u8]| {
            let mut out = [0u8; 64];
            i2p_crypto::hkdf(ck, &[], label, &mut out);
            let (a, b) = out.split_at(32);
            (
                <[u8; 32]>::try_from(a).unwrap(),
                <[u8; 32]>::try_from(b).unwrap(),
            )
        };
        let (ck1, reply) = step(&ck0, b"SMTunnelReplyKey");
        let (ck2, layer) = step(&ck1, b"SMTunnelLayerKey");
        let mid = HopKeys::derive(&ck0, HopRole::Participant);
        assert_eq!(mid.reply_key(), &reply);
        assert_eq!(mid.layer_key(), &layer);
        assert_eq!(mid.iv_key(), &ck2);
        assert!(mid.garlic_reply().is_none());
        assert_eq!(
            HopKeys::derive(&ck0, HopRole::InboundGateway).iv_key(),
            &ck2
        );

        let (ck3, iv) = step(&ck2, b"TunnelLayerIVKey");
        let (ck4, garlic) = step(&ck3, b"RGarlicKeyAndTag");
        let obep = HopKeys::derive(&ck0, HopRole::OutboundEndpoint);
        assert_eq!(obep.reply_key(), &reply);
        assert_eq!(obep.layer_key(), &layer);
        assert_eq!(obep.iv_key(), &iv);
        let g = obep.garlic_reply().unwrap();
        assert_eq!(g.key(), &garlic);
        assert_eq!(g.tag(), &ck4[..8]);
    }

    /// i2pd's record layer starts the ChaCha20 counter at 1, i.e. it is exactly the keystream
    /// ChaCha20-Poly1305 encrypts with; the nonce has the slot number in byte 4.
    #[test]
    fn record_layer_is_the_aead_keystream_with_slot_nonce() {
        let keys = HopKeys::derive(&[7; 32], HopRole::Participant);
        let mut layered = [0u8; RECORD_LEN];
        keys.layer(&mut layered, 5);
        let mut nonce = [0u8; 12];
        nonce[4] = 5;
        assert_eq!(slot_nonce(5), nonce);
        let mut aead = [0u8; RECORD_LEN];
        let _ = encrypt_detached(keys.reply_key(), &nonce, b"any ad", &mut aead);
        assert_eq!(layered, aead);
    }

    #[test]
    fn flags_and_roles() {
        assert_eq!(HopRole::from_flags(0).unwrap(), HopRole::Participant);
        assert_eq!(HopRole::from_flags(0x80).unwrap(), HopRole::InboundGateway);
        assert_eq!(
            HopRole::from_flags(0x40).unwrap(),
            HopRole::OutboundEndpoint
        );
        // undefined bits ignored
        assert_eq!(HopRole::from_flags(0x01).unwrap(), HopRole::Participant);
        assert_eq!(
            HopRole::from_flags(0xc0).unwrap_err(),
            BuildError::ConflictingRoles(0xc0)
        );
        for r in [
            HopRole::Participant,
            HopRole::InboundGateway,
            HopRole::OutboundEndpoint,
        ] {
            assert_eq!(HopRole::from_flags(r.flags()).unwrap(), r);
        }
    }

    #[test]
    fn reply_cleartext_layout() {
        let options = Mapping::from_pairs([("b", "512")]).unwrap();
        let reply = ShortReply {
            options: options.clone(),
            code: BuildReplyCode::BANDWIDTH,
        };
        let c = reply.to_cleartext().unwrap();
        assert_eq!(&c[..2], &[0, 8]);
        assert_eq!(&c[2..10], b"\x01b=\x03512;");
        assert!(c[10..201].iter().all(|&b| b == 0));
        assert_eq!(c[201], 30);
        assert_eq!(ShortReply::parse(&c).unwrap(), reply);
        // i2pd: two zero bytes, leftover junk, status
        let mut i2pd = [0xa5u8; REPLY_CLEARTEXT_LEN];
        i2pd[0] = 0;
        i2pd[1] = 0;
        i2pd[201] = 0;
        let parsed = ShortReply::parse(&i2pd).unwrap();
        assert!(parsed.options.is_empty());
        assert!(parsed.code.is_accept());
    }

    #[test]
    fn time_window() {
        let mut req = ShortRequest {
            receive_tunnel: TunnelId(1),
            next_tunnel: TunnelId(2),
            next_router: Hash::from_bytes([3; 32]),
            role: HopRole::Participant,
            layer_encryption: LayerEncryption::Aes,
            request_time_minutes: 28_000_000,
            expiration_secs: DEFAULT_EXPIRATION_SECS,
            next_msg_id: 4,
            options: Mapping::empty(),
        };
        let at = 28_000_000u64 * 60;
        assert!(req.check_time(Date::from_secs(at + 59)).is_ok());
        assert!(
            req.check_time(Date::from_secs(at + MAX_REQUEST_AGE_SECS))
                .is_ok()
        );
        assert!(matches!(
            req.check_time(Date::from_secs(at + MAX_REQUEST_AGE_SECS + 1)),
            Err(BuildError::Expired { .. })
        ));
        assert!(
            req.check_time(Date::from_secs(at - MAX_REQUEST_FUTURE_SECS))
                .is_ok()
        );
        assert!(matches!(
            req.check_time(Date::from_secs(at - MAX_REQUEST_FUTURE_SECS - 1)),
            Err(BuildError::FromFuture { .. })
        ));
        // extreme values saturate instead of overflowing
        req.request_time_minutes = u32::MAX;
        assert!(matches!(
            req.check_time(Date::ZERO),
            Err(BuildError::FromFuture { .. })
        ));
        req.request_time_minutes = 0;
        assert!(matches!(
            req.check_time(Date::from_millis(u64::MAX)),
            Err(BuildError::Expired { .. })
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let keys = HopKeys::derive(&[0x5a; 32], HopRole::OutboundEndpoint);
        let text = format!("{keys:?} {:?}", keys.garlic_reply());
        let hex: String = keys.reply_key()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!text.contains(&hex), "{text}");
        assert!(!text.contains(&format!("{:?}", keys.reply_key()[0..4].to_vec())));
    }
}
