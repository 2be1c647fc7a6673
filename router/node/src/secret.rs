//! TEMPORARY seam: the private-key operations the node needs (X25519 public-key derivation,
//! Ed25519 signing), until `i2p-crypto` exposes them. Replace with `i2p_crypto` types.

use zeroize::Zeroizing;

/// An X25519 private key.
pub struct X25519Secret(Zeroizing<[u8; 32]>);

impl X25519Secret {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        X25519Secret(Zeroizing::new(b))
    }
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        Some(Self::from_bytes(b.try_into().ok()?))
    }
    pub fn public_key(&self) -> [u8; 32] {
        let s = x25519_dalek::StaticSecret::from(*self.0);
        x25519_dalek::PublicKey::from(&s).to_bytes()
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// An Ed25519 private key (seed).
pub struct Ed25519Secret(ed25519_dalek::SigningKey);

impl Ed25519Secret {
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let seed: [u8; 32] = b.try_into().ok()?;
        Some(Ed25519Secret(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(msg).to_bytes()
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("X25519Secret(..)")
    }
}

impl std::fmt::Debug for Ed25519Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519Secret(..)")
    }
}
