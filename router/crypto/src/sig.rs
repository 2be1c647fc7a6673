//! Signature types (the codes of `common-structures.md`, "SigningPublicKey" table) and
//! verification dispatch. Ed25519 can sign and verify; the legacy types only verify, so that
//! RouterInfos, LeaseSets and SU3 files that still carry them can be read.

use thiserror::Error;

/// A signature type code as carried in key certificates, LeaseSet2 offline blocks and SU3 headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigType {
    DsaSha1,
    EcdsaSha256P256,
    EcdsaSha384P384,
    EcdsaSha512P521,
    RsaSha256_2048,
    RsaSha384_3072,
    RsaSha512_4096,
    Ed25519,
    Ed25519ph,
    RedDsaEd25519,
}

impl SigType {
    /// Every type this crate knows, in code order.
    pub const ALL: [SigType; 10] = [
        SigType::DsaSha1,
        SigType::EcdsaSha256P256,
        SigType::EcdsaSha384P384,
        SigType::EcdsaSha512P521,
        SigType::RsaSha256_2048,
        SigType::RsaSha384_3072,
        SigType::RsaSha512_4096,
        SigType::Ed25519,
        SigType::Ed25519ph,
        SigType::RedDsaEd25519,
    ];

    pub fn from_code(code: u16) -> Option<SigType> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn code(self) -> u16 {
        match self {
            SigType::DsaSha1 => 0,
            SigType::EcdsaSha256P256 => 1,
            SigType::EcdsaSha384P384 => 2,
            SigType::EcdsaSha512P521 => 3,
            SigType::RsaSha256_2048 => 4,
            SigType::RsaSha384_3072 => 5,
            SigType::RsaSha512_4096 => 6,
            SigType::Ed25519 => 7,
            SigType::Ed25519ph => 8,
            SigType::RedDsaEd25519 => 11,
        }
    }

    /// Length in bytes of the signing public key.
    pub fn public_key_len(self) -> usize {
        match self {
            SigType::DsaSha1 => 128,
            SigType::EcdsaSha256P256 => 64,
            SigType::EcdsaSha384P384 => 96,
            SigType::EcdsaSha512P521 => 132,
            SigType::RsaSha256_2048 => 256,
            SigType::RsaSha384_3072 => 384,
            SigType::RsaSha512_4096 => 512,
            SigType::Ed25519 | SigType::Ed25519ph | SigType::RedDsaEd25519 => 32,
        }
    }

    /// Length in bytes of a signature.
    pub fn signature_len(self) -> usize {
        match self {
            SigType::DsaSha1 => 40,
            SigType::EcdsaSha256P256 => 64,
            SigType::EcdsaSha384P384 => 96,
            SigType::EcdsaSha512P521 => 132,
            SigType::RsaSha256_2048 => 256,
            SigType::RsaSha384_3072 => 384,
            SigType::RsaSha512_4096 => 512,
            SigType::Ed25519 | SigType::Ed25519ph | SigType::RedDsaEd25519 => 64,
        }
    }
}

/// Why a signature did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature does not verify ({0:?})")]
    Invalid(SigType),
    #[error("{sig_type:?} public key must be {expected} bytes, got {got}")]
    BadPublicKeyLength {
        sig_type: SigType,
        expected: usize,
        got: usize,
    },
    #[error("{sig_type:?} signature must be {expected} bytes, got {got}")]
    BadSignatureLength {
        sig_type: SigType,
        expected: usize,
        got: usize,
    },
    #[error("{0:?} public key is not a valid point/key")]
    MalformedPublicKey(SigType),
    #[error("verification of {0:?} signatures is not supported")]
    Unsupported(SigType),
}

/// Verify `sig` over `msg` with a public key of type `sig_type`, both in I2P's encodings
/// (spec/common-structures.md, "SigningPublicKey" and "Signature").
pub fn verify(
    sig_type: SigType,
    public_key: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureError> {
    if public_key.len() != sig_type.public_key_len() {
        return Err(SignatureError::BadPublicKeyLength {
            sig_type,
            expected: sig_type.public_key_len(),
            got: public_key.len(),
        });
    }
    if sig.len() != sig_type.signature_len() {
        return Err(SignatureError::BadSignatureLength {
            sig_type,
            expected: sig_type.signature_len(),
            got: sig.len(),
        });
    }
    match sig_type {
        // RedDSA signatures (blinded keys of encrypted LeaseSets) verify exactly as Ed25519
        // (i2pd 2.45.1: `typedef EDDSA25519Verifier RedDSA25519Verifier`); only signing differs
        SigType::Ed25519 | SigType::RedDsaEd25519 => {
            let pk: [u8; 32] = public_key
                .try_into()
                .map_err(|_| SignatureError::MalformedPublicKey(sig_type))?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk)
                .map_err(|_| SignatureError::MalformedPublicKey(sig_type))?;
            let s = ed25519_dalek::Signature::from_slice(sig)
                .map_err(|_| SignatureError::Invalid(sig_type))?;
            // RFC 8032 verification (canonical S required), as i2pd and Java I2P verify.
            // `verify_strict` would additionally refuse small-order keys that the rest of the
            // network accepts, so a real router's entry could be dropped by us alone.
            ed25519_dalek::Verifier::verify(&vk, msg, &s)
                .map_err(|_| SignatureError::Invalid(sig_type))
        }
        SigType::DsaSha1 => crate::legacy::verify_dsa_sha1(public_key, msg, sig),
        SigType::EcdsaSha256P256 | SigType::EcdsaSha384P384 | SigType::EcdsaSha512P521 => {
            crate::legacy::verify_ecdsa(sig_type, public_key, msg, sig)
        }
        SigType::RsaSha256_2048 | SigType::RsaSha384_3072 | SigType::RsaSha512_4096 => {
            crate::legacy::verify_rsa(sig_type, public_key, msg, sig)
        }
        // Ed25519ph is unused on the network
        SigType::Ed25519ph => Err(SignatureError::Unsupported(sig_type)),
    }
}

