//! Short ECIES build records end to end: a creator, 1–8 hops, the replies; hand-made records
//! laid out byte by byte; tampering and malformed requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use i2p_crypto::aead::{decrypt_detached, encrypt_detached};
use i2p_crypto::{X25519Secret, hkdf, sha256_parts};
use i2p_tunnel::build::{
    BuildError, BuildReplyCode, HopPeer, HopRole, LayerEncryption, MAX_RECORDS, Record,
    RequestBuilder, ShortRequest, find_our_record, open_request,
};
use i2p_wire::{Hash, Mapping, TunnelId};
use rand::SeedableRng;
use rand::rngs::StdRng;

struct Router {
    secret: X25519Secret,
    hash: Hash,
}

impl Router {
    fn new(seed: u8) -> Router {
        let mut h = [seed; 32];
        h[31] = seed.wrapping_mul(3);
        Router {
            secret: X25519Secret::from_bytes([seed.wrapping_add(100); 32]),
            hash: Hash::from_bytes(h),
        }
    }

    fn peer(&self) -> HopPeer {
        HopPeer {
            router_hash: self.hash,
            static_key: self.secret.public(),
        }
    }
}

fn request(k: usize, role: HopRole, options: Mapping) -> ShortRequest {
    let k = k as u32;
    ShortRequest {
        receive_tunnel: TunnelId(1000 + k),
        next_tunnel: TunnelId(2000 + k),
        next_router: Hash::from_bytes([0xe0 + k as u8; 32]),
        role,
        layer_encryption: LayerEncryption::Aes,
        request_time_minutes: 28_123_456,
        expiration_secs: 600,
        next_msg_id: 0x5000 + k,
        options,
    }
}

/// Role of path position `k` of `n` for an outbound or inbound tunnel.
fn role(k: usize, n: usize, outbound: bool) -> HopRole {
    if outbound && k + 1 == n {
        HopRole::OutboundEndpoint
    } else if !outbound && k == 0 {
        HopRole::InboundGateway
    } else {
        HopRole::Participant
    }
}

fn code_for(k: usize) -> BuildReplyCode {
    match k % 3 {
        0 => BuildReplyCode::ACCEPT,
        1 => BuildReplyCode::BANDWIDTH,
        _ => BuildReplyCode::TRANSIENT_OVERLOAD,
    }
}

