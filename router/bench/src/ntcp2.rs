//! NTCP2 data-phase frames (`i2p_transport::ntcp2`): a real handshake between two routers of
//! ours gives the two [`DataPhase`]s; frames are built and sealed exactly as the session's
//! write loop does (`FrameBuilder`: I2NP blocks, then 0–15 bytes of padding; then
//! `FrameSender::seal_into`) and opened as its read loop does (`FrameReceiver::frame_len`,
//! `FrameReceiver::open`, `parse_blocks`, which parses each I2NP message).
//!
//! Floor: one SipHash-2-4 length mask and ChaCha20-Poly1305 (seal, or open with tag check)
//! over the mean frame plaintext length the path produced.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use i2p_crypto::{Ed25519SigningKey, X25519Secret};
use i2p_transport::ntcp2::handshake::{
    Initiator, InitiatorParams, ReplayCache, Responder, ResponderParams,
};
use i2p_transport::ntcp2::session::TARGET_FRAME_PLAINTEXT;
use i2p_transport::ntcp2::{Block, DataPhase, FrameBuilder, FrameReceiver, FrameSender};
use i2p_transport::ntcp2::{frame::TAG_LEN, parse_blocks};
use i2p_wire::i2np::{I2npBody, TunnelData};
use i2p_wire::{
    Date, Encode, I2npMessage, RouterAddress, RouterIdentity, RouterInfo, RouterInfoBuilder,
    TunnelId,
};
use rand::RngExt;
use rand::rngs::ThreadRng;

use crate::floor::{AeadFloor, Direction};
use crate::harness::Bench;
use crate::{Case, Error, check, now_ms};

const NET_ID: u8 = 2;

struct Router {
    ri: RouterInfo,
    ri_bytes: Vec<u8>,
    static_key: X25519Secret,
    iv: [u8; 16],
}

fn router(seed: u8, published: Date) -> Result<Router, Error> {
    let sign = Ed25519SigningKey::from_seed([seed; 32]);
    let enc = X25519Secret::from_bytes([seed.wrapping_add(1); 32]);
    let static_key = X25519Secret::from_bytes([seed.wrapping_add(2); 32]);
    let iv = [seed; 16];
    let id =
        RouterIdentity::new_x25519_ed25519(enc.public().as_bytes(), &sign.public(), &[seed; 32])?;
    let addr = RouterAddress::ntcp2_published(
        3,
        static_key.public().as_bytes(),
        &iv,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        12345,
    )?;
    let ri = RouterInfoBuilder::new(id, published)
        .address(addr)
        .net_id(NET_ID)
        .caps("XR")
        .router_version("0.9.58")
        .sign(&|m| sign.sign(m).to_vec())?;
    let ri_bytes = ri.to_bytes();
    Ok(Router {
        ri,
        ri_bytes,
        static_key,
        iv,
    })
}

/// Alice's and Bob's data phases after a complete in-memory NTCP2 handshake.
pub fn data_phase_pair() -> Result<(DataPhase, DataPhase), Error> {
    let now_secs = now_ms() / 1000;
    let now = Date::from_secs(now_secs);
    let (alice, bob) = (router(1, now)?, router(2, now)?);
    let params = InitiatorParams {
        net_id: NET_ID,
        local_static: &alice.static_key,
        local_router_info: &alice.ri_bytes,
        remote_hash: bob.ri.hash(),
        remote_static: *bob.static_key.public().as_bytes(),
        remote_iv: bob.iv,
    };
    let mut rng = rand::rng();
    let (mut init, msg1) = Initiator::start(&params, now_secs, &mut rng)?;
    let mut resp = Responder::new(ResponderParams {
        net_id: NET_ID,
        local_static: bob.static_key.clone(),
        local_hash: bob.ri.hash(),
        local_iv: bob.iv,
    });
    let (head1, pad1) = msg1.split_at(64);
    resp.read_msg1(head1, now_secs, &mut ReplayCache::new())?;
    let msg2 = resp.create_msg2(pad1, now_secs, &mut rng)?;
    let (head2, pad2) = msg2.split_at(64);
    init.read_msg2(head2, now_secs)?;
    let (mut msg3, a) = init.finish(pad2)?;
    let est = resp.read_msg3(&mut msg3, now)?;
    check(
        est.router_info.hash() == alice.ri.hash(),
        "NTCP2 responder saw Alice",
    )?;
    Ok((a, est.data))
}

