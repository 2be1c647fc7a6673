//! One stream: the send side (sequence numbers, unacked packets, congestion window, RTO) and
//! the receive side (in-order delivery, reordering buffer, ACK/NACK generation, choke), plus
//! the SYN and CLOSE handshakes. Driven by [`crate::StreamManager`]; never touches IO.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use i2p_wire::streaming::{
    CHOKE_DELAY, FLAG_CLOSE, FLAG_NO_ACK, FLAG_RESET, FLAG_SYNCHRONIZE, MAX_NACKS,
};
use i2p_wire::{Date, Destination, Encode, SigType, StreamPacket};
use tracing::{debug, trace};

use crate::config::{InactivityAction, StreamConfig};
use crate::{CloseReason, StreamError, StreamEvent, StreamId, StreamStats};

/// NACKs of one packet that make it count as lost before its RTO (TCP's duplicate-ACK
/// threshold, RFC 5681). Our streams spread over several tunnels of different latency, so a
/// packet on a slower tunnel is NACKed once or twice while still in flight; at 2, the
/// testnet benchmark (all ours) saw about one spurious loss episode per round trip, the window
/// stayed at 2-5 packets and 20 MiB took 2.0-2.1 MiB/s and 10-12 CPU-s; at 3, 2.8-3.05 MiB/s
/// and 8.5-9.5 CPU-s (mixed with i2pd hops: 1.42-1.50 -> 1.81-1.98 MiB/s).
const FAST_RETRANSMIT_NACKS: u32 = 3;

/// The delay value that lifts a choke ("a value of 60000 or less indicates unchoking").
const UNCHOKE_DELAY: u16 = 0;
/// Acknowledge at once after this many in-order packets, whatever the ACK delay.
const ACK_EVERY: u32 = 16;
/// How far past the next expected sequence number a packet may be and still be buffered
/// (the NACK list can name at most 255 gaps).
const MAX_REORDER_SPAN: u32 = 2 * MAX_NACKS as u32;
/// Smallest payload size we accept from a peer's MAX_PACKET_SIZE (spec MIN_MESSAGE_SIZE).
const MIN_MTU: usize = 512;

/// What the stream needs from its destination to build packets.
pub(crate) struct Local<'a> {
    pub dest: &'a Destination,
    pub sig_len: usize,
    pub signer: &'a dyn Fn(&[u8]) -> Vec<u8>,
    pub cfg: &'a StreamConfig,
}

/// Where a stream reports what happened.
pub(crate) struct Sink<'a> {
    pub events: &'a mut VecDeque<StreamEvent>,
    pub stats: &'a mut StreamStats,
}

/// A packet we sent and that is not acknowledged yet.
#[derive(Debug)]
struct Sent {
    packet: StreamPacket,
    /// SYN and CLOSE are signed: they are resent byte for byte.
    signed_bytes: Option<Vec<u8>>,
    first_sent: u64,
    last_sent: u64,
    resends: u32,
    nacks: u32,
}

/// Snapshot of a stream's transport state (for tests, stats pages and the integrator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    pub remote_stream_id: u32,
    /// Congestion window in packets.
    pub window: u32,
    pub slow_start_threshold: u32,
    /// Smoothed RTT, once sampled.
    pub srtt_ms: Option<u64>,
    pub rto_ms: u64,
    /// Packets sent and not acknowledged.
    pub in_flight: usize,
    /// Bytes written and not sent yet.
    pub unsent: usize,
    /// Bytes received in order and not read yet.
    pub readable: usize,
    /// Payload size we use toward the peer.
    pub mtu: usize,
    pub remote_choked: bool,
    pub choking: bool,
    pub closed: Option<CloseReason>,
    /// Oldest sequence number we sent that is not acknowledged.
    pub first_unacked: Option<u32>,
    /// Next sequence number we expect from the peer, and how many packets wait behind a gap.
    pub next_expected: u32,
    pub out_of_order: usize,
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub id: u32,
    pub remote_id: u32,
    pub remote: Destination,
    /// Key that verifies the peer's signed packets (its destination key, or the transient key
    /// of its offline signature).
    verifier: (SigType, Vec<u8>),
    pub local_port: u16,
    pub remote_port: u16,
    pub outgoing: bool,

    // handshake
    syn_sent: bool,
    syn_acked: bool,
    connected: bool,

    // send side
    next_seq: u32,
    send_buf: VecDeque<u8>,
    unacked: BTreeMap<u32, Sent>,
    to_resend: BTreeSet<u32>,
    cwnd: u32,
    ssthresh: u32,
    ca_acc: u32,
    recovery_point: Option<u32>,
    srtt: Option<u64>,
    rttvar: u64,
    rto: u64,
    rto_deadline: Option<u64>,
    remote_mtu: usize,
    remote_choked: bool,
    probe_allowed: bool,
    write_blocked: bool,

    // receive side
    next_expected: u32,
    recv_buf: VecDeque<u8>,
    ooo: BTreeMap<u32, StreamPacket>,
    ooo_bytes: usize,
    ack_deadline: Option<u64>,
    ack_now: bool,
    inorder_since_ack: u32,
    choking: bool,
    unchoke_pending: bool,
    readable_signalled: bool,

    // close
    close_requested: bool,
    close_seq: Option<u32>,
    close_sent_at: Option<u64>,
    remote_closed: bool,
    pub done: Option<CloseReason>,
    linger_until: u64,
    pub released: bool,
    last_activity: u64,
    /// Packets to send once, ahead of everything (RESET).
    ctl: VecDeque<Vec<u8>>,
}

