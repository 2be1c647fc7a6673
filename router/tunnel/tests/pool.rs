//! The tunnel pool against a small in-memory network of hops that do what i2pd's transit code
//! does (open their record, answer, forward; the outbound endpoint garlic-wraps the
//! OutboundTunnelBuildReply for the creator's reply tunnel; layers, gateway fragmentation and
//! endpoint reassembly as `i2p_tunnel::data`). The creator side under test is only
//! `TunnelPool`; the driver routes its messages the way the router's dispatcher does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};

use i2p_crypto::X25519Secret;
use i2p_netdb::router_garlic::{Delivery, open_reply, seal_reply};
use i2p_tunnel::build::{BuildReplyCode, HopPeer, HopRole, Record, find_our_record, open_request};
use i2p_tunnel::data::{DeliveryInstructions, Endpoint, EndpointConfig, Gateway, LayerKeys};
use i2p_tunnel::pool::{Candidate, Out, PoolConfig, PoolShape, TunnelPool};
use i2p_wire::i2np::simple::{Data, DeliveryStatus};
use i2p_wire::i2np::tunnel::{ShortBuildRecords, TunnelData, TunnelGateway};
use i2p_wire::{Date, Encode, Hash, I2npBody, I2npMessage, Mapping, TunnelId};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Accept,
    Decline,
    Silent,
}

struct HopTunnel {
    role: HopRole,
    next_router: Hash,
    next_tunnel: TunnelId,
    layer: LayerKeys,
    endpoint: Option<Endpoint>,
}

struct Hop {
    secret: X25519Secret,
    behaviour: Behaviour,
    tunnels: HashMap<TunnelId, HopTunnel>,
}

struct Net {
    us: Hash,
    hops: HashMap<Hash, Hop>,
    queue: VecDeque<(Hash, I2npMessage)>,
    /// messages a hop received that it had no use for (e.g. delivered by an endpoint)
    received: Vec<(Hash, I2npMessage)>,
    rng: StdRng,
}

const T0: u64 = 1_800_000_000_000;

fn hash(seed: u8) -> Hash {
    let mut h = [seed; 32];
    h[0] = 0xa0;
    Hash::from_bytes(h)
}

fn msg(body: I2npBody) -> I2npMessage {
    I2npMessage::new(rand::random(), Date::from_millis(T0 + 3_600_000), body).unwrap()
}

impl Net {
    fn new(hops: usize, behaviour: Behaviour) -> Net {
        let mut rng = StdRng::seed_from_u64(7);
        let hops = (1..=hops)
            .map(|i| {
                (
                    hash(i as u8),
                    Hop {
                        secret: X25519Secret::generate(&mut rng),
                        behaviour,
                        tunnels: HashMap::new(),
                    },
                )
            })
            .collect();
        Net {
            us: hash(0),
            hops,
            queue: VecDeque::new(),
            received: Vec::new(),
            rng,
        }
    }

    fn candidates(&self, subnet: Option<[u8; 2]>) -> Vec<Candidate> {
        let mut c: Vec<Candidate> = self
            .hops
            .iter()
            .map(|(h, hop)| Candidate {
                peer: HopPeer {
                    router_hash: *h,
                    static_key: hop.secret.public(),
                },
                subnet,
            })
            .collect();
        c.sort_by_key(|c| c.peer.router_hash.to_bytes());
        c
    }

    fn send(&mut self, out: Vec<Out>) {
        self.queue
            .extend(out.into_iter().map(|o| (o.to, o.message)));
    }

