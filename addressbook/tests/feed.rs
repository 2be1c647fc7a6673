//! Subscription feeds end to end: signed commands verify, tampering and unsigned changes are
//! refused, user names are never overwritten, and the books survive a reload.

#![allow(clippy::unwrap_used)]

use i2p_addressbook::hosts_txt::sign_line;
use i2p_addressbook::{
    AddressBook, Applied, BookKind, BookStore, HostName, LineError, parse_feed, parse_line,
};
use i2p_crypto::{Ed25519SigningKey, SigType};
use i2p_wire::Destination;

struct Id {
    key: Ed25519SigningKey,
    dest: Destination,
}

fn id(seed: u8) -> Id {
    let key = Ed25519SigningKey::from_seed([seed; 32]);
    let dest = Destination::new(SigType::Ed25519, &key.public(), &[seed ^ 0x5a; 32]).unwrap();
    Id { key, dest }
}

fn n(s: &str) -> HostName {
    HostName::parse(s).unwrap()
}

fn signer(k: &Ed25519SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |m| k.sign(m).to_vec()
}

/// The real eepsite entry of the i2pd testnet, unsigned, as i2pd's hosts.txt has it.
#[test]
fn real_i2pd_hosts_line_parses() {
    let text = include_str!("../../router/wire/tests/data/i2pd-2.45.1/hosts.txt");
    let (records, errors) = parse_feed(text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].name.as_str(), "eepsite.testnet.i2p");
    assert!(!records[0].is_signed());
    assert_eq!(
        records[0].dest.b32_address(),
        "hhremhkseshvd2f77ojp6hc2yr3ityqno7kfdvhphvlplamhczua.b32.i2p"
    );
}

#[test]
fn signed_add_verifies_and_tampering_fails() {
    let a = id(1);
    let line = sign_line(
        Some((&n("alice.i2p"), &a.dest)),
        &[("date", "1700000000")],
        None,
        &signer(&a.key),
    );
    let r = parse_line(&line).unwrap().unwrap();
    assert!(r.is_signed());
    assert_eq!(r.name.as_str(), "alice.i2p");

    // flip one character of the signature / of the date / change the name
    let tampered_sig = {
        let i = line.len() - 5;
        let c = if &line[i..i + 1] == "A" { "B" } else { "A" };
        format!("{}{}{}", &line[..i], c, &line[i + 1..])
    };
    assert!(matches!(
        parse_line(&tampered_sig),
        Err(LineError::BadSig(_))
    ));
    let tampered_date = line.replace("date=1700000000", "date=1700000001");
    assert!(matches!(
        parse_line(&tampered_date),
        Err(LineError::BadSig(_))
    ));
    let renamed = line.replacen("alice.i2p", "mallory.i2p", 1);
    assert!(matches!(parse_line(&renamed), Err(LineError::BadSig(_))));
    // signed by someone else's key
    let m = id(9);
    let forged = sign_line(Some((&n("alice.i2p"), &a.dest)), &[], None, &signer(&m.key));
    assert!(matches!(parse_line(&forged), Err(LineError::BadSig(_))));
}

#[test]
fn feed_with_signed_unsigned_and_tampered_lines() {
    let (a, b, c) = (id(1), id(2), id(3));
    let good = sign_line(Some((&n("alice.i2p"), &a.dest)), &[], None, &signer(&a.key));
    let plain = format!("bob.i2p={}", b.dest.to_base64());
    let bad = sign_line(Some((&n("carol.i2p"), &c.dest)), &[], None, &signer(&a.key));
    let feed = format!(
        "# a comment\n\n{good}\n{plain}\n{bad}\nnot a line\nx_y.i2p={}\n",
        c.dest.to_base64()
    );
    let (records, errors) = parse_feed(&feed);
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["alice.i2p", "bob.i2p"]);
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [5, 6, 7], "{errors:?}");
    let mut book = AddressBook::new();
    for r in &records {
        assert!(matches!(book.apply(r), Applied::Added(_)));
    }
    assert!(
        book.lookup(&n("carol.i2p")).is_none(),
        "tampered entry must not resolve"
    );
    assert_eq!(book.lookup(&n("alice.i2p")).unwrap().0, &a.dest);
}

#[test]
fn unsigned_lines_never_change_an_existing_name() {
    let (a, b) = (id(1), id(2));
    let mut book = AddressBook::new();
    let first = parse_line(&format!("site.i2p={}", a.dest.to_base64()))
        .unwrap()
        .unwrap();
    let hijack = parse_line(&format!("site.i2p={}", b.dest.to_base64()))
        .unwrap()
        .unwrap();
    assert!(matches!(book.apply(&first), Applied::Added(_)));
    assert!(matches!(book.apply(&hijack), Applied::Conflict(_)));
    assert_eq!(book.lookup(&n("site.i2p")).unwrap().0, &a.dest);
}