#[test]
fn round_trip_one_to_eight_hops_both_directions() {
    let mut rng = StdRng::seed_from_u64(0x1234);
    for n in 1..=MAX_RECORDS {
        for outbound in [true, false] {
            let routers: Vec<Router> = (0..n).map(|k| Router::new(k as u8 + 1)).collect();
            let mut builder = RequestBuilder::new();
            let mut requests = Vec::new();
            for (k, r) in routers.iter().enumerate() {
                let options = if k == 1 {
                    Mapping::from_pairs([("m", "100"), ("r", "200")]).unwrap()
                } else {
                    Mapping::empty()
                };
                let req = request(k, role(k, n, outbound), options);
                requests.push(req.clone());
                builder = builder.hop(r.peer(), req);
            }
            let (mut records, pending) = builder.build(&mut rng).unwrap();
            let want_records = if n <= 4 { 4 } else { 8 };
            assert_eq!(records.len(), want_records);
            assert_eq!(pending.record_count(), want_records);

            // distinct slots
            let mut slots: Vec<usize> = pending.hops().iter().map(|h| h.index()).collect();
            slots.sort_unstable();
            slots.dedup();
            assert_eq!(slots.len(), n);

            for (k, r) in routers.iter().enumerate() {
                let idx = find_our_record(&records, &r.hash).expect("our record");
                let creator = &pending.hops()[k];
                assert_eq!(idx, creator.index(), "n={n} hop {k}");
                let (req, state) = open_request(&records[idx], &r.secret, &r.hash).unwrap();
                assert_eq!(req, requests[k]);
                assert_eq!(state.role(), role(k, n, outbound));
                assert_eq!(creator.role(), state.role());
                assert_eq!(creator.router_hash(), &r.hash);
                let (a, b) = (state.keys(), creator.keys());
                assert_eq!(a.layer_key(), b.layer_key());
                assert_eq!(a.iv_key(), b.iv_key());
                assert_eq!(a.reply_key(), b.reply_key());
                match (a.garlic_reply(), b.garlic_reply()) {
                    (Some(x), Some(y)) => {
                        assert_eq!((x.key(), x.tag()), (y.key(), y.tag()));
                        assert_eq!(state.role(), HopRole::OutboundEndpoint);
                    }
                    (None, None) => assert_ne!(state.role(), HopRole::OutboundEndpoint),
                    _ => panic!("garlic reply key on one side only"),
                }
                let options = if k == 2 {
                    Mapping::from_pairs([("b", "150")]).unwrap()
                } else {
                    Mapping::empty()
                };
                state
                    .answer(&mut records, idx, code_for(k), &options)
                    .unwrap();
            }

            let replies = pending.read_replies(&records).unwrap();
            assert_eq!(replies.len(), n);
            for (k, reply) in replies.iter().enumerate() {
                assert_eq!(reply.code, code_for(k), "n={n} outbound={outbound} hop {k}");
                assert_eq!(reply.options.get_str("b").is_some(), k == 2);
            }

            // a changed reply byte is caught, and names the hop
            let victim = n / 2;
            let slot = pending.hops()[victim].index();
            records[slot][100] ^= 0x20;
            match pending.read_replies(&records).unwrap_err() {
                BuildError::ReplyAead { hop, index } => {
                    assert_eq!(index, slot);
                    // the walk goes last to first, so the victim is the first failure
                    assert_eq!(hop, victim);
                }
                e => panic!("unexpected {e}"),
            }
        }
    }
}

#[test]
fn slots_are_shuffled() {
    let mut rng = StdRng::seed_from_u64(7);
    let routers: Vec<Router> = (0..3).map(|k| Router::new(k + 40)).collect();
    let mut first_slots = [0usize; 4];
    for _ in 0..64 {
        let mut b = RequestBuilder::new();
        for (k, r) in routers.iter().enumerate() {
            b = b.hop(r.peer(), request(k, HopRole::Participant, Mapping::empty()));
        }
        let (_, pending) = b.build(&mut rng).unwrap();
        first_slots[pending.hops()[0].index()] += 1;
    }
    assert!(first_slots.iter().all(|&c| c > 0), "{first_slots:?}");
}

#[test]
fn not_ours_and_tampering() {
    let mut rng = StdRng::seed_from_u64(99);
    let a = Router::new(1);
    let b = Router::new(2);
    let (records, pending) = RequestBuilder::new()
        .hop(a.peer(), request(0, HopRole::Participant, Mapping::empty()))
        .build(&mut rng)
        .unwrap();
    let idx = pending.hops()[0].index();
    assert_eq!(find_our_record(&records, &b.hash), None);
    assert_eq!(
        open_request(&records[idx], &b.secret, &b.hash).unwrap_err(),
        BuildError::NotForUs
    );
    // right prefix, wrong key: the record was sealed to a
    let mut forged = records[idx];
    forged[..16].copy_from_slice(&b.hash.as_bytes()[..16]);
    assert_eq!(
        open_request(&forged, &b.secret, &b.hash).unwrap_err(),
        BuildError::RequestAead
    );
    // any changed byte after the prefix fails authentication
    for at in [16, 47, 48, 120, 201, 202, 217] {
        let mut bad = records[idx];
        bad[at] ^= 1;
        assert_eq!(
            open_request(&bad, &a.secret, &a.hash).unwrap_err(),
            BuildError::RequestAead,
            "byte {at}"
        );
    }
    assert!(open_request(&records[idx], &a.secret, &a.hash).is_ok());
}

