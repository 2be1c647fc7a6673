//! Tunnel data (`i2p_tunnel`, and the transit handler of `i2p_router`):
//!
//! - the participant hop's layer alone (`LayerCipher::encrypt`, what transit applies) and the
//!   whole participant handler (`Transit::on_tunnel_data`: tunnel lookup, layer, the next
//!   hop's TunnelData message), both against the bare AES-256 steps of one layer;
//! - fragmentation of a 4 KiB I2NP message by the outbound gateway (`data::Gateway::put` +
//!   `flush`, as the pool sends) and by the transit inbound gateway (`gateway::fragment_local`),
//!   and its reassembly (`data::Endpoint::receive` of every payload), against the payload
//!   checksums (SHA-256 over each payload's `content ‖ IV`, the only cryptography of these
//!   steps) plus one copy of the message.

use std::hint::black_box;

use i2p_crypto::X25519Secret;
use i2p_router::transit::Transit;
use i2p_tunnel::build::{HopPeer, HopRole, LayerEncryption, RequestBuilder, ShortRequest};
use i2p_tunnel::data::{DeliveryInstructions, Endpoint, EndpointConfig, Gateway};
use i2p_tunnel::gateway::fragment_local;
use i2p_tunnel::transit::LayerCipher;
use i2p_wire::i2np::{Data, I2npBody, ShortBuildRecords, TunnelData};
use i2p_wire::{Date, Encode, Hash, I2npMessage, Mapping, TunnelId};
use rand::rngs::ThreadRng;

use crate::floor::{ChecksumFloor, TunnelLayerFloor};
use crate::harness::Bench;
use crate::{Case, Error, check, now_ms};

const PAYLOAD_LEN: usize = 1024;
/// Payload bytes of the Data message the fragmentation cases carry.
pub const MESSAGE_PAYLOAD: usize = 4096;

fn payload_template() -> [u8; PAYLOAD_LEN] {
    core::array::from_fn(|i| (i * 7 + 3) as u8)
}

// ------------------------------------------------------------------ participant hop

/// Our transit table holding one participant tunnel, built by a real ShortTunnelBuild.
pub struct ParticipantFixture {
    pub transit: Transit,
    pub receive: TunnelId,
    pub next_tunnel: TunnelId,
    pub next_router: Hash,
    /// The creator's copy of our layer keys, to check what we forward.
    pub creator_layer: LayerCipher,
}

impl std::fmt::Debug for ParticipantFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParticipantFixture")
            .field("receive", &self.receive)
            .finish_non_exhaustive()
    }
}

pub fn participant_fixture() -> Result<ParticipantFixture, Error> {
    let our_hash = Hash::from_bytes([0x11; 32]);
    let our_key = X25519Secret::from_bytes([0x42; 32]);
    let next_router = Hash::from_bytes([0x77; 32]);
    let (receive, next_tunnel) = (TunnelId(4242), TunnelId(4343));
    let now = Date::from_millis(now_ms());
    let mut transit = Transit::new(our_hash, our_key.clone(), 16);
    let (records, pending) = RequestBuilder::new()
        .hop(
            HopPeer {
                router_hash: our_hash,
                static_key: our_key.public(),
            },
            ShortRequest {
                receive_tunnel: receive,
                next_tunnel,
                next_router,
                role: HopRole::Participant,
                layer_encryption: LayerEncryption::Aes,
                request_time_minutes: u32::try_from(now.as_millis() / 60_000)?,
                expiration_secs: 600,
                next_msg_id: 99,
                options: Mapping::default(),
            },
        )
        .build(&mut rand::rng())?;
    let mut out: Vec<(Hash, I2npMessage)> = Vec::new();
    transit.on_short_build(
        Hash::from_bytes([0x22; 32]),
        ShortBuildRecords::new(records)?,
        now,
        &mut out,
    );
    let (to, msg) = out.pop().ok_or("transit forwarded no build message")?;
    check(to == next_router, "the build goes on to the next hop")?;
    let I2npBody::ShortTunnelBuild(r) = msg.into_body() else {
        return Err("transit forwarded something else than a ShortTunnelBuild".into());
    };
    let replies = pending.read_replies(r.records())?;
    check(
        replies.first().is_some_and(|r| r.code.is_accept()),
        "transit accepted the tunnel",
    )?;
    let keys = pending.hops().first().ok_or("no hop")?.keys();
    Ok(ParticipantFixture {
        transit,
        receive,
        next_tunnel,
        next_router,
        creator_layer: LayerCipher::new(keys.layer_key(), keys.iv_key()),
    })
}

