//! The garlic sessions of one local Destination (spec/ecies.md, "Sessions", "1f)"–"1h)", "4)
//! Ratchets"), with the behaviour of i2pd 2.45.1 (libi2pd/ECIESX25519AEADRatchetSession.cpp,
//! libi2pd/Garlic.cpp) where the spec leaves a choice:
//!
//! - An initiator sends a fresh NS (new ephemeral key, new NSR tag set of 12 tags) for every
//!   message until an NSR arrives; i2pd creates a new session object per NS and only the one
//!   that receives an NSR first is kept. We keep up to `max_handshakes` NS states per remote.
//! - A responder answers each NS with NSRs whose Elligator2 key is generated once per NS and
//!   reused for repeated NSRs to it (only the tag, and so `h`, changes), so every NSR of one NS
//!   leads to the same Existing Session tag sets. The responder sends ES only after an ES
//!   arrived on that handshake's tag set.
//! - NS and NSR payloads start with a DateTime block; the NSR payload key is
//!   `HKDF(k_ba, ZEROLEN, "AttachPayloadKDF", 32)` with nonce 0 and `ad = h`, where
//!   `k_ab ‖ k_ba = HKDF(ck, ZEROLEN, "", 64)` also seed the ES tag sets (initiator sends on
//!   `k_ab`).
//! - Receive windows: 12 tags for an NSR tag set, 24 for a fresh ES tag set, 320 after a DH
//!   ratchet, growing as `24 + N/4` (at most 320) ahead of the last received index and trimmed
//!   320 behind it.
//! - DH ratchet: the tag sender starts a NextKey exchange after sending index 8192 and repeats
//!   its forward key in every message until the reverse key comes back; key ids and tag set
//!   ids follow i2pd's sequence (new key 0, new 1, old 1, new 2, old 2, …; tag set
//!   `1 + sender id + receiver id`). A receiver answers every forward key (duplicates too) with
//!   one reverse key block and keeps the previous receive tag set for 3 minutes.
//! - ACK requests are answered with (tag set id, N) in an ACK block of the next message.

use std::collections::{BTreeMap, HashMap};

use i2p_crypto::aead;
use i2p_crypto::elligator2::{self, Representative};
use i2p_crypto::hash::hkdf2;
use i2p_crypto::{CryptoRng, SymmetricState, X25519Public, X25519Secret, sha256_parts};
use zeroize::Zeroizing;

use crate::block::{
    Block, BlockError, Clove, NextKey, encode_payload, next_key_flag, parse_payload,
};
use crate::replay::ReplayWindow;
use crate::tagset::{TagSet, hkdf32, info};

/// Noise protocol name of the New Session handshake (spec/ecies.md, "KDF for Initial
/// ChainKey").
pub const PROTOCOL_NAME: &[u8] = b"Noise_IKelg2+hs2_25519_ChaChaPoly_SHA256";

const NS_MIN_LEN: usize = 32 + 48 + 16;
const NSR_MIN_LEN: usize = 8 + 32 + 16 + 16;
const ES_MIN_LEN: usize = 8 + 16;
/// The largest Garlic data `i2p_wire::i2np::Garlic` accepts.
const MAX_GARLIC_DATA: usize = i2p_wire::i2np::simple::MAX_LENGTH_PREFIXED;

/// Tunables. Defaults are i2pd 2.45.1's constants (ECIESX25519AEADRatchetSession.h).
#[derive(Clone, Debug)]
pub struct GarlicConfig {
    /// Send index after which the tag sender starts a DH ratchet (i2pd: 8192).
    pub ratchet_threshold: u16,
    /// Receive window of a fresh ES tag set and its minimum lookahead (i2pd: 24).
    pub min_inbound_tags: u16,
    /// Largest receive lookahead, window after a DH ratchet, and trim distance (i2pd: 320).
    pub max_inbound_tags: u16,
    /// Tags generated for the NSR tag set of an NS we sent (i2pd: 12).
    pub nsr_inbound_tags: u16,
    /// How long a receive tag set stays after it was replaced by a DH ratchet (i2pd: 180 s).
    pub previous_tagset_lifetime_ms: u64,
    /// How long an NS we sent waits for NSRs, and an NS we received waits for an ES (i2pd
    /// expires the NSR tag set after 180 s).
    pub handshake_lifetime_ms: u64,
    /// A session ends when nothing was received for this long … (i2pd: 600 s)
    pub receive_expiry_ms: u64,
    /// … and nothing was sent for this long (i2pd: 480 s).
    pub send_expiry_ms: u64,
    /// A session older than this may be replaced by a new handshake (i2pd: 120 s).
    pub restart_after_ms: u64,
    /// An old enough session that received nothing for this long is restarted with a new NS
    /// on the next send (i2pd: 90 s).
    pub inactivity_restart_ms: u64,
    /// How long a response we owe (NSR, ES after NSR, reverse key, ACK) waits for outgoing
    /// traffic to ride on before [`Sessions::poll_transmit`] sends it alone (spec: ~1 s).
    pub response_delay_ms: u64,
    /// NS messages whose DateTime is further than this from `now` are refused.
    pub ns_max_clock_skew_ms: u64,
    /// How long NS ephemeral keys are remembered to refuse replays (must exceed twice the skew).
    pub ns_replay_window_ms: u64,
    /// At most this many remembered NS ephemeral keys.
    pub max_replay_entries: usize,
    /// At most this many pending handshakes per remote and direction.
    pub max_handshakes: usize,
    /// At most this many remotes with state.
    pub max_peers: usize,
}

impl Default for GarlicConfig {
    fn default() -> Self {
        GarlicConfig {
            ratchet_threshold: 8192,
            min_inbound_tags: 24,
            max_inbound_tags: 320,
            nsr_inbound_tags: 12,
            previous_tagset_lifetime_ms: 180_000,
            handshake_lifetime_ms: 180_000,
            receive_expiry_ms: 600_000,
            send_expiry_ms: 480_000,
            restart_after_ms: 120_000,
            inactivity_restart_ms: 90_000,
            response_delay_ms: 1_000,
            ns_max_clock_skew_ms: 300_000,
            ns_replay_window_ms: 660_000,
            max_replay_entries: 200_000,
            max_handshakes: 8,
            max_peers: 8_192,
        }
    }
}

