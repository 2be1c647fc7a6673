//! The Noise symmetric state (Noise spec rev 34, §5.1–5.2), written once and shared by every
//! I2P protocol built on Noise:
//!
//! | protocol | name (initialises `h`) | how it uses the state |
//! |---|---|---|
//! | NTCP2 (spec/ntcp2.md) | `Noise_XKaesobfse+hs2+hs3_25519_ChaChaPoly_SHA256` | XK: `mix_hash` of the responder static key and the cleartext/obfuscated ephemeral keys, `mix_key` per DH, `encrypt_and_hash` for options and the static key; `split` for the data phase, then SipHash keys are derived from `ck` |
//! | SSU2 (spec/ssu2.md) | `Noise_XKchaobfse+hs1+hs2+hs3_25519_ChaChaPoly_SHA256` | same XK shape, headers protected separately |
//! | ECIES ratchet (spec/ecies.md) | `Noise_IKelg2+hs2_25519_ChaChaPoly_SHA256` | IK with Elligator2 ephemeral keys; `h` is the AD of payload sections; `ck` seeds the tag sets |
//! | tunnel build, router garlic (spec/tunnel-creation-ecies.md, spec/ecies-routers.md) | `Noise_N_25519_ChaChaPoly_SHA256` | one-way N: `mix_hash(s)`, `mix_hash(e)`, `mix_key(es)`, one AEAD with `h` as AD |
//!
//! [`SymmetricState::new`] applies Noise's rule for the initial `h` (the name padded with zeros
//! if it fits in 32 bytes, else its SHA-256) and sets `ck = h`. Protocols that then mix a
//! prologue or a known static key do so with [`SymmetricState::mix_hash`].

use crate::aead::{self, AeadError, TAG_LEN};
use crate::hash::{hkdf2, sha256_parts};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum NoiseError {
    #[error("Noise message failed authentication")]
    Auth,
    #[error("Noise cipher nonce exhausted")]
    NonceExhausted,
    #[error("Noise ciphertext shorter than the 16-byte tag")]
    Short,
}

impl From<AeadError> for NoiseError {
    fn from(_: AeadError) -> Self {
        NoiseError::Auth
    }
}

/// A Noise CipherState: a key (or none) and a 64-bit nonce counter.
#[derive(Clone, Default)]
pub struct CipherState {
    k: Option<Zeroizing<[u8; 32]>>,
    n: u64,
}

impl std::fmt::Debug for CipherState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CipherState")
            .field("has_key", &self.k.is_some())
            .field("n", &self.n)
            .finish()
    }
}

impl CipherState {
    pub fn new(key: [u8; 32]) -> CipherState {
        CipherState {
            k: Some(Zeroizing::new(key)),
            n: 0,
        }
    }

    pub fn has_key(&self) -> bool {
        self.k.is_some()
    }

    /// The raw key, for protocols that derive further keys from it (e.g. SSU2 data phase).
    pub fn key(&self) -> Option<&[u8; 32]> {
        self.k.as_deref()
    }

    pub fn nonce(&self) -> u64 {
        self.n
    }

    /// Set the nonce explicitly (protocols with out-of-order delivery carry it on the wire).
    pub fn set_nonce(&mut self, n: u64) {
        self.n = n;
    }

    fn next_nonce(&mut self) -> Result<[u8; 12], NoiseError> {
        // 2^64-1 is reserved by Noise
        if self.n == u64::MAX {
            return Err(NoiseError::NonceExhausted);
        }
        let nonce = aead::noise_nonce(self.n);
        self.n += 1;
        Ok(nonce)
    }

    /// Encrypt `buf` in place with `ad`, returning the tag. Without a key, `buf` is left as is
    /// and the tag is `None` (Noise's pass-through before the first `MixKey`).
    pub fn encrypt_in_place(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
    ) -> Result<Option<[u8; 16]>, NoiseError> {
        let Some(k) = self.k.clone() else {
            return Ok(None);
        };
        let nonce = self.next_nonce()?;
        Ok(Some(aead::encrypt_detached(&k, &nonce, ad, buf)))
    }

    /// Decrypt `buf` (ciphertext ‖ tag) in place; returns the plaintext length. Without a key
    /// the whole buffer is plaintext.
    pub fn decrypt_in_place(&mut self, ad: &[u8], buf: &mut [u8]) -> Result<usize, NoiseError> {
        let Some(k) = self.k.clone() else {
            return Ok(buf.len());
        };
        if buf.len() < TAG_LEN {
            return Err(NoiseError::Short);
        }
        let nonce = aead::noise_nonce(self.n);
        if self.n == u64::MAX {
            return Err(NoiseError::NonceExhausted);
        }
        let len = aead::open_in_place(&k, &nonce, ad, buf)?;
        // the nonce only advances on success, as Noise requires
        self.n += 1;
        Ok(len)
    }

