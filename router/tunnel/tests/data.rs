//! The tunnel data layer end to end: gateway packing, layer encryption by every hop, endpoint
//! reassembly (i2p_tunnel::data).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::vec_box
)]

use i2p_crypto::aes::Aes256;
use i2p_tunnel::data::{
    DeliveryInstructions, Endpoint, EndpointConfig, FragmentHeader, Gateway, GatewayError,
    LayerKeys, MAX_CONTENT_LEN, PAYLOAD_LEN, Payload, PayloadError, Received, decrypt_inbound,
    parse_payload, pre_decrypt_outbound,
};
use i2p_wire::i2np::checksum;
use i2p_wire::{Hash, I2npMessage, TunnelId};

/// An I2NP message in standard-header form with `body_len` payload bytes (experimental type
/// 0xe0, so any payload is valid) and message id `id`.
fn i2np(id: u32, body_len: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..body_len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(id) as u8)
        .collect();
    let mut m = vec![0xe0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&1_900_000_000_000u64.to_be_bytes());
    m.extend_from_slice(&(body_len as u16).to_be_bytes());
    m.push(checksum(&body));
    m.extend_from_slice(&body);
    m
}

/// A message of exactly `total` bytes including the header.
fn i2np_total(id: u32, total: usize) -> Vec<u8> {
    i2np(id, total - 16)
}

fn keys(n: usize, seed: u8) -> Vec<LayerKeys> {
    (0..n)
        .map(|i| {
            let b = seed.wrapping_add(i as u8);
            LayerKeys::new(&[b; 32], &[b ^ 0x5a; 32])
        })
        .collect()
}

fn gateway_payloads(items: &[(DeliveryInstructions, Vec<u8>)]) -> Vec<Box<Payload>> {
    let mut gw = Gateway::new();
    for (di, m) in items {
        gw.put(di, m).unwrap();
    }
    let out = gw.flush(&mut rand::rng());
    assert!(gw.is_empty());
    out
}

/// Our outbound tunnel: the gateway pre-decrypts, each hop (last = endpoint) adds its layer.
fn outbound(payloads: &mut [Box<Payload>], hops: &[LayerKeys]) {
    for p in payloads.iter_mut() {
        pre_decrypt_outbound(hops, p);
        for hop in hops {
            hop.encrypt_layer(p);
        }
    }
}

/// Our inbound tunnel: the inbound gateway and each participant add a layer, we strip all.
fn inbound(payloads: &mut [Box<Payload>], hops: &[LayerKeys]) {
    for p in payloads.iter_mut() {
        for hop in hops {
            hop.encrypt_layer(p);
        }
        decrypt_inbound(hops, p);
    }
}

fn receive_all(ep: &mut Endpoint, payloads: &[Box<Payload>], now: u64) -> Vec<Received> {
    payloads
        .iter()
        .flat_map(|p| ep.receive(p, now).unwrap())
        .collect()
}

fn local(m: Vec<u8>) -> (DeliveryInstructions, Vec<u8>) {
    (DeliveryInstructions::Local, m)
}

fn as_received(items: &[(DeliveryInstructions, Vec<u8>)]) -> Vec<Received> {
    items
        .iter()
        .map(|(instructions, message)| Received {
            instructions: *instructions,
            message: message.clone(),
        })
        .collect()
}

#[test]
fn layer_round_trip_and_double_iv() {
    let k = LayerKeys::new(&[7; 32], &[9; 32]);
    let mut p: Box<Payload> = Box::new(core::array::from_fn(|i| (i * 13 % 256) as u8));
    let original = p.clone();
    k.encrypt_layer(&mut p);
    assert_ne!(p, original);

    // the same computed directly from AES: IV' = E_iv(E_iv(IV)), data CBC under E_iv(IV)
    let iv_aes = Aes256::new(&[9; 32]);
    let layer_aes = Aes256::new(&[7; 32]);
    let mut iv: [u8; 16] = original[..16].try_into().unwrap();
    iv_aes.encrypt_block(&mut iv);
    let mut chain = iv;
    let mut data = original[16..].to_vec();
    layer_aes.cbc_encrypt(&mut chain, &mut data).unwrap();
    iv_aes.encrypt_block(&mut iv);
    assert_eq!(&p[..16], &iv);
    assert_eq!(&p[16..], &data[..]);

    k.decrypt_layer(&mut p);
    assert_eq!(p, original);
    assert_eq!(format!("{k:?}"), "LayerKeys([redacted])");
}

