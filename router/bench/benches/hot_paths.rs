//! `cargo bench -p i2p-bench`: the router's hot paths beside their crypto floor.
//!
//! Prints a header naming what every path and floor includes, then one aligned table.
//! `I2P_BENCH_QUICK=1` runs very short batches (numbers noisier, every path still checked), as
//! does running it without cargo bench's `--bench` flag (`cargo test --benches`). A free
//! argument keeps only the cases whose name contains it: `cargo bench -p i2p-bench -- garlic`.
//! The cases and the harness live in the `i2p_bench` library (see its docs).

// A benchmark whose setup is broken must stop with the reason rather than print numbers.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Instant;

use i2p_bench::harness::Settings;
use i2p_bench::{Row, all_cases, run_case, table};

fn main() -> ExitCode {
    // `cargo bench -- --filter` style arguments: the first free argument filters case names
    let filter: Option<String> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|s| s.to_lowercase());
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) this is a smoke run
    let smoke = !std::env::args().any(|a| a == "--bench");
    let settings = if smoke {
        Settings::QUICK
    } else {
        Settings::from_env()
    };
    let started = Instant::now();
    let mut cases = match all_cases() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("i2p-bench: setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    cases.retain(|c| {
        filter
            .as_ref()
            .is_none_or(|f| c.name.to_lowercase().contains(f))
    });

    println!("i2p-bench: hot paths of the router beside their crypto floor");
    println!(
        "  each row: median ns/op over {} batches of ~{} ms after {} ms warm-up; ratio = path / floor",
        settings.batches,
        settings.batch.as_millis(),
        settings.warmup.as_millis()
    );
    println!("  every path was run once and checked to round-trip before timing");
    if smoke {
        println!("  (not run by `cargo bench`: a short smoke run, numbers are indicative only)");
    }
    println!();
    for c in &cases {
        println!("  {}", c.name);
        println!("      path:  {}", c.path_desc);
        println!("      floor: {}", c.floor_desc);
    }
    println!();

    let mut rows: Vec<Row> = Vec::new();
    for c in &mut cases {
        match run_case(c, &settings) {
            Ok(r) => {
                println!(
                    "  measured {:<48} {:>10.0} ns/op  floor {:>9.0} ns/op  {:>6.2}x",
                    r.name,
                    r.path.median_ns,
                    r.floor.median_ns,
                    r.ratio()
                );
                rows.push(r);
            }
            Err(e) => {
                eprintln!("i2p-bench: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!();
    print!("{}", table(&rows));
    println!(
        "\n  (MB/s = 10^6 bytes per second of the row's bytes; over floor = path - floor per op;\n   spread = half the range of the path's batches, a noise indicator; total {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
