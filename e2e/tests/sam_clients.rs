//! Issue 6 acceptance (SAM bridge), items 1 and 3: third-party SAM clients, unmodified, against
//! our router's SAM bridge, in a net of five i2pd routers with an i2pd eepsite.
//!
//! 1. **i2plib** (PyPI): a new destination (DEST GENERATE), a session with it, `stream_connect`
//!    to the eepsite's `.b32.i2p` and an HTTP GET of its index page; then `stream_accept` on the
//!    same session, answered by i2pd: router 5's HTTP proxy fetches a page that the Python
//!    script serves over the accepted stream (so i2pd must find our LeaseSet2 and reach us).
//! 2. **i2psam** (PyPI): a TRANSIENT stream session, a connect to the eepsite with a GET, and a
//!    NAMING LOOKUP of the eepsite.
//! 3. **yosemite** (crates.io): a stream session, a name lookup and a connect to the eepsite with
//!    a GET; the same from a session it asks us not to publish (`i2cp.dontPublishLeaseSet`);
//!    a repliable datagram session and an anonymous (RAW) one are created.
//!
//! Every fetched page must equal the eepsite's `index.html` byte for byte. SESSION CREATE time
//! on our bridge is printed for each client (item 3: it returns once the session's tunnels are
//! ready; i2pd's own bridge answers in 20 s steps, `../shared/testnet/README.md`).
//!
//! The Python packages are installed with pip from PyPI into a venv cached under the cargo
//! target directory (Debian's python3 refuses system-wide installs, PEP 668); `scripts/test.sh`
//! installs `python3-venv`. A pip failure fails the test. The only changes to the libraries
//! are the Python ≥ 3.10 workarounds documented in `../shared/testnet/README.md`, applied at run
//! time by `sam_clients.py`.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, ManagedProcess, OurRouter, OurRouterConfig, TestEnv};

const OUR_SAM: u16 = 27656;
/// The Python SAM clients, pinned: the workarounds in sam_clients.py are for these versions.
const PY_PACKAGES: [&str; 2] = ["i2plib==0.0.14", "i2psam==1.0.0"];
const SCRIPT: &str = include_str!("sam_clients.py");

/// Where the venv lives: `<target>/e2e-python/<packages>` when the test runs from a cargo
/// target directory (kept between runs), else inside the run dir.
fn venv_dir(run_dir: &Path) -> PathBuf {
    let exe = std::env::current_exe().ok();
    let target = exe
        .as_deref()
        .and_then(Path::parent)
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent);
    let name = format!("sam-clients-{}", PY_PACKAGES.join("-").replace("==", "-"));
    match target {
        Some(t) => t.join("e2e-python").join(name),
        None => run_dir.join(name),
    }
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

/// A venv with the pinned packages (made with pip from PyPI, outside the test namespace, the
/// first time); returns its python.
fn python_venv(run_dir: &Path) -> PathBuf {
    let dir = venv_dir(run_dir);
    let python = dir.join("bin").join("python");
    let usable = |python: &Path| {
        Command::new(python)
            .args(["-c", "import i2plib, i2psam"])
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
    // pip's own retries are kept short so an unreachable PyPI fails the test within minutes
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
        "the venv at {} cannot import i2plib and i2psam after pip install:\n{log}",
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

/// `FIGURE name seconds` lines of a script's output.
fn figures(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("FIGURE ")?.split_whitespace();
            Some((w.next()?.to_owned(), w.next()?.parse().ok()?))
        })
        .collect()
}

fn figure(log: &str, name: &str) -> f64 {
    figures(log)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no FIGURE {name} in the script's output:\n{log}"))
}