impl Stream {
    pub fn new(
        id: u32,
        remote: Destination,
        local_port: u16,
        remote_port: u16,
        outgoing: bool,
        cfg: &StreamConfig,
        now: u64,
    ) -> Stream {
        let verifier = (remote.sig_type(), remote.signing_key().to_vec());
        Stream {
            id,
            remote_id: 0,
            remote,
            verifier,
            local_port,
            remote_port,
            outgoing,
            syn_sent: false,
            syn_acked: false,
            connected: false,
            next_seq: 0,
            send_buf: VecDeque::new(),
            unacked: BTreeMap::new(),
            to_resend: BTreeSet::new(),
            cwnd: cfg.initial_window.clamp(1, cfg.max_window.max(1)),
            ssthresh: cfg.max_window.max(1),
            ca_acc: 0,
            recovery_point: None,
            srtt: None,
            rttvar: 0,
            rto: cfg.initial_rto_ms,
            rto_deadline: None,
            remote_mtu: usize::from(cfg.mtu),
            remote_choked: false,
            probe_allowed: false,
            write_blocked: false,
            next_expected: 0,
            recv_buf: VecDeque::new(),
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            ack_deadline: None,
            ack_now: false,
            inorder_since_ack: 0,
            choking: false,
            unchoke_pending: false,
            readable_signalled: false,
            close_requested: false,
            close_seq: None,
            close_sent_at: None,
            remote_closed: false,
            done: None,
            linger_until: 0,
            released: false,
            last_activity: now,
            ctl: VecDeque::new(),
        }
    }

    fn sid(&self) -> StreamId {
        StreamId(self.id)
    }

    pub fn info(&self) -> StreamInfo {
        StreamInfo {
            remote_stream_id: self.remote_id,
            window: self.cwnd,
            slow_start_threshold: self.ssthresh,
            srtt_ms: self.srtt,
            rto_ms: self.rto,
            in_flight: self.unacked.len(),
            unsent: self.send_buf.len(),
            readable: self.recv_buf.len(),
            mtu: self.payload_mtu_for(self.remote_mtu),
            remote_choked: self.remote_choked,
            choking: self.choking,
            closed: self.done,
            first_unacked: self.unacked.keys().next().copied(),
            next_expected: self.next_expected,
            out_of_order: self.ooo.len(),
        }
    }

    fn payload_mtu_for(&self, remote_mtu: usize) -> usize {
        remote_mtu.max(1)
    }

    /// Use the transient key of an offline signature for everything the peer signs.
    pub fn set_verifier(&mut self, sig_type: SigType, key: Vec<u8>) {
        self.verifier = (sig_type, key);
    }

    // ---------------------------------------------------------------- application side

    fn accepts_writes(&self) -> bool {
        self.done.is_none() && !self.close_requested
    }

    pub fn send_capacity(&self, cfg: &StreamConfig) -> usize {
        if !self.accepts_writes() {
            return 0;
        }
        cfg.send_buffer.saturating_sub(self.send_buf.len())
    }

    pub fn write(&mut self, data: &[u8], cfg: &StreamConfig) -> usize {
        let n = self.send_capacity(cfg).min(data.len());
        self.send_buf
            .extend(data.get(..n).unwrap_or_default().iter().copied());
        if n < data.len() {
            self.write_blocked = true;
        }
        n
    }

    pub fn read(&mut self, max: usize, local: &Local<'_>, sink: &mut Sink<'_>) -> Vec<u8> {
        let cfg = local.cfg;
        let n = max.min(self.recv_buf.len());
        let out: Vec<u8> = self.recv_buf.drain(..n).collect();
        if n > 0 && self.done.is_none() {
            self.drain_ooo(self.last_activity, local, sink);
        }
        if self.recv_buf.is_empty() {
            self.readable_signalled = false;
        }
        if self.choking && self.recv_buf.len() <= cfg.max_receive_buffer / 2 {
            debug!(stream = self.id, "receive buffer drained, unchoking");
            self.choking = false;
            self.unchoke_pending = true;
            self.ack_now = true;
        }
        out
    }

    pub fn readable(&self) -> usize {
        self.recv_buf.len()
    }

    fn buffered(&self) -> usize {
        self.recv_buf.len().saturating_add(self.ooo_bytes)
    }

