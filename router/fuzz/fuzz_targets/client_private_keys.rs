//! Destination private key files / SAM `$privkey`: `PrivateKeys::from_bytes` (router/client),
//! and `PrivateKeys::from_base64` on the input as text.
//!
//! Guaranteed by i2p-client (keys.rs): `to_bytes` writes the layout `from_bytes` reads
//! (`Destination ‖ PrivateKey ‖ SigningPrivateKey`, no trailing bytes), so accepted keys
//! serialise back to exactly the input.
#![no_main]

use i2p_client::keys::PrivateKeys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = PrivateKeys::from_bytes(data) {
        assert_eq!(k.to_bytes().as_slice(), data, "keys re-encoding differs");
        let again = PrivateKeys::from_bytes(&k.to_bytes()).expect("re-encoded keys parse");
        assert_eq!(again.destination, k.destination);
        let _ = k.leaseset_x25519();
        let _ = k.to_base64();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(k) = PrivateKeys::from_base64(text)
    {
        let again = PrivateKeys::from_base64(&k.to_base64()).expect("re-encoded keys parse");
        assert_eq!(again.destination, k.destination);
    }
});
