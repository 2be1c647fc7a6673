//! The NTCP2 handshake (spec/ntcp2.md, "SessionRequest", "SessionCreated", "SessionConfirmed"
//! and the KDF sections): Noise XK with the ephemeral keys AES-256-CBC-obfuscated under the
//! responder's router hash and published IV, a 16-byte options block in messages 1 and 2,
//! cleartext authenticated padding after them, and the initiator's RouterInfo in message 3.
//!
//! Sans-IO: [`Initiator`] and [`Responder`] consume and produce byte buffers; the caller reads
//! exactly the lengths they announce. Message 1 and 2 are read in two steps (the fixed 64 bytes,
//! then the padding length the options block announced).

use std::collections::HashMap;

use i2p_crypto::aes::Aes256;
use i2p_crypto::siphash::SipLengthMask;
use i2p_crypto::{CipherState, SymmetricState, X25519Public, X25519Secret, hmac_sha256};
use i2p_wire::{Date, Hash, RouterInfo};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::Zeroizing;

use super::block::{self, Block, FrameBuilder, TerminationReason};
use super::frame::{DataPhase, FrameReceiver, FrameSender};

/// The Noise protocol name (48 bytes, so `h` starts as its SHA-256).
pub const PROTOCOL_NAME: &[u8] = b"Noise_XKaesobfse+hs2+hs3_25519_ChaChaPoly_SHA256";
/// Fixed part of messages 1 and 2: the 32-byte obfuscated key and the 32-byte options frame.
pub const HEAD_LEN: usize = 64;
/// Message 3 part 1: the encrypted static key and its tag.
pub const MSG3_PART1_LEN: usize = 48;
/// Largest message 3 part 2 frame (65535 minus part 1).
pub const MAX_MSG3_PART2_LEN: usize = 65535 - MSG3_PART1_LEN;
/// Largest padding accepted after message 1 or 2. i2pd 2.45.1 refuses messages 1/2 longer than
/// 287 bytes (the NTCP1-compatible limit), so nothing longer is ever legitimate from it.
pub const MAX_HANDSHAKE_PADDING: usize = 287 - HEAD_LEN;
/// Padding we add after messages 1 and 2 (0 ..= this, uniformly).
pub const OUR_MAX_PADDING: usize = 31;
/// Largest clock difference accepted (spec/ntcp2.md, "Clock Skew Guidelines").
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;
/// The only NTCP2 protocol version.
pub const VERSION: u8 = 2;

/// Why a handshake failed. Every variant ends the connection without a reply (the responder
/// adds the probing-resistance delay for message 1 failures).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    #[error("message {msg}: the ephemeral key is not a usable X25519 point")]
    BadEphemeralKey { msg: u8 },
    #[error("message {msg}: authentication failed (wrong key, or not NTCP2)")]
    Aead { msg: u8 },
    #[error("message 1: network id {theirs}, we are on {ours}")]
    NetIdMismatch { ours: u8, theirs: u8 },
    #[error("message 1: protocol version {0}, only 2 exists")]
    Version(u8),
    #[error("message {msg}: clock skew of {skew_secs} s (limit {MAX_CLOCK_SKEW_SECS} s)")]
    ClockSkew { msg: u8, skew_secs: i64 },
    #[error("message {msg}: padding of {len} bytes is over the limit of {MAX_HANDSHAKE_PADDING}")]
    PaddingTooLong { msg: u8, len: usize },
    #[error("message 1: ephemeral key seen before (replay)")]
    Replay,
    #[error("message 1: message 3 part 2 length {0} is outside 16..=65487")]
    BadMsg3Length(usize),
    #[error("message 3: {0}")]
    Msg3Payload(String),
    #[error("message 3: RouterInfo rejected: {0}")]
    RouterInfo(String),
    #[error("message 3: the static key does not match the RouterInfo's NTCP2 address")]
    StaticKeyMismatch,
    #[error("message {msg}: wrong length {len}")]
    Length { msg: u8, len: usize },
    #[error("our RouterInfo ({0} bytes) does not fit in message 3")]
    OwnRouterInfoTooLarge(usize),
    #[error("the peer's NTCP2 static key is not usable")]
    BadRemoteStatic,
}