/// Feed one TunnelData through the participant handler and check that the forwarded payload
/// is the input with our layer on it.
fn participant_round_trip(f: &mut ParticipantFixture) -> Result<(), Error> {
    let input = payload_template();
    let mut out: Vec<(Hash, I2npMessage)> = Vec::new();
    f.transit.on_tunnel_data(
        TunnelData {
            tunnel_id: f.receive,
            data: Box::new(input),
        },
        Date::from_millis(now_ms()),
        &mut out,
    );
    let (to, msg) = out.pop().ok_or("transit forwarded nothing")?;
    check(to == f.next_router, "TunnelData goes to the next hop")?;
    let I2npBody::TunnelData(d) = msg.into_body() else {
        return Err("transit forwarded something else than TunnelData".into());
    };
    check(d.tunnel_id == f.next_tunnel, "next hop's tunnel id")?;
    let mut back = *d.data;
    check(back != input, "a layer was added")?;
    f.creator_layer.decrypt(&mut back);
    check(back == input, "the creator removes our layer")
}

/// `Transit::on_tunnel_data` on prepared TunnelData messages.
struct Participant {
    f: ParticipantFixture,
    now: Date,
    inputs: Vec<TunnelData>,
    out: Vec<(Hash, I2npMessage)>,
}

impl Bench for Participant {
    fn prepare(&mut self, iters: usize) {
        // forwarded messages are dropped here, outside the clock
        self.out.clear();
        self.out.reserve(iters);
        self.inputs.clear();
        let t = payload_template();
        self.inputs.extend((0..iters).map(|_| TunnelData {
            tunnel_id: self.f.receive,
            data: Box::new(t),
        }));
    }

    fn run(&mut self, iters: usize) -> usize {
        let before = self.out.len();
        for d in self.inputs.drain(..) {
            self.f.transit.on_tunnel_data(d, self.now, &mut self.out);
        }
        black_box(&self.out);
        iters.saturating_sub(self.out.len() - before)
    }
}

/// The layer alone: `LayerCipher::encrypt` on one payload, over and over.
struct Layer {
    layer: LayerCipher,
    payload: Box<[u8; PAYLOAD_LEN]>,
}

impl Bench for Layer {
    fn run(&mut self, iters: usize) -> usize {
        for _ in 0..iters {
            self.layer.encrypt(&mut self.payload);
            black_box(&self.payload);
        }
        0
    }
}

const LAYER_FLOOR: &str =
    "AES-256: ECB on the 16 B IV, CBC over 1008 B, ECB on the IV again (one layer)";

/// A participant's layer alone (`i2p_tunnel::transit::LayerCipher::encrypt`).
pub fn layer_case() -> Result<Case, Error> {
    let mut f = participant_fixture()?;
    participant_round_trip(&mut f)?;
    // the same cipher the transit table holds, made from the same build-record keys
    let layer = f.creator_layer;
    let input = payload_template();
    let mut p = input;
    layer.encrypt(&mut p);
    layer.decrypt(&mut p);
    check(p == input, "layer round trip")?;
    Ok(Case {
        name: "tunnel hop, layer only".into(),
        bytes: PAYLOAD_LEN,
        path_desc: "LayerCipher::encrypt on 1024 B".into(),
        floor_desc: LAYER_FLOOR.into(),
        path: Box::new(Layer {
            layer,
            payload: Box::new(input),
        }),
        floor: Box::new(TunnelLayerFloor::new()),
    })
}

/// The participant hop's whole handler (`i2p_router::transit::Transit::on_tunnel_data`).
pub fn participant_case() -> Result<Case, Error> {
    let mut f = participant_fixture()?;
    participant_round_trip(&mut f)?;
    Ok(Case {
        name: "tunnel hop, Transit::on_tunnel_data".into(),
        bytes: PAYLOAD_LEN,
        path_desc: "tunnel lookup + layer + next hop's I2NP TunnelData message".into(),
        floor_desc: LAYER_FLOOR.into(),
        path: Box::new(Participant {
            f,
            now: Date::from_millis(now_ms()),
            inputs: Vec::new(),
            out: Vec::new(),
        }),
        floor: Box::new(TunnelLayerFloor::new()),
    })
}

// ------------------------------------------------------------------ fragmentation

