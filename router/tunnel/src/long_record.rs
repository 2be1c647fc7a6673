//! The hop side of *long* ECIES build records (528 bytes, VariableTunnelBuild), as
//! spec/tunnel-creation-ecies.md "Long Record Specification" defines them and i2pd 2.45.1
//! still sends them: an i2pd destination that cannot read ECIES replies (no
//! `i2cp.leaseSetEncType=4`) builds its tunnels with VariableTunnelBuild even through ECIES
//! routers (i2pd `TunnelPool::CreateOutboundTunnel`, `path.isShort = false`).
//!
//! The record is `to-peer (16) ‖ ephemeral key (32) ‖ ChaCha20-Poly1305(464-byte request)`,
//! sealed with the same Noise `N` handshake as short records. Unlike short records, the
//! request carries the layer key, IV key and an AES reply key and IV itself. Our reply
//! replaces our record: a 512-byte cleartext (empty options, random padding, the status in the
//! last byte) sealed with ChaCha20-Poly1305 under the handshake's chaining key, nonce 0, the
//! handshake hash as associated data. Every other record is AES-256-CBC encrypted on its own
//! with the request's reply key and reply IV (i2pd `HandleBuildRequestRecords`).

use i2p_crypto::aead::encrypt_detached;
use i2p_crypto::aes::Aes256;
use i2p_crypto::{CryptoRng, SymmetricState, X25519Public, X25519Secret};
use i2p_wire::i2np::tunnel::BUILD_RECORD_LEN;
use i2p_wire::{Hash, TunnelId};
use zeroize::Zeroizing;

use crate::transit::{
    BuildError, FLAG_ENDPOINT, FLAG_GATEWAY, Role, request_is_fresh, role_from_flags,
};

/// A long build record.
pub const LONG_RECORD_LEN: usize = BUILD_RECORD_LEN;
/// The request cleartext inside a long record.
pub const LONG_REQUEST_CLEARTEXT_LEN: usize = 464;
/// The reply cleartext before its 16-byte tag.
pub const LONG_REPLY_CLEARTEXT_LEN: usize = 512;

const PROTOCOL: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";
const TO_PEER_LEN: usize = 16;
const EPHEMERAL_OFFSET: usize = TO_PEER_LEN;
const CIPHERTEXT_OFFSET: usize = TO_PEER_LEN + 32;
const TAG_LEN: usize = 16;

/// The cleartext of a long ECIES build request (big-endian; spec table "Request Record
/// Unencrypted").
#[derive(Clone, PartialEq, Eq)]
pub struct LongRequest {
    pub receive_tunnel: TunnelId,
    pub next_tunnel: TunnelId,
    pub next_router: Hash,
    pub layer_key: [u8; 32],
    pub iv_key: [u8; 32],
    pub reply_key: [u8; 32],
    pub reply_iv: [u8; 16],
    pub flags: u8,
    pub request_time_minutes: u32,
    pub expiration_secs: u32,
    pub send_msg_id: u32,
}

impl std::fmt::Debug for LongRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongRequest")
            .field("receive_tunnel", &self.receive_tunnel)
            .field("next_tunnel", &self.next_tunnel)
            .field("next_router", &self.next_router.to_base64())
            .field("flags", &self.flags)
            .field("request_time_minutes", &self.request_time_minutes)
            .field("send_msg_id", &self.send_msg_id)
            .finish_non_exhaustive()
    }
}