impl HandshakeError {
    /// The termination reason that describes this failure (for logs; handshake failures are
    /// not answered on the wire).
    pub fn reason(&self) -> TerminationReason {
        match self {
            HandshakeError::ClockSkew { .. } => TerminationReason::ClockSkew,
            HandshakeError::RouterInfo(_) => TerminationReason::RouterInfoSignatureFailure,
            HandshakeError::StaticKeyMismatch => TerminationReason::StaticKeyMismatch,
            HandshakeError::Aead { msg: 2 } | HandshakeError::BadEphemeralKey { msg: 2 } => {
                TerminationReason::Message2Error
            }
            HandshakeError::Aead { msg: 3 } | HandshakeError::Msg3Payload(_) => {
                TerminationReason::Message3Error
            }
            _ => TerminationReason::Message1Error,
        }
    }
}

fn skew(msg: u8, peer_secs: u32, now_secs: u64) -> Result<(), HandshakeError> {
    let d = i64::from(peer_secs) - i64::try_from(now_secs).unwrap_or(i64::MAX);
    if d.unsigned_abs() > MAX_CLOCK_SKEW_SECS {
        return Err(HandshakeError::ClockSkew { msg, skew_secs: d });
    }
    Ok(())
}

fn secs32(now_secs: u64) -> u32 {
    u32::try_from(now_secs).unwrap_or(u32::MAX)
}

/// `h` after `InitializeSymmetric` and the empty prologue, then `MixHash(rs)`.
fn initial_state(responder_static: &[u8; 32]) -> SymmetricState {
    let mut ss = SymmetricState::new(PROTOCOL_NAME);
    ss.mix_hash(&[]);
    ss.mix_hash(responder_static);
    ss
}

/// The data-phase keys (spec/ntcp2.md, "KDF for data phase"): Split() for the two AEAD keys,
/// then the "ask"/"siphash" derivation for the two length-obfuscation keys and IVs.
/// Returns (Alice→Bob, Bob→Alice) halves.
fn data_phase_keys(
    ss: &SymmetricState,
) -> ((CipherState, SipLengthMask), (CipherState, SipLengthMask)) {
    let temp = Zeroizing::new(hmac_sha256(ss.ck(), &[]));
    let k_ab = Zeroizing::new(hmac_sha256(&*temp, &[&[1]]));
    let k_ba = Zeroizing::new(hmac_sha256(&*temp, &[&*k_ab, &[2]]));
    let ask_master = Zeroizing::new(hmac_sha256(&*temp, &[b"ask", &[1]]));
    let temp2 = Zeroizing::new(hmac_sha256(&*ask_master, &[ss.h(), b"siphash"]));
    let sip_master = Zeroizing::new(hmac_sha256(&*temp2, &[&[1]]));
    let temp3 = Zeroizing::new(hmac_sha256(&*sip_master, &[]));
    let sip_ab = Zeroizing::new(hmac_sha256(&*temp3, &[&[1]]));
    let sip_ba = Zeroizing::new(hmac_sha256(&*temp3, &[&*sip_ab, &[2]]));
    let mask = |k: &[u8; 32]| {
        let mut key = [0u8; 16];
        key.copy_from_slice(&k[..16]);
        let mut iv = [0u8; 8];
        iv.copy_from_slice(&k[16..24]);
        let m = SipLengthMask::new(&key, iv);
        key.fill(0);
        m
    };
    (
        (CipherState::new(*k_ab), mask(&sip_ab)),
        (CipherState::new(*k_ba), mask(&sip_ba)),
    )
}

fn random_padding<R: CryptoRng + ?Sized>(rng: &mut R) -> Vec<u8> {
    let mut n = [0u8; 1];
    rng.fill_bytes(&mut n);
    let len = usize::from(n[0]) % (OUR_MAX_PADDING + 1);
    let mut p = vec![0u8; len];
    rng.fill_bytes(&mut p);
    p
}

/// What the initiator needs to know about itself and the peer.
#[derive(Debug)]
pub struct InitiatorParams<'a> {
    pub net_id: u8,
    /// our NTCP2 static key
    pub local_static: &'a X25519Secret,
    /// our signed RouterInfo as sent in message 3
    pub local_router_info: &'a [u8],
    /// the peer's router hash (the AES key for the ephemeral keys)
    pub remote_hash: Hash,
    /// the peer's published `s`
    pub remote_static: [u8; 32],
    /// the peer's published `i`
    pub remote_iv: [u8; 16],
}

