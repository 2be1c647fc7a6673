//! The router's IO shell: configuration, identity and key files, persistence, and (in later
//! layers) the tokio tasks that drive the sans-IO protocol state machines.
//!
//! Modules:
//! - [`config`]: the YAML configuration (`config/default.yaml` documents every key);
//! - [`keyfile`]: the data dir (exclusive lock), atomic no-clobber writes, remembered settings;
//! - [`identity`]: `router.keys` and `ntcp2.keys` in i2pd's layouts, created once, never
//!   regenerated;
//! - [`router_info`]: building, signing and checking our RouterInfo;
//! - [`netdb`], [`reseed`]: the netDb manager task and reseeding;
//! - [`run`]: the running router (transport + netDb + dispatcher, signals);
//! - [`cli`]: the `i2p-router` binary (commands, logging, exit codes).
//!
//! Files in the data dir: `router.keys` and `ntcp2.keys` (0600), `router.info` (0644),
//! `ntcp2.port` (the port chosen for `ntcp2.port: auto`), `tunnel-profiles.txt` (build results
//! per peer, 0600), `router.lock` (held with `flock`
//! while a command runs), and optionally `config.yaml` (read when `--config` is not given).

pub mod cli;
pub mod client;
pub mod config;
pub mod frontends;
pub mod identity;
pub mod keyfile;
pub mod naming;
pub mod netdb;
pub mod ops;
pub mod reseed;
pub mod router_info;
pub mod run;
pub mod transit;
