//! An in-memory I2P: destinations in one process reach each other over `tokio::io::duplex`
//! pipes and channels. It implements the client API faithfully enough for front-end tests
//! (names, b32 targets, ports, refused and unreachable destinations, datagrams) without a
//! router, tunnels or crypto on the path.

use crate::{
    BoxFuture, Client, ClientError, ConnectOptions, Datagram, DatagramKind, DestinationSpec,
    I2pStream, LocalDestination, Resolved, Target,
};
use crate::{DestinationKeys, PrivateKeys};
use i2p_wire::{Destination, Hash};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, mpsc};

/// Size of each direction's in-memory pipe buffer.
const PIPE_BUF: usize = 256 * 1024;

struct Endpoint {
    dest: Destination,
    /// `DestinationSpec::publish`: only published destinations can be looked up by hash (the
    /// netDb holds no LeaseSet of the others); connecting works either way here
    published: bool,
    streams: mpsc::Sender<I2pStream>,
    datagrams: mpsc::Sender<Datagram>,
}

#[derive(Default)]
struct Inner {
    endpoints: HashMap<Hash, Endpoint>,
    names: HashMap<String, Destination>,
}

/// The shared in-memory network. Clone it to hand out more clients.
#[derive(Clone, Default)]
pub struct MemNetwork {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for MemNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemNetwork")
    }
}

impl MemNetwork {
    pub fn new() -> MemNetwork {
        MemNetwork::default()
    }

    /// Register a `.i2p` name (what an address book would hold).
    pub fn add_name(&self, name: &str, dest: &Destination) {
        if let Ok(mut g) = self.inner.lock() {
            g.names.insert(name.to_ascii_lowercase(), dest.clone());
        }
    }

    /// A client on this network.
    pub fn client(&self) -> Arc<dyn Client> {
        Arc::new(MemClient { net: self.clone() })
    }

    fn resolve(&self, name: &str) -> Result<Resolved, ClientError> {
        match crate::resolve_address(name) {
            Err(ClientError::UnknownName(lower)) => {
                let g = self
                    .inner
                    .lock()
                    .map_err(|_| ClientError::Router("poisoned".into()))?;
                g.names
                    .get(&lower)
                    .cloned()
                    .map(Resolved::Destination)
                    .ok_or(ClientError::UnknownName(lower))
            }
            other => other,
        }
    }

    fn target_hash(&self, t: &Target) -> Result<Hash, ClientError> {
        match t {
            Target::Hash(h) => Ok(*h),
            Target::Destination(d) => Ok(d.hash()),
            Target::Name(n) => self.resolve(n).map(|r| r.hash()),
        }
    }

    fn endpoint<R>(&self, h: &Hash, f: impl FnOnce(&Endpoint) -> R) -> Result<R, ClientError> {
        let g = self
            .inner
            .lock()
            .map_err(|_| ClientError::Router("poisoned".into()))?;
        g.endpoints
            .get(h)
            .map(f)
            .ok_or_else(|| ClientError::LeaseSetNotFound(i2p_wire::base32::b32_address(h)))
    }
}

struct MemClient {
    net: MemNetwork,
}

impl Client for MemClient {
    fn create_destination(
        &self,
        spec: DestinationSpec,
    ) -> BoxFuture<'_, Result<Arc<dyn LocalDestination>, ClientError>> {
        Box::pin(async move {
            let keys = match &spec.keys {
                Some(k) => PrivateKeys::from_bytes(&k.0)
                    .map_err(|e| ClientError::InvalidKey(e.to_string()))?,
                None => PrivateKeys::generate(&mut rand::rng()),
            };
            let dest = keys.destination.clone();
            let (stx, srx) = mpsc::channel(64);
            let (dtx, drx) = mpsc::channel(256);
            {
                let mut g = self
                    .net
                    .inner
                    .lock()
                    .map_err(|_| ClientError::Router("poisoned".into()))?;
                if g.endpoints.contains_key(&dest.hash()) {
                    return Err(ClientError::DuplicateDestination);
                }
                g.endpoints.insert(
                    dest.hash(),
                    Endpoint {
                        dest: dest.clone(),
                        published: spec.publish,
                        streams: stx,
                        datagrams: dtx,
                    },
                );
            }
            Ok(Arc::new(MemDestination {
                net: self.net.clone(),
                dest,
                keys: DestinationKeys(keys.to_bytes().to_vec()),
                streams: AsyncMutex::new(srx),
                datagrams: AsyncMutex::new(drx),
                closed: AtomicBool::new(false),
            }) as Arc<dyn LocalDestination>)
        })
    }

    fn resolve(&self, name: &str) -> BoxFuture<'_, Result<Resolved, ClientError>> {
        let r = self.net.resolve(name);
        Box::pin(async move { r })
    }
}

