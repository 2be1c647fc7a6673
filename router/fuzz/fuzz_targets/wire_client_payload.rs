//! The I2CP client payload of Data messages (`client_payload::ClientPayload::decode`): gzip
//! with ports and protocol in the header, inflated with a cap.
//!
//! Guaranteed by i2p-wire (client_payload.rs): no panic, nothing inflates beyond
//! `MAX_INFLATED`, and whatever decodes re-encodes (both levels) to bytes that decode to the
//! same payload.
#![no_main]

use i2p_wire::client_payload::{ClientPayload, MAX_INFLATED};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ClientPayload::decode(data) {
        assert!(p.data.len() <= MAX_INFLATED);
        for compress in [false, true] {
            let again = p.encode(compress).expect("re-encode");
            assert_eq!(ClientPayload::decode(&again).expect("decode again"), p);
        }
    }
});