/// Why a garlic message could not be opened or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GarlicError {
    #[error("garlic message too short ({len} bytes)")]
    TooShort { len: usize },
    #[error("session tag is not one of ours and the message is no New Session")]
    UnknownTag,
    #[error("session tag was already used")]
    ReplayedTag,
    #[error("New Session with an ephemeral key seen before (replay)")]
    ReplayedNewSession,
    #[error("New Session DateTime is {skew_ms} ms away from our clock")]
    StaleNewSession { skew_ms: u64 },
    #[error("ephemeral key is not a valid Elligator2 representative")]
    BadRepresentative,
    #[error("a public key is a low-order point")]
    LowOrderKey,
    #[error("AEAD authentication failed")]
    Aead,
    #[error("payload: {0}")]
    Payload(#[from] BlockError),
    #[error("the send tag set is used up; the session was dropped")]
    TagSetExhausted,
    #[error("could not generate an Elligator2-encodable key")]
    Elligator,
    #[error("garlic message of {0} bytes is too large")]
    TooLarge(usize),
    #[error("too many remotes with session state")]
    TooManyPeers,
}

/// Which message format an opened message had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    NewSession,
    NewSessionReply,
    Existing,
}

/// A decrypted garlic message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The sender's static key; `None` for an NS without a static key (one-time/unbound).
    pub remote: Option<X25519Public>,
    pub kind: MessageKind,
    pub cloves: Vec<Clove>,
    /// DateTime block (seconds since the epoch), if there was one.
    pub date_time: Option<u32>,
    /// ACK blocks: (tag set id, message number) of our messages the remote confirms.
    pub acks: Vec<(u16, u16)>,
    /// The remote ended the session with a Termination block; it was dropped.
    pub terminated: bool,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GarlicStats {
    pub ns_sent: u64,
    pub nsr_sent: u64,
    pub es_sent: u64,
    pub ns_received: u64,
    pub nsr_received: u64,
    pub es_received: u64,
    /// Completed DH ratchets (a new send or receive tag set from a NextKey exchange).
    pub ratchets: u64,
    /// Replayed NS messages and reused tags refused.
    pub replays_dropped: u64,
    /// Messages that failed to open for any other reason.
    pub failures: u64,
    /// Remotes with an established session right now.
    pub sessions: u64,
}

/// Where a receive tag belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// NSR tag set of an NS we sent (handshake id).
    Nsr,
    /// ES receive tag set with this id, of the session that started with the handshake.
    Es(u16),
}

#[derive(Clone, Copy, Debug)]
struct TagRef {
    remote: X25519Public,
    handshake: u64,
    target: Target,
    index: u16,
}

type Tags = HashMap<[u8; 8], TagRef>;

/// A receive tag set: the chains, the tags generated ahead, and keys of skipped indexes.
#[derive(Debug, Clone)]
struct RecvTagSet {
    ts: TagSet,
    tags: BTreeMap<u16, [u8; 8]>,
    keys: BTreeMap<u16, Zeroizing<[u8; 32]>>,
    expires_ms: Option<u64>,
}

impl RecvTagSet {
    fn new(ts: TagSet) -> Self {
        RecvTagSet {
            ts,
            tags: BTreeMap::new(),
            keys: BTreeMap::new(),
            expires_ms: None,
        }
    }

    /// Generate tags until `target` indexes exist (or the tag set ends).
    fn extend_to(&mut self, target: u32, owner: (X25519Public, u64, Target), map: &mut Tags) {
        while self.ts.next_tag_index() < target {
            let Some((index, tag)) = self.ts.next_tag() else {
                break;
            };
            self.tags.insert(index, tag);
            map.insert(
                tag,
                TagRef {
                    remote: owner.0,
                    handshake: owner.1,
                    target: owner.2,
                    index,
                },
            );
        }
    }

    /// The symmetric key for `index`, deriving (and keeping) the keys before it.
    fn key(&mut self, index: u16) -> Option<Zeroizing<[u8; 32]>> {
        while self.ts.next_key_index() <= u32::from(index) {
            let i = u16::try_from(self.ts.next_key_index()).ok()?;
            let k = self.ts.next_key();
            self.keys.insert(i, k);
        }
        self.keys.get(&index).cloned()
    }

    fn consume(&mut self, index: u16, map: &mut Tags) {
        self.keys.remove(&index);
        if let Some(tag) = self.tags.remove(&index) {
            map.remove(&tag);
        }
    }

    /// Forget tags and keys below `index`.
    fn trim_below(&mut self, index: u16, map: &mut Tags) {
        let keep_tags = self.tags.split_off(&index);
        for tag in std::mem::replace(&mut self.tags, keep_tags).into_values() {
            map.remove(&tag);
        }
        let keep_keys = self.keys.split_off(&index);
        self.keys = keep_keys;
    }

    fn drop_tags(&mut self, map: &mut Tags) {
        for tag in std::mem::take(&mut self.tags).into_values() {
            map.remove(&tag);
        }
        self.keys.clear();
    }
}

/// One side of a DH ratchet (i2pd's `DHRatchet`).
#[derive(Clone)]
struct DhRatchet {
    key_id: u16,
    new_key: bool,
    secret: Option<X25519Secret>,
    remote: Option<X25519Public>,
}

impl std::fmt::Debug for DhRatchet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhRatchet")
            .field("key_id", &self.key_id)
            .field("new_key", &self.new_key)
            .finish_non_exhaustive()
    }
}

/// A forward NextKey received; the new receive tag set is made at the next send (which has
/// an RNG for our reverse key).
#[derive(Clone)]
struct PendingForward {
    key_id: u16,
    new_key: bool,
    key: Option<X25519Public>,
    root: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PendingForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingForward")
            .field("key_id", &self.key_id)
            .field("new_key", &self.new_key)
            .finish_non_exhaustive()
    }
}

/// A session that exchanges Existing Session messages.
#[derive(Debug, Clone)]
struct Established {
    /// The handshake it came from (tags carry this id).
    origin: u64,
    created_ms: u64,
    last_recv_ms: u64,
    last_send_ms: u64,
    send: TagSet,
    recv: BTreeMap<u16, RecvTagSet>,
    next_send: Option<DhRatchet>,
    send_forward_key: bool,
    next_recv: Option<DhRatchet>,
    send_reverse_key: bool,
    pending_forward: Option<PendingForward>,
    ack_requests: Vec<(u16, u16)>,
    request_ack: bool,
}

