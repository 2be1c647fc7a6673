//! The hop side of ECIES tunnel building and the participant's layer encryption
//! (spec/tunnel-creation-ecies.md, short records; spec/tunnel-implementation.md).
//!
//! A ShortTunnelBuild carries up to 8 records of 218 bytes. The one for us starts with the
//! first 16 bytes of our router hash, then the creator's ephemeral X25519 key and 170 bytes
//! of ChaCha20-Poly1305 ciphertext: a one-way Noise `N` handshake to our router encryption key.
//! We open it ([`open_short_record`]), derive the reply key and the tunnel layer keys from
//! the handshake's chaining key, decide, and answer ([`OpenedRecord::answer`]): our record is
//! replaced by an authenticated reply carrying the status byte, every other record gets one
//! more ChaCha20 layer under our reply key (the creator peels these in order). The message then
//! goes to the next hop, or, if we are the outbound endpoint, back to the creator through its
//! reply tunnel.
//!
//! Byte-level choices follow i2pd 2.45.1 (`I2NPProtocol.cpp` HandleShortTunnelBuildMsg,
//! `RouterContext.cpp` DecryptECIESTunnelBuildRecord): the KDF labels and their order, the
//! reply nonce = record index, the status byte at offset 201 of the reply, the IV key taken from
//! the chaining key unless we are the endpoint.

use i2p_crypto::aead::{chacha20_xor, encrypt_detached, noise_nonce};
use i2p_crypto::aes::Aes256;
use i2p_crypto::hash::hkdf2;
use i2p_crypto::{CryptoRng, SymmetricState, X25519Public, X25519Secret};
use i2p_wire::i2np::tunnel::SHORT_BUILD_RECORD_LEN;
use i2p_wire::{Hash, TunnelId};
use thiserror::Error;
use zeroize::Zeroizing;

/// Length of a short build record.
pub const RECORD_LEN: usize = SHORT_BUILD_RECORD_LEN;
/// Length of a short request record's cleartext.
pub const REQUEST_CLEARTEXT_LEN: usize = 154;
/// Where the status byte sits in a short reply record's cleartext (i2pd).
pub const REPLY_STATUS_OFFSET: usize = 201;
/// Request flag: we are the inbound gateway.
pub const FLAG_GATEWAY: u8 = 0x80;
/// Request flag: we are the outbound endpoint.
pub const FLAG_ENDPOINT: u8 = 0x40;
/// Status: accepted.
pub const ACCEPT: u8 = 0;
/// Status: rejected, the generic code routers use for "too busy / bandwidth" (spec: 30).
pub const REJECT_BANDWIDTH: u8 = 30;

const PROTOCOL: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";
const TO_PEER_LEN: usize = 16;
const EPHEMERAL_OFFSET: usize = TO_PEER_LEN;
const CIPHERTEXT_OFFSET: usize = TO_PEER_LEN + 32;
const TAG_LEN: usize = 16;
/// i2pd's raw ChaCha20 (Crypto.cpp `ChaCha20`) starts at block counter 1, like the cipher
/// inside ChaCha20-Poly1305; the record layers must too (keystream byte offset 64).
const CHACHA_OFFSET: u64 = 64;

/// Why a build record could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("the creator's ephemeral key is a low-order point")]
    LowOrderKey,
    #[error("build record {0} failed authentication (not encrypted to our router key)")]
    Aead(usize),
    #[error("build record {index}: unknown layer encryption type {kind}")]
    LayerEncryption { index: usize, kind: u8 },
    #[error("build record {index} asks for both inbound gateway and outbound endpoint")]
    BothRoles { index: usize },
    #[error("record index {0} is outside the message")]
    Index(usize),
}

/// What we are in the requested tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A middle hop: TunnelData in, one layer, TunnelData out.
    Participant,
    /// The inbound gateway: TunnelGateway messages in, fragmented into TunnelData out.
    InboundGateway,
    /// The outbound endpoint: TunnelData in, messages reassembled and delivered.
    OutboundEndpoint,
}

