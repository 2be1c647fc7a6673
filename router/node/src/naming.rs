//! `.i2p` names in the running router: the address book (`<data-dir>/addressbook/`, the
//! `i2p-addressbook` crate), the resolver every front-end uses through the client API, the
//! virtual-address table the DNS server hands out and the SOCKS proxy maps back, and the DNS
//! server's UDP and TCP sockets (the answers themselves are `i2p_addressbook::dns`, sans-IO).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use i2p_addressbook::virtual_addr::VirtualMap;
use i2p_addressbook::{AddressBook, BookKind, BookStore, HostName};
use i2p_client::{ClientError, Resolved};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tracing::{debug, info, warn};

use crate::config::Config;

/// Directory of the books and the virtual-address table, under the data directory.
pub const ADDRESSBOOK_DIR: &str = "addressbook";
/// File of the virtual-address table.
const VIRTUAL_FILE: &str = "virtual.txt";
/// Largest DNS message over TCP we accept (a query is a few dozen bytes).
const MAX_TCP_QUERY: usize = 4096;

/// The router's naming state, shared by the client API and the front-ends.
pub struct Naming {
    book: RwLock<AddressBook>,
    store: BookStore,
    virtual_map: Mutex<VirtualMap>,
}

impl std::fmt::Debug for Naming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Naming").finish_non_exhaustive()
    }
}

impl Naming {
    /// Load the books (bad lines are logged and skipped, the files are left as they are) and
    /// the virtual-address table.
    pub fn open(data_dir: &Path, config: &Config) -> Result<Arc<Naming>, String> {
        let dir = data_dir.join(ADDRESSBOOK_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let store = BookStore::new(&dir);
        let loaded = store
            .load()
            .map_err(|e| format!("cannot read the address book in {}: {e}", dir.display()))?;
        for (kind, e) in &loaded.bad_lines {
            warn!(book = kind.file_name(), "address book line skipped: {e:?}");
        }
        info!(names = loaded.book.len(), dir = %dir.display(), "address book loaded");
        let d = &config.dns;
        let virtual_map = VirtualMap::open(
            &dir.join(VIRTUAL_FILE),
            (d.v4_range.0, d.v4_range.1),
            (d.v6_range.0, d.v6_range.1),
        )
        .map_err(|e| format!("virtual address table: {e}"))?;
        Ok(Arc::new(Naming {
            book: RwLock::new(loaded.book),
            store,
            virtual_map: Mutex::new(virtual_map),
        }))
    }

    /// Resolve a name for the client API: `.b32.i2p` and base64 as always, other `.i2p`
    /// names through the books (private, then local, then subscribed).
    pub fn resolve(&self, name: &str) -> Result<Resolved, ClientError> {
        match i2p_client::resolve_address(name) {
            Err(ClientError::UnknownName(n)) => {
                let host = HostName::parse(&n).map_err(|_| ClientError::UnknownName(n.clone()))?;
                let book = self
                    .book
                    .read()
                    .map_err(|_| ClientError::Router("address book lock poisoned".into()))?;
                book.lookup(&host)
                    .map(|(d, _)| Resolved::Destination(d.clone()))
                    .ok_or(ClientError::UnknownName(n))
            }
            other => other,
        }
    }

    /// Names in all books.
    pub fn len(&self) -> usize {
        self.book.read().map_or(0, |b| b.len())
    }

    /// Whether the books are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answer one DNS query (bytes in, bytes out; `None`: no reply at all).
    fn dns_answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let book = self.book.read().ok()?;
        let mut map = self.virtual_map.lock().ok()?;
        match i2p_addressbook::dns::answer(query, &*book, &mut map) {
            i2p_addressbook::dns::Outcome::Reply(r) => Some(r),
            // forwarding to an upstream is not offered: nothing leaves the host
            i2p_addressbook::dns::Outcome::NotI2p { refused } => Some(refused),
            i2p_addressbook::dns::Outcome::Drop => None,
        }
    }
}