    /// Encrypt into a new `Vec` (ciphertext ‖ tag).
    pub fn encrypt_vec(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        if let Some(tag) = self.encrypt_in_place(ad, &mut out)? {
            out.extend_from_slice(&tag);
        }
        Ok(out)
    }

    /// Decrypt ciphertext ‖ tag into a new `Vec`.
    pub fn decrypt_vec(&mut self, ad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut buf = ciphertext.to_vec();
        let n = self.decrypt_in_place(ad, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// The Noise SymmetricState: chaining key `ck`, handshake hash `h` and a CipherState.
#[derive(Clone)]
pub struct SymmetricState {
    ck: Zeroizing<[u8; 32]>,
    h: [u8; 32],
    cipher: CipherState,
}

impl std::fmt::Debug for SymmetricState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricState")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`.
    pub fn new(protocol_name: &[u8]) -> SymmetricState {
        let mut h = [0u8; 32];
        if protocol_name.len() <= 32 {
            h[..protocol_name.len()].copy_from_slice(protocol_name);
        } else {
            h = sha256_parts(&[protocol_name]);
        }
        SymmetricState {
            ck: Zeroizing::new(h),
            h,
            cipher: CipherState::default(),
        }
    }

    /// Resume from a known `(ck, h)` (e.g. a per-protocol initial state computed once).
    pub fn from_parts(ck: [u8; 32], h: [u8; 32]) -> SymmetricState {
        SymmetricState {
            ck: Zeroizing::new(ck),
            h,
            cipher: CipherState::default(),
        }
    }

    pub fn h(&self) -> &[u8; 32] {
        &self.h
    }

    pub fn ck(&self) -> &[u8; 32] {
        &self.ck
    }

    /// The current cipher (e.g. to read or set its nonce).
    pub fn cipher_mut(&mut self) -> &mut CipherState {
        &mut self.cipher
    }

    /// `h = SHA-256(h ‖ data)`.
    pub fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256_parts(&[&self.h, data]);
    }

    /// `h = SHA-256(h ‖ a ‖ b)` without concatenating first.
    pub fn mix_hash2(&mut self, a: &[u8], b: &[u8]) {
        self.h = sha256_parts(&[&self.h, a, b]);
    }

    /// `ck, k = HKDF(ck, ikm, "", 64)`; the cipher gets `k` with nonce 0.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = hkdf2(&*self.ck, ikm, &[]);
        self.ck = ck;
        self.cipher = CipherState::new(*k);
    }

    /// Encrypt `buf` in place with `h` as AD, then mix the ciphertext (incl. tag) into `h`.
    /// Returns the tag the caller must send after `buf` (`None` before any key was mixed).
    pub fn encrypt_and_hash_in_place(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<[u8; 16]>, NoiseError> {
        let h = self.h;
        let tag = self.cipher.encrypt_in_place(&h, buf)?;
        match &tag {
            Some(t) => self.mix_hash2(buf, t),
            None => self.mix_hash(buf),
        }
        Ok(tag)
    }

    /// `EncryptAndHash` into a new `Vec` (ciphertext ‖ tag).
    pub fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        if let Some(tag) = self.encrypt_and_hash_in_place(&mut out)? {
            out.extend_from_slice(&tag);
        }
        Ok(out)
    }

    /// `DecryptAndHash` in place over ciphertext ‖ tag; returns the plaintext length. `h` is
    /// only updated when authentication succeeds.
    pub fn decrypt_and_hash_in_place(&mut self, buf: &mut [u8]) -> Result<usize, NoiseError> {
        let h = self.h;
        let next_h = sha256_parts(&[&h, buf]);
        let n = self.cipher.decrypt_in_place(&h, buf)?;
        self.h = next_h;
        Ok(n)
    }