/// Alice: sent message 1, waiting for message 2.
pub struct Initiator {
    ss: SymmetricState,
    e: X25519Secret,
    local_static: X25519Secret,
    aes: Aes256,
    aes_iv: [u8; 16],
    /// message 3 part 2 plaintext, fixed in message 1's `m3p2len`
    m3p2: Zeroizing<Vec<u8>>,
    remote_e: Option<X25519Public>,
    msg2_padding: usize,
    /// the peer's clock minus ours, from message 2
    peer_skew: i64,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator").finish_non_exhaustive()
    }
}

impl Initiator {
    /// Build message 1. The returned bytes must be written in one go.
    pub fn start<R: CryptoRng + ?Sized>(
        p: &InitiatorParams<'_>,
        now_secs: u64,
        rng: &mut R,
    ) -> Result<(Initiator, Vec<u8>), HandshakeError> {
        let rs = X25519Public::from(p.remote_static);
        let mut ss = initial_state(&p.remote_static);
        let e = X25519Secret::generate(rng);
        let x = e.public();
        ss.mix_hash(x.as_bytes());
        let es = e.dh(&rs).map_err(|_| HandshakeError::BadRemoteStatic)?;
        ss.mix_key(&*es);

        // message 3 part 2: RouterInfo block, then a little padding
        let mut f = FrameBuilder::new();
        if !f.router_info(p.local_router_info, false) {
            return Err(HandshakeError::OwnRouterInfoTooLarge(
                p.local_router_info.len(),
            ));
        }
        let pad = random_padding(rng).len().min(f.room());
        f.padding(pad, rng);
        let m3p2 = Zeroizing::new(f.finish());
        let m3p2_len = m3p2.len() + 16;
        if m3p2_len > MAX_MSG3_PART2_LEN {
            return Err(HandshakeError::OwnRouterInfoTooLarge(
                p.local_router_info.len(),
            ));
        }

        let padding = random_padding(rng);
        let mut options = [0u8; 16];
        options[0] = p.net_id;
        options[1] = VERSION;
        options[2..4].copy_from_slice(&(padding.len() as u16).to_be_bytes());
        options[4..6].copy_from_slice(&(m3p2_len as u16).to_be_bytes());
        options[8..12].copy_from_slice(&secs32(now_secs).to_be_bytes());
        let enc_options = ss
            .encrypt_and_hash(&options)
            .map_err(|_| HandshakeError::Aead { msg: 1 })?;

        let aes = Aes256::new(p.remote_hash.as_bytes());
        let mut aes_iv = p.remote_iv;
        let mut enc_x = *x.as_bytes();
        aes.cbc_encrypt(&mut aes_iv, &mut enc_x)
            .map_err(|_| HandshakeError::Length { msg: 1, len: 32 })?;

        let mut msg = Vec::with_capacity(HEAD_LEN + padding.len());
        msg.extend_from_slice(&enc_x);
        msg.extend_from_slice(&enc_options);
        msg.extend_from_slice(&padding);
        if !padding.is_empty() {
            ss.mix_hash(&padding);
        }
        Ok((
            Initiator {
                ss,
                e,
                local_static: p.local_static.clone(),
                aes,
                aes_iv,
                m3p2,
                remote_e: None,
                msg2_padding: 0,
                peer_skew: 0,
            },
            msg,
        ))
    }

    /// Read the fixed 64 bytes of message 2; returns how many padding bytes follow.
    pub fn read_msg2(&mut self, head: &[u8], now_secs: u64) -> Result<usize, HandshakeError> {
        if head.len() != HEAD_LEN {
            return Err(HandshakeError::Length {
                msg: 2,
                len: head.len(),
            });
        }
        let mut y = [0u8; 32];
        y.copy_from_slice(&head[..32]);
        self.aes
            .cbc_decrypt(&mut self.aes_iv, &mut y)
            .map_err(|_| HandshakeError::Length { msg: 2, len: 32 })?;
        let re = X25519Public::from(y);
        self.ss.mix_hash(&y);
        let ee = self
            .e
            .dh(&re)
            .map_err(|_| HandshakeError::BadEphemeralKey { msg: 2 })?;
        self.ss.mix_key(&*ee);
        let options = self
            .ss
            .decrypt_and_hash(&head[32..])
            .map_err(|_| HandshakeError::Aead { msg: 2 })?;
        let pad = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let ts_b = u32::from_be_bytes([options[8], options[9], options[10], options[11]]);
        skew(2, ts_b, now_secs)?;
        self.peer_skew = i64::from(ts_b) - i64::try_from(now_secs).unwrap_or(i64::MAX);
        if pad > MAX_HANDSHAKE_PADDING {
            return Err(HandshakeError::PaddingTooLong { msg: 2, len: pad });
        }
        self.remote_e = Some(re);
        self.msg2_padding = pad;
        Ok(pad)
    }