/// Waits until the script's output has a line starting with `prefix` (returns its rest), or
/// fails the test when the script failed, exited or ran out of time.
fn wait_for_line(
    p: &mut ManagedProcess,
    prefix: &str,
    timeout: Duration,
    diagnostics: &dyn Fn() -> String,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let running = p.is_running();
        let log = std::fs::read_to_string(p.log_path()).unwrap_or_default();
        if let Some(rest) = log.lines().find_map(|l| l.strip_prefix(prefix)) {
            return rest.trim().to_owned();
        }
        let failed = log.lines().any(|l| l == "FAILED");
        if failed || !running || Instant::now() > deadline {
            let why = if failed {
                "the script failed".to_owned()
            } else if running {
                format!("not within {timeout:?}")
            } else {
                format!("it exited: {:?}", p.stop())
            };
            panic!(
                "{}: no line `{prefix}` ({why}):\n{log}\n{}",
                p.name(),
                diagnostics()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits for the script to exit and requires success and a `DONE` line.
fn wait_done(
    p: &mut ManagedProcess,
    timeout: Duration,
    diagnostics: &dyn Fn() -> String,
) -> String {
    wait_for_line(p, "DONE", timeout, diagnostics);
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = p.stop();
    let log = std::fs::read_to_string(p.log_path()).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "{} exited with {status:?}:\n{log}",
        p.name()
    );
    log
}

/// The body of a raw HTTP response the script saved, checked to be a 200.
fn saved_page(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let resp = i2p_e2e::http::parse_response(&raw)
        .unwrap_or_else(|e| panic!("{}: not an HTTP response: {e}", path.display()));
    assert_eq!(resp.status, 200, "{}: {}", path.display(), resp.text());
    resp.body
}

/// What yosemite did.
#[derive(Debug)]
struct YosemiteRun {
    stream_create: Duration,
    lookup: String,
    connect: Duration,
    raw: Vec<u8>,
    hidden_create: Duration,
    hidden_raw: Vec<u8>,
    repliable_create: Duration,
    anonymous_create: Duration,
}

async fn yosemite_flow(b32: String) -> Result<YosemiteRun, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    use yosemite::style::{Anonymous, Repliable, Stream};
    use yosemite::{RouterApi, Session, SessionOptions};

    let limit = Duration::from_secs(240);
    let opts = |nickname: &str| SessionOptions {
        nickname: nickname.to_owned(),
        samv3_tcp_port: OUR_SAM,
        samv3_udp_port: OUR_SAM - 1,
        ..Default::default()
    };
    async fn within<T, F>(what: &str, limit: Duration, f: F) -> Result<T, String>
    where
        F: std::future::Future<Output = yosemite::Result<T>>,
    {
        match tokio::time::timeout(limit, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("yosemite {what}: {e}")),
            Err(_) => Err(format!("yosemite {what}: nothing within {limit:?}")),
        }
    }

    let t = Instant::now();
    let mut session = within(
        "Session::<Stream>::new",
        limit,
        Session::<Stream>::new(opts("ystream")),
    )
    .await?;
    let stream_create = t.elapsed();

    let lookup = within(
        "RouterApi::lookup_name",
        limit,
        RouterApi::new(OUR_SAM).lookup_name(&b32),
    )
    .await?;

    let t = Instant::now();
    let mut stream = within("Session::connect", limit, session.connect(&b32)).await?;
    let connect = t.elapsed();
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {b32}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| format!("write the request: {e}"))?;
    let mut raw = Vec::new();
    timeout(limit, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| "the eepsite's response did not end".to_owned())?
        .map_err(|e| format!("read the response: {e}"))?;
    drop(stream);

    // a client-only session (publish: false sends i2cp.dontPublishLeaseSet=true): its LeaseSet2
    // never reaches the floodfills, so the eepsite can answer only because our garlic carries it
    let t = Instant::now();
    let mut hidden = within(
        "Session::<Stream>::new (unpublished)",
        limit,
        Session::<Stream>::new(SessionOptions {
            publish: false,
            ..opts("yhidden")
        }),
    )
    .await?;
    let hidden_create = t.elapsed();
    let mut stream = within(
        "Session::connect (unpublished)",
        limit,
        hidden.connect(&b32),
    )
    .await?;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {b32}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| format!("write the request: {e}"))?;
    let mut hidden_raw = Vec::new();
    timeout(limit, stream.read_to_end(&mut hidden_raw))
        .await
        .map_err(|_| "the eepsite's response (unpublished session) did not end".to_owned())?
        .map_err(|e| format!("read the response: {e}"))?;
    drop(stream);
    drop(hidden);

    let t = Instant::now();
    let repliable = within(
        "Session::<Repliable>::new",
        limit,
        Session::<Repliable>::new(opts("yrepliable")),
    )
    .await?;
    let repliable_create = t.elapsed();
    let t = Instant::now();
    let anonymous = within(
        "Session::<Anonymous>::new",
        limit,
        Session::<Anonymous>::new(opts("yanonymous")),
    )
    .await?;
    let anonymous_create = t.elapsed();
    if repliable.destination().is_empty() || anonymous.destination().is_empty() {
        return Err("a datagram session reported no destination".into());
    }
    Ok(YosemiteRun {
        stream_create,
        lookup,
        connect,
        raw,
        hidden_create,
        hidden_raw,
        repliable_create,
        anonymous_create,
    })
}

