//! I2NP messages with the 9-byte short header (NTCP2/SSU2 blocks, garlic cloves):
//! `I2npMessage::parse_short`.
//!
//! Guaranteed by i2p-wire: the short header carries whole seconds and the parser keeps them,
//! so a parsed message re-encodes (`to_short_bytes`) to exactly its input; the standard
//! encoding of it parses back to the same message (the body fits the 2-byte size field,
//! `I2npMessage::new` checks that).
#![no_main]

use i2p_wire::{Encode, I2npMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = I2npMessage::parse_short(data) else {
        return;
    };
    assert_eq!(m.to_short_bytes(), data, "short re-encoding differs");
    assert_eq!(
        I2npMessage::parse_short(&m.to_short_bytes()).as_ref(),
        Ok(&m)
    );
    let standard = m.to_bytes();
    assert_eq!(I2npMessage::parse(&standard).as_ref(), Ok(&m));
});
