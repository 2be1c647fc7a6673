//! One netDb state machine driven message by message: refusals (with their logged reasons),
//! lookup answers in every form, store replies, expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{NET_ID, T0, TestRouter, config, lease_set2};
use i2p_netdb::kademlia::{Distance, routing_key};
use i2p_netdb::router_garlic;
use i2p_netdb::{Action, Config, LookupResult, NetDb, Origin, StoreError, StoreOutcome};
use i2p_wire::i2np::{
    DatabaseLookup, DatabaseStore, LookupType, ReplyEncryption, ShortBuildRecords, StoreKind,
    StoreReply,
};
use i2p_wire::{Encode, ErrorKind, Hash, I2npBody, I2npMessage, TunnelId};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn db(cfg: Config, me: &TestRouter) -> NetDb<StdRng> {
    NetDb::new(cfg, me.ri.clone(), StdRng::seed_from_u64(5), T0)
}

fn msg(body: I2npBody) -> I2npMessage {
    I2npMessage::new(77, T0.saturating_add_millis(60_000), body).unwrap()
}

fn ri_store(key: Hash, ri_bytes: &[u8], reply: Option<StoreReply>) -> I2npMessage {
    // build from a valid store, then swap the key: the wire layer does not check it
    let ri = i2p_wire::RouterInfo::parse(ri_bytes)
        .unwrap()
        .peek_unverified()
        .clone();
    let store = DatabaseStore::router_info(&ri, reply).unwrap();
    let mut bytes = store.to_bytes();
    bytes[..32].copy_from_slice(key.as_bytes());
    let store = i2p_wire::I2npBody::parse(1, &bytes).unwrap();
    msg(store)
}

/// Run `f` with DEBUG logs captured; returns the log text.
fn logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf(Arc::new(Mutex::new(Vec::new())));
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let out = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

fn sends(actions: &[Action]) -> Vec<(Hash, &I2npMessage)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, msg } => Some((*to, msg)),
            _ => None,
        })
        .collect()
}

#[test]
fn bad_stores_are_refused_with_a_logged_reason() {
    let me = TestRouter::new(1, 1, true, T0);
    let mut d = db(config(true), &me);
    let peer = TestRouter::new(2, 2, false, T0);
    let other = TestRouter::new(3, 3, false, T0);
    let from = other.hash();

    // wrong key
    let (actions, log) =
        logs(|| d.handle_message(from, ri_store(other.hash(), &peer.bytes(), None), T0));
    assert!(actions.is_empty());
    assert!(log.contains("DatabaseStore refused"), "{log}");
    assert!(log.contains("is not the entry's hash"), "{log}");

    // bad signature: flip a byte inside the signature
    let mut bad = peer.bytes();
    let n = bad.len();
    bad[n - 5] ^= 0x20;
    let (actions, log) = logs(|| d.handle_message(from, ri_store(peer.hash(), &bad, None), T0));
    assert!(actions.is_empty());
    assert!(log.contains("verification failed"), "{log}");
    assert!(log.contains("signature"), "{log}");

    // wrong netId
    let alien = TestRouter::with_net(4, 4, false, T0, 2);
    let (actions, log) =
        logs(|| d.handle_message(from, ri_store(alien.hash(), &alien.bytes(), None), T0));
    assert!(actions.is_empty());
    assert!(log.contains("netId 2, we are on 99"), "{log}");

    // too old (published 30 hours ago)
    let old = TestRouter::new(5, 5, false, T0.saturating_sub_millis(30 * 3_600_000));
    let (actions, log) =
        logs(|| d.handle_message(from, ri_store(old.hash(), &old.bytes(), None), T0));
    assert!(actions.is_empty());
    assert!(log.contains("older than"), "{log}");

    // published too far in the future
    let future = TestRouter::new(6, 6, false, T0.saturating_add_millis(10 * 60_000));
    let err = d
        .learn_router_info(&future.bytes(), Origin::Reseed, T0)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Verify(e) if matches!(e.kind(), ErrorKind::NotYetValid { .. })),
        "{err}"
    );

    // expired LeaseSet (expired 10 s ago)
    let (key, ls) = lease_set2(7, T0.saturating_sub_millis(610_000), 600, me.hash());
    let store = DatabaseStore::lease_set(key, StoreKind::LeaseSet2, ls, None).unwrap();
    let (actions, log) = logs(|| d.handle_message(from, msg(I2npBody::DatabaseStore(store)), T0));
    assert!(actions.is_empty());
    assert!(log.contains("expired"), "{log}");

    // a LeaseSet under the wrong key
    let (_, ls) = lease_set2(8, T0, 600, me.hash());
    let store = DatabaseStore::lease_set(Hash::from_bytes([3; 32]), StoreKind::LeaseSet2, ls, None)
        .unwrap();
    let (_, log) = logs(|| d.handle_message(from, msg(I2npBody::DatabaseStore(store)), T0));
    assert!(log.contains("is not the entry's hash"), "{log}");

    // our own RouterInfo
    assert_eq!(
        d.learn_router_info(&me.bytes(), Origin::Transport { flood: false }, T0)
            .unwrap_err(),
        StoreError::OwnRouterInfo
    );

    assert_eq!(d.stats().stores_refused, 6);
    assert_eq!(d.counts().routers, 0);
    assert_eq!(d.counts().lease_sets, 0);

    // and a good one goes in and is persisted
    let actions = d.handle_message(from, ri_store(peer.hash(), &peer.bytes(), None), T0);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Persist { hash, .. } if *hash == peer.hash()))
    );
    assert_eq!(d.counts().routers, 1);
}

