use super::*;
use crate::block::Delivery;
use i2p_wire::i2np::DeliveryStatus;
use i2p_wire::{Date, Hash, I2npBody, I2npMessage};
use rand::SeedableRng;
use rand::rngs::StdRng;

const T0: u64 = 1_700_000_000_000;

fn msg(id: u32) -> Clove {
    Clove {
        delivery: Delivery::Destination(Hash::from_bytes([5; 32])),
        message: I2npMessage::new(
            id,
            Date::from_secs(1_700_000_060),
            I2npBody::DeliveryStatus(DeliveryStatus {
                msg_id: id,
                timestamp: Date::from_millis(T0),
            }),
        )
        .unwrap(),
    }
}

fn ids(o: &Opened) -> Vec<u32> {
    o.cloves.iter().map(|c| c.message.msg_id()).collect()
}

struct Pair {
    rng: StdRng,
    a: Sessions,
    b: Sessions,
    apk: X25519Public,
    bpk: X25519Public,
}

fn pair_with(config: GarlicConfig, seed: u64) -> Pair {
    let mut rng = StdRng::seed_from_u64(seed);
    let a_key = X25519Secret::generate(&mut rng);
    let b_key = X25519Secret::generate(&mut rng);
    let (apk, bpk) = (a_key.public(), b_key.public());
    Pair {
        rng,
        a: Sessions::new(a_key, config.clone()),
        b: Sessions::new(b_key, config),
        apk,
        bpk,
    }
}

fn pair() -> Pair {
    pair_with(GarlicConfig::default(), 1)
}

impl Pair {
    fn a_to_b(&mut self, id: u32, now: u64) -> Vec<u8> {
        self.a
            .seal(&self.bpk, &[msg(id)], now, &mut self.rng)
            .unwrap()
    }
    fn b_to_a(&mut self, id: u32, now: u64) -> Vec<u8> {
        self.b
            .seal(&self.apk, &[msg(id)], now, &mut self.rng)
            .unwrap()
    }
    /// NS → NSR → ES → ES, checking each kind.
    fn establish(&mut self, now: u64) {
        let ns = self.a_to_b(1, now);
        assert_eq!(self.b.open(&ns, now).unwrap().kind, MessageKind::NewSession);
        let nsr = self.b_to_a(2, now);
        assert_eq!(
            self.a.open(&nsr, now).unwrap().kind,
            MessageKind::NewSessionReply
        );
        let es = self.a_to_b(3, now);
        assert_eq!(self.b.open(&es, now).unwrap().kind, MessageKind::Existing);
        let es = self.b_to_a(4, now);
        assert_eq!(self.a.open(&es, now).unwrap().kind, MessageKind::Existing);
    }
}

/// The Noise initial state: i2pd 2.45.1 hard-codes SHA-256 of the protocol name and the hash
/// after the empty prologue (libi2pd/Crypto.cpp, `InitNoiseIKState`), so these bytes are an
/// independent published check of the name and of the prologue step.
#[test]
fn initial_state_matches_i2pd_constants() {
    let st = initial_state();
    let name_hash: [u8; 32] = [
        0x4c, 0xaf, 0x11, 0xef, 0x2c, 0x8e, 0x36, 0x56, 0x4c, 0x53, 0xe8, 0x88, 0x85, 0x06, 0x4d,
        0xba, 0xac, 0xbe, 0x00, 0x54, 0xad, 0x17, 0x8f, 0x80, 0x79, 0xa6, 0x46, 0x82, 0x7e, 0x6e,
        0xe4, 0x0c,
    ];
    let hh: [u8; 32] = [
        0x9c, 0xcf, 0x85, 0x2c, 0xc9, 0x3b, 0xb9, 0x50, 0x44, 0x41, 0xe9, 0x50, 0xe0, 0x1d, 0x52,
        0x32, 0x2e, 0x0d, 0x47, 0xad, 0xd1, 0xe9, 0xa5, 0x55, 0xf7, 0x55, 0xb5, 0x69, 0xae, 0x18,
        0x3b, 0x5c,
    ];
    assert_eq!(PROTOCOL_NAME.len(), 40);
    assert_eq!(st.ck(), &name_hash);
    assert_eq!(st.h(), &hh);
}

