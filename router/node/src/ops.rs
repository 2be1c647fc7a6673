//! The operator's view (`ops:`, 127.0.0.1:7070 by default): `/healthz` (the process answers),
//! `/readyz` (200 once the exploratory tunnels and every configured client destination — the
//! proxies' and the tunnels' — have tunnels, else 503 with the reasons), `/metrics`
//! (Prometheus text format 0.0.4) and a small HTML status page at `/`. Bootstrap progress is
//! also logged as a percentage whenever it moves, as Tor does.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use i2p_client::LocalDestination;
use tokio::net::TcpListener;
use tracing::{debug, info};

/// Figures the router loop refreshes every second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub peers: u64,
    pub routers: u64,
    pub floodfills: u64,
    pub lease_sets: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub exploratory_in: u64,
    pub exploratory_out: u64,
    pub builds_ok: u64,
    pub builds_failed: u64,
    pub transit_live: u64,
    pub transit_accepted: u64,
    pub transit_rejected: u64,
    pub destinations: u64,
    /// open streams of all local destinations
    pub streams: u64,
    /// tunnel builds of the local destinations' pools
    pub client_builds_ok: u64,
    pub client_builds_failed: u64,
    /// builds not started for lack of suitable peers (all pools)
    pub builds_no_peers: u64,
    /// tunnel tests (all pools)
    pub tests_passed: u64,
    pub tests_failed: u64,
    /// I2NP messages through the transports
    pub messages_in: u64,
    pub messages_out: u64,
}

/// Shared state behind the endpoints.
pub struct Ops {
    started: Instant,
    router_hash: String,
    snapshot: RwLock<Snapshot>,
    /// client destinations that must have tunnels before we are ready: (name, destination)
    watched: Mutex<Vec<(String, Arc<dyn LocalDestination>)>>,
    /// server tunnels and their addresses, for the status page
    published: Mutex<Vec<(String, String)>>,
    /// names in the address book, refreshed by the router
    book_size: RwLock<usize>,
    last_progress: Mutex<u8>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").finish_non_exhaustive()
    }
}

impl Ops {
    pub fn new(router_hash: String) -> Arc<Ops> {
        Arc::new(Ops {
            started: Instant::now(),
            router_hash,
            snapshot: RwLock::new(Snapshot::default()),
            watched: Mutex::new(Vec::new()),
            published: Mutex::new(Vec::new()),
            book_size: RwLock::new(0),
            last_progress: Mutex::new(0),
        })
    }

    /// New figures from the router loop; logs bootstrap progress when it moved.
    pub fn update(&self, s: Snapshot, book_size: usize) {
        if let Ok(mut w) = self.snapshot.write() {
            *w = s;
        }
        if let Ok(mut b) = self.book_size.write() {
            *b = book_size;
        }
        let (p, what) = self.progress();
        if let Ok(mut last) = self.last_progress.lock()
            && *last != p
        {
            *last = p;
            info!("bootstrapped {p}%: {what}");
        }
    }

    /// A destination that must be ready before `/readyz` says so (replaces one of that name).
    pub fn watch(&self, name: &str, dest: Arc<dyn LocalDestination>) {
        if let Ok(mut w) = self.watched.lock() {
            w.retain(|(n, _)| n != name);
            w.push((name.to_string(), dest));
        }
    }

    /// Stop watching a destination (a tunnel removed on reload).
    pub fn unwatch(&self, name: &str) {
        if let Ok(mut w) = self.watched.lock() {
            w.retain(|(n, _)| n != name);
        }
        if let Ok(mut p) = self.published.lock() {
            p.retain(|(n, _)| n != name);
        }
    }

    /// A server tunnel's address for the status page.
    pub fn published(&self, name: &str, b32: String) {
        if let Ok(mut p) = self.published.lock() {
            p.retain(|(n, _)| n != name);
            p.push((name.to_string(), b32));
        }
    }

