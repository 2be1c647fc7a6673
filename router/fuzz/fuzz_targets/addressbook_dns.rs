//! The DNS server's `dns::answer` with arbitrary query bytes, against the testnet address
//! book (router/wire/tests/data/i2pd-2.45.1/hosts.txt) and a fresh virtual address map.
//!
//! Guaranteed by i2p-addressbook (dns.rs, virtual_addr.rs): every reply carries the query's
//! id; addresses are stable, so the same query answered twice gives the same outcome; a reply
//! is a DNS response message.
#![no_main]

use std::sync::OnceLock;

use hickory_proto::op::{Message, MessageType};
use i2p_addressbook::dns::{Outcome, answer};
use i2p_addressbook::virtual_addr::{DEFAULT_V4, DEFAULT_V6, VirtualMap};
use i2p_addressbook::{AddressBook, parse_feed};
use libfuzzer_sys::fuzz_target;

const HOSTS_TXT: &str = include_str!("../../wire/tests/data/i2pd-2.45.1/hosts.txt");

fn book() -> &'static AddressBook {
    static BOOK: OnceLock<AddressBook> = OnceLock::new();
    BOOK.get_or_init(|| {
        let mut b = AddressBook::new();
        for r in parse_feed(HOSTS_TXT).0 {
            b.apply(&r);
        }
        b
    })
}

fn check_reply(query: &[u8], reply: &[u8]) {
    assert_eq!(
        reply.get(..2),
        query.get(..2),
        "reply id differs from the query id"
    );
    let m = Message::from_vec(reply).expect("a reply is a DNS message");
    assert_eq!(m.metadata.message_type, MessageType::Response);
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut map) = VirtualMap::new(DEFAULT_V4, DEFAULT_V6) else {
        return;
    };
    let first = answer(data, book(), &mut map);
    match &first {
        Outcome::Reply(r) => check_reply(data, r),
        Outcome::NotI2p { refused } => check_reply(data, refused),
        Outcome::Drop => {}
    }
    let second = answer(data, book(), &mut map);
    assert_eq!(first, second, "the same query got a different answer");
});