/// The 4 KiB I2NP Data message the fragmentation cases carry, in standard-header form.
pub fn message_bytes() -> Result<Vec<u8>, Error> {
    let payload: Vec<u8> = (0..MESSAGE_PAYLOAD).map(|i| (i % 251) as u8).collect();
    let msg = I2npMessage::new(
        0x0bad_cafe,
        Date::from_millis(now_ms() + 60_000),
        I2npBody::Data(Data::new(payload)?),
    )?;
    Ok(msg.to_bytes())
}

fn instructions() -> DeliveryInstructions {
    DeliveryInstructions::Tunnel(TunnelId(5151), Hash::from_bytes([0x99; 32]))
}

/// Bytes the checksum of a plaintext payload covers: `content ‖ IV`, where the content
/// follows the first zero byte after IV and checksum.
fn checksummed_len(p: &[u8; PAYLOAD_LEN]) -> Option<usize> {
    let zero = p.get(20..)?.iter().position(|b| *b == 0)?;
    Some(PAYLOAD_LEN - (20 + zero + 1) + 16)
}

// `Vec<Box<Payload>>` is what `Gateway::flush` returns
#[allow(clippy::vec_box)]
fn gateway_payloads(msg: &[u8], rng: &mut ThreadRng) -> Result<Vec<Box<[u8; PAYLOAD_LEN]>>, Error> {
    let mut g = Gateway::new();
    g.put(&instructions(), msg)?;
    Ok(g.flush(rng))
}

/// Reassemble payloads at a fresh endpoint; the one message it returns.
fn reassemble<'a>(
    payloads: impl Iterator<Item = &'a [u8; PAYLOAD_LEN]>,
) -> Result<(DeliveryInstructions, Vec<u8>), Error> {
    let mut e = Endpoint::new(EndpointConfig::default());
    let mut got = Vec::new();
    for p in payloads {
        got.extend(e.receive(p, now_ms())?);
    }
    check(got.len() == 1, "one message reassembled")?;
    let r = got.pop().ok_or("no message")?;
    Ok((r.instructions, r.message))
}

/// `Gateway::new` + `put` + `flush`, as the pool sends through an outbound tunnel.
struct Fragment {
    msg: Vec<u8>,
    payloads: usize,
    rng: ThreadRng,
}

impl Bench for Fragment {
    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for _ in 0..iters {
            let mut g = Gateway::new();
            if g.put(&instructions(), &self.msg).is_err() {
                failed += 1;
                continue;
            }
            let out = g.flush(&mut self.rng);
            if out.len() != self.payloads {
                failed += 1;
            }
            black_box(out);
        }
        failed
    }
}

/// `fragment_local`, as transit does for a tunnel it is the inbound gateway of.
struct FragmentLocal {
    msg: Vec<u8>,
    payloads: usize,
    rng: ThreadRng,
}

impl Bench for FragmentLocal {
    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for i in 0..iters {
            match fragment_local(&self.msg, i as u32, &mut self.rng) {
                Ok(out) if out.len() == self.payloads => {
                    black_box(out);
                }
                _ => failed += 1,
            }
        }
        failed
    }
}

/// `Endpoint::receive` of every payload of a message (prepared by the gateway).
#[allow(clippy::vec_box)] // payloads as `Gateway::flush` returns them
struct Reassemble {
    endpoint: Endpoint,
    msg: Vec<u8>,
    prepared: Vec<Vec<Box<[u8; PAYLOAD_LEN]>>>,
    rng: ThreadRng,
    now_ms: u64,
}

impl Bench for Reassemble {
    fn prepare(&mut self, iters: usize) {
        self.prepared.clear();
        for _ in 0..iters {
            // a payload set that cannot be made stays empty and fails in `run`
            self.prepared
                .push(gateway_payloads(&self.msg, &mut self.rng).unwrap_or_default());
        }
    }

    fn run(&mut self, iters: usize) -> usize {
        let mut failed = iters.saturating_sub(self.prepared.len());
        for payloads in &self.prepared {
            let mut done = 0;
            for p in payloads {
                match self.endpoint.receive(p, self.now_ms) {
                    Ok(r) => {
                        done += r
                            .iter()
                            .filter(|m| m.message.len() == self.msg.len())
                            .count();
                        black_box(r);
                    }
                    Err(_) => failed += 1,
                }
            }
            if done != 1 {
                failed += 1;
            }
        }
        failed
    }
}

const CHECKSUM_FLOOR: &str = "SHA-256 over each payload's content+IV (the checksum), 1 copy";

