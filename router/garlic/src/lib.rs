//! ECIES-X25519-AEAD-Ratchet garlic (spec/ecies.md). Work in progress.