#[test]
fn representative_range_check_matches_i2pd() {
    // (p-1)/2 itself is accepted, one more is refused; the two top bits are ignored
    let mut max = P_MINUS_1_HALF_LE;
    assert!(decode_representative(&max).is_ok());
    max[31] |= 0xc0;
    assert!(decode_representative(&max).is_ok());
    let mut over = P_MINUS_1_HALF_LE;
    over[0] = 0xf7;
    assert_eq!(
        decode_representative(&over),
        Err(GarlicError::BadRepresentative)
    );
    assert!(decode_representative(&[0u8; 32]).is_ok());
}

#[test]
fn ns_nsr_es_round_trip_both_ways() {
    let mut p = pair();
    let ns = p.a_to_b(1, T0);
    // NS: 32 ephemeral + 48 static section + payload + 16
    let opened = p.b.open(&ns, T0).unwrap();
    assert_eq!(opened.kind, MessageKind::NewSession);
    assert_eq!(opened.remote, Some(p.apk));
    assert_eq!(ids(&opened), vec![1]);
    assert_eq!(opened.cloves[0], msg(1));
    assert_eq!(opened.date_time, Some((T0 / 1000) as u32));
    // Bob answers with an NSR, not an ES, until Alice's ES arrives
    let nsr = p.b_to_a(2, T0);
    assert!(!p.b.is_established(&p.apk));
    let opened = p.a.open(&nsr, T0).unwrap();
    assert_eq!(opened.kind, MessageKind::NewSessionReply);
    assert_eq!(opened.remote, Some(p.bpk));
    assert_eq!(ids(&opened), vec![2]);
    assert!(opened.date_time.is_some());
    assert!(p.a.is_established(&p.bpk));
    let es = p.a_to_b(3, T0);
    let opened = p.b.open(&es, T0).unwrap();
    assert_eq!(opened.kind, MessageKind::Existing);
    assert_eq!(opened.remote, Some(p.apk));
    assert_eq!(ids(&opened), vec![3]);
    assert_eq!(opened.date_time, None);
    assert!(p.b.is_established(&p.apk));
    for i in 4..20 {
        let es = p.b_to_a(i, T0);
        let o = p.a.open(&es, T0).unwrap();
        assert_eq!((o.kind, ids(&o)), (MessageKind::Existing, vec![i]));
        let es = p.a_to_b(i + 100, T0);
        let o = p.b.open(&es, T0).unwrap();
        assert_eq!((o.kind, ids(&o)), (MessageKind::Existing, vec![i + 100]));
    }
    let (sa, sb) = (p.a.stats(), p.b.stats());
    assert_eq!((sa.ns_sent, sa.nsr_received, sa.es_sent), (1, 1, 17));
    assert_eq!((sb.ns_received, sb.nsr_sent, sb.es_received), (1, 1, 17));
    assert_eq!((sa.failures, sb.failures), (0, 0));
}

#[test]
fn message_lengths_follow_the_formats() {
    let mut p = pair();
    let ns = p.a.seal(&p.bpk, &[], T0, &mut p.rng).unwrap();
    // DateTime block (7) and padding (3 + 1..=16)
    assert!(
        (96 + 7 + 4..=96 + 7 + 19).contains(&ns.len()),
        "{}",
        ns.len()
    );
    p.b.open(&ns, T0).unwrap();
    let nsr = p.b.seal(&p.apk, &[], T0, &mut p.rng).unwrap();
    assert!((72 + 7 + 4..=72 + 7 + 19).contains(&nsr.len()));
    p.a.open(&nsr, T0).unwrap();
    let es = p.a.seal(&p.bpk, &[], T0, &mut p.rng).unwrap();
    assert!((24 + 4..=24 + 19).contains(&es.len()));
}

#[test]
fn several_ns_before_the_nsr() {
    // i2pd sends a fresh NS for every message until an NSR arrives
    let mut p = pair();
    let ns: Vec<Vec<u8>> = (1..=3).map(|i| p.a_to_b(i, T0 + u64::from(i))).collect();
    assert_eq!(p.a.stats().ns_sent, 3);
    for (i, m) in ns.iter().enumerate() {
        let o = p.b.open(m, T0 + 10).unwrap();
        assert_eq!(o.kind, MessageKind::NewSession);
        assert_eq!(ids(&o), vec![i as u32 + 1]);
    }
    // Bob answers the newest NS; Alice accepts it and switches to ES
    let nsr = p.b_to_a(10, T0 + 20);
    assert_eq!(
        p.a.open(&nsr, T0 + 20).unwrap().kind,
        MessageKind::NewSessionReply
    );
    let es = p.a_to_b(11, T0 + 30);
    assert_eq!(p.b.open(&es, T0 + 30).unwrap().kind, MessageKind::Existing);
    let es = p.b_to_a(12, T0 + 40);
    assert_eq!(ids(&p.a.open(&es, T0 + 40).unwrap()), vec![12]);
}

