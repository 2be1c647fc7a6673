//! Issue acceptance (address book and DNS server), the parts that exist so far, against a net
//! of five i2pd routers with an i2pd eepsite whose full destination our address book knows as
//! `eepsite.testnet.i2p`:
//!
//! 1. `dig @127.0.0.1 eepsite.testnet.i2p A` returns an address in the virtual range, `TXT`
//!    the eepsite's `.b32.i2p`, `example.com` is REFUSED and an unknown `.i2p` name NXDOMAIN;
//!    after a router restart the same name gets the same address;
//! 2. with the namespace's system resolver pointed at our DNS server, `curl --socks5` (local
//!    name resolution: curl sends the virtual IP, the proxy maps it back to the name) fetches
//!    the eepsite;
//! 3. a subscription (`addressbook.subscriptions`) to a hosts.txt served by the i2pd eepsite,
//!    with an unsigned entry, a signed entry and one whose signature was tampered with, is
//!    fetched through I2P: the first two resolve, the tampered one does not; a second fetch
//!    (SIGHUP) sends If-None-Match and gets 304;
//!    the transparent listener does the same for a plain `curl http://eepsite.testnet.i2p/`
//!    redirected to it by an iptables `REDIRECT` rule inside the namespace;
//! 4. the address helper: `http://newname.i2p/?i2paddresshelper=<b64>` through our HTTP proxy
//!    shows the confirmation page; its "save" link stores the name in the local book
//!    (`userhosts.txt`), after which the name loads the site and resolves through DNS, also
//!    after the restart.
//!
//! Also the operator endpoints (issue 9, item 3): `/readyz` answers 503 until the tunnels are
//! built, then 200; `/metrics` is read by the Prometheus Python client's text parser.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

const HTTP: u16 = 25444;
const SOCKS: u16 = 25447;
/// Inside the namespace port 53 is ours, so the system resolver can use it.
const DNS: u16 = 53;
const NAME: &str = "eepsite.testnet.i2p";
const TRANSPARENT: u16 = 25040;
const OPS: u16 = 27070;
/// The Python Prometheus client whose text parser reads our `/metrics`.
const PROMETHEUS_CLIENT: &str = "prometheus-client==0.26.0";

