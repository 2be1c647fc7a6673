//! ECIES-X25519-AEAD-Ratchet garlic encryption between Destinations (spec/ecies.md), as a
//! sans-IO state machine: [`Sessions`] holds every garlic session of one local Destination,
//! keyed by the remote's static X25519 key, and turns cloves into Garlic message data
//! ([`Sessions::seal`]) and Garlic message data into cloves ([`Sessions::open`]). Time comes in
//! as `now_ms`, randomness as an RNG argument.
//!
//! Message kinds (spec/ecies.md sections 1b, 1g, 1h):
//!
//! - **New Session (NS)**: Elligator2 ephemeral key ‖ encrypted static key ‖ encrypted payload,
//!   the Noise `IKelg2+hs2` pattern. Sent while we have no session with the remote.
//! - **New Session Reply (NSR)**: tag ‖ Elligator2 ephemeral key ‖ key-section MAC ‖ payload.
//!   Sent by the responder until the initiator's first Existing Session message arrives.
//! - **Existing Session (ES)**: tag ‖ payload, keyed by the tag set's symmetric key ratchet.
//!
//! Where the spec leaves room, i2pd 2.45.1 decides (see the module docs of [`sessions`]).

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod block;
mod replay;
pub mod sessions;
pub mod tagset;

pub use block::{Block, BlockError, Clove, Delivery, NextKey};
pub use sessions::{GarlicConfig, GarlicError, GarlicStats, MessageKind, Opened, Sessions};