struct MemDestination {
    net: MemNetwork,
    dest: Destination,
    keys: DestinationKeys,
    streams: AsyncMutex<mpsc::Receiver<I2pStream>>,
    datagrams: AsyncMutex<mpsc::Receiver<Datagram>>,
    closed: AtomicBool,
}

impl LocalDestination for MemDestination {
    fn destination(&self) -> &Destination {
        &self.dest
    }

    fn lookup_destination(&self, hash: Hash) -> BoxFuture<'_, Result<Destination, ClientError>> {
        Box::pin(async move {
            self.net
                .endpoint(&hash, |e| e.published.then(|| e.dest.clone()))?
                .ok_or_else(|| ClientError::LeaseSetNotFound(i2p_wire::base32::b32_address(&hash)))
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            if self.is_ready() {
                Ok(())
            } else {
                Err(ClientError::Closed)
            }
        })
    }

    fn is_ready(&self) -> bool {
        !self.closed.load(Ordering::Relaxed)
    }

    fn connect(
        &self,
        target: Target,
        opts: ConnectOptions,
    ) -> BoxFuture<'_, Result<I2pStream, ClientError>> {
        Box::pin(async move {
            if !self.is_ready() {
                return Err(ClientError::Closed);
            }
            let h = self.net.target_hash(&target)?;
            let (tx, remote_dest) = self
                .net
                .endpoint(&h, |e| (e.streams.clone(), e.dest.clone()))?;
            let (ours, theirs) = tokio::io::duplex(PIPE_BUF);
            let incoming = I2pStream::new(
                Box::new(theirs),
                self.dest.clone(),
                opts.to_port,
                opts.from_port,
            );
            tx.send(incoming).await.map_err(|_| ClientError::Refused)?;
            Ok(I2pStream::new(
                Box::new(ours),
                remote_dest,
                opts.from_port,
                opts.to_port,
            ))
        })
    }

    fn accept(&self) -> BoxFuture<'_, Result<I2pStream, ClientError>> {
        Box::pin(async move {
            self.streams
                .lock()
                .await
                .recv()
                .await
                .ok_or(ClientError::Closed)
        })
    }

    fn send_datagram(
        &self,
        to: Target,
        mut dg: Datagram,
    ) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            let h = self.net.target_hash(&to)?;
            let tx = self.net.endpoint(&h, |e| e.datagrams.clone())?;
            dg.from = match dg.kind {
                DatagramKind::Raw => None,
                DatagramKind::Datagram3 => Some(Resolved::Hash(self.dest.hash())),
                DatagramKind::Repliable | DatagramKind::Datagram2 => {
                    Some(Resolved::Destination(self.dest.clone()))
                }
            };
            // datagrams are unreliable: a full queue drops, like the real thing
            let _ = tx.try_send(dg);
            Ok(())
        })
    }

    fn recv_datagram(&self) -> BoxFuture<'_, Result<Datagram, ClientError>> {
        Box::pin(async move {
            self.datagrams
                .lock()
                .await
                .recv()
                .await
                .ok_or(ClientError::Closed)
        })
    }

    fn private_keys(&self) -> DestinationKeys {
        self.keys.clone()
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Ok(mut g) = self.net.inner.lock() {
            g.endpoints.remove(&self.dest.hash());
        }
    }
}

impl Drop for MemDestination {
    fn drop(&mut self) {
        self.close();
    }
}