#[test]
fn changedest_needs_both_signatures() {
    let (old, new) = (id(1), id(2));
    let mut book = AddressBook::new();
    book.apply(
        &parse_line(&format!("site.i2p={}", old.dest.to_base64()))
            .unwrap()
            .unwrap(),
    );
    let opts = [
        ("action", "changedest"),
        ("olddest", &old.dest.to_base64() as &str),
    ];
    let line = sign_line(
        Some((&n("site.i2p"), &new.dest)),
        &opts,
        Some(&signer(&old.key)),
        &signer(&new.key),
    );
    let r = parse_line(&line).unwrap().unwrap();
    assert_eq!(book.apply(&r), Applied::Changed(n("site.i2p")));
    assert_eq!(book.lookup(&n("site.i2p")).unwrap().0, &new.dest);
    // inner signature by the wrong key
    let wrong = id(7);
    let line = sign_line(
        Some((&n("site.i2p"), &new.dest)),
        &opts,
        Some(&signer(&wrong.key)),
        &signer(&new.key),
    );
    assert!(matches!(parse_line(&line), Err(LineError::BadSig(_))));
    // no oldsig at all
    let line = sign_line(
        Some((&n("site.i2p"), &new.dest)),
        &opts,
        None,
        &signer(&new.key),
    );
    assert!(matches!(
        parse_line(&line),
        Err(LineError::MissingOption("oldsig", _))
    ));
}

#[test]
fn subdomains_need_the_parent_key_and_removes_need_the_dest_key() {
    let (parent, child) = (id(1), id(2));
    let mut book = AddressBook::new();
    book.apply(
        &parse_line(&format!("example.i2p={}", parent.dest.to_base64()))
            .unwrap()
            .unwrap(),
    );
    let pd = parent.dest.to_base64();
    let opts = [
        ("action", "addsubdomain"),
        ("oldname", "example.i2p"),
        ("olddest", &pd as &str),
    ];
    let line = sign_line(
        Some((&n("www.example.i2p"), &child.dest)),
        &opts,
        Some(&signer(&parent.key)),
        &signer(&child.key),
    );
    assert_eq!(
        book.apply(&parse_line(&line).unwrap().unwrap()),
        Applied::Added(n("www.example.i2p"))
    );
    // a subdomain of a name that is not its parent is refused
    let opts = [
        ("action", "addsubdomain"),
        ("oldname", "example.i2p"),
        ("olddest", &pd as &str),
    ];
    let line = sign_line(
        Some((&n("www.other.i2p"), &child.dest)),
        &opts,
        Some(&signer(&parent.key)),
        &signer(&child.key),
    );
    assert!(matches!(
        book.apply(&parse_line(&line).unwrap().unwrap()),
        Applied::Conflict(_)
    ));

    let cd = child.dest.to_base64();
    let rm = sign_line(
        None,
        &[
            ("action", "remove"),
            ("name", "www.example.i2p"),
            ("dest", &cd as &str),
        ],
        None,
        &signer(&child.key),
    );
    assert_eq!(
        book.apply(&parse_line(&rm).unwrap().unwrap()),
        Applied::Removed(vec![n("www.example.i2p")])
    );
    let forged = sign_line(
        None,
        &[
            ("action", "removeall"),
            ("name", "example.i2p"),
            ("dest", &pd as &str),
        ],
        None,
        &signer(&child.key),
    );
    assert!(matches!(parse_line(&forged), Err(LineError::BadSig(_))));
    assert!(book.lookup(&n("example.i2p")).is_some());
}

#[test]
fn feeds_never_override_user_names() {
    let (mine, theirs) = (id(1), id(2));
    let mut book = AddressBook::new();
    book.insert_user(BookKind::Local, n("site.i2p"), mine.dest.clone());
    let line = sign_line(
        Some((&n("site.i2p"), &theirs.dest)),
        &[],
        None,
        &signer(&theirs.key),
    );
    assert!(matches!(
        book.apply(&parse_line(&line).unwrap().unwrap()),
        Applied::Conflict(_)
    ));
    let (d, kind) = book.lookup(&n("site.i2p")).unwrap();
    assert_eq!((d, kind), (&mine.dest, BookKind::Local));
    // private beats local
    book.insert_user(BookKind::Private, n("site.i2p"), theirs.dest.clone());
    assert_eq!(book.lookup(&n("site.i2p")).unwrap().1, BookKind::Private);
}

#[test]
fn books_survive_a_reload_and_a_stale_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = BookStore::new(dir.path());
    let (a, b) = (id(1), id(2));
    let mut book = AddressBook::new();
    book.insert_user(BookKind::Local, n("mine.i2p"), a.dest.clone());
    book.apply(
        &parse_line(&format!("feed.i2p={}", b.dest.to_base64()))
            .unwrap()
            .unwrap(),
    );
    for k in BookKind::ALL {
        store.save(&book, k).unwrap();
    }
    // a crash during an earlier write could leave a temp file; it must not matter
    std::fs::write(dir.path().join(".hosts.txt.tmp.1"), b"garbage").unwrap();
    let loaded = store.load().unwrap();
    assert!(loaded.bad_lines.is_empty(), "{:?}", loaded.bad_lines);
    assert_eq!(
        loaded.book.lookup(&n("mine.i2p")).unwrap(),
        (&a.dest, BookKind::Local)
    );
    assert_eq!(
        loaded.book.lookup(&n("feed.i2p")).unwrap(),
        (&b.dest, BookKind::Subscribed)
    );
    assert_eq!(loaded.book.len(), 2);
    assert_eq!(
        loaded.book.reverse_lookup(&b.dest.hash()),
        Some(&n("feed.i2p"))
    );
}