#[test]
fn outbound_pre_decryption_then_hops_give_plaintext() {
    let hops = keys(3, 1);
    let mut gw = Gateway::new();
    let msg = i2np(77, 300);
    gw.put(
        &DeliveryInstructions::Router(Hash::from_bytes([3; 32])),
        &msg,
    )
    .unwrap();
    let plain = gw.flush(&mut rand::rng());
    let mut p = plain.clone();
    outbound(&mut p, &hops);
    assert_eq!(
        p, plain,
        "the outbound endpoint sees the gateway's plaintext"
    );

    // hops in the wrong order do not cancel out
    let mut q = plain[0].clone();
    pre_decrypt_outbound(&hops, &mut q);
    for hop in hops.iter().rev() {
        hop.encrypt_layer(&mut q);
    }
    assert!(parse_payload(&q).is_err());
}

#[test]
fn small_messages_through_outbound_and_inbound_tunnels() {
    let hash = Hash::from_bytes([0xab; 32]);
    let items = vec![
        local(i2np(1, 10)),
        (DeliveryInstructions::Router(hash), i2np(2, 200)),
        (
            DeliveryInstructions::Tunnel(TunnelId(0xdead_beef), hash),
            i2np(3, 50),
        ),
    ];
    for hops in 1..=4 {
        let keys = keys(hops, hops as u8 * 10);
        let mut p = gateway_payloads(&items);
        assert_eq!(p.len(), 1, "three small messages share one payload");
        outbound(&mut p, &keys);
        let got = receive_all(&mut Endpoint::default(), &p, 0);
        assert_eq!(got, as_received(&items));

        let mut p = gateway_payloads(&items);
        inbound(&mut p, &keys);
        let got = receive_all(&mut Endpoint::default(), &p, 0);
        assert_eq!(got, as_received(&items));
    }
    // what comes out parses as the I2NP message that went in
    let got = receive_all(&mut Endpoint::default(), &gateway_payloads(&items), 0);
    let m = I2npMessage::parse(&got[1].message).unwrap();
    assert_eq!((m.msg_id(), m.type_id()), (2, 0xe0));
}

#[test]
fn message_exactly_filling_one_payload_and_one_byte_more() {
    // local: 3 header bytes + 1000 = 1003, the whole content room
    let exact = i2np_total(5, MAX_CONTENT_LEN - 3);
    let p = gateway_payloads(&[local(exact.clone())]);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0][20], 0,
        "no padding: the zero byte follows the checksum"
    );
    let frags = parse_payload(&p[0]).unwrap();
    assert_eq!(frags.len(), 1);
    assert_eq!(frags[0].data, &exact[..]);

    let more = i2np_total(6, MAX_CONTENT_LEN - 2);
    let p = gateway_payloads(&[local(more.clone())]);
    assert_eq!(p.len(), 2);
    let first = parse_payload(&p[0]).unwrap();
    assert_eq!(
        first[0].header,
        FragmentHeader::First {
            instructions: DeliveryInstructions::Local,
            message_id: Some(6),
            size: 996
        },
        "the fragmented first fragment fills its payload and carries the I2NP id"
    );
    let second = parse_payload(&p[1]).unwrap();
    assert_eq!(
        second[0].header,
        FragmentHeader::FollowOn {
            number: 1,
            last: true,
            message_id: 6,
            size: 5
        }
    );
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(got, as_received(&[local(more)]));
}

#[test]
fn full_last_follow_on_closes_its_payload() {
    // 996 in the first fragment + 996 in a follow-on that fills its payload exactly
    let m = i2np_total(8, 2 * 996);
    let next = i2np(9, 20);
    let p = gateway_payloads(&[local(m.clone()), local(next.clone())]);
    assert_eq!(p.len(), 3);
    assert_eq!(p[1][20], 0, "the follow-on fills its payload");
    assert_eq!(parse_payload(&p[2]).unwrap().len(), 1);
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(got, as_received(&[local(m), local(next)]));
}

