//! Runs the built `i2p-router` binary in temporary directories: identity creation and reuse,
//! key file modes, refusal to touch corrupt key files, config errors, and the RouterInfo that
//! run mode writes (parsed and verified with the wire crate).

// test helpers outside #[test] functions may unwrap: a failure is a test failure
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_i2p-router");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `i2p-router identity --data-dir DIR`, must succeed; returns (hash, identity) lines.
fn identity(dir: &Path) -> (String, String) {
    let o = run(&["identity", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    let out = stdout(&o);
    let mut hash = None;
    let mut ident = None;
    for line in out.lines() {
        if let Some(v) = line.strip_prefix("router_hash: ") {
            hash = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("router_identity: ") {
            ident = Some(v.to_string());
        }
    }
    (hash.expect(&out), ident.expect(&out))
}

/// The one-line error contract: nonzero exit, a single line on stderr, no panic text.
fn assert_one_line_error(o: &Output, expected_code: i32) -> String {
    assert_eq!(code(o), expected_code, "stderr: {}", stderr(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    lines[0].to_string()
}

#[test]
fn print_default_config_prints_the_embedded_file() {
    let o = run(&["--print-default-config"]);
    assert_eq!(code(&o), 0);
    let want =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.yaml")).unwrap();
    assert_eq!(stdout(&o), want);
    // and the binary accepts it (on a test network: no test runs a router with netId 2)
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("default.yaml");
    assert_eq!(want.matches("net_id: 2\n").count(), 1);
    fs::write(&conf, want.replace("net_id: 2\n", "net_id: 17\n")).unwrap();
    let data = dir.path().join("data");
    let o = run(&[
        "router-info",
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let line = assert_one_line_error(&run(&[]), 2);
    assert!(line.contains("--data-dir"), "{line}");
    let line = assert_one_line_error(&run(&["--no-such-flag"]), 2);
    assert!(line.contains("--no-such-flag"), "{line}");
    let line = assert_one_line_error(&run(&["--log-format", "xml", "--data-dir", "x"]), 2);
    assert!(line.contains("xml"), "{line}");
    let line = assert_one_line_error(
        &run(&["--config", "c.yaml", "identity", "--data-dir", "x"]),
        2,
    );
    assert!(
        line.contains("--config is not used by the identity command"),
        "{line}"
    );
    assert_eq!(code(&run(&["--help"])), 0);
    assert_eq!(code(&run(&["--version"])), 0);
}

#[test]
fn config_errors_exit_2_and_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("router.yaml");
    fs::write(&conf, "network:\n  net_id: 17\nntcp2:\n  port: abc\n").unwrap();
    let data = dir.path().join("data");
    let o = run(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    let line = assert_one_line_error(&o, 2);
    let want = format!(
        "{}:4: ntcp2.port: invalid value \"abc\", expected a port number 1-65535",
        conf.display()
    );
    assert!(line.contains(&want), "{line}");
    // nothing was created for a config that does not load
    assert!(!data.exists());

    fs::write(&conf, "ntcp2:\n  hots: 198.18.0.1\n").unwrap();
    let o = run(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    let line = assert_one_line_error(&o, 2);
    assert!(
        line.contains(":2: ntcp2.hots: unknown key; did you mean `ntcp2.host`?"),
        "{line}"
    );

    let missing = dir.path().join("missing.yaml");
    let o = run(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        missing.to_str().unwrap(),
    ]);
    let line = assert_one_line_error(&o, 2);
    assert!(
        line.contains("missing.yaml") && line.contains("No such file"),
        "{line}"
    );
}

#[test]
fn identity_twice_gives_the_same_hash_and_private_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (hash1, ident1) = identity(&data);
    let keys1 = fs::read(data.join("router.keys")).unwrap();
    let ntcp1 = fs::read(data.join("ntcp2.keys")).unwrap();
    let (hash2, ident2) = identity(&data);
    assert_eq!(hash1, hash2);
    assert_eq!(ident1, ident2);
    assert_eq!(fs::read(data.join("router.keys")).unwrap(), keys1);
    assert_eq!(fs::read(data.join("ntcp2.keys")).unwrap(), ntcp1);
    // I2P base64 of 32 bytes, and of the 391-byte X25519/Ed25519 identity
    assert_eq!(hash1.len(), 44, "{hash1}");
    assert_eq!(ident1.len(), 524, "{ident1}");
    assert!(
        !hash1.contains('+') && !hash1.contains('/'),
        "I2P alphabet: {hash1}"
    );
    assert_eq!(keys1.len(), 455);
    assert_eq!(ntcp1.len(), 80);
    assert_eq!(mode(&data.join("router.keys")), 0o600);
    assert_eq!(mode(&data.join("ntcp2.keys")), 0o600);
    assert_eq!(mode(&data), 0o700);
    // a second data dir gets a different identity
    let (other, _) = identity(&dir.path().join("other"));
    assert_ne!(other, hash1);
}

#[test]
fn truncated_or_corrupt_key_files_are_errors_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    identity(&data);
    let keys = data.join("router.keys");
    let good = fs::read(&keys).unwrap();

    for (name, bad) in [
        ("truncated", good[..200].to_vec()),
        ("cut short by one byte", good[..good.len() - 1].to_vec()),
        ("empty", Vec::new()),
        ("with trailing garbage", [good.as_slice(), b"x"].concat()),
    ] {
        fs::write(&keys, &bad).unwrap();
        for args in [
            vec!["identity", "--data-dir", data.to_str().unwrap()],
            vec!["--data-dir", data.to_str().unwrap()],
        ] {
            let o = run(&args);
            let line = assert_one_line_error(&o, 1);
            assert!(line.contains(&keys.display().to_string()), "{name}: {line}");
            assert_eq!(fs::read(&keys).unwrap(), bad, "{name}: file was modified");
        }
    }

    // a flipped bit in the Ed25519 private key no longer matches the public key
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    fs::write(&keys, &flipped).unwrap();
    let line = assert_one_line_error(&run(&["identity", "--data-dir", data.to_str().unwrap()]), 1);
    assert!(
        line.contains("router.keys") && line.contains("Ed25519"),
        "{line}"
    );
    assert_eq!(fs::read(&keys).unwrap(), flipped);

    // the same for ntcp2.keys
    fs::write(&keys, &good).unwrap();
    let ntcp = data.join("ntcp2.keys");
    let good_ntcp = fs::read(&ntcp).unwrap();
    fs::write(&ntcp, &good_ntcp[..79]).unwrap();
    let line = assert_one_line_error(&run(&["identity", "--data-dir", data.to_str().unwrap()]), 1);
    assert!(line.contains(&ntcp.display().to_string()), "{line}");
    assert_eq!(fs::read(&ntcp).unwrap(), &good_ntcp[..79]);
}

#[test]
fn a_locked_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    identity(&data);
    // hold the lock the way a running router does
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(data.join("router.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let line = assert_one_line_error(&run(&["identity", "--data-dir", data.to_str().unwrap()]), 1);
    assert!(line.contains("in use by another i2p-router"), "{line}");
    // unlock explicitly: a child another test forks at this moment shares the open file
    // description until it execs, and closing our descriptor alone would leave it locked
    lock.unlock().unwrap();
    drop(lock);
    identity(&data);
}

#[test]
fn log_format_json_writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = run(&[
        "identity",
        "--data-dir",
        data.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.is_empty());
    for line in err.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "not JSON: {line}"
        );
    }
}

/// Runs the router with `yaml` as its config in a fresh data dir; returns the dir and the
/// verified RouterInfo it wrote.
fn run_with_config(yaml: &str) -> (tempfile::TempDir, i2p_wire::RouterInfo, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let conf = dir.path().join("router.yaml");
    fs::write(&conf, yaml).unwrap();
    let o = run(&[
        "router-info",
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    let bytes = fs::read(data.join("router.info")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ri = i2p_wire::RouterInfo::parse(&bytes)
        .unwrap()
        .verify(i2p_wire::Date::from_millis(now))
        .unwrap();
    (dir, ri, bytes)
}

#[test]
fn run_writes_a_verified_router_info_with_the_configured_values() {
    let (dir, ri, _) = run_with_config(
        "network:\n  net_id: 17\nrouter:\n  floodfill: true\n  bandwidth: X\n\
         ntcp2:\n  host: 198.18.0.42\n  port: 12042\nlog:\n  level: warn\n",
    );
    let data = dir.path().join("data");
    assert_eq!(ri.net_id().unwrap(), Some(17));
    assert_eq!(ri.options().get_str("caps"), Some("XfR"));
    assert!(ri.caps().floodfill);
    assert_eq!(ri.options().get_str("router.version"), Some("0.9.57"));
    let addrs = ri.addresses();
    assert_eq!(addrs.len(), 1);
    let a = addrs[0].ntcp2().unwrap();
    assert_eq!(a.host, Some("198.18.0.42".parse().unwrap()));
    assert_eq!(a.port, Some(12042));
    // `s` and `i` are the ones in ntcp2.keys (i2pd layout: public, private, IV)
    let nk = fs::read(data.join("ntcp2.keys")).unwrap();
    assert_eq!(&a.static_key[..], &nk[..32]);
    assert_eq!(&a.iv.unwrap()[..], &nk[64..80]);
    // the RouterInfo belongs to the identity `identity` reports for this data dir
    let (hash, _) = identity(&data);
    assert_eq!(ri.hash().to_base64(), hash);
    assert_eq!(mode(&data.join("router.info")), 0o644);
    assert_eq!(mode(&data.join("router.keys")), 0o600);
    assert_eq!(mode(&data.join("ntcp2.keys")), 0o600);
    // a fixed port leaves no remembered port behind
    assert!(!data.join("ntcp2.port").exists());
}

#[test]
fn run_with_auto_port_remembers_it_and_keeps_the_identity() {
    let yaml = "network:\n  net_id: 17\nntcp2:\n  host: 198.18.0.43\n";
    let (dir, ri, _) = run_with_config(yaml);
    let data = dir.path().join("data");
    let remembered: u16 = fs::read_to_string(data.join("ntcp2.port"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let a = ri.addresses()[0].ntcp2().unwrap();
    assert_eq!(a.port, Some(remembered));
    assert!((9111..=30777).contains(&remembered));
    assert_eq!(ri.options().get_str("caps"), Some("LR"));
    // a second run reuses port and identity
    let conf = dir.path().join("router.yaml");
    let o = run(&[
        "router-info",
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let again = i2p_wire::RouterInfo::parse(&fs::read(data.join("router.info")).unwrap()).unwrap();
    let again = again.peek_unverified();
    assert_eq!(again.hash(), ri.hash());
    assert_eq!(again.addresses()[0].ntcp2().unwrap().port, Some(remembered));
}

#[test]
fn run_without_host_publishes_an_outbound_only_address() {
    let (_dir, ri, _) = run_with_config("network:\n  net_id: 99\n");
    assert_eq!(ri.net_id().unwrap(), Some(99));
    assert_eq!(ri.options().get_str("caps"), Some("LU"));
    let a = ri.addresses()[0].ntcp2().unwrap();
    assert_eq!((a.host, a.port, a.iv), (None, None, None));
}

#[test]
fn run_uses_config_yaml_in_the_data_dir_when_no_config_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("config.yaml"), "network:\n  net_id: 23\n").unwrap();
    let o = run(&["router-info", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ri = i2p_wire::RouterInfo::parse(&fs::read(data.join("router.info")).unwrap()).unwrap();
    assert_eq!(ri.peek_unverified().net_id().unwrap(), Some(23));
}

#[test]
fn run_brings_along_an_i2pd_identity() {
    let captured = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wire/tests/data/i2pd-2.45.1"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    for f in ["router.keys", "ntcp2.keys"] {
        fs::copy(Path::new(captured).join(format!("r1.{f}")), data.join(f)).unwrap();
    }
    fs::write(
        data.join("config.yaml"),
        "network:\n  net_id: 17\nntcp2:\n  host: 198.18.0.1\n  port: 12001\n",
    )
    .unwrap();
    let o = run(&["router-info", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ours = i2p_wire::RouterInfo::parse(&fs::read(data.join("router.info")).unwrap()).unwrap();
    let theirs =
        i2p_wire::RouterInfo::parse(&fs::read(Path::new(captured).join("r1.router.info")).unwrap())
            .unwrap();
    let (ours, theirs) = (ours.peek_unverified(), theirs.peek_unverified());
    assert_eq!(ours.hash(), theirs.hash());
    let (a, b) = (
        ours.addresses()[0].ntcp2().unwrap(),
        theirs
            .addresses()
            .iter()
            .find_map(|a| a.ntcp2().ok())
            .unwrap(),
    );
    assert_eq!(
        (a.static_key, a.iv, a.host, a.port),
        (b.static_key, b.iv, b.host, b.port)
    );
}

/// A one-shot HTTP stand-in on 127.0.0.1 that answers `status` and returns its address and
/// the request it read.
fn one_shot_http(status: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        write!(
            s,
            "HTTP/1.1 {status}\r\ncontent-length: 8\r\n\r\nreason\r\n"
        )
        .unwrap();
        String::from_utf8(req).unwrap()
    });
    (addr, handle)
}

#[test]
fn healthcheck_exits_0_on_200_and_1_otherwise() {
    let (addr, h) = one_shot_http("200 OK");
    let o = run(&["healthcheck", "--addr", &addr]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert!(h.join().unwrap().starts_with("GET /readyz HTTP/1.0\r\n"));

    let (addr, h) = one_shot_http("503 Service Unavailable");
    let o = run(&["healthcheck", "--addr", &addr, "--path", "/healthz"]);
    let line = assert_one_line_error(&o, 1);
    assert!(line.contains("503") && line.contains("reason"), "{line}");
    assert!(h.join().unwrap().starts_with("GET /healthz HTTP/1.0\r\n"));

    // nothing listening
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(&["healthcheck", "--addr", &format!("127.0.0.1:{port}")]);
    assert_one_line_error(&o, 1);
}

#[test]
fn environment_variables_override_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let conf = dir.path().join("router.yaml");
    fs::write(
        &conf,
        "network:\n  net_id: 17\nntcp2:\n  host: 198.18.0.42\n  port: 12042\n",
    )
    .unwrap();
    let base = |cmd: &mut Command| {
        cmd.args(["router-info", "--data-dir", data.to_str().unwrap()])
            .args(["--config", conf.to_str().unwrap()]);
    };
    let mut cmd = Command::new(BIN);
    base(&mut cmd);
    let o = cmd
        .env("I2P_ROUTER__NTCP2__PORT", "12043")
        .env("I2P_ROUTER__ROUTER__FLOODFILL", "true")
        .env("I2P_ROUTER__ROUTER__BANDWIDTH", "X")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    let ri = i2p_wire::RouterInfo::parse(&fs::read(data.join("router.info")).unwrap()).unwrap();
    let ri = ri.peek_unverified();
    let a = ri.addresses()[0].ntcp2().unwrap();
    assert_eq!(a.port, Some(12043), "the variable wins over the file");
    assert_eq!(
        a.host,
        Some("198.18.0.42".parse().unwrap()),
        "the file's other keys stay"
    );
    assert!(ri.caps().floodfill);
    assert_eq!(ri.net_id().unwrap(), Some(17));

    // a bad variable is a usage error naming it, and nothing is written
    fs::remove_file(data.join("router.info")).unwrap();
    let mut cmd = Command::new(BIN);
    base(&mut cmd);
    let o = cmd.env("I2P_ROUTER__NTCP2__PROT", "1").output().unwrap();
    let line = assert_one_line_error(&o, 2);
    assert!(
        line.contains("environment variable I2P_ROUTER__NTCP2__PROT: ntcp2.prot: unknown setting; did you mean I2P_ROUTER__NTCP2__PORT?"),
        "{line}"
    );
    assert!(!data.join("router.info").exists());

    // without a config file the variables apply to the defaults
    let bare = dir.path().join("bare");
    let o = Command::new(BIN)
        .args(["router-info", "--data-dir", bare.to_str().unwrap()])
        .env("I2P_ROUTER__NTCP2__HOST", "198.18.0.43")
        .env("I2P_ROUTER__NTCP2__PORT", "12044")
        .env("I2P_ROUTER__NETWORK__NET_ID", "18")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    let ri = i2p_wire::RouterInfo::parse(&fs::read(bare.join("router.info")).unwrap()).unwrap();
    let ri = ri.peek_unverified();
    assert_eq!(ri.addresses()[0].ntcp2().unwrap().port, Some(12044));
    assert_eq!(ri.net_id().unwrap(), Some(18));
}