/// The cleartext of a short build request record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortRequest {
    /// the tunnel id we receive on
    pub receive_tunnel: TunnelId,
    /// the tunnel id of the next hop (for the outbound endpoint: the reply tunnel)
    pub next_tunnel: TunnelId,
    /// the next hop (for the outbound endpoint: the reply tunnel's gateway)
    pub next_router: Hash,
    pub flags: u8,
    pub more_flags: u16,
    /// 0 = AES-256 (the only one defined)
    pub layer_encryption: u8,
    /// when the creator made the request, minutes since the epoch
    pub request_time_minutes: u32,
    /// how long the request is valid, seconds
    pub expiration_secs: u32,
    /// the message id to use for the build message we send on
    pub send_msg_id: u32,
}

impl ShortRequest {
    /// Parse the 154-byte cleartext (fields in spec order, options and padding after).
    pub fn parse(clear: &[u8; REQUEST_CLEARTEXT_LEN], index: usize) -> Result<Self, BuildError> {
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&clear[at..at + 4]);
            u32::from_be_bytes(b)
        };
        let mut next = [0u8; 32];
        next.copy_from_slice(&clear[8..40]);
        let req = ShortRequest {
            receive_tunnel: TunnelId(u32_at(0)),
            next_tunnel: TunnelId(u32_at(4)),
            next_router: Hash::from_bytes(next),
            flags: clear[40],
            more_flags: u16::from_be_bytes([clear[41], clear[42]]),
            layer_encryption: clear[43],
            request_time_minutes: u32_at(44),
            expiration_secs: u32_at(48),
            send_msg_id: u32_at(52),
        };
        if req.layer_encryption != 0 {
            return Err(BuildError::LayerEncryption {
                index,
                kind: req.layer_encryption,
            });
        }
        if req.flags & FLAG_GATEWAY != 0 && req.flags & FLAG_ENDPOINT != 0 {
            return Err(BuildError::BothRoles { index });
        }
        Ok(req)
    }

    /// Our role, from the flags.
    pub fn role(&self) -> Role {
        role_from_flags(self.flags)
    }

    /// Write the cleartext layout (the creator's side; options empty, zero padding).
    pub fn to_cleartext(&self) -> [u8; REQUEST_CLEARTEXT_LEN] {
        let mut c = [0u8; REQUEST_CLEARTEXT_LEN];
        c[0..4].copy_from_slice(&self.receive_tunnel.0.to_be_bytes());
        c[4..8].copy_from_slice(&self.next_tunnel.0.to_be_bytes());
        c[8..40].copy_from_slice(self.next_router.as_bytes());
        c[40] = self.flags;
        c[41..43].copy_from_slice(&self.more_flags.to_be_bytes());
        c[43] = self.layer_encryption;
        c[44..48].copy_from_slice(&self.request_time_minutes.to_be_bytes());
        c[48..52].copy_from_slice(&self.expiration_secs.to_be_bytes());
        c[52..56].copy_from_slice(&self.send_msg_id.to_be_bytes());
        // 56..58: an empty options mapping; the rest is padding
        c
    }
}

/// The per-hop keys of a tunnel we take part in.
pub struct HopKeys {
    pub layer_key: Zeroizing<[u8; 32]>,
    pub iv_key: Zeroizing<[u8; 32]>,
    pub reply_key: Zeroizing<[u8; 32]>,
    /// outbound endpoint only: key and tag to garlic-wrap the build reply for the creator
    pub reply_garlic: Option<(Zeroizing<[u8; 32]>, [u8; 8])>,
}

impl std::fmt::Debug for HopKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HopKeys([redacted])")
    }
}

