//! Short tunnel build records (router/tunnel, transit.rs): what a hop does with a
//! ShortTunnelBuild's records, and the 154-byte request cleartext parser.
//!
//! The first input byte picks the mode:
//! - 0: up to 8 raw 218-byte records; the first one is marked as ours (our hash prefix), so
//!   the Noise N decryption and everything before it runs on arbitrary bytes;
//! - 1: a request cleartext: `ShortRequest::parse`; what parses re-encodes and parses to the
//!   same fields;
//! - 2: a request cleartext sealed for us by the creator's code, opened, answered with the
//!   status byte taken from the input, and read back by the creator.
//!
//! Guaranteed: nothing panics; a parsed request survives its own encoding; a sealed request
//! opens to the same fields and the creator reads back exactly the status we answered.
#![no_main]

use i2p_crypto::X25519Secret;
use i2p_tunnel::transit::{
    RECORD_LEN, REQUEST_CLEARTEXT_LEN, ShortRequest, open_short_record, open_short_reply,
    seal_short_record,
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
    match mode % 3 {
        0 => {
            let mut records: Vec<[u8; RECORD_LEN]> = rest
                .chunks(RECORD_LEN)
                .take(8)
                .map(|c| {
                    let mut r = [0u8; RECORD_LEN];
                    r[..c.len()].copy_from_slice(c);
                    r
                })
                .collect();
            if let Some(first) = records.first_mut() {
                first[..16].copy_from_slice(&hash.as_bytes()[..16]);
            }
            let _ = open_short_record(&records, &hash, &key);
        }
        1 => {
            let mut clear = [0u8; REQUEST_CLEARTEXT_LEN];
            let n = rest.len().min(REQUEST_CLEARTEXT_LEN);
            clear[..n].copy_from_slice(&rest[..n]);
            if let Ok(req) = ShortRequest::parse(&clear, 0) {
                let again = ShortRequest::parse(&req.to_cleartext(), 0)
                    .expect("an encoded request parses");
                assert_eq!(again, req);
            }
        }
        _ => {
            let Some((&status, rest)) = rest.split_first() else {
                return;
            };
            let mut clear = [0u8; REQUEST_CLEARTEXT_LEN];
            let n = rest.len().min(REQUEST_CLEARTEXT_LEN);
            clear[..n].copy_from_slice(&rest[..n]);
            let Ok(req) = ShortRequest::parse(&clear, 0) else {
                return;
            };
            let Ok((record, keys, h)) = seal_short_record(&req, &hash, &key.public(), &mut rng)
            else {
                return;
            };
            let mut records = vec![record];
            let opened = open_short_record(&records, &hash, &key)
                .expect("our own sealed record opens")
                .expect("and is ours");
            assert_eq!(opened.request, req);
            opened.answer(&mut records, status, &mut rng).expect("answer");
            let read = open_short_reply(&records[0], 0, (&keys.reply_key, &h), &[])
                .expect("the creator reads the reply");
            assert_eq!(read, status);
        }
    }
});
