//! DNS answers for `.i2p` names: A/AAAA from the virtual range, TXT with the b32, NXDOMAIN for
//! unknown names, REFUSED outside `.i2p`, FORMERR for garbage, stable across a restart.

#![allow(clippy::unwrap_used, clippy::panic)]

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use i2p_addressbook::dns::{Outcome, answer, make_query};
use i2p_addressbook::virtual_addr::{DEFAULT_V4, DEFAULT_V6, VirtualMap};
use i2p_addressbook::{AddressBook, parse_feed};

fn book() -> AddressBook {
    let text = include_str!("../../router/wire/tests/data/i2pd-2.45.1/hosts.txt");
    let mut b = AddressBook::new();
    for r in parse_feed(text).0 {
        b.apply(&r);
    }
    b
}

const EEPSITE_B32: &str = "hhremhkseshvd2f77ojp6hc2yr3ityqno7kfdvhphvlplamhczua.b32.i2p";

fn ask(b: &AddressBook, m: &mut VirtualMap, name: &str, t: RecordType) -> Message {
    match answer(&make_query(0x1234, name, t).unwrap(), b, m) {
        Outcome::Reply(bytes) => Message::from_vec(&bytes).unwrap(),
        other => panic!("{name} {t:?}: {other:?}"),
    }
}

#[test]
fn a_aaaa_txt_for_names_and_b32() {
    let b = book();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("virtual.txt");
    let mut m = VirtualMap::open(&path, DEFAULT_V4, DEFAULT_V6).unwrap();
    let r = ask(&b, &mut m, "eepsite.testnet.i2p.", RecordType::A);
    assert_eq!(r.metadata.id, 0x1234);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.metadata.authoritative);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].ttl, 60);
    let RData::A(a) = r.answers[0].data.clone() else {
        panic!("not A")
    };
    assert_eq!(a.0.octets()[..2], [10, 191]);

    let r = ask(&b, &mut m, "EepSite.Testnet.I2P.", RecordType::AAAA);
    let RData::AAAA(aaaa) = r.answers[0].data.clone() else {
        panic!("not AAAA")
    };
    assert!(m.contains_v6(aaaa.0));

    let r = ask(&b, &mut m, "eepsite.testnet.i2p.", RecordType::TXT);
    let RData::TXT(txt) = r.answers[0].data.clone() else {
        panic!("not TXT")
    };
    assert_eq!(txt.to_string(), EEPSITE_B32);

    // a b32 needs no address book entry; it gets its own address
    let r = ask(&b, &mut m, &format!("{EEPSITE_B32}."), RecordType::A);
    let RData::A(a2) = r.answers[0].data.clone() else {
        panic!("not A")
    };
    assert_ne!(a2, a);

    // the same answer after a restart
    drop(m);
    let mut m = VirtualMap::open(&path, DEFAULT_V4, DEFAULT_V6).unwrap();
    let r = ask(&b, &mut m, "eepsite.testnet.i2p.", RecordType::A);
    assert_eq!(r.answers[0].data, RData::A(a));
    assert_eq!(m.name_for_v4(a.0), Some("eepsite.testnet.i2p"));
}

#[test]
fn unknown_refused_and_malformed() {
    let b = book();
    let mut m = VirtualMap::new(DEFAULT_V4, DEFAULT_V6).unwrap();
    let r = ask(&b, &mut m, "nobody.i2p.", RecordType::A);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let r = ask(&b, &mut m, "bad_name.i2p.", RecordType::A);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    let r = ask(&b, &mut m, "tooshort.b32.i2p.", RecordType::A);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    // known name, unsupported type: NODATA
    let r = ask(&b, &mut m, "eepsite.testnet.i2p.", RecordType::MX);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());

    match answer(
        &make_query(7, "example.com.", RecordType::A).unwrap(),
        &b,
        &mut m,
    ) {
        Outcome::NotI2p { refused } => {
            let r = Message::from_vec(&refused).unwrap();
            assert_eq!(r.metadata.response_code, ResponseCode::Refused);
            assert_eq!(r.metadata.id, 7);
        }
        other => panic!("{other:?}"),
    }
    // garbage with a readable header: FORMERR with the same id
    let mut junk = vec![0xab, 0xcd];
    junk.extend_from_slice(&[0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    match answer(&junk, &b, &mut m) {
        Outcome::Reply(bytes) => {
            let r = Message::from_vec(&bytes).unwrap();
            assert_eq!(
                (r.metadata.id, r.metadata.response_code),
                (0xabcd, ResponseCode::FormErr)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(answer(&[1, 2, 3], &b, &mut m), Outcome::Drop);
    assert_eq!(
        m.len(),
        0,
        "no address is allocated for refused or unknown names"
    );
}
