//! SAM sessions: the registry of session IDs, and the dispatchers that route a destination's
//! incoming streams and datagrams to the right (sub)session — by listen port for PRIMARY
//! subsessions, with port 0 as the default (docs/api/samv3.md, "SAM PRIMARY Sessions").

use i2p_client::{Datagram, DatagramKind, I2pStream, LocalDestination};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{Mutex as AsyncMutex, mpsc};
use tracing::debug;

/// Pending incoming streams a session buffers for STREAM ACCEPT.
const ACCEPT_QUEUE: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Stream,
    Datagram,
    Raw,
    Datagram2,
    Datagram3,
    Primary,
}

impl Style {
    pub fn parse(s: &str) -> Option<Style> {
        Some(match s.to_ascii_uppercase().as_str() {
            "STREAM" => Style::Stream,
            "DATAGRAM" => Style::Datagram,
            "RAW" => Style::Raw,
            "DATAGRAM2" => Style::Datagram2,
            "DATAGRAM3" => Style::Datagram3,
            "PRIMARY" | "MASTER" => Style::Primary,
            _ => return None,
        })
    }

    pub fn datagram_kind(self) -> Option<DatagramKind> {
        match self {
            Style::Datagram => Some(DatagramKind::Repliable),
            Style::Raw => Some(DatagramKind::Raw),
            Style::Datagram2 => Some(DatagramKind::Datagram2),
            Style::Datagram3 => Some(DatagramKind::Datagram3),
            Style::Stream | Style::Primary => None,
        }
    }
}

/// Where incoming streams of a session go.
#[derive(Debug)]
pub enum StreamSink {
    /// queued for STREAM ACCEPT
    Accept,
    /// STREAM FORWARD to this address; `silent` suppresses the destination line
    Forward {
        to: SocketAddr,
        silent: bool,
        version: u8,
    },
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

/// One SAM session or subsession.
pub struct Session {
    pub id: String,
    pub style: Style,
    pub dest: Arc<dyn LocalDestination>,
    /// SAM minor version negotiated on the control socket (3.x → x)
    pub version: u8,
    pub from_port: u16,
    pub to_port: u16,
    pub listen_port: u16,
    pub protocol: u8,
    /// DATAGRAM*/RAW with PORT: forward received datagrams here (UDP)
    pub udp_forward: Option<SocketAddr>,
    /// RAW with HEADER=true
    pub header: bool,
    /// bytes for the control socket (DATAGRAM RECEIVED etc.)
    pub control: mpsc::Sender<Vec<u8>>,
    pub sink: Mutex<StreamSink>,
    pub accept_tx: mpsc::Sender<I2pStream>,
    pub accept_rx: AsyncMutex<mpsc::Receiver<I2pStream>>,
    /// subsessions of a PRIMARY session
    pub subs: Mutex<Vec<Arc<Session>>>,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        style: Style,
        dest: Arc<dyn LocalDestination>,
        version: u8,
        ports: (u16, u16, u16),
        protocol: u8,
        udp_forward: Option<SocketAddr>,
        header: bool,
        control: mpsc::Sender<Vec<u8>>,
    ) -> Arc<Session> {
        let (accept_tx, accept_rx) = mpsc::channel(ACCEPT_QUEUE);
        Arc::new(Session {
            id,
            style,
            dest,
            version,
            from_port: ports.0,
            to_port: ports.1,
            listen_port: ports.2,
            protocol,
            udp_forward,
            header,
            control,
            sink: Mutex::new(StreamSink::Accept),
            accept_tx,
            accept_rx: AsyncMutex::new(accept_rx),
            subs: Mutex::new(Vec::new()),
        })
    }

    /// The (sub)session an incoming stream to `port` belongs to.
    fn route_stream(self: &Arc<Self>, port: u16) -> Option<Arc<Session>> {
        if self.style != Style::Primary {
            return (self.style == Style::Stream).then(|| self.clone());
        }
        let subs = self.subs.lock().ok()?;
        let streams = subs.iter().filter(|s| s.style == Style::Stream);
        streams
            .clone()
            .find(|s| s.listen_port == port && port != 0)
            .or_else(|| streams.clone().find(|s| s.listen_port == 0))
            .cloned()
    }

    /// The (sub)session a datagram of `kind` to `port` belongs to.
    fn route_datagram(self: &Arc<Self>, kind: DatagramKind, port: u16) -> Option<Arc<Session>> {
        if self.style != Style::Primary {
            return (self.style.datagram_kind() == Some(kind)).then(|| self.clone());
        }
        let subs = self.subs.lock().ok()?;
        let same = subs
            .iter()
            .filter(|s| s.style.datagram_kind() == Some(kind));
        same.clone()
            .find(|s| s.listen_port == port && port != 0)
            .or_else(|| same.clone().find(|s| s.listen_port == 0))
            .cloned()
    }
}

/// All sessions of the bridge, by ID (subsession IDs included: they are global too).
#[derive(Default, Debug)]
pub struct Registry {
    by_id: Mutex<HashMap<String, Weak<Session>>>,
}

impl Registry {
    /// Register `s` unless its ID is taken by a live session.
    pub fn insert(&self, s: &Arc<Session>) -> bool {
        let Ok(mut m) = self.by_id.lock() else {
            return false;
        };
        if m.get(&s.id).and_then(Weak::upgrade).is_some() {
            return false;
        }
        m.insert(s.id.clone(), Arc::downgrade(s));
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.by_id.lock().ok()?.get(id).and_then(Weak::upgrade)
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.by_id.lock() {
            m.remove(id);
        }
    }
}

/// Route a destination's incoming streams and datagrams to `root`'s (sub)sessions until the
/// destination closes or the session is gone.
pub fn spawn_dispatchers(
    root: &Arc<Session>,
    deliver: Arc<dyn Fn(Arc<Session>, Datagram) + Send + Sync>,
) {
    let weak = Arc::downgrade(root);
    let dest = root.dest.clone();
    tokio::spawn(async move {
        while let Ok(stream) = dest.accept().await {
            let Some(root) = weak.upgrade() else { break };
            let Some(target) = root.route_stream(stream.local_port) else {
                debug!(session = %root.id, port = stream.local_port, "no stream session for this port; dropped");
                continue;
            };
            let forward = match target.sink.lock() {
                Ok(g) => match &*g {
                    StreamSink::Forward {
                        to,
                        silent,
                        version,
                    } => Some((*to, *silent, *version)),
                    StreamSink::Accept => None,
                },
                Err(_) => None,
            };
            match forward {
                Some((to, silent, version)) => {
                    tokio::spawn(super::forward_stream(stream, to, silent, version));
                }
                None => {
                    if target.accept_tx.try_send(stream).is_err() {
                        debug!(session = %target.id, "accept queue full; incoming stream dropped");
                    }
                }
            }
        }
    });
    let weak = Arc::downgrade(root);
    let dest = root.dest.clone();
    tokio::spawn(async move {
        while let Ok(dg) = dest.recv_datagram().await {
            let Some(root) = weak.upgrade() else { break };
            match root.route_datagram(dg.kind, dg.to_port) {
                Some(target) => deliver(target, dg),
                None => {
                    debug!(session = %root.id, "no datagram session for this kind/port; dropped")
                }
            }
        }
    });
}