/// What one frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// One TunnelData message (the transit workload: 1037 bytes with the short header).
    OneTunnelData,
    /// TunnelData messages packed until the frame reaches the write loop's 16 KiB target.
    FullFrame,
}

impl Load {
    fn messages(self) -> Result<Vec<I2npMessage>, Error> {
        let one = |i: u32| -> Result<I2npMessage, Error> {
            Ok(I2npMessage::new(
                0x1000 + i,
                Date::from_millis(now_ms() + 60_000),
                I2npBody::TunnelData(TunnelData {
                    tunnel_id: TunnelId(7000 + i),
                    data: Box::new([i as u8 ^ 0xa5; 1024]),
                }),
            )?)
        };
        match self {
            Load::OneTunnelData => Ok(vec![one(0)?]),
            Load::FullFrame => {
                // as the write loop: keep adding while the frame is under the target
                let mut f = FrameBuilder::new();
                let mut msgs = Vec::new();
                let mut i = 0;
                while f.len() < TARGET_FRAME_PLAINTEXT {
                    let m = one(i)?;
                    check(f.i2np(&m), "a TunnelData message fits a frame")?;
                    msgs.push(m);
                    i += 1;
                }
                Ok(msgs)
            }
        }
    }

    fn label(self, n: usize) -> String {
        match self {
            Load::OneTunnelData => "1 TunnelData".into(),
            Load::FullFrame => format!("{n} TunnelData"),
        }
    }
}

/// One frame as the session's write loop builds it: the I2NP blocks, then a padding block of
/// 0–15 random bytes (`seal_and_write`).
fn build_frame(msgs: &[I2npMessage], rng: &mut ThreadRng) -> Option<Vec<u8>> {
    let mut f = FrameBuilder::new();
    for m in msgs {
        if !f.i2np(m) {
            return None;
        }
    }
    let pad = rng.random_range(0..=15usize);
    f.padding(pad, rng);
    Some(f.finish())
}

/// Mean plaintext length of the frames the path builds (padding is random).
fn mean_frame_len(msgs: &[I2npMessage], rng: &mut ThreadRng) -> Result<usize, Error> {
    let mut total = 0;
    for _ in 0..256 {
        total += build_frame(msgs, rng).ok_or("frame too large")?.len();
    }
    Ok(total.div_ceil(256))
}

/// Build, pad and seal frames (the session write loop's per-frame work).
struct Seal {
    send: FrameSender,
    msgs: Vec<I2npMessage>,
    out: Vec<u8>,
    rng: ThreadRng,
}

impl Bench for Seal {
    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for _ in 0..iters {
            let Some(frame) = build_frame(&self.msgs, &mut self.rng) else {
                failed += 1;
                continue;
            };
            self.out.clear();
            if self.send.seal_into(&frame, &mut self.out).is_err() {
                failed += 1;
            }
            black_box(&self.out);
        }
        failed
    }
}

/// Open frames and parse their blocks (the session read loop's per-frame work); the frames
/// are sealed by the peer's sender in `prepare`.
struct Open {
    send: FrameSender,
    recv: FrameReceiver,
    msgs: Vec<I2npMessage>,
    wire: Vec<Vec<u8>>,
    rng: ThreadRng,
}

impl Open {
    fn open_one(recv: &mut FrameReceiver, wire: &mut [u8], expected: usize) -> bool {
        let Some((len, frame)) = wire.split_first_chunk_mut::<2>() else {
            return false;
        };
        match recv.frame_len(*len) {
            Ok(n) if n == frame.len() => {}
            _ => return false,
        }
        let Ok(n) = recv.open(frame) else {
            return false;
        };
        let Ok(blocks) = parse_blocks(frame.get(..n).unwrap_or_default()) else {
            return false;
        };
        let i2np = blocks
            .iter()
            .filter(|b| matches!(b, Block::I2np(_)))
            .count();
        black_box(&blocks);
        i2np == expected
    }
}