    /// Deliver everything queued, including what the deliveries cause.
    fn run(&mut self, pool: &mut TunnelPool, now_ms: u64) {
        let mut steps = 0;
        while let Some((to, m)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "message loop");
            if to == self.us {
                self.deliver_to_us(pool, m, now_ms, 0);
            } else {
                self.deliver_to_hop(to, m);
            }
        }
    }

    /// What the router's dispatcher does with a message for us.
    fn deliver_to_us(&mut self, pool: &mut TunnelPool, m: I2npMessage, now_ms: u64, depth: u8) {
        let id = m.msg_id();
        match m.into_body() {
            I2npBody::ShortTunnelBuild(r) | I2npBody::OutboundTunnelBuildReply(r)
                if pool.expects_build_reply(id) =>
            {
                pool.on_build_reply(id, r.records(), now_ms);
            }
            I2npBody::TunnelData(d) if depth == 0 => {
                assert!(
                    pool.owns_inbound(d.tunnel_id),
                    "TunnelData for no tunnel of ours"
                );
                for inner in pool.on_tunnel_data(&d, now_ms) {
                    self.deliver_to_us(pool, inner, now_ms, depth + 1);
                }
            }
            I2npBody::TunnelGateway(g) if depth == 0 => {
                let inner = pool
                    .on_tunnel_gateway(&g)
                    .expect("a zero-hop tunnel of ours");
                self.deliver_to_us(pool, inner, now_ms, depth + 1);
            }
            I2npBody::DeliveryStatus(s) => {
                assert!(pool.on_delivery_status(s.msg_id, now_ms), "unknown test");
            }
            I2npBody::Garlic(g) => {
                let tag = *g.data().first_chunk::<8>().unwrap();
                let key = pool.garlic_reply_key(&tag).expect("a build reply tag");
                for c in open_reply(&g, &key, &tag).unwrap() {
                    assert_eq!(c.delivery, Delivery::Local);
                    self.deliver_to_us(pool, c.message, now_ms, depth + 1);
                }
            }
            other => panic!("unexpected message for us: type {}", other.type_id()),
        }
    }

    /// What an i2pd transit hop does.
    fn deliver_to_hop(&mut self, to: Hash, m: I2npMessage) {
        let us = to;
        let hop = self.hops.get_mut(&to).expect("a known hop");
        if hop.behaviour == Behaviour::Silent {
            return;
        }
        let mid = m.msg_id();
        match m.into_body() {
            I2npBody::ShortTunnelBuild(r) => {
                let mut records: Vec<Record> = r.into_records();
                let idx = find_our_record(&records, &us).expect("our record");
                let (req, st) = open_request(&records[idx], &hop.secret, &us).unwrap();
                let code = match hop.behaviour {
                    Behaviour::Decline => BuildReplyCode::BANDWIDTH,
                    _ => BuildReplyCode::ACCEPT,
                };
                st.answer(&mut records, idx, code, &Mapping::default())
                    .unwrap();
                if code.is_accept() {
                    hop.tunnels.insert(
                        req.receive_tunnel,
                        HopTunnel {
                            role: req.role,
                            next_router: req.next_router,
                            next_tunnel: req.next_tunnel,
                            layer: LayerKeys::new(st.keys().layer_key(), st.keys().iv_key()),
                            endpoint: (req.role == HopRole::OutboundEndpoint)
                                .then(|| Endpoint::new(EndpointConfig::default())),
                        },
                    );
                }
                let records = ShortBuildRecords::new(records).unwrap();
                if req.role == HopRole::OutboundEndpoint {
                    let reply = I2npMessage::new(
                        req.next_msg_id,
                        Date::from_millis(T0 + 3_600_000),
                        I2npBody::OutboundTunnelBuildReply(records),
                    )
                    .unwrap();
                    let g = st.keys().garlic_reply().expect("endpoint garlic key");
                    let garlic = msg(I2npBody::Garlic(
                        seal_reply(&reply, g.key(), g.tag(), 3).unwrap(),
                    ));
                    let tg = TunnelGateway::new(req.next_tunnel, &garlic).unwrap();
                    self.queue
                        .push_back((req.next_router, msg(I2npBody::TunnelGateway(tg))));
                } else {
                    let fwd = I2npMessage::new(
                        req.next_msg_id,
                        Date::from_millis(T0 + 3_600_000),
                        I2npBody::ShortTunnelBuild(records),
                    )
                    .unwrap();
                    self.queue.push_back((req.next_router, fwd));
                }
            }
            I2npBody::TunnelData(d) => {
                let t = hop
                    .tunnels
                    .get_mut(&d.tunnel_id)
                    .expect("a tunnel of the hop");
                let mut payload = *d.data;
                t.layer.encrypt_layer(&mut payload);
                if let Some(ep) = t.endpoint.as_mut() {
                    for r in ep.receive(&payload, T0).unwrap() {
                        let inner = I2npMessage::parse(&r.message).unwrap();
                        match r.instructions {
                            DeliveryInstructions::Tunnel(id, h) => {
                                let tg = TunnelGateway::new(id, &inner).unwrap();
                                self.queue.push_back((h, msg(I2npBody::TunnelGateway(tg))));
                            }
                            DeliveryInstructions::Router(h) => self.queue.push_back((h, inner)),
                            DeliveryInstructions::Local => self.received.push((us, inner)),
                        }
                    }
                } else {
                    let next = (t.next_router, t.next_tunnel);
                    self.queue.push_back((
                        next.0,
                        msg(I2npBody::TunnelData(TunnelData {
                            tunnel_id: next.1,
                            data: Box::new(payload),
                        })),
                    ));
                }
            }
            I2npBody::TunnelGateway(g) => {
                let t = hop
                    .tunnels
                    .get(&g.tunnel_id())
                    .expect("a gateway of the hop");
                assert_eq!(t.role, HopRole::InboundGateway);
                let mut gw = Gateway::new();
                gw.put(&DeliveryInstructions::Local, g.message_bytes())
                    .unwrap();
                for mut p in gw.flush(&mut self.rng) {
                    t.layer.encrypt_layer(&mut p);
                    self.queue.push_back((
                        t.next_router,
                        msg(I2npBody::TunnelData(TunnelData {
                            tunnel_id: t.next_tunnel,
                            data: p,
                        })),
                    ));
                }
            }
            other => {
                let m = I2npMessage::new(mid, Date::from_millis(T0 + 3_600_000), other).unwrap();
                self.received.push((us, m));
            }
        }
    }
}

