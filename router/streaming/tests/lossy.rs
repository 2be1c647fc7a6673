//! Acceptance: bulk transfers over a lossy, reordering, duplicating link in virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Link, Sim};
use i2p_crypto::sha256;
use i2p_streaming::{CloseReason, StreamEvent, StreamId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

fn incoming(events: &[StreamEvent]) -> Option<StreamId> {
    events.iter().find_map(|e| match e {
        StreamEvent::Incoming { id, .. } => Some(*id),
        _ => None,
    })
}

fn closed(events: &[StreamEvent], id: StreamId) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        StreamEvent::Closed { id: i, reason } if *i == id => Some(*reason),
        _ => None,
    })
}

/// Moves `a_data` from A to B and `b_data` from B to A at once, then closes from A.
/// Returns (virtual ms until all data arrived, virtual ms until both sides were closed).
fn exchange(sim: &mut Sim, a_data: &[u8], b_data: &[u8]) -> (u64, u64) {
    sim.b.set_listening(true);
    let start = sim.now;
    let a = sim.a.connect(
        sim.b_dest.clone(),
        1000,
        80,
        sim.now,
        &mut StdRng::seed_from_u64(7),
    );
    let (mut a_pos, mut b_pos) = (0usize, 0usize);
    let (mut at_b, mut at_a) = (Vec::new(), Vec::new());
    let mut b = None;
    let ok = sim.run_until(3_600_000, |sim| {
        if b.is_none() {
            b = incoming(&sim.b_events);
        }
        a_pos += sim.a.write(a, &a_data[a_pos..]);
        at_a.extend(sim.a.read(a, usize::MAX));
        if let Some(b) = b {
            b_pos += sim.b.write(b, &b_data[b_pos..]);
            at_b.extend(sim.b.read(b, usize::MAX));
        }
        at_b.len() == a_data.len() && at_a.len() == b_data.len()
    });
    assert!(
        ok,
        "transfer stalled: B got {} of {}, A got {} of {}",
        at_b.len(),
        a_data.len(),
        at_a.len(),
        b_data.len()
    );
    let data_done = sim.now - start;
    assert_eq!(sha256(&at_b), sha256(a_data), "A→B bytes differ");
    assert_eq!(sha256(&at_a), sha256(b_data), "B→A bytes differ");

    let b = b.unwrap();
    sim.a.close(a);
    let ok = sim.run_until(600_000, |sim| {
        closed(&sim.a_events, a).is_some() && closed(&sim.b_events, b).is_some()
    });
    assert!(
        ok,
        "close did not finish: A {:?} B {:?}",
        sim.a_events.last(),
        sim.b_events.last()
    );
    assert_eq!(closed(&sim.a_events, a), Some(CloseReason::Normal));
    assert_eq!(closed(&sim.b_events, b), Some(CloseReason::Normal));
    assert!(sim.a_events.contains(&StreamEvent::Finished(a)));
    assert!(sim.b_events.contains(&StreamEvent::Finished(b)));
    assert!(sim.a_events.contains(&StreamEvent::Connected(a)));
    // after lingering, both tables are empty
    let ok = sim.run_until(600_000, |sim| {
        sim.a.stream_count() == 0 && sim.b.stream_count() == 0
    });
    assert!(ok, "streams not removed after close");
    (data_done, sim.now - start)
}

fn report(name: &str, sim: &Sim, data_ms: u64, total_ms: u64, bytes: usize) {
    let (sa, sb) = (sim.a.stats(), sim.b.stats());
    println!(
        "{name}: {bytes} bytes in {:.1} s virtual ({:.0} KiB/s), closed at {:.1} s; link: {:?}",
        data_ms as f64 / 1000.0,
        bytes as f64 / 1024.0 / (data_ms as f64 / 1000.0),
        total_ms as f64 / 1000.0,
        sim.link_stats
    );
    println!(
        "  A: sent {} resent {} (fast {}, RTO {}) acks {} dup-in {} | B: sent {} resent {} (fast {}, RTO {}) acks {} dup-in {}",
        sa.packets_sent,
        sa.packets_resent,
        sa.fast_retransmits,
        sa.rto_expirations,
        sa.acks_sent,
        sa.duplicates,
        sb.packets_sent,
        sb.packets_resent,
        sb.fast_retransmits,
        sb.rto_expirations,
        sb.acks_sent,
        sb.duplicates,
    );
}

#[test]
fn ten_mib_one_way_over_lossy_link() {
    let mut sim = Sim::new(Link::lossy(), 42);
    let data = payload(10 * 1024 * 1024, 1);
    let (data_ms, total_ms) = exchange(&mut sim, &data, &[]);
    report(
        "10 MiB A→B, 5% loss, 2% dup, 100±40 ms, 1 MB/s",
        &sim,
        data_ms,
        total_ms,
        data.len(),
    );
    assert!(sim.link_stats.lost > 100, "the link did lose packets");
    assert!(sim.a.stats().packets_resent > 0);
}

#[test]
fn both_ways_at_once_over_lossy_link() {
    let mut sim = Sim::new(Link::lossy(), 43);
    let a_data = payload(1024 * 1024 + 17, 2);
    let b_data = payload(768 * 1024 + 5, 3);
    let (data_ms, total_ms) = exchange(&mut sim, &a_data, &b_data);
    report(
        "1 MiB A→B + 768 KiB B→A",
        &sim,
        data_ms,
        total_ms,
        a_data.len() + b_data.len(),
    );
    assert!(sim.b.stats().packets_resent > 0 && sim.a.stats().packets_resent > 0);
}

#[test]
fn many_seeds_small_transfers() {
    for seed in 0..20 {
        let mut link = Link::lossy();
        link.loss = 0.10;
        link.dup = 0.05;
        let mut sim = Sim::new(link, 100 + seed);
        let a_data = payload(40_000 + seed as usize * 977, seed);
        let b_data = payload(9_000, seed + 1000);
        exchange(&mut sim, &a_data, &b_data);
    }
}
