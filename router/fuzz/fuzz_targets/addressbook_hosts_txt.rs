//! hosts.txt feeds: `parse_feed` on the input as text and `parse_line` on each line, then
//! `AddressBook::apply` of every record.
//!
//! Guaranteed by i2p-addressbook (hosts_txt.rs): bad lines never stop the rest; every line
//! becomes exactly one of a record, nothing (blank/comment) or an error with its 1-based line
//! number, the same as `parse_line` says for that line.
#![no_main]

use i2p_addressbook::{AddressBook, parse_feed, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (records, errors) = parse_feed(text);
    let mut want_records = Vec::new();
    let mut want_errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(r)) => want_records.push(r),
            Ok(None) => {}
            Err(e) => want_errors.push((i + 1, e)),
        }
    }
    assert_eq!(records, want_records);
    let got_errors: Vec<_> = errors.into_iter().map(|e| (e.line, e.error)).collect();
    assert_eq!(got_errors, want_errors);

    let mut book = AddressBook::new();
    for r in &records {
        assert!(r.name.as_str().ends_with(".i2p"));
        let _ = r.is_signed();
        let _ = book.apply(r);
        let _ = book.lookup(&r.name);
        let _ = book.reverse_lookup(&r.dest.hash());
    }
});
