//! TunnelData payloads at a tunnel endpoint (router/tunnel, data/): `parse_payload`,
//! `FragmentHeader::parse` and the reassembling `Endpoint`, as an outbound endpoint or the
//! creator of an inbound tunnel runs them on decrypted 1024-byte payloads.
//!
//! The input is cut into 1024-byte payloads (the last one zero-filled). Before each is fed to
//! the endpoint its checksum is fixed up (first 4 bytes of SHA-256(content ‖ IV), the content
//! starting after the first zero byte following the checksum) so the fuzzer reaches the
//! fragment parser and the reassembly instead of stopping at the checksum. The clock advances
//! by the first byte of each payload in milliseconds ×32, so timeouts are exercised too.
//!
//! Guaranteed: nothing panics (also not the I2NP parser the callers run on what the endpoint
//! returns); the endpoint never holds more than its configured bytes and messages. A returned
//! message may be empty or garbage (a zero-size first fragment is legal; i2pd writes them):
//! the endpoint does not parse, its callers do and drop what fails.
#![no_main]

use i2p_crypto::sha256_parts;
use i2p_tunnel::data::{Endpoint, EndpointConfig, FragmentHeader, PAYLOAD_LEN, parse_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = EndpointConfig {
        timeout_ms: 8_000,
        max_pending_messages: 4,
        max_pending_bytes: 16 * 1024,
    };
    let mut endpoint = Endpoint::new(config);
    let _ = FragmentHeader::parse(data);
    let mut now = 0u64;
    for chunk in data.chunks(PAYLOAD_LEN) {
        let mut p = [0u8; PAYLOAD_LEN];
        p[..chunk.len()].copy_from_slice(chunk);
        if let Some(zero) = p[20..].iter().position(|&b| b == 0) {
            let content_at = 20 + zero + 1;
            let sum = sha256_parts(&[&p[content_at..], &p[..16]]);
            p[16..20].copy_from_slice(&sum[..4]);
        }
        now += u64::from(p[0]) * 32;
        let _ = parse_payload(&p);
        if let Ok(received) = endpoint.receive(&p, now) {
            for r in received {
                let _ = i2p_wire::I2npMessage::parse(&r.message);
            }
        }
        assert!(endpoint.pending_bytes() <= config.max_pending_bytes);
        assert!(endpoint.pending_messages() <= config.max_pending_messages);
    }
});
