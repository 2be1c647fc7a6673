//! I2NP messages with the standard 16-byte header: `I2npMessage::parse` and
//! `I2npMessage::parse_ignoring_checksum`, then the lazily parsed contents
//! (`DatabaseStore::parse_router_info` / `parse_lease_set`, `TunnelGateway::message`).
//!
//! Guaranteed by i2p-wire: `parse` accepts exactly what `parse_ignoring_checksum` accepts and
//! whose checksum byte is right; a parsed message re-encodes to exactly its input (for
//! `parse_ignoring_checksum`: up to the checksum byte, which encoding writes correctly) and
//! re-parses to the same value.
#![no_main]

use i2p_wire::i2np::STANDARD_HEADER_LEN;
use i2p_wire::{Encode, I2npBody, I2npMessage};
use libfuzzer_sys::fuzz_target;

/// Offset of the checksum byte in the standard header (type, id, expiration, size, checksum).
const CHECKSUM_AT: usize = STANDARD_HEADER_LEN - 1;

fuzz_target!(|data: &[u8]| {
    let strict = I2npMessage::parse(data);
    let Ok(lenient) = I2npMessage::parse_ignoring_checksum(data) else {
        assert!(
            strict.is_err(),
            "parse accepted what parse_ignoring_checksum refused"
        );
        return;
    };
    let encoded = lenient.to_bytes();
    assert_eq!(encoded.len(), data.len());
    assert_eq!(encoded.len(), lenient.encoded_len());
    for (i, (a, b)) in encoded.iter().zip(data).enumerate() {
        assert!(
            i == CHECKSUM_AT || a == b,
            "re-encoding differs at byte {i}"
        );
    }
    let checksum_ok = encoded.get(CHECKSUM_AT) == data.get(CHECKSUM_AT);
    assert_eq!(strict.as_ref().ok(), checksum_ok.then_some(&lenient));
    assert_eq!(I2npMessage::parse(&encoded).as_ref(), Ok(&lenient));

    // the short-header form of the same message round-trips too (the expiration loses its
    // milliseconds, so compare the body, id and type only)
    let short = I2npMessage::parse_short(&lenient.to_short_bytes())
        .expect("short encoding of a parsed message parses");
    assert_eq!(short.body(), lenient.body());
    assert_eq!(short.msg_id(), lenient.msg_id());

    match lenient.body() {
        I2npBody::DatabaseStore(s) => {
            let _ = (s.key(), s.kind(), s.reply());
            if let Ok(u) = s.parse_router_info() {
                let _ = u.peek_unverified().hash();
            }
            let _ = s.parse_lease_set();
        }
        I2npBody::TunnelGateway(g) => {
            if let Ok(inner) = g.message() {
                assert_eq!(inner.to_bytes(), g.message_bytes());
            }
        }
        _ => {}
    }
});
