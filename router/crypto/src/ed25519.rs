//! Ed25519 signing keys (signature type 7, "EdDSA_SHA512_Ed25519"). Verification goes through
//! [`crate::sig::verify`] like every other signature type.

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// An Ed25519 private key (the 32-byte seed). Zeroized on drop; `Debug` prints no key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Ed25519SigningKey([u8; 32]);

impl std::fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519SigningKey([redacted])")
    }
}

impl Ed25519SigningKey {
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Ed25519SigningKey {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ed25519SigningKey(seed)
    }

    pub fn from_seed(seed: [u8; 32]) -> Ed25519SigningKey {
        Ed25519SigningKey(seed)
    }

    /// The seed, e.g. to save it in a key file.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    fn dalek(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.0)
    }

    /// The 32-byte public key as it appears in a KeysAndCert.
    pub fn public(&self) -> [u8; 32] {
        self.dalek().verifying_key().to_bytes()
    }

    /// Sign `msg` (RFC 8032 Ed25519, deterministic).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.dalek().sign(msg).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::{SigType, verify};

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc8032_test_2() {
        let k = Ed25519SigningKey::from_seed(
            hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
                .try_into()
                .unwrap(),
        );
        assert_eq!(
            k.public().to_vec(),
            hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        );
        let sig = k.sign(&[0x72]);
        assert_eq!(
            sig.to_vec(),
            hex(
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da
                 085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
            )
        );
        verify(SigType::Ed25519, &k.public(), &[0x72], &sig).unwrap();
        assert!(verify(SigType::Ed25519, &k.public(), &[0x73], &sig).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = Ed25519SigningKey::generate(&mut rand::rng());
        assert_eq!(format!("{k:?}"), "Ed25519SigningKey([redacted])");
    }
}
