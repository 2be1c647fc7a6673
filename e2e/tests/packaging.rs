//! Issue 9 acceptance 2: the packaging validates offline, without a cluster, a registry or a
//! Docker daemon.
//!
//! - The Helm chart (`helm/i2p-router`): `helm lint --strict` and `helm template` through
//!   helm-python-sdk (PyPI; it bundles Helm's Go library), then every manifest through
//!   kubernetes-validate (PyPI; the Kubernetes schemas, strict) for the default values, both
//!   examples and two more cases; the chart's promises (probes, securityContext, ports, keys
//!   from a Secret, native sidecar) are checked in `helm_chart.py`, which also shows that its
//!   checks refuse broken input. Each rendered router config is then loaded by the real
//!   `i2p-router` (`tunnels --config`).
//! - `compose.yaml`, alone and with `e2e/compose.testnet.yaml`, through `docker-compose config`;
//!   in the testnet overlay every network is internal and nothing is published.
//! - The configs shipped for containers load in the router, and the Dockerfile exposes exactly
//!   the ports of the image's config.
//!
//! The Python packages are pip-installed into a venv cached under the cargo target dir
//! (`e2e-python/`), as in `sam_clients.rs`; a missing python3, pip failure or a missing
//! docker-compose fails the test with the command that installs it.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use i2p_e2e::OurRouter;

/// Pinned: helm_chart.py uses their APIs (`helm_python.lint/Chart.render`,
/// `kubernetes_validate.utils.validate`).
const PY_PACKAGES: [&str; 2] = ["helm-python-sdk==0.2.2", "kubernetes-validate==1.37.0"];
const CHART_SCRIPT: &str = include_str!("helm_chart.py");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}): {cmd:?}\n{text}",
        out.status
    );
    text
}

/// `<target>/e2e-python/<packages>` when run from a cargo target dir, else a temp dir.
fn venv_dir(tmp: &Path) -> PathBuf {
    let exe = std::env::current_exe().ok();
    let target = exe
        .as_deref()
        .and_then(Path::parent)
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent);
    let name = format!("packaging-{}", PY_PACKAGES.join("-").replace("==", "-"));
    match target {
        Some(t) => t.join("e2e-python").join(name),
        None => tmp.join(name),
    }
}

/// A venv with the pinned packages (pip from PyPI the first time); returns its python.
fn python_venv(tmp: &Path) -> PathBuf {
    let dir = venv_dir(tmp);
    let python = dir.join("bin").join("python");
    let usable = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import helm_python, kubernetes_validate, yaml; helm_python.helm_sdk_version()",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if usable(&python) {
        println!("python venv (cached): {}", dir.display());
        return python;
    }
    let system = i2p_e2e::env::find_program("python3").expect(
        "python3 is not installed (scripts/test.sh installs it as root: apt-get install python3 \
         python3-venv)",
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let t = Instant::now();
    run(
        "create a python venv (Debian: apt-get install python3-venv)",
        Command::new(&system).arg("-m").arg("venv").arg(&dir),
    );
    let log = run(
        "pip install from PyPI",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--timeout",
                "30",
                "--retries",
                "2",
            ])
            .args(PY_PACKAGES),
    );
    assert!(
        usable(&python),
        "the venv at {} cannot import helm_python and kubernetes_validate after pip install:\n{log}",
        dir.display()
    );
    println!(
        "python venv made in {:.1} s: {} ({})",
        t.elapsed().as_secs_f64(),
        dir.display(),
        PY_PACKAGES.join(", ")
    );
    python
}

/// `i2p-router tunnels` with this config: it must load (exit 0); returns the tunnel list.
fn router_loads(config: &Path) -> String {
    let bin = OurRouter::binary().unwrap_or_else(|e| panic!("{e}"));
    let data = tempfile::tempdir().unwrap();
    run(
        &format!("i2p-router loading {}", config.display()),
        Command::new(bin)
            .arg("tunnels")
            .arg("--data-dir")
            .arg(data.path())
            .arg("--config")
            .arg(config),
    )
}

fn docker_compose() -> PathBuf {
    i2p_e2e::env::find_program("docker-compose").expect(
        "docker-compose is not installed (scripts/test.sh installs it as root: apt-get install \
         docker-compose)",
    )
}

#[test]
fn helm_chart_lints_renders_and_validates_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let python = python_venv(tmp.path());
    let script = tmp.path().join("helm_chart.py");
    std::fs::write(&script, CHART_SCRIPT).unwrap();
    let out = tmp.path().join("rendered");
    let t = Instant::now();
    let log = run(
        "helm_chart.py (lint, template, kubernetes-validate)",
        Command::new(&python)
            .arg(&script)
            .arg(repo_root().join("helm/i2p-router"))
            .arg(&out),
    );
    println!("{log}");
    println!("chart checks took {:.1} s", t.elapsed().as_secs_f64());
    assert!(log.contains("chart checks: all passed"), "{log}");

    // every rendered router config loads in the router itself, with the tunnels of the values
    let mut cases = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let config = entry.unwrap().path().join("config.yaml");
        let list = router_loads(&config);
        println!("{}:\n{list}", config.display());
        cases += 1;
    }
    assert_eq!(cases, 5, "one rendered config per values case");
    let sidecar = router_loads(&out.join("sidecar/config.yaml"));
    assert!(
        sidecar.contains("website\thttp\t-> 127.0.0.1:8080"),
        "{sidecar}"
    );
}