#[test]
fn builder_refuses_bad_shapes() {
    let mut rng = StdRng::seed_from_u64(5);
    let r = Router::new(9);
    let hop = |k, role| (r.peer(), request(k, role, Mapping::empty()));
    assert!(matches!(
        RequestBuilder::new().build(&mut rng),
        Err(BuildError::HopCount { hops: 0, .. })
    ));
    let mut nine = RequestBuilder::new();
    for k in 0..9 {
        let (p, q) = hop(k, HopRole::Participant);
        nine = nine.hop(p, q);
    }
    assert!(matches!(
        nine.build(&mut rng),
        Err(BuildError::HopCount { hops: 9, .. })
    ));
    let (p, q) = hop(0, HopRole::Participant);
    let (p2, q2) = hop(1, HopRole::Participant);
    assert!(matches!(
        RequestBuilder::new()
            .hop(p, q.clone())
            .hop(p2, q2.clone())
            .record_count(1)
            .build(&mut rng),
        Err(BuildError::HopCount {
            hops: 2,
            records: 1
        })
    ));
    let (ok, _) = RequestBuilder::new()
        .hop(p, q.clone())
        .hop(p2, q2)
        .record_count(2)
        .build(&mut rng)
        .unwrap();
    assert_eq!(ok.len(), 2);
    let (p1, gw) = hop(1, HopRole::InboundGateway);
    assert_eq!(
        RequestBuilder::new()
            .hop(p, q.clone())
            .hop(p1, gw)
            .build(&mut rng)
            .unwrap_err(),
        BuildError::MisplacedRole {
            hop: 1,
            role: HopRole::InboundGateway
        }
    );
    let (p0, ep) = hop(0, HopRole::OutboundEndpoint);
    assert!(matches!(
        RequestBuilder::new()
            .hop(p0, ep)
            .hop(p, q.clone())
            .build(&mut rng),
        Err(BuildError::MisplacedRole { hop: 0, .. })
    ));
    // options larger than the 98 bytes left in the cleartext
    let long = "x".repeat(60);
    let mut big = q.clone();
    big.options = Mapping::from_pairs([("a", long.as_str()), ("b", long.as_str())]).unwrap();
    assert!(matches!(
        RequestBuilder::new().hop(p, big).build(&mut rng),
        Err(BuildError::OptionsTooLong { max: 98, .. })
    ));
}

#[test]
fn reply_index_and_record_count_checks() {
    let mut rng = StdRng::seed_from_u64(11);
    let r = Router::new(3);
    let (mut records, pending) = RequestBuilder::new()
        .hop(r.peer(), request(0, HopRole::Participant, Mapping::empty()))
        .build(&mut rng)
        .unwrap();
    let idx = pending.hops()[0].index();
    let (_, state) = open_request(&records[idx], &r.secret, &r.hash).unwrap();
    assert!(matches!(
        state.answer(&mut records, 4, BuildReplyCode::ACCEPT, &Mapping::empty()),
        Err(BuildError::BadIndex { index: 4, count: 4 })
    ));
    assert!(matches!(
        state.reply(8, BuildReplyCode::ACCEPT, &Mapping::empty()),
        Err(BuildError::BadIndex { index: 8, .. })
    ));
    assert!(matches!(
        pending.read_replies(&records[..3]),
        Err(BuildError::RecordCount {
            got: 3,
            expected: 4
        })
    ));
    // reply() + encrypt_other_records() is the same as answer()
    let mut a = records.clone();
    let mut b = records.clone();
    state
        .answer(&mut a, idx, BuildReplyCode::BANDWIDTH, &Mapping::empty())
        .unwrap();
    state.encrypt_other_records(&mut b, idx).unwrap();
    b[idx] = state
        .reply(idx, BuildReplyCode::BANDWIDTH, &Mapping::empty())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        pending.read_replies(&a).unwrap()[0].code,
        BuildReplyCode::BANDWIDTH
    );
}

// ---- records laid out by hand, following the spec's tables and i2pd's steps ----

const NAME: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";