    /// The figures of the last refresh (every second).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.read().map(|s| *s).unwrap_or_default()
    }

    /// Destinations not ready yet.
    fn waiting(&self) -> Vec<String> {
        self.watched
            .lock()
            .map(|w| {
                w.iter()
                    .filter(|(_, d)| !d.is_ready())
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Bootstrap progress in percent, with what the next step waits for.
    pub fn progress(&self) -> (u8, String) {
        let s = self.snapshot();
        if s.routers == 0 {
            return (5, "waiting for a reseed (no routers known)".into());
        }
        if s.peers == 0 {
            return (
                25,
                format!("{} routers known, no peer connected yet", s.routers),
            );
        }
        if s.exploratory_in == 0 || s.exploratory_out == 0 {
            return (
                50,
                format!("{} peers connected, building exploratory tunnels", s.peers),
            );
        }
        let waiting = self.waiting();
        if !waiting.is_empty() {
            return (
                75,
                format!("client tunnels being built: {}", waiting.join(", ")),
            );
        }
        (100, "done: all tunnels built".into())
    }

    fn readyz(&self) -> (StatusCode, String) {
        match self.progress() {
            (100, what) => (StatusCode::OK, format!("ready: {what}\n")),
            (p, what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready ({p}%): {what}\n"),
            ),
        }
    }

    /// The Prometheus text exposition of the current figures.
    pub fn metrics(&self) -> String {
        let s = self.snapshot();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        metric(
            "i2p_peers",
            "gauge",
            "Transport sessions with other routers.",
            s.peers,
        );
        metric(
            "i2p_netdb_routers",
            "gauge",
            "RouterInfos in the network database.",
            s.routers,
        );
        metric(
            "i2p_netdb_floodfills",
            "gauge",
            "Floodfill routers known.",
            s.floodfills,
        );
        metric(
            "i2p_netdb_leasesets",
            "gauge",
            "LeaseSets in the network database.",
            s.lease_sets,
        );
        metric(
            "i2p_transport_received_bytes_total",
            "counter",
            "Bytes received from other routers.",
            s.bytes_in,
        );
        metric(
            "i2p_transport_sent_bytes_total",
            "counter",
            "Bytes sent to other routers.",
            s.bytes_out,
        );
        metric(
            "i2p_exploratory_tunnels_inbound",
            "gauge",
            "Live inbound exploratory tunnels.",
            s.exploratory_in,
        );
        metric(
            "i2p_exploratory_tunnels_outbound",
            "gauge",
            "Live outbound exploratory tunnels.",
            s.exploratory_out,
        );
        metric(
            "i2p_tunnel_builds_succeeded_total",
            "counter",
            "Exploratory tunnel builds that succeeded.",
            s.builds_ok,
        );
        metric(
            "i2p_tunnel_builds_failed_total",
            "counter",
            "Exploratory tunnel builds that were declined, timed out or unreadable.",
            s.builds_failed,
        );
        metric(
            "i2p_transit_tunnels",
            "gauge",
            "Transit tunnels we take part in.",
            s.transit_live,
        );
        metric(
            "i2p_transit_requests_accepted_total",
            "counter",
            "Transit tunnel requests accepted.",
            s.transit_accepted,
        );
        metric(
            "i2p_transit_requests_rejected_total",
            "counter",
            "Transit tunnel requests rejected.",
            s.transit_rejected,
        );
        metric(
            "i2p_client_destinations",
            "gauge",
            "Local client destinations.",
            s.destinations,
        );
        metric(
            "i2p_streams",
            "gauge",
            "Open streams of the local client destinations.",
            s.streams,
        );
        let book = self.book_size.read().map(|b| *b).unwrap_or(0);
        metric(
            "i2p_addressbook_names",
            "gauge",
            "Names in the address book.",
            book as u64,
        );
        metric(
            "i2p_uptime_seconds",
            "gauge",
            "Seconds since the router started.",
            self.started.elapsed().as_secs(),
        );
        let (p, _) = self.progress();
        metric(
            "i2p_bootstrap_percent",
            "gauge",
            "Bootstrap progress (100: all tunnels built).",
            u64::from(p),
        );
        out
    }

    fn status_page(&self) -> String {
        let s = self.snapshot();
        let (p, what) = self.progress();
        let esc = i2p_proxies::http::pages::escape;
        let mut rows = String::new();
        let mut row = |k: &str, v: String| {
            let _ = write!(rows, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
        };
        row("router", self.router_hash.clone());
        row("uptime", format!("{} s", self.started.elapsed().as_secs()));
        row("bootstrap", format!("{p}% — {what}"));
        row("peers", s.peers.to_string());
        row(
            "netDb",
            format!(
                "{} routers ({} floodfills), {} LeaseSets",
                s.routers, s.floodfills, s.lease_sets
            ),
        );
        row(
            "exploratory tunnels",
            format!("{} in, {} out", s.exploratory_in, s.exploratory_out),
        );
        row("transit tunnels", s.transit_live.to_string());
        row(
            "client destinations",
            format!("{}, {} open streams", s.destinations, s.streams),
        );
        row(
            "traffic",
            format!("{} bytes in, {} bytes out", s.bytes_in, s.bytes_out),
        );
        row(
            "address book",
            format!("{} names", self.book_size.read().map(|b| *b).unwrap_or(0)),
        );
        let mut tunnels = String::new();
        if let Ok(p) = self.published.lock() {
            for (name, b32) in p.iter() {
                let _ = write!(tunnels, "<li>{}: <code>{}</code></li>", esc(name), esc(b32));
            }
        }
        i2p_proxies::http::pages::page(
            "i2p-rs router status",
            &format!("<table>{rows}</table><h2>Server tunnels</h2><ul>{tunnels}</ul>"),
        )
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let (status, ctype, body) = match path {
            "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
            "/readyz" => {
                let (s, b) = self.readyz();
                (s, "text/plain", b)
            }
            "/metrics" => (StatusCode::OK, "text/plain; version=0.0.4", self.metrics()),
            "/" => (
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.status_page(),
            ),
            _ => (
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found\n".to_string(),
            ),
        };
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    }
}

/// Serve the endpoints on `listener` until the runtime stops.
pub async fn serve(ops: Arc<Ops>, listener: TcpListener) {
    info!(addr = ?listener.local_addr().ok(), "operator endpoints: /healthz /readyz /metrics /");
    loop {
        let (conn, peer): (_, SocketAddr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                debug!(error = %e, "operator endpoint accept failed");
                continue;
            }
        };
        let ops = ops.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let r = ops.respond(req.uri().path());
                async move { Ok::<_, std::convert::Infallible>(r) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(conn), svc)
                .await
            {
                debug!(%peer, error = %e, "operator endpoint connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn progress_readiness_and_metrics_text() {
        let ops = Ops::new("hash".into());
        assert_eq!(ops.progress().0, 5);
        assert_eq!(ops.readyz().0, StatusCode::SERVICE_UNAVAILABLE);
        let mut s = Snapshot {
            routers: 10,
            ..Default::default()
        };
        ops.update(s, 3);
        assert_eq!(ops.progress().0, 25);
        s.peers = 2;
        ops.update(s, 3);
        assert_eq!(ops.progress().0, 50);
        s.exploratory_in = 2;
        s.exploratory_out = 2;
        ops.update(s, 3);
        assert_eq!(ops.readyz().0, StatusCode::OK);
        // every sample line is `name value` after its HELP and TYPE lines
        let text = ops.metrics();
        let mut names = Vec::new();
        for block in text.trim_end().split("# HELP ").skip(1) {
            let lines: Vec<&str> = block.lines().collect();
            assert_eq!(lines.len(), 3, "{block}");
            let name = lines[0].split(' ').next().unwrap();
            assert!(lines[1].starts_with(&format!("# TYPE {name} ")));
            let (n, v) = lines[2].split_once(' ').unwrap();
            assert_eq!(n, name);
            v.parse::<u64>().unwrap();
            if lines[1].ends_with("counter") {
                assert!(name.ends_with("_total"), "{name}");
            }
            names.push(name.to_string());
        }
        assert!(names.contains(&"i2p_addressbook_names".to_string()));
        assert!(text.contains("i2p_addressbook_names 3\n"));
        assert!(text.contains("i2p_bootstrap_percent 100\n"));
        s.streams = 4;
        ops.update(s, 3);
        assert!(ops.metrics().contains("i2p_streams 4\n"));
        assert!(ops.status_page().contains("4 open streams"));
    }
}