impl i2p_proxies::names::VirtualNames for Naming {
    fn name_for_ip(&self, ip: IpAddr) -> Option<String> {
        let map = self.virtual_map.lock().ok()?;
        match ip {
            IpAddr::V4(v4) => map.name_for_v4(v4).map(str::to_string),
            IpAddr::V6(v6) => map.name_for_v6(v6).map(str::to_string),
        }
    }
}

impl i2p_proxies::http::NameSaver for Naming {
    fn save_local(&self, name: &str, dest: &i2p_wire::Destination) -> Result<(), String> {
        let host = HostName::parse(name).map_err(|e| format!("{name:?}: {e}"))?;
        let mut book = self
            .book
            .write()
            .map_err(|_| "address book lock poisoned".to_string())?;
        book.insert_user(BookKind::Local, host, dest.clone());
        self.store
            .save(&book, BookKind::Local)
            .map_err(|e| format!("cannot save the local address book: {e}"))?;
        info!(name, b32 = %dest.b32_address(), "name saved in the local address book");
        Ok(())
    }
}

/// Serve DNS on UDP and TCP at `addr` until the runtime stops.
pub async fn serve_dns(naming: Arc<Naming>, udp: UdpSocket, tcp: TcpListener) {
    info!(addr = ?udp.local_addr().ok(), "DNS server for .i2p names listening (UDP and TCP)");
    let n = naming.clone();
    tokio::spawn(async move {
        loop {
            let (conn, peer) = match tcp.accept().await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "DNS TCP listener failed");
                    return;
                }
            };
            let n = n.clone();
            tokio::spawn(async move {
                if let Err(e) = dns_tcp_conn(&n, conn).await {
                    debug!(%peer, error = %e, "DNS TCP connection ended");
                }
            });
        }
    });
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, peer) = match udp.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // e.g. ICMP errors reported on the socket: keep serving
                debug!(error = %e, "DNS UDP receive error");
                continue;
            }
        };
        let Some(query) = buf.get(..len) else {
            continue;
        };
        if let Some(reply) = naming.dns_answer(query) {
            let _ = udp.send_to(&reply, peer).await;
        }
    }
}

/// TCP DNS (RFC 1035 4.2.2 / RFC 7766): two-byte length, message; several per connection.
async fn dns_tcp_conn(naming: &Naming, mut conn: tokio::net::TcpStream) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(
            std::time::Duration::from_secs(30),
            conn.read_exact(&mut len),
        )
        .await
        {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_TCP_QUERY {
            return Ok(());
        }
        let mut q = vec![0u8; len];
        conn.read_exact(&mut q).await?;
        let Some(reply) = naming.dns_answer(&q) else {
            return Ok(());
        };
        let rlen = u16::try_from(reply.len()).unwrap_or(u16::MAX);
        conn.write_all(&rlen.to_be_bytes()).await?;
        conn.write_all(reply.get(..usize::from(rlen)).unwrap_or(&reply))
            .await?;
    }
}

/// Bind the DNS sockets (an error stops the router: it was asked for them).
pub async fn bind_dns(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let udp = UdpSocket::bind(addr).await?;
    let tcp = TcpListener::bind(addr).await?;
    Ok((udp, tcp))
}

// ---------------------------------------------------------------------------------------------
// subscriptions

/// The public network's feed when none is configured: reg.i2p's hosts.txt by its `.b32.i2p`
/// (the book is empty on a first start, so the name could not resolve; i2pd does the same).
pub const DEFAULT_PUBLIC_FEED: &str =
    "http://shx5vqsw7usdaunyzr2qmes2fq37oumybpudrd4jjj4e4vk4uusa.b32.i2p/hosts.txt";
/// File of each feed's ETag / Last-Modified, under the address book directory.
const FEED_STATE_FILE: &str = "subscriptions.state";
/// Largest feed accepted.
const MAX_FEED: usize = 16 * 1024 * 1024;
/// Time for one whole fetch (stream, request, response).
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What one fetch of a feed did.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedOutcome {
    NotModified,
    Applied {
        added: usize,
        changed: usize,
        unchanged: usize,
        conflicts: usize,
        bad_lines: usize,
    },
}