    /// Graceful close: CLOSE goes out once everything written is sent and acknowledged.
    pub fn close(&mut self) {
        if self.done.is_some() {
            self.released = true;
            return;
        }
        self.close_requested = true;
    }

    /// Abort: RESET to the peer (when it knows us), drop all state.
    pub fn reset(&mut self, local: &Local<'_>, sink: &mut Sink<'_>, now: u64) {
        if self.done.is_some() {
            self.released = true;
            return;
        }
        self.send_reset(local, sink);
        self.finish(CloseReason::LocalReset, sink, now, local.cfg);
        self.released = true;
    }

    fn send_reset(&mut self, local: &Local<'_>, sink: &mut Sink<'_>) {
        // a peer that has not heard from us cannot match a RESET to anything
        if !self.syn_sent || (self.outgoing && self.remote_id == 0) {
            return;
        }
        let mut p = self.header(self.next_seq);
        p.flags |= FLAG_RESET;
        if p.ack().is_none() {
            p.flags |= FLAG_NO_ACK;
        }
        match p.sign(local.sig_len, local.signer) {
            Ok(()) => {
                self.ctl.push_back(p.to_bytes());
                sink.stats.resets_sent += 1;
            }
            Err(e) => debug!(stream = self.id, "cannot sign RESET: {e}"),
        }
    }

    // ---------------------------------------------------------------- packet building

    /// Header with our ids, `seq` and the current ACK fields (NO_ACK when we have nothing
    /// to acknowledge).
    fn header(&self, seq: u32) -> StreamPacket {
        let mut p = StreamPacket {
            send_stream_id: self.remote_id,
            receive_stream_id: self.id,
            sequence_num: seq,
            resend_delay: u8::try_from(self.rto / 1000).unwrap_or(u8::MAX),
            ..StreamPacket::default()
        };
        self.fill_ack(&mut p);
        p
    }

    fn fill_ack(&self, p: &mut StreamPacket) {
        match self.ack_fields() {
            Some((through, nacks)) => {
                p.ack_through = through;
                p.nacks = nacks;
                p.flags &= !FLAG_NO_ACK;
            }
            None => {
                p.ack_through = 0;
                p.nacks.clear();
                p.flags |= FLAG_NO_ACK;
            }
        }
        p.delay_requested = if self.choking {
            Some(CHOKE_DELAY)
        } else if self.unchoke_pending {
            Some(UNCHOKE_DELAY)
        } else {
            None
        };
    }

    /// ackThrough and the NACKs for the gaps below it, `None` before anything arrived.
    /// With more than 255 gaps, ackThrough stops at the last packet the NACKs can describe.
    fn ack_fields(&self) -> Option<(u32, Vec<u32>)> {
        let mut through = self.next_expected.checked_sub(1);
        let mut nacks = Vec::new();
        let mut next = self.next_expected;
        for &s in self.ooo.keys() {
            let gap = s.saturating_sub(next) as usize;
            if nacks.len().saturating_add(gap) > MAX_NACKS {
                break;
            }
            nacks.extend(next..s);
            through = Some(s);
            next = s.saturating_add(1);
        }
        through.map(|t| (t, nacks))
    }

    fn after_ack_sent(&mut self) {
        self.ack_now = false;
        self.ack_deadline = None;
        self.inorder_since_ack = 0;
    }