    /// `DecryptAndHash` into a new `Vec`.
    pub fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut buf = ciphertext.to_vec();
        let n = self.decrypt_and_hash_in_place(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// `Split()`: `k1, k2 = HKDF(ck, "", "", 64)` → (initiator-to-responder, responder-to-initiator).
    pub fn split(&self) -> (CipherState, CipherState) {
        let (k1, k2) = hkdf2(&*self.ck, &[], &[]);
        (CipherState::new(*k1), CipherState::new(*k2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x25519::X25519Secret;

    const NTCP2: &[u8] = b"Noise_XKaesobfse+hs2+hs3_25519_ChaChaPoly_SHA256";

    #[test]
    fn initial_h_pads_or_hashes() {
        let short = SymmetricState::new(b"Noise_N_25519_ChaChaPoly_SHA256");
        let mut want = [0u8; 32];
        want[..31].copy_from_slice(b"Noise_N_25519_ChaChaPoly_SHA256");
        assert_eq!(short.h(), &want);
        assert_eq!(short.ck(), &want);
        let long = SymmetricState::new(NTCP2);
        assert_eq!(long.h(), &crate::sha256(NTCP2));
    }

    /// A complete XK handshake (-> e, es; <- e, ee; -> s, se) between two independent states:
    /// both ends must agree on h, ck and the split keys, and a tampered message must fail.
    #[test]
    fn xk_handshake_agrees_and_detects_tampering() {
        let mut rng = rand::rng();
        let init_s = X25519Secret::generate(&mut rng);
        let resp_s = X25519Secret::generate(&mut rng);
        let (mut a, mut b) = (SymmetricState::new(NTCP2), SymmetricState::new(NTCP2));
        for st in [&mut a, &mut b] {
            st.mix_hash(&[]); // empty prologue
            st.mix_hash(resp_s.public().as_bytes()); // <- s
        }
        // -> e, es, payload
        let ae = X25519Secret::generate(&mut rng);
        a.mix_hash(ae.public().as_bytes());
        a.mix_key(&*ae.dh(&resp_s.public()).unwrap());
        let m1 = a.encrypt_and_hash(b"options 1").unwrap();
        b.mix_hash(ae.public().as_bytes());
        b.mix_key(&*resp_s.dh(&ae.public()).unwrap());
        let mut tampered = b.clone();
        let mut bad = m1.clone();
        bad[0] ^= 1;
        assert_eq!(tampered.decrypt_and_hash(&bad), Err(NoiseError::Auth));
        assert_eq!(b.decrypt_and_hash(&m1).unwrap(), b"options 1");
        // <- e, ee, payload
        let be = X25519Secret::generate(&mut rng);
        b.mix_hash(be.public().as_bytes());
        b.mix_key(&*be.dh(&ae.public()).unwrap());
        let m2 = b.encrypt_and_hash(b"options 2").unwrap();
        a.mix_hash(be.public().as_bytes());
        a.mix_key(&*ae.dh(&be.public()).unwrap());
        assert_eq!(a.decrypt_and_hash(&m2).unwrap(), b"options 2");
        // -> s, se, payload (the static key is encrypted with the ee key, nonce 1)
        let m3a = a.encrypt_and_hash(init_s.public().as_bytes()).unwrap();
        assert_eq!(m3a.len(), 48);
        a.mix_key(&*init_s.dh(&be.public()).unwrap());
        let m3b = a.encrypt_and_hash(b"router info").unwrap();
        let s = b.decrypt_and_hash(&m3a).unwrap();
        assert_eq!(s, init_s.public().as_bytes());
        let s_pub = crate::x25519::X25519Public(s.try_into().unwrap());
        b.mix_key(&*be.dh(&s_pub).unwrap());
        assert_eq!(b.decrypt_and_hash(&m3b).unwrap(), b"router info");
        assert_eq!(a.h(), b.h());
        assert_eq!(a.ck(), b.ck());
        let (mut a_send, mut a_recv) = a.split();
        let (mut b_recv, mut b_send) = b.split();
        let ct = a_send.encrypt_vec(&[], b"data a->b").unwrap();
        assert_eq!(b_recv.decrypt_vec(&[], &ct).unwrap(), b"data a->b");
        let ct = b_send.encrypt_vec(&[], b"data b->a").unwrap();
        assert_eq!(a_recv.decrypt_vec(&[], &ct).unwrap(), b"data b->a");
        // a replayed frame fails: the receiver's nonce moved on
        assert_eq!(a_recv.decrypt_vec(&[], &ct), Err(NoiseError::Auth));
    }

    #[test]
    fn decrypt_failure_leaves_state_unchanged() {
        let mut s = SymmetricState::new(b"x");
        s.mix_key(b"key material");
        let mut r = s.clone();
        let ct = s.encrypt_and_hash(b"hello").unwrap();
        let (h0, n0) = (*r.h(), r.cipher_mut().nonce());
        assert!(r.decrypt_and_hash(&ct[..10]).is_err());
        assert_eq!((*r.h(), r.cipher_mut().nonce()), (h0, n0));
        assert_eq!(r.decrypt_and_hash(&ct).unwrap(), b"hello");
    }

    #[test]
    fn nonce_exhaustion_is_an_error() {
        let mut c = CipherState::new([1; 32]);
        c.set_nonce(u64::MAX);
        assert_eq!(c.encrypt_vec(&[], b"x"), Err(NoiseError::NonceExhausted));
    }
}
