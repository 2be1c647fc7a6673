//! Base32 and `.b32.i2p` addresses: `base32::decode` and `base32::parse_b32_address` on the
//! input as text, `base32::encode` on the raw input.
//!
//! Guaranteed by i2p-wire (base32.rs): decoding accepts either case but is otherwise strict
//! (no padding, zero trailing bits), so `encode(decode(s))` is `s` in lower case, and
//! `decode(encode(b)) == b`; a parsed address maps back to the same hash.
#![no_main]

use i2p_wire::base32;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let encoded = base32::encode(data);
    assert_eq!(base32::decode(&encoded).as_deref(), Ok(data));

    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = base32::decode(s) {
        assert_eq!(
            base32::encode(&bytes),
            s.to_ascii_lowercase(),
            "non-canonical base32 accepted"
        );
    }
    if let Ok(hash) = base32::parse_b32_address(s) {
        let address = base32::b32_address(&hash);
        assert_eq!(base32::parse_b32_address(&address), Ok(hash));
        assert_eq!(i2p_wire::Hash::from_b32_address(s), Ok(hash));
    }
});