impl Established {
    fn new(origin: u64, now_ms: u64, send: TagSet, recv: RecvTagSet) -> Self {
        let mut r = BTreeMap::new();
        r.insert(recv.ts.id(), recv);
        Established {
            origin,
            created_ms: now_ms,
            last_recv_ms: now_ms,
            last_send_ms: now_ms,
            send,
            recv: r,
            next_send: None,
            send_forward_key: false,
            next_recv: None,
            send_reverse_key: false,
            pending_forward: None,
            ack_requests: Vec::new(),
            request_ack: false,
        }
    }

    fn drop_tags(&mut self, map: &mut Tags) {
        for r in self.recv.values_mut() {
            r.drop_tags(map);
        }
    }
}

/// What the responder derives when it sends its first NSR to one NS.
#[derive(Clone)]
struct NsrReply {
    tags: TagSet,
    bepk: X25519Public,
    repr: Representative,
    key_section_k: Zeroizing<[u8; 32]>,
    payload_key: Zeroizing<[u8; 32]>,
    es_send: TagSet,
    es_recv: RecvTagSet,
}

impl std::fmt::Debug for NsrReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsrReply").finish_non_exhaustive()
    }
}

/// An NS we received (we are Bob) and have not yet seen an ES for.
#[derive(Debug, Clone)]
struct InboundHs {
    id: u64,
    received_ms: u64,
    aepk: X25519Public,
    ck: Zeroizing<[u8; 32]>,
    h: [u8; 32],
    reply: Option<NsrReply>,
}

/// An NS we sent (we are Alice), waiting for NSRs.
#[derive(Clone)]
struct OutboundHs {
    id: u64,
    sent_ms: u64,
    aesk: X25519Secret,
    ck: Zeroizing<[u8; 32]>,
    h: [u8; 32],
    nsr_recv: RecvTagSet,
}

impl std::fmt::Debug for OutboundHs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundHs")
            .field("id", &self.id)
            .field("sent_ms", &self.sent_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone)]
struct Peer {
    est: Option<Established>,
    inbound: Vec<InboundHs>,
    outbound: Vec<OutboundHs>,
    owed_since: Option<u64>,
}

impl Peer {
    fn drop_all(&mut self, map: &mut Tags) {
        if let Some(e) = &mut self.est {
            e.drop_tags(map);
        }
        for hs in &mut self.inbound {
            if let Some(r) = &mut hs.reply {
                r.es_recv.drop_tags(map);
            }
        }
        for hs in &mut self.outbound {
            hs.nsr_recv.drop_tags(map);
        }
    }

    fn is_empty(&self) -> bool {
        self.est.is_none() && self.inbound.is_empty() && self.outbound.is_empty()
    }
}

/// Which message [`Sessions::seal`] would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Ns,
    Nsr,
    Es,
}