#[test]
fn crossing_nsrs_settle_on_the_handshake_alice_chose() {
    let mut p = pair();
    let ns1 = p.a_to_b(1, T0);
    let ns2 = p.a_to_b(2, T0 + 1);
    p.b.open(&ns1, T0 + 2).unwrap();
    let nsr1 = p.b_to_a(3, T0 + 3); // answers NS1
    p.b.open(&ns2, T0 + 4).unwrap();
    let nsr2 = p.b_to_a(4, T0 + 5); // answers NS2, the newest
    // NSR1 arrives first: Alice's session comes from NS1
    assert_eq!(ids(&p.a.open(&nsr1, T0 + 6).unwrap()), vec![3]);
    let es = p.a_to_b(5, T0 + 7);
    // Bob learns from the ES which handshake Alice kept
    let o = p.b.open(&es, T0 + 8).unwrap();
    assert_eq!((o.kind, ids(&o)), (MessageKind::Existing, vec![5]));
    // the late NSR2 still opens (payload delivered) but changes nothing
    let o = p.a.open(&nsr2, T0 + 9).unwrap();
    assert_eq!((o.kind, ids(&o)), (MessageKind::NewSessionReply, vec![4]));
    let es = p.a_to_b(6, T0 + 10);
    assert_eq!(ids(&p.b.open(&es, T0 + 11).unwrap()), vec![6]);
    let es = p.b_to_a(7, T0 + 12);
    assert_eq!(ids(&p.a.open(&es, T0 + 13).unwrap()), vec![7]);
}

#[test]
fn nsr_retransmissions_open_in_any_order_and_stop_after_the_es() {
    let mut p = pair();
    let ns = p.a_to_b(1, T0);
    p.b.open(&ns, T0).unwrap();
    let nsrs: Vec<Vec<u8>> = (0..3)
        .map(|i| p.b_to_a(10 + i, T0 + u64::from(i)))
        .collect();
    assert_eq!(p.b.stats().nsr_sent, 3);
    // repeated NSRs to one NS share the ephemeral key (as i2pd's do) but not the tag
    assert_eq!(nsrs[0][8..40], nsrs[1][8..40]);
    assert_ne!(nsrs[0][..8], nsrs[1][..8]);
    for i in [2usize, 0, 1] {
        let o = p.a.open(&nsrs[i], T0 + 10).unwrap();
        assert_eq!(
            (o.kind, ids(&o)),
            (MessageKind::NewSessionReply, vec![10 + i as u32])
        );
    }
    // a replayed NSR is refused
    assert_eq!(p.a.open(&nsrs[0], T0 + 11), Err(GarlicError::ReplayedTag));
    let es = p.a_to_b(2, T0 + 12);
    assert_eq!(p.b.open(&es, T0 + 12).unwrap().kind, MessageKind::Existing);
    // now Bob sends ES
    let es = p.b_to_a(3, T0 + 13);
    let o = p.a.open(&es, T0 + 13).unwrap();
    assert_eq!(o.kind, MessageKind::Existing);
    assert_eq!(p.b.stats().nsr_sent, 3);
}

#[test]
fn out_of_order_es_within_the_window_and_replays_refused() {
    let mut p = pair();
    p.establish(T0);
    let batch: Vec<Vec<u8>> = (0..20).map(|i| p.a_to_b(100 + i, T0)).collect();
    for i in (0..20).rev() {
        let o = p.b.open(&batch[i], T0).unwrap();
        assert_eq!(ids(&o), vec![100 + i as u32]);
    }
    assert_eq!(p.b.open(&batch[7], T0), Err(GarlicError::ReplayedTag));
    assert_eq!(p.b.stats().replays_dropped, 1);
    // a forged message under a valid tag fails and does not burn the tag
    let good = p.a_to_b(200, T0);
    let mut forged = good.clone();
    forged[12] ^= 1;
    assert_eq!(p.b.open(&forged, T0), Err(GarlicError::Aead));
    assert_eq!(ids(&p.b.open(&good, T0).unwrap()), vec![200]);
}