/// The Noise N seal written out with raw primitives (i2pd `ECIESTunnelHopConfig::EncryptECIES`):
/// returns the record, the final chaining key and handshake hash.
fn seal_by_hand(
    clear: &[u8; 154],
    hop: &Router,
    ephemeral: &X25519Secret,
) -> (Record, [u8; 32], [u8; 32]) {
    let mut h = [0u8; 32];
    h[..31].copy_from_slice(NAME);
    let ck = h;
    let h = sha256_parts(&[&h]); // empty prologue
    let h = sha256_parts(&[&h, hop.secret.public().as_bytes()]);
    let epk = ephemeral.public();
    let h = sha256_parts(&[&h, epk.as_bytes()]);
    let shared = ephemeral.dh(&hop.secret.public()).unwrap();
    let mut okm = [0u8; 64];
    hkdf(&ck, &*shared, b"", &mut okm);
    let ck: [u8; 32] = okm[..32].try_into().unwrap();
    let k: [u8; 32] = okm[32..].try_into().unwrap();
    let mut ct = *clear;
    let tag = encrypt_detached(&k, &[0; 12], &h, &mut ct);
    let h = sha256_parts(&[&h, &ct, &tag]);
    let mut record = [0u8; 218];
    record[0..16].copy_from_slice(&hop.hash.as_bytes()[..16]);
    record[16..48].copy_from_slice(epk.as_bytes());
    record[48..202].copy_from_slice(&ct);
    record[202..218].copy_from_slice(&tag);
    (record, ck, h)
}

fn hkdf_step(ck: &[u8; 32], label: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    hkdf(ck, &[], label, &mut okm);
    (okm[..32].try_into().unwrap(), okm[32..].try_into().unwrap())
}

/// A request cleartext exactly as i2pd's `ShortECIESTunnelHopConfig::CreateBuildRequestRecord`
/// writes it: fields at the spec's offsets, zeros from offset 56 (an empty Mapping, then zero
/// padding).
fn i2pd_cleartext(flags: u8) -> [u8; 154] {
    let mut c = [0u8; 154];
    c[0..4].copy_from_slice(&0x0102_0304u32.to_be_bytes()); // receive tunnel
    c[4..8].copy_from_slice(&0xa0b0_c0d0u32.to_be_bytes()); // next tunnel
    c[8..40].copy_from_slice(&[0x77; 32]); // next ident
    c[40] = flags;
    c[41] = 0; // more flags
    c[42] = 0;
    c[43] = 0; // layer encryption: AES
    c[44..48].copy_from_slice(&28_000_001u32.to_be_bytes()); // minutes since epoch
    c[48..52].copy_from_slice(&600u32.to_be_bytes());
    c[52..56].copy_from_slice(&0xfeed_f00du32.to_be_bytes()); // send msg id
    c
}

#[test]
fn hand_laid_i2pd_record_opens_with_expected_fields_and_keys() {
    let hop = Router::new(0x33);
    let eph = X25519Secret::from_bytes([0x44; 32]);
    for (flags, role) in [
        (0x00, HopRole::Participant),
        (0x80, HopRole::InboundGateway),
        (0x40, HopRole::OutboundEndpoint),
    ] {
        let (record, ck, h) = seal_by_hand(&i2pd_cleartext(flags), &hop, &eph);
        let (req, state) = open_request(&record, &hop.secret, &hop.hash).unwrap();
        assert_eq!(req.receive_tunnel, TunnelId(0x0102_0304));
        assert_eq!(req.next_tunnel, TunnelId(0xa0b0_c0d0));
        assert_eq!(req.next_router, Hash::from_bytes([0x77; 32]));
        assert_eq!(req.role, role);
        assert_eq!(req.layer_encryption, LayerEncryption::Aes);
        assert_eq!(req.request_time_minutes, 28_000_001);
        assert_eq!(req.expiration_secs, 600);
        assert_eq!(req.next_msg_id, 0xfeed_f00d);
        assert!(req.options.is_empty());
        // our own encoder writes the same bytes i2pd does
        assert_eq!(req.to_cleartext().unwrap(), i2pd_cleartext(flags));

        // key schedule by hand (i2pd HandleShortTunnelBuildMsg)
        let (ck1, reply_key) = hkdf_step(&ck, b"SMTunnelReplyKey");
        let (ck2, layer_key) = hkdf_step(&ck1, b"SMTunnelLayerKey");
        let keys = state.keys();
        assert_eq!(keys.reply_key(), &reply_key);
        assert_eq!(keys.layer_key(), &layer_key);
        if role == HopRole::OutboundEndpoint {
            let (ck3, iv_key) = hkdf_step(&ck2, b"TunnelLayerIVKey");
            let (ck4, garlic) = hkdf_step(&ck3, b"RGarlicKeyAndTag");
            assert_eq!(keys.iv_key(), &iv_key);
            let g = keys.garlic_reply().unwrap();
            assert_eq!(g.key(), &garlic);
            assert_eq!(g.tag(), &ck4[..8]);
        } else {
            assert_eq!(keys.iv_key(), &ck2);
            assert!(keys.garlic_reply().is_none());
        }

        // our reply in slot 2, opened the way i2pd's DecryptBuildResponseRecord does
        let reply = state
            .reply(2, BuildReplyCode::BANDWIDTH, &Mapping::empty())
            .unwrap();
        let mut body: [u8; 202] = reply[..202].try_into().unwrap();
        let tag: [u8; 16] = reply[202..].try_into().unwrap();
        let mut nonce = [0u8; 12];
        nonce[4] = 2;
        decrypt_detached(&reply_key, &nonce, &h, &mut body, &tag).unwrap();
        assert_eq!(&body[..2], &[0, 0], "empty options");
        assert_eq!(body[201], 30, "status byte at 201");
    }
}

