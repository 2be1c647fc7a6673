//! X25519 key agreement (RFC 7748): static and ephemeral secrets, public keys and the DH
//! function used by every Noise handshake in I2P.

use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// An X25519 public key (32 bytes, little-endian u-coordinate).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519Public(pub [u8; 32]);

impl X25519Public {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for X25519Public {
    fn from(b: [u8; 32]) -> Self {
        X25519Public(b)
    }
}

impl std::fmt::Debug for X25519Public {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "X25519Public(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// An X25519 private key. Zeroized on drop; `Debug` prints no key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct X25519Secret([u8; 32]);

impl std::fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("X25519Secret([redacted])")
    }
}

/// The peer's public key gave an all-zero shared secret (a low-order point): refuse it.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("X25519: peer public key is a low-order point (all-zero shared secret)")]
pub struct LowOrderPoint;

impl X25519Secret {
    /// A fresh random secret.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> X25519Secret {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        X25519Secret(b)
    }

    /// From stored bytes (clamping happens inside the scalar multiplication, as in RFC 7748,
    /// so the bytes are kept exactly as given and re-saved identically).
    pub fn from_bytes(bytes: [u8; 32]) -> X25519Secret {
        X25519Secret(bytes)
    }

    /// The raw secret bytes, e.g. to save them in a key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    pub fn public(&self) -> X25519Public {
        let s = x25519_dalek::StaticSecret::from(self.0);
        X25519Public(x25519_dalek::PublicKey::from(&s).to_bytes())
    }

    /// Diffie-Hellman with `peer`. Refuses low-order peer keys (all-zero result), as a Noise
    /// implementation must not continue with a known shared secret.
    pub fn dh(&self, peer: &X25519Public) -> Result<Zeroizing<[u8; 32]>, LowOrderPoint> {
        let s = x25519_dalek::StaticSecret::from(self.0);
        let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err(LowOrderPoint);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h32(s: &str) -> [u8; 32] {
        let v: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    #[test]
    fn rfc7748_section_6_1() {
        let a = X25519Secret::from_bytes(h32(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let b = X25519Secret::from_bytes(h32(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            a.public().0,
            h32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            b.public().0,
            h32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let k = h32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(*a.dh(&b.public()).unwrap(), k);
        assert_eq!(*b.dh(&a.public()).unwrap(), k);
    }

    #[test]
    fn low_order_peer_is_refused() {
        let a = X25519Secret::generate(&mut rand::rng());
        assert_eq!(a.dh(&X25519Public([0u8; 32])), Err(LowOrderPoint));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(a.dh(&X25519Public(one)), Err(LowOrderPoint));
    }

    #[test]
    fn debug_is_redacted_and_bytes_round_trip() {
        let a = X25519Secret::generate(&mut rand::rng());
        let dbg = format!("{a:?}");
        assert!(dbg.contains("redacted"));
        let b = X25519Secret::from_bytes(*a.to_bytes());
        assert_eq!(a.public(), b.public());
    }
}
