//! The simulation is only as good as its seams: a router that read the system clock or
//! std's monotonic clock somewhere would mix real and virtual time (timers firing on one,
//! dates on the other) and the figures would be silently wrong. This test keeps the IO shell
//! (`router/node`, `router/transport`) on the one `Clock` and tokio's `Instant`.

use std::path::{Path, PathBuf};

/// Files allowed to read the system clock, and why.
const ALLOWED: &[(&str, &str)] = &[
    // defines system_clock() and virtual_clock()
    ("router/transport/src/env.rs", "the clock seam itself"),
    // now_ms() serves the `reseed` command, which runs outside any router
    (
        "router/node/src/router_info.rs",
        "the command-line reseed's date",
    ),
];

const FORBIDDEN: &[&str] = &[
    "SystemTime::now",
    "std::time::Instant",
    "time::{Duration, Instant}",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_router_reads_time_only_through_its_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["router/node/src", "router/transport/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 20,
        "source files not found under {}",
        root.display()
    );
    let mut offences = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.iter().any(|(a, _)| rel == *a) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if FORBIDDEN.iter().any(|p| line.contains(p)) {
                offences.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "read dates from the router's Clock and use tokio::time::Instant:\n{}",
        offences.join("\n")
    );
}
