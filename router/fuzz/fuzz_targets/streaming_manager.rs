//! `StreamManager::on_packet` on a listening manager with one open incoming stream, mixed with
//! timer ticks and application calls (write, read, close, reset), draining `poll_transmit`
//! and `poll_event` after every step.
//!
//! Input: a sequence of operations, each one byte `op` and its arguments (`op & 7` picks it):
//! - 0–3: a packet, `u16` big-endian length then that many bytes. `op & 0x08`: overwrite
//!   the stream ids with the open stream's (so the fuzzer reaches the stream's state machine);
//!   `op & 0x10`: if the bytes parse, sign them with the peer's real key (so CLOSE, RESET and
//!   SYN-reply paths are reachable); `op & 0x20`: swap the ports.
//! - 4: advance the clock by the next byte × 50 ms and run `handle_timeout` when due.
//! - 5: the application writes next byte × 64 bytes.
//! - 6: the application reads everything.
//! - 7: the application closes (`op & 0x08`: resets) the stream.
//!
//! Guaranteed by i2p-streaming (lib.rs): nothing from the network panics. Asserted beyond that:
//! `poll_transmit` runs dry (a stream cannot produce packets forever without new input).
#![no_main]

use i2p_crypto::Ed25519SigningKey;
use i2p_streaming::{StreamConfig, StreamEvent, StreamManager};
use i2p_wire::{Destination, Encode, SigType, StreamPacket};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_800_000_000_000;
/// More packets than one step can legitimately produce (window, send buffer, control).
const MAX_TRANSMITS: usize = 4096;

fn identity(seed: u8) -> (Ed25519SigningKey, Destination) {
    let k = Ed25519SigningKey::from_seed([seed; 32]);
    let d = Destination::new(SigType::Ed25519, &k.public(), &[seed; 32])
        .unwrap_or_else(|e| panic!("test destination: {e}"));
    (k, d)
}

fn drain(m: &mut StreamManager, now: u64) {
    let mut n = 0;
    while m.poll_transmit(now).is_some() {
        n += 1;
        assert!(n < MAX_TRANSMITS, "poll_transmit never runs dry");
    }
    while m.poll_event().is_some() {}
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if data.len() < n {
        return None;
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Some(head)
}

fuzz_target!(|input: &[u8]| {
    let (a_key, a_dest) = identity(1);
    let (b_key, b_dest) = identity(2);
    let mut rng = StdRng::seed_from_u64(1);
    let mut a = StreamManager::new(
        StreamConfig::default(),
        a_dest,
        64,
        Box::new(move |m| a_key.sign(m).to_vec()),
    );
    let mut b = StreamManager::new(
        StreamConfig::default(),
        b_dest.clone(),
        64,
        Box::new(move |m| b_key.sign(m).to_vec()),
    );
    b.set_listening(true);
    let mut now = NOW;
    let a_id = a.connect(b_dest, 7, 80, now, &mut rng);
    let Some(syn) = a.poll_transmit(now) else {
        panic!("no SYN")
    };
    let accepted = b.on_packet(&syn.packet, 7, 80, now, &mut rng);
    assert!(accepted.is_ok(), "a valid SYN is accepted: {accepted:?}");
    let Some(StreamEvent::Incoming { id: b_id, .. }) = b.poll_event() else {
        panic!("no Incoming event")
    };
    drain(&mut b, now);
    let (a_key, _) = identity(1);

    let mut data = input;
    while let Some(op) = take(&mut data, 1).and_then(|o| o.first().copied()) {
        match op & 7 {
            0..=3 => {
                let Some(len) = take(&mut data, 2) else { break };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let len = len.min(data.len());
                let Some(bytes) = take(&mut data, len) else {
                    break;
                };
                let mut bytes = bytes.to_vec();
                if op & 0x08 != 0 && bytes.len() >= 8 {
                    bytes[..4].copy_from_slice(&b_id.0.to_be_bytes());
                    bytes[4..8].copy_from_slice(&a_id.0.to_be_bytes());
                }
                if op & 0x10 != 0 {
                    if let Ok(mut p) = StreamPacket::parse(&bytes) {
                        let len = p.signature.as_ref().map_or(64, Vec::len);
                        if p.sign(len, &|m| a_key.sign(m).to_vec()).is_ok() {
                            bytes = p.to_bytes();
                        }
                    }
                }
                let (fp, tp) = if op & 0x20 != 0 { (80, 7) } else { (7, 80) };
                let _ = b.on_packet(&bytes, fp, tp, now, &mut rng);
            }
            4 => {
                let Some(d) = take(&mut data, 1) else { break };
                now += u64::from(d[0]) * 50;
                if b.poll_timeout().is_some_and(|t| t <= now) {
                    b.handle_timeout(now);
                }
            }
            5 => {
                let Some(d) = take(&mut data, 1) else { break };
                let _ = b.write(b_id, &vec![0x42; usize::from(d[0]) * 64]);
            }
            6 => {
                let _ = b.read(b_id, usize::MAX);
            }
            _ => {
                if op & 0x08 != 0 {
                    b.reset(b_id);
                } else {
                    b.close(b_id);
                }
            }
        }
        drain(&mut b, now);
        let _ = (b.stats(), b.stream_info(b_id), b.send_capacity(b_id));
    }
    // let every timer run out
    for _ in 0..64 {
        let Some(t) = b.poll_timeout() else { break };
        now = now.max(t);
        b.handle_timeout(now);
        drain(&mut b, now);
    }
});
