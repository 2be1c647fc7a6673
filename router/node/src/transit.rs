//! Transit tunnels: other routers build tunnels through us and we carry their traffic.
//!
//! We take part in all three roles. A ShortTunnelBuild addressed to us (directly, or in a
//! garlic clove as i2pd sends it to ECIES hops) is opened and answered; as a participant or
//! inbound gateway we send it on to the next hop, as the outbound endpoint we send it back to
//! the creator as an OutboundTunnelBuildReply, garlic-wrapped with the one-time key and tag
//! from the build record, in a TunnelGateway message to the creator's reply tunnel (as i2pd).
//! As a participant, TunnelData gets our layer and goes to the next hop under its tunnel id;
//! as an inbound gateway, each TunnelGateway message is fragmented into TunnelData for local
//! delivery at the endpoint (`i2p_tunnel::gateway`), our layer added, and sent on; as the
//! outbound endpoint, TunnelData gets our layer (which removes the creator's last
//! pre-encryption), is reassembled (`i2p_tunnel::data::Endpoint`) and each message is delivered
//! as its instructions say: to a router, or into a tunnel through its gateway.
//!
//! Admission: at most `max_tunnels` at once; a receive tunnel id already in use is refused; a
//! record whose ephemeral key we saw before (a replay) or whose request time is implausible is
//! dropped;
//! each tunnel lives 10 minutes (the spec's tunnel lifetime) plus a minute of grace.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use i2p_crypto::X25519Secret;
use i2p_netdb::router_garlic::seal_reply;
use i2p_tunnel::data::{DeliveryInstructions, Endpoint, EndpointConfig};
use i2p_tunnel::gateway::fragment_local;
use i2p_tunnel::long_record::open_long_record;
use i2p_tunnel::transit::{
    ACCEPT, LayerCipher, REJECT_BANDWIDTH, ReplayFilter, Role, open_short_record, request_is_fresh,
};
use i2p_wire::i2np::{
    I2npBody, ShortBuildRecords, TunnelData, TunnelGateway, VariableBuildRecords,
};
use i2p_wire::{Date, Hash, I2npMessage, TunnelId};
use tracing::{debug, info};

/// Where transit sends what it forwards: the dispatcher's loopback outbox in front of the
/// transport (`run.rs`), or a list in tests.
pub trait Outbox {
    fn send(&mut self, to: Hash, msg: I2npMessage);
}

impl Outbox for Vec<(Hash, I2npMessage)> {
    fn send(&mut self, to: Hash, msg: I2npMessage) {
        self.push((to, msg));
    }
}

/// Most build requests one previous hop may bring us per minute before we reject the rest
/// (a flood from one peer must not fill the table for everyone). i2pd 2.45.1 has no such
/// limit; Java I2P throttles per previous hop too.
pub const MAX_REQUESTS_PER_PEER_MINUTE: u32 = 300;

/// How long a transit tunnel lives after we accepted it.
const TUNNEL_LIFETIME: Duration = Duration::from_secs(11 * 60);
/// Expiration we put on build messages we forward.
const FORWARD_EXPIRATION_MS: u64 = 20_000;

/// What admission needs to know of a request, short or long.
struct Request {
    receive: TunnelId,
    next_router: Hash,
    next_tunnel: TunnelId,
    role: Role,
}

struct TransitTunnel {
    role: Role,
    /// outbound endpoint only: fragments waiting for the rest of their message
    endpoint: Option<Endpoint>,
    next_router: Hash,
    next_tunnel: TunnelId,
    layer: LayerCipher,
    expires: Instant,
    forwarded: u64,
}

/// Counters for the status line and metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransitStats {
    pub builds_for_us: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// of those, because the previous hop exceeded its requests per minute
    pub rejected_peer_rate: u64,
    pub unusable_records: u64,
    /// requests that came in long records (VariableTunnelBuild)
    pub long_records: u64,
    /// records whose ephemeral key we had seen, or whose time was implausible: dropped
    pub replayed_or_stale: u64,
    pub data_forwarded: u64,
    pub data_unknown_tunnel: u64,
    pub live: usize,
}

