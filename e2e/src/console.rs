//! Reading router state out of i2pd 2.45.1's web console (`[http]`, no auth). The page layout
//! is i2pd's `daemon/HTTPServer.cpp`; the parsers are tested on pages captured from real routers
//! (`e2e/tests/data/console/`). All fetches are blocking and must run inside the namespace.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::http;

/// Timeout for one console page.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// The main page's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// "Network status" (OK, Testing, Firewalled, Unknown, ...).
    pub status: String,
    /// "Routers": RouterInfos in the netDb. i2pd 2.45.1 inserts its own RouterInfo into its
    /// netDb at start (`NetDb::Start`), so this counts the router itself.
    pub routers: u32,
    /// "Floodfills" in the netDb, the router itself included if it is one.
    pub floodfills: u32,
    /// "LeaseSets" in the netDb.
    pub leasesets: u32,
    /// "Tunnel creation success rate" in percent.
    pub tunnel_success_percent: Option<u32>,
    /// "Client Tunnels" (inbound + outbound, all pools).
    pub client_tunnels: u32,
    /// "Transit Tunnels".
    pub transit_tunnels: u32,
    /// "Router Ident": the router's own identity hash, I2P base64.
    pub router_ident: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status={} routers={} floodfills={} leasesets={} tunnel_ok={}% client_tunnels={} transit={}",
            self.status,
            self.routers,
            self.floodfills,
            self.leasesets,
            self.tunnel_success_percent
                .map_or_else(|| "?".into(), |p| p.to_string()),
            self.client_tunnels,
            self.transit_tunnels
        )
    }
}

/// One established transport session from `/?page=transports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSession {
    /// `NTCP2`, `SSU2` (or their `v6` variants).
    pub transport: String,
    /// First four characters of the peer's base64 identity hash (all i2pd shows).
    pub peer_hash_prefix: String,
    /// Remote `ip:port`.
    pub remote: String,
    /// True if we dialled.
    pub outgoing: bool,
    /// Bytes i2pd sent and received on this session (`[sent:received]`), if shown.
    pub bytes: Option<(u64, u64)>,
}

/// One tunnel of a destination's pool: hop count and i2pd's state word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTunnel {
    /// Hops (arrows minus one).
    pub hops: u32,
    /// `established`, `building`, `failed`, `expiring`, ...
    pub state: String,
}

/// Inbound and outbound tunnels of one local destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Inbound tunnels.
    pub inbound: Vec<PoolTunnel>,
    /// Outbound tunnels.
    pub outbound: Vec<PoolTunnel>,
}

impl PoolState {
    /// At least one established tunnel with at least one hop in each direction.
    pub fn ready(&self) -> bool {
        let ok = |v: &[PoolTunnel]| v.iter().any(|t| t.state == "established" && t.hops >= 1);
        ok(&self.inbound) && ok(&self.outbound)
    }
}

/// A handle on one router's console (`127.0.0.1:port` inside the namespace).
#[derive(Debug, Clone, Copy)]
pub struct Console {
    /// Console address.
    pub addr: SocketAddr,
}

impl Console {
    /// Fetches `/` or `/?page=...` and returns the HTML.
    pub fn page(&self, query: &str) -> Result<String> {
        let target = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        };
        let r = http::get(self.addr, &target, &self.addr.to_string(), PAGE_TIMEOUT)?;
        if r.status != 200 {
            return Err(Error::Http {
                url: target,
                why: format!("status {}", r.status),
            });
        }
        Ok(r.text())
    }

    /// The main page's counters.
    pub fn summary(&self) -> Result<Summary> {
        parse_summary(&self.page("")?)
    }

    /// Established transport sessions.
    pub fn transports(&self) -> Result<Vec<TransportSession>> {
        Ok(parse_transports(&self.page("page=transports")?))
    }

    /// Pool of the client tunnel named `name` on `/?page=i2p_tunnels` (e.g. "HTTP Proxy",
    /// "eepsite"); `None` if there is no such tunnel.
    pub fn pool(&self, name: &str) -> Result<Option<PoolState>> {
        let Some(b32) = find_tunnel_b32(&self.page("page=i2p_tunnels")?, name) else {
            return Ok(None);
        };
        Ok(Some(parse_local_destination(
            &self.page(&format!("page=local_destination&b32={b32}"))?,
        )))
    }
}