#[test]
fn es_beyond_the_window_and_unknown_tags_are_rejected() {
    let mut p = pair();
    p.establish(T0);
    // Bob's window after one message is 24 + 0/4 tags ahead; skip well past it
    let lost: Vec<Vec<u8>> = (0..40).map(|i| p.a_to_b(i, T0)).collect();
    assert!(p.b.open(&lost[39], T0).is_err());
    // within the window still fine
    assert_eq!(ids(&p.b.open(&lost[10], T0).unwrap()), vec![10]);
    // unknown tag, ES-sized
    let mut junk = vec![0x42u8; 60];
    junk[..8].copy_from_slice(b"notatag!");
    assert_eq!(p.b.open(&junk, T0), Err(GarlicError::UnknownTag));
    // NS-sized junk is tried as NS and fails authentication
    assert_eq!(p.b.open(&[7u8; 200], T0), Err(GarlicError::Aead));
    assert!(matches!(
        p.b.open(&[1, 2, 3], T0),
        Err(GarlicError::TooShort { .. })
    ));
}

#[test]
fn replayed_ns_is_dropped() {
    let mut p = pair();
    let ns = p.a_to_b(1, T0);
    assert!(p.b.open(&ns, T0).is_ok());
    assert_eq!(
        p.b.open(&ns, T0 + 5_000),
        Err(GarlicError::ReplayedNewSession)
    );
    // the same ephemeral key with other top bits of the representative is the same key
    let mut flipped = ns.clone();
    flipped[31] ^= 0x80;
    assert_eq!(
        p.b.open(&flipped, T0 + 6_000),
        Err(GarlicError::ReplayedNewSession)
    );
    let s = p.b.stats();
    assert_eq!((s.ns_received, s.replays_dropped), (1, 2));
    // after tick() forgets the entry, the DateTime check still refuses the old message
    p.b.tick(T0 + 20 * 60_000);
    assert!(matches!(
        p.b.open(&ns, T0 + 20 * 60_000),
        Err(GarlicError::StaleNewSession { .. })
    ));
}

#[test]
fn ns_from_the_future_or_past_is_refused() {
    let mut p = pair();
    let ns = p.a_to_b(1, T0);
    assert!(matches!(
        p.b.open(&ns, T0 - 10 * 60_000),
        Err(GarlicError::StaleNewSession { .. })
    ));
}

/// Build an NS without a static key (all-zero flags section, payload with nonce 1), the
/// "one-time"/unbound variant i2pd's `WrapOneTimeMessage` sends.
fn one_time_ns(to: &X25519Public, payload: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let (esk, repr) = elligator2::generate(rng).unwrap();
    let mut st = initial_state();
    st.mix_hash(to.as_bytes());
    st.mix_hash(esk.public().as_bytes());
    st.mix_key(&*esk.dh(to).unwrap());
    let flags = st.encrypt_and_hash(&[0u8; 32]).unwrap();
    let body = st.encrypt_and_hash(payload).unwrap(); // nonce 1, ad = h
    [&repr.0[..], &flags, &body].concat()
}

#[test]
fn one_time_ns_without_static_key_opens() {
    let mut p = pair();
    let payload = encode_payload(&[
        Block::DateTime((T0 / 1000) as u32),
        Block::Clove(msg(9)),
        Block::Padding(3),
    ])
    .unwrap();
    let ns = one_time_ns(&p.bpk, &payload, &mut p.rng);
    let o = p.b.open(&ns, T0).unwrap();
    assert_eq!(o.remote, None);
    assert_eq!(o.kind, MessageKind::NewSession);
    assert_eq!(ids(&o), vec![9]);
    // nothing to reply to
    assert!(p.b.poll_transmit(T0 + 5_000, &mut p.rng).is_empty());
    assert_eq!(p.b.open(&ns, T0), Err(GarlicError::ReplayedNewSession));
}

