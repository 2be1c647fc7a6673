//! Private keys of a destination in the layout SAM's `$privkey`, i2pd's `.dat` key files and
//! Java I2P's private key files share: `Destination ‖ PrivateKey ‖ SigningPrivateKey`, the two
//! private keys sized by the types in the destination's key certificate (spec/common-structures.md,
//! "PrivateKey", "SigningPrivateKey"; docs/api/samv3.md, "SESSION CREATE").
//!
//! Keys we generate are Ed25519 for signing and X25519 (crypto type 4) in the destination's
//! key area, so the stored private key is the LeaseSet2 encryption key itself. Files from other
//! routers may carry an unused ElGamal field (crypto type 0, a 256-byte private key); they
//! parse, and the caller decides what encryption key to publish.

use i2p_crypto::{Ed25519SigningKey, SigType, X25519Secret};
use i2p_wire::{Decode, Destination, EncType, Reader};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    #[error("not a destination: {0}")]
    Destination(String),
    #[error("private key section is {got} bytes, expected {expected} for {what}")]
    Length {
        what: String,
        expected: usize,
        got: usize,
    },
    #[error("signature type {0:?} cannot sign here (only Ed25519 destinations are supported)")]
    UnsupportedSigType(SigType),
    #[error("offline-signed keys (all-zero signing key) are not supported yet")]
    Offline,
    #[error("the private keys do not match the destination's public keys")]
    Mismatch,
    #[error("not base64: {0}")]
    Base64(String),
}

/// Length of the signing private key for a signature type.
pub fn signing_private_len(t: SigType) -> usize {
    match t {
        SigType::DsaSha1 => 20,
        SigType::EcdsaSha256P256 => 32,
        SigType::EcdsaSha384P384 => 48,
        SigType::EcdsaSha512P521 => 66,
        SigType::RsaSha256_2048 => 512,
        SigType::RsaSha384_3072 => 768,
        SigType::RsaSha512_4096 => 1024,
        _ => 32,
    }
}

/// Length of the encryption private key for a crypto type.
pub fn encryption_private_len(t: EncType) -> usize {
    match t {
        EncType::ElGamal => 256,
        // X25519, and the (unused) EC types whose private keys are also 32 bytes
        _ => 32,
    }
}

/// A destination with its private keys.
pub struct PrivateKeys {
    pub destination: Destination,
    /// the raw encryption private key as stored (32 bytes X25519, or 256 bytes unused ElGamal)
    pub encryption: Zeroizing<Vec<u8>>,
    pub signing: Ed25519SigningKey,
}

impl std::fmt::Debug for PrivateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKeys")
            .field("destination", &self.destination.b32_address())
            .finish_non_exhaustive()
    }
}

impl PrivateKeys {
    /// Fresh Ed25519 + X25519 keys.
    pub fn generate<R: i2p_crypto::CryptoRng + ?Sized>(rng: &mut R) -> PrivateKeys {
        let signing = Ed25519SigningKey::generate(rng);
        let enc = X25519Secret::generate(rng);
        let mut pad = [0u8; 32];
        rng.fill_bytes(&mut pad);
        // lengths are fixed and correct, so construction cannot fail; fall back to a
        // signing-only destination rather than panicking if it ever did
        let destination = Destination::with_encryption_key(
            EncType::X25519,
            enc.public().as_bytes(),
            SigType::Ed25519,
            &signing.public(),
            &pad,
        )
        .or_else(|_| Destination::new(SigType::Ed25519, &signing.public(), &pad));
        let destination = match destination {
            Ok(d) => d,
            Err(_) => unreachable_destination(),
        };
        PrivateKeys {
            destination,
            encryption: Zeroizing::new(enc.to_bytes().to_vec()),
            signing,
        }
    }