#[test]
fn short_last_follow_on_shares_its_payload_with_the_next_message() {
    let m = i2np_total(10, 996 + 100);
    let next = i2np(11, 30);
    let p = gateway_payloads(&[local(m.clone()), local(next.clone())]);
    assert_eq!(p.len(), 2);
    let frags = parse_payload(&p[1]).unwrap();
    assert_eq!(frags.len(), 2);
    assert!(matches!(
        frags[0].header,
        FragmentHeader::FollowOn { last: true, .. }
    ));
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(got, as_received(&[local(m), local(next)]));
}

#[test]
fn packing_choice_follows_i2pd() {
    // 500 bytes leave 500 of room (1003 - 3 - 500)
    let a = i2np_total(20, 500);
    // 1490 bytes: i2pd's estimate says the tail packs, so the first fragment fills the room
    let b = i2np_total(21, 1490);
    let p = gateway_payloads(&[local(a.clone()), local(b.clone())]);
    let first = parse_payload(&p[0]).unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].header.size(), 500 - 7);
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(got, as_received(&[local(a.clone()), local(b)]));

    // 1495 bytes: the estimated tail (502) exceeds the room, so it starts a new payload
    let c = i2np_total(22, 1495);
    let p = gateway_payloads(&[local(a.clone()), local(c.clone())]);
    assert_eq!(parse_payload(&p[0]).unwrap().len(), 1);
    assert_eq!(
        parse_payload(&p[1]).unwrap()[0].header.size(),
        996,
        "starts at the top of a fresh payload"
    );
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(got, as_received(&[local(a.clone()), local(c)]));

    // a message that fits whole in the room is appended whatever its size
    let d = i2np_total(23, 497);
    let p = gateway_payloads(&[local(a), local(d)]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0][20], 0);
}

#[test]
fn sixty_kilobytes_through_three_hops() {
    let big = i2np_total(0x0102_0304, 60 * 1024);
    let hops = keys(3, 40);
    let mut p = gateway_payloads(&[local(big.clone())]);
    // 996 in the first fragment, then ceil(60444 / 996) = 61 follow-ons
    assert_eq!(p.len(), 62);
    inbound(&mut p, &hops);
    let mut ep = Endpoint::default();
    for (i, q) in p.iter().enumerate() {
        let got = ep.receive(q, i as u64).unwrap();
        if i + 1 < p.len() {
            assert!(got.is_empty());
            assert_eq!(ep.pending_messages(), 1);
        } else {
            assert_eq!(got, as_received(&[local(big.clone())]));
        }
    }
    assert_eq!((ep.pending_messages(), ep.pending_bytes()), (0, 0));
}

#[test]
fn follow_ons_out_of_order() {
    let m = i2np_total(30, 5000);
    let small = i2np(31, 40);
    let p = gateway_payloads(&[local(m.clone()), local(small.clone())]);
    assert_eq!(p.len(), 6);
    // reversed: the last follow-on (sharing its payload with `small`) first, first fragment last
    let mut ep = Endpoint::default();
    let mut got = Vec::new();
    for q in p.iter().rev() {
        got.extend(ep.receive(q, 0).unwrap());
    }
    assert_eq!(got, as_received(&[local(small.clone()), local(m.clone())]));

    // interleaved, with a duplicate
    let order = [2, 0, 4, 4, 1, 5, 3];
    let mut ep = Endpoint::default();
    let mut got = Vec::new();
    for i in order {
        got.extend(ep.receive(&p[i], 0).unwrap());
    }
    assert_eq!(got, as_received(&[local(small), local(m)]));
    assert_eq!(ep.pending_messages(), 0);
}