/// A feed URL split for the request: host, port, path.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, 80),
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port, path.to_string()))
}

impl Naming {
    fn feed_state(&self) -> HashMap<String, (String, String)> {
        let path = self
            .store
            .path(BookKind::Subscribed)
            .with_file_name(FEED_STATE_FILE);
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((
                    f.next()?.to_string(),
                    (f.next()?.to_string(), f.next().unwrap_or("").to_string()),
                ))
            })
            .collect()
    }

    fn save_feed_state(&self, state: &HashMap<String, (String, String)>) {
        let path = self
            .store
            .path(BookKind::Subscribed)
            .with_file_name(FEED_STATE_FILE);
        let mut text = String::new();
        for (url, (etag, modified)) in state {
            text.push_str(&format!("{url}\t{etag}\t{modified}\n"));
        }
        if let Err(e) = i2p_addressbook::store::write_atomic(&path, text.as_bytes()) {
            warn!(error = %e, "cannot save the subscription state");
        }
    }

    /// Fetch one feed through `dest` and merge it into the subscribed book. Conflicts never
    /// touch the user's books (logged); lines with bad signatures are skipped (logged).
    pub async fn fetch_feed(
        &self,
        dest: &dyn i2p_client::LocalDestination,
        url: &str,
    ) -> Result<FeedOutcome, String> {
        let (host, port, path) =
            split_url(url).ok_or_else(|| format!("not an http:// URL: {url}"))?;
        let mut state = self.feed_state();
        let (etag, modified) = state.get(url).cloned().unwrap_or_default();
        let mut request = hyper::Request::get(path.as_str())
            .header(hyper::header::HOST, host.as_str())
            .header(hyper::header::USER_AGENT, "MYOB/6.66 (AN/ON)")
            .header(hyper::header::ACCEPT_ENCODING, "identity")
            .header(hyper::header::CONNECTION, "close");
        if !etag.is_empty() {
            request = request.header(hyper::header::IF_NONE_MATCH, etag.as_str());
        }
        if !modified.is_empty() {
            request = request.header(hyper::header::IF_MODIFIED_SINCE, modified.as_str());
        }
        let request = request
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| format!("request: {e}"))?;
        let opts = i2p_client::ConnectOptions {
            from_port: 0,
            to_port: port,
            timeout: None,
        };
        let fetch = async {
            use http_body_util::BodyExt;
            let stream = dest
                .connect(i2p_client::Target::Name(host.clone()), opts)
                .await
                .map_err(|e| format!("cannot reach {host}: {e}"))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_FEED)
                .collect()
                .await
                .map_err(|e| format!("feed body: {e}"))?
                .to_bytes();
            Ok::<_, String>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| "timed out".to_string())??;
        let status = parts.status.as_u16();
        if status == 304 {
            return Ok(FeedOutcome::NotModified);
        }
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        let text = String::from_utf8_lossy(&body);
        let (records, errors) = i2p_addressbook::parse_feed(&text);
        for e in &errors {
            info!(feed = url, "feed line skipped: {e:?}");
        }
        let (mut added, mut changed, mut unchanged, mut conflicts) = (0, 0, 0, 0);
        {
            let mut book = self
                .book
                .write()
                .map_err(|_| "address book lock poisoned".to_string())?;
            for r in &records {
                match book.apply(r) {
                    i2p_addressbook::Applied::Added(_) => added += 1,
                    i2p_addressbook::Applied::Changed(_) | i2p_addressbook::Applied::Removed(_) => {
                        changed += 1
                    }
                    i2p_addressbook::Applied::Unchanged => unchanged += 1,
                    i2p_addressbook::Applied::Conflict(why) => {
                        conflicts += 1;
                        info!(feed = url, "feed entry not applied: {why}");
                    }
                }
            }
            self.store
                .save(&book, BookKind::Subscribed)
                .map_err(|e| format!("cannot save the subscribed book: {e}"))?;
        }
        let header = |name: hyper::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        state.insert(
            url.to_string(),
            (
                header(hyper::header::ETAG),
                header(hyper::header::LAST_MODIFIED),
            ),
        );
        self.save_feed_state(&state);
        Ok(FeedOutcome::Applied {
            added,
            changed,
            unchanged,
            conflicts,
            bad_lines: errors.len(),
        })
    }
}

