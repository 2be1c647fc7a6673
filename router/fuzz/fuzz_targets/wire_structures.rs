//! The smaller common structures, each parsed from the whole input: `Mapping::parse`,
//! `Certificate::parse`, `RouterAddress::parse`.
//!
//! Guaranteed by i2p-wire: exact round trips (Mapping keeps wire order, duplicates and
//! unsorted keys; Certificate keeps unknown payloads).
#![no_main]

use i2p_wire::{Certificate, Decode, Encode, Mapping, RouterAddress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Mapping::parse(data) {
        assert_eq!(m.to_bytes(), data, "Mapping re-encoding differs");
        assert_eq!(Mapping::parse(&m.to_bytes()).as_ref(), Ok(&m));
        assert_eq!(m.iter().count(), m.len());
        assert_eq!(m.is_canonical(), m.check_canonical().is_ok());
        for (k, _) in m.iter() {
            if let Some(key) = k.as_str() {
                assert!(
                    m.get(key).is_some(),
                    "a key of the mapping is not found by get"
                );
            }
        }
    }
    if let Ok(c) = Certificate::parse(data) {
        assert_eq!(c.to_bytes(), data, "Certificate re-encoding differs");
        assert_eq!(Certificate::parse(&c.to_bytes()).as_ref(), Ok(&c));
        assert_eq!(data.first(), Some(&c.type_code()));
        if let Some(k) = c.as_key() {
            let _ = (k.sig_type(), k.enc_type(), k.excess());
        }
    }
    if let Ok(a) = RouterAddress::parse(data) {
        assert_eq!(a.to_bytes(), data, "RouterAddress re-encoding differs");
        assert_eq!(RouterAddress::parse(&a.to_bytes()).as_ref(), Ok(&a));
        let _ = (
            a.transport(),
            a.host(),
            a.port(),
            a.mtu(),
            a.static_key(),
            a.caps(),
        );
    }
});