#[test]
fn flipped_bytes_fail_the_checksum() {
    let p = gateway_payloads(&[local(i2np(40, 100))]);
    for at in [0, 15, 17, PAYLOAD_LEN - 50, PAYLOAD_LEN - 1] {
        let mut q = p[0].clone();
        q[at] ^= 0x01;
        let mut ep = Endpoint::default();
        assert_eq!(
            ep.receive(&q, 0),
            Err(PayloadError::BadChecksum),
            "byte {at}"
        );
    }

    // a flip on the wire, before the hops' layers come off
    let hops = keys(2, 50);
    let mut q = p[0].clone();
    pre_decrypt_outbound(&hops, &mut q);
    q[600] ^= 0x80;
    for hop in &hops {
        hop.encrypt_layer(&mut q);
    }
    assert!(Endpoint::default().receive(&q, 0).is_err());
}

#[test]
fn incomplete_messages_time_out() {
    let config = EndpointConfig {
        timeout_ms: 1_000,
        ..EndpointConfig::default()
    };
    let m = i2np_total(60, 3000);
    let p = gateway_payloads(&[local(m.clone())]);
    assert_eq!(p.len(), 4);
    let mut ep = Endpoint::new(config);
    for q in &p[..3] {
        assert!(ep.receive(q, 5_000).unwrap().is_empty());
    }
    assert_eq!(ep.pending_messages(), 1);
    assert_eq!(ep.expire(6_000), 0, "exactly the timeout: still kept");
    assert_eq!(ep.expire(6_001), 1);
    assert_eq!((ep.pending_messages(), ep.pending_bytes()), (0, 0));
    // the late last fragment starts a new incomplete message and completes nothing
    assert!(ep.receive(&p[3], 6_002).unwrap().is_empty());
    assert_eq!(ep.pending_messages(), 1);

    // receive() expires on its own; a whole message still goes through
    let mut ep = Endpoint::new(config);
    ep.receive(&p[0], 0).unwrap();
    let other = gateway_payloads(&[local(i2np(61, 10))]);
    assert_eq!(ep.receive(&other[0], 2_000).unwrap().len(), 1);
    assert_eq!(ep.pending_messages(), 0);

    // a message whose fragments all come within the timeout completes
    let mut ep = Endpoint::new(config);
    let got: Vec<_> = p
        .iter()
        .enumerate()
        .flat_map(|(i, q)| ep.receive(q, 10_000 + i as u64 * 300).unwrap())
        .collect();
    assert_eq!(got, as_received(&[local(m)]));
}

#[test]
fn memory_limits_drop_the_oldest() {
    // first payloads of three fragmented messages, each holding 996 bytes
    let firsts: Vec<Box<Payload>> = (0..3u32)
        .map(|i| gateway_payloads(&[local(i2np_total(100 + i, 2000))]).remove(0))
        .collect();
    let mut ep = Endpoint::new(EndpointConfig {
        max_pending_messages: 2,
        ..EndpointConfig::default()
    });
    for (t, q) in firsts.iter().enumerate() {
        ep.receive(q, t as u64).unwrap();
    }
    assert_eq!((ep.pending_messages(), ep.pending_bytes()), (2, 2 * 996));

    let mut ep = Endpoint::new(EndpointConfig {
        max_pending_bytes: 2500,
        ..EndpointConfig::default()
    });
    for (t, q) in firsts.iter().enumerate() {
        ep.receive(q, t as u64).unwrap();
    }
    assert_eq!((ep.pending_messages(), ep.pending_bytes()), (2, 2 * 996));

    // a message larger than the byte limit is given up when it outgrows it
    let big = gateway_payloads(&[local(i2np_total(200, 5000))]);
    let mut ep = Endpoint::new(EndpointConfig {
        max_pending_bytes: 2500,
        ..EndpointConfig::default()
    });
    let got = receive_all(&mut ep, &big, 0);
    assert!(got.is_empty());
    assert!(ep.pending_bytes() <= 2500);
}