fn array<const N: usize>(clear: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = clear.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

impl LongRequest {
    /// Parse the 464-byte cleartext. The options Mapping and padding are not needed here.
    pub fn parse(
        clear: &[u8; LONG_REQUEST_CLEARTEXT_LEN],
        index: usize,
    ) -> Result<LongRequest, BuildError> {
        let u32_at = |at: usize| u32::from_be_bytes(array::<4>(clear, at));
        let req = LongRequest {
            receive_tunnel: TunnelId(u32_at(0)),
            next_tunnel: TunnelId(u32_at(4)),
            next_router: Hash::from_bytes(array::<32>(clear, 8)),
            layer_key: array::<32>(clear, 40),
            iv_key: array::<32>(clear, 72),
            reply_key: array::<32>(clear, 104),
            reply_iv: array::<16>(clear, 136),
            flags: clear[152],
            request_time_minutes: u32_at(156),
            expiration_secs: u32_at(160),
            send_msg_id: u32_at(164),
        };
        if req.flags & FLAG_GATEWAY != 0 && req.flags & FLAG_ENDPOINT != 0 {
            return Err(BuildError::BothRoles { index });
        }
        Ok(req)
    }

    /// Our role, from the flags.
    pub fn role(&self) -> Role {
        role_from_flags(self.flags)
    }

    /// The request time is within 12 minutes before and 5 minutes after `now_secs`, as for
    /// short records.
    pub fn is_fresh(&self, now_secs: u64) -> bool {
        request_is_fresh(self.request_time_minutes, now_secs)
    }
}

/// Our opened long record: where it is, the request, and the handshake state for the reply.
pub struct OpenedLongRecord {
    pub index: usize,
    pub request: LongRequest,
    /// the creator's ephemeral key (for the replay filter)
    pub ephemeral: [u8; 32],
    ck: Zeroizing<[u8; 32]>,
    h: [u8; 32],
}

impl std::fmt::Debug for OpenedLongRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedLongRecord")
            .field("index", &self.index)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// Find and open our long record. `Ok(None)`: no record starts with our hash; `Err`: ours is
/// there but unusable (the caller drops the message, as i2pd).
pub fn open_long_record(
    records: &[[u8; LONG_RECORD_LEN]],
    our_hash: &Hash,
    our_key: &X25519Secret,
) -> Result<Option<OpenedLongRecord>, BuildError> {
    let prefix = our_hash.as_bytes().get(..TO_PEER_LEN);
    let Some(index) = records.iter().position(|r| r.get(..TO_PEER_LEN) == prefix) else {
        return Ok(None);
    };
    let record = records.get(index).ok_or(BuildError::Index(index))?;
    let mut ss = SymmetricState::new(PROTOCOL);
    ss.mix_hash(&[]);
    ss.mix_hash(our_key.public().as_bytes());
    let epk = array::<32>(record, EPHEMERAL_OFFSET);
    ss.mix_hash(&epk);
    let shared = our_key
        .dh(&X25519Public(epk))
        .map_err(|_| BuildError::LowOrderKey)?;
    ss.mix_key(&*shared);
    let mut buf = Zeroizing::new([0u8; LONG_REQUEST_CLEARTEXT_LEN + TAG_LEN]);
    buf.copy_from_slice(
        record
            .get(CIPHERTEXT_OFFSET..)
            .ok_or(BuildError::Index(index))?,
    );
    ss.decrypt_and_hash_in_place(&mut *buf)
        .map_err(|_| BuildError::Aead(index))?;
    let clear: Zeroizing<[u8; LONG_REQUEST_CLEARTEXT_LEN]> = Zeroizing::new(array(&*buf, 0));
    let request = LongRequest::parse(&clear, index)?;
    Ok(Some(OpenedLongRecord {
        index,
        request,
        ephemeral: epk,
        ck: Zeroizing::new(*ss.ck()),
        h: *ss.h(),
    }))
}

impl OpenedLongRecord {
    /// Answer with `status` in place: our record becomes the sealed reply, every other record
    /// is AES-256-CBC encrypted with the request's reply key and IV.
    pub fn answer<R: CryptoRng + ?Sized>(
        &self,
        records: &mut [[u8; LONG_RECORD_LEN]],
        status: u8,
        rng: &mut R,
    ) -> Result<(), BuildError> {
        if self.index >= records.len() {
            return Err(BuildError::Index(self.index));
        }
        let aes = Aes256::new(&self.request.reply_key);
        for (j, record) in records.iter_mut().enumerate() {
            if j == self.index {
                let mut body = [0u8; LONG_REPLY_CLEARTEXT_LEN];
                // empty options Mapping, random padding, the status last
                rng.fill_bytes(&mut body[2..LONG_REPLY_CLEARTEXT_LEN - 1]);
                body[LONG_REPLY_CLEARTEXT_LEN - 1] = status;
                let tag = encrypt_detached(&self.ck, &[0u8; 12], &self.h, &mut body);
                record[..LONG_REPLY_CLEARTEXT_LEN].copy_from_slice(&body);
                record[LONG_REPLY_CLEARTEXT_LEN..].copy_from_slice(&tag);
            } else {
                let mut iv = self.request.reply_iv;
                // 528 is a multiple of 16
                let _ = aes.cbc_encrypt(&mut iv, record);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use i2p_crypto::aead::decrypt_detached;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Seal a long record the way i2pd's creator does (Noise N, 464-byte request).
    fn seal(
        clear: &[u8; LONG_REQUEST_CLEARTEXT_LEN],
        to: &Hash,
        to_key: &X25519Public,
        rng: &mut StdRng,
    ) -> ([u8; LONG_RECORD_LEN], [u8; 32], [u8; 32]) {
        let e = X25519Secret::generate(rng);
        let mut ss = SymmetricState::new(PROTOCOL);
        ss.mix_hash(&[]);
        ss.mix_hash(to_key.as_bytes());
        ss.mix_hash(e.public().as_bytes());
        ss.mix_key(&*e.dh(to_key).unwrap());
        let mut buf = [0u8; LONG_REQUEST_CLEARTEXT_LEN + TAG_LEN];
        buf[..LONG_REQUEST_CLEARTEXT_LEN].copy_from_slice(clear);
        let tag = ss
            .encrypt_and_hash_in_place(&mut buf[..LONG_REQUEST_CLEARTEXT_LEN])
            .unwrap()
            .unwrap();
        buf[LONG_REQUEST_CLEARTEXT_LEN..].copy_from_slice(&tag);
        let mut record = [0u8; LONG_RECORD_LEN];
        record[..16].copy_from_slice(&to.as_bytes()[..16]);
        record[16..48].copy_from_slice(e.public().as_bytes());
        record[48..].copy_from_slice(&buf);
        (record, *ss.ck(), *ss.h())
    }

    #[test]
    fn open_answer_and_read_back_as_the_creator() {
        let mut rng = StdRng::seed_from_u64(3);
        let key = X25519Secret::generate(&mut rng);
        let us = Hash::from_bytes([0x33; 32]);
        let mut clear = [0u8; LONG_REQUEST_CLEARTEXT_LEN];
        clear[..4].copy_from_slice(&7u32.to_be_bytes());
        clear[4..8].copy_from_slice(&9u32.to_be_bytes());
        clear[8..40].copy_from_slice(&[0x44; 32]);
        clear[40..72].copy_from_slice(&[1; 32]);
        clear[72..104].copy_from_slice(&[2; 32]);
        clear[104..136].copy_from_slice(&[3; 32]);
        clear[136..152].copy_from_slice(&[4; 16]);
        clear[152] = FLAG_ENDPOINT;
        clear[156..160].copy_from_slice(&29_000_000u32.to_be_bytes());
        clear[160..164].copy_from_slice(&600u32.to_be_bytes());
        clear[164..168].copy_from_slice(&0x0102_0304u32.to_be_bytes());
        let (ours, ck, h) = seal(&clear, &us, &key.public(), &mut rng);
        let other = [0x5a; LONG_RECORD_LEN];
        let mut records = vec![other, ours, other];

        let opened = open_long_record(&records, &us, &key).unwrap().unwrap();
        assert_eq!(opened.index, 1);
        let r = &opened.request;
        assert_eq!((r.receive_tunnel.0, r.next_tunnel.0), (7, 9));
        assert_eq!(r.next_router, Hash::from_bytes([0x44; 32]));
        assert_eq!(
            (r.layer_key, r.iv_key, r.reply_key),
            ([1; 32], [2; 32], [3; 32])
        );
        assert_eq!(r.reply_iv, [4; 16]);
        assert_eq!(r.role(), Role::OutboundEndpoint);
        assert_eq!(
            (r.request_time_minutes, r.expiration_secs),
            (29_000_000, 600)
        );
        assert_eq!(r.send_msg_id, 0x0102_0304);
        assert!(r.is_fresh(29_000_000 * 60 + 60));
        assert!(!r.is_fresh(29_000_000 * 60 + 13 * 60));

        opened.answer(&mut records, 30, &mut rng).unwrap();
        // our reply opens with the handshake's ck and h, nonce 0
        let mut body = [0u8; LONG_REPLY_CLEARTEXT_LEN];
        body.copy_from_slice(&records[1][..LONG_REPLY_CLEARTEXT_LEN]);
        let tag: [u8; 16] = records[1][LONG_REPLY_CLEARTEXT_LEN..].try_into().unwrap();
        decrypt_detached(&ck, &[0u8; 12], &h, &mut body, &tag).unwrap();
        assert_eq!(&body[..2], &[0, 0], "empty options");
        assert_eq!(body[LONG_REPLY_CLEARTEXT_LEN - 1], 30);
        // the others were AES-CBC encrypted with the reply key and IV, each on its own
        for j in [0, 2] {
            let mut back = records[j];
            let mut iv = [4u8; 16];
            Aes256::new(&[3; 32])
                .cbc_decrypt(&mut iv, &mut back)
                .unwrap();
            assert_eq!(back, other);
        }
    }

    #[test]
    fn not_ours_tampered_and_both_roles() {
        let mut rng = StdRng::seed_from_u64(4);
        let key = X25519Secret::generate(&mut rng);
        let us = Hash::from_bytes([0x33; 32]);
        let mut clear = [0u8; LONG_REQUEST_CLEARTEXT_LEN];
        let (mut ours, _, _) = seal(&clear, &us, &key.public(), &mut rng);
        assert!(
            open_long_record(&[ours], &Hash::from_bytes([9; 32]), &key)
                .unwrap()
                .is_none()
        );
        ours[100] ^= 1;
        assert_eq!(
            open_long_record(&[ours], &us, &key).unwrap_err(),
            BuildError::Aead(0)
        );
        clear[152] = FLAG_GATEWAY | FLAG_ENDPOINT;
        let (both, _, _) = seal(&clear, &us, &key.public(), &mut rng);
        assert_eq!(
            open_long_record(&[both], &us, &key).unwrap_err(),
            BuildError::BothRoles { index: 0 }
        );
    }
}
