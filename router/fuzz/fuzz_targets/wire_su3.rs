//! `Su3::parse` (reseed bundles, news, updates).
//!
//! Guaranteed by i2p-wire: the parsed file is exactly `signed ‖ signature` (no trailing
//! bytes); `signed` starts with the header and ends with the content; the signature has the
//! length of the signature type. `su3::build` with the parsed fields gives a file that parses
//! to the same fields.
#![no_main]

use i2p_wire::su3::{self, ContentType, FileType, Su3};
use libfuzzer_sys::fuzz_target;

fn file_code(t: FileType) -> u8 {
    match t {
        FileType::Zip => 0,
        FileType::Xml => 1,
        FileType::Html => 2,
        FileType::XmlGz => 3,
        FileType::TxtGz => 4,
        FileType::Dmg => 5,
        FileType::Exe => 6,
        FileType::Other(c) => c,
    }
}

fn content_code(t: ContentType) -> u8 {
    match t {
        ContentType::Unknown => 0,
        ContentType::RouterUpdate => 1,
        ContentType::Plugin => 2,
        ContentType::Reseed => 3,
        ContentType::News => 4,
        ContentType::Blocklist => 5,
        ContentType::Other(c) => c,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = Su3::parse(data) else {
        return;
    };
    assert_eq!(s.signed.len() + s.signature.len(), data.len());
    assert!(data.starts_with(s.signed));
    assert!(data.ends_with(s.signature));
    assert!(s.signed.starts_with(su3::MAGIC));
    assert!(s.signed.ends_with(s.content));
    assert_eq!(s.signature.len(), s.sig_type.signature_len());
    assert_eq!(FileType::from_code(file_code(s.file_type)), s.file_type);
    assert_eq!(
        ContentType::from_code(content_code(s.content_type)),
        s.content_type
    );

    let signature = s.signature.to_vec();
    let rebuilt = su3::build(
        s.sig_type,
        s.version,
        s.signer_id,
        file_code(s.file_type),
        content_code(s.content_type),
        s.content,
        &|_| signature.clone(),
    );
    let r = Su3::parse(&rebuilt).expect("su3::build output parses");
    assert_eq!(
        (
            r.sig_type,
            r.version,
            r.signer_id,
            r.file_type,
            r.content_type,
            r.content,
            r.signature
        ),
        (
            s.sig_type,
            s.version,
            s.signer_id,
            s.file_type,
            s.content_type,
            s.content,
            s.signature
        )
    );
});