/// All garlic sessions of one local Destination, keyed by the remote's static X25519 key.
#[derive(Clone)]
pub struct Sessions {
    our_static: X25519Secret,
    our_public: X25519Public,
    config: GarlicConfig,
    /// `h` after the prologue and our static key: the start of every NS addressed to us.
    bob_h: [u8; 32],
    ck0: [u8; 32],
    peers: HashMap<X25519Public, Peer>,
    tags: Tags,
    used_tags: ReplayWindow<[u8; 8]>,
    ns_replay: ReplayWindow<[u8; 32]>,
    next_handshake: u64,
    stats: GarlicStats,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("our_public", &self.our_public)
            .field("peers", &self.peers.len())
            .field("tags", &self.tags.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The initial `(ck, h)` of the handshake before the responder's static key is mixed:
/// `h = SHA256(protocol_name)`, `ck = h`, then `MixHash` of the empty prologue.
pub fn initial_state() -> SymmetricState {
    let mut st = SymmetricState::new(PROTOCOL_NAME);
    st.mix_hash(&[]);
    st
}

/// `(p - 1) / 2` little-endian: the largest representative i2pd's Elligator2 decoder accepts.
const P_MINUS_1_HALF_LE: [u8; 32] = {
    let mut b = [0xffu8; 32];
    b[0] = 0xf6;
    b[31] = 0x3f;
    b
};

/// Decode an Elligator2 representative, refusing the values i2pd refuses (above (p-1)/2 after
/// masking the two random top bits).
fn decode_representative(bytes: &[u8; 32]) -> Result<X25519Public, GarlicError> {
    let mut r = *bytes;
    if let Some(top) = r.last_mut() {
        *top &= 0x3f;
    }
    // compare little-endian numbers from the most significant byte down
    for (a, b) in r.iter().rev().zip(P_MINUS_1_HALF_LE.iter().rev()) {
        if a < b {
            break;
        }
        if a > b {
            return Err(GarlicError::BadRepresentative);
        }
    }
    Ok(elligator2::decode(&Representative(*bytes)))
}

fn dh(secret: &X25519Secret, public: &X25519Public) -> Result<Zeroizing<[u8; 32]>, GarlicError> {
    secret.dh(public).map_err(|_| GarlicError::LowOrderKey)
}

fn padding_block<R: CryptoRng + ?Sized>(rng: &mut R) -> Block {
    let mut b = [0u8; 1];
    rng.fill_bytes(&mut b);
    // i2pd pads with 1–16 bytes
    Block::Padding(u16::from(b[0] & 0x0f) + 1)
}

fn date_time_block(now_ms: u64) -> Block {
    Block::DateTime(u32::try_from(now_ms / 1000).unwrap_or(u32::MAX))
}

impl Sessions {
    pub fn new(our_static: X25519Secret, config: GarlicConfig) -> Sessions {
        let our_public = our_static.public();
        let mut st = initial_state();
        let ck0 = *st.ck();
        st.mix_hash(our_public.as_bytes());
        Sessions {
            our_static,
            our_public,
            bob_h: *st.h(),
            ck0,
            peers: HashMap::new(),
            tags: HashMap::new(),
            used_tags: ReplayWindow::new(config.previous_tagset_lifetime_ms, 16_384),
            ns_replay: ReplayWindow::new(config.ns_replay_window_ms, config.max_replay_entries),
            config,
            next_handshake: 1,
            stats: GarlicStats::default(),
        }
    }

    /// Our static public key (what the remote addresses NS messages to).
    pub fn public_key(&self) -> X25519Public {
        self.our_public
    }

    pub fn stats(&self) -> GarlicStats {
        let mut s = self.stats;
        s.sessions = self.peers.values().filter(|p| p.est.is_some()).count() as u64;
        s
    }

    /// Whether an Existing Session exchange with `remote` is established.
    pub fn is_established(&self, remote: &X25519Public) -> bool {
        self.peers.get(remote).is_some_and(|p| p.est.is_some())
    }

    fn plan(&self, remote: &X25519Public, now_ms: u64) -> Plan {
        let Some(peer) = self.peers.get(remote) else {
            return Plan::Ns;
        };
        let newest_in = peer.inbound.iter().map(|h| h.received_ms).max();
        match (&peer.est, newest_in) {
            (None, Some(_)) => Plan::Nsr,
            (Some(e), Some(t)) if t >= e.created_ms => Plan::Nsr,
            (Some(e), _) => {
                let inactive = now_ms
                    > e.last_recv_ms
                        .saturating_add(self.config.inactivity_restart_ms)
                    && now_ms > e.created_ms.saturating_add(self.config.restart_after_ms);
                if inactive { Plan::Ns } else { Plan::Es }
            }
            (None, None) => Plan::Ns,
        }
    }

    /// Encrypt `cloves` for `remote` as NS, NSR or ES (see the module docs for which), with
    /// any ACK and NextKey blocks owed to that session, and padding. Returns the Garlic
    /// message data (what follows the 4-byte length of the Garlic I2NP body).
    pub fn seal<R: CryptoRng + ?Sized>(
        &mut self,
        remote: &X25519Public,
        cloves: &[Clove],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, GarlicError> {
        let out = match self.plan(remote, now_ms) {
            Plan::Ns => self.seal_ns(remote, cloves, now_ms, rng),
            Plan::Nsr => self.seal_nsr(remote, cloves, now_ms, rng),
            Plan::Es => self.seal_es(remote, cloves, now_ms, rng),
        }?;
        if let Some(p) = self.peers.get_mut(remote) {
            p.owed_since = None;
        }
        Ok(out)
    }

    fn new_handshake_id(&mut self) -> u64 {
        let id = self.next_handshake;
        self.next_handshake += 1;
        id
    }

    fn seal_ns<R: CryptoRng + ?Sized>(
        &mut self,
        remote: &X25519Public,
        cloves: &[Clove],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, GarlicError> {
        if !self.peers.contains_key(remote) && self.peers.len() >= self.config.max_peers {
            return Err(GarlicError::TooManyPeers);
        }
        let mut blocks = vec![date_time_block(now_ms)];
        blocks.extend(cloves.iter().cloned().map(Block::Clove));
        blocks.push(padding_block(rng));
        let payload = encode_payload(&blocks)?;
        let total = NS_MIN_LEN + payload.len();
        if total > MAX_GARLIC_DATA {
            return Err(GarlicError::TooLarge(total));
        }
        let (aesk, repr) = elligator2::generate(rng).ok_or(GarlicError::Elligator)?;
        let aepk = aesk.public();
        let mut st = initial_state();
        st.mix_hash(remote.as_bytes());
        st.mix_hash(aepk.as_bytes());
        st.mix_key(&*dh(&aesk, remote)?);
        let static_section = st
            .encrypt_and_hash(self.our_public.as_bytes())
            .map_err(|_| GarlicError::Aead)?;
        st.mix_key(&*dh(&self.our_static, remote)?);
        let sealed = st
            .encrypt_and_hash(&payload)
            .map_err(|_| GarlicError::Aead)?;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&repr.0);
        out.extend_from_slice(&static_section);
        out.extend_from_slice(&sealed);

        let ck = Zeroizing::new(*st.ck());
        let h = *st.h();
        let id = self.new_handshake_id();
        let tagset_key = hkdf32(&ck, &[], info::SESSION_REPLY_TAGS);
        let mut nsr_recv = RecvTagSet::new(TagSet::new(0, &ck, &tagset_key));
        nsr_recv.extend_to(
            u32::from(self.config.nsr_inbound_tags),
            (*remote, id, Target::Nsr),
            &mut self.tags,
        );
        let max = self.config.max_handshakes.max(1);
        let peer = self.peers.entry(*remote).or_default();
        peer.outbound.push(OutboundHs {
            id,
            sent_ms: now_ms,
            aesk,
            ck,
            h,
            nsr_recv,
        });
        while peer.outbound.len() > max {
            let mut old = peer.outbound.remove(0);
            old.nsr_recv.drop_tags(&mut self.tags);
        }
        self.stats.ns_sent += 1;
        Ok(out)
    }

    fn seal_nsr<R: CryptoRng + ?Sized>(
        &mut self,
        remote: &X25519Public,
        cloves: &[Clove],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, GarlicError> {
        let mut blocks = vec![date_time_block(now_ms)];
        blocks.extend(cloves.iter().cloned().map(Block::Clove));
        blocks.push(padding_block(rng));
        let payload = encode_payload(&blocks)?;
        let total = NSR_MIN_LEN + payload.len();
        if total > MAX_GARLIC_DATA {
            return Err(GarlicError::TooLarge(total));
        }
        let min_tags = u32::from(self.config.min_inbound_tags);
        let tags = &mut self.tags;
        let peer = self.peers.get_mut(remote).ok_or(GarlicError::UnknownTag)?;
        let hs = peer
            .inbound
            .iter_mut()
            .max_by_key(|h| (h.received_ms, h.id))
            .ok_or(GarlicError::UnknownTag)?;
        if hs.reply.is_none() {
            let (besk, repr) = elligator2::generate(rng).ok_or(GarlicError::Elligator)?;
            let mut st = SymmetricState::from_parts(*hs.ck, hs.h);
            st.mix_key(&*dh(&besk, &hs.aepk)?);
            st.mix_key(&*dh(&besk, remote)?);
            let key_section_k = Zeroizing::new(*st.cipher_mut().key().ok_or(GarlicError::Aead)?);
            let ck2 = *st.ck();
            let (k_ab, k_ba) = hkdf2(&ck2, &[], &[]);
            let mut es_recv = RecvTagSet::new(TagSet::new(0, &ck2, &k_ab));
            es_recv.extend_to(min_tags, (*remote, hs.id, Target::Es(0)), tags);
            hs.reply = Some(NsrReply {
                tags: TagSet::new(0, &hs.ck, &hkdf32(&hs.ck, &[], info::SESSION_REPLY_TAGS)),
                bepk: besk.public(),
                repr,
                key_section_k,
                payload_key: hkdf32(&k_ba, &[], info::ATTACH_PAYLOAD_KDF),
                es_send: TagSet::new(0, &ck2, &k_ba),
                es_recv,
            });
        }
        let reply = hs.reply.as_mut().ok_or(GarlicError::UnknownTag)?;
        let (_, tag) = reply.tags.next_tag().ok_or(GarlicError::TagSetExhausted)?;
        let h = sha256_parts(&[&hs.h, &tag]);
        let h = sha256_parts(&[&h, reply.bepk.as_bytes()]);
        let mac = aead::seal(&reply.key_section_k, &aead::noise_nonce(0), &h, &[]);
        let h = sha256_parts(&[&h, &mac]);
        let sealed = aead::seal(&reply.payload_key, &aead::noise_nonce(0), &h, &payload);
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&reply.repr.0);
        out.extend_from_slice(&mac);
        out.extend_from_slice(&sealed);
        self.stats.nsr_sent += 1;
        Ok(out)
    }

    fn seal_es<R: CryptoRng + ?Sized>(
        &mut self,
        remote: &X25519Public,
        cloves: &[Clove],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, GarlicError> {
        let config = self.config.clone();
        let peer = self.peers.get_mut(remote).ok_or(GarlicError::UnknownTag)?;
        let est = peer.est.as_mut().ok_or(GarlicError::UnknownTag)?;
        if est.pending_forward.is_some() {
            self.stats.ratchets +=
                apply_pending_forward(est, remote, &config, now_ms, rng, &mut self.tags);
        }
        let mut blocks: Vec<Block> = cloves.iter().cloned().map(Block::Clove).collect();
        if est.request_ack {
            blocks.push(Block::AckRequest(0));
        }
        if !est.ack_requests.is_empty() {
            blocks.push(Block::Ack(est.ack_requests.clone()));
        }
        if est.send_reverse_key
            && let Some(r) = &est.next_recv
        {
            let key = if r.new_key {
                r.secret.as_ref().map(|s| s.public().0)
            } else {
                None
            };
            blocks.push(Block::NextKey(NextKey {
                flags: next_key_flag::REVERSE,
                key_id: if r.new_key {
                    r.key_id
                } else {
                    r.key_id.wrapping_sub(1)
                },
                key,
            }));
        }
        if est.send_forward_key
            && let Some(s) = &est.next_send
        {
            let mut flags = if s.new_key {
                0
            } else {
                next_key_flag::REQUEST_REVERSE
            };
            if s.key_id == 0 {
                flags |= next_key_flag::REQUEST_REVERSE;
            }
            blocks.push(Block::NextKey(NextKey {
                flags,
                key_id: s.key_id,
                key: if s.new_key {
                    s.secret.as_ref().map(|k| k.public().0)
                } else {
                    None
                },
            }));
        }
        blocks.push(padding_block(rng));
        let payload = encode_payload(&blocks)?;
        let total = ES_MIN_LEN + payload.len();
        if total > MAX_GARLIC_DATA {
            return Err(GarlicError::TooLarge(total));
        }
        let Some((index, tag)) = est.send.next_tag() else {
            if let Some(mut p) = self.peers.remove(remote) {
                p.drop_all(&mut self.tags);
            }
            return Err(GarlicError::TagSetExhausted);
        };
        let key = est.send.next_key();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&aead::seal(
            &key,
            &aead::noise_nonce(u64::from(index)),
            &tag,
            &payload,
        ));
        est.ack_requests.clear();
        est.request_ack = false;
        est.send_reverse_key = false;
        est.last_send_ms = now_ms;
        if index >= config.ratchet_threshold && !est.send_forward_key {
            new_next_send_ratchet(est, rng);
        }
        self.stats.es_sent += 1;
        Ok(out)
    }

    /// Decrypt a Garlic message addressed to this destination: by tag (ES or NSR), else as
    /// an NS. Replayed NS messages (same ephemeral key) and reused tags are refused.
    pub fn open(&mut self, data: &[u8], now_ms: u64) -> Result<Opened, GarlicError> {
        let r = self.open_inner(data, now_ms);
        match &r {
            Err(GarlicError::ReplayedTag | GarlicError::ReplayedNewSession) => {
                self.stats.replays_dropped += 1
            }
            Err(_) => self.stats.failures += 1,
            Ok(_) => {}
        }
        r
    }

    fn open_inner(&mut self, data: &[u8], now_ms: u64) -> Result<Opened, GarlicError> {
        let tag = *data
            .first_chunk::<8>()
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        if let Some(tref) = self.tags.get(&tag).copied() {
            return match tref.target {
                Target::Nsr => self.open_nsr(tref, tag, data, now_ms),
                Target::Es(id) => self.open_es(tref, id, tag, data, now_ms),
            };
        }
        if self.used_tags.contains(&tag) {
            return Err(GarlicError::ReplayedTag);
        }
        if data.len() < NS_MIN_LEN {
            return Err(if data.len() < ES_MIN_LEN {
                GarlicError::TooShort { len: data.len() }
            } else {
                GarlicError::UnknownTag
            });
        }
        self.open_ns(data, now_ms)
    }

    fn open_ns(&mut self, data: &[u8], now_ms: u64) -> Result<Opened, GarlicError> {
        let (repr, rest) = data
            .split_first_chunk::<32>()
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let (static_section, sealed) = rest
            .split_at_checked(48)
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let aepk = decode_representative(repr)?;
        if self.ns_replay.contains(&aepk.0) {
            return Err(GarlicError::ReplayedNewSession);
        }
        let mut st = SymmetricState::from_parts(self.ck0, self.bob_h);
        st.mix_hash(aepk.as_bytes());
        st.mix_key(&*dh(&self.our_static, &aepk)?);
        let fs = st
            .decrypt_and_hash(static_section)
            .map_err(|_| GarlicError::Aead)?;
        let fs: [u8; 32] = fs.try_into().map_err(|_| GarlicError::Aead)?;
        let remote = if fs == [0u8; 32] {
            None // one-time / unbound: payload under the same key with nonce 1
        } else {
            let apk = X25519Public(fs);
            st.mix_key(&*dh(&self.our_static, &apk)?);
            Some(apk)
        };
        let payload = st.decrypt_and_hash(sealed).map_err(|_| GarlicError::Aead)?;
        self.ns_replay.insert(aepk.0, now_ms);
        let blocks = parse_payload(&payload)?;
        let mut opened = collect(blocks, MessageKind::NewSession, remote);
        if let Some(ts) = opened.date_time {
            let skew = (u64::from(ts) * 1000).abs_diff(now_ms);
            // the DateTime has one-second resolution
            if skew > self.config.ns_max_clock_skew_ms + 1000 {
                return Err(GarlicError::StaleNewSession { skew_ms: skew });
            }
        }
        opened.acks.clear(); // not allowed in NS
        self.stats.ns_received += 1;
        // i2pd keeps a session younger than the restart time and ignores a new NS for it
        // (its payload is still delivered); this also covers a stale NS that arrives late
        let young_session = remote
            .and_then(|apk| self.peers.get(&apk))
            .and_then(|p| p.est.as_ref())
            .is_some_and(|e| now_ms < e.created_ms.saturating_add(self.config.restart_after_ms));
        if let Some(apk) = remote
            && !young_session
            && (self.peers.contains_key(&apk) || self.peers.len() < self.config.max_peers)
        {
            let id = self.new_handshake_id();
            let max = self.config.max_handshakes.max(1);
            let peer = self.peers.entry(apk).or_default();
            peer.inbound.push(InboundHs {
                id,
                received_ms: now_ms,
                aepk,
                ck: Zeroizing::new(*st.ck()),
                h: *st.h(),
                reply: None,
            });
            while peer.inbound.len() > max {
                let mut old = peer.inbound.remove(0);
                if let Some(r) = &mut old.reply {
                    r.es_recv.drop_tags(&mut self.tags);
                }
            }
            peer.owed_since.get_or_insert(now_ms);
        }
        Ok(opened)
    }

    fn open_nsr(
        &mut self,
        tref: TagRef,
        tag: [u8; 8],
        data: &[u8],
        now_ms: u64,
    ) -> Result<Opened, GarlicError> {
        if data.len() < NSR_MIN_LEN {
            return Err(GarlicError::TooShort { len: data.len() });
        }
        let remote = tref.remote;
        let repr = data
            .get(8..40)
            .and_then(|b| b.first_chunk::<32>())
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let mac = data
            .get(40..56)
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let sealed = data
            .get(56..)
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let bepk = decode_representative(repr)?;
        let Some(peer) = self.peers.get_mut(&remote) else {
            self.tags.remove(&tag);
            return Err(GarlicError::UnknownTag);
        };
        let Some(hs) = peer.outbound.iter_mut().find(|h| h.id == tref.handshake) else {
            self.tags.remove(&tag);
            return Err(GarlicError::UnknownTag);
        };
        let h = sha256_parts(&[&hs.h, &tag]);
        let h = sha256_parts(&[&h, bepk.as_bytes()]);
        let mut st = SymmetricState::from_parts(*hs.ck, h);
        st.mix_key(&*dh(&hs.aesk, &bepk)?);
        st.mix_key(&*dh(&self.our_static, &bepk)?);
        st.decrypt_and_hash(mac).map_err(|_| GarlicError::Aead)?;
        let ck2 = *st.ck();
        let (k_ab, k_ba) = hkdf2(&ck2, &[], &[]);
        let payload_key = hkdf32(&k_ba, &[], info::ATTACH_PAYLOAD_KDF);
        let payload = aead::open(&payload_key, &aead::noise_nonce(0), st.h(), sealed)
            .map_err(|_| GarlicError::Aead)?;
        // the tag is spent; keep the NSR window open for more replies to this NS
        hs.nsr_recv.consume(tref.index, &mut self.tags);
        self.used_tags.insert(tag, now_ms);
        let nsr_tags = u32::from(self.config.nsr_inbound_tags);
        if hs.nsr_recv.ts.next_tag_index() < u32::from(tref.index) + nsr_tags / 2 {
            let target = hs.nsr_recv.ts.next_tag_index() + nsr_tags;
            hs.nsr_recv
                .extend_to(target, (remote, hs.id, Target::Nsr), &mut self.tags);
        }
        let origin = hs.id;
        let blocks = parse_payload(&payload)?;
        self.stats.nsr_received += 1;
        let replace = match &peer.est {
            None => true,
            Some(e) if e.origin == origin => false,
            Some(e) => now_ms > e.created_ms.saturating_add(self.config.restart_after_ms),
        };
        if replace {
            if let Some(mut old) = peer.est.take() {
                old.drop_tags(&mut self.tags);
            }
            let mut recv = RecvTagSet::new(TagSet::new(0, &ck2, &k_ba));
            recv.extend_to(
                u32::from(self.config.min_inbound_tags),
                (remote, origin, Target::Es(0)),
                &mut self.tags,
            );
            peer.est = Some(Established::new(
                origin,
                now_ms,
                TagSet::new(0, &ck2, &k_ab),
                recv,
            ));
            // the responder waits for our first ES before it sends ES itself
            peer.owed_since.get_or_insert(now_ms);
        } else if let Some(e) = &mut peer.est {
            e.last_recv_ms = now_ms;
        }
        let mut opened = collect(blocks, MessageKind::NewSessionReply, Some(remote));
        opened.acks.clear();
        Ok(opened)
    }

    fn open_es(
        &mut self,
        tref: TagRef,
        tagset_id: u16,
        tag: [u8; 8],
        data: &[u8],
        now_ms: u64,
    ) -> Result<Opened, GarlicError> {
        if data.len() < ES_MIN_LEN {
            return Err(GarlicError::TooShort { len: data.len() });
        }
        let remote = tref.remote;
        let sealed = data
            .get(8..)
            .ok_or(GarlicError::TooShort { len: data.len() })?;
        let config = &self.config;
        let Some(peer) = self.peers.get_mut(&remote) else {
            self.tags.remove(&tag);
            return Err(GarlicError::UnknownTag);
        };
        let on_established = peer
            .est
            .as_ref()
            .is_some_and(|e| e.origin == tref.handshake);
        let rts = if on_established {
            peer.est.as_mut().and_then(|e| e.recv.get_mut(&tagset_id))
        } else {
            peer.inbound
                .iter_mut()
                .find(|h| h.id == tref.handshake)
                .and_then(|h| h.reply.as_mut())
                .map(|r| &mut r.es_recv)
                .filter(|r| r.ts.id() == tagset_id)
        };
        let Some(rts) = rts else {
            self.tags.remove(&tag);
            return Err(GarlicError::UnknownTag);
        };
        let index = tref.index;
        let key = rts.key(index).ok_or(GarlicError::ReplayedTag)?;
        let payload = aead::open(&key, &aead::noise_nonce(u64::from(index)), &tag, sealed)
            .map_err(|_| GarlicError::Aead)?;
        rts.consume(index, &mut self.tags);
        self.used_tags.insert(tag, now_ms);
        // i2pd's window: keep min(24 + N/4, 320) tags ahead, forget 320 behind
        let ahead = (u32::from(config.min_inbound_tags) + u32::from(index) / 4)
            .min(u32::from(config.max_inbound_tags));
        rts.extend_to(
            u32::from(index) + ahead,
            (remote, tref.handshake, Target::Es(tagset_id)),
            &mut self.tags,
        );
        if let Some(behind) = index.checked_sub(config.max_inbound_tags) {
            rts.trim_below(behind, &mut self.tags);
        }
        let root = Zeroizing::new(*rts.ts.next_root_key());
        let blocks = parse_payload(&payload);
        if !on_established {
            // the initiator chose this handshake: it becomes the session, the others go
            let Some(pos) = peer.inbound.iter().position(|h| h.id == tref.handshake) else {
                return Err(GarlicError::UnknownTag);
            };
            let hs = peer.inbound.remove(pos);
            for mut other in peer.inbound.drain(..) {
                if let Some(r) = &mut other.reply {
                    r.es_recv.drop_tags(&mut self.tags);
                }
            }
            if let Some(mut old) = peer.est.take() {
                old.drop_tags(&mut self.tags);
            }
            let Some(reply) = hs.reply else {
                return Err(GarlicError::UnknownTag);
            };
            peer.est = Some(Established::new(
                hs.id,
                now_ms,
                reply.es_send,
                reply.es_recv,
            ));
        }
        if on_established {
            // an ES on the session answers any NS that arrived meanwhile: stay in ES mode
            for mut other in peer.inbound.drain(..) {
                if let Some(r) = &mut other.reply {
                    r.es_recv.drop_tags(&mut self.tags);
                }
            }
        }
        let blocks = blocks?;
        self.stats.es_received += 1;
        let Some(est) = peer.est.as_mut() else {
            return Err(GarlicError::UnknownTag);
        };
        est.last_recv_ms = now_ms;
        let mut terminated = false;
        for b in &blocks {
            match b {
                Block::NextKey(nk) if nk.is_reverse() => {
                    self.stats.ratchets += handle_reverse_key(est, nk);
                }
                Block::NextKey(nk) => {
                    handle_forward_key(est, nk, &root);
                    peer.owed_since.get_or_insert(now_ms);
                }
                Block::AckRequest(_) => {
                    est.ack_requests.push((tagset_id, index));
                    peer.owed_since.get_or_insert(now_ms);
                }
                Block::Termination { .. } => terminated = true,
                _ => {}
            }
        }
        if terminated && let Some(mut p) = self.peers.remove(&remote) {
            p.drop_all(&mut self.tags);
        }
        let mut opened = collect(blocks, MessageKind::Existing, Some(remote));
        opened.terminated = terminated;
        Ok(opened)
    }

    /// Responses this layer owes and that found no outgoing traffic to ride on within
    /// `response_delay_ms`: an NSR to an NS, the first ES after an NSR, a reverse NextKey, an
    /// ACK. Each is an otherwise empty message (padding only).
    pub fn poll_transmit<R: CryptoRng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
    ) -> Vec<(X25519Public, Vec<u8>)> {
        let due: Vec<X25519Public> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.owed_since
                    .is_some_and(|t| now_ms >= t.saturating_add(self.config.response_delay_ms))
            })
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for remote in due {
            if self.plan(&remote, now_ms) == Plan::Ns {
                // never start a session on our own
                if let Some(p) = self.peers.get_mut(&remote) {
                    p.owed_since = None;
                }
                continue;
            }
            match self.seal(&remote, &[], now_ms, rng) {
                Ok(data) => out.push((remote, data)),
                Err(e) => {
                    tracing::debug!(?remote, error = %e, "garlic: owed response not sent");
                    if let Some(p) = self.peers.get_mut(&remote) {
                        p.owed_since = None;
                    }
                }
            }
        }
        out
    }