fn config() -> PoolConfig {
    PoolConfig {
        distinct_subnets: false,
        ..PoolConfig::exploratory()
    }
}

fn tick(pool: &mut TunnelPool, net: &mut Net, now_ms: u64, rng: &mut StdRng) {
    let c = net.candidates(Some([198, 18]));
    let out = pool.tick(now_ms, &c, rng);
    net.send(out);
    net.run(pool, now_ms);
}

#[test]
fn builds_both_directions_then_tests_pass() {
    let mut net = Net::new(6, Behaviour::Accept);
    let mut pool = TunnelPool::new("test", net.us, config());
    let mut rng = StdRng::seed_from_u64(1);
    tick(&mut pool, &mut net, T0, &mut rng);
    assert_eq!(pool.live(T0), (3, 3));
    let s = *pool.stats();
    assert_eq!((s.built_inbound, s.built_outbound), (3, 3));
    assert_eq!(pool.pending_builds(), 0);
    // the first tests went out in the first tick, before any tunnel existed; the next round
    let later = T0 + config().test_interval_ms;
    tick(&mut pool, &mut net, later, &mut rng);
    assert_eq!(pool.stats().tests_passed, 3, "one test per outbound tunnel");
    assert_eq!(pool.stats().tests_failed, 0);
    assert_eq!(pool.stats().success_rate(), (6, 1.0));
}

#[test]
fn keeps_its_quantity_across_rotations() {
    let mut net = Net::new(8, Behaviour::Accept);
    let cfg = config();
    let mut pool = TunnelPool::new("test", net.us, cfg);
    let mut rng = StdRng::seed_from_u64(2);
    let step = 5_000;
    let mut now = T0;
    tick(&mut pool, &mut net, now, &mut rng);
    // three lifetimes in 5 s steps: never fewer than the quantity
    while now < T0 + 3 * cfg.lifetime_ms {
        now += step;
        tick(&mut pool, &mut net, now, &mut rng);
        let (i, o) = pool.live(now);
        assert!(
            i >= 3 && o >= 3,
            "{i} in / {o} out at +{} s",
            (now - T0) / 1000
        );
    }
    let s = *pool.stats();
    // replacements were built through existing tunnels: the inbound build message through an
    // outbound tunnel, the outbound build's reply back through an inbound tunnel's garlic
    assert!(s.built_inbound >= 9 && s.built_outbound >= 9, "{s:?}");
    assert!(s.expired >= 12, "{s:?}");
    assert!(s.tests_passed > 50 && s.tests_failed == 0, "{s:?}");
}

#[test]
fn declined_and_silent_builds_fail_and_count() {
    let mut net = Net::new(4, Behaviour::Decline);
    let mut pool = TunnelPool::new("test", net.us, config());
    let mut rng = StdRng::seed_from_u64(3);
    tick(&mut pool, &mut net, T0, &mut rng);
    assert_eq!(pool.live(T0), (0, 0));
    assert_eq!(pool.stats().builds_declined, 6);
    assert!(pool.profiles().values().any(|p| p.declined > 0));

    let mut net = Net::new(4, Behaviour::Silent);
    let cfg = config();
    let mut pool = TunnelPool::new("test", net.us, cfg);
    tick(&mut pool, &mut net, T0, &mut rng);
    assert_eq!(pool.pending_builds(), 6);
    tick(&mut pool, &mut net, T0 + cfg.build_timeout_ms, &mut rng);
    assert_eq!(pool.stats().builds_timed_out, 6);
    // and new builds replace them at once
    assert_eq!(pool.pending_builds(), 6);
    assert_eq!(pool.stats().success_rate(), (6, 0.0));
}