/// Our record, opened: the request, the keys, and what we need to answer.
#[derive(Debug)]
pub struct OpenedRecord {
    pub index: usize,
    pub request: ShortRequest,
    pub keys: HopKeys,
    /// the creator's ephemeral key for this record (unique per request; the replay filter's key)
    pub ephemeral: [u8; 32],
    h: [u8; 32],
}

/// How far a request's creation time may lie in the past / future, in seconds (a request is
/// valid for about 10 minutes; allow clock skew on top).
pub const MAX_REQUEST_AGE_SECS: u64 = 12 * 60;
pub const MAX_REQUEST_FUTURE_SECS: u64 = 5 * 60;

impl ShortRequest {
    /// Is the request's creation time (minute resolution) plausible at `now_secs`?
    pub fn is_fresh(&self, now_secs: u64) -> bool {
        request_is_fresh(self.request_time_minutes, now_secs)
    }
}

/// A hop's role from the flags byte of a build request (short or long): bit 7 inbound
/// gateway, bit 6 outbound endpoint, neither a participant.
pub fn role_from_flags(flags: u8) -> Role {
    if flags & FLAG_GATEWAY != 0 {
        Role::InboundGateway
    } else if flags & FLAG_ENDPOINT != 0 {
        Role::OutboundEndpoint
    } else {
        Role::Participant
    }
}

/// Is a request made at `request_time_minutes` (minutes since the epoch) plausible at
/// `now_secs`: at most [`MAX_REQUEST_AGE_SECS`] old, at most [`MAX_REQUEST_FUTURE_SECS`] ahead.
pub fn request_is_fresh(request_time_minutes: u32, now_secs: u64) -> bool {
    let t = u64::from(request_time_minutes).saturating_mul(60);
    t + MAX_REQUEST_AGE_SECS >= now_secs && t <= now_secs + MAX_REQUEST_FUTURE_SECS
}

/// Remembers the ephemeral keys of build records we opened, so a replayed record (same bytes,
/// same key) is refused. Entries are kept for [`MAX_REQUEST_AGE_SECS`] plus the future window,
/// after which [`ShortRequest::is_fresh`] refuses the replay anyway; at most `capacity` are
/// kept (the oldest go first).
#[derive(Debug)]
pub struct ReplayFilter {
    seen: std::collections::HashMap<[u8; 32], u64>,
    order: std::collections::VecDeque<([u8; 32], u64)>,
    capacity: usize,
}