    /// When [`Sessions::poll_transmit`] next has something to send, if anything is owed.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.peers
            .values()
            .filter_map(|p| p.owed_since)
            .min()
            .map(|t| t.saturating_add(self.config.response_delay_ms))
    }

    /// Expire sessions, handshakes, replaced tag sets and replay entries.
    pub fn tick(&mut self, now_ms: u64) {
        self.ns_replay.expire(now_ms);
        self.used_tags.expire(now_ms);
        let c = &self.config;
        let tags = &mut self.tags;
        self.peers.retain(|_, peer| {
            peer.outbound.retain_mut(|hs| {
                let keep = now_ms < hs.sent_ms.saturating_add(c.handshake_lifetime_ms);
                if !keep {
                    hs.nsr_recv.drop_tags(tags);
                }
                keep
            });
            peer.inbound.retain_mut(|hs| {
                let keep = now_ms < hs.received_ms.saturating_add(c.handshake_lifetime_ms);
                if !keep && let Some(r) = &mut hs.reply {
                    r.es_recv.drop_tags(tags);
                }
                keep
            });
            if let Some(est) = &mut peer.est {
                est.recv.retain(|_, r| {
                    let keep = r.expires_ms.is_none_or(|e| now_ms < e);
                    if !keep {
                        r.drop_tags(tags);
                    }
                    keep
                });
                let expired = now_ms > est.last_recv_ms.saturating_add(c.receive_expiry_ms)
                    && now_ms > est.last_send_ms.saturating_add(c.send_expiry_ms);
                if expired || est.recv.is_empty() {
                    est.drop_tags(tags);
                    peer.est = None;
                }
            }
            !peer.is_empty()
        });
    }

    /// Ask for an in-band ACK in the next Existing Session message to `remote` (as i2pd does
    /// when it sends an updated LeaseSet); the remote's ACK shows up in [`Opened::acks`] as
    /// (tag set id, N) of that message. Returns false when no session is established.
    pub fn request_ack(&mut self, remote: &X25519Public) -> bool {
        match self.peers.get_mut(remote).and_then(|p| p.est.as_mut()) {
            Some(e) => {
                e.request_ack = true;
                true
            }
            None => false,
        }
    }

    /// Seal `payload` verbatim (already encoded blocks, nothing added) as the next Existing
    /// Session message to `remote`. For fuzzing and tests only.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn seal_raw_es(
        &mut self,
        remote: &X25519Public,
        payload: &[u8],
    ) -> Result<Vec<u8>, GarlicError> {
        let est = self
            .peers
            .get_mut(remote)
            .and_then(|p| p.est.as_mut())
            .ok_or(GarlicError::UnknownTag)?;
        let (index, tag) = est.send.next_tag().ok_or(GarlicError::TagSetExhausted)?;
        let key = est.send.next_key();
        let nonce = aead::noise_nonce(u64::from(index));
        Ok([&tag[..], &aead::seal(&key, &nonce, &tag, payload)].concat())
    }

    /// Every receive tag currently held. For fuzzing and tests only.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn inbound_tags(&self) -> Vec<[u8; 8]> {
        let mut t: Vec<[u8; 8]> = self.tags.keys().copied().collect();
        t.sort_unstable();
        t
    }

    /// Number of receive tags currently held (all sessions).
    pub fn inbound_tag_count(&self) -> usize {
        self.tags.len()
    }
}