#[test]
fn distinct_subnets_refuses_a_shared_slash_16() {
    let mut net = Net::new(6, Behaviour::Accept);
    let mut pool = TunnelPool::new("test", net.us, PoolConfig::exploratory());
    let mut rng = StdRng::seed_from_u64(4);
    let out = pool.tick(T0, &net.candidates(Some([198, 18])), &mut rng);
    assert!(out.is_empty());
    assert!(pool.stats().builds_no_peers > 0);
    // without a known address the rule cannot apply
    let out = pool.tick(T0, &net.candidates(None), &mut rng);
    assert!(!out.is_empty());
    net.send(out);
    net.run(&mut pool, T0);
    assert_eq!(pool.live(T0), (3, 3));
}

#[test]
fn outbound_tunnel_delivers_to_a_router_and_zero_hop_pools_work() {
    let mut net = Net::new(5, Behaviour::Accept);
    let mut pool = TunnelPool::new("test", net.us, config());
    let mut rng = StdRng::seed_from_u64(5);
    tick(&mut pool, &mut net, T0, &mut rng);
    let target = hash(5);
    // a message bigger than one TunnelData, so it is fragmented and reassembled
    let big = msg(I2npBody::Data(
        Data::new((0..2900u32).map(|i| i as u8).collect()).unwrap(),
    ));
    let out = pool
        .send_outbound(&big, DeliveryInstructions::Router(target), T0, &mut rng)
        .unwrap();
    assert_eq!(
        out.len(),
        3,
        "2920 bytes (964 in the first fragment, 996 in each follow-on) take three TunnelData messages"
    );
    assert!(out.iter().all(|o| o.message.type_id() == 18));
    net.send(out);
    net.run(&mut pool, T0);
    assert!(
        net.received
            .iter()
            .any(|(h, r)| *h == target && r.to_bytes() == big.to_bytes()),
        "the endpoint delivered the message to the router"
    );
    let m = msg(I2npBody::DeliveryStatus(DeliveryStatus {
        msg_id: 77,
        timestamp: Date::from_millis(T0),
    }));

    // length 0 both ways: no builds, messages go straight out and come straight in
    let zero = PoolConfig {
        inbound: PoolShape {
            length: 0,
            quantity: 1,
            variance: 0,
        },
        outbound: PoolShape {
            length: 0,
            quantity: 1,
            variance: 0,
        },
        ..config()
    };
    let mut pool = TunnelPool::new("zero", net.us, zero);
    let out = pool.tick(T0, &[], &mut rng);
    assert!(out.is_empty());
    assert_eq!(pool.live(T0), (1, 1));
    let (gw, id, _) = pool.inbound_gateways(T0)[0];
    assert_eq!(gw, net.us);
    let out = pool
        .send_outbound(&m, DeliveryInstructions::Tunnel(id, gw), T0, &mut rng)
        .unwrap();
    assert_eq!(out.len(), 1);
    let I2npBody::TunnelGateway(g) = out[0].message.body() else {
        panic!("a TunnelGateway to our own zero-hop tunnel");
    };
    assert_eq!(pool.on_tunnel_gateway(g).unwrap().to_bytes(), m.to_bytes());
}

#[test]
fn variance_changes_lengths_within_bounds() {
    let mut net = Net::new(8, Behaviour::Accept);
    let cfg = PoolConfig {
        inbound: PoolShape {
            length: 1,
            quantity: 16,
            variance: 2,
        },
        outbound: PoolShape {
            length: 7,
            quantity: 16,
            variance: -1,
        },
        ..config()
    };
    let mut pool = TunnelPool::new("test", net.us, cfg);
    let mut rng = StdRng::seed_from_u64(6);
    tick(&mut pool, &mut net, T0, &mut rng);
    assert_eq!(pool.live(T0), (16, 16));
    let s = *pool.stats();
    assert_eq!((s.built_inbound, s.built_outbound), (16, 16));
}

#[test]
fn profile_tables_round_trip_and_bad_lines_are_reported() {
    use i2p_tunnel::pool::{PeerProfile, read_profiles, write_profiles};
    let mut map = HashMap::new();
    map.insert(
        hash(1),
        PeerProfile {
            accepted: 5,
            declined: 1,
            timed_out: 2,
        },
    );
    map.insert(
        hash(2),
        PeerProfile {
            accepted: 0,
            declined: 3,
            timed_out: 0,
        },
    );
    let text = write_profiles(&map);
    let (back, errors) = read_profiles(&text);
    assert_eq!(back, map);
    assert!(errors.is_empty());

    let bad = format!(
        "{}\nnot-a-hash 1 2 3\n{} 1 2\n{} x 2 3\n",
        text.trim_end(),
        hash(3).to_base64(),
        hash(4).to_base64()
    );
    let (back, errors) = read_profiles(&bad);
    assert_eq!(back, map, "good lines are kept");
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 5, 6]);
    assert!(errors[0].to_string().contains("line 4"));
}
