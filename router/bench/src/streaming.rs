//! Streaming (`i2p_streaming::StreamManager`): two managers with an established stream (real
//! SYN, signed, and SYN reply), joined by a lossless in-memory link in virtual time. One
//! operation writes one MTU of data (1730 bytes) at A, moves A's packet to B (`on_packet`:
//! parse, window, buffer), reads it at B, and carries B's ACKs back to A whenever they are due
//! — the packet handling of a bulk transfer, ACK share included.
//!
//! Floor: data packets carry no cryptography of their own (only SYN, CLOSE, RESET and pings
//! are signed; the garlic layer encrypts, measured separately), so the floor is the memory
//! movement every implementation needs: the payload copied into a packet and out to the
//! reader, two copies of 1730 bytes.

use std::hint::black_box;

use i2p_crypto::Ed25519SigningKey;
use i2p_streaming::{StreamConfig, StreamEvent, StreamId, StreamManager};
use i2p_wire::{Destination, SigType};
use rand::rngs::ThreadRng;

use crate::floor::CopyFloor;
use crate::harness::Bench;
use crate::{Case, Error, check};

fn manager(seed: u8) -> Result<(StreamManager, Destination), Error> {
    let k = Ed25519SigningKey::from_seed([seed; 32]);
    let d = Destination::new(SigType::Ed25519, &k.public(), &[seed ^ 0x5a; 32])?;
    let m = StreamManager::new(
        StreamConfig::default(),
        d.clone(),
        64,
        Box::new(move |m| k.sign(m).to_vec()),
    );
    Ok((m, d))
}

/// Two managers and one established stream from A to B.
pub struct Link {
    pub a: StreamManager,
    pub b: StreamManager,
    pub a_id: StreamId,
    pub b_id: StreamId,
    /// Virtual milliseconds.
    pub now: u64,
    rng: ThreadRng,
    events: usize,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Link {
    pub fn establish() -> Result<Link, Error> {
        let (mut a, _) = manager(1)?;
        let (mut b, b_dest) = manager(2)?;
        b.set_listening(true);
        let mut rng = rand::rng();
        let now = 1_000_000;
        let a_id = a.connect(b_dest, 1000, 80, now, &mut rng);
        let mut link = Link {
            a,
            b,
            a_id,
            b_id: StreamId(0),
            now,
            rng,
            events: 0,
        };
        let mut connected = false;
        for _ in 0..8 {
            link.exchange();
            while let Some(e) = link.a.poll_event() {
                connected |= e == StreamEvent::Connected(a_id);
            }
            while let Some(e) = link.b.poll_event() {
                if let StreamEvent::Incoming { id, .. } = e {
                    link.b_id = id;
                }
            }
            if connected && link.b_id != StreamId(0) {
                return Ok(link);
            }
            link.advance();
        }
        Err("streaming: the stream did not connect".into())
    }

    /// Deliver everything both sides want to send now, until neither has more.
    fn exchange(&mut self) {
        loop {
            let mut any = false;
            while let Some(t) = self.a.poll_transmit(self.now) {
                let _ =
                    self.b
                        .on_packet(&t.packet, t.from_port, t.to_port, self.now, &mut self.rng);
                any = true;
            }
            while let Some(t) = self.b.poll_transmit(self.now) {
                let _ =
                    self.a
                        .on_packet(&t.packet, t.from_port, t.to_port, self.now, &mut self.rng);
                any = true;
            }
            if !any {
                break;
            }
        }
    }

    /// Jump to the earliest timer and run it (an ACK falling due, typically). False if no
    /// timer is set.
    fn advance(&mut self) -> bool {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = next else { return false };
        self.now = self.now.max(t);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        true
    }

    /// One operation: write `data` at A, until B has read all of it. True on success.
    pub fn transfer(&mut self, data: &[u8]) -> bool {
        self.transfer_into(data, None)
    }

    /// [`Link::transfer`], appending what B read to `keep` if given.
    pub fn transfer_into(&mut self, data: &[u8], mut keep: Option<&mut Vec<u8>>) -> bool {
        self.now += 1;
        let mut written = 0;
        let mut read = 0;
        for _ in 0..16 {
            if written < data.len() {
                written += self
                    .a
                    .write(self.a_id, data.get(written..).unwrap_or_default());
            }
            self.exchange();
            let got = self.b.read(self.b_id, usize::MAX);
            read += got.len();
            if let Some(k) = keep.as_deref_mut() {
                k.extend_from_slice(&got);
            }
            black_box(got);
            // the caller's event loop drains the events
            while let Some(e) = self.a.poll_event() {
                black_box(e);
                self.events += 1;
            }
            while let Some(e) = self.b.poll_event() {
                black_box(e);
                self.events += 1;
            }
            if read >= data.len() {
                break;
            }
            // window full or nothing sent yet: wait for the next timer (B's ACK)
            if !self.advance() {
                break;
            }
        }
        read == data.len()
    }
}

struct Transfer {
    link: Link,
    data: Vec<u8>,
}

impl Bench for Transfer {
    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for _ in 0..iters {
            if !self.link.transfer(&self.data) {
                failed += 1;
            }
        }
        failed
    }
}

/// One MTU-sized data packet from A's write to B's read, with its share of ACKs.
pub fn data_packet_case() -> Result<Case, Error> {
    let mut link = Link::establish()?;
    let mtu = usize::from(StreamConfig::default().mtu);
    let data: Vec<u8> = (0..mtu).map(|i| (i % 241) as u8).collect();
    // the bytes arrive intact and in order
    let mut got = Vec::new();
    for _ in 0..4 {
        check(
            link.transfer_into(&data, Some(&mut got)),
            "streaming transfer",
        )?;
    }
    check(
        got.len() == 4 * data.len() && got.chunks(data.len()).all(|c| c == data),
        "streaming data arrives intact",
    )?;
    Ok(Case {
        name: format!("streaming {mtu} B data packet A->B"),
        bytes: mtu,
        path_desc: "write, poll_transmit, on_packet, read, ACKs due, events".into(),
        floor_desc: format!("no crypto on data packets: 2 copies of {mtu} B (memcpy)"),
        path: Box::new(Transfer { link, data }),
        floor: Box::new(CopyFloor::new(mtu, 2)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long run: every packet arrives, none is retransmitted (the virtual clock never lets
    /// an RTO fire), and ACKs flow.
    #[test]
    fn bulk_transfer_without_retransmissions() {
        let mut link = Link::establish().unwrap();
        let data = vec![7u8; 1730];
        for _ in 0..3000 {
            assert!(link.transfer(&data));
        }
        let a = link.a.stats();
        let b = link.b.stats();
        assert_eq!(a.packets_resent, 0);
        assert_eq!(b.bytes_received, 3000 * 1730);
        assert!(b.acks_sent > 10, "{b:?}");
        assert!(
            b.acks_sent < 3000,
            "ACKs are delayed and cover several packets: {b:?}"
        );
    }
}
