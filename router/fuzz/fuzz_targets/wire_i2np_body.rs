//! `I2npBody::parse(type_id, payload)` for every message type: the first input byte is the
//! type, the rest the payload.
//!
//! Guaranteed by i2p-wire: the body keeps its type and re-encodes to exactly the payload
//! (unknown types are kept verbatim), and re-parses to the same value.
#![no_main]

use i2p_fuzz::split_selector;
use i2p_wire::{Encode, I2npBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((type_id, payload)) = split_selector(data) else {
        return;
    };
    let Ok(body) = I2npBody::parse(type_id, payload) else {
        return;
    };
    assert_eq!(body.type_id(), type_id);
    assert_eq!(body.to_bytes(), payload, "body re-encoding differs");
    assert_eq!(body.encoded_len(), payload.len());
    assert_eq!(
        I2npBody::parse(type_id, &body.to_bytes()).as_ref(),
        Ok(&body)
    );
});
