//! Micro-benchmarks of the router's hot paths, each measured beside the bare cost of the
//! cryptographic primitive(s) it is built on, run over the same number of bytes: the
//! "physical floor" no implementation of the path can go below. The reported ratio
//! `path / floor` is how much the router's code costs on top of its crypto.
//!
//! Every path is the router's own code reached through its crates' public APIs (nothing is
//! re-implemented here); every floor calls the `i2p-crypto` primitive directly. Building a
//! [`Case`] runs its path once and checks the result (a frame opens to the message sealed, a
//! reassembled message equals the one fragmented, …), and every timed operation reports
//! failure, so a benchmark can never quietly measure an error path.
//!
//! Run with `cargo bench -p i2p-bench` (or `cargo bench` at the workspace root);
//! `I2P_BENCH_QUICK=1` gives a very short run. `cargo test -p i2p-bench` builds every case
//! and runs each path and floor a few times.
//!
//! | module | cases |
//! |---|---|
//! | [`ntcp2`] | NTCP2 data-phase frame seal and open (one TunnelData message; a 16 KiB frame) |
//! | [`tunnel`] | participant hop (layer only; `Transit::on_tunnel_data`), gateway fragmentation, endpoint reassembly |
//! | [`garlic`] | ECIES-X25519-AEAD-Ratchet Existing Session seal and open |
//! | [`streaming`] | one data packet through two `StreamManager`s, with its share of ACKs |

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod floor;
pub mod garlic;
pub mod harness;
pub mod ntcp2;
pub mod streaming;
pub mod tunnel;

use harness::{Bench, Measurement, Settings, mb_per_s, measure_pair};

/// Setup errors (a case that cannot be built or whose path does not round-trip).
pub type Error = Box<dyn std::error::Error>;

/// Turn a failed check into an [`Error`].
pub(crate) fn check(ok: bool, what: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(format!("setup check failed: {what}").into())
    }
}

/// Milliseconds since the Unix epoch (handshakes and build records check timestamps).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One benchmarked hot path and its floor.
pub struct Case {
    /// Short name for the table.
    pub name: String,
    /// Bytes one operation processes (for MB/s); 0 where throughput means nothing.
    pub bytes: usize,
    /// What the path operation includes.
    pub path_desc: String,
    /// What the floor operation includes.
    pub floor_desc: String,
    pub path: Box<dyn Bench>,
    pub floor: Box<dyn Bench>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// Every case, in table order. Building them runs each path once and checks its output.
pub fn all_cases() -> Result<Vec<Case>, Error> {
    Ok(vec![
        ntcp2::seal_case(ntcp2::Load::OneTunnelData)?,
        ntcp2::open_case(ntcp2::Load::OneTunnelData)?,
        ntcp2::seal_case(ntcp2::Load::FullFrame)?,
        ntcp2::open_case(ntcp2::Load::FullFrame)?,
        tunnel::layer_case()?,
        tunnel::participant_case()?,
        tunnel::gateway_case()?,
        tunnel::inbound_gateway_case()?,
        tunnel::endpoint_case()?,
        garlic::seal_case()?,
        garlic::open_case()?,
        streaming::data_packet_case()?,
    ])
}

/// The measurements of one case.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub bytes: usize,
    pub path: Measurement,
    pub floor: Measurement,
}

impl Row {
    /// Path cost over floor cost.
    pub fn ratio(&self) -> f64 {
        if self.floor.median_ns > 0.0 {
            self.path.median_ns / self.floor.median_ns
        } else {
            f64::INFINITY
        }
    }
}

/// Measure one case: the path and its floor, batches interleaved.
pub fn run_case(case: &mut Case, settings: &Settings) -> Result<Row, Error> {
    let (path, floor) = measure_pair(case.path.as_mut(), case.floor.as_mut(), settings)
        .map_err(|e| format!("{}: {e}", case.name))?;
    Ok(Row {
        name: case.name.clone(),
        bytes: case.bytes,
        path,
        floor,
    })
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0} µs", ns / 1000.0)
    } else if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The result table, aligned, one line per case.
pub fn table(rows: &[Row]) -> String {
    let head = [
        "case",
        "bytes",
        "path/op",
        "path MB/s",
        "floor/op",
        "floor MB/s",
        "ratio",
        "over floor",
        "spread",
    ];
    let mut lines: Vec<[String; 9]> = vec![head.map(String::from)];
    for r in rows {
        let mbs = |ns: f64| {
            if r.bytes == 0 {
                "-".to_string()
            } else {
                format!("{:.0}", mb_per_s(r.bytes, ns))
            }
        };
        // spread: slowest over fastest batch of the path, a noise indicator
        let spread = if r.path.min_ns > 0.0 {
            format!("±{:.0}%", (r.path.max_ns / r.path.min_ns - 1.0) * 50.0)
        } else {
            "-".into()
        };
        lines.push([
            r.name.clone(),
            r.bytes.to_string(),
            fmt_ns(r.path.median_ns),
            mbs(r.path.median_ns),
            fmt_ns(r.floor.median_ns),
            mbs(r.floor.median_ns),
            format!("{:.2}x", r.ratio()),
            format!(
                "+{}",
                fmt_ns((r.path.median_ns - r.floor.median_ns).max(0.0))
            ),
            spread,
        ]);
    }
    let mut width = [0usize; 9];
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let mut line = String::new();
        for (j, (c, w)) in l.iter().zip(width.iter()).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            if j == 0 {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            let total: usize = width.iter().sum::<usize>() + 2 * (width.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case builds (its setup checks pass) and its path and floor run without a failed
    /// operation, across several batches.
    #[test]
    fn every_case_runs_its_path_and_floor() {
        let mut cases = all_cases().unwrap();
        assert_eq!(cases.len(), 12);
        for c in &mut cases {
            for b in [&mut c.path, &mut c.floor] {
                for n in [1, 7, 20] {
                    let n = n.min(b.max_batch());
                    b.prepare(n);
                    assert_eq!(b.run(n), 0, "{}", c.name);
                }
            }
        }
    }

    #[test]
    fn table_is_aligned() {
        let m = |ns| Measurement {
            median_ns: ns,
            min_ns: ns,
            max_ns: ns,
            iters: 1,
        };
        let rows = vec![
            Row {
                name: "a".into(),
                bytes: 1000,
                path: m(2000.0),
                floor: m(1000.0),
            },
            Row {
                name: "longer name".into(),
                bytes: 0,
                path: m(50.0),
                floor: m(25.0),
            },
        ];
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].contains("2.00x") && lines[2].contains("2.00 µs"));
        assert!(lines[2].contains("+1.00 µs") && lines[3].contains("+25 ns"));
        assert!(lines[3].contains(" - "));
        // the ratio column ends at the same place on every data line
        let end = |l: &str| l.chars().position(|c| c == 'x').unwrap();
        assert_eq!(end(lines[2]), end(lines[3]));
    }
}