#[test]
fn owed_responses_go_out_alone_after_the_delay() {
    let mut p = pair();
    let ns = p.a_to_b(1, T0);
    p.b.open(&ns, T0).unwrap();
    assert_eq!(p.b.poll_timeout(), Some(T0 + 1_000));
    assert!(p.b.poll_transmit(T0 + 999, &mut p.rng).is_empty());
    let out = p.b.poll_transmit(T0 + 1_000, &mut p.rng);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, p.apk);
    let o = p.a.open(&out[0].1, T0 + 1_100).unwrap();
    assert_eq!(o.kind, MessageKind::NewSessionReply);
    assert!(o.cloves.is_empty());
    assert!(p.b.poll_transmit(T0 + 5_000, &mut p.rng).is_empty());
    // Alice owes an ES so Bob can leave NSR mode
    let out = p.a.poll_transmit(T0 + 2_100, &mut p.rng);
    assert_eq!(out.len(), 1);
    assert_eq!(
        p.b.open(&out[0].1, T0 + 2_200).unwrap().kind,
        MessageKind::Existing
    );
    assert!(p.b.is_established(&p.apk));
    // traffic cancels an owed response
    p.a.request_ack(&p.bpk);
    let es = p.a_to_b(2, T0 + 3_000);
    p.b.open(&es, T0 + 3_000).unwrap();
    let reply = p.b_to_a(3, T0 + 3_100);
    assert!(p.b.poll_transmit(T0 + 10_000, &mut p.rng).is_empty());
    let o = p.a.open(&reply, T0 + 3_200).unwrap();
    // Alice's ES with the request was her second ES on tag set 0 (index 1)
    assert_eq!(o.acks, vec![(0, 1)]);
}

#[test]
fn ack_request_without_traffic_is_answered_by_poll_transmit() {
    let mut p = pair();
    p.establish(T0);
    assert!(p.a.request_ack(&p.bpk));
    let es = p.a_to_b(1, T0);
    p.b.open(&es, T0).unwrap();
    let out = p.b.poll_transmit(T0 + 1_000, &mut p.rng);
    assert_eq!(out.len(), 1);
    let o = p.a.open(&out[0].1, T0 + 1_000).unwrap();
    assert_eq!(o.acks.len(), 1);
    assert!(o.cloves.is_empty());
}

/// Acceptance: "garlic sessions survive a DH ratchet". With a ratchet threshold of 4, several
/// thousand messages both ways, delivered in shuffled batches, keep decrypting across many
/// NextKey exchanges in both directions.
#[test]
fn sessions_survive_many_dh_ratchets() {
    let config = GarlicConfig {
        ratchet_threshold: 4,
        ..GarlicConfig::default()
    };
    let mut p = pair_with(config, 7);
    p.establish(T0);
    let mut order_rng = StdRng::seed_from_u64(99);
    let mut next_id = 1000u32;
    let mut now = T0;
    for round in 0..600 {
        now += 50;
        // Alice sends 1..=4 messages, Bob gets them shuffled; then the other way
        for dir in 0..2 {
            let n = 1 + (round + dir) % 4;
            let mut batch = Vec::new();
            for _ in 0..n {
                next_id += 1;
                let m = if dir == 0 {
                    p.a_to_b(next_id, now)
                } else {
                    p.b_to_a(next_id, now)
                };
                batch.push((next_id, m));
            }
            use rand::seq::SliceRandom;
            batch.shuffle(&mut order_rng);
            for (id, m) in batch {
                let o = if dir == 0 {
                    p.b.open(&m, now)
                } else {
                    p.a.open(&m, now)
                }
                .unwrap_or_else(|e| panic!("round {round} dir {dir} id {id}: {e}"));
                assert_eq!(ids(&o), vec![id]);
            }
        }
        if round % 100 == 0 {
            p.a.tick(now);
            p.b.tick(now);
        }
    }
    let (sa, sb) = (p.a.stats(), p.b.stats());
    assert!(sa.es_sent + sb.es_sent > 2_500, "{sa:?} {sb:?}");
    // each completed exchange counts once on each side (send tag set at the sender,
    // receive tag set at the receiver)
    assert!(sa.ratchets >= 50 && sb.ratchets >= 50, "{sa:?} {sb:?}");
    assert_eq!((sa.failures, sb.failures), (0, 0));
    // the send tag set ids went well past the first few (1 + sender id + receiver id)
    let a_send = p.a.peers[&p.bpk].est.as_ref().unwrap().send.id();
    let b_send = p.b.peers[&p.apk].est.as_ref().unwrap().send.id();
    assert!(a_send > 20 && b_send > 20, "{a_send} {b_send}");
    // old receive tag sets expire 3 minutes after being replaced
    p.a.tick(now + 200_000);
    p.b.tick(now + 200_000);
    assert!(p.a.peers[&p.bpk].est.as_ref().unwrap().recv.len() <= 2);
}

