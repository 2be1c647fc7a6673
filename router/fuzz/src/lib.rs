//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use i2p_wire::Date;

/// The fixed "now" every `verify(now)` call in the targets uses (2027-01-15T08:00:00Z): later
/// than the captured i2pd 2.45.1 test data, so a real seed verifies and the fuzzer reaches the
/// code after the time checks; fixed so every run is reproducible.
pub const FIXED_NOW: Date = Date::from_millis(1_800_000_000_000);

/// Split `data` at its first byte: (selector, rest). `None` when `data` is empty.
pub fn split_selector(data: &[u8]) -> Option<(u8, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((*first, rest))
}

/// The target hash the `wire_datagram` seeds' Datagram2 signatures are made for (the seed
/// generator in `seedgen/` uses the same value).
pub const DATAGRAM_TARGET: i2p_wire::Hash = i2p_wire::Hash::from_bytes([0x42; 32]);
