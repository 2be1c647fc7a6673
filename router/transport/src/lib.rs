//! I2P transports. NTCP2 today ([`ntcp2`]); the [`manager`] owns the sessions, dials peers
//! on demand from their RouterInfos and routes I2NP messages both ways. [`env`] is the seam
//! to the outside: the network connections are made on and the clock dates are read from.
//!
//! Layering (ARCHITECTURE.md): protocol code is sans-IO and unit-tested without sockets; the
//! tokio layer is thin and talks to the rest of the router only through bounded channels.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod env;
pub mod manager;
pub mod ntcp2;

pub use env::{Clock, Network, TransportEnv};
pub use manager::{RouterLookup, TransportConfig, TransportEvent, TransportHandle, TransportStats};
