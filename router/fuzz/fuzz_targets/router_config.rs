//! The router's YAML config: `Config::from_yaml_bytes(bytes, path)` (router/node).
//!
//! Guaranteed by i2p-router (config/mod.rs: "This is the fuzzable entry point"): any bytes give
//! a config with warnings or an error, never a panic; errors and warnings display.
#![no_main]

use std::path::Path;

use i2p_router::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Config::from_yaml_bytes(data, Path::new("fuzz.yaml")) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                let _ = w.to_string();
            }
            let _ = loaded.config.ntcp2.listen_ip();
            let _ = loaded.config.router.bandwidth_class();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
