//! The stream table of one local Destination: routes packets to streams by stream id,
//! accepts or refuses SYNs, answers pings, and multiplexes the streams' output.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use i2p_crypto::CryptoRng;
use i2p_wire::streaming::{FLAG_ECHO, FLAG_NO_ACK, FLAG_RESET};
use i2p_wire::{Date, Destination, Encode, StreamPacket};
use tracing::debug;

use crate::stream::{Local, Sink, Stream, StreamInfo};
use crate::{StreamConfig, StreamError, StreamEvent, StreamId, StreamStats, Transmit};

/// Bounds of the "arrived before its SYN" store (stream ids, packets per id).
const MAX_PENDING_IDS: usize = 32;
const MAX_PENDING_PER_ID: usize = 16;
/// Outstanding pings remembered (a pong for anything else is dropped).
const MAX_PINGS: usize = 64;
/// Ping/pong payload echoed at most (docs/api/streaming.md "Ping / Pong").
const MAX_ECHO_PAYLOAD: usize = 32;

type Signer = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;
/// Packets (with their ports) waiting for their SYN, and when they expire.
type Pending = (u64, Vec<(StreamPacket, u16, u16)>);

/// All streams of one local Destination. See the crate docs.
pub struct StreamManager {
    config: StreamConfig,
    local: Destination,
    sig_len: usize,
    signer: Signer,
    listening: bool,
    streams: BTreeMap<u32, Stream>,
    /// Peer's stream id → ours, for incoming streams (the peer uses send stream id 0 until
    /// it has our SYN reply).
    incoming: HashMap<u32, u32>,
    /// Packets with send stream id 0 that came before their SYN: peer's id → (expiry, packets).
    pending: HashMap<u32, Pending>,
    pings: BTreeMap<u32, ()>,
    queue: VecDeque<Transmit>,
    events: VecDeque<StreamEvent>,
    stats: StreamStats,
    /// Round-robin position of poll_transmit.
    cursor: u32,
}

