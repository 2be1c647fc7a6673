//! I2P Base64: `base64::decode` on the input as text, `base64::encode` on the raw input.
//!
//! Guaranteed by i2p-wire (base64.rs): decoding is strict, so every byte string has exactly
//! one encoding: `encode(decode(s)) == s` whenever `decode(s)` succeeds, and
//! `decode(encode(b)) == b` for all bytes.
#![no_main]

use i2p_wire::base64;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let encoded = base64::encode(data);
    assert_eq!(encoded.len(), base64::encoded_len(data.len()));
    assert_eq!(base64::decode(&encoded).as_deref(), Ok(data));

    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(bytes) = base64::decode(s)
    {
        assert_eq!(
            base64::encode(&bytes),
            s,
            "decode accepted a non-canonical encoding"
        );
        let _ = base64::decode_array::<32>(s);
        let _ = i2p_wire::Hash::from_base64(s);
    }
});
