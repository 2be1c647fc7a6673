//! Datagram bodies (`i2p_wire::datagram`): the first byte picks the kind (mod 3: Datagram1,
//! Datagram2, Datagram3), the rest is parsed as that kind's body.
//!
//! Guaranteed by i2p-wire (datagram.rs module docs): parsing never panics and whatever parses
//! encodes back to exactly its input (unused flag bits and empty option mappings included);
//! `verify` never panics and a verified datagram is the parsed one. The Datagram2 seeds are
//! signed for `DATAGRAM_TARGET`, so the fuzzer starts from datagrams that verify.
#![no_main]

use i2p_fuzz::{DATAGRAM_TARGET, FIXED_NOW, split_selector};
use i2p_wire::datagram::{Datagram1, Datagram2, Datagram3};
use i2p_wire::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = split_selector(data) else {
        return;
    };
    match selector % 3 {
        0 => {
            let Ok(u) = Datagram1::parse(body) else {
                return;
            };
            let parsed = u.peek_unverified().clone();
            assert_eq!(parsed.to_bytes(), body, "Datagram1 re-encoding differs");
            if let Ok(d) = u.verify() {
                assert_eq!(d, parsed);
            }
        }
        1 => {
            let Ok(u) = Datagram2::parse(body) else {
                return;
            };
            let parsed = u.peek_unverified().clone();
            assert_eq!(parsed.to_bytes(), body, "Datagram2 re-encoding differs");
            let _ = (parsed.flags(), parsed.options(), parsed.offline_signature());
            if let Ok(d) = u.verify(&DATAGRAM_TARGET, FIXED_NOW) {
                assert_eq!(d, parsed);
            }
        }
        _ => {
            let Ok(d) = Datagram3::parse(body) else {
                return;
            };
            assert_eq!(d.to_bytes(), body, "Datagram3 re-encoding differs");
            let rebuilt = Datagram3::new(*d.from(), d.options().cloned(), d.payload().to_vec());
            // a datagram built from the parts parses back to them (flags may differ only in
            // the unused bits and in an empty options mapping, which `new` leaves out)
            let again = Datagram3::parse(&rebuilt.to_bytes()).expect("built datagram parses");
            assert_eq!(again.from(), d.from());
            assert_eq!(again.payload(), d.payload());
        }
    }
});