    /// Parse `Destination ‖ PrivateKey ‖ SigningPrivateKey` (no trailing bytes).
    pub fn from_bytes(b: &[u8]) -> Result<PrivateKeys, KeyError> {
        let mut r = Reader::new(b);
        let destination =
            Destination::read(&mut r).map_err(|e| KeyError::Destination(e.to_string()))?;
        let rest = b.get(r.position()..).unwrap_or(&[]);
        let enc_type = destination.enc_type();
        let sig_type = destination.sig_type();
        let el = encryption_private_len(enc_type);
        let sl = signing_private_len(sig_type);
        if rest.len() != el + sl {
            return Err(KeyError::Length {
                what: format!("{enc_type:?} + {sig_type:?}"),
                expected: el + sl,
                got: rest.len(),
            });
        }
        let (enc, sig) = rest.split_at(el);
        if sig_type != SigType::Ed25519 {
            return Err(KeyError::UnsupportedSigType(sig_type));
        }
        if sig.iter().all(|&x| x == 0) {
            return Err(KeyError::Offline);
        }
        let seed: [u8; 32] = sig.try_into().map_err(|_| KeyError::Mismatch)?;
        let signing = Ed25519SigningKey::from_seed(seed);
        if signing.public()[..] != *destination.signing_key() {
            return Err(KeyError::Mismatch);
        }
        if enc_type == EncType::X25519 {
            let sk: [u8; 32] = enc.try_into().map_err(|_| KeyError::Mismatch)?;
            if X25519Secret::from_bytes(sk).public().as_bytes()[..] != *destination.encryption_key()
            {
                return Err(KeyError::Mismatch);
            }
        }
        Ok(PrivateKeys {
            destination,
            encryption: Zeroizing::new(enc.to_vec()),
            signing,
        })
    }

    /// Parse the I2P base64 form (SAM's `$privkey`).
    pub fn from_base64(s: &str) -> Result<PrivateKeys, KeyError> {
        let b = Zeroizing::new(
            i2p_wire::base64::decode(s.trim()).map_err(|e| KeyError::Base64(e.to_string()))?,
        );
        PrivateKeys::from_bytes(&b)
    }

    /// The X25519 encryption secret, when the destination carries an X25519 key.
    pub fn x25519(&self) -> Option<X25519Secret> {
        let b: [u8; 32] = self.encryption.as_slice().try_into().ok()?;
        (self.destination.enc_type() == EncType::X25519).then(|| X25519Secret::from_bytes(b))
    }

    /// Serialise to the shared layout.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        use i2p_wire::Encode;
        let mut out = Zeroizing::new(self.destination.to_bytes());
        out.extend_from_slice(&self.encryption);
        out.extend_from_slice(&*self.signing.to_seed());
        out
    }

    /// The I2P base64 form.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(i2p_wire::base64::encode(&self.to_bytes()))
    }
}

#[cold]
fn unreachable_destination() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("building a destination from freshly generated fixed-size keys failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_round_trip_and_tamper() {
        let k = PrivateKeys::generate(&mut rand::rng());
        assert_eq!(k.destination.enc_type(), EncType::X25519);
        let b = k.to_bytes();
        assert_eq!(b.len(), 391 + 32 + 32);
        let back = PrivateKeys::from_base64(&k.to_base64()).unwrap();
        assert_eq!(back.destination, k.destination);
        assert_eq!(
            back.x25519().unwrap().public(),
            k.x25519().unwrap().public()
        );
        let mut bad = b.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            PrivateKeys::from_bytes(&bad).unwrap_err(),
            KeyError::Mismatch
        );
        assert!(matches!(
            PrivateKeys::from_bytes(&b[..b.len() - 1]),
            Err(KeyError::Length { .. })
        ));
    }

    /// i2pd's own eepsite key file (crypto type 0 + Ed25519) loads.
    #[test]
    fn loads_i2pd_eepsite_keys() {
        let b = include_bytes!("../../wire/tests/data/i2pd-2.45.1/eepsite.dat");
        let k = PrivateKeys::from_bytes(b).unwrap();
        assert_eq!(
            k.destination.b32_address(),
            "hhremhkseshvd2f77ojp6hc2yr3ityqno7kfdvhphvlplamhczua.b32.i2p"
        );
        assert!(k.x25519().is_none());
    }
}