/// Sort decrypted blocks into an [`Opened`].
fn collect(blocks: Vec<Block>, kind: MessageKind, remote: Option<X25519Public>) -> Opened {
    let mut o = Opened {
        remote,
        kind,
        cloves: Vec::new(),
        date_time: None,
        acks: Vec::new(),
        terminated: false,
    };
    for b in blocks {
        match b {
            Block::Clove(c) => o.cloves.push(c),
            Block::DateTime(t) => o.date_time = o.date_time.or(Some(t)),
            Block::Ack(a) => o.acks.extend(a),
            _ => {}
        }
    }
    o
}

/// Start (or continue) a DH ratchet of our send tag set, with i2pd's key id sequence:
/// new key 0, then new 1, old 1, new 2, old 2, …
fn new_next_send_ratchet<R: CryptoRng + ?Sized>(est: &mut Established, rng: &mut R) {
    match &mut est.next_send {
        Some(s) => {
            if !s.new_key || s.key_id == 0 {
                if s.key_id >= 32767 {
                    return; // key ids are used up; the tag set will run out and end the session
                }
                s.key_id += 1;
                s.new_key = true;
            } else {
                s.new_key = false;
            }
        }
        None => {
            est.next_send = Some(DhRatchet {
                key_id: 0,
                new_key: true,
                secret: None,
                remote: None,
            });
        }
    }
    if let Some(s) = &mut est.next_send
        && s.new_key
    {
        s.secret = Some(X25519Secret::generate(rng));
    }
    est.send_forward_key = true;
}