fn run_in(env: &TestEnv, program: &str, args: &[&str]) -> (i32, String, String) {
    let out = env
        .netns()
        .command(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dig(env: &TestEnv, name: &str, rtype: &str) -> (String, String) {
    let server = "@127.0.0.1".to_string();
    let port = DNS.to_string();
    let (_, full, _) = run_in(
        env,
        "dig",
        &[&server, "-p", &port, "+time=5", "+tries=1", name, rtype],
    );
    let status = full
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .and_then(|s| s.split(',').next())
        .unwrap_or("")
        .to_string();
    let (_, short, _) = run_in(
        env,
        "dig",
        &[
            &server, "-p", &port, "+time=5", "+tries=1", "+short", name, rtype,
        ],
    );
    (status, short.trim().trim_matches('"').to_string())
}

/// `curl` through a proxy option; (exit code, HTTP status, body, headers).
fn curl(env: &TestEnv, args: &[&str], url: &str) -> (i32, u16, String, String) {
    let mut a: Vec<&str> = vec!["-sS", "-D", "-", "--max-time", "90"];
    a.extend_from_slice(args);
    a.push(url);
    let (code, out, err) = run_in(env, "curl", &a);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if code != 0 {
        eprintln!("curl {url}: exit {code}: {err}");
    }
    (code, status, body.to_string(), head.to_string())
}

/// `/etc/netns/NAME/resolv.conf`: `ip netns exec` mounts it over `/etc/resolv.conf` for the
/// commands it runs in that namespace. Removed on drop.
struct NetnsResolvConf(PathBuf);

impl NetnsResolvConf {
    fn create(netns: &str) -> NetnsResolvConf {
        let dir = PathBuf::from("/etc/netns").join(netns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("resolv.conf"),
            "# written by the i2p-rs e2e test `names`\nnameserver 127.0.0.1\n",
        )
        .unwrap();
        NetnsResolvConf(dir)
    }
}

impl Drop for NetnsResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0.join("resolv.conf"));
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn address_book_dns_and_address_helper() {
    let env = TestEnv::new("names").expect("e2e environment");
    for program in ["curl", "dig"] {
        assert!(
            i2p_e2e::env::find_program(program).is_some(),
            "{program} is not installed (scripts/test.sh installs it as root)"
        );
    }
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 70),
            ntcp2_port: 12170,
            http_proxy_port: Some(HTTP),
            socks_port: Some(SOCKS),
            dns_port: Some(DNS),
            ops_port: Some(OPS),
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
    net.wait_eepsite_reachable(Duration::from_secs(240))
        .expect("the eepsite answers through router 5's HTTP proxy");
    let page = std::fs::read_to_string(eepsite.www.join("index.html")).unwrap();

    // the eepsite's full destination, from its i2pd key file (i2pd's layout is ours)
    let key_file = net.router(eepsite.router).dir.join("eepsite.dat");
    let b64 = i2p_client::PrivateKeys::from_bytes(&std::fs::read(&key_file).unwrap())
        .expect("i2pd's eepsite.dat parses")
        .destination
        .to_base64();
    assert_eq!(
        i2p_e2e::sam::b32(&i2p_e2e::sam::destination_hash(&b64).unwrap()),
        b32
    );

    // 3. the feed: unsigned, signed, tampered (signed, then one signature character changed)
    let mut rng = rand::rng();
    let keys: Vec<i2p_client::PrivateKeys> = (0..3)
        .map(|_| i2p_client::PrivateKeys::generate(&mut rng))
        .collect();
    let host = |n: &str| i2p_addressbook::HostName::parse(n).unwrap();
    let signed_line = |name: &str, k: &i2p_client::PrivateKeys| {
        let signer = |m: &[u8]| k.signing.sign(m).to_vec();
        i2p_addressbook::hosts_txt::sign_line(
            Some((&host(name), &k.destination)),
            &[],
            None,
            &signer,
        )
    };
    let tampered = {
        let line = signed_line("tampered.testnet.i2p", &keys[2]);
        let at = line.find("sig=").unwrap() + 6;
        let mut b = line.into_bytes();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let feed = format!(
        "# a test feed\nplain.testnet.i2p={}\n{}\n{tampered}\n",
        keys[0].destination.to_base64(),
        signed_line("signed.testnet.i2p", &keys[1]),
    );
    std::fs::write(eepsite.www.join("hosts.txt"), &feed).unwrap();

    // the subscribed book, as a feed would have filled it
    let book_dir = ours.dir().join("addressbook");
    std::fs::create_dir_all(&book_dir).unwrap();
    std::fs::write(book_dir.join("hosts.txt"), format!("{NAME}={b64}\n")).unwrap();
    let seed = env.dir().join("seed.zip");
    net.write_reseed_zip(&seed).expect("reseed zip");
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    config.extra_yaml = format!(
        "addressbook:\n  subscriptions: \"http://{b32}/hosts.txt\"\n\
         transparent:\n  enabled: true\n  host: 127.0.0.1\n  port: {TRANSPARENT}\n"
    );
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 40);

    // /readyz: 503 while bootstrapping, then 200
    let ops = std::net::SocketAddr::from(([127, 0, 0, 1], OPS));
    let get = |path: &str| {
        env.netns()
            .run(|| i2p_e2e::http::get(ops, path, "127.0.0.1", Duration::from_secs(5)))
            .ok()
            .and_then(Result::ok)
    };
    let t = Instant::now();
    let mut seen = Vec::new();
    loop {
        if let Some(r) = get("/readyz") {
            if seen.last() != Some(&r.status) {
                seen.push(r.status);
                println!(
                    "ops: /readyz {} after {:.2} s: {}",
                    r.status,
                    t.elapsed().as_secs_f64(),
                    r.text().trim()
                );
            }
            if r.status == 200 {
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "/readyz never 200: {seen:?}\n{}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen.first(), Some(&503), "/readyz starts at 503: {seen:?}");
    assert_eq!(get("/healthz").map(|r| r.status), Some(200));
    let metrics = get("/metrics").expect("/metrics").text();
    let families = prometheus_parse(&metrics);
    for want in [
        "i2p_peers",
        "i2p_netdb_routers",
        "i2p_tunnel_builds_succeeded",
        "i2p_transit_tunnels",
        "i2p_bootstrap_percent",
        "i2p_streams",
        "i2p_transport_received_bytes",
    ] {
        assert!(
            families.iter().any(|f| f == want),
            "{want} not among the parsed families {families:?}"
        );
    }
    println!(
        "ops: /metrics parsed by {PROMETHEUS_CLIENT}: {} families",
        families.len()
    );

    // 1. DNS answers
    let t = Instant::now();
    let (status, a) = loop {
        let r = dig(&env, NAME, "A");
        if r.0 == "NOERROR" || t.elapsed() > Duration::from_secs(30) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status, "NOERROR", "dig {NAME} A\n{}", diagnostics());
    let ip: Ipv4Addr = a
        .parse()
        .unwrap_or_else(|_| panic!("an IPv4 answer, got {a:?}"));
    assert_eq!(
        (ip.octets()[0], ip.octets()[1]),
        (10, 191),
        "{ip} in 10.191.0.0/16"
    );
    let (status, txt) = dig(&env, NAME, "TXT");
    assert_eq!((status.as_str(), txt.as_str()), ("NOERROR", b32.as_str()));
    let (status, _) = dig(&env, "example.com", "A");
    assert_eq!(status, "REFUSED", "non-.i2p names are refused");
    let (status, _) = dig(&env, "nobody-has-this.i2p", "A");
    assert_eq!(status, "NXDOMAIN", "unknown .i2p names");
    let (status, aaaa) = dig(&env, NAME, "AAAA");
    assert_eq!(status, "NOERROR");
    assert!(aaaa.starts_with("fd69:3270:6972:"), "AAAA {aaaa}");
    println!(
        "1. dig {NAME}: A {ip}, AAAA {aaaa}, TXT {txt}; example.com REFUSED; unknown NXDOMAIN"
    );

    // 3. the subscription, fetched through I2P once the proxies' destination is ready
    let t = Instant::now();
    let fetched = loop {
        let lines = ours.log_lines_with(&["subscription fetched"]);
        if let Some(l) = lines.first() {
            break l.clone();
        }
        let failed = ours.log_lines_with(&["subscription fetch failed"]);
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "no subscription fetch: {failed:?}\n{}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    println!("3. {}", fetched.split("INFO ").nth(1).unwrap_or(&fetched));
    let b32_of = |k: &i2p_client::PrivateKeys| k.destination.b32_address();
    assert_eq!(
        dig(&env, "plain.testnet.i2p", "TXT"),
        ("NOERROR".into(), b32_of(&keys[0]))
    );
    assert_eq!(
        dig(&env, "signed.testnet.i2p", "TXT"),
        ("NOERROR".into(), b32_of(&keys[1]))
    );
    assert_eq!(
        dig(&env, "tampered.testnet.i2p", "TXT").0,
        "NXDOMAIN",
        "a bad signature is not accepted"
    );
    let hup = |pid: u32| {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -HUP {pid}");
    };
    // our own router, by PID
    hup(ours.process().expect("our router runs").pid());
    let t = Instant::now();
    while ours
        .log_lines_with(&["subscription not modified (304)"])
        .is_empty()
    {
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "the second fetch did not get 304\n{}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    println!(
        "3. plain and signed names resolve, the tampered one does not; SIGHUP refetch got 304 (If-None-Match)"
    );

    // 2. the system resolver → our DNS → virtual IP → SOCKS maps it back
    let _resolv = NetnsResolvConf::create(env.netns().name());
    let (_, resolved, _) = run_in(&env, "getent", &["ahostsv4", NAME]);
    assert!(
        resolved.contains(&ip.to_string()),
        "the system resolver gives {ip}: {resolved:?}"
    );
    let socks = format!("127.0.0.1:{SOCKS}");
    let url = format!("http://{NAME}/");
    let t = Instant::now();
    let body = loop {
        let (code, status, body, _) = curl(&env, &["--socks5", &socks], &url);
        if code == 0 && status == 200 {
            break body;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "curl --socks5 {url}: exit {code}, HTTP {status}\n{}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_secs(3));
    };
    assert_eq!(body, page, "the eepsite's page");
    println!(
        "2. curl --socks5 {url} (system resolver -> our DNS -> {ip}) fetched the eepsite after {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 2. the transparent listener: the virtual range is routed to lo inside the namespace and
    // its TCP connections are redirected to our listener; curl needs no proxy setting at all
    for args in [
        vec!["ip", "route", "add", "10.191.0.0/16", "dev", "lo"],
        vec![
            "iptables",
            "-t",
            "nat",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "-d",
            "10.191.0.0/16",
            "-j",
            "REDIRECT",
            "--to-ports",
            "25040",
        ],
    ] {
        let (code, _, err) = run_in(&env, args[0], &args[1..]);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let t = Instant::now();
    let body = loop {
        let (code, status, body, _) = curl(&env, &[], &url);
        if code == 0 && status == 200 {
            break body;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "curl {url} through the transparent listener: exit {code}, HTTP {status}\n{}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_secs(3));
    };
    assert_eq!(
        body, page,
        "the eepsite's page through the transparent listener"
    );
    println!(
        "2. curl {url} (no proxy; iptables REDIRECT to the transparent listener) fetched the eepsite after {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 4. the address helper flow through the HTTP proxy
    let proxy = format!("http://127.0.0.1:{HTTP}");
    let helper_url = format!("http://newname.i2p/?i2paddresshelper={b64}");
    let (_, status, confirm, _) = curl(&env, &["-x", &proxy], &helper_url);
    assert_eq!(status, 200, "confirmation page");
    assert!(
        confirm.contains(&b32),
        "the confirmation page names the b32"
    );
    let start = confirm
        .find("http://proxy.i2p/addresshelper?")
        .expect("a save link");
    let link = confirm[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.ends_with("save=1"), "{link}");
    let (_, status, _, head) = curl(&env, &["-x", &proxy], &link);
    assert_eq!(status, 302, "save redirects to the site: {head}");
    let saved = std::fs::read_to_string(book_dir.join("userhosts.txt")).unwrap_or_default();
    assert!(
        saved.contains(&format!("newname.i2p={b64}")),
        "userhosts.txt: {saved}"
    );
    let (_, status, body, _) = curl(&env, &["-x", &proxy], "http://newname.i2p/");
    assert_eq!(
        (status, body.as_str()),
        (200, page.as_str()),
        "newname.i2p loads"
    );
    println!("4. address helper: confirmation page, saved to userhosts.txt, newname.i2p loads");

    // after a restart: the same virtual address, and the saved name resolves
    ours.stop();
    ours.start().expect("restart our router");
    let t = Instant::now();
    let again = loop {
        let r = dig(&env, NAME, "A");
        if r.0 == "NOERROR" || t.elapsed() > Duration::from_secs(30) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        again,
        ("NOERROR".to_string(), ip.to_string()),
        "same address after a restart"
    );
    let (status, txt) = dig(&env, "newname.i2p", "TXT");
    assert_eq!((status.as_str(), txt.as_str()), ("NOERROR", b32.as_str()));
    println!("1. after a restart: {NAME} A {ip} again; newname.i2p TXT {txt}");
    ours.stop();
}

/// Parse a Prometheus text exposition with the Python client's parser (in a venv made with
/// pip from PyPI outside the test namespace, cached under the target dir); returns the
/// family names.
fn prometheus_parse(text: &str) -> Vec<String> {
    use std::io::Write;
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-python")
        .join(PROMETHEUS_CLIENT.replace("==", "-"));
    let python = venv.join("bin/python");
    if !python.exists() {
        let ok = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3 -m venv {} (Debian: python3-venv)",
            venv.display()
        );
        let out = std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--retries",
                "2",
                "--timeout",
                "30",
                PROMETHEUS_CLIENT,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip install {PROMETHEUS_CLIENT}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut child = std::process::Command::new(&python)
        .args(["-c", "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\nfor f in p(sys.stdin.read()): print(f.name)"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