impl ReplayFilter {
    pub fn new(capacity: usize) -> ReplayFilter {
        ReplayFilter {
            seen: std::collections::HashMap::new(),
            order: std::collections::VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// True the first time `key` is seen (and remembers it); false for a replay.
    pub fn check_and_insert(&mut self, key: &[u8; 32], now_secs: u64) -> bool {
        let horizon = MAX_REQUEST_AGE_SECS + MAX_REQUEST_FUTURE_SECS;
        while let Some((k, at)) = self.order.front().copied() {
            if at + horizon < now_secs || self.order.len() >= self.capacity {
                self.order.pop_front();
                self.seen.remove(&k);
            } else {
                break;
            }
        }
        if self.seen.contains_key(key) {
            return false;
        }
        self.seen.insert(*key, now_secs);
        self.order.push_back((*key, now_secs));
        true
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Find and open our record. `Ok(None)`: no record starts with our hash (the message was not
/// for us); `Err`: our record is there but unusable (the caller drops the message, as i2pd).
pub fn open_short_record(
    records: &[[u8; RECORD_LEN]],
    our_hash: &Hash,
    our_key: &X25519Secret,
) -> Result<Option<OpenedRecord>, BuildError> {
    let Some(index) = records
        .iter()
        .position(|r| r[..TO_PEER_LEN] == our_hash.as_bytes()[..TO_PEER_LEN])
    else {
        return Ok(None);
    };
    let record = &records[index];
    let mut ss = SymmetricState::new(PROTOCOL);
    ss.mix_hash(&[]);
    ss.mix_hash(our_key.public().as_bytes());
    let mut epk = [0u8; 32];
    epk.copy_from_slice(&record[EPHEMERAL_OFFSET..CIPHERTEXT_OFFSET]);
    ss.mix_hash(&epk);
    let shared = our_key
        .dh(&X25519Public(epk))
        .map_err(|_| BuildError::LowOrderKey)?;
    ss.mix_key(&*shared);
    let mut buf = Zeroizing::new([0u8; REQUEST_CLEARTEXT_LEN + TAG_LEN]);
    buf.copy_from_slice(&record[CIPHERTEXT_OFFSET..]);
    ss.decrypt_and_hash_in_place(&mut *buf)
        .map_err(|_| BuildError::Aead(index))?;
    let mut clear = Zeroizing::new([0u8; REQUEST_CLEARTEXT_LEN]);
    clear.copy_from_slice(&buf[..REQUEST_CLEARTEXT_LEN]);
    let request = ShortRequest::parse(&clear, index)?;
    let keys = derive_keys(ss.ck(), request.role() == Role::OutboundEndpoint);
    Ok(Some(OpenedRecord {
        index,
        request,
        keys,
        ephemeral: epk,
        h: *ss.h(),
    }))
}

/// The key schedule after the Noise handshake: reply key, layer key, IV key, and for the
/// outbound endpoint the reply garlic key and tag (each step: `ck, k = HKDF(ck, "", label)`).
fn derive_keys(ck: &[u8; 32], endpoint: bool) -> HopKeys {
    let (ck, reply_key) = hkdf2(ck, &[], b"SMTunnelReplyKey");
    let (ck, layer_key) = hkdf2(&*ck, &[], b"SMTunnelLayerKey");
    let (ck, iv_key) = if endpoint {
        hkdf2(&*ck, &[], b"TunnelLayerIVKey")
    } else {
        (ck.clone(), ck)
    };
    let reply_garlic = endpoint.then(|| {
        let (ck, key) = hkdf2(&*ck, &[], b"RGarlicKeyAndTag");
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&ck[..8]);
        (key, tag)
    });
    HopKeys {
        layer_key,
        iv_key,
        reply_key,
        reply_garlic,
    }
}

impl OpenedRecord {
    /// Answer with `status` in place: our record becomes the authenticated reply (empty
    /// options, random padding, the status byte), every other record gets a ChaCha20 layer
    /// under our reply key with the record index as nonce.
    pub fn answer<R: CryptoRng + ?Sized>(
        &self,
        records: &mut [[u8; RECORD_LEN]],
        status: u8,
        rng: &mut R,
    ) -> Result<(), BuildError> {
        if self.index >= records.len() {
            return Err(BuildError::Index(self.index));
        }
        for (j, record) in records.iter_mut().enumerate() {
            let nonce = noise_nonce(j as u64);
            if j == self.index {
                let body = &mut record[..RECORD_LEN - TAG_LEN];
                rng.fill_bytes(body);
                body[0] = 0;
                body[1] = 0;
                body[REPLY_STATUS_OFFSET] = status;
                let tag = encrypt_detached(&self.keys.reply_key, &nonce, &self.h, body);
                record[RECORD_LEN - TAG_LEN..].copy_from_slice(&tag);
            } else {
                chacha20_xor(&self.keys.reply_key, &nonce, CHACHA_OFFSET, record);
            }
        }
        Ok(())
    }
}

/// One hop's tunnel layer: AES-256 on the IV (ECB, applied before and after) and on the data
/// (CBC under the once-encrypted IV), as i2pd's TunnelEncryption.
pub struct LayerCipher {
    iv: Aes256,
    layer: Aes256,
}

impl std::fmt::Debug for LayerCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LayerCipher([redacted])")
    }
}

impl LayerCipher {
    pub fn new(layer_key: &[u8; 32], iv_key: &[u8; 32]) -> LayerCipher {
        LayerCipher {
            iv: Aes256::new(iv_key),
            layer: Aes256::new(layer_key),
        }
    }

    /// Add our layer to a TunnelData payload after its tunnel id: 16-byte IV ‖ 1008 bytes.
    pub fn encrypt(&self, payload: &mut [u8; 1024]) {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&payload[..16]);
        self.iv.encrypt_block(&mut iv);
        let mut chain = iv;
        // 1008 is a multiple of 16, so CBC cannot fail
        let _ = self.layer.cbc_encrypt(&mut chain, &mut payload[16..]);
        self.iv.encrypt_block(&mut iv);
        payload[..16].copy_from_slice(&iv);
    }

    /// Remove our layer (the inverse of [`LayerCipher::encrypt`]).
    pub fn decrypt(&self, payload: &mut [u8; 1024]) {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&payload[..16]);
        self.iv.decrypt_block(&mut iv);
        let mut chain = iv;
        let _ = self.layer.cbc_decrypt(&mut chain, &mut payload[16..]);
        self.iv.decrypt_block(&mut iv);
        payload[..16].copy_from_slice(&iv);
    }
}