/// A reverse NextKey: the answer to our forward key. Returns 1 when it completed a ratchet.
fn handle_reverse_key(est: &mut Established, nk: &NextKey) -> u64 {
    if !est.send_forward_key {
        return 0;
    }
    let Some(s) = &mut est.next_send else {
        return 0;
    };
    let matches_same = (!s.new_key || s.key_id == 0) && nk.key_id == s.key_id;
    let matches_prev = s.new_key && s.key_id.checked_sub(1) == Some(nk.key_id);
    if !(matches_same || matches_prev) {
        return 0;
    }
    if let Some(k) = nk.key {
        s.remote = Some(X25519Public(k));
    }
    let (Some(secret), Some(remote)) = (&s.secret, &s.remote) else {
        return 0;
    };
    let Ok(shared) = secret.dh(remote) else {
        return 0;
    };
    let Ok(id) = u16::try_from(1 + u32::from(s.key_id) + u32::from(nk.key_id)) else {
        return 0;
    };
    let tagset_key = hkdf32(&shared, &[], info::XDH_RATCHET_TAG_SET);
    est.send = TagSet::new(id, est.send.next_root_key(), &tagset_key);
    est.send_forward_key = false;
    1
}

/// A forward NextKey from the tag sender: remember it (unless it repeats the one we already
/// answered) and owe a reverse key.
fn handle_forward_key(est: &mut Established, nk: &NextKey, root: &Zeroizing<[u8; 32]>) {
    let new_key = nk.requests_reverse();
    est.send_reverse_key = true;
    if est.next_recv.as_ref().is_some_and(|r| {
        r.key_id == nk.key_id && r.new_key == new_key && est.pending_forward.is_none()
    }) {
        return; // a repeat: answer again, nothing else
    }
    if est
        .pending_forward
        .as_ref()
        .is_some_and(|p| p.key_id == nk.key_id && p.new_key == new_key)
    {
        return;
    }
    est.pending_forward = Some(PendingForward {
        key_id: nk.key_id,
        new_key,
        key: nk.key.map(X25519Public),
        root: root.clone(),
    });
}