#[test]
fn hand_laid_record_with_options_parses_them() {
    let hop = Router::new(0x35);
    let eph = X25519Secret::from_bytes([0x46; 32]);
    let mut c = i2pd_cleartext(0);
    // "m=100;" as a Mapping: size 8 = len 1, 'm', '=', len 3, "100", ';'
    c[56..66].copy_from_slice(&[0, 8, 1, b'm', b'=', 3, b'1', b'0', b'0', b';']);
    c[66..].fill(0xcc); // padding content is ignored
    let (record, _, _) = seal_by_hand(&c, &hop, &eph);
    let (req, _) = open_request(&record, &hop.secret, &hop.hash).unwrap();
    assert_eq!(req.options.get_str("m"), Some("100"));
    assert_eq!(req.options.len(), 1);
}

#[test]
fn malformed_cleartexts_name_the_problem() {
    let hop = Router::new(0x36);
    let eph = X25519Secret::from_bytes([0x47; 32]);
    let open = |c: [u8; 154]| {
        let (record, _, _) = seal_by_hand(&c, &hop, &eph);
        open_request(&record, &hop.secret, &hop.hash).unwrap_err()
    };
    let mut c = i2pd_cleartext(0);
    c[43] = 1;
    assert_eq!(open(c), BuildError::UnknownLayerEncryption(1));
    let c = i2pd_cleartext(0xc0);
    assert_eq!(open(c), BuildError::ConflictingRoles(0xc0));
    let mut c = i2pd_cleartext(0);
    c[56..58].copy_from_slice(&200u16.to_be_bytes()); // mapping longer than the record
    assert!(matches!(
        open(c),
        BuildError::Malformed {
            field: "options",
            offset: 56,
            ..
        }
    ));
    let mut c = i2pd_cleartext(0);
    c[0..4].fill(0);
    assert!(matches!(
        open(c),
        BuildError::Malformed {
            field: "receive tunnel id",
            offset: 0,
            ..
        }
    ));
    let mut c = i2pd_cleartext(0);
    c[4..8].fill(0);
    assert!(matches!(open(c), BuildError::Malformed { offset: 4, .. }));
}

#[test]
fn low_order_ephemeral_is_refused() {
    let hop = Router::new(0x37);
    let mut record = [0u8; 218];
    record[..16].copy_from_slice(&hop.hash.as_bytes()[..16]);
    // ephemeral key 0 (a low-order point)
    assert_eq!(
        open_request(&record, &hop.secret, &hop.hash).unwrap_err(),
        BuildError::LowOrderKey
    );
}