/// The key id / tag set id sequence of i2pd (spec/ecies.md, "DH RATCHET MESSAGE FLOW" table):
/// tag sets 1, 2, 3, 4, 5 from sender key ids 0*, 1*, 1, 2*, 2 and receiver ids 0*, 0, 1*, 1, 2*.
#[test]
fn ratchet_tag_set_ids_follow_the_spec_table() {
    let config = GarlicConfig {
        ratchet_threshold: 0,
        ..GarlicConfig::default()
    };
    let mut p = pair_with(config, 3);
    p.establish(T0);
    // tag set 0 comes from the handshake; no NextKey was involved
    assert_eq!(p.a.peers[&p.bpk].est.as_ref().unwrap().send.id(), 0);
    let mut seen = vec![0];
    let mut keys_sent = vec![(u16::MAX, false)];
    for i in 0..12 {
        // one message each way per round: A's forward key, then B's reverse key
        let m = p.a_to_b(i, T0);
        p.b.open(&m, T0).unwrap();
        let m = p.b_to_a(i, T0);
        let o = p.a.open(&m, T0).unwrap();
        assert_eq!(ids(&o), vec![i]);
        let est = p.a.peers[&p.bpk].est.as_ref().unwrap();
        if seen.last() != Some(&est.send.id()) {
            seen.push(est.send.id());
            let s = est.next_send.as_ref().unwrap();
            keys_sent.push((s.key_id, s.new_key));
        }
    }
    assert_eq!(&seen[..6], &[0, 1, 2, 3, 4, 5]);
    // a new key at ids 0, 1, 2 …, the old key again in between
    assert_eq!(
        &keys_sent[1..6],
        &[(0, true), (1, true), (1, false), (2, true), (2, false)]
    );
}

