//! `i2p-sim`: run the bootstrap scenario (README "Simulation") and print its report.
//!
//! `cargo run --release -p i2p-sim -- --routers 1000` is the full size; see `--help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use i2p_sim::net::LinkModel;
use i2p_sim::scenario::{self, SimConfig};

/// Many routers of this project in one process, on an in-memory network and a virtual clock:
/// bootstrap from one seed, build tunnels, publish and look up LeaseSets.
#[derive(Debug, Parser)]
#[command(name = "i2p-sim", version)]
struct Args {
    /// Routers in the network (at most 4096).
    #[arg(long, default_value_t = 1000)]
    routers: usize,
    /// Share of floodfills in percent (the seed router is one).
    #[arg(long, default_value_t = 5.0)]
    floodfill_percent: f64,
    /// Seeds identities, roles, link latencies and the scenario's choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Routers started per virtual second after the seed.
    #[arg(long, default_value_t = 10.0)]
    join_per_sec: f64,
    /// Virtual minutes before the destinations start and the measurement window opens.
    #[arg(long, default_value_t = 10.0)]
    warmup_min: f64,
    /// Virtual minutes of the whole run.
    #[arg(long, default_value_t = 25.0)]
    duration_min: f64,
    /// Routers that publish a destination after the warm-up.
    #[arg(long, default_value_t = 100)]
    publishers: usize,
    /// LeaseSet lookups by other routers, spread over 5 virtual minutes.
    #[arg(long, default_value_t = 1000)]
    lookups: usize,
    /// Hops of the destinations' tunnels.
    #[arg(long, default_value_t = 2)]
    dest_hops: u8,
    /// Smallest one-way link latency (virtual ms).
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Extra latency per router pair, spread evenly over 0..=this (virtual ms).
    #[arg(long, default_value_t = 130)]
    jitter_ms: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,i2p_sim=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let minutes = |m: f64| Duration::try_from_secs_f64(m * 60.0).ok();
    let (Some(warmup), Some(duration)) = (minutes(args.warmup_min), minutes(args.duration_min))
    else {
        eprintln!(
            "i2p-sim: --warmup-min and --duration-min must be non-negative numbers of minutes"
        );
        return ExitCode::FAILURE;
    };
    if !(args.join_per_sec > 0.0 && args.join_per_sec.is_finite()) {
        eprintln!("i2p-sim: --join-per-sec must be a positive number");
        return ExitCode::FAILURE;
    }
    if !(0.0..=100.0).contains(&args.floodfill_percent) {
        eprintln!("i2p-sim: --floodfill-percent must be within 0..=100");
        return ExitCode::FAILURE;
    }
    let cfg = SimConfig {
        routers: args.routers,
        floodfill_percent: args.floodfill_percent,
        seed: args.seed,
        join_per_sec: args.join_per_sec,
        warmup,
        duration,
        publishers: args.publishers,
        lookups: args.lookups,
        dest_hops: args.dest_hops,
        link: LinkModel {
            base_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
        },
        ..SimConfig::default()
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("i2p-sim: cannot make a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match scenario::run(&cfg, dir.path()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("i2p-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report.table());
    if let Some(path) = args.json
        && let Err(e) = std::fs::write(&path, report.to_json() + "\n")
    {
        eprintln!("i2p-sim: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