#[test]
fn gateway_rejects_what_it_cannot_carry() {
    let mut gw = Gateway::new();
    assert_eq!(
        gw.put(&DeliveryInstructions::Local, &[0; 15]),
        Err(GatewayError::NotI2np(15))
    );
    let mut bad = i2np(1, 10);
    bad.push(0);
    assert_eq!(
        gw.put(&DeliveryInstructions::Local, &bad),
        Err(GatewayError::SizeMismatch {
            header: 10,
            actual: 11
        })
    );
    assert!(gw.is_empty(), "a refused message leaves nothing behind");

    // local: 996 + 63 * 996; with tunnel instructions the first fragment is 36 bytes shorter
    let local_max = Gateway::max_message_len(&DeliveryInstructions::Local);
    assert_eq!(local_max, 64 * 996);
    let tunnel = DeliveryInstructions::Tunnel(TunnelId(1), Hash::from_bytes([1; 32]));
    assert_eq!(Gateway::max_message_len(&tunnel), local_max - 36);
    // a TUNNEL first fragment's header is 43 bytes, leaving 960 (the spec's "956" is an
    // estimate)
    assert_eq!(Gateway::max_message_len(&tunnel), 960 + 63 * 996);

    let too_big = i2np_total(2, local_max + 1);
    assert_eq!(
        gw.put(&DeliveryInstructions::Local, &too_big),
        Err(GatewayError::TooLarge {
            len: local_max + 1,
            max: local_max
        })
    );
    // the largest message still fits even behind a partly filled payload
    gw.put(&DeliveryInstructions::Local, &i2np(3, 100)).unwrap();
    let max = i2np_total(4, local_max);
    gw.put(&DeliveryInstructions::Local, &max).unwrap();
    let p = gw.flush(&mut rand::rng());
    assert_eq!(p.len(), 1 + 64);
    let got = receive_all(&mut Endpoint::default(), &p, 0);
    assert_eq!(
        got,
        as_received(&[local(i2np(3, 100)), local(max)]),
        "fragment numbers stay within 1..=63"
    );
}

/// A decrypted payload laid out by hand: IV, checksum over content and IV, padding of 0x01
/// bytes, the zero byte, the content at the end.
fn plain_payload(iv: &[u8; 16], content: &[u8]) -> Box<Payload> {
    let mut p = Vec::new();
    p.extend_from_slice(iv);
    let sum = i2p_crypto::sha256(&[content, &iv[..]].concat());
    p.extend_from_slice(&sum[..4]);
    p.resize(PAYLOAD_LEN - content.len() - 1, 0x01);
    p.push(0x00);
    p.extend_from_slice(content);
    Box::new(p.try_into().unwrap())
}

fn follow_on(number: u8, last: bool, id: u32, data: &[u8]) -> Vec<u8> {
    let mut c = vec![0x80 | number << 1 | u8::from(last)];
    c.extend_from_slice(&id.to_be_bytes());
    c.extend_from_slice(&(data.len() as u16).to_be_bytes());
    c.extend_from_slice(data);
    c
}

#[test]
fn contradicting_fragments_and_empty_first_fragments() {
    let iv = [1u8; 16];
    let m = i2np(0x99, 40); // 56 bytes
    // an empty fragmented first fragment (i2pd writes one when only its header fits)
    let first = plain_payload(&iv, &[0x08, 0, 0, 0, 0x99, 0, 0]);
    let one = plain_payload(&iv, &follow_on(1, false, 0x99, &m[..30]));
    let two_last = plain_payload(&iv, &follow_on(2, true, 0x99, &m[30..]));
    let mut ep = Endpoint::default();
    assert!(ep.receive(&two_last, 0).unwrap().is_empty());
    assert!(ep.receive(&first, 0).unwrap().is_empty());
    assert_eq!(
        ep.receive(&one, 0).unwrap(),
        as_received(&[local(m.clone())])
    );

    // a second "last" fragment with another number drops the message
    let mut ep = Endpoint::default();
    ep.receive(&first, 0).unwrap();
    ep.receive(&two_last, 0).unwrap();
    let one_last = plain_payload(&iv, &follow_on(1, true, 0x99, &m[..30]));
    assert!(ep.receive(&one_last, 0).unwrap().is_empty());
    assert_eq!((ep.pending_messages(), ep.pending_bytes()), (0, 0));

    // a fragment numbered past the last one drops it too
    let mut ep = Endpoint::default();
    ep.receive(&two_last, 0).unwrap();
    let three = plain_payload(&iv, &follow_on(3, false, 0x99, &[1, 2, 3]));
    assert!(ep.receive(&three, 0).unwrap().is_empty());
    assert_eq!(ep.pending_messages(), 0);

    // a follow-on numbered 0 is malformed: the payload is refused
    let zero = plain_payload(&iv, &follow_on(0, true, 0x99, &[1]));
    assert!(matches!(
        Endpoint::default().receive(&zero, 0),
        Err(PayloadError::Fragment { .. })
    ));
}

