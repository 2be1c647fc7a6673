//! The tunnel peer-profile table (`tunnel-profiles.txt` in the data dir, router/tunnel
//! `pool::read_profiles`), read from arbitrary text as after a crash or a hand edit.
//!
//! Guaranteed: nothing panics; at most `MAX_PROFILES` entries are taken; what was read survives
//! `write_profiles` and a second read unchanged (entries with all-zero counts are not written).
#![no_main]

use i2p_tunnel::pool::{MAX_PROFILES, read_profiles, write_profiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (map, _errors) = read_profiles(&text);
    assert!(map.len() <= MAX_PROFILES);
    let (back, errors) = read_profiles(&write_profiles(&map));
    assert!(errors.is_empty(), "our own table did not read back: {errors:?}");
    let kept: std::collections::HashMap<_, _> = map
        .into_iter()
        .filter(|(_, p)| p.accepted != 0 || p.declined != 0 || p.timed_out != 0)
        .collect();
    assert_eq!(back, kept);
});
