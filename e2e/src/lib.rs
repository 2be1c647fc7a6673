//! End-to-end test harness: real i2pd routers (and, as it grows, ours) in an isolated network
//! namespace per test.
//!
//! - [`TestEnv`]: preflight (root, `ip`, `i2pd`), the stale-state sweep, a namespace that has
//!   only `lo` ([`Netns`]) and a run directory that is kept when the test fails.
//! - [`I2pdNet`]: N i2pd routers with keys phase, RouterInfo exchange (progressive boot),
//!   optional eepsite, foreign RouterInfos; wait helpers that explain timeouts.
//! - [`console`]: i2pd web console readers. [`http`]: a tiny client and file server.
//! - [`OurRouter`]: our `i2p-router` binary as a managed process in the namespace.
//! - [`process`]: child processes tracked strictly by PID, with an on-disk record.
//!
//! Everything that talks to a socket runs inside the namespace: child processes through
//! `ip netns exec`, harness code through [`Netns::run`]. Facts about i2pd 2.45.1 the harness
//! works around are listed in `e2e/README.md`.

pub mod console;
pub mod env;
mod error;
pub mod http;
pub mod i2pd;
pub mod ident;
pub mod netns;
pub mod our_router;
pub mod process;
pub mod sam;
pub mod wait;

pub use env::TestEnv;
pub use error::{Error, Result};
pub use i2pd::{Boot, I2pdNet, I2pdNetBuilder, I2pdRouter};
pub use netns::Netns;
pub use our_router::{OurRouter, OurRouterConfig};
pub use process::ManagedProcess;