/// The transit tunnel table and its handlers (run inside the dispatcher).
pub struct Transit {
    our_hash: Hash,
    our_key: X25519Secret,
    max_tunnels: usize,
    per_peer_minute: u32,
    /// per previous hop: (minute, requests in it)
    peer_requests: HashMap<Hash, (u64, u32)>,
    tunnels: HashMap<TunnelId, TransitTunnel>,
    replay: ReplayFilter,
    stats: TransitStats,
}

impl std::fmt::Debug for Transit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transit")
            .field("tunnels", &self.tunnels.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Transit {
    pub fn new(our_hash: Hash, our_key: X25519Secret, max_tunnels: usize) -> Transit {
        Transit::with_limits(our_hash, our_key, max_tunnels, MAX_REQUESTS_PER_PEER_MINUTE)
    }

    /// As [`Transit::new`] with a per-previous-hop limit of requests per minute.
    pub fn with_limits(
        our_hash: Hash,
        our_key: X25519Secret,
        max_tunnels: usize,
        per_peer_minute: u32,
    ) -> Transit {
        Transit {
            our_hash,
            our_key,
            max_tunnels,
            per_peer_minute,
            peer_requests: HashMap::new(),
            tunnels: HashMap::new(),
            replay: ReplayFilter::new(100_000),
            stats: TransitStats::default(),
        }
    }

    pub fn stats(&self) -> TransitStats {
        TransitStats {
            live: self.tunnels.len(),
            ..self.stats
        }
    }

    /// Count a request from the previous hop `from`; false once it is over its limit for the
    /// current minute.
    fn count_peer_request(&mut self, from: Hash, now_secs: u64) -> bool {
        let minute = now_secs / 60;
        if self.peer_requests.len() > 50_000 {
            self.peer_requests.retain(|_, (m, _)| *m == minute);
        }
        let e = self.peer_requests.entry(from).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1 <= self.per_peer_minute
    }

    /// What short and long records share once opened: count the request, drop it if its
    /// ephemeral key was seen before or its time is implausible (None: no answer at all),
    /// otherwise decide on it with [`Transit::admit`].
    fn consider(
        &mut self,
        from: Hash,
        ephemeral: &[u8; 32],
        request_time_minutes: u32,
        req: Request,
        layer: LayerCipher,
        now: Date,
    ) -> Option<u8> {
        self.stats.builds_for_us += 1;
        let now_secs = now.as_millis() / 1000;
        if !request_is_fresh(request_time_minutes, now_secs)
            || !self.replay.check_and_insert(ephemeral, now_secs)
        {
            self.stats.replayed_or_stale += 1;
            info!(%from, request_minutes = request_time_minutes, "transit: replayed or stale build record dropped");
            return None;
        }
        Some(self.admit(from, req, layer, now_secs))
    }

    /// Decide on a request (limits, free tunnel id) and, when accepted, add the tunnel.
    /// Returns the reply status.
    fn admit(&mut self, from: Hash, req: Request, layer: LayerCipher, now_secs: u64) -> u8 {
        self.expire();
        let peer_ok = self.count_peer_request(from, now_secs);
        let admissible = peer_ok
            && self.tunnels.len() < self.max_tunnels
            && !self.tunnels.contains_key(&req.receive)
            && req.receive.0 != 0;
        if !peer_ok {
            self.stats.rejected_peer_rate += 1;
        }
        // every refusal says "bandwidth", as i2pd and Java I2P do, so the reason stays hidden
        // (spec/elgamal-tunnel-creation.md, reply codes)
        if !admissible {
            self.stats.rejected += 1;
            info!(%from, role = ?req.role, status = REJECT_BANDWIDTH, "transit: build request rejected");
            return REJECT_BANDWIDTH;
        }
        self.stats.accepted += 1;
        self.tunnels.insert(
            req.receive,
            TransitTunnel {
                role: req.role,
                endpoint: (req.role == Role::OutboundEndpoint)
                    .then(|| Endpoint::new(EndpointConfig::default())),
                next_router: req.next_router,
                next_tunnel: req.next_tunnel,
                layer,
                expires: Instant::now() + TUNNEL_LIFETIME,
                forwarded: 0,
            },
        );
        info!(
            %from,
            receive = req.receive.0,
            next = %req.next_router,
            next_tunnel = req.next_tunnel.0,
            live = self.tunnels.len(),
            role = ?req.role,
            "transit: participating in a tunnel"
        );
        ACCEPT
    }

    /// A VariableTunnelBuild (long ECIES records) from `from`: what i2pd destinations without
    /// ECIES send (`i2p_tunnel::long_record`). Answered like a short build; the outbound
    /// endpoint sends the records back as a VariableTunnelBuildReply in a TunnelGateway message
    /// to the reply tunnel, without garlic (i2pd `HandleVariableTunnelBuildMsg`).
    pub fn on_variable_build(
        &mut self,
        from: Hash,
        records: VariableBuildRecords,
        now: Date,
        transport: &mut dyn Outbox,
    ) {
        let mut records = records.into_records();
        let opened = match open_long_record(&records, &self.our_hash, &self.our_key) {
            Ok(Some(o)) => o,
            Ok(None) => {
                debug!(%from, "transit: VariableTunnelBuild without a record for us, dropped");
                return;
            }
            Err(e) => {
                self.stats.unusable_records += 1;
                debug!(%from, error = %e, "transit: unusable long build record, dropped");
                return;
            }
        };
        self.stats.long_records += 1;
        let req = &opened.request;
        let role = req.role();
        let Some(status) = self.consider(
            from,
            &opened.ephemeral,
            req.request_time_minutes,
            Request {
                receive: req.receive_tunnel,
                next_router: req.next_router,
                next_tunnel: req.next_tunnel,
                role,
            },
            LayerCipher::new(&req.layer_key, &req.iv_key),
            now,
        ) else {
            return;
        };
        if let Err(e) = opened.answer(&mut records, status, &mut rand::rng()) {
            debug!(error = %e, "transit: cannot answer a long build record");
            return;
        }
        info!(%from, ?role, status, "transit: VariableTunnelBuild (long records) answered");
        let expiration = now.saturating_add_millis(FORWARD_EXPIRATION_MS);
        let Ok(records) = VariableBuildRecords::new(records) else {
            debug!("transit: cannot rebuild the build message");
            return;
        };
        let msg = if role == Role::OutboundEndpoint {
            I2npMessage::new(
                req.send_msg_id,
                expiration,
                I2npBody::VariableTunnelBuildReply(records),
            )
            .ok()
            .and_then(|m| TunnelGateway::new(req.next_tunnel, &m).ok())
            .and_then(|tg| {
                I2npMessage::new(rand::random(), expiration, I2npBody::TunnelGateway(tg)).ok()
            })
        } else {
            I2npMessage::new(
                req.send_msg_id,
                expiration,
                I2npBody::VariableTunnelBuild(records),
            )
            .ok()
        };
        match msg {
            Some(m) => transport.send(req.next_router, m),
            None => debug!("transit: cannot build the forwarded long build message"),
        }
    }

    /// A ShortTunnelBuild from `from` (directly or out of a garlic clove).
    pub fn on_short_build(
        &mut self,
        from: Hash,
        records: ShortBuildRecords,
        now: Date,
        transport: &mut dyn Outbox,
    ) {
        let mut records = records.into_records();
        let opened = match open_short_record(&records, &self.our_hash, &self.our_key) {
            Ok(Some(o)) => o,
            Ok(None) => {
                // a reply to a tunnel of our own would land here once we build tunnels
                debug!(%from, "transit: ShortTunnelBuild without a record for us, dropped");
                return;
            }
            Err(e) => {
                self.stats.unusable_records += 1;
                debug!(%from, error = %e, "transit: unusable build record, dropped");
                return;
            }
        };
        let req = &opened.request;
        let role = req.role();
        let Some(status) = self.consider(
            from,
            &opened.ephemeral,
            req.request_time_minutes,
            Request {
                receive: req.receive_tunnel,
                next_router: req.next_router,
                next_tunnel: req.next_tunnel,
                role,
            },
            LayerCipher::new(&opened.keys.layer_key, &opened.keys.iv_key),
            now,
        ) else {
            return;
        };
        if let Err(e) = opened.answer(&mut records, status, &mut rand::rng()) {
            debug!(error = %e, "transit: cannot answer a build record");
            return;
        }
        let body = match ShortBuildRecords::new(records) {
            Ok(r) => I2npBody::ShortTunnelBuild(r),
            Err(e) => {
                debug!(error = %e, "transit: cannot rebuild the build message");
                return;
            }
        };
        let expiration = now.saturating_add_millis(FORWARD_EXPIRATION_MS);
        if role != Role::OutboundEndpoint {
            match I2npMessage::new(req.send_msg_id, expiration, body) {
                Ok(msg) => transport.send(req.next_router, msg),
                Err(e) => debug!(error = %e, "transit: cannot build the forwarded message"),
            }
            return;
        }
        // the outbound endpoint answers the creator through its reply tunnel
        let I2npBody::ShortTunnelBuild(records) = body else {
            return;
        };
        let Some((key, tag)) = opened.keys.reply_garlic.as_ref() else {
            return;
        };
        let reply = I2npMessage::new(
            req.send_msg_id,
            expiration,
            I2npBody::OutboundTunnelBuildReply(records),
        )
        .ok()
        .and_then(|m| seal_reply(&m, key, tag, 0).ok())
        .and_then(|g| I2npMessage::new(rand::random(), expiration, I2npBody::Garlic(g)).ok())
        .and_then(|g| TunnelGateway::new(req.next_tunnel, &g).ok())
        .and_then(|tg| {
            I2npMessage::new(rand::random(), expiration, I2npBody::TunnelGateway(tg)).ok()
        });
        match reply {
            Some(m) => transport.send(req.next_router, m),
            None => debug!("transit: cannot build the outbound endpoint's build reply"),
        }
    }

    /// TunnelData for one of our transit tunnels: add our layer, pass it on.
    pub fn on_tunnel_data(&mut self, data: TunnelData, now: Date, transport: &mut dyn Outbox) {
        let Some(t) = self
            .tunnels
            .get_mut(&data.tunnel_id)
            .filter(|t| t.role != Role::InboundGateway)
        else {
            self.stats.data_unknown_tunnel += 1;
            debug!(
                tunnel = data.tunnel_id.0,
                "transit: TunnelData for no tunnel of ours"
            );
            return;
        };
        let mut payload = data.data;
        t.layer.encrypt(&mut payload);
        if let Some(endpoint) = t.endpoint.as_mut() {
            let received = match endpoint.receive(&payload, now.as_millis()) {
                Ok(r) => r,
                Err(e) => {
                    debug!(tunnel = data.tunnel_id.0, error = %e, "transit: bad TunnelData at our outbound endpoint");
                    return;
                }
            };
            for r in received {
                let msg = match I2npMessage::parse(&r.message) {
                    Ok(m) => m,
                    Err(e) => {
                        debug!(error = %e, "transit: unparsable message at our outbound endpoint");
                        continue;
                    }
                };
                let (to, out) = match r.instructions {
                    DeliveryInstructions::Router(h) => (h, Some(msg)),
                    DeliveryInstructions::Tunnel(tid, h) => (
                        h,
                        TunnelGateway::new(tid, &msg).ok().and_then(|tg| {
                            I2npMessage::new(
                                rand::random(),
                                now.saturating_add_millis(FORWARD_EXPIRATION_MS),
                                I2npBody::TunnelGateway(tg),
                            )
                            .ok()
                        }),
                    ),
                    DeliveryInstructions::Local => {
                        debug!("transit: local delivery at an outbound endpoint ignored");
                        continue;
                    }
                };
                if let Some(out) = out {
                    self.stats.data_forwarded += 1;
                    t.forwarded += 1;
                    if t.forwarded == 1 {
                        info!(%to, "transit: first message delivered as outbound endpoint");
                    }
                    transport.send(to, out);
                }
            }
            return;
        }
        let body = I2npBody::TunnelData(TunnelData {
            tunnel_id: t.next_tunnel,
            data: payload,
        });
        let id = rand::random::<u32>();
        match I2npMessage::new(id, now.saturating_add_millis(FORWARD_EXPIRATION_MS), body) {
            Ok(msg) => {
                self.stats.data_forwarded += 1;
                t.forwarded += 1;
                if t.forwarded == 1 {
                    info!(
                        receive = data.tunnel_id.0,
                        next = %t.next_router,
                        "transit: first TunnelData forwarded"
                    );
                }
                transport.send(t.next_router, msg);
            }
            Err(e) => debug!(error = %e, "transit: cannot build TunnelData"),
        }
    }

    /// A TunnelGateway message for a tunnel we are the inbound gateway of: fragment the
    /// message for the endpoint, add our layer to each TunnelData, pass them on.
    pub fn on_tunnel_gateway(&mut self, gw: TunnelGateway, now: Date, transport: &mut dyn Outbox) {
        let Some(t) = self
            .tunnels
            .get_mut(&gw.tunnel_id())
            .filter(|t| t.role == Role::InboundGateway)
        else {
            self.stats.data_unknown_tunnel += 1;
            debug!(
                tunnel = gw.tunnel_id().0,
                "transit: TunnelGateway for no gateway tunnel of ours"
            );
            return;
        };
        let payloads = match fragment_local(gw.message_bytes(), rand::random(), &mut rand::rng()) {
            Ok(p) => p,
            Err(e) => {
                debug!(error = %e, "transit: cannot fragment a TunnelGateway message");
                return;
            }
        };
        for mut payload in payloads {
            t.layer.encrypt(&mut payload);
            let body = I2npBody::TunnelData(TunnelData {
                tunnel_id: t.next_tunnel,
                data: Box::new(payload),
            });
            match I2npMessage::new(
                rand::random(),
                now.saturating_add_millis(FORWARD_EXPIRATION_MS),
                body,
            ) {
                Ok(msg) => {
                    self.stats.data_forwarded += 1;
                    t.forwarded += 1;
                    if t.forwarded == 1 {
                        info!(
                            gateway = gw.tunnel_id().0,
                            next = %t.next_router,
                            "transit: first TunnelData sent as inbound gateway"
                        );
                    }
                    transport.send(t.next_router, msg);
                }
                Err(e) => debug!(error = %e, "transit: cannot build TunnelData"),
            }
        }
    }

    /// Forget tunnels past their lifetime.
    pub fn expire(&mut self) {
        let now = Instant::now();
        self.tunnels.retain(|_, t| t.expires > now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use i2p_tunnel::build::{
        BuildReplyCode, HopPeer, HopRole, LayerEncryption, PendingBuild, Record, RequestBuilder,
        ShortRequest,
    };
    use i2p_wire::Mapping;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const NOW_MS: u64 = 1_800_000_000_000;
    const NEXT: Hash = Hash::from_bytes([0x77; 32]);

    struct Us {
        hash: Hash,
        key: X25519Secret,
    }

    fn us() -> Us {
        Us {
            hash: Hash::from_bytes([0x11; 32]),
            key: X25519Secret::from_bytes([0x42; 32]),
        }
    }

    /// A one-hop build naming us as participant, receiving on `receive`.
    fn build(us: &Us, receive: u32, rng: &mut StdRng) -> (Vec<Record>, PendingBuild) {
        RequestBuilder::new()
            .hop(
                HopPeer {
                    router_hash: us.hash,
                    static_key: us.key.public(),
                },
                ShortRequest {
                    receive_tunnel: TunnelId(receive),
                    next_tunnel: TunnelId(receive + 1_000_000),
                    next_router: NEXT,
                    role: HopRole::Participant,
                    layer_encryption: LayerEncryption::Aes,
                    request_time_minutes: u32::try_from(NOW_MS / 60_000).unwrap(),
                    expiration_secs: 600,
                    next_msg_id: receive,
                    options: Mapping::default(),
                },
            )
            .build(rng)
            .unwrap()
    }

    /// Send the build from `from`; the reply code we gave, read as the creator reads it.
    fn ask(
        t: &mut Transit,
        from: Hash,
        records: Vec<Record>,
        pending: &PendingBuild,
        now_ms: u64,
    ) -> Option<BuildReplyCode> {
        let mut out: Vec<(Hash, I2npMessage)> = Vec::new();
        t.on_short_build(
            from,
            ShortBuildRecords::new(records).unwrap(),
            Date::from_millis(now_ms),
            &mut out,
        );
        let (to, msg) = out.pop()?;
        assert_eq!(to, NEXT, "the build goes on to the next hop");
        let I2npBody::ShortTunnelBuild(r) = msg.into_body() else {
            panic!("a ShortTunnelBuild");
        };
        Some(pending.read_replies(r.records()).unwrap()[0].code)
    }

    fn data_passes(t: &mut Transit, receive: u32) -> bool {
        let mut out: Vec<(Hash, I2npMessage)> = Vec::new();
        let data = TunnelData {
            tunnel_id: TunnelId(receive),
            data: Box::new([5u8; 1024]),
        };
        t.on_tunnel_data(data, Date::from_millis(NOW_MS), &mut out);
        matches!(out.as_slice(), [(to, m)] if *to == NEXT
            && matches!(m.body(), I2npBody::TunnelData(d) if d.tunnel_id.0 == receive + 1_000_000))
    }

    #[test]
    fn floods_are_rejected_with_bandwidth_while_tunnels_keep_working() {
        let us = us();
        let mut rng = StdRng::seed_from_u64(9);
        let mut t = Transit::with_limits(us.hash, us.key.clone(), 20, 10);
        let peer = |b: u8| Hash::from_bytes([b; 32]);

        // five ordinary tunnels from peer 1
        let mut first = None;
        for id in 1..=5 {
            let (records, pending) = build(&us, id, &mut rng);
            if id == 1 {
                first = Some(records.clone());
            }
            assert_eq!(
                ask(&mut t, peer(1), records, &pending, NOW_MS),
                Some(BuildReplyCode::ACCEPT)
            );
        }
        assert!(data_passes(&mut t, 1));

        // one previous hop floods: 10 a minute are accepted, the rest refused with 30
        let mut codes = Vec::new();
        for id in 100..150 {
            let (records, pending) = build(&us, id, &mut rng);
            codes.push(ask(&mut t, peer(2), records, &pending, NOW_MS).unwrap());
        }
        assert!(codes[..10].iter().all(|c| *c == BuildReplyCode::ACCEPT));
        assert!(codes[10..].iter().all(|c| *c == BuildReplyCode::BANDWIDTH));
        assert_eq!(t.stats().rejected_peer_rate, 40);

        // many peers at once: accepted until the table is full (20), then 30
        let mut accepted = 0;
        let mut refused = 0;
        for k in 0..50u8 {
            let (records, pending) = build(&us, 1_000 + u32::from(k), &mut rng);
            match ask(&mut t, peer(100 + k), records, &pending, NOW_MS).unwrap() {
                BuildReplyCode::ACCEPT => accepted += 1,
                BuildReplyCode::BANDWIDTH => refused += 1,
                other => panic!("unexpected code {other:?}"),
            }
        }
        assert_eq!((accepted, refused), (5, 45));
        assert_eq!(t.stats().live, 20);

        // the tunnels from before the floods still carry data
        assert!(data_passes(&mut t, 1));
        assert!(data_passes(&mut t, 100));

        // a replayed record is dropped unanswered
        let (_, pending) = build(&us, 1, &mut rng);
        assert_eq!(ask(&mut t, peer(1), first.unwrap(), &pending, NOW_MS), None);
        assert_eq!(t.stats().replayed_or_stale, 1);
        assert_eq!(t.stats().accepted, 20);
    }
}