#[test]
fn third_party_sam_clients_against_our_bridge() {
    let env = TestEnv::new("sam_clients").expect("e2e environment");
    // first, so that a missing PyPI fails before any router starts
    let python = python_venv(env.dir());
    let script = env.dir().join("sam_clients.py");
    std::fs::write(&script, SCRIPT).unwrap();

    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 70),
            ntcp2_port: 12170,
            floodfill: false,
            sam_port: Some(OUR_SAM),
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
    let seed = env.dir().join("seed.zip");
    net.write_reseed_zip(&seed)
        .expect("reseed zip of the i2pd routers");
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let our_log = ours.log_path();
    let diagnostics = move || tail_file(&our_log, 40);

    let eepsite = net.eepsite().expect("the net has an eepsite");
    let index = std::fs::read(eepsite.www.join("index.html")).unwrap();
    let b32 = eepsite.b32.clone();
    net.wait_eepsite_reachable(Duration::from_secs(240))
        .expect("the eepsite answers through router 5's HTTP proxy");
    println!(
        "i2pd eepsite reachable {:.1} s after our start",
        started.elapsed().as_secs_f64()
    );
    let python_client = |mode: &str, extra: &[&str]| {
        let mut cmd = env.netns().command(&python);
        cmd.arg(&script)
            .arg(mode)
            .arg(OUR_SAM.to_string())
            .arg(&b32)
            .arg(env.dir())
            .args(extra);
        env.netns()
            .spawn(
                mode,
                cmd,
                "sam_clients.py",
                &env.dir().join(format!("{mode}.log")),
            )
            .unwrap_or_else(|e| panic!("start the {mode} script: {e}"))
    };

    // ---------------------------------------------------------------------------------------
    // 1. i2plib: new destination, session, stream_connect + GET, stream_accept answered by i2pd
    let nonce = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            ^ u128::from(std::process::id())
    );
    let mut lib = python_client("i2plib", &[&nonce]);
    let ours_b32 = wait_for_line(&mut lib, "READY ", Duration::from_secs(400), &diagnostics);
    let page = saved_page(&env.dir().join("i2plib-eepsite.http"));
    assert_eq!(page, index, "i2plib fetched the eepsite's index.html");
    let log = std::fs::read_to_string(lib.log_path()).unwrap();
    let (lib_create, lib_connect, lib_fetch) = (
        figure(&log, "session_create"),
        figure(&log, "stream_connect"),
        figure(&log, "fetch"),
    );
    println!(
        "1a. i2plib: SESSION CREATE (its new destination) {lib_create:.2} s on our bridge; \
         stream_connect to the eepsite {lib_connect:.2} s; GET / -> 200, {} bytes = index.html \
         ({lib_fetch:.2} s from connect)",
        page.len()
    );

    // i2pd's HTTP proxy (router 5) fetches from the page the script serves over stream_accept
    let proxy = SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.http_proxy));
    let url = format!("http://{ours_b32}/");
    let want = format!("answered through i2plib stream_accept, nonce {nonce}\n");
    let t = Instant::now();
    let deadline = t + Duration::from_secs(300);
    let mut attempts = 0;
    let served = loop {
        attempts += 1;
        let got = env
            .netns()
            .run(|| i2p_e2e::http::get(proxy, &url, &ours_b32, Duration::from_secs(60)))
            .expect("netns");
        match got {
            Ok(r) if r.status == 200 => break r,
            other => {
                assert!(
                    Instant::now() < deadline && lib.is_running(),
                    "i2pd's HTTP proxy did not get our i2plib page (last: {other:?}); script:\n{}\n{}",
                    tail_file(lib.log_path(), 30),
                    diagnostics()
                );
                std::thread::sleep(Duration::from_secs(5));
            }
        }
    };
    assert_eq!(
        served.text(),
        want,
        "the page i2pd fetched is the one the script served"
    );
    // the script ends its session once told to
    std::fs::write(env.dir().join("i2plib.stop"), b"").unwrap();
    let log = wait_done(&mut lib, Duration::from_secs(60), &diagnostics);
    let served_line = log
        .lines()
        .find_map(|l| l.strip_prefix("SERVED "))
        .unwrap_or_else(|| panic!("no SERVED line, yet i2pd got the page:\n{log}"));
    assert!(
        served_line.contains(".b32.i2p") && !served_line.contains("unparsable"),
        "the accepted stream named its remote destination: {served_line}"
    );
    println!(
        "1b. i2plib stream_accept on {ours_b32}: i2pd's HTTP proxy got the served page after \
         {:.1} s ({attempts} attempt(s)); {served_line}",
        t.elapsed().as_secs_f64()
    );

    // ---------------------------------------------------------------------------------------
    // 2. i2psam: TRANSIENT session, connect_stream + GET, NAMING LOOKUP
    let mut sam = python_client("i2psam", &[]);
    let log = wait_done(&mut sam, Duration::from_secs(500), &diagnostics);
    let page = saved_page(&env.dir().join("i2psam-eepsite.http"));
    assert_eq!(page, index, "i2psam fetched the eepsite's index.html");
    println!(
        "2. i2psam: SESSION CREATE {:.2} s on our bridge; connect_stream {:.2} s; GET / -> 200, \
         {} bytes = index.html ({:.2} s from connect); NAMING LOOKUP ok",
        figure(&log, "session_create"),
        figure(&log, "stream_connect"),
        page.len(),
        figure(&log, "fetch")
    );
    for l in log.lines().filter(|l| l.starts_with("INFO ")) {
        println!("   {l}");
    }

    // ---------------------------------------------------------------------------------------
    // 3. yosemite (Rust, crates.io)
    let b32_for_yosemite = b32.clone();
    let y = env
        .netns()
        .run_async(move || yosemite_flow(b32_for_yosemite))
        .expect("netns");
    let y = match y {
        Ok(y) => y,
        Err(e) => panic!("{e}\n{}", diagnostics()),
    };
    let looked_up = i2p_e2e::sam::destination_hash(&y.lookup).expect("a base64 destination");
    assert_eq!(
        i2p_e2e::sam::b32(&looked_up),
        b32,
        "yosemite's name lookup gave the eepsite's destination"
    );
    let resp = i2p_e2e::http::parse_response(&y.raw).expect("an HTTP response");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.body, index,
        "yosemite fetched the eepsite's index.html"
    );
    let hidden = i2p_e2e::http::parse_response(&y.hidden_raw).expect("an HTTP response");
    assert_eq!(hidden.status, 200, "{}", hidden.text());
    assert_eq!(
        hidden.body, index,
        "yosemite fetched index.html from an unpublished session"
    );
    // our router's debug log names each LeaseSet2 publication (router/node/src/client/dest.rs)
    let log = std::fs::read_to_string(ours.log_path()).unwrap_or_default();
    let published = |nick: &str| {
        log.lines().any(|l| {
            l.contains("publishing our LeaseSet2") && l.contains(&format!("dest=sam:{nick} "))
        })
    };
    assert!(
        published("ystream") && !published("yhidden"),
        "the published yosemite session's LeaseSet2 is published, the unpublished one's is not \
         (published: ystream {}, yhidden {})",
        published("ystream"),
        published("yhidden")
    );
    println!(
        "3. yosemite: SESSION CREATE (STREAM) {:.2} s on our bridge; lookup_name ok; connect \
         {:.2} s; GET / -> 200, {} bytes = index.html; unpublished STREAM session {:.2} s, GET \
         ok; DATAGRAM session created in {:.2} s, RAW in {:.2} s",
        y.stream_create.as_secs_f64(),
        y.connect.as_secs_f64(),
        resp.body.len(),
        y.hidden_create.as_secs_f64(),
        y.repliable_create.as_secs_f64(),
        y.anonymous_create.as_secs_f64()
    );
    println!(
        "total {:.1} s after our router started",
        started.elapsed().as_secs_f64()
    );
    net.ensure_running().expect("every i2pd router still runs");
}
