//! Private keys of a destination in the layout SAM's `$privkey`, i2pd's `.dat` key files and
//! Java I2P's private key files share: `Destination ‖ PrivateKey ‖ SigningPrivateKey`, the two
//! private keys sized by the types in the destination's key certificate (spec/common-structures.md,
//! "PrivateKey", "SigningPrivateKey"; docs/api/samv3.md, "SESSION CREATE").
//!
//! Keys we generate follow the layout every SAM client and key-file tool expects: Ed25519 for
//! signing and the unused 256-byte ElGamal field (crypto type 0) filled with random bytes — SAM
//! clients may even rewrite that field (docs/api/samv3.md, "Destination Key Generation"). The
//! X25519 key published in our LeaseSet2 is therefore not stored in the file: it is derived from
//! the signing seed with HKDF under a fixed label, so it is stable across restarts and needs no
//! second file. Key files whose destination carries a real X25519 key (crypto type 4) use it.

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
    /// Fresh keys: Ed25519 signing key, random 256-byte (unused) ElGamal field.
    pub fn generate<R: i2p_crypto::CryptoRng + ?Sized>(rng: &mut R) -> PrivateKeys {
        let signing = Ed25519SigningKey::generate(rng);
        let mut pad = [0u8; 32];
        rng.fill_bytes(&mut pad);
        let mut unused = Zeroizing::new(vec![0u8; 256]);
        rng.fill_bytes(&mut unused);
        let destination = match Destination::new(SigType::Ed25519, &signing.public(), &pad) {
            Ok(d) => d,
            Err(_) => unreachable_destination(),
        };
        PrivateKeys {
            destination,
            encryption: unused,
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

    /// The X25519 secret of our LeaseSet2 encryption key: the stored key when the destination
    /// carries one (crypto type 4), otherwise derived from the signing seed.
    pub fn leaseset_x25519(&self) -> X25519Secret {
        if self.destination.enc_type() == EncType::X25519
            && let Ok(b) = <[u8; 32]>::try_from(self.encryption.as_slice())
        {
            return X25519Secret::from_bytes(b);
        }
        let mut k = Zeroizing::new([0u8; 32]);
        i2p_crypto::hkdf(
            b"i2p-rs destination",
            &*self.signing.to_seed(),
            b"LeaseSet2 X25519 key",
            &mut *k,
        );
        X25519Secret::from_bytes(*k)
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
        assert_eq!(k.destination.enc_type(), EncType::ElGamal);
        let b = k.to_bytes();
        assert_eq!(
            b.len(),
            391 + 256 + 32,
            "the layout SAM clients expect (663+ bytes)"
        );
        let back = PrivateKeys::from_base64(&k.to_base64()).unwrap();
        assert_eq!(back.destination, k.destination);
        assert_eq!(
            back.leaseset_x25519().public(),
            k.leaseset_x25519().public(),
            "stable"
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
        // a client rewriting the unused field (as the SAM spec allows) keeps the same keys
        let mut zeroed = b.to_vec();
        zeroed[391..391 + 256].fill(0);
        let z = PrivateKeys::from_bytes(&zeroed).unwrap();
        assert_eq!(z.leaseset_x25519().public(), k.leaseset_x25519().public());
    }

    #[test]
    fn x25519_destinations_use_their_stored_key() {
        let mut rng = rand::rng();
        let sk = Ed25519SigningKey::generate(&mut rng);
        let x = X25519Secret::generate(&mut rng);
        let d = Destination::with_encryption_key(
            EncType::X25519,
            x.public().as_bytes(),
            SigType::Ed25519,
            &sk.public(),
            &[7; 32],
        )
        .unwrap();
        let keys = PrivateKeys {
            destination: d,
            encryption: Zeroizing::new(x.to_bytes().to_vec()),
            signing: sk,
        };
        let back = PrivateKeys::from_bytes(&keys.to_bytes()).unwrap();
        assert_eq!(back.leaseset_x25519().public(), x.public());
        assert_eq!(keys.to_bytes().len(), 391 + 32 + 32);
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
        assert_eq!(k.destination.enc_type(), EncType::ElGamal);
    }
}
