//! A small timing harness: calibrated batches, a warm-up, the median of several batches.
//!
//! A path and its floor are measured with their batches interleaved ([`measure_pair`]), so
//! that load from other processes hits both alike.
//!
//! Each measured thing is a [`Bench`]: `prepare` gets the inputs of one batch ready outside the
//! clock (frames sealed for an "open" benchmark, a fresh session when a tag set nears its DH
//! ratchet), `run` performs the operations inside it and returns how many of them failed. A
//! batch with a failure aborts the measurement: a benchmark of an error path is worthless.

use std::time::{Duration, Instant};

/// A measured operation. Implementations keep their state between batches.
pub trait Bench {
    /// Untimed: make `iters` operations possible (the default does nothing).
    fn prepare(&mut self, _iters: usize) {}
    /// Timed: perform `iters` operations; returns how many failed (anything but 0 aborts).
    fn run(&mut self, iters: usize) -> usize;
    /// Most operations one batch may hold (state that wears out, e.g. a garlic tag set).
    fn max_batch(&self) -> usize {
        usize::MAX
    }
}

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Time spent running batches before the measured ones.
    pub warmup: Duration,
    /// Target duration of one measured batch.
    pub batch: Duration,
    /// Number of measured batches (the median is reported).
    pub batches: usize,
}

impl Settings {
    /// The normal run: about 1 s per case (path and floor).
    pub const NORMAL: Settings = Settings {
        warmup: Duration::from_millis(200),
        batch: Duration::from_millis(20),
        batches: 21,
    };

    /// A very short run (`I2P_BENCH_QUICK=1`): numbers are noisier but every path still runs.
    pub const QUICK: Settings = Settings {
        warmup: Duration::from_millis(10),
        batch: Duration::from_millis(3),
        batches: 5,
    };

    /// [`Settings::QUICK`] if `I2P_BENCH_QUICK` is set to anything but `0` or empty.
    pub fn from_env() -> Settings {
        match std::env::var("I2P_BENCH_QUICK") {
            Ok(v) if !v.is_empty() && v != "0" => Settings::QUICK,
            _ => Settings::NORMAL,
        }
    }
}

/// The result of measuring one [`Bench`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Median over the batches of nanoseconds per operation.
    pub median_ns: f64,
    /// Fastest and slowest batch, nanoseconds per operation.
    pub min_ns: f64,
    pub max_ns: f64,
    /// Operations per measured batch.
    pub iters: usize,
}

/// A batch had failed operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub failures: usize,
    pub iters: usize,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} operations failed", self.failures, self.iters)
    }
}

impl std::error::Error for Failed {}

fn timed(b: &mut dyn Bench, iters: usize) -> Result<Duration, Failed> {
    b.prepare(iters);
    let start = Instant::now();
    let failures = b.run(iters);
    let elapsed = start.elapsed();
    if failures > 0 {
        return Err(Failed { failures, iters });
    }
    Ok(elapsed)
}

/// Operations per batch so that one batch takes about `settings.batch` (at most the bench's
/// cap): grow from 1 until a batch takes a tenth of the target, then scale.
fn calibrate(b: &mut dyn Bench, settings: &Settings) -> Result<usize, Failed> {
    let cap = b.max_batch().max(1);
    let mut iters = 1usize;
    let mut took = timed(b, iters)?;
    while took < settings.batch / 10 && iters < cap {
        iters = (iters * 2).min(cap);
        took = timed(b, iters)?;
    }
    let per_op = took.as_secs_f64() / iters as f64;
    let want = (settings.batch.as_secs_f64() / per_op.max(1e-12)).ceil();
    // `want` is positive and finite; the float-to-int cast saturates
    Ok((want as usize).clamp(1, cap))
}

fn summarize(mut samples: Vec<f64>, iters: usize) -> Measurement {
    samples.sort_by(f64::total_cmp);
    Measurement {
        median_ns: median(&samples),
        min_ns: samples.first().copied().unwrap_or(0.0),
        max_ns: samples.last().copied().unwrap_or(0.0),
        iters,
    }
}