#[test]
fn missing_options_and_limits() {
    let me = TestRouter::new(1, 1, false, T0);
    let mut cfg = config(false);
    cfg.max_routers = 2;
    let mut d = db(cfg, &me);
    for i in 0..2 {
        let r = TestRouter::new(10 + i, 10 + i as u8, false, T0);
        d.learn_router_info(&r.bytes(), Origin::Reseed, T0).unwrap();
    }
    let r = TestRouter::new(20, 20, false, T0);
    assert!(matches!(
        d.learn_router_info(&r.bytes(), Origin::Reseed, T0),
        Err(StoreError::TableFull { limit: 2, .. })
    ));
    // LeaseSets are only taken unsolicited by floodfills
    let (key, ls) = lease_set2(8, T0, 600, me.hash());
    let store = DatabaseStore::lease_set(key, StoreKind::LeaseSet2, ls, None).unwrap();
    let (_, log) = logs(|| d.handle_message(r.hash(), msg(I2npBody::DatabaseStore(store)), T0));
    assert!(log.contains("we are not a floodfill"), "{log}");
    assert_eq!(d.counts().lease_sets, 0);
}

#[test]
fn newer_published_wins() {
    let me = TestRouter::new(1, 1, true, T0);
    let mut d = db(config(true), &me);
    let peer = TestRouter::new(2, 2, false, T0);
    let (o, _) = d
        .learn_router_info(&peer.bytes(), Origin::Reseed, T0)
        .unwrap();
    assert_eq!(o, StoreOutcome::New);
    let (o, a) = d
        .learn_router_info(&peer.bytes(), Origin::Reseed, T0)
        .unwrap();
    assert_eq!(o, StoreOutcome::Unchanged);
    assert!(a.is_empty());
    let newer = peer.sign(T0.saturating_add_millis(1000), NET_ID).to_bytes();
    let (o, a) = d.learn_router_info(&newer, Origin::Reseed, T0).unwrap();
    assert_eq!(o, StoreOutcome::Updated);
    assert!(matches!(&a[..], [Action::Persist { .. }]));
    let older = peer.sign(T0.saturating_sub_millis(1000), NET_ID).to_bytes();
    assert_eq!(
        d.learn_router_info(&older, Origin::Reseed, T0).unwrap().0,
        StoreOutcome::Unchanged
    );
    assert_eq!(
        d.router(&peer.hash()).unwrap().published(),
        T0.saturating_add_millis(1000)
    );

    // LeaseSet2: by published date
    let (key, ls1) = lease_set2(9, T0, 600, me.hash());
    let (key2, ls2) = lease_set2(9, T0.saturating_add_millis(5000), 600, me.hash());
    assert_eq!(key, key2);
    let store = |b: Vec<u8>| {
        msg(I2npBody::DatabaseStore(
            DatabaseStore::lease_set(key, StoreKind::LeaseSet2, b, None).unwrap(),
        ))
    };
    d.handle_message(peer.hash(), store(ls2.clone()), T0);
    d.handle_message(peer.hash(), store(ls1), T0);
    assert_eq!(
        d.lease_set(&key, T0).unwrap().published(),
        T0.saturating_add_millis(5000)
    );
    assert_eq!(d.stats().stores_unchanged, 3);
}