    /// The peer's clock minus ours in seconds, as message 2 reported it.
    pub fn peer_skew_secs(&self) -> i64 {
        self.peer_skew
    }

    /// Take message 2's padding and build message 3 (to be written in one go, optionally
    /// followed by data-phase frames from the returned [`DataPhase`]).
    pub fn finish(mut self, padding: &[u8]) -> Result<(Vec<u8>, DataPhase), HandshakeError> {
        if padding.len() != self.msg2_padding {
            return Err(HandshakeError::Length {
                msg: 2,
                len: HEAD_LEN + padding.len(),
            });
        }
        let re = self
            .remote_e
            .ok_or(HandshakeError::Length { msg: 2, len: 0 })?;
        if !padding.is_empty() {
            self.ss.mix_hash(padding);
        }
        let s_pub = self.local_static.public();
        let part1 = self
            .ss
            .encrypt_and_hash(s_pub.as_bytes())
            .map_err(|_| HandshakeError::Aead { msg: 3 })?;
        let se = self
            .local_static
            .dh(&re)
            .map_err(|_| HandshakeError::BadEphemeralKey { msg: 2 })?;
        self.ss.mix_key(&*se);
        let part2 = self
            .ss
            .encrypt_and_hash(&self.m3p2)
            .map_err(|_| HandshakeError::Aead { msg: 3 })?;
        let mut msg = Vec::with_capacity(part1.len() + part2.len());
        msg.extend_from_slice(&part1);
        msg.extend_from_slice(&part2);
        let ((c_ab, m_ab), (c_ba, m_ba)) = data_phase_keys(&self.ss);
        Ok((
            msg,
            DataPhase {
                send: FrameSender::new(c_ab, m_ab),
                recv: FrameReceiver::new(c_ba, m_ba),
            },
        ))
    }
}

/// Recently seen message-1 ephemeral keys (spec: keep them at least twice the allowed skew).
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: HashMap<[u8; 32], u64>,
}

impl ReplayCache {
    /// Upper bound on remembered keys; beyond it the oldest half is dropped (a flood of
    /// handshakes cannot grow memory without bound).
    pub const MAX_ENTRIES: usize = 100_000;

    pub fn new() -> ReplayCache {
        ReplayCache::default()
    }

