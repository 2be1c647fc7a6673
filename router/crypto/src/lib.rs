//! Cryptographic primitives used by I2P, wrapped so the rest of the router never touches a
//! third-party crypto API directly.
//!
//! This crate owns: hashing (SHA-256, HMAC, I2P's HKDF usage), signatures (Ed25519 sign/verify,
//! verify-only legacy types), X25519 and Elligator2, ChaCha20(-Poly1305), AES-256 CBC/ECB,
//! SipHash-2-4, and the Noise symmetric state shared by NTCP2, SSU2, ECIES garlic and tunnel
//! build. It does no IO and owns no clock; randomness is always passed in by the caller.
//!
//! Rules: secret material zeroizes on drop and its `Debug` never prints key bytes.

pub mod hash;
pub mod sig;

pub use hash::{Sha256, sha256};
pub use sig::{SigType, SignatureError};
