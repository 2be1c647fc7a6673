//! `AnyLeaseSet::parse` (LeaseSet, LeaseSet2, EncryptedLeaseSet, MetaLeaseSet) and
//! `LeaseSet2::parse`, then `verify` at a fixed time.
//!
//! Input: one byte choosing the DatabaseStore type (taken modulo 8, so 1, 3, 5 and 7 are
//! common), then the LeaseSet bytes. Guaranteed by i2p-wire: exact round trips (a parsed
//! value encodes back to its input and re-parses to the same value).
#![no_main]

use i2p_fuzz::{FIXED_NOW, split_selector};
use i2p_wire::{AnyLeaseSet, Encode, EncryptedLeaseSet, LeaseSet, LeaseSet2};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, bytes)) = split_selector(data) else {
        return;
    };
    let store_type = selector % 8;

    // the LeaseSet2 parser on every input, whatever the selector says
    if let Ok(u) = LeaseSet2::parse(bytes) {
        let ls = u.peek_unverified();
        assert_eq!(ls.to_bytes(), bytes, "LeaseSet2 re-encoding differs");
        let again = LeaseSet2::parse(&ls.to_bytes()).expect("re-encoded LeaseSet2 parses");
        assert_eq!(again.peek_unverified(), ls);
        let _ = (ls.hash(), ls.published(), ls.expires(), ls.is_blinded());
        for k in ls.encryption_keys() {
            let _ = k.enc_type();
        }
        for l in ls.leases() {
            let _ = l.end();
        }
    }

    match AnyLeaseSet::parse(store_type, bytes) {
        Ok(AnyLeaseSet::LeaseSet(u)) => {
            let ls = u.peek_unverified();
            assert_eq!(ls.to_bytes(), bytes, "LeaseSet re-encoding differs");
            let again = LeaseSet::parse(&ls.to_bytes()).expect("re-encoded LeaseSet parses");
            assert_eq!(again.peek_unverified(), ls);
            let _ = (ls.hash(), ls.latest_end());
            if let Ok(v) = u.verify(FIXED_NOW) {
                assert_eq!(v.to_bytes(), bytes);
            }
        }
        Ok(AnyLeaseSet::LeaseSet2(u)) => {
            if let Ok(v) = u.verify(FIXED_NOW) {
                assert_eq!(v.to_bytes(), bytes);
            }
        }
        Ok(AnyLeaseSet::Encrypted(u)) => {
            let e = u.peek_unverified();
            assert_eq!(e.to_bytes(), bytes, "EncryptedLeaseSet re-encoding differs");
            let again = EncryptedLeaseSet::parse(&e.to_bytes())
                .expect("re-encoded EncryptedLeaseSet parses");
            assert_eq!(again.peek_unverified(), e);
            let _ = (e.published(), e.expires(), e.is_unpublished());
            if let Ok(v) = u.verify(FIXED_NOW) {
                assert_eq!(v.to_bytes(), bytes);
            }
        }
        Err(_) => {}
    }
});