    fn chunk(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.send_buf.len());
        self.send_buf.drain(..n).collect()
    }

    fn track(
        &mut self,
        packet: StreamPacket,
        signed_bytes: Option<Vec<u8>>,
        now: u64,
        cfg: &StreamConfig,
    ) {
        let seq = packet.sequence_num;
        self.unacked.insert(
            seq,
            Sent {
                packet,
                signed_bytes,
                first_sent: now,
                last_sent: now,
                resends: 0,
                nacks: 0,
            },
        );
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now.saturating_add(self.rto));
        }
        let _ = cfg;
    }

    fn take_seq(&mut self) -> Option<u32> {
        let s = self.next_seq;
        self.next_seq = s.checked_add(1)?;
        Some(s)
    }

    /// The next packet this stream wants to send, if any.
    pub fn poll_transmit(
        &mut self,
        now: u64,
        local: &Local<'_>,
        sink: &mut Sink<'_>,
    ) -> Option<Vec<u8>> {
        if let Some(b) = self.ctl.pop_front() {
            return Some(b);
        }
        if self.done.is_some_and(|r| r != CloseReason::Normal) {
            return None;
        }
        if !self.syn_sent {
            return self.build_syn(now, local, sink);
        }
        // retransmissions first
        while let Some(seq) = self.to_resend.pop_first() {
            let ack = self.ack_fields_for_resend();
            let Some(sent) = self.unacked.get_mut(&seq) else {
                continue;
            };
            sent.last_sent = now;
            sink.stats.packets_resent += 1;
            let fresh_ack = sent.signed_bytes.is_none() && ack.0.is_some();
            let bytes = match &sent.signed_bytes {
                Some(b) => b.clone(),
                None => {
                    let mut p = sent.packet.clone();
                    p.send_stream_id = self.remote_id;
                    match ack {
                        (Some((through, nacks)), delay) => {
                            p.ack_through = through;
                            p.nacks = nacks;
                            p.flags &= !FLAG_NO_ACK;
                            p.delay_requested = delay;
                        }
                        (None, delay) => {
                            p.flags |= FLAG_NO_ACK;
                            p.delay_requested = delay;
                        }
                    }
                    p.to_bytes()
                }
            };
            trace!(stream = self.id, seq, "retransmit");
            if fresh_ack {
                self.after_ack_sent();
            }
            return Some(bytes);
        }
        if self.done.is_some() {
            // lingering: only retransmissions and ACKs
            return self.build_ack(sink);
        }
        if let Some(b) = self.build_data(now, local, sink) {
            return Some(b);
        }
        if let Some(b) = self.build_close(now, local, sink) {
            return Some(b);
        }
        self.build_ack(sink)
    }

    fn ack_fields_for_resend(&self) -> (Option<(u32, Vec<u32>)>, Option<u16>) {
        let delay = if self.choking {
            Some(CHOKE_DELAY)
        } else if self.unchoke_pending {
            Some(UNCHOKE_DELAY)
        } else {
            None
        };
        (self.ack_fields(), delay)
    }

    fn build_syn(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) -> Option<Vec<u8>> {
        if !self.outgoing && self.remote_id == 0 {
            return None;
        }
        let seq = self.take_seq()?;
        let mut p = self.header(seq);
        p.flags |= FLAG_SYNCHRONIZE;
        if self.outgoing {
            // proposal 164 / spec "Replay Prevention": the target's hash in the NACK field
            p.set_syn_target_hash(&self.remote.hash());
            p.flags |= FLAG_NO_ACK;
            p.ack_through = 0;
            p.delay_requested = None;
        }
        p.from = Some(local.dest.clone());
        p.max_packet_size = Some(local.cfg.mtu);
        let mtu = usize::from(local.cfg.mtu).min(self.remote_mtu);
        p.payload = self.chunk(mtu);
        if let Err(e) = p.sign(local.sig_len, local.signer) {
            debug!(stream = self.id, "cannot sign SYN: {e}");
            self.finish(CloseReason::LocalReset, sink, now, local.cfg);
            return None;
        }
        self.syn_sent = true;
        let bytes = p.to_bytes();
        sink.stats.packets_sent += 1;
        sink.stats.bytes_sent += p.payload.len() as u64;
        if !p.payload.is_empty() {
            self.last_activity = now;
        }
        if p.ack().is_some() {
            self.after_ack_sent();
        }
        self.track(p, Some(bytes.clone()), now, local.cfg);
        self.maybe_writable(local.cfg, sink);
        Some(bytes)
    }

    fn may_send_data(&self) -> bool {
        // like i2pd, nothing after the SYN until the peer's stream id is known
        self.remote_id != 0 && self.syn_sent
    }

    fn build_data(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) -> Option<Vec<u8>> {
        if self.send_buf.is_empty() || !self.may_send_data() {
            return None;
        }
        let window_open = if self.remote_choked {
            self.probe_allowed && self.unacked.is_empty()
        } else {
            (self.unacked.len() as u64) < u64::from(self.cwnd)
        };
        if !window_open {
            return None;
        }
        self.probe_allowed = false;
        let seq = self.take_seq()?;
        let mut p = self.header(seq);
        let mtu = usize::from(local.cfg.mtu).min(self.remote_mtu);
        p.payload = self.chunk(mtu);
        let bytes = p.to_bytes();
        sink.stats.packets_sent += 1;
        sink.stats.bytes_sent += p.payload.len() as u64;
        self.last_activity = now;
        if p.ack().is_some() {
            self.after_ack_sent();
        }
        self.track(p, None, now, local.cfg);
        self.maybe_writable(local.cfg, sink);
        Some(bytes)
    }

    fn build_close(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) -> Option<Vec<u8>> {
        if !self.close_requested
            || self.close_seq.is_some()
            || !self.send_buf.is_empty()
            || !self.may_send_data()
            || !(self.unacked.is_empty() || self.remote_closed)
        {
            return None;
        }
        let seq = self.take_seq()?;
        let mut p = self.header(seq);
        p.flags |= FLAG_CLOSE;
        if let Err(e) = p.sign(local.sig_len, local.signer) {
            debug!(stream = self.id, "cannot sign CLOSE: {e}");
            self.finish(CloseReason::LocalReset, sink, now, local.cfg);
            return None;
        }
        let bytes = p.to_bytes();
        sink.stats.packets_sent += 1;
        self.close_seq = Some(seq);
        self.close_sent_at = Some(now);
        if p.ack().is_some() {
            self.after_ack_sent();
        }
        self.track(p, Some(bytes.clone()), now, local.cfg);
        debug!(stream = self.id, seq, "CLOSE sent");
        self.check_closed(now, sink, local.cfg);
        Some(bytes)
    }

    fn build_ack(&mut self, sink: &mut Sink<'_>) -> Option<Vec<u8>> {
        if !self.ack_now || self.remote_id == 0 {
            return None;
        }
        let p = self.header(0);
        self.after_ack_sent();
        p.ack()?;
        sink.stats.acks_sent += 1;
        Some(p.to_bytes())
    }

    fn maybe_writable(&mut self, cfg: &StreamConfig, sink: &mut Sink<'_>) {
        if self.write_blocked && self.send_capacity(cfg) > 0 {
            self.write_blocked = false;
            sink.events.push_back(StreamEvent::Writable(self.sid()));
        }
    }

    // ---------------------------------------------------------------- receiving

    /// A packet for this stream. `verified`: the manager already checked its signature (the
    /// SYN that created an incoming stream).
    pub fn on_packet(
        &mut self,
        p: StreamPacket,
        verified: bool,
        now: u64,
        local: &Local<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let cfg = local.cfg;
        if p.signature.is_some() && !verified {
            if let Some(from) = &p.from {
                if from != &self.remote {
                    sink.stats.dropped_bad_signature += 1;
                    return Err(StreamError::WrongSender);
                }
                if p.offline_signature.is_some() {
                    if p.verify_offline_signature(Date::from_millis(now)).is_err() {
                        sink.stats.dropped_bad_signature += 1;
                        return Err(StreamError::OfflineSignature);
                    }
                    if let Some((t, k)) = p.included_signer() {
                        self.verifier = (t, k.to_vec());
                    }
                }
            }
            if p.verify_signature(self.verifier.0, &self.verifier.1)
                .is_err()
            {
                sink.stats.dropped_bad_signature += 1;
                return Err(StreamError::BadSignature);
            }
        } else if p.signature.is_none() && (p.is_syn() || p.is_close() || p.is_reset()) {
            sink.stats.dropped_bad_signature += 1;
            return Err(StreamError::Unsigned);
        }
        if self.done.is_some_and(|r| r != CloseReason::Normal) {
            return Ok(());
        }
        if self.remote_id == 0 && p.receive_stream_id != 0 {
            self.remote_id = p.receive_stream_id;
        }
        if p.is_reset() {
            sink.stats.resets_received += 1;
            let reason = if self.outgoing && !self.connected {
                CloseReason::Refused
            } else {
                CloseReason::ResetByPeer
            };
            debug!(stream = self.id, ?reason, "RESET received");
            self.finish(reason, sink, now, cfg);
            return Ok(());
        }
        self.last_activity = now;
        if let Some(d) = p.delay_requested {
            let choked = d >= CHOKE_DELAY;
            if choked != self.remote_choked {
                debug!(stream = self.id, choked, "peer choke state");
                if choked {
                    // what it dropped was for want of buffer space, not lost in the network:
                    // those retransmissions do not count toward max_resends
                    for s in self.unacked.values_mut() {
                        s.resends = 0;
                    }
                    self.on_loss();
                }
                if !choked {
                    // what the peer dropped while choked goes again (not counted as resends)
                    self.to_resend.extend(self.unacked.keys().copied());
                    // the persist timer backed the RTO off; start over from the estimate
                    if let Some(s) = self.srtt {
                        self.rto = self.rto_from(s, cfg);
                    }
                    if !self.unacked.is_empty() {
                        self.rto_deadline = Some(now.saturating_add(self.rto));
                    }
                }
            }
            self.remote_choked = choked;
            if !choked {
                self.probe_allowed = false;
            }
        }
        if let Some(through) = p.ack() {
            self.process_ack(through, &p.nacks, now, local, sink);
        }
        if self.outgoing && !self.connected && self.syn_acked && self.remote_id != 0 {
            self.connected = true;
            sink.events.push_back(StreamEvent::Connected(self.sid()));
        }
        if p.is_plain_ack() || self.done.is_some_and(|r| r != CloseReason::Normal) {
            self.check_closed(now, sink, cfg);
            return Ok(());
        }

        let seq = p.sequence_num;
        if seq < self.next_expected || self.ooo.contains_key(&seq) {
            sink.stats.duplicates += 1;
            self.ack_now = true;
            return Ok(());
        }
        if self.remote_closed {
            // nothing follows the peer's CLOSE
            return Ok(());
        }
        if let Some(d) = p.delay_requested.filter(|d| *d < CHOKE_DELAY) {
            if d == 0 {
                self.ack_now = true;
            } else {
                let at = now.saturating_add(u64::from(d).min(cfg.ack_delay_ms.max(1)));
                self.ack_deadline = Some(self.ack_deadline.map_or(at, |x| x.min(at)));
            }
        }
        if seq == self.next_expected {
            if !self.deliver(p, now, local, sink) {
                return Ok(());
            }
            self.drain_ooo(now, local, sink);
            self.inorder_since_ack = self.inorder_since_ack.saturating_add(1);
            if self.inorder_since_ack >= ACK_EVERY {
                self.ack_now = true;
            }
            if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now.saturating_add(self.ack_delay(cfg)));
            }
        } else {
            if seq - self.next_expected > MAX_REORDER_SPAN {
                sink.stats.dropped_out_of_window += 1;
                self.ack_now = true;
                return Ok(());
            }
            if self.buffered().saturating_add(p.payload.len()) > cfg.max_receive_buffer {
                self.start_choke(sink);
                return Ok(());
            }
            self.ooo_bytes = self.ooo_bytes.saturating_add(p.payload.len());
            self.ooo.insert(seq, p);
            // NACKs go out at once (as i2pd's quick ACK does)
            self.ack_now = true;
        }
        self.check_closed(now, sink, cfg);
        Ok(())
    }

    fn start_choke(&mut self, sink: &mut Sink<'_>) {
        if !self.choking {
            debug!(stream = self.id, "receive buffer full, choking");
            sink.stats.chokes_sent += 1;
        }
        sink.stats.dropped_buffer_full += 1;
        self.choking = true;
        self.unchoke_pending = false;
        self.ack_now = true;
    }

    /// Move packets that waited behind a gap into the receive buffer, as far as they fit.
    fn drain_ooo(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) {
        while let Some((&k, q)) = self.ooo.first_key_value() {
            if k != self.next_expected || !self.fits_in_order(q.payload.len(), local.cfg) {
                break;
            }
            let Some(q) = self.ooo.remove(&k) else { break };
            self.ooo_bytes = self.ooo_bytes.saturating_sub(q.payload.len());
            if !self.deliver(q, now, local, sink) {
                break;
            }
        }
    }

    /// In-order data is limited by the unread bytes only: the out-of-order packets behind it
    /// (limited on arrival) move into the same buffer as it drains.
    fn fits_in_order(&self, len: usize, cfg: &StreamConfig) -> bool {
        len == 0 || self.recv_buf.len().saturating_add(len) <= cfg.max_receive_buffer
    }

    fn ack_delay(&self, cfg: &StreamConfig) -> u64 {
        match self.srtt {
            Some(s) => (s / 10).clamp(2, cfg.ack_delay_ms.max(2)),
            None => cfg.ack_delay_ms,
        }
    }

    /// Take in the next in-order packet. False when its data does not fit (choke).
    fn deliver(
        &mut self,
        p: StreamPacket,
        now: u64,
        local: &Local<'_>,
        sink: &mut Sink<'_>,
    ) -> bool {
        let cfg = local.cfg;
        if !p.payload.is_empty() {
            if !self.fits_in_order(p.payload.len(), cfg) {
                self.start_choke(sink);
                return false;
            }
            sink.stats.bytes_received += p.payload.len() as u64;
            self.recv_buf.extend(p.payload.iter().copied());
            self.unchoke_pending = false;
            if !self.readable_signalled {
                self.readable_signalled = true;
                sink.events.push_back(StreamEvent::Readable(self.sid()));
            }
        }
        if let Some(m) = p.max_packet_size.filter(|_| p.is_syn()) {
            self.remote_mtu = usize::from(m).max(MIN_MTU).min(usize::from(cfg.mtu));
        }
        let Some(next) = self.next_expected.checked_add(1) else {
            self.send_reset(local, sink);
            self.finish(CloseReason::LocalReset, sink, now, cfg);
            return false;
        };
        self.next_expected = next;
        if p.is_close() {
            debug!(stream = self.id, seq = p.sequence_num, "CLOSE received");
            self.remote_closed = true;
            self.ack_now = true;
            sink.events.push_back(StreamEvent::Finished(self.sid()));
            if self.close_seq.is_none() {
                // i2pd answers a CLOSE with its own at once; data not yet sent is dropped
                self.close_requested = true;
                self.send_buf.clear();
            }
        }
        true
    }

    fn process_ack(
        &mut self,
        through: u32,
        nacks: &[u32],
        now: u64,
        local: &Local<'_>,
        sink: &mut Sink<'_>,
    ) {
        let cfg = local.cfg;
        if through >= self.next_seq {
            // acknowledges something never sent
            return;
        }
        let keys: Vec<u32> = self.unacked.range(..=through).map(|(k, _)| *k).collect();
        let mut acked = 0u32;
        let mut sample = None;
        for k in keys {
            if nacks.contains(&k) {
                if let Some(s) = self.unacked.get_mut(&k) {
                    s.nacks = s.nacks.saturating_add(1);
                }
                continue;
            }
            if let Some(s) = self.unacked.remove(&k) {
                acked += 1;
                self.to_resend.remove(&k);
                if s.resends == 0 {
                    sample = Some(now.saturating_sub(s.first_sent));
                }
                if s.packet.is_syn() {
                    self.syn_acked = true;
                }
            }
        }
        if acked > 0 {
            if let Some(r) = sample {
                self.rtt_sample(r, cfg);
            }
            for _ in 0..acked {
                if self.cwnd < self.ssthresh {
                    self.cwnd = self.cwnd.saturating_add(1);
                } else {
                    self.ca_acc = self.ca_acc.saturating_add(1);
                    if self.ca_acc >= self.cwnd {
                        self.ca_acc = 0;
                        self.cwnd = self.cwnd.saturating_add(1);
                    }
                }
            }
            self.cwnd = self.cwnd.min(cfg.max_window.max(1));
            if self.recovery_point.is_some_and(|rp| through >= rp) {
                self.recovery_point = None;
            }
            self.rto_deadline = if self.unacked.is_empty() {
                None
            } else {
                Some(now.saturating_add(self.rto))
            };
            self.maybe_writable(cfg, sink);
        }
        // fast retransmit: NACKed FAST_RETRANSMIT_NACKS times, and sent long enough ago that
        // the ACK cannot predate the last transmission
        let guard = self.srtt.unwrap_or(self.rto);
        let mut lost = false;
        for n in nacks {
            if *n > through || self.to_resend.contains(n) {
                continue;
            }
            let Some(s) = self.unacked.get_mut(n) else {
                continue;
            };
            if s.nacks >= FAST_RETRANSMIT_NACKS && now.saturating_sub(s.last_sent) >= guard {
                if s.resends >= cfg.max_resends {
                    if self.fail_resends(now, local, sink) {
                        return;
                    }
                    continue;
                }
                s.resends = s.resends.saturating_add(1);
                s.nacks = 0;
                self.to_resend.insert(*n);
                sink.stats.fast_retransmits += 1;
                lost = true;
            }
        }
        if lost {
            self.on_loss();
        }
        if self.remote_closed {
            self.check_closed(now, sink, cfg);
        }
    }

    /// RFC 6298 (docs/api/streaming.md "Other Parameters": alpha 1/8, beta 1/4, K 4).
    fn rtt_sample(&mut self, r: u64, cfg: &StreamConfig) {
        let r = r.min(60_000);
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (3 * self.rttvar + diff) / 4;
                self.srtt = Some((7 * s + r) / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        self.rto = self.rto_from(s, cfg);
    }

    fn rto_from(&self, srtt: u64, cfg: &StreamConfig) -> u64 {
        srtt.saturating_add(self.rttvar.saturating_mul(4).max(1))
            .clamp(cfg.min_rto_ms, cfg.max_rto_ms.max(cfg.min_rto_ms))
    }

    /// Halve the window once per loss episode (docs/api/streaming.md "Congestion Control").
    fn on_loss(&mut self) {
        if self.recovery_point.is_some() {
            return;
        }
        self.cwnd = (self.cwnd / 2).max(1);
        self.ssthresh = self.cwnd.max(2);
        self.ca_acc = 0;
        self.recovery_point = Some(self.next_seq.saturating_sub(1));
        debug!(stream = self.id, window = self.cwnd, "loss, window halved");
    }

    /// A packet ran out of retransmissions. Returns true if the stream is now closed.
    fn fail_resends(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) -> bool {
        let cfg = local.cfg;
        let only_close = self.unacked.keys().all(|k| Some(*k) == self.close_seq);
        if self.done.is_some() {
            // lingering: give up on the CLOSE quietly
            self.unacked.clear();
            self.to_resend.clear();
            self.rto_deadline = None;
            return false;
        }
        if only_close {
            // all data was acknowledged before the CLOSE went out
            self.unacked.clear();
            self.to_resend.clear();
            self.rto_deadline = None;
            self.finish(CloseReason::Normal, sink, now, cfg);
            return true;
        }
        debug!(stream = self.id, "too many retransmissions");
        self.send_reset(local, sink);
        self.finish(CloseReason::Timeout, sink, now, cfg);
        true
    }

    fn check_closed(&mut self, now: u64, sink: &mut Sink<'_>, cfg: &StreamConfig) {
        if self.done.is_some() {
            return;
        }
        let Some(c) = self.close_seq else { return };
        let data_outstanding = self.unacked.keys().any(|k| *k != c);
        if self.remote_closed && !data_outstanding {
            self.finish(CloseReason::Normal, sink, now, cfg);
        }
    }

    fn finish(&mut self, reason: CloseReason, sink: &mut Sink<'_>, now: u64, cfg: &StreamConfig) {
        if self.done.is_some() {
            return;
        }
        self.done = Some(reason);
        sink.events.push_back(StreamEvent::Closed {
            id: self.sid(),
            reason,
        });
        self.send_buf.clear();
        if reason == CloseReason::Normal {
            self.linger_until = now.saturating_add(cfg.linger_ms);
        } else {
            self.linger_until = now;
            self.unacked.clear();
            self.to_resend.clear();
            self.rto_deadline = None;
            self.ack_deadline = None;
            self.ack_now = false;
            self.recv_buf.clear();
            self.ooo.clear();
            self.ooo_bytes = 0;
        }
    }

    // ---------------------------------------------------------------- timers

    pub fn poll_timeout(&self, cfg: &StreamConfig) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut consider = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        consider(self.rto_deadline);
        consider(self.ack_deadline);
        if let Some(r) = self.done {
            if r == CloseReason::Normal {
                consider(Some(self.linger_until));
            }
            return t;
        }
        if let Some(at) = self.close_sent_at {
            consider(Some(at.saturating_add(cfg.close_timeout_ms)));
        }
        if self.inactivity_applies(cfg) {
            consider(Some(
                self.last_activity.saturating_add(cfg.inactivity_timeout_ms),
            ));
        }
        t
    }

    fn inactivity_applies(&self, cfg: &StreamConfig) -> bool {
        cfg.inactivity_action != InactivityAction::Nothing
            && self.done.is_none()
            && self.syn_sent
            && self.unacked.is_empty()
            && self.close_seq.is_none()
            && self.remote_id != 0
    }

    pub fn handle_timeout(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) {
        let cfg = local.cfg;
        if self.ack_deadline.is_some_and(|d| d <= now) {
            self.ack_deadline = None;
            self.ack_now = true;
        }
        if self.rto_deadline.is_some_and(|d| d <= now) {
            self.on_rto(now, local, sink);
        }
        let close_expired = self
            .close_sent_at
            .is_some_and(|at| now >= at.saturating_add(cfg.close_timeout_ms));
        if self.done.is_none() && close_expired {
            let close_acked = self
                .close_seq
                .is_some_and(|c| !self.unacked.contains_key(&c));
            let data_outstanding = self.unacked.keys().any(|k| Some(*k) != self.close_seq);
            let reason = if close_acked || !data_outstanding {
                CloseReason::Normal
            } else {
                CloseReason::Timeout
            };
            debug!(stream = self.id, ?reason, "no CLOSE from the peer in time");
            self.finish(reason, sink, now, cfg);
        }
        if self.inactivity_applies(cfg)
            && now >= self.last_activity.saturating_add(cfg.inactivity_timeout_ms)
        {
            match cfg.inactivity_action {
                InactivityAction::Nothing => {}
                InactivityAction::KeepAlive => {
                    trace!(stream = self.id, "idle, keep-alive ACK");
                    self.ack_now = true;
                    self.last_activity = now;
                }
                InactivityAction::Disconnect => {
                    debug!(stream = self.id, "idle, disconnecting");
                    self.send_reset(local, sink);
                    self.finish(CloseReason::Idle, sink, now, cfg);
                }
            }
        }
    }

    fn on_rto(&mut self, now: u64, local: &Local<'_>, sink: &mut Sink<'_>) {
        let cfg = local.cfg;
        let expired_rto = self.rto;
        self.rto = self
            .rto
            .saturating_mul(2)
            .min(cfg.max_rto_ms.max(cfg.min_rto_ms));
        let Some((&first, _)) = self.unacked.first_key_value() else {
            if self.remote_choked && !self.send_buf.is_empty() && self.done.is_none() {
                // persist timer: one probe packet despite the choke
                self.probe_allowed = true;
                self.rto_deadline = Some(now.saturating_add(self.rto));
            } else {
                self.rto_deadline = None;
            }
            return;
        };
        sink.stats.rto_expirations += 1;
        let resends = self.unacked.get(&first).map_or(0, |s| s.resends);
        if resends >= cfg.max_resends && !self.remote_choked {
            if self.fail_resends(now, local, sink) {
                return;
            }
            if self.unacked.is_empty() {
                return;
            }
        }
        // like i2pd: everything unacknowledged that has waited a whole RTO goes again (the
        // NACKs already removed what the peer holds); at least the oldest packet
        for (&seq, s) in self.unacked.iter_mut() {
            if seq == first || now.saturating_sub(s.last_sent) >= expired_rto {
                s.resends = s.resends.saturating_add(1).min(cfg.max_resends);
                s.nacks = 0;
                self.to_resend.insert(seq);
            }
        }
        if self.done.is_none() {
            self.on_loss();
        }
        self.rto_deadline = Some(now.saturating_add(self.rto));
        debug!(
            stream = self.id,
            first,
            rto = self.rto,
            "retransmission timeout"
        );
    }

    /// Whether the manager may forget this stream.
    pub fn removable(&self, now: u64) -> bool {
        let Some(reason) = self.done else {
            return false;
        };
        if !self.ctl.is_empty() {
            return false;
        }
        let unread = !self.recv_buf.is_empty() && !self.released;
        if reason == CloseReason::Normal {
            now >= self.linger_until && !unread
        } else {
            true
        }
    }
}