#[test]
fn store_reply_token_is_answered_directly_or_through_a_tunnel() {
    let me = TestRouter::new(1, 1, false, T0);
    let mut d = db(config(false), &me);
    let peer = TestRouter::new(2, 2, false, T0);
    let gw = Hash::from_bytes([8; 32]);
    let a = d.handle_message(
        peer.hash(),
        ri_store(
            peer.hash(),
            &peer.bytes(),
            Some(StoreReply {
                token: 555,
                tunnel_id: TunnelId(0),
                gateway: gw,
            }),
        ),
        T0,
    );
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, gw);
    assert!(matches!(s[0].1.body(), I2npBody::DeliveryStatus(ds) if ds.msg_id == 555));
    // a non-floodfill does not flood
    assert!(
        !a.iter()
            .any(|x| matches!(x, Action::Send { msg, .. } if msg.type_id() == 1))
    );

    let a = d.handle_message(
        peer.hash(),
        ri_store(
            peer.hash(),
            &peer.bytes(),
            Some(StoreReply {
                token: 556,
                tunnel_id: TunnelId(42),
                gateway: gw,
            }),
        ),
        T0,
    );
    match &a[..] {
        [
            Action::SendToTunnel {
                gateway,
                tunnel_id,
                msg,
            },
        ] => {
            assert_eq!((*gateway, *tunnel_id), (gw, TunnelId(42)));
            assert!(matches!(msg.body(), I2npBody::DeliveryStatus(ds) if ds.msg_id == 556));
            let tg = Action::tunnel_gateway_message(*tunnel_id, msg, 1).unwrap();
            match tg.body() {
                I2npBody::TunnelGateway(t) => {
                    assert_eq!(t.tunnel_id(), TunnelId(42));
                    assert_eq!(t.message().unwrap(), *msg);
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

/// A floodfill holding `n` other floodfills and `m` other routers.
fn populated(n: usize, m: usize) -> (TestRouter, NetDb<StdRng>, Vec<TestRouter>, Vec<TestRouter>) {
    let me = TestRouter::new(1, 1, true, T0);
    let mut d = db(config(true), &me);
    let ffs: Vec<TestRouter> = (0..n)
        .map(|i| TestRouter::new(100 + i as u64, 100 + i as u8, true, T0))
        .collect();
    let rs: Vec<TestRouter> = (0..m)
        .map(|i| TestRouter::new(200 + i as u64, 200 - i as u8, false, T0))
        .collect();
    for r in ffs.iter().chain(&rs) {
        d.learn_router_info(&r.bytes(), Origin::Reseed, T0).unwrap();
    }
    (me, d, ffs, rs)
}

fn lookup(
    key: Hash,
    from: Hash,
    t: LookupType,
    excluded: Vec<Hash>,
    tunnel: Option<TunnelId>,
    enc: ReplyEncryption,
) -> I2npMessage {
    msg(I2npBody::DatabaseLookup(
        DatabaseLookup::new(key, from, tunnel, t, excluded, enc).unwrap(),
    ))
}

#[test]
fn lookups_are_answered_like_i2pd() {
    let (me, mut d, ffs, rs) = populated(10, 10);
    let asker = Hash::from_bytes([0xaa; 32]);
    // a RouterInfo we have: a DatabaseStore to the asker
    let a = d.handle_message(
        asker,
        lookup(
            rs[3].hash(),
            asker,
            LookupType::RouterInfo,
            vec![],
            None,
            ReplyEncryption::None,
        ),
        T0,
    );
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, asker);
    match s[0].1.body() {
        I2npBody::DatabaseStore(st) => {
            assert_eq!(st.key(), rs[3].hash());
            assert!(st.reply().is_none());
            assert_eq!(
                st.parse_router_info().unwrap().verify(T0).unwrap(),
                rs[3].ri
            );
        }
        other => panic!("{other:?}"),
    }
    // our own RouterInfo too
    let a = d.handle_message(
        asker,
        lookup(
            me.hash(),
            asker,
            LookupType::RouterInfo,
            vec![],
            None,
            ReplyEncryption::None,
        ),
        T0,
    );
    assert!(matches!(sends(&a)[0].1.body(), I2npBody::DatabaseStore(st) if st.key() == me.hash()));

    // not found: up to 3 floodfills closer to the key than we are, minus excluded ones
    let key = Hash::from_bytes([0x11; 32]);
    let target = routing_key(&key, T0);
    let ours = Distance::between(&target, &me.hash());
    let mut closer: Vec<Hash> = ffs
        .iter()
        .map(TestRouter::hash)
        .filter(|h| Distance::between(&target, h) < ours)
        .collect();
    closer.sort_by_key(|h| Distance::between(&target, h));
    let excluded: Vec<Hash> = closer.iter().take(1).copied().collect();
    let a = d.handle_message(
        asker,
        lookup(
            key,
            asker,
            LookupType::RouterInfo,
            excluded.clone(),
            None,
            ReplyEncryption::None,
        ),
        T0,
    );
    match sends(&a)[0].1.body() {
        I2npBody::DatabaseSearchReply(r) => {
            let want: Vec<Hash> = closer.iter().skip(1).take(3).copied().collect();
            assert_eq!(r.peers(), &want[..]);
            assert_eq!(r.from(), me.hash());
            assert_eq!(r.key(), key);
        }
        other => panic!("{other:?}"),
    }

    // exploration: 3 non-floodfills closest to the key, not excluded, never floodfills
    let excluded = vec![rs[0].hash(), rs[1].hash()];
    let a = d.handle_message(
        asker,
        lookup(
            key,
            asker,
            LookupType::Exploration,
            excluded.clone(),
            None,
            ReplyEncryption::None,
        ),
        T0,
    );
    match sends(&a)[0].1.body() {
        I2npBody::DatabaseSearchReply(r) => {
            let mut want: Vec<Hash> = rs
                .iter()
                .map(TestRouter::hash)
                .filter(|h| !excluded.contains(h))
                .collect();
            want.sort_by_key(|h| Distance::between(&target, h));
            want.truncate(3);
            assert_eq!(r.peers(), &want[..]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.stats().lookups_answered, 4);
}

#[test]
fn encrypted_replies_go_down_the_reply_tunnel() {
    let (_me, mut d, _ffs, rs) = populated(3, 3);
    let gw = Hash::from_bytes([0xbb; 32]);
    let key = [0x42u8; 32];
    let tag = *b"8bytetag";
    let a = d.handle_message(
        Hash::from_bytes([1; 32]),
        lookup(
            rs[0].hash(),
            gw,
            LookupType::RouterInfo,
            vec![],
            Some(TunnelId(77)),
            ReplyEncryption::Ratchet {
                reply_key: key,
                tags: vec![tag],
            },
        ),
        T0,
    );
    let (gateway, tunnel_id, m) = match &a[..] {
        [
            Action::SendToTunnel {
                gateway,
                tunnel_id,
                msg,
            },
        ] => (*gateway, *tunnel_id, msg),
        other => panic!("{other:?}"),
    };
    assert_eq!((gateway, tunnel_id), (gw, TunnelId(77)));
    let garlic = match m.body() {
        I2npBody::Garlic(g) => g,
        other => panic!("{other:?}"),
    };
    assert_eq!(&garlic.data()[..8], &tag);
    let cloves = router_garlic::open_reply(garlic, &key, &tag).unwrap();
    assert_eq!(cloves.len(), 1);
    assert!(
        matches!(cloves[0].message.body(), I2npBody::DatabaseStore(s) if s.key() == rs[0].hash())
    );

    // a tunnel reply without encryption is sent as is
    let a = d.handle_message(
        Hash::from_bytes([1; 32]),
        lookup(
            rs[1].hash(),
            gw,
            LookupType::RouterInfo,
            vec![],
            Some(TunnelId(78)),
            ReplyEncryption::None,
        ),
        T0,
    );
    assert!(matches!(&a[..], [Action::SendToTunnel { msg, .. }] if msg.type_id() == 1));

    // ElGamal/AES replies (destinations without ECIES keys): a garlic message that starts
    // with the requester's session tag, down the reply tunnel
    let a = d.handle_message(
        Hash::from_bytes([1; 32]),
        lookup(
            rs[1].hash(),
            gw,
            LookupType::RouterInfo,
            vec![],
            Some(TunnelId(79)),
            ReplyEncryption::ElGamalAes {
                reply_key: key,
                tags: vec![[1; 32]],
            },
        ),
        T0,
    );
    match &a[..] {
        [Action::SendToTunnel { msg, tunnel_id, .. }] => {
            assert_eq!(*tunnel_id, TunnelId(79));
            let I2npBody::Garlic(g) = msg.body() else {
                panic!("not garlic: {msg:?}")
            };
            assert_eq!(&g.data()[..32], &[1; 32]);
            assert_eq!((g.data().len() - 32) % 16, 0);
        }
        other => panic!("expected one encrypted reply, got {other:?}"),
    }
}

#[test]
fn garlic_for_the_router_is_opened_and_handled() {
    let me = TestRouter::new(1, 1, true, T0);
    let mut d = db(config(true), &me).with_router_secret(me.x25519.clone());
    let client = Hash::from_bytes([0xcc; 32]);
    // an i2pd destination stores its LeaseSet: garlic to the floodfill, reply via a tunnel
    let (key, ls) = lease_set2(3, T0, 600, client);
    let store = DatabaseStore::lease_set(
        key,
        StoreKind::LeaseSet2,
        ls,
        Some(StoreReply {
            token: 9,
            tunnel_id: TunnelId(5),
            gateway: client,
        }),
    )
    .unwrap();
    let inner = msg(I2npBody::DatabaseStore(store));
    let mut rng = StdRng::seed_from_u64(3);
    let g = router_garlic::seal_for_router(&inner, &me.x25519.public(), T0, &mut rng).unwrap();
    let obep = Hash::from_bytes([0xdd; 32]);
    let a = d.handle_message(obep, msg(I2npBody::Garlic(g)), T0);
    assert!(a.iter().any(|x| matches!(x, Action::SendToTunnel { gateway, tunnel_id: TunnelId(5), msg } if *gateway == client && msg.type_id() == 10)));
    assert!(d.lease_set(&key, T0).is_some());

    // and looks it up the same way
    let l = lookup(
        key,
        client,
        LookupType::LeaseSet,
        vec![],
        Some(TunnelId(6)),
        ReplyEncryption::Ratchet {
            reply_key: [1; 32],
            tags: vec![[2; 8]],
        },
    );
    let g = router_garlic::seal_for_router(&l, &me.x25519.public(), T0, &mut rng).unwrap();
    let a = d.handle_message(obep, msg(I2npBody::Garlic(g)), T0);
    match &a[..] {
        [Action::SendToTunnel { msg, .. }] => {
            let I2npBody::Garlic(g) = msg.body() else {
                panic!()
            };
            let c = router_garlic::open_reply(g, &[1; 32], &[2; 8]).unwrap();
            assert!(
                matches!(c[0].message.body(), I2npBody::DatabaseStore(s) if s.key() == key && s.kind() == StoreKind::LeaseSet2)
            );
        }
        other => panic!("{other:?}"),
    }

    // garlic for somebody else's key is refused and counted
    let other = TestRouter::new(2, 2, false, T0);
    let g = router_garlic::seal_for_router(&l, &other.x25519.public(), T0, &mut rng).unwrap();
    assert!(
        d.handle_message(obep, msg(I2npBody::Garlic(g)), T0)
            .is_empty()
    );
    assert_eq!(d.stats().garlic_refused, 1);

    // a clove the netDb does not own (i2pd wraps tunnel build requests like this) goes back
    // to the shell untouched, with the garlic's sender
    let records = ShortBuildRecords::new(vec![[0x42; 218]; 4]).unwrap();
    let build = msg(I2npBody::ShortTunnelBuild(records.clone()));
    let g = router_garlic::seal_for_router(&build, &me.x25519.public(), T0, &mut rng).unwrap();
    match &d.handle_message(obep, msg(I2npBody::Garlic(g)), T0)[..] {
        [Action::Deliver { from, msg }] => {
            assert_eq!(*from, obep);
            assert_eq!(msg.body(), &I2npBody::ShortTunnelBuild(records));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn floodfill_floods_only_fresh_router_infos() {
    let (_me, mut d, ffs, _) = populated(6, 0);
    let sender = TestRouter::new(50, 50, false, T0);
    let reply = Some(StoreReply {
        token: 1,
        tunnel_id: TunnelId(0),
        gateway: sender.hash(),
    });
    let a = d.handle_message(
        sender.hash(),
        ri_store(sender.hash(), &sender.bytes(), reply),
        T0,
    );
    let floods: HashSet<Hash> = sends(&a)
        .into_iter()
        .filter(|(_, m)| m.type_id() == 1)
        .map(|(to, _)| to)
        .collect();
    assert_eq!(floods.len(), 3);
    assert!(floods.iter().all(|h| ffs.iter().any(|f| f.hash() == *h)));
    // the flooded copy has no reply token
    assert!(
        sends(&a)
            .iter()
            .filter(|(_, m)| m.type_id() == 1)
            .all(|(_, m)| matches!(m.body(), I2npBody::DatabaseStore(s) if s.reply().is_none()))
    );

    // published two hours ago: stored, acknowledged, not flooded
    let stale = TestRouter::new(51, 51, false, T0.saturating_sub_millis(2 * 3_600_000));
    let reply = Some(StoreReply {
        token: 2,
        tunnel_id: TunnelId(0),
        gateway: stale.hash(),
    });
    let a = d.handle_message(
        stale.hash(),
        ri_store(stale.hash(), &stale.bytes(), reply),
        T0,
    );
    assert!(d.router(&stale.hash()).is_some());
    assert_eq!(sends(&a).len(), 1, "only the DeliveryStatus");
}

#[test]
fn a_router_info_learned_in_a_handshake_is_flooded_once_its_owner_stores_it() {
    let (_me, mut d, _ffs, _) = populated(6, 0);
    let sender = TestRouter::new(52, 52, false, T0);
    // NTCP2 message 3 brought it first
    d.learn_router_info(&sender.bytes(), Origin::Transport { flood: false }, T0)
        .unwrap();
    let store = |token| {
        ri_store(
            sender.hash(),
            &sender.bytes(),
            Some(StoreReply {
                token,
                tunnel_id: TunnelId(0),
                gateway: sender.hash(),
            }),
        )
    };
    let floods = |a: &[Action]| {
        sends(a)
            .into_iter()
            .filter(|(_, m)| m.type_id() == 1)
            .count()
    };
    let a = d.handle_message(sender.hash(), store(1), T0);
    assert_eq!(
        floods(&a),
        3,
        "the publish is flooded although the entry did not change"
    );
    // the same version again: acknowledged, not flooded twice
    let a = d.handle_message(sender.hash(), store(2), T0);
    assert_eq!(floods(&a), 0);
    assert_eq!(sends(&a).len(), 1, "only the DeliveryStatus");
}

#[test]
fn router_infos_expire_by_age_and_netdb_size() {
    let me = TestRouter::new(1, 1, false, T0);
    let mut cfg = config(false);
    cfg.explore.enabled = false;
    cfg.publish.enabled = false;
    cfg.expiry.min_routers = 4;
    let mut d = db(cfg, &me);
    // 6 routers: ages 0.5 h .. 3 h; loaded from disk, so old ones are accepted
    let rs: Vec<TestRouter> = (0..6)
        .map(|i| {
            TestRouter::new(
                300 + i,
                30 + i as u8,
                false,
                T0.saturating_sub_millis((i + 1) * 1_800_000),
            )
        })
        .collect();
    for r in &rs {
        d.learn_router_info(&r.bytes(), Origin::Disk, T0).unwrap();
    }
    // no expiry during the first 10 minutes of uptime
    assert_eq!(
        d.router_expiry_timeout(T0.saturating_add_millis(5 * 60_000)),
        None
    );
    // between 10 minutes and an hour: 27 h
    assert_eq!(
        d.router_expiry_timeout(T0.saturating_add_millis(30 * 60_000)),
        Some(27 * 3_600_000)
    );
    // later: 90 min + (27 h - 90 min) * 4 / 6
    let later = T0.saturating_add_millis(2 * 3_600_000);
    let want = 90 * 60_000 + (27 * 3_600_000 - 90 * 60_000) * 4 / 6;
    assert_eq!(d.router_expiry_timeout(later), Some(want));
    // an hour after start, nothing is 27 h old: run the timer once past that point
    let _ = d.handle_timeout(T0.saturating_add_millis(61 * 60_000));
    assert_eq!(d.counts().routers, 6);
    // 21 hours later the limit (18.75 h) removes the oldest, but never below 4 routers
    let t = T0.saturating_add_millis(21 * 3_600_000);
    let a = d.handle_timeout(t);
    let deleted: Vec<Hash> = a
        .iter()
        .filter_map(|x| match x {
            Action::Delete { hash } => Some(*hash),
            _ => None,
        })
        .collect();
    assert_eq!(deleted.len(), 2, "expiry stops at min_routers");
    assert!(
        deleted.contains(&rs[5].hash()) && deleted.contains(&rs[4].hash()),
        "oldest first"
    );
    assert_eq!(d.counts().routers, 4);
    // a lookup of an expired router now goes to the network (no floodfills here)
    let (_, a) = d.lookup_router(rs[5].hash(), t);
    assert!(matches!(
        &a[..],
        [Action::LookupDone {
            result: LookupResult::NoFloodfills,
            ..
        }]
    ));
}

#[test]
fn router_info_lookup_result_completes_from_a_store() {
    let me = TestRouter::new(1, 1, false, T0);
    let mut d = db(config(false), &me);
    let ff = TestRouter::new(2, 2, true, T0);
    d.learn_router_info(&ff.bytes(), Origin::Reseed, T0)
        .unwrap();
    let target = TestRouter::new(3, 3, false, T0);
    let (id, a) = d.lookup_router(target.hash(), T0);
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, ff.hash());
    match s[0].1.body() {
        I2npBody::DatabaseLookup(l) => {
            assert_eq!(l.key(), target.hash());
            assert_eq!(l.from(), me.hash());
            assert_eq!(l.lookup_type(), LookupType::RouterInfo);
            assert!(l.reply_tunnel().is_none());
        }
        other => panic!("{other:?}"),
    }
    // a bad answer (wrong key) spends that floodfill's turn; no other floodfill is known, so
    // the lookup fails
    let a = d.handle_message(ff.hash(), ri_store(target.hash(), &ff.bytes(), None), T0);
    assert!(a.iter().any(|x| matches!(x, Action::LookupDone { id: done, result: LookupResult::NotFound, .. } if *done == id)));
    // a new lookup, answered properly
    let (id2, _) = d.lookup_router(target.hash(), T0);
    assert_ne!(id, id2);
    let a = d.handle_message(
        ff.hash(),
        ri_store(target.hash(), &target.bytes(), None),
        T0,
    );
    assert!(a.iter().any(|x| matches!(x, Action::LookupDone { id, result: LookupResult::RouterInfo(e), .. } if *id == id2 && e.hash() == target.hash())));
}
