//! `RouterInfo::parse`, then `Unverified::verify` at a fixed time.
//!
//! Guaranteed by i2p-wire (lib.rs, "Round trips are exact"): a parsed RouterInfo encodes back
//! to exactly the input bytes, and parsing that again gives the same value.
#![no_main]

use i2p_fuzz::FIXED_NOW;
use i2p_wire::{Encode, RouterInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(unverified) = RouterInfo::parse(data) else {
        return;
    };
    let ri = unverified.peek_unverified();
    assert_eq!(
        ri.to_bytes(),
        data,
        "RouterInfo re-encoding differs from its input"
    );
    assert_eq!(ri.encoded_len(), data.len());
    let again = RouterInfo::parse(&ri.to_bytes()).expect("re-encoded RouterInfo parses");
    assert_eq!(again.peek_unverified(), ri);

    // the accessors that interpret options must not panic either
    let _ = ri.hash();
    let _ = ri.caps().bandwidth();
    let _ = ri.net_id();
    let _ = ri.router_version();
    for a in ri.addresses() {
        let _ = (
            a.transport(),
            a.host(),
            a.port(),
            a.mtu(),
            a.static_key(),
            a.caps(),
        );
    }

    if let Ok(verified) = unverified.verify(FIXED_NOW) {
        assert_eq!(verified.to_bytes(), data);
    }
});
