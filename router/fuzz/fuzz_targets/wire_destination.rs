//! `Destination::parse`, `RouterIdentity::parse` and `KeysAndCert::parse` on the same bytes,
//! and `Destination::from_base64` on the input as text.
//!
//! Guaranteed by i2p-wire: exact round trips; a Destination is any KeysAndCert and a
//! RouterIdentity is a KeysAndCert with restricted key types, so Destination accepts exactly
//! what KeysAndCert accepts and RouterIdentity a subset; `to_base64` and `from_base64` are
//! inverses.
#![no_main]

use i2p_wire::{Decode, Destination, Encode, KeysAndCert, RouterIdentity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dest = Destination::parse(data);
    let ident = RouterIdentity::parse(data);
    let kc = KeysAndCert::parse(data);
    assert_eq!(
        dest.is_ok(),
        kc.is_ok(),
        "Destination and KeysAndCert disagree"
    );
    assert!(
        kc.is_ok() || ident.is_err(),
        "RouterIdentity accepted what KeysAndCert refused"
    );

    if let Ok(d) = dest {
        assert_eq!(d.to_bytes(), data, "Destination re-encoding differs");
        assert_eq!(Destination::parse(&d.to_bytes()).as_ref(), Ok(&d));
        let _ = (d.sig_type(), d.enc_type(), d.hash(), d.b32_address());
        let b64 = d.to_base64();
        assert_eq!(Destination::from_base64(&b64).as_ref(), Ok(&d));
    }
    if let Ok(i) = ident {
        assert_eq!(i.to_bytes(), data, "RouterIdentity re-encoding differs");
        assert_eq!(RouterIdentity::parse(&i.to_bytes()).as_ref(), Ok(&i));
    }
    if let Ok(k) = kc {
        assert_eq!(k.to_bytes(), data, "KeysAndCert re-encoding differs");
        assert_eq!(KeysAndCert::parse(&k.to_bytes()).as_ref(), Ok(&k));
        let _ = (
            k.encryption_key(),
            k.signing_key(),
            k.padding(),
            k.certificate(),
        );
    }

    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(d) = Destination::from_base64(text)
    {
        assert_eq!(
            d.to_base64(),
            text,
            "from_base64 accepted a non-canonical form"
        );
    }
});