#[test]
fn forward_next_key_block_layout_matches_i2pd() {
    // the first forward key carries key id 0, a key and the request-reverse flag; the reply
    // is a reverse key with id 0 and a key
    let config = GarlicConfig {
        ratchet_threshold: 0,
        ..GarlicConfig::default()
    };
    let mut p = pair_with(config, 4);
    p.establish(T0);
    let _ = p.a_to_b(1, T0); // index 1 ≥ 0 starts the ratchet after this message
    let est = p.a.peers.get_mut(&p.bpk).unwrap().est.as_mut().unwrap();
    assert!(est.send_forward_key);
    let s = est.next_send.as_ref().unwrap();
    assert_eq!((s.key_id, s.new_key), (0, true));
    let m = p.a_to_b(2, T0);
    // decrypt by hand through Bob to inspect the blocks
    let tref = p.b.tags[&<[u8; 8]>::try_from(&m[..8]).unwrap()];
    let peer = p.b.peers.get_mut(&p.apk).unwrap();
    let rts = peer.est.as_mut().unwrap().recv.get_mut(&0).unwrap();
    let key = rts.key(tref.index).unwrap();
    let plain = aead::open(
        &key,
        &aead::noise_nonce(u64::from(tref.index)),
        &m[..8],
        &m[8..],
    )
    .unwrap();
    let blocks = parse_payload(&plain).unwrap();
    let nk = blocks
        .iter()
        .find_map(|b| match b {
            Block::NextKey(nk) => Some(*nk),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        nk.flags,
        next_key_flag::KEY_PRESENT | next_key_flag::REQUEST_REVERSE
    );
    assert_eq!(nk.key_id, 0);
    assert!(nk.key.is_some());
}

#[test]
fn tick_expires_handshakes_and_idle_sessions() {
    let mut p = pair();
    let _ns = p.a_to_b(1, T0);
    assert_eq!(p.a.inbound_tag_count(), 12); // NSR window of one NS
    p.a.tick(T0 + 179_000);
    assert_eq!(p.a.inbound_tag_count(), 12);
    p.a.tick(T0 + 181_000);
    assert_eq!(p.a.inbound_tag_count(), 0);
    let mut p = pair();
    p.establish(T0);
    assert!(p.a.is_established(&p.bpk));
    p.a.tick(T0 + 500_000);
    assert!(p.a.is_established(&p.bpk));
    p.a.tick(T0 + 601_000);
    assert!(!p.a.is_established(&p.bpk));
    assert_eq!(p.a.inbound_tag_count(), 0);
    assert_eq!(p.a.stats().sessions, 0);
}

#[test]
fn inactive_session_restarts_with_a_new_ns() {
    let mut p = pair();
    p.establish(T0);
    // nothing received for > 90 s on a session older than 120 s: i2pd restarts with an NS
    let later = T0 + 130_000;
    let m = p.a_to_b(5, later);
    let o = p.b.open(&m, later).unwrap();
    assert_eq!(o.kind, MessageKind::NewSession);
    let nsr = p.b_to_a(6, later);
    assert_eq!(
        p.a.open(&nsr, later).unwrap().kind,
        MessageKind::NewSessionReply
    );
    let es = p.a_to_b(7, later);
    assert_eq!(p.b.open(&es, later).unwrap().kind, MessageKind::Existing);
    let es = p.b_to_a(8, later);
    assert_eq!(ids(&p.a.open(&es, later).unwrap()), vec![8]);
}

#[test]
fn late_ns_does_not_put_an_established_responder_back_into_nsr_mode() {
    let mut p = pair();
    let ns_late = p.a_to_b(1, T0);
    let ns = p.a_to_b(2, T0 + 1);
    p.b.open(&ns, T0 + 2).unwrap();
    let nsr = p.b_to_a(3, T0 + 3);
    p.a.open(&nsr, T0 + 4).unwrap();
    let es = p.a_to_b(4, T0 + 5);
    p.b.open(&es, T0 + 6).unwrap();
    // the first NS was delayed in the network; its cloves still arrive
    let o = p.b.open(&ns_late, T0 + 7).unwrap();
    assert_eq!((o.kind, ids(&o)), (MessageKind::NewSession, vec![1]));
    let m = p.b_to_a(5, T0 + 8);
    let o = p.a.open(&m, T0 + 9).unwrap();
    assert_eq!((o.kind, ids(&o)), (MessageKind::Existing, vec![5]));
}

/// What the fuzz target does, on a few thousand random inputs: arbitrary Garlic data,
/// arbitrary payloads under a real ES tag and key, and valid tags with arbitrary bodies must
/// give errors or results, never panics, and must not break the session.
#[test]
fn arbitrary_inputs_do_not_panic_or_break_the_session() {
    use rand::{Rng, RngExt};
    let config = GarlicConfig {
        ratchet_threshold: 2,
        ..GarlicConfig::default()
    };
    let mut p = pair_with(config, 11);
    p.establish(T0);
    let mut r = StdRng::seed_from_u64(5);
    for i in 0..3000u32 {
        let len = r.random_range(0..300usize);
        let mut body = vec![0u8; len];
        r.fill_bytes(&mut body);
        // sprinkle plausible block headers so the parser gets deep
        if len > 3 && i % 2 == 0 {
            body[0] = [0u8, 4, 5, 6, 7, 8, 9, 11, 254][(i as usize / 2) % 9];
            body[1] = 0;
            body[2] = r.random_range(0..40);
        }
        let input = match i % 3 {
            0 => body,
            1 => p.a.seal_raw_es(&p.bpk, &body).unwrap(),
            _ => {
                let tags = p.b.inbound_tags();
                let tag = tags[r.random_range(0..tags.len())];
                [&tag[..], &body].concat()
            }
        };
        let _ = p.b.open(&input, T0 + u64::from(i));
        let _ = p.b.poll_transmit(T0 + u64::from(i) + 1_000, &mut p.rng);
        if p.b.is_established(&p.apk) && p.a.is_established(&p.bpk) {
            // the session still carries real traffic both ways
            let m = p.a_to_b(1, T0 + u64::from(i));
            assert_eq!(ids(&p.b.open(&m, T0 + u64::from(i)).unwrap()), vec![1]);
        } else {
            // a Termination block (or a forged ratchet) may end it; start again
            p = pair_with(
                GarlicConfig {
                    ratchet_threshold: 2,
                    ..GarlicConfig::default()
                },
                u64::from(i),
            );
            p.establish(T0 + u64::from(i));
        }
    }
}