/// Text after `<b>NAME:</b>` up to the next tag, trimmed.
fn field<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("<b>{name}:</b>");
    let start = page.find(&marker)? + marker.len();
    let rest = &page[start..];
    Some(rest[..rest.find('<').unwrap_or(rest.len())].trim())
}

fn number(page: &str, name: &str) -> Result<u32> {
    let v = field(page, name)
        .ok_or_else(|| Error::parse("i2pd console main page", format!("no \"{name}\" field")))?;
    v.trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| Error::parse("i2pd console main page", format!("\"{name}\" is {v:?}")))
}

/// Parses the console's main page.
pub fn parse_summary(page: &str) -> Result<Summary> {
    Ok(Summary {
        status: field(page, "Network status").unwrap_or("?").to_owned(),
        routers: number(page, "Routers")?,
        floodfills: number(page, "Floodfills")?,
        leasesets: number(page, "LeaseSets")?,
        tunnel_success_percent: number(page, "Tunnel creation success rate").ok(),
        client_tunnels: number(page, "Client Tunnels")?,
        transit_tunnels: number(page, "Transit Tunnels")?,
        router_ident: field(page, "Router Ident")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    })
}

/// The bodies of all `<div class="listitem">...</div>` in `s`.
fn list_items(s: &str) -> Vec<&str> {
    const OPEN: &str = "<div class=\"listitem\">";
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        let end = rest.find("</div>").unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// Parses `/?page=transports`: one section per transport (`<b>NTCP2</b> ( n )`), one list item
/// per established session (`[⇒ ]hash4: ip:port[ ⇒] [sent:received]`).
pub fn parse_transports(page: &str) -> Vec<TransportSession> {
    const SECTION: &str = "<div class='slide'><label for='slide_";
    let mut out = Vec::new();
    for section in page.split(SECTION).skip(1) {
        let Some(name) = section
            .split("<b>")
            .nth(1)
            .and_then(|s| s.split("</b>").next())
        else {
            continue;
        };
        for item in list_items(section) {
            let item = item.trim();
            let outgoing = item.starts_with("&#8658;");
            let body = item.trim_start_matches("&#8658;").trim();
            let Some((hash, rest)) = body.split_once(": ") else {
                continue;
            };
            let remote = rest.split_whitespace().next().unwrap_or("").to_owned();
            let bytes = rest
                .rsplit_once('[')
                .and_then(|(_, r)| r.split_once(']'))
                .and_then(|(inner, _)| inner.split_once(':'))
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
            out.push(TransportSession {
                transport: name.to_owned(),
                peer_hash_prefix: hash.trim().to_owned(),
                remote,
                outgoing,
                bytes,
            });
        }
    }
    out
}

/// Finds `b32=XXXX">NAME</a>` on `/?page=i2p_tunnels`.
pub fn find_tunnel_b32(page: &str, name: &str) -> Option<String> {
    let marker = format!("\">{name}</a>");
    let end = page.find(&marker)?;
    let start = page[..end].rfind("b32=")? + 4;
    let b32 = &page[start..end];
    b32.chars()
        .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        .then(|| b32.to_owned())
}

/// Parses the tunnel lists of `/?page=local_destination&b32=...`.
pub fn parse_local_destination(page: &str) -> PoolState {
    let mut pool = PoolState::default();
    for (marker, inbound) in [
        ("<b>Inbound tunnels:</b>", true),
        ("<b>Outbound tunnels:</b>", false),
    ] {
        let Some(i) = page.find(marker) else { continue };
        let rest = &page[i + marker.len()..];
        // the list ends where the next bold heading starts
        let end = rest.find("<b>").unwrap_or(rest.len());
        let tunnels = list_items(&rest[..end])
            .into_iter()
            .map(|item| PoolTunnel {
                hops: u32::try_from(item.matches("&#8658;").count())
                    .unwrap_or(0)
                    .saturating_sub(1),
                state: item
                    .split("class=\"tunnel ")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("unknown")
                    .to_owned(),
            })
            .collect();
        if inbound {
            pool.inbound = tunnels;
        } else {
            pool.outbound = tunnels;
        }
    }
    pool
}

#[cfg(test)]
mod tests {
    //! Pages captured from router 5 of a 5-router i2pd 2.45.1 net (netId 30, 198.18.9.x) with
    //! an eepsite on router 4, right after the eepsite became reachable.
    use super::*;

    const MAIN: &str = include_str!("../tests/data/console/main.html");
    const TRANSPORTS: &str = include_str!("../tests/data/console/transports.html");
    const I2P_TUNNELS: &str = include_str!("../tests/data/console/i2p_tunnels.html");
    const LOCAL_DEST: &str = include_str!("../tests/data/console/local_destination.html");

    #[test]
    fn main_page_counters() {
        let s = parse_summary(MAIN).unwrap();
        assert_eq!(
            s,
            Summary {
                status: "Unknown".into(),
                routers: 5,
                floodfills: 3,
                leasesets: 0,
                tunnel_success_percent: Some(0),
                client_tunnels: 17,
                transit_tunnels: 37,
                router_ident: Some("o25toSh6N5zIFwn~y1Gn-UJCciZy-YXouBSRrEZnduQ=".into()),
            }
        );
        assert!(parse_summary("<html>no counters</html>").is_err());
    }

    #[test]
    fn transport_sessions() {
        let t = parse_transports(TRANSPORTS);
        let brief: Vec<(&str, &str, &str, bool)> = t
            .iter()
            .map(|s| {
                (
                    s.transport.as_str(),
                    s.peer_hash_prefix.as_str(),
                    s.remote.as_str(),
                    s.outgoing,
                )
            })
            .collect();
        assert_eq!(
            brief,
            vec![
                ("NTCP2", "F2sN", "198.18.9.2:12002", true),
                ("NTCP2", "mlXG", "198.18.9.1:12001", true),
                ("SSU2", "F2sN", "198.18.9.2:12002", true),
                ("SSU2", "mlXG", "198.18.9.1:12001", true),
                ("SSU2", "NoLj", "198.18.9.3:12003", true),
                ("SSU2", "cslA", "198.18.9.4:12004", true),
            ]
        );
        assert!(parse_transports("").is_empty());
    }

    #[test]
    fn tunnel_b32_by_name() {
        assert_eq!(
            find_tunnel_b32(I2P_TUNNELS, "HTTP Proxy").as_deref(),
            Some("snkz3dpsq7yenlpfxslifdak5jnygnk72hnl2kccr3tip6b5jovq")
        );
        assert_eq!(
            find_tunnel_b32(I2P_TUNNELS, "SOCKS Proxy").as_deref(),
            Some("3wvw4ulck3u7nstpn5ultxbgexchpkvs7vl3vq2udr637wuwipia")
        );
        assert_eq!(find_tunnel_b32(I2P_TUNNELS, "nonexistent"), None);
    }

    #[test]
    fn pool_of_http_proxy() {
        let p = parse_local_destination(LOCAL_DEST);
        let est = |hops| PoolTunnel {
            hops,
            state: "established".into(),
        };
        assert_eq!(p.inbound, vec![est(3), est(3)]);
        assert_eq!(p.outbound, vec![est(3)]);
        assert!(p.ready());
        assert!(
            !PoolState {
                inbound: vec![est(3)],
                outbound: vec![]
            }
            .ready()
        );
        assert!(!parse_local_destination("").ready());
    }
}