    /// Remember `key` at `now_secs`; false if it was already seen within the window.
    pub fn check_and_insert(&mut self, key: &[u8; 32], now_secs: u64) -> bool {
        let window = 2 * MAX_CLOCK_SKEW_SECS;
        if self.seen.len() >= Self::MAX_ENTRIES {
            self.seen
                .retain(|_, t| now_secs.saturating_sub(*t) <= window);
            if self.seen.len() >= Self::MAX_ENTRIES {
                let mut times: Vec<u64> = self.seen.values().copied().collect();
                times.sort_unstable();
                let cut = times[times.len() / 2];
                self.seen.retain(|_, t| *t > cut);
            }
        }
        match self.seen.get(key) {
            Some(t) if now_secs.saturating_sub(*t) <= window => false,
            _ => {
                self.seen.insert(*key, now_secs);
                true
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// What the responder needs to know about itself.
#[derive(Debug, Clone)]
pub struct ResponderParams {
    pub net_id: u8,
    pub local_static: X25519Secret,
    pub local_hash: Hash,
    pub local_iv: [u8; 16],
}

/// What message 1 announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg1Info {
    pub padding_len: usize,
    pub msg3_len: usize,
    /// the initiator's clock minus ours, in seconds
    pub peer_skew_secs: i64,
}

/// Bob: a connection accepted, handshake in progress.
pub struct Responder {
    ss: SymmetricState,
    params: ResponderParams,
    aes: Aes256,
    aes_iv: [u8; 16],
    remote_e: Option<X25519Public>,
    e: Option<X25519Secret>,
    msg1_padding: usize,
    m3p2_len: usize,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").finish_non_exhaustive()
    }
}

/// A completed inbound handshake: the peer's verified RouterInfo and the data phase.
#[derive(Debug)]
pub struct Established {
    pub router_info: RouterInfo,
    /// the RouterInfo as received (signed bytes, to pass on to the netDb)
    pub router_info_bytes: Vec<u8>,
    pub data: DataPhase,
}

impl Responder {
    pub fn new(params: ResponderParams) -> Responder {
        let s_pub = params.local_static.public();
        Responder {
            ss: initial_state(s_pub.as_bytes()),
            aes: Aes256::new(params.local_hash.as_bytes()),
            aes_iv: params.local_iv,
            params,
            remote_e: None,
            e: None,
            msg1_padding: 0,
            m3p2_len: 0,
        }
    }

    /// Read the fixed 64 bytes of message 1. On error the caller applies probing resistance.
    pub fn read_msg1(
        &mut self,
        head: &[u8],
        now_secs: u64,
        replay: &mut ReplayCache,
    ) -> Result<Msg1Info, HandshakeError> {
        if head.len() != HEAD_LEN {
            return Err(HandshakeError::Length {
                msg: 1,
                len: head.len(),
            });
        }
        let mut x = [0u8; 32];
        x.copy_from_slice(&head[..32]);
        self.aes
            .cbc_decrypt(&mut self.aes_iv, &mut x)
            .map_err(|_| HandshakeError::Length { msg: 1, len: 32 })?;
        // a valid X25519 public key never has the top bit set (spec: fast MSB check)
        if x[31] & 0x80 != 0 {
            return Err(HandshakeError::BadEphemeralKey { msg: 1 });
        }
        let re = X25519Public::from(x);
        self.ss.mix_hash(&x);
        let es = self
            .params
            .local_static
            .dh(&re)
            .map_err(|_| HandshakeError::BadEphemeralKey { msg: 1 })?;
        self.ss.mix_key(&*es);
        let options = self
            .ss
            .decrypt_and_hash(&head[32..])
            .map_err(|_| HandshakeError::Aead { msg: 1 })?;
        // after authentication: a replayed message 1 authenticates too, so check it here
        if !replay.check_and_insert(&x, now_secs) {
            return Err(HandshakeError::Replay);
        }
        let net_id = options[0];
        if net_id != 0 && net_id != self.params.net_id {
            return Err(HandshakeError::NetIdMismatch {
                ours: self.params.net_id,
                theirs: net_id,
            });
        }
        if options[1] != VERSION {
            return Err(HandshakeError::Version(options[1]));
        }
        let pad = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let m3p2 = usize::from(u16::from_be_bytes([options[4], options[5]]));
        let ts_a = u32::from_be_bytes([options[8], options[9], options[10], options[11]]);
        skew(1, ts_a, now_secs)?;
        if pad > MAX_HANDSHAKE_PADDING {
            return Err(HandshakeError::PaddingTooLong { msg: 1, len: pad });
        }
        // the frame holds at least a RouterInfo block header and the tag
        if !(16 + block::BLOCK_HEADER_LEN..=MAX_MSG3_PART2_LEN).contains(&m3p2) {
            return Err(HandshakeError::BadMsg3Length(m3p2));
        }
        self.remote_e = Some(re);
        self.msg1_padding = pad;
        self.m3p2_len = m3p2;
        Ok(Msg1Info {
            padding_len: pad,
            msg3_len: MSG3_PART1_LEN + m3p2,
            peer_skew_secs: i64::from(ts_a) - i64::try_from(now_secs).unwrap_or(i64::MAX),
        })
    }

    /// Take message 1's padding and build message 2 (written in one go).
    pub fn create_msg2<R: CryptoRng + ?Sized>(
        &mut self,
        padding1: &[u8],
        now_secs: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, HandshakeError> {
        if padding1.len() != self.msg1_padding {
            return Err(HandshakeError::Length {
                msg: 1,
                len: HEAD_LEN + padding1.len(),
            });
        }
        let re = self
            .remote_e
            .ok_or(HandshakeError::Length { msg: 1, len: 0 })?;
        if !padding1.is_empty() {
            self.ss.mix_hash(padding1);
        }
        let e = X25519Secret::generate(rng);
        let y = e.public();
        self.ss.mix_hash(y.as_bytes());
        let ee = e
            .dh(&re)
            .map_err(|_| HandshakeError::BadEphemeralKey { msg: 1 })?;
        self.ss.mix_key(&*ee);
        let padding = random_padding(rng);
        let mut options = [0u8; 16];
        options[2..4].copy_from_slice(&(padding.len() as u16).to_be_bytes());
        options[8..12].copy_from_slice(&secs32(now_secs).to_be_bytes());
        let enc_options = self
            .ss
            .encrypt_and_hash(&options)
            .map_err(|_| HandshakeError::Aead { msg: 2 })?;
        let mut enc_y = *y.as_bytes();
        self.aes
            .cbc_encrypt(&mut self.aes_iv, &mut enc_y)
            .map_err(|_| HandshakeError::Length { msg: 2, len: 32 })?;
        let mut msg = Vec::with_capacity(HEAD_LEN + padding.len());
        msg.extend_from_slice(&enc_y);
        msg.extend_from_slice(&enc_options);
        msg.extend_from_slice(&padding);
        if !padding.is_empty() {
            self.ss.mix_hash(&padding);
        }
        self.e = Some(e);
        Ok(msg)
    }

    /// Length of message 3 (part 1 and the announced part 2).
    pub fn msg3_len(&self) -> usize {
        MSG3_PART1_LEN + self.m3p2_len
    }

    /// Read message 3 and check the initiator's RouterInfo (signature, age, network id, static
    /// key). `buf` is decrypted in place.
    pub fn read_msg3(mut self, buf: &mut [u8], now: Date) -> Result<Established, HandshakeError> {
        if buf.len() != self.msg3_len() {
            return Err(HandshakeError::Length {
                msg: 3,
                len: buf.len(),
            });
        }
        let e = self
            .e
            .take()
            .ok_or(HandshakeError::Length { msg: 3, len: 0 })?;
        let (part1, part2) = buf.split_at_mut(MSG3_PART1_LEN);
        let n = self
            .ss
            .decrypt_and_hash_in_place(part1)
            .map_err(|_| HandshakeError::Aead { msg: 3 })?;
        let mut s = [0u8; 32];
        s.copy_from_slice(&part1[..n.min(32)]);
        let rs = X25519Public::from(s);
        let se = e
            .dh(&rs)
            .map_err(|_| HandshakeError::BadEphemeralKey { msg: 3 })?;
        self.ss.mix_key(&*se);
        let n = self
            .ss
            .decrypt_and_hash_in_place(part2)
            .map_err(|_| HandshakeError::Aead { msg: 3 })?;
        let blocks = block::parse_blocks(&part2[..n])
            .map_err(|e| HandshakeError::Msg3Payload(e.to_string()))?;
        let mut it = blocks.into_iter();
        let ri_bytes = match it.next() {
            Some(Block::RouterInfo { router_info, .. }) => router_info.to_vec(),
            _ => {
                return Err(HandshakeError::Msg3Payload(
                    "the first block is not a RouterInfo".into(),
                ));
            }
        };
        for b in it {
            match b {
                Block::Options(_) | Block::Padding(_) => {}
                other => {
                    return Err(HandshakeError::Msg3Payload(format!(
                        "block {other:?} is not allowed in message 3"
                    )));
                }
            }
        }
        let ri = RouterInfo::parse(&ri_bytes)
            .and_then(|u| u.verify(now))
            .map_err(|e| HandshakeError::RouterInfo(e.to_string()))?;
        match ri.net_id() {
            Ok(Some(id)) if id == u32::from(self.params.net_id) => {}
            Ok(Some(id)) => {
                return Err(HandshakeError::RouterInfo(format!(
                    "netId {id}, we are on {}",
                    self.params.net_id
                )));
            }
            _ => {
                return Err(HandshakeError::RouterInfo("no valid netId".into()));
            }
        }
        let key_matches = ri
            .addresses()
            .iter()
            .filter_map(|a| a.ntcp2().ok())
            .any(|a| a.static_key == s);
        if !key_matches {
            return Err(HandshakeError::StaticKeyMismatch);
        }
        let ((c_ab, m_ab), (c_ba, m_ba)) = data_phase_keys(&self.ss);
        Ok(Established {
            router_info: ri,
            router_info_bytes: ri_bytes,
            data: DataPhase {
                send: FrameSender::new(c_ba, m_ba),
                recv: FrameReceiver::new(c_ab, m_ab),
            },
        })
    }
}
