//! Tag sets: the session tag ratchet and the symmetric key ratchet of one direction
//! (spec/ecies.md, "DH INITIALIZATION KDF", "4b) Session Tag Ratchet", "4c) Symmetric Key
//! Ratchet"), and the HKDF info strings the protocol uses.

use i2p_crypto::hash::hkdf2;
use i2p_crypto::hkdf;
use zeroize::Zeroizing;

/// HKDF info strings of spec/ecies.md (checked byte for byte against i2pd 2.45.1,
/// libi2pd/ECIESX25519AEADRatchetSession.cpp).
pub mod info {
    pub const DH_RATCHET_STEP: &[u8] = b"KDFDHRatchetStep";
    pub const TAG_AND_KEY_GEN_KEYS: &[u8] = b"TagAndKeyGenKeys";
    pub const ST_INITIALIZATION: &[u8] = b"STInitialization";
    pub const SESSION_TAG_KEY_GEN: &[u8] = b"SessionTagKeyGen";
    pub const SYMMETRIC_RATCHET: &[u8] = b"SymmetricRatchet";
    pub const SESSION_REPLY_TAGS: &[u8] = b"SessionReplyTags";
    pub const ATTACH_PAYLOAD_KDF: &[u8] = b"AttachPayloadKDF";
    pub const XDH_RATCHET_TAG_SET: &[u8] = b"XDHRatchetTagSet";
}

/// i2pd refuses to produce a tag once the index would reach 65534 (it counts 65535 tags as
/// "empty"), so the last usable index is 65533.
pub const MAX_TAG_INDEX: u16 = 65533;

/// `HKDF(salt, ZEROLEN, info, 32)`.
pub fn hkdf32(salt: &[u8; 32], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf(salt, ikm, info, &mut *out);
    out
}

/// The tag and key chains of one tag set.
#[derive(Clone)]
pub struct TagSet {
    id: u16,
    next_root_key: Zeroizing<[u8; 32]>,
    tag_ck: Zeroizing<[u8; 32]>,
    tag_constant: Zeroizing<[u8; 32]>,
    key_ck: Zeroizing<[u8; 32]>,
    next_tag_index: u32,
    next_key_index: u32,
}

impl std::fmt::Debug for TagSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagSet")
            .field("id", &self.id)
            .field("next_tag_index", &self.next_tag_index)
            .field("next_key_index", &self.next_key_index)
            .finish_non_exhaustive()
    }
}

impl TagSet {
    /// `DH_INITIALIZE(root_key, k)` followed by the session tag ratchet's initialisation.
    pub fn new(id: u16, root_key: &[u8; 32], k: &[u8; 32]) -> TagSet {
        let (next_root_key, ck) = hkdf2(root_key, k, info::DH_RATCHET_STEP);
        let (tag_ck0, key_ck) = hkdf2(&ck[..], &[], info::TAG_AND_KEY_GEN_KEYS);
        let (tag_ck, tag_constant) = hkdf2(&tag_ck0[..], &[], info::ST_INITIALIZATION);
        TagSet {
            id,
            next_root_key,
            tag_ck,
            tag_constant,
            key_ck,
            next_tag_index: 0,
            next_key_index: 0,
        }
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// The root key for the next DH ratchet in this direction.
    pub fn next_root_key(&self) -> &[u8; 32] {
        &self.next_root_key
    }

    /// Index the next call to [`TagSet::next_tag`] will return.
    pub fn next_tag_index(&self) -> u32 {
        self.next_tag_index
    }

    /// The next session tag and its index, or `None` once the tag set is used up.
    pub fn next_tag(&mut self) -> Option<(u16, [u8; 8])> {
        let index = u16::try_from(self.next_tag_index)
            .ok()
            .filter(|i| *i <= MAX_TAG_INDEX)?;
        let (ck, out) = hkdf2(
            &self.tag_ck[..],
            &self.tag_constant[..],
            info::SESSION_TAG_KEY_GEN,
        );
        self.tag_ck = ck;
        self.next_tag_index += 1;
        let tag = *out.first_chunk::<8>()?;
        Some((index, tag))
    }

    /// Index of the next symmetric key [`TagSet::next_key`] returns.
    pub fn next_key_index(&self) -> u32 {
        self.next_key_index
    }

    /// The next symmetric key of the chain (keys are produced strictly in index order).
    pub fn next_key(&mut self) -> Zeroizing<[u8; 32]> {
        let (ck, k) = hkdf2(&self.key_ck[..], &[], info::SYMMETRIC_RATCHET);
        self.key_ck = ck;
        self.next_key_index += 1;
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_crypto::hmac_sha256;

    /// HKDF written out from RFC 5869 with HMAC-SHA256, two output blocks.
    fn hkdf64_reference(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 64] {
        let prk = hmac_sha256(salt, &[ikm]);
        let t1 = hmac_sha256(&prk, &[info, &[1]]);
        let t2 = hmac_sha256(&prk, &[&t1, info, &[2]]);
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&t1);
        out[32..].copy_from_slice(&t2);
        out
    }

    #[test]
    fn info_strings_are_the_spec_strings() {
        // lengths as ASCII without NUL; a typo here would silently break interop
        let all: [(&[u8], usize); 8] = [
            (info::DH_RATCHET_STEP, 16),
            (info::TAG_AND_KEY_GEN_KEYS, 16),
            (info::ST_INITIALIZATION, 16),
            (info::SESSION_TAG_KEY_GEN, 16),
            (info::SYMMETRIC_RATCHET, 16),
            (info::SESSION_REPLY_TAGS, 16),
            (info::ATTACH_PAYLOAD_KDF, 16),
            (info::XDH_RATCHET_TAG_SET, 16),
        ];
        for (s, n) in all {
            assert_eq!(s.len(), n, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn tag_set_follows_the_spec_kdf_chain() {
        let root = [1u8; 32];
        let k = [2u8; 32];
        let mut ts = TagSet::new(3, &root, &k);
        // DH_INITIALIZE
        let kd = hkdf64_reference(&root, &k, b"KDFDHRatchetStep");
        assert_eq!(ts.next_root_key(), &kd[..32]);
        let kd2 = hkdf64_reference(&kd[32..], &[], b"TagAndKeyGenKeys");
        let (sess_tag_ck, symm_key_ck) = (&kd2[..32], &kd2[32..]);
        // session tag ratchet
        let init = hkdf64_reference(sess_tag_ck, &[], b"STInitialization");
        let (mut tck, constant) = (init[..32].to_vec(), init[32..].to_vec());
        let mut kck = symm_key_ck.to_vec();
        for n in 0..5u16 {
            let t = hkdf64_reference(&tck, &constant, b"SessionTagKeyGen");
            tck = t[..32].to_vec();
            assert_eq!(ts.next_tag(), Some((n, t[32..40].try_into().unwrap())));
            let s = hkdf64_reference(&kck, &[], b"SymmetricRatchet");
            kck = s[..32].to_vec();
            assert_eq!(&ts.next_key()[..], &s[32..]);
        }
        assert_eq!(ts.id(), 3);
    }

    #[test]
    fn tag_set_ends_at_index_65533() {
        let mut ts = TagSet::new(0, &[0; 32], &[0; 32]);
        ts.next_tag_index = u32::from(MAX_TAG_INDEX);
        assert_eq!(ts.next_tag().map(|t| t.0), Some(MAX_TAG_INDEX));
        assert_eq!(ts.next_tag(), None);
        assert_eq!(ts.next_tag(), None);
    }
}
