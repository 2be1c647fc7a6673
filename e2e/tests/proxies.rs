//! Issue acceptance (HTTP and SOCKS proxies, YAML tunnels), against a net of five i2pd routers
//! with an i2pd-hosted eepsite:
//!
//! 1. `curl -x http://127.0.0.1:HTTP` and `curl --socks5-hostname 127.0.0.1:SOCKS` fetch the
//!    i2pd eepsite's `.b32.i2p` through our proxies: its index page, then 20 MiB through each
//!    with the SHA-256 checked;
//! 2. a Python `http.server` backend published by our `http` server tunnel (from the YAML
//!    `tunnels:` list) is fetched through **i2pd's** HTTP proxy; the backend logs the
//!    `X-I2P-DestHash/-DestB64/-DestB32` and `Host` headers it received;
//! 3. a `client` tunnel on a local port reaches the i2pd eepsite with plain `curl`;
//! 4. headless Chromium (`--proxy-server=socks5://...`) loads the eepsite through our SOCKS
//!    proxy; the page text is checked and a screenshot is kept in the run directory;
//! 5. no leaks: with no outproxy, clearnet URLs and IP targets through either proxy get an
//!    error and a listener standing in for "the clearnet" sees no connection;
//! 6. malformed input: a garbage HTTP request gets 400, a garbage SOCKS greeting is dropped,
//!    and both proxies keep serving.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};
use sha2::{Digest, Sha256};

const SIZE: usize = 20 * 1024 * 1024;
const HTTP: u16 = 24444;
const SOCKS: u16 = 24447;
const CLIENT_TUNNEL: u16 = 28080;
const BACKEND: u16 = 28000;
const LEAK: u16 = 28099;
/// Text only our backend's page holds.
const OUR_PAGE: &str = "served by python behind an i2p-rs http tunnel";

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Run a short command inside the namespace; (exit code, stdout, stderr).
fn run_in(env: &TestEnv, program: &str, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = env
        .netns()
        .command(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `curl` with a proxy option; returns (curl exit code, HTTP status, body).
fn curl(env: &TestEnv, proxy: &[&str], url: &str, max_secs: u64) -> (i32, u16, Vec<u8>) {
    let out = env.dir().join(format!("curl-{}.out", rand_suffix()));
    let out_s = out.display().to_string();
    let max = max_secs.to_string();
    let mut args: Vec<&str> = vec![
        "-sS",
        "-o",
        &out_s,
        "-w",
        "%{http_code}",
        "--max-time",
        &max,
    ];
    args.extend_from_slice(proxy);
    args.push(url);
    let (code, stdout, _) = run_in(env, "curl", &args);
    let status = String::from_utf8_lossy(&stdout).trim().parse().unwrap_or(0);
    let body = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (code, status, body)
}

fn rand_suffix() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Retry `f` until it returns `Some` or `timeout` passes.
fn until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("{what}: not within {timeout:?}");
        }
        std::thread::sleep(Duration::from_secs(3));
    }
}

const BACKEND_PY: &str = r#"
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        for k in ("Host", "X-I2P-DestHash", "X-I2P-DestB64", "X-I2P-DestB32"):
            sys.stderr.write("HEADER %s: %s\n" % (k, self.headers.get(k)))
        sys.stderr.flush()
        super().do_GET()
port, root = int(sys.argv[1]), sys.argv[2]
http.server.ThreadingHTTPServer(("127.0.0.1", port),
    functools.partial(Handler, directory=root)).serve_forever()
"#;