impl Bench for Open {
    fn prepare(&mut self, iters: usize) {
        self.wire.resize_with(iters, Vec::new);
        for w in &mut self.wire {
            w.clear();
            // a frame that cannot be built or sealed stays empty and fails in `run`
            if let Some(frame) = build_frame(&self.msgs, &mut self.rng) {
                let _ = self.send.seal_into(&frame, w);
            }
        }
    }

    fn run(&mut self, iters: usize) -> usize {
        let expected = self.msgs.len();
        let mut failed = iters.saturating_sub(self.wire.len());
        for w in self.wire.iter_mut().take(iters) {
            if !Open::open_one(&mut self.recv, w, expected) {
                failed += 1;
            }
        }
        failed
    }
}

/// Seal one frame with Alice's sender and open it with Bob's receiver: the blocks must come
/// back as the messages that went in.
fn round_trip(a: &mut DataPhase, b: &mut DataPhase, msgs: &[I2npMessage]) -> Result<(), Error> {
    let mut rng = rand::rng();
    let frame = build_frame(msgs, &mut rng).ok_or("frame too large")?;
    let mut wire = Vec::new();
    a.send.seal_into(&frame, &mut wire)?;
    check(
        wire.len() == 2 + frame.len() + TAG_LEN,
        "NTCP2 frame length",
    )?;
    let (len, rest) = wire.split_first_chunk_mut::<2>().ok_or("short frame")?;
    check(b.recv.frame_len(*len)? == rest.len(), "NTCP2 length mask")?;
    let n = b.recv.open(rest)?;
    let blocks = parse_blocks(rest.get(..n).ok_or("open length")?)?;
    let got: Vec<&I2npMessage> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::I2np(m) => Some(&**m),
            _ => None,
        })
        .collect();
    check(got.len() == msgs.len(), "NTCP2 frame carries every message")?;
    for (g, m) in got.iter().zip(msgs) {
        check(
            g.body() == m.body() && g.msg_id() == m.msg_id(),
            "NTCP2 message survives the frame",
        )?;
    }
    Ok(())
}

/// Build, pad and seal one frame.
pub fn seal_case(load: Load) -> Result<Case, Error> {
    let (mut a, mut b) = data_phase_pair()?;
    let msgs = load.messages()?;
    round_trip(&mut a, &mut b, &msgs)?;
    let len = mean_frame_len(&msgs, &mut rand::rng())?;
    Ok(Case {
        name: format!("NTCP2 seal, {}", load.label(msgs.len())),
        bytes: len,
        path_desc: "FrameBuilder (I2NP blocks + 0-15 B padding) + FrameSender::seal_into".into(),
        floor_desc: format!("SipHash length mask + ChaCha20-Poly1305 seal of {len} B"),
        path: Box::new(Seal {
            send: a.send,
            msgs,
            out: Vec::new(),
            rng: rand::rng(),
        }),
        floor: Box::new(AeadFloor::new(Direction::Seal, len, 0).with_siphash_mask()),
    })
}

/// Open one frame and parse its blocks and I2NP messages.
pub fn open_case(load: Load) -> Result<Case, Error> {
    let (mut a, mut b) = data_phase_pair()?;
    let msgs = load.messages()?;
    round_trip(&mut a, &mut b, &msgs)?;
    let len = mean_frame_len(&msgs, &mut rand::rng())?;
    Ok(Case {
        name: format!("NTCP2 open, {}", load.label(msgs.len())),
        bytes: len,
        path_desc: "FrameReceiver::frame_len + open + parse_blocks (I2NP parsed)".into(),
        floor_desc: format!("SipHash length mask + ChaCha20-Poly1305 open of {len} B"),
        path: Box::new(Open {
            send: a.send,
            recv: b.recv,
            msgs,
            wire: Vec::new(),
            rng: rand::rng(),
        }),
        floor: Box::new(AeadFloor::new(Direction::Open, len, 0).with_siphash_mask()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_frame_is_packed_like_the_write_loop() {
        let msgs = Load::FullFrame.messages().unwrap();
        // 1040 bytes per TunnelData block: 16 blocks pass 16 KiB
        assert_eq!(msgs.len(), 16);
        let (mut a, mut b) = data_phase_pair().unwrap();
        for _ in 0..3 {
            round_trip(&mut a, &mut b, &msgs).unwrap();
        }
    }
}
