//! The I2P network database (docs/overview/network-database.md) as a sans-IO state machine:
//! no sockets, no clocks, no tasks. Time comes in as an argument, randomness from the RNG the
//! caller hands over, and everything the netDb wants done comes out as [`Action`]s.
//!
//! | module | owns |
//! |---|---|
//! | [`kademlia`] | routing keys (daily rotation), XOR distance, closest-N selection |
//! | [`entry`] | stored entries and the checks a store passes ([`StoreError`]) |
//! | [`NetDb`] (`db`) | the tables, store paths, expiry, dispatch, the timer |
//! | `handlers` | DatabaseStore / Lookup / SearchReply / DeliveryStatus handling, flooding |
//! | `lookups` | iterative lookups and exploration |
//! | `publish` | publishing our RouterInfo and verifying the store |
//! | [`router_garlic`] | tagged lookup replies and router-addressed (Noise N) garlic |
//! | [`config`] | tunables with i2pd 2.45.1's values |
//!
//! Interop target: i2pd 2.45.1; where the spec leaves room, its behaviour is followed and the
//! relevant doc comment says so.
//!
//! # Fuzzing
//!
//! [`NetDb::handle_message`] takes any parsed I2NP message from any peer and never panics;
//! the fuzz target feeds it `I2npMessage::parse` output.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod action;
pub mod config;
mod db;
pub mod entry;
mod handlers;
pub mod kademlia;
mod lookups;
mod publish;
pub mod router_garlic;

pub use action::{Action, LookupId, LookupResult};
pub use config::Config;
pub use db::{Counts, NetDb, Origin, Stats};
pub use entry::{LeaseSetEntry, RouterEntry, StoreError, StoreOutcome};
