//! In-process simulation of an I2P network (issue 10): many routers of this project in one
//! process, on tokio's paused clock, talking over an in-memory network ([`net::VirtualNet`])
//! instead of TCP. The routers run the production code (`i2p_router::run::run_router`); only
//! the two seams of `i2p_transport::env` are swapped: the network and the clock.
//! [`scenario`] is the bootstrap scenario and its report; the `i2p-sim` binary runs it.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod net;
mod pipe;
pub mod scenario;