/// Make the receive tag set a forward NextKey asked for (generating our new key if it
/// requested one). Returns 1 when a tag set was created.
fn apply_pending_forward<R: CryptoRng + ?Sized>(
    est: &mut Established,
    remote: &X25519Public,
    config: &GarlicConfig,
    now_ms: u64,
    rng: &mut R,
    tags: &mut Tags,
) -> u64 {
    let Some(pf) = est.pending_forward.take() else {
        return 0;
    };
    let r = est.next_recv.get_or_insert_with(|| DhRatchet {
        key_id: 0,
        new_key: true,
        secret: None,
        remote: None,
    });
    r.key_id = pf.key_id;
    let mut id = 2 * u32::from(pf.key_id);
    if pf.new_key {
        r.secret = Some(X25519Secret::generate(rng));
        r.new_key = true;
        id += 1;
    } else {
        r.new_key = false;
    }
    if let Some(k) = pf.key {
        r.remote = Some(k);
    }
    let (Some(secret), Some(their)) = (&r.secret, &r.remote) else {
        est.send_reverse_key = false;
        return 0;
    };
    let (Ok(shared), Ok(id)) = (secret.dh(their), u16::try_from(id)) else {
        est.send_reverse_key = false;
        return 0;
    };
    let tagset_key = hkdf32(&shared, &[], info::XDH_RATCHET_TAG_SET);
    let mut rts = RecvTagSet::new(TagSet::new(id, &pf.root, &tagset_key));
    rts.extend_to(
        u32::from(config.max_inbound_tags),
        (*remote, est.origin, Target::Es(id)),
        tags,
    );
    for old in est.recv.values_mut() {
        old.expires_ms
            .get_or_insert(now_ms.saturating_add(config.previous_tagset_lifetime_ms));
    }
    if let Some(mut replaced) = est.recv.insert(id, rts) {
        replaced.drop_tags(tags);
    }
    est.send_reverse_key = true;
    1
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
