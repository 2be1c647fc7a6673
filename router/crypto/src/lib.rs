//! Cryptographic primitives used by I2P, wrapped so the rest of the router never touches a
//! third-party crypto API directly. No IO, no clock; randomness is always passed in.
//!
//! | module | owns |
//! |---|---|
//! | [`hash`] | SHA-256, HMAC-SHA256, HKDF as the I2P specs call it |
//! | [`sig`] | signature type codes and `verify` for every type; [`legacy`](sig) verify-only DSA/ECDSA/RSA |
//! | [`ed25519`] | Ed25519 signing keys |
//! | [`x25519`] | X25519 secrets, public keys, DH that refuses low-order points |
//! | [`elligator2`] | Elligator2 encoding of X25519 keys (ECIES New Session) |
//! | [`aead`] | ChaCha20-Poly1305 with the Noise nonce layout; raw ChaCha20 |
//! | [`aes`] | AES-256 CBC (chainable IV) and single-block ECB |
//! | [`siphash`] | SipHash-2-4 and NTCP2's chained length mask |
//! | [`noise`] | the Noise CipherState/SymmetricState shared by NTCP2, SSU2, ECIES and tunnel build |
//!
//! Rules: secret material zeroizes on drop and its `Debug` never prints key bytes.

pub mod aead;
pub mod aes;
pub mod ed25519;
pub mod elligator2;
pub mod hash;
mod legacy;
pub mod noise;
pub mod sig;
pub mod siphash;
pub mod x25519;

pub use ed25519::Ed25519SigningKey;
pub use hash::{Sha256, hkdf, hmac_sha256, sha256, sha256_parts};
pub use noise::{CipherState, NoiseError, SymmetricState};
pub use sig::{SigType, SignatureError};
pub use x25519::{LowOrderPoint, X25519Public, X25519Secret};

/// Re-exported RNG traits so callers name one version.
pub use rand_core::{CryptoRng, Rng};