/// Calibrate the batch size, warm up, then time `settings.batches` batches.
pub fn measure(b: &mut dyn Bench, settings: &Settings) -> Result<Measurement, Failed> {
    let iters = calibrate(b, settings)?;
    let warm_until = Instant::now() + settings.warmup;
    while Instant::now() < warm_until {
        timed(b, iters)?;
    }
    let mut samples = Vec::with_capacity(settings.batches);
    for _ in 0..settings.batches.max(1) {
        let d = timed(b, iters)?;
        samples.push(d.as_nanos() as f64 / iters as f64);
    }
    Ok(summarize(samples, iters))
}

/// Which of a pair failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairFailed {
    First(Failed),
    Second(Failed),
}

impl std::fmt::Display for PairFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PairFailed::First(e) => write!(f, "path: {e}"),
            PairFailed::Second(e) => write!(f, "floor: {e}"),
        }
    }
}

impl std::error::Error for PairFailed {}

/// Measure two benches with their batches interleaved (a, b, a, b, …), so that both see the
/// same machine: on a loaded host the ratio of the two stays meaningful.
pub fn measure_pair(
    a: &mut dyn Bench,
    b: &mut dyn Bench,
    settings: &Settings,
) -> Result<(Measurement, Measurement), PairFailed> {
    let ia = calibrate(a, settings).map_err(PairFailed::First)?;
    let ib = calibrate(b, settings).map_err(PairFailed::Second)?;
    let warm_until = Instant::now() + settings.warmup;
    while Instant::now() < warm_until {
        timed(a, ia).map_err(PairFailed::First)?;
        timed(b, ib).map_err(PairFailed::Second)?;
    }
    let n = settings.batches.max(1);
    let (mut sa, mut sb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let d = timed(a, ia).map_err(PairFailed::First)?;
        sa.push(d.as_nanos() as f64 / ia as f64);
        let d = timed(b, ib).map_err(PairFailed::Second)?;
        sb.push(d.as_nanos() as f64 / ib as f64);
    }
    Ok((summarize(sa, ia), summarize(sb, ib)))
}

/// Median of sorted samples (0 for none).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let hi = sorted.get(n / 2).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        hi
    } else {
        let lo = sorted.get(n / 2 - 1).copied().unwrap_or(0.0);
        (lo + hi) / 2.0
    }
}

/// Megabytes (10^6 bytes) per second for `bytes` per operation at `ns` per operation.
pub fn mb_per_s(bytes: usize, ns: f64) -> f64 {
    if ns <= 0.0 {
        return 0.0;
    }
    bytes as f64 * 1e3 / ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    #[test]
    fn throughput() {
        // 1000 bytes in 1000 ns = 1 GB/s = 1000 MB/s
        assert_eq!(mb_per_s(1000, 1000.0), 1000.0);
        assert_eq!(mb_per_s(1000, 0.0), 0.0);
    }

    struct Counting {
        ran: usize,
        fail_after: usize,
    }

    impl Bench for Counting {
        fn run(&mut self, iters: usize) -> usize {
            let mut failed = 0;
            for _ in 0..iters {
                self.ran += 1;
                if self.ran > self.fail_after {
                    failed += 1;
                }
                std::hint::black_box(self.ran);
            }
            failed
        }
        fn max_batch(&self) -> usize {
            1000
        }
    }

    #[test]
    fn measures_within_the_batch_cap_and_reports_failures() {
        let mut ok = Counting {
            ran: 0,
            fail_after: usize::MAX,
        };
        let m = measure(&mut ok, &Settings::QUICK).unwrap();
        assert!(m.iters <= 1000 && m.iters >= 1);
        assert!(m.min_ns <= m.median_ns && m.median_ns <= m.max_ns);

        let mut bad = Counting {
            ran: 0,
            fail_after: 10,
        };
        assert!(measure(&mut bad, &Settings::QUICK).is_err());

        let mut ok = Counting {
            ran: 0,
            fail_after: usize::MAX,
        };
        let mut bad = Counting {
            ran: 0,
            fail_after: 10,
        };
        assert!(matches!(
            measure_pair(&mut ok, &mut bad, &Settings::QUICK),
            Err(PairFailed::Second(_))
        ));
    }
}
