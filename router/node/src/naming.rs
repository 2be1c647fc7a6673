//! `.i2p` names in the running router: the address book (`<data-dir>/addressbook/`, the
//! `i2p-addressbook` crate), the resolver every front-end uses through the client API, the
//! virtual-address table the DNS server hands out and the SOCKS proxy maps back, and the DNS
//! server's UDP and TCP sockets (the answers themselves are `i2p_addressbook::dns`, sans-IO).

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
