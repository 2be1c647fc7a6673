//! The router's YAML config: `Config::from_yaml_bytes(bytes, path)` (router/node), including
//! its `tunnels:` list, and the same bytes as a `tunnels.d` file
//! (`config::tunnels_from_yaml_bytes`).
//!
//! Guaranteed by i2p-router (config/mod.rs: "This is the fuzzable entry point"): any bytes give
//! a config with warnings or an error, never a panic; errors and warnings display. A tunnel
//! set that loads also passes or fails `check_tunnel_set` without a panic.
#![no_main]

use std::path::Path;

use i2p_router::config::{Config, check_tunnel_set, tunnels_from_yaml_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Config::from_yaml_bytes(data, Path::new("fuzz.yaml")) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                let _ = w.to_string();
            }
            let _ = loaded.config.ntcp2.listen_ip();
            let _ = loaded.config.router.bandwidth_class();
            for t in &loaded.config.tunnels {
                let _ = t.kind.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match tunnels_from_yaml_bytes(data, Path::new("tunnels.d/fuzz.yaml")) {
        Ok(tunnels) => {
            let _ = check_tunnel_set(&tunnels);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
