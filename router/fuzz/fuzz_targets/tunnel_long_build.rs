//! Long ECIES tunnel build records (router/tunnel, long_record.rs): what a hop does with a
//! VariableTunnelBuild's 528-byte records, and the 464-byte request cleartext parser.
//!
//! The first input byte picks the mode:
//! - even: up to 8 raw records; the first one is marked as ours (our hash prefix), so the
//!   Noise N decryption and everything before it runs on arbitrary bytes; if it opens, it is
//!   answered with the status taken from the input;
//! - odd: a request cleartext: `LongRequest::parse`, `role`, `is_fresh`.
//!
//! Guaranteed: nothing panics; answering keeps the number and size of records.
#![no_main]

use i2p_crypto::X25519Secret;
use i2p_tunnel::long_record::{
    LONG_RECORD_LEN, LONG_REQUEST_CLEARTEXT_LEN, LongRequest, open_long_record,
};
use i2p_wire::Hash;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = X25519Secret::from_bytes([0x31; 32]);
    let hash = Hash::from_bytes([0x42; 32]);
    let mut rng = StdRng::seed_from_u64(1);
    if mode % 2 == 0 {
        let mut records: Vec<[u8; LONG_RECORD_LEN]> = rest
            .chunks(LONG_RECORD_LEN)
            .take(8)
            .map(|c| {
                let mut r = [0u8; LONG_RECORD_LEN];
                r[..c.len()].copy_from_slice(c);
                r
            })
            .collect();
        if let Some(first) = records.first_mut() {
            first[..16].copy_from_slice(&hash.as_bytes()[..16]);
        }
        if let Ok(Some(opened)) = open_long_record(&records, &hash, &key) {
            let n = records.len();
            opened
                .answer(&mut records, mode, &mut rng)
                .expect("our own record can be answered");
            assert_eq!(records.len(), n);
        }
    } else {
        let mut clear = [0u8; LONG_REQUEST_CLEARTEXT_LEN];
        let n = rest.len().min(LONG_REQUEST_CLEARTEXT_LEN);
        clear[..n].copy_from_slice(&rest[..n]);
        if let Ok(req) = LongRequest::parse(&clear, 0) {
            let _ = req.role();
            let _ = req.is_fresh(u64::from(req.request_time_minutes) * 60);
        }
    }
});
