//! Host name validation: `HostName::parse`.
//!
//! Guaranteed by i2p-addressbook (name.rs): a `HostName` is a normalised (lower-case), valid
//! `.i2p` name of at most `MAX_NAME_LEN` bytes, so parsing its text again gives the same name,
//! and so does its parent (a subdomain's parent is a `HostName` too).
#![no_main]

use i2p_addressbook::HostName;
use i2p_addressbook::name::MAX_NAME_LEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(name) = HostName::parse(raw) else {
        return;
    };
    let s = name.as_str();
    assert!(s.ends_with(".i2p") && s.len() <= MAX_NAME_LEN);
    assert_eq!(s, s.to_ascii_lowercase());
    assert_eq!(HostName::parse(s).as_ref(), Ok(&name));
    assert_eq!(
        HostName::parse(&raw.to_ascii_uppercase()).as_ref(),
        Ok(&name)
    );
    if let Some(parent) = name.parent() {
        assert_eq!(HostName::parse(parent.as_str()).as_ref(), Ok(&parent));
        assert!(s.ends_with(&format!(".{}", parent.as_str())));
    }
});