#[test]
fn proxies_and_tunnels_against_i2pd() {
    let env = TestEnv::new("proxies").expect("e2e environment");
    for program in ["curl", "python3", "chromium"] {
        assert!(
            i2p_e2e::env::find_program(program).is_some(),
            "{program} is not installed (scripts/test.sh installs it as root: apt-get install {program})"
        );
    }

    // our backend: Python's http.server, logging the headers it gets
    let www = env.dir().join("our-www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        format!("<html><body><h1>{OUR_PAGE}</h1></body></html>\n"),
    )
    .unwrap();
    let script = env.dir().join("backend.py");
    std::fs::write(&script, BACKEND_PY).unwrap();
    let backend_log = env.dir().join("backend.log");
    let mut cmd = env.netns().command("python3");
    cmd.arg(&script).arg(BACKEND.to_string()).arg(&www);
    let _backend = env
        .netns()
        .spawn("backend", cmd, "python-backend", &backend_log)
        .expect("start the python backend");

    // "the clearnet": a listener nobody should ever reach through the proxies
    let leak_hits = Arc::new(AtomicU64::new(0));
    let stop_leak = Arc::new(AtomicBool::new(false));
    {
        let (hits, stop) = (leak_hits.clone(), stop_leak.clone());
        env.netns()
            .spawn_thread(move || {
                let l = TcpListener::bind(("127.0.0.1", LEAK)).unwrap();
                l.set_nonblocking(true).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if l.accept().is_ok() {
                        hits.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
            .unwrap();
    }

    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 60),
            ntcp2_port: 12160,
            http_proxy_port: Some(HTTP),
            socks_port: Some(SOCKS),
            shared_client_hops: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    let ri = ours.generate_router_info(Duration::from_secs(30)).unwrap();
    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .eepsite(true)
        .foreign_router_info(ri, &[])
        .start(&env)
        .expect("start 5 i2pd routers with an eepsite");
    let eepsite = net.eepsite().expect("the net has an eepsite");
    let b32 = eepsite.b32.clone();
    let seed = env.dir().join("seed.zip");
    net.write_reseed_zip(&seed).expect("reseed zip");
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    config.extra_yaml = format!(
        "tunnels:\n  - name: our-site\n    type: http\n    target: 127.0.0.1:{BACKEND}\n    \
         inbound_length: 2\n    outbound_length: 2\n  - name: to-eepsite\n    type: client\n    \
         listen: {CLIENT_TUNNEL}\n    destination: {b32}\n    inbound_length: 2\n    \
         outbound_length: 2\n"
    );
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 40);

    let body = pseudo_random(SIZE, 0x51ed_270b_2795_3a1d);
    std::fs::write(eepsite.www.join("big.bin"), &body).unwrap();
    let want = Sha256::digest(&body);
    net.wait_eepsite_reachable(Duration::from_secs(240))
        .expect("the eepsite answers through router 5's HTTP proxy");

    // our server tunnel's address, from the router's log (the line an operator reads)
    let our_site = until(Duration::from_secs(30), "our-site's b32 in the log", || {
        ours.log_lines_with(&["server tunnel published at", "our-site"])
            .first()
            .and_then(|l| {
                l.split_whitespace()
                    .find(|w| w.ends_with(".b32.i2p"))
                    .map(str::to_string)
            })
    });
    println!("our http server tunnel: {our_site}");

    let http_proxy = format!("http://127.0.0.1:{HTTP}");
    let socks = format!("127.0.0.1:{SOCKS}");
    let index = format!("http://{b32}/");

    // 6. malformed input first: the proxies must keep serving afterwards
    let garbage = env
        .netns()
        .run(|| {
            let mut s = TcpStream::connect(("127.0.0.1", HTTP)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(b"THIS IS NOT\x01 HTTP\r\n\r\n").unwrap();
            let mut reply = Vec::new();
            let _ = s.read_to_end(&mut reply);
            let mut s2 = TcpStream::connect(("127.0.0.1", SOCKS)).unwrap();
            s2.set_read_timeout(Some(Duration::from_secs(35))).unwrap();
            s2.write_all(&[0x09, 0xff, 0x00, 0x13]).unwrap();
            let mut r2 = Vec::new();
            let _ = s2.read_to_end(&mut r2);
            (String::from_utf8_lossy(&reply).into_owned(), r2)
        })
        .unwrap();
    assert!(
        garbage.0.starts_with("HTTP/1.1 400"),
        "garbage to the HTTP proxy: {:?}",
        garbage.0
    );
    println!(
        "6. garbage request -> {:?}; garbage SOCKS greeting -> {} bytes then closed",
        garbage.0.lines().next().unwrap_or(""),
        garbage.1.len()
    );

    // 1. index through both proxies (the first fetch waits for the proxy destination's
    // tunnels and the eepsite's LeaseSet)
    let t = Instant::now();
    let page = until(
        Duration::from_secs(180),
        "eepsite via our HTTP proxy",
        || {
            let (_, status, body) = curl(&env, &["-x", &http_proxy], &index, 60);
            (status == 200).then_some(body)
        },
    );
    println!(
        "1. eepsite index via our HTTP proxy after {:.1} s (router started {:.1} s ago)",
        t.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let page_text = String::from_utf8_lossy(&page).into_owned();
    let (_, status, via_socks) = curl(&env, &["--socks5-hostname", &socks], &index, 120);
    assert_eq!(
        status,
        200,
        "eepsite index via our SOCKS proxy\n{}",
        diagnostics()
    );
    assert_eq!(via_socks, page, "same page through both proxies");

    let big = format!("http://{b32}/big.bin");
    for (label, proxy) in [
        ("HTTP proxy", vec!["-x", http_proxy.as_str()]),
        ("SOCKS proxy", vec!["--socks5-hostname", socks.as_str()]),
    ] {
        let t = Instant::now();
        let (code, status, got) = curl(&env, &proxy, &big, 400);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(
            (code, status),
            (0, 200),
            "20 MiB via our {label}\n{}",
            diagnostics()
        );
        assert_eq!(got.len(), SIZE, "20 MiB via our {label}: length");
        assert_eq!(
            Sha256::digest(&got),
            want,
            "20 MiB via our {label}: SHA-256"
        );
        println!(
            "1. 20 MiB via our {label} in {secs:.1} s ({:.2} MiB/s), checksum ok",
            20.0 / secs
        );
    }

    // 3. the client tunnel
    let (code, status, got) = curl(
        &env,
        &[],
        &format!("http://127.0.0.1:{CLIENT_TUNNEL}/"),
        120,
    );
    assert_eq!((code, status), (0, 200), "client tunnel\n{}", diagnostics());
    assert_eq!(got, page, "the client tunnel serves the eepsite's index");
    println!("3. client tunnel 127.0.0.1:{CLIENT_TUNNEL} -> eepsite: index ok");

    // 2. our server tunnel through i2pd's HTTP proxy (router 5)
    let i2pd_proxy = SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.http_proxy));
    let t = Instant::now();
    let url = format!("http://{our_site}/");
    let resp = until(
        Duration::from_secs(240),
        "our site via i2pd's HTTP proxy",
        || {
            env.netns()
                .run(|| i2p_e2e::http::get(i2pd_proxy, &url, &our_site, Duration::from_secs(60)))
                .ok()
                .and_then(Result::ok)
                .filter(|r| r.status == 200)
        },
    );
    assert!(resp.text().contains(OUR_PAGE), "{}", resp.text());
    let log = std::fs::read_to_string(&backend_log).unwrap_or_default();
    let header = |name: &str| {
        log.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("HEADER {name}: ")))
            .unwrap_or("None")
            .to_string()
    };
    let (dest_b32, dest_b64, dest_hash) = (
        header("X-I2P-DestB32"),
        header("X-I2P-DestB64"),
        header("X-I2P-DestHash"),
    );
    assert!(
        dest_b32.ends_with(".b32.i2p") && dest_b64.len() >= 516 && dest_hash.len() == 44,
        "the backend must see X-I2P-Dest*: {log}"
    );
    // the three must describe the same (i2pd proxy's) destination
    let b64_dest = i2p_e2e::sam::destination_hash(&dest_b64).expect("X-I2P-DestB64 parses");
    assert_eq!(
        i2p_e2e::sam::b32(&b64_dest),
        dest_b32,
        "DestB64 and DestB32 agree"
    );
    println!(
        "2. our http tunnel via i2pd's HTTP proxy after {:.1} s; backend saw Host={} X-I2P-DestB32={dest_b32}",
        t.elapsed().as_secs_f64(),
        header("Host")
    );

    // 4. headless Chromium through our SOCKS proxy
    let profile = env.dir().join("chromium-profile");
    let shot = env.dir().join("chromium-eepsite.png");
    let chromium_args = |extra: &[String]| {
        let mut a: Vec<String> = vec![
            "--headless".into(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--proxy-server=socks5://{socks}"),
            "--window-size=1000,700".into(),
            "--virtual-time-budget=30000".into(),
        ];
        a.extend_from_slice(extra);
        a.push(index.clone());
        a
    };
    let t = Instant::now();
    let dom = run_chromium(&env, &chromium_args(&["--dump-dom".into()]), 180);
    // the eepsite's visible text, e.g. "i2p-e2e eepsite router 4"
    let visible = strip_tags(&page_text);
    assert!(
        visible.len() > 8,
        "the eepsite page has text: {page_text:?}"
    );
    let dom_text = strip_tags(&dom);
    assert!(
        squash(&dom_text).contains(&squash(&visible)),
        "chromium's page lacks the eepsite text {visible:?}:\n{}",
        dom.chars().take(2000).collect::<String>()
    );
    let _ = run_chromium(
        &env,
        &chromium_args(&[format!("--screenshot={}", shot.display())]),
        180,
    );
    let shot_len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(shot_len > 1000, "chromium wrote no screenshot");
    // the artifact outlives the run dir: target/tmp/e2e-artifacts/
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-artifacts");
    let kept = artifacts.join("proxies-chromium-eepsite.png");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::copy(&shot, &kept).unwrap();
    println!(
        "4. chromium via our SOCKS proxy: page text ok in {:.1} s; screenshot {} ({shot_len} bytes)",
        t.elapsed().as_secs_f64(),
        kept.display()
    );

    // 5. no leaks
    let leak_url = format!("http://127.0.0.1:{LEAK}/");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "HTTP proxy, IP URL",
            vec!["-x", http_proxy.as_str()],
            leak_url.as_str(),
        ),
        (
            "HTTP proxy, clearnet name",
            vec!["-x", http_proxy.as_str()],
            "http://example.com/",
        ),
        (
            "HTTP proxy, CONNECT",
            vec!["-p", "-x", http_proxy.as_str()],
            "https://127.0.0.1:28099/",
        ),
        (
            "SOCKS5 hostname, IP",
            vec!["--socks5-hostname", socks.as_str()],
            leak_url.as_str(),
        ),
        (
            "SOCKS5 hostname, clearnet",
            vec!["--socks5-hostname", socks.as_str()],
            "http://example.com/",
        ),
        (
            "SOCKS5 local resolution, IP",
            vec!["--socks5", socks.as_str()],
            leak_url.as_str(),
        ),
        (
            "SOCKS4a",
            vec!["--socks4a", socks.as_str()],
            leak_url.as_str(),
        ),
    ];
    for (label, proxy, url) in cases {
        let (code, status, body) = curl(&env, &proxy, url, 30);
        println!(
            "5. {label}: curl exit {code}, HTTP {status}, {} body bytes",
            body.len()
        );
        assert!(
            status != 200,
            "{label}: a clearnet URL must not be fetched without an outproxy"
        );
        if label.starts_with("HTTP proxy") && !label.ends_with("CONNECT") {
            assert!(
                status >= 400 && !body.is_empty(),
                "{label}: an error page, got {status}"
            );
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    stop_leak.store(true, Ordering::Relaxed);
    assert_eq!(
        leak_hits.load(Ordering::Relaxed),
        0,
        "a connection reached the clearnet stand-in"
    );
    println!("5. the clearnet stand-in saw 0 connections");

    // tunnels.d and SIGHUP: a tunnel added while the router runs starts without a restart,
    // the others keep running, and `i2p-router tunnels` lists both server tunnels
    let tdir = ours.dir().join("tunnels.d");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(
        tdir.join("extra.yaml"),
        format!("name: extra\ntype: server\ntarget: 127.0.0.1:{BACKEND}\n"),
    )
    .unwrap();
    let pid = ours.process().expect("our router runs").pid();
    // our own router, by PID
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -HUP {pid}");
    let extra_b32 = until(
        Duration::from_secs(30),
        "the tunnels.d tunnel after SIGHUP",
        || {
            ours.log_lines_with(&["server tunnel published at", "tunnel=extra"])
                .first()
                .and_then(|l| {
                    l.split_whitespace()
                        .find(|w| w.ends_with(".b32.i2p"))
                        .map(str::to_string)
                })
        },
    );
    assert!(
        ours.log_lines_with(&["tunnel stopped", "our-site"])
            .is_empty(),
        "an unchanged tunnel was restarted by the reload"
    );
    let (dir, conf) = (
        ours.dir().display().to_string(),
        ours.config_path().display().to_string(),
    );
    let listing = ours
        .run_to_completion(&["--data-dir", &dir, "--config", &conf, "tunnels"])
        .expect("i2p-router tunnels");
    for want in [our_site.as_str(), extra_b32.as_str(), "to-eepsite"] {
        assert!(listing.contains(want), "`tunnels` lacks {want}:\n{listing}");
    }
    println!("SIGHUP added tunnels.d/extra.yaml ({extra_b32}); `i2p-router tunnels`:\n{listing}");
    ours.stop();
}

/// Whitespace-free, for comparing text across markup.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Run chromium in the namespace with a wall-clock limit; returns its stdout.
fn run_chromium(env: &TestEnv, args: &[String], limit_secs: u64) -> String {
    let log = env.dir().join(format!("chromium-{}.log", rand_suffix()));
    let mut cmd = env.netns().command("chromium");
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = cmd.spawn().expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(limit_secs);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            // our own child, by PID
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in {limit_secs} s; log: {}",
                tail(&log)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    reader.join().unwrap_or_default()
}

fn tail(p: &Path) -> String {
    tail_file(p, 20)
}