/// The creator's half, used by tests now and by our own tunnel building later: encrypt a
/// request for a hop with router hash `hop_hash` and router encryption key `hop_key`. Returns
/// the record and the hop's keys and handshake hash as the creator computes them.
pub fn seal_short_record<R: CryptoRng + ?Sized>(
    request: &ShortRequest,
    hop_hash: &Hash,
    hop_key: &X25519Public,
    rng: &mut R,
) -> Result<([u8; RECORD_LEN], HopKeys, [u8; 32]), BuildError> {
    let e = X25519Secret::generate(rng);
    let mut ss = SymmetricState::new(PROTOCOL);
    ss.mix_hash(&[]);
    ss.mix_hash(hop_key.as_bytes());
    ss.mix_hash(e.public().as_bytes());
    let shared = e.dh(hop_key).map_err(|_| BuildError::LowOrderKey)?;
    ss.mix_key(&*shared);
    let mut clear = request.to_cleartext();
    let tag = ss
        .encrypt_and_hash_in_place(&mut clear)
        .map_err(|_| BuildError::Aead(0))?
        .ok_or(BuildError::Aead(0))?;
    let mut record = [0u8; RECORD_LEN];
    record[..TO_PEER_LEN].copy_from_slice(&hop_hash.as_bytes()[..TO_PEER_LEN]);
    record[EPHEMERAL_OFFSET..CIPHERTEXT_OFFSET].copy_from_slice(e.public().as_bytes());
    record[CIPHERTEXT_OFFSET..RECORD_LEN - TAG_LEN].copy_from_slice(&clear);
    record[RECORD_LEN - TAG_LEN..].copy_from_slice(&tag);
    let keys = derive_keys(ss.ck(), request.role() == Role::OutboundEndpoint);
    Ok((record, keys, *ss.h()))
}

/// The creator, after sealing every hop's record: each hop adds a ChaCha20 layer to every
/// record but its own, so a later hop's record must carry the inverse of the earlier hops'
/// layers (ChaCha20 is its own inverse). `hops` lists (record index, reply key) in path order.
pub fn pre_encrypt_for_earlier_hops(records: &mut [[u8; RECORD_LEN]], hops: &[(usize, &[u8; 32])]) {
    for (k, (idx_k, _)) in hops.iter().enumerate() {
        let nonce = noise_nonce(*idx_k as u64);
        for (_, key_i) in hops.iter().take(k) {
            if let Some(r) = records.get_mut(*idx_k) {
                chacha20_xor(key_i, &nonce, CHACHA_OFFSET, r);
            }
        }
    }
}

