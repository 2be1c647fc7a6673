//! The router's YAML config: `Config::from_yaml_bytes(bytes, path)` (router/node), including
//! its `tunnels:` list, and the same bytes as a `tunnels.d` file
//! (`config::tunnels_from_yaml_bytes`). When the input has a NUL byte, what follows it is read
//! as environment overrides (`NAME=value` lines, `Config::from_yaml_bytes_with_env`) laid over
//! the YAML before it.
//!
//! Guaranteed by i2p-router (config/mod.rs: "This is the fuzzable entry point"): any bytes give
//! a config with warnings or an error, never a panic; errors and warnings display. A tunnel
//! set that loads also passes or fails `check_tunnel_set` without a panic.
#![no_main]

use std::path::Path;

use i2p_router::config::{Config, check_tunnel_set, tunnels_from_yaml_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (yaml, env) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], env_pairs(&data[i + 1..])),
        None => (data, Vec::new()),
    };
    let loaded = if env.is_empty() {
        Config::from_yaml_bytes(yaml, Path::new("fuzz.yaml"))
    } else {
        Config::from_yaml_bytes_with_env(yaml, Path::new("fuzz.yaml"), &env)
    };
    match loaded {
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
    match tunnels_from_yaml_bytes(yaml, Path::new("tunnels.d/fuzz.yaml")) {
        Ok(tunnels) => {
            let _ = check_tunnel_set(&tunnels);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

/// `NAME=value` lines; names get the override prefix unless they have it, so most lines reach
/// the overlay.
fn env_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            let name = if name.starts_with("I2P_ROUTER__") {
                name.to_string()
            } else {
                format!("I2P_ROUTER__{name}")
            };
            (name, value.to_string())
        })
        .collect()
}