/// A decrypted payload written byte by byte from the tables in spec/tunnel-message.md, with the
/// header bit layout i2pd's TunnelEndpoint reads.
#[test]
fn hand_built_payloads_parse_as_the_spec_says() {
    let iv: [u8; 16] = core::array::from_fn(|i| 0xc0 + i as u8);
    let hash = [0x77u8; 32];
    let msg_a = i2np(0x11, 4);
    let msg_b = i2np(0x22, 2);
    let msg_c = i2np(0x0a0b_0c0d, 30);
    let (c_head, c_tail) = msg_c.split_at(20);

    let build = |content: &[u8]| plain_payload(&iv, content);

    let mut content = Vec::new();
    // local, unfragmented: flag 0x00, size
    content.push(0x00);
    content.extend_from_slice(&(msg_a.len() as u16).to_be_bytes());
    content.extend_from_slice(&msg_a);
    // router, unfragmented: flag 0x40 (type 2 << 5), to hash, size
    content.push(0x40);
    content.extend_from_slice(&hash);
    content.extend_from_slice(&(msg_b.len() as u16).to_be_bytes());
    content.extend_from_slice(&msg_b);
    // tunnel, fragmented: flag 0x28 (type 1 << 5 | 0x08), tunnel id, hash, message id, size
    content.push(0x28);
    content.extend_from_slice(&[0, 0, 0x30, 0x39]);
    content.extend_from_slice(&hash);
    content.extend_from_slice(&[0x0a, 0x0b, 0x0c, 0x0d]);
    content.extend_from_slice(&(c_head.len() as u16).to_be_bytes());
    content.extend_from_slice(c_head);
    let p1 = build(&content);

    // follow-on 1, last: 1 000001 1 = 0x83, message id, size
    let mut content = vec![0x83, 0x0a, 0x0b, 0x0c, 0x0d];
    content.extend_from_slice(&(c_tail.len() as u16).to_be_bytes());
    content.extend_from_slice(c_tail);
    let p2 = build(&content);

    let frags = parse_payload(&p2).unwrap();
    assert_eq!(
        frags[0].header,
        FragmentHeader::FollowOn {
            number: 1,
            last: true,
            message_id: 0x0a0b_0c0d,
            size: c_tail.len() as u16
        }
    );

    let mut ep = Endpoint::default();
    let mut got = ep.receive(&p1, 0).unwrap();
    got.extend(ep.receive(&p2, 0).unwrap());
    let hash = Hash::from_bytes(hash);
    assert_eq!(
        got,
        as_received(&[
            local(msg_a),
            (DeliveryInstructions::Router(hash), msg_b),
            (DeliveryInstructions::Tunnel(TunnelId(12345), hash), msg_c),
        ])
    );

    // the gateway writes the same bytes for the same messages (apart from IV and padding)
    let items = [
        local(i2np(0x11, 4)),
        (DeliveryInstructions::Router(hash), i2np(0x22, 2)),
    ];
    let ours = gateway_payloads(&items);
    let ab_len = (3 + 20) + (1 + 32 + 2 + 18);
    let c_len = 1 + 4 + 32 + 4 + 2 + 20;
    assert_eq!(ours[0][PAYLOAD_LEN - ab_len - 1], 0);
    assert_eq!(
        &ours[0][PAYLOAD_LEN - ab_len..],
        &p1[PAYLOAD_LEN - c_len - ab_len..PAYLOAD_LEN - c_len]
    );
}