/// Fetch every feed once the destination is ready, then every `every`, and whenever `kick`
/// fires (SIGHUP).
pub async fn run_subscriptions(
    naming: Arc<Naming>,
    dest: Arc<dyn i2p_client::LocalDestination>,
    urls: Vec<String>,
    every: std::time::Duration,
    mut kick: tokio::sync::mpsc::Receiver<()>,
) {
    if urls.is_empty() {
        return;
    }
    if dest.ready().await.is_err() {
        return;
    }
    loop {
        for url in &urls {
            match naming.fetch_feed(&*dest, url).await {
                Ok(FeedOutcome::NotModified) => {
                    info!(feed = %url, "subscription not modified (304)")
                }
                Ok(FeedOutcome::Applied {
                    added,
                    changed,
                    unchanged,
                    conflicts,
                    bad_lines,
                }) => info!(
                    feed = %url,
                    added, changed, unchanged, conflicts, bad_lines,
                    names = naming.len(),
                    "subscription fetched"
                ),
                Err(e) => warn!(feed = %url, error = %e, "subscription fetch failed"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            k = kick.recv() => if k.is_none() { return },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// transparent listener

/// The destination a redirected connection was originally sent to (iptables `REDIRECT` keeps
/// it in the socket: `SO_ORIGINAL_DST`).
fn original_destination(conn: &tokio::net::TcpStream) -> Option<SocketAddr> {
    let addr = nix::sys::socket::getsockopt(conn, nix::sys::socket::sockopt::OriginalDst).ok()?;
    let ip = std::net::Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
    Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(addr.sin_port)))
}

/// Accept redirected connections and route each to the name behind its original virtual
/// address, over `dest`. Connections that were not redirected, or whose address is not one
/// we handed out, are closed: nothing is ever sent to a clearnet address.
pub async fn serve_transparent(
    naming: Arc<Naming>,
    dest: Arc<dyn i2p_client::LocalDestination>,
    listener: TcpListener,
) {
    info!(addr = ?listener.local_addr().ok(), "transparent listener for redirected connections");
    let own = listener.local_addr().ok();
    loop {
        let (mut conn, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "transparent listener failed");
                return;
            }
        };
        let (naming, dest) = (naming.clone(), dest.clone());
        tokio::spawn(async move {
            let Some(orig) = original_destination(&conn).filter(|o| Some(*o) != own) else {
                info!(%peer, "transparent listener: connection was not redirected; closed");
                return;
            };
            let name = {
                use i2p_proxies::names::VirtualNames;
                naming.name_for_ip(orig.ip())
            };
            let Some(name) = name else {
                info!(%peer, to = %orig, "transparent listener: not a virtual address of ours; closed");
                return;
            };
            let opts = i2p_client::ConnectOptions {
                from_port: 0,
                to_port: orig.port(),
                timeout: None,
            };
            match dest
                .connect(i2p_client::Target::Name(name.clone()), opts)
                .await
            {
                Ok(mut stream) => {
                    debug!(%peer, %name, port = orig.port(), "transparent connection");
                    let _ = tokio::io::copy_bidirectional(&mut conn, &mut stream).await;
                }
                Err(e) => {
                    info!(%peer, %name, error = %e, "transparent listener: cannot reach the destination")
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn feed_urls() {
        assert_eq!(
            split_url("http://Reg.i2p/hosts.txt"),
            Some(("reg.i2p".into(), 80, "/hosts.txt".into()))
        );
        assert_eq!(
            split_url("http://x.i2p:8080"),
            Some(("x.i2p".into(), 8080, "/".into()))
        );
        assert_eq!(split_url("https://x.i2p/"), None);
        assert_eq!(split_url("http://:80/"), None);
    }
}