#[test]
fn compose_files_validate_and_the_testnet_overlay_is_isolated() {
    let root = repo_root();
    let compose = docker_compose();
    let base = run(
        "docker-compose config (compose.yaml)",
        Command::new(&compose)
            .current_dir(&root)
            .args(["-f", "compose.yaml", "config"]),
    );
    // the router: image built from the Dockerfile, named volume on /data, health check
    for want in [
        "context: ",
        "- data:/data",
        "/usr/local/bin/i2p-router",
        "- healthcheck",
        "read_only: true",
        "- ALL",
    ] {
        assert!(base.contains(want), "compose.yaml lacks {want:?}:\n{base}");
    }
    assert!(
        !base.contains("ports:"),
        "compose.yaml publishes ports by default:\n{base}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let merged = run(
        "docker-compose config (compose.yaml + e2e/compose.testnet.yaml)",
        Command::new(&compose)
            .current_dir(&root)
            .env("E2E_DIR", tmp.path())
            .env("TESTNET_IMAGE", "testnet:check")
            .env("I2P_ROUTER_IMAGE", "i2p-router:check")
            .args([
                "-f",
                "compose.yaml",
                "-f",
                "e2e/compose.testnet.yaml",
                "config",
            ]),
    );
    // the networks section: exactly `default` and `testnet`, both internal
    let networks: Vec<&str> = merged
        .split("\nservices:")
        .next()
        .unwrap()
        .lines()
        .collect();
    let names: Vec<&str> = networks
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':'))
        .collect();
    assert_eq!(names, ["default", "testnet"], "{merged}");
    assert_eq!(
        networks
            .iter()
            .filter(|l| l.trim() == "internal: true")
            .count(),
        2,
        "every network of the testnet overlay must be internal:\n{merged}"
    );
    assert!(
        !merged.contains("ports:"),
        "the overlay publishes ports:\n{merged}"
    );
    assert!(!merged.contains("network_mode"), "{merged}");
    assert!(
        merged.contains("router-testnet.yaml:/etc/i2p-router/config.yaml:ro"),
        "the router must get the testnet config:\n{merged}"
    );

    // the negative twin: without the variables the overlay refuses to render
    let out = Command::new(&compose)
        .current_dir(&root)
        .env_remove("E2E_DIR")
        .env_remove("TESTNET_IMAGE")
        .args([
            "-f",
            "compose.yaml",
            "-f",
            "e2e/compose.testnet.yaml",
            "config",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the overlay rendered without E2E_DIR/TESTNET_IMAGE"
    );
}

/// `section.key: value` pairs of a two-level YAML file such as ours (top-level keys at column
/// 0, their keys indented by two).
fn two_level(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.split(" #").next().unwrap();
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if !l.starts_with(' ') {
            section = l.trim_end_matches(':').to_string();
        } else if let Some((k, v)) = l.trim().split_once(": ") {
            out.push((section.clone(), k.to_string(), v.trim().to_string()));
        }
    }
    out
}

#[test]
fn container_configs_load_and_the_dockerfile_exposes_their_ports() {
    let root = repo_root();
    for (file, tunnel) in [
        ("packaging/config.container.yaml", None),
        (
            "packaging/compose.config.yaml",
            Some("website\thttp\t-> web:80"),
        ),
        (
            "e2e/docker/router-testnet.yaml",
            Some("website\thttp\t-> web:80"),
        ),
    ] {
        let list = router_loads(&root.join(file));
        if let Some(t) = tunnel {
            assert!(list.contains(t), "{file}: {list}");
        }
    }

    let config = std::fs::read_to_string(root.join("packaging/config.container.yaml")).unwrap();
    let pairs = two_level(&config);
    let get = |s: &str, k: &str| {
        pairs
            .iter()
            .find(|(a, b, _)| a == s && b == k)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| panic!("config.container.yaml has no {s}.{k}"))
    };
    // reachable from other containers
    for s in ["http_proxy", "socks_proxy", "sam", "dns", "ops"] {
        assert_eq!(get(s, "host"), "0.0.0.0", "{s}.host");
    }
    let mut want = BTreeSet::new();
    want.insert(format!("{}/tcp", get("ntcp2", "port")));
    want.insert(format!("{}/tcp", get("http_proxy", "port")));
    want.insert(format!("{}/tcp", get("socks_proxy", "port")));
    want.insert(format!("{}/tcp", get("sam", "port")));
    want.insert(format!("{}/udp", get("sam", "udp_port")));
    want.insert(format!("{}/udp", get("dns", "port")));
    want.insert(format!("{}/tcp", get("dns", "port")));
    want.insert(format!("{}/tcp", get("ops", "port")));

    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let instr = |name: &str| -> Vec<String> {
        dockerfile
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(str::to_string)
            .collect()
    };
    let exposed: BTreeSet<String> = instr("EXPOSE")
        .iter()
        .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        exposed, want,
        "Dockerfile EXPOSE vs packaging/config.container.yaml"
    );
    assert_eq!(instr("USER"), ["65532:65532"], "non-root user");
    assert_eq!(instr("VOLUME"), [r#"["/data"]"#], "one volume, /data");
    let args = instr("ARG");
    assert!(
        args.iter().any(|a| a.starts_with("BUILDER_IMAGE="))
            && args.iter().any(|a| a.starts_with("RUNTIME_IMAGE=")),
        "base images come in by build argument: {args:?}"
    );
    let froms = instr("FROM");
    assert_eq!(
        froms,
        ["${BUILDER_IMAGE} AS build", "${RUNTIME_IMAGE}"],
        "two stages on the argument images"
    );
    assert!(
        dockerfile.contains("packaging/config.container.yaml /out/etc/i2p-router/config.yaml"),
        "the image's config is packaging/config.container.yaml"
    );
}