/// The creator reads hop `index`'s reply: undo the ChaCha20 layers the later hops added (in
/// reverse order, each with its reply key), then open the reply. Returns the status byte.
pub fn open_short_reply(
    record: &[u8; RECORD_LEN],
    index: usize,
    own: (&[u8; 32], &[u8; 32]),
    later_reply_keys: &[&[u8; 32]],
) -> Result<u8, BuildError> {
    let (reply_key, h) = own;
    let mut buf = *record;
    let nonce = noise_nonce(index as u64);
    for key in later_reply_keys.iter().rev() {
        chacha20_xor(key, &nonce, CHACHA_OFFSET, &mut buf);
    }
    let (body, tag) = buf.split_at_mut(RECORD_LEN - TAG_LEN);
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag);
    i2p_crypto::aead::decrypt_detached(reply_key, &nonce, h, body, &t)
        .map_err(|_| BuildError::Aead(index))?;
    body.get(REPLY_STATUS_OFFSET)
        .copied()
        .ok_or(BuildError::Index(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(seed: u8) -> (X25519Secret, Hash) {
        (
            X25519Secret::from_bytes([seed; 32]),
            Hash::from_bytes([seed ^ 0x77; 32]),
        )
    }

    fn request(flags: u8) -> ShortRequest {
        ShortRequest {
            receive_tunnel: TunnelId(0x0102_0304),
            next_tunnel: TunnelId(0x0a0b_0c0d),
            next_router: Hash::from_bytes([9; 32]),
            flags,
            more_flags: 0,
            layer_encryption: 0,
            request_time_minutes: 29_800_000,
            expiration_secs: 600,
            send_msg_id: 0xdead_beef,
        }
    }

    #[test]
    fn three_hops_open_answer_and_the_creator_reads_every_reply() {
        let mut rng = rand::rng();
        let hops: Vec<_> = (1..=3).map(hop).collect();
        let flags = [0, 0, FLAG_ENDPOINT];
        let mut records = Vec::new();
        let mut creator = Vec::new();
        for (i, (k, h)) in hops.iter().enumerate() {
            let (rec, keys, hh) =
                seal_short_record(&request(flags[i]), h, &k.public(), &mut rng).unwrap();
            records.push(rec);
            creator.push((keys, hh));
        }
        // a fake record in slot 3
        let mut fake = [0u8; RECORD_LEN];
        rand::RngExt::fill(&mut rng, &mut fake[..]);
        records.push(fake);
        let order: Vec<(usize, &[u8; 32])> = creator
            .iter()
            .enumerate()
            .map(|(i, c)| (i, &*c.0.reply_key))
            .collect();
        pre_encrypt_for_earlier_hops(&mut records, &order);
        let statuses = [ACCEPT, REJECT_BANDWIDTH, ACCEPT];
        for (i, (k, h)) in hops.iter().enumerate() {
            let opened = open_short_record(&records, h, k).unwrap().expect("ours");
            assert_eq!(opened.index, i);
            assert_eq!(opened.request, request(flags[i]));
            assert_eq!(*opened.keys.layer_key, *creator[i].0.layer_key);
            assert_eq!(*opened.keys.iv_key, *creator[i].0.iv_key);
            assert_eq!(*opened.keys.reply_key, *creator[i].0.reply_key);
            match (&opened.keys.reply_garlic, &creator[i].0.reply_garlic) {
                (Some((k1, t1)), Some((k2, t2))) => {
                    assert_eq!((**k1, *t1), (**k2, *t2));
                    assert_eq!(i, 2, "only the endpoint gets garlic keys");
                }
                (None, None) => assert_ne!(i, 2),
                _ => panic!("hop {i}: garlic keys on one side only"),
            }
            opened.answer(&mut records, statuses[i], &mut rng).unwrap();
        }
        for i in 0..3 {
            let later: Vec<&[u8; 32]> = creator[i + 1..].iter().map(|c| &*c.0.reply_key).collect();
            let status = open_short_reply(
                &records[i],
                i,
                (&creator[i].0.reply_key, &creator[i].1),
                &later,
            )
            .unwrap();
            assert_eq!(status, statuses[i], "hop {i}");
        }
    }

    #[test]
    fn other_routers_and_tampering() {
        let mut rng = rand::rng();
        let (k, h) = hop(5);
        let (rec, _, _) = seal_short_record(&request(0), &h, &k.public(), &mut rng).unwrap();
        let (_, other) = hop(6);
        assert!(open_short_record(&[rec], &other, &k).unwrap().is_none());
        let mut bad = rec;
        bad[100] ^= 1;
        assert_eq!(
            open_short_record(&[bad], &h, &k).unwrap_err(),
            BuildError::Aead(0)
        );
        let mut both = request(FLAG_GATEWAY | FLAG_ENDPOINT);
        both.layer_encryption = 0;
        let (rec, _, _) = seal_short_record(&both, &h, &k.public(), &mut rng).unwrap();
        assert_eq!(
            open_short_record(&[rec], &h, &k).unwrap_err(),
            BuildError::BothRoles { index: 0 }
        );
    }

    #[test]
    fn cleartext_layout_matches_the_spec_offsets() {
        let c = request(FLAG_GATEWAY).to_cleartext();
        assert_eq!(&c[0..4], &[1, 2, 3, 4]);
        assert_eq!(&c[4..8], &[0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(&c[8..40], &[9; 32]);
        assert_eq!(c[40], 0x80);
        assert_eq!(c[43], 0);
        assert_eq!(&c[44..48], &29_800_000u32.to_be_bytes());
        assert_eq!(&c[48..52], &600u32.to_be_bytes());
        assert_eq!(&c[52..56], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            ShortRequest::parse(&c, 0).unwrap().role(),
            Role::InboundGateway
        );
    }

    /// The record layer is the keystream ChaCha20-Poly1305 encrypts with (counter 1), as in
    /// i2pd; counter 0 passes our own round trip but i2pd declines the tunnel.
    #[test]
    fn record_layer_keystream_starts_at_block_one() {
        let key = [7u8; 32];
        let nonce = noise_nonce(3);
        let mut layer = [0u8; RECORD_LEN];
        chacha20_xor(&key, &nonce, CHACHA_OFFSET, &mut layer);
        let mut aead = [0u8; RECORD_LEN];
        let _tag = encrypt_detached(&key, &nonce, &[], &mut aead);
        assert_eq!(layer, aead);
    }

    #[test]
    fn replays_and_stale_requests_are_recognised() {
        let mut f = ReplayFilter::new(3);
        let now = 1_800_000_000;
        assert!(f.check_and_insert(&[1; 32], now));
        assert!(!f.check_and_insert(&[1; 32], now + 10), "replay");
        assert!(f.check_and_insert(&[2; 32], now));
        // past the horizon the entry is gone (freshness refuses such a replay anyway)
        assert!(f.check_and_insert(&[1; 32], now + 20 * 60));
        // capacity bounds memory
        for i in 10..20u8 {
            f.check_and_insert(&[i; 32], now + 20 * 60);
        }
        assert!(f.len() <= 3);

        let mut r = request(0);
        r.request_time_minutes = (now / 60) as u32;
        assert!(r.is_fresh(now));
        assert!(r.is_fresh(now + 11 * 60));
        assert!(!r.is_fresh(now + 13 * 60), "too old");
        assert!(!r.is_fresh(now - 6 * 60), "from the future");
    }

    #[test]
    fn layer_round_trip_and_chaining() {
        let a = LayerCipher::new(&[1; 32], &[2; 32]);
        let b = LayerCipher::new(&[3; 32], &[4; 32]);
        let mut p = [0u8; 1024];
        for (i, x) in p.iter_mut().enumerate() {
            *x = i as u8;
        }
        let orig = p;
        a.encrypt(&mut p);
        assert_ne!(p, orig);
        b.encrypt(&mut p);
        b.decrypt(&mut p);
        a.decrypt(&mut p);
        assert_eq!(p, orig);
    }
}
