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

/// Verify `sig` over `msg` with a public key of type `sig_type`.
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
        SigType::Ed25519 => {
            let pk: [u8; 32] = public_key
                .try_into()
                .map_err(|_| SignatureError::MalformedPublicKey(sig_type))?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk)
                .map_err(|_| SignatureError::MalformedPublicKey(sig_type))?;
            let s = ed25519_dalek::Signature::from_slice(sig)
                .map_err(|_| SignatureError::Invalid(sig_type))?;
            vk.verify_strict(msg, &s)
                .map_err(|_| SignatureError::Invalid(sig_type))
        }
        other => Err(SignatureError::Unsupported(other)),
    }
}