/// The outbound gateway's fragmentation (`i2p_tunnel::data::Gateway`).
pub fn gateway_case() -> Result<Case, Error> {
    let msg = message_bytes()?;
    let mut rng = rand::rng();
    let payloads = gateway_payloads(&msg, &mut rng)?;
    let (ins, back) = reassemble(payloads.iter().map(|p| &**p))?;
    check(
        ins == instructions() && back == msg,
        "gateway output reassembles",
    )?;
    let hashed = payloads
        .iter()
        .map(|p| checksummed_len(p))
        .collect::<Option<Vec<_>>>()
        .ok_or("payload without content")?;
    Ok(Case {
        name: format!(
            "fragment {} B (Gateway, {} payloads)",
            msg.len(),
            payloads.len()
        ),
        bytes: msg.len(),
        path_desc: "data::Gateway::new + put + flush".into(),
        floor_desc: format!(
            "{CHECKSUM_FLOOR} ({} B hashed)",
            hashed.iter().sum::<usize>()
        ),
        path: Box::new(Fragment {
            payloads: payloads.len(),
            msg: msg.clone(),
            rng,
        }),
        floor: Box::new(ChecksumFloor::new(hashed, msg.len())),
    })
}

/// The transit inbound gateway's fragmentation (`i2p_tunnel::gateway::fragment_local`).
pub fn inbound_gateway_case() -> Result<Case, Error> {
    let msg = message_bytes()?;
    let mut rng = rand::rng();
    let payloads = fragment_local(&msg, 77, &mut rng)?;
    let (ins, back) = reassemble(payloads.iter())?;
    check(
        ins == DeliveryInstructions::Local && back == msg,
        "fragment_local output reassembles",
    )?;
    let hashed = payloads
        .iter()
        .map(checksummed_len)
        .collect::<Option<Vec<_>>>()
        .ok_or("payload without content")?;
    Ok(Case {
        name: format!(
            "fragment {} B (fragment_local, {} payloads)",
            msg.len(),
            payloads.len()
        ),
        bytes: msg.len(),
        path_desc: "gateway::fragment_local".into(),
        floor_desc: format!(
            "{CHECKSUM_FLOOR} ({} B hashed)",
            hashed.iter().sum::<usize>()
        ),
        path: Box::new(FragmentLocal {
            payloads: payloads.len(),
            msg: msg.clone(),
            rng,
        }),
        floor: Box::new(ChecksumFloor::new(hashed, msg.len())),
    })
}

/// The endpoint's reassembly (`i2p_tunnel::data::Endpoint::receive`).
pub fn endpoint_case() -> Result<Case, Error> {
    let msg = message_bytes()?;
    let mut rng = rand::rng();
    let payloads = gateway_payloads(&msg, &mut rng)?;
    let (_, back) = reassemble(payloads.iter().map(|p| &**p))?;
    check(back == msg, "endpoint reassembles the message")?;
    let hashed = payloads
        .iter()
        .map(|p| checksummed_len(p))
        .collect::<Option<Vec<_>>>()
        .ok_or("payload without content")?;
    Ok(Case {
        name: format!(
            "reassemble {} B (Endpoint, {} payloads)",
            msg.len(),
            payloads.len()
        ),
        bytes: msg.len(),
        path_desc: "data::Endpoint::receive of each payload (checksum, parse, reassembly)".into(),
        floor_desc: format!(
            "{CHECKSUM_FLOOR} ({} B hashed)",
            hashed.iter().sum::<usize>()
        ),
        path: Box::new(Reassemble {
            endpoint: Endpoint::new(EndpointConfig::default()),
            msg: msg.clone(),
            prepared: Vec::new(),
            rng,
            now_ms: now_ms(),
        }),
        floor: Box::new(ChecksumFloor::new(hashed, msg.len())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_hop_forwards_with_our_layer() {
        let mut f = participant_fixture().unwrap();
        for _ in 0..3 {
            participant_round_trip(&mut f).unwrap();
        }
    }

    #[test]
    fn checksum_length_is_found_after_the_padding() {
        let msg = message_bytes().unwrap();
        let payloads = gateway_payloads(&msg, &mut rand::rng()).unwrap();
        let hashed: usize = payloads.iter().map(|p| checksummed_len(p).unwrap()).sum();
        // every content byte once plus one IV per payload; the content is the message plus
        // the fragment headers: 43 B for the first (tunnel instructions, message id, size),
        // 7 B for each follow-on
        let headers = 43 + 7 * (payloads.len() - 1);
        assert_eq!(hashed, msg.len() + headers + 16 * payloads.len());
    }
}