impl fmt::Debug for StreamManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamManager")
            .field("local", &self.local.hash())
            .field("listening", &self.listening)
            .field("streams", &self.streams.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl StreamManager {
    /// `local`: our Destination (goes into SYN FROM); `signer`: signs packet bytes with our
    /// destination's signing key (returns a signature of `sig_len` bytes).
    pub fn new(config: StreamConfig, local: Destination, sig_len: usize, signer: Signer) -> Self {
        StreamManager {
            config,
            local,
            sig_len,
            signer,
            listening: false,
            streams: BTreeMap::new(),
            incoming: HashMap::new(),
            pending: HashMap::new(),
            pings: BTreeMap::new(),
            queue: VecDeque::new(),
            events: VecDeque::new(),
            stats: StreamStats::default(),
            cursor: 0,
        }
    }

    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Whether incoming SYNs are accepted (else answered with RESET).
    pub fn set_listening(&mut self, yes: bool) {
        self.listening = yes;
    }

    fn split(&mut self) -> (Local<'_>, Sink<'_>, &mut BTreeMap<u32, Stream>) {
        (
            Local {
                dest: &self.local,
                sig_len: self.sig_len,
                signer: &*self.signer,
                cfg: &self.config,
            },
            Sink {
                events: &mut self.events,
                stats: &mut self.stats,
            },
            &mut self.streams,
        )
    }

    fn new_id<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> u32 {
        loop {
            let id = rng.next_u32();
            if id != 0 && !self.streams.contains_key(&id) && !self.pings.contains_key(&id) {
                return id;
            }
        }
    }

    /// Open a stream to `remote`. The SYN goes out at the next `poll_transmit` and carries
    /// whatever was written before then.
    pub fn connect<R: CryptoRng + ?Sized>(
        &mut self,
        remote: Destination,
        from_port: u16,
        to_port: u16,
        now_ms: u64,
        rng: &mut R,
    ) -> StreamId {
        let id = self.new_id(rng);
        let s = Stream::new(id, remote, from_port, to_port, true, &self.config, now_ms);
        self.streams.insert(id, s);
        self.stats.streams_opened += 1;
        debug!(stream = id, "connecting");
        StreamId(id)
    }

    /// Send a ping (ECHO with FROM and signature) to `remote`; the answer comes as
    /// [`StreamEvent::Pong`] with the returned id. Payload beyond 32 bytes is not sent.
    pub fn ping<R: CryptoRng + ?Sized>(
        &mut self,
        remote: Destination,
        from_port: u16,
        to_port: u16,
        payload: &[u8],
        rng: &mut R,
    ) -> u32 {
        let id = self.new_id(rng);
        let mut p = StreamPacket {
            send_stream_id: id,
            flags: FLAG_ECHO | FLAG_NO_ACK,
            from: Some(self.local.clone()),
            payload: payload.get(..MAX_ECHO_PAYLOAD).unwrap_or(payload).to_vec(),
            ..StreamPacket::default()
        };
        if p.sign(self.sig_len, &*self.signer).is_ok() {
            if self.pings.len() >= MAX_PINGS {
                self.pings.pop_first();
            }
            self.pings.insert(id, ());
            self.queue.push_back(Transmit {
                remote,
                from_port,
                to_port,
                packet: p.to_bytes(),
            });
        }
        id
    }

    /// A streaming packet from the network, with the ports of its Data message
    /// (`from_port`: the peer's, `to_port`: ours).
    pub fn on_packet<R: CryptoRng + ?Sized>(
        &mut self,
        bytes: &[u8],
        from_port: u16,
        to_port: u16,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(), StreamError> {
        self.stats.packets_received += 1;
        let p = match StreamPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.stats.dropped_malformed += 1;
                return Err(e.into());
            }
        };
        let r = self.dispatch(p, from_port, to_port, now_ms, rng);
        self.cleanup(now_ms);
        r
    }

    fn dispatch<R: CryptoRng + ?Sized>(
        &mut self,
        p: StreamPacket,
        from_port: u16,
        to_port: u16,
        now: u64,
        rng: &mut R,
    ) -> Result<(), StreamError> {
        if p.is_echo() {
            return self.on_echo(p, from_port, to_port, now);
        }
        if p.send_stream_id != 0 {
            let (local, mut sink, streams) = self.split();
            let Some(s) = streams.get_mut(&p.send_stream_id) else {
                sink.stats.dropped_unknown_stream += 1;
                return Err(StreamError::UnknownStream(p.send_stream_id));
            };
            return s.on_packet(p, false, now, &local, &mut sink);
        }
        if let Some(&ours) = self.incoming.get(&p.receive_stream_id) {
            let (local, mut sink, streams) = self.split();
            if let Some(s) = streams.get_mut(&ours) {
                if p.from.as_ref().is_some_and(|f| f != &s.remote) {
                    sink.stats.dropped_bad_signature += 1;
                    return Err(StreamError::WrongSender);
                }
                return s.on_packet(p, false, now, &local, &mut sink);
            }
        }
        if p.is_syn() {
            return self.on_syn(p, from_port, to_port, now, rng);
        }
        if p.receive_stream_id == 0 {
            self.stats.dropped_unknown_stream += 1;
            return Err(StreamError::UnknownStream(0));
        }
        // a follow-on packet ahead of its SYN
        let n = self.pending.len();
        let deadline = now.saturating_add(self.config.pending_packet_timeout_ms);
        match self.pending.get_mut(&p.receive_stream_id) {
            Some((_, list)) if list.len() < MAX_PENDING_PER_ID => {
                list.push((p, from_port, to_port));
                Ok(())
            }
            None if n < MAX_PENDING_IDS => {
                self.pending.insert(
                    p.receive_stream_id,
                    (deadline, vec![(p, from_port, to_port)]),
                );
                Ok(())
            }
            _ => {
                self.stats.dropped_unknown_stream += 1;
                Err(StreamError::UnknownStream(0))
            }
        }
    }

    /// Check a SYN's or ping's FROM, target hash, offline signature and signature.
    fn verify_signed_from(&mut self, p: &StreamPacket, now: u64) -> Result<(), StreamError> {
        let res = (|| {
            let Some(from) = &p.from else {
                return Err(StreamError::MissingFrom);
            };
            if p.signature.is_none() {
                return Err(StreamError::Unsigned);
            }
            if p.syn_target_hash().is_some_and(|h| h != self.local.hash()) {
                return Err(StreamError::WrongTarget);
            }
            if p.offline_signature.is_some()
                && p.verify_offline_signature(Date::from_millis(now)).is_err()
            {
                return Err(StreamError::OfflineSignature);
            }
            let (t, k) = p
                .included_signer()
                .unwrap_or((from.sig_type(), from.signing_key()));
            p.verify_signature(t, k)
                .map_err(|_| StreamError::BadSignature)
        })();
        if res.is_err() {
            self.stats.dropped_bad_signature += 1;
        }
        res
    }

    fn on_syn<R: CryptoRng + ?Sized>(
        &mut self,
        p: StreamPacket,
        from_port: u16,
        to_port: u16,
        now: u64,
        rng: &mut R,
    ) -> Result<(), StreamError> {
        self.verify_signed_from(&p, now)?;
        let Some(remote) = p.from.clone() else {
            return Err(StreamError::MissingFrom);
        };
        if p.receive_stream_id == 0 {
            self.stats.dropped_malformed += 1;
            return Err(StreamError::UnknownStream(0));
        }
        if !self.listening || self.streams.len() >= self.config.max_streams {
            debug!(peer = %remote.hash(), "refusing SYN");
            self.stats.refused += 1;
            self.pending.remove(&p.receive_stream_id);
            let mut reset = StreamPacket {
                send_stream_id: p.receive_stream_id,
                receive_stream_id: 0,
                ack_through: p.sequence_num,
                flags: FLAG_RESET,
                ..StreamPacket::default()
            };
            if reset.sign(self.sig_len, &*self.signer).is_ok() {
                self.stats.resets_sent += 1;
                self.queue.push_back(Transmit {
                    remote,
                    from_port: to_port,
                    to_port: from_port,
                    packet: reset.to_bytes(),
                });
            }
            return Ok(());
        }
        let id = self.new_id(rng);
        let their_id = p.receive_stream_id;
        let mut s = Stream::new(
            id,
            remote.clone(),
            to_port,
            from_port,
            false,
            &self.config,
            now,
        );
        if let Some((t, k)) = p.included_signer() {
            s.set_verifier(t, k.to_vec());
        }
        self.streams.insert(id, s);
        self.incoming.insert(their_id, id);
        self.stats.streams_accepted += 1;
        debug!(stream = id, peer = %remote.hash(), "incoming stream");
        self.events.push_back(StreamEvent::Incoming {
            id: StreamId(id),
            remote,
            local_port: to_port,
            remote_port: from_port,
        });
        let (local, mut sink, streams) = self.split();
        let r = match streams.get_mut(&id) {
            Some(s) => s.on_packet(p, true, now, &local, &mut sink),
            None => Ok(()),
        };
        if let Some((_, saved)) = self.pending.remove(&their_id) {
            let (local, mut sink, streams) = self.split();
            if let Some(s) = streams.get_mut(&id) {
                for (q, _, _) in saved {
                    let _ = s.on_packet(q, false, now, &local, &mut sink);
                }
            }
        }
        r
    }

    fn on_echo(
        &mut self,
        p: StreamPacket,
        from_port: u16,
        to_port: u16,
        now: u64,
    ) -> Result<(), StreamError> {
        if p.send_stream_id == 0 {
            // pong
            if self.pings.remove(&p.receive_stream_id).is_some() {
                self.events.push_back(StreamEvent::Pong {
                    ping_id: p.receive_stream_id,
                    payload: p.payload,
                });
                return Ok(());
            }
            self.stats.dropped_unknown_stream += 1;
            return Err(StreamError::UnknownStream(p.receive_stream_id));
        }
        self.verify_signed_from(&p, now)?;
        let Some(remote) = p.from.clone() else {
            return Err(StreamError::MissingFrom);
        };
        if !self.config.answer_pings {
            return Ok(());
        }
        let pong = StreamPacket {
            receive_stream_id: p.send_stream_id,
            flags: FLAG_ECHO | FLAG_NO_ACK,
            payload: p
                .payload
                .get(..MAX_ECHO_PAYLOAD)
                .unwrap_or(&p.payload)
                .to_vec(),
            ..StreamPacket::default()
        };
        self.stats.pings_answered += 1;
        self.queue.push_back(Transmit {
            remote,
            from_port: to_port,
            to_port: from_port,
            packet: pong.to_bytes(),
        });
        Ok(())
    }

    // ------------------------------------------------------------------- application

    /// Queue up to the free send buffer; returns how much was taken (0 once closing).
    pub fn write(&mut self, id: StreamId, data: &[u8]) -> usize {
        let cfg = &self.config;
        self.streams
            .get_mut(&id.0)
            .map_or(0, |s| s.write(data, cfg))
    }

    pub fn send_capacity(&self, id: StreamId) -> usize {
        self.streams
            .get(&id.0)
            .map_or(0, |s| s.send_capacity(&self.config))
    }

    /// Up to `max` in-order bytes. Empty when nothing is buffered (EOF after
    /// [`StreamEvent::Finished`]).
    pub fn read(&mut self, id: StreamId, max: usize) -> Vec<u8> {
        let (local, mut sink, streams) = self.split();
        let out = streams
            .get_mut(&id.0)
            .map_or_else(Vec::new, |s| s.read(max, &local, &mut sink));
        if self
            .streams
            .get(&id.0)
            .is_some_and(|s| s.done.is_some() && s.readable() == 0)
        {
            self.streams
                .get_mut(&id.0)
                .into_iter()
                .for_each(|s| s.released = true);
        }
        out
    }

    /// Bytes ready to read.
    pub fn readable(&self, id: StreamId) -> usize {
        self.streams.get(&id.0).map_or(0, Stream::readable)
    }

    /// Graceful close: CLOSE after all buffered data is sent and acknowledged. On a stream
    /// that is already over, releases it (unread data is dropped).
    pub fn close(&mut self, id: StreamId) {
        if let Some(s) = self.streams.get_mut(&id.0) {
            s.close();
        }
    }

    /// Abort with RESET; [`StreamEvent::Closed`] with [`crate::CloseReason::LocalReset`].
    pub fn reset(&mut self, id: StreamId) {
        let (local, mut sink, streams) = self.split();
        if let Some(s) = streams.get_mut(&id.0) {
            s.reset(&local, &mut sink, 0);
        }
    }

    pub fn stream_info(&self, id: StreamId) -> Option<StreamInfo> {
        self.streams.get(&id.0).map(Stream::info)
    }

    /// Remote destination and (local, remote) ports of a stream.
    pub fn stream_peer(&self, id: StreamId) -> Option<(&Destination, u16, u16)> {
        self.streams
            .get(&id.0)
            .map(|s| (&s.remote, s.local_port, s.remote_port))
    }

    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    // ------------------------------------------------------------------- network side

    /// The next packet to send.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        if let Some(t) = self.queue.pop_front() {
            return Some(t);
        }
        let cursor = self.cursor;
        let ids: Vec<u32> = self
            .streams
            .range(cursor.saturating_add(1)..)
            .chain(self.streams.range(..=cursor))
            .map(|(k, _)| *k)
            .collect();
        let mut out = None;
        for id in ids {
            let (local, mut sink, streams) = self.split();
            let Some(s) = streams.get_mut(&id) else {
                continue;
            };
            if let Some(packet) = s.poll_transmit(now_ms, &local, &mut sink) {
                out = Some(Transmit {
                    remote: s.remote.clone(),
                    from_port: s.local_port,
                    to_port: s.remote_port,
                    packet,
                });
                self.cursor = id;
                break;
            }
        }
        self.cleanup(now_ms);
        out
    }

    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline (ms) at which `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        let streams = self
            .streams
            .values()
            .filter_map(|s| s.poll_timeout(&self.config));
        let pending = self.pending.values().map(|(t, _)| *t);
        streams.chain(pending).min()
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        let (local, mut sink, streams) = self.split();
        for s in streams.values_mut() {
            s.handle_timeout(now_ms, &local, &mut sink);
        }
        self.pending.retain(|_, (t, _)| *t > now_ms);
        self.cleanup(now_ms);
    }

    pub fn stats(&self) -> StreamStats {
        self.stats.clone()
    }

    fn cleanup(&mut self, now: u64) {
        let gone: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.removable(now))
            .map(|(k, _)| *k)
            .collect();
        for id in gone {
            if let Some(s) = self.streams.remove(&id) {
                if self.incoming.get(&s.remote_id) == Some(&id) {
                    self.incoming.remove(&s.remote_id);
                }
                debug!(stream = id, "stream removed");
            }
        }
    }
}