/// Verify an RSA signature made over the bare hash of `msg`, as SU3 files are signed
/// (spec/updates.md, "Signature Details": Java's "NONEwithRSA"): PKCS#1 v1.5 type-1 padding
/// around the digest without the DigestInfo prefix that [`verify`] requires. RSA types only;
/// `modulus` big-endian with public exponent 65537.
pub fn verify_rsa_raw(
    sig_type: SigType,
    modulus: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureError> {
    if !matches!(
        sig_type,
        SigType::RsaSha256_2048 | SigType::RsaSha384_3072 | SigType::RsaSha512_4096
    ) {
        return Err(SignatureError::Unsupported(sig_type));
    }
    if modulus.len() != sig_type.public_key_len() {
        return Err(SignatureError::BadPublicKeyLength {
            sig_type,
            expected: sig_type.public_key_len(),
            got: modulus.len(),
        });
    }
    if sig.len() != sig_type.signature_len() {
        return Err(SignatureError::BadSignatureLength {
            sig_type,
            expected: sig_type.signature_len(),
            got: sig.len(),
        });
    }
    crate::legacy::verify_rsa_padded(sig_type, modulus, msg, sig, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reddsa_verifies_like_ed25519() {
        let k = crate::Ed25519SigningKey::from_seed([5; 32]);
        let sig = k.sign(b"encrypted leaseset");
        verify(
            SigType::RedDsaEd25519,
            &k.public(),
            b"encrypted leaseset",
            &sig,
        )
        .unwrap();
        assert_eq!(
            verify(SigType::RedDsaEd25519, &k.public(), b"other", &sig),
            Err(SignatureError::Invalid(SigType::RedDsaEd25519))
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Vectors signed by Python `cryptography` (OpenSSL), see tests/data/gen_legacy_vectors.py.
    #[test]
    fn legacy_vectors_verify_and_tampering_fails() {
        let data = include_str!("../tests/data/legacy_sig_vectors.txt");
        let mut seen = std::collections::BTreeMap::new();
        for line in data.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let t = SigType::from_code(f[0].parse().unwrap()).unwrap();
            let (pk, msg, sig) = (hex(f[1]), hex(f[2]), hex(f[3]));
            verify(t, &pk, &msg, &sig).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            *seen.entry(t.code()).or_insert(0) += 1;
            // a flipped bit anywhere in the signature or the message fails
            for pos in [0, sig.len() / 2, sig.len() - 1] {
                let mut bad = sig.clone();
                bad[pos] ^= 0x01;
                assert!(verify(t, &pk, &msg, &bad).is_err(), "{t:?} sig byte {pos}");
            }
            let mut bad_msg = msg.clone();
            bad_msg.push(0);
            assert_eq!(
                verify(t, &pk, &bad_msg, &sig),
                Err(SignatureError::Invalid(t))
            );
            let mut bad_pk = pk.clone();
            bad_pk[pk.len() / 2] ^= 0x40;
            assert!(verify(t, &bad_pk, &msg, &sig).is_err(), "{t:?} key");
        }
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn wrong_lengths_are_reported() {
        assert_eq!(
            verify(SigType::Ed25519, &[0; 31], b"", &[0; 64]),
            Err(SignatureError::BadPublicKeyLength {
                sig_type: SigType::Ed25519,
                expected: 32,
                got: 31
            })
        );
        assert_eq!(
            verify(SigType::DsaSha1, &[1; 128], b"", &[0; 41]),
            Err(SignatureError::BadSignatureLength {
                sig_type: SigType::DsaSha1,
                expected: 40,
                got: 41
            })
        );
    }

    #[test]
    fn codes_round_trip() {
        for t in SigType::ALL {
            assert_eq!(SigType::from_code(t.code()), Some(t));
        }
        assert_eq!(SigType::from_code(9), None);
    }
}
