//! The endpoint's reassembly of fragments into messages (spec/tunnel-implementation.md,
//! "Endpoint Processing"; behaviour as i2pd `TunnelEndpoint.cpp`).

use std::collections::{BTreeMap, HashMap};

use tracing::debug;

use super::Payload;
use super::fragment::{DeliveryInstructions, FragmentHeader};
use super::payload::{PayloadError, parse_payload};

/// Limits of an [`Endpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    /// An incomplete message is dropped once this many milliseconds have passed since its
    /// first fragment (of any number) arrived. Default 8000, as i2pd.
    pub timeout_ms: u64,
    /// Most incomplete messages kept at once. Default 32.
    pub max_pending_messages: usize,
    /// Most fragment bytes kept for incomplete messages at once. Default 256 KiB, room for
    /// four of the largest messages.
    pub max_pending_bytes: usize,
}

impl Default for EndpointConfig {
    fn default() -> EndpointConfig {
        EndpointConfig {
            timeout_ms: 8_000,
            max_pending_messages: 32,
            max_pending_bytes: 256 * 1024,
        }
    }
}

/// A message the endpoint has put back together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// What the gateway asked the endpoint to do with it.
    pub instructions: DeliveryInstructions,
    /// The I2NP message as the gateway was given it (standard 16-byte header form). Not
    /// parsed or checked here.
    pub message: Vec<u8>,
}

/// Reassembles messages from decrypted payloads, for one tunnel.
///
/// Fragments of a message are collected by message id, in whatever order they come. When the
/// first fragment, the fragment flagged last and every number in between are there, the
/// message is returned. Incomplete messages are dropped after [`EndpointConfig::timeout_ms`];
/// when the limits on pending messages or bytes would be exceeded, the oldest incomplete
/// messages go first. Duplicate fragments, and fragments that contradict what the message
/// already has (a second "last", a number past the last), are dropped with a debug log,
/// dropping the message in the second case.
///
/// What to do with a [`Received`] message is the caller's decision. i2pd
/// (`TunnelEndpoint::HandleNextMessage`) refuses router and tunnel instructions at an inbound
/// endpoint, where they could only be an attempt to make the creator send traffic, and drops
/// expired messages at an outbound endpoint.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    pending: HashMap<u32, Pending>,
    pending_bytes: usize,
}

#[derive(Debug)]
struct Pending {
    /// When the first of its fragments arrived.
    started_ms: u64,
    /// Instructions and data of fragment 0, once it arrived.
    first: Option<(DeliveryInstructions, Vec<u8>)>,
    /// Follow-on fragments by number.
    follow_ons: BTreeMap<u8, Vec<u8>>,
    /// The number of the fragment flagged last, once it arrived.
    last: Option<u8>,
    /// Fragment bytes held.
    bytes: usize,
}

/// What one fragment is to a pending message.
enum Part {
    First(DeliveryInstructions),
    FollowOn { number: u8, last: bool },
}

impl Endpoint {
    pub fn new(config: EndpointConfig) -> Endpoint {
        Endpoint {
            config,
            pending: HashMap::new(),
            pending_bytes: 0,
        }
    }

    /// Take one decrypted payload (all layers removed: see the [module docs](super) for who
    /// removes them). Incomplete messages older than the timeout are dropped first, then the
    /// checksum is verified and the content parsed; a payload that fails either changes
    /// nothing. Returns the messages this payload completed, in the order they completed.
    pub fn receive(
        &mut self,
        payload: &Payload,
        now_ms: u64,
    ) -> Result<Vec<Received>, PayloadError> {
        self.expire(now_ms);
        let fragments = parse_payload(payload)?;
        let mut out = Vec::new();
        for fragment in fragments {
            let (message_id, part) = match fragment.header {
                FragmentHeader::First {
                    instructions,
                    message_id: None,
                    ..
                } => {
                    out.push(Received {
                        instructions,
                        message: fragment.data.to_vec(),
                    });
                    continue;
                }
                FragmentHeader::First {
                    instructions,
                    message_id: Some(id),
                    ..
                } => (id, Part::First(instructions)),
                FragmentHeader::FollowOn {
                    number,
                    last,
                    message_id,
                    ..
                } => (message_id, Part::FollowOn { number, last }),
            };
            if let Some(done) = self.add(message_id, part, fragment.data, now_ms) {
                out.push(done);
            }
        }
        Ok(out)
    }

    /// Drop incomplete messages whose first fragment arrived more than the timeout before
    /// `now_ms`. [`Endpoint::receive`] does this itself; call it too when no traffic comes.
    /// Returns how many were dropped.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let timeout = self.config.timeout_ms;
        let before = self.pending.len();
        let mut freed = 0usize;
        self.pending.retain(|id, p| {
            let keep = now_ms.saturating_sub(p.started_ms) <= timeout;
            if !keep {
                debug!(
                    message_id = id,
                    "tunnel endpoint: incomplete message timed out"
                );
                freed = freed.saturating_add(p.bytes);
            }
            keep
        });
        self.pending_bytes = self.pending_bytes.saturating_sub(freed);
        before - self.pending.len()
    }

    /// Incomplete messages held.
    pub fn pending_messages(&self) -> usize {
        self.pending.len()
    }

    /// Fragment bytes held for incomplete messages.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// File one fragment of message `id`; returns the message if it is now complete.
    fn add(&mut self, id: u32, part: Part, data: &[u8], now_ms: u64) -> Option<Received> {
        if let Some(p) = self.pending.get(&id) {
            match part {
                Part::First(_) if p.first.is_some() => {
                    debug!(message_id = id, "tunnel endpoint: duplicate first fragment");
                    return None;
                }
                Part::FollowOn { number, .. } if p.follow_ons.contains_key(&number) => {
                    debug!(
                        message_id = id,
                        number, "tunnel endpoint: duplicate fragment"
                    );
                    return None;
                }
                Part::FollowOn { number, last } if contradicts(p, number, last) => {
                    debug!(
                        message_id = id,
                        number, "tunnel endpoint: inconsistent fragment"
                    );
                    self.remove(id);
                    return None;
                }
                _ => {}
            }
        }
        if !self.make_room(id, data.len()) {
            debug!(message_id = id, "tunnel endpoint: no room for the message");
            self.remove(id);
            return None;
        }
        let p = self.pending.entry(id).or_insert_with(|| Pending {
            started_ms: now_ms,
            first: None,
            follow_ons: BTreeMap::new(),
            last: None,
            bytes: 0,
        });
        match part {
            Part::First(instructions) => p.first = Some((instructions, data.to_vec())),
            Part::FollowOn { number, last } => {
                p.follow_ons.insert(number, data.to_vec());
                if last {
                    p.last = Some(number);
                }
            }
        }
        p.bytes = p.bytes.saturating_add(data.len());
        self.pending_bytes = self.pending_bytes.saturating_add(data.len());

        let complete = p.first.is_some()
            && p.last
                .is_some_and(|last| p.follow_ons.len() == usize::from(last));
        if !complete {
            return None;
        }
        let p = self.remove(id)?;
        let (instructions, mut message) = p.first?;
        message.reserve(p.bytes.saturating_sub(message.len()));
        for data in p.follow_ons.into_values() {
            message.extend_from_slice(&data);
        }
        Some(Received {
            instructions,
            message,
        })
    }

    /// Make room for `bytes` more of message `id` (possibly a new one) by dropping the oldest
    /// other incomplete messages. False if even that is not enough.
    fn make_room(&mut self, id: u32, bytes: usize) -> bool {
        let is_new = !self.pending.contains_key(&id);
        loop {
            let count_ok = !is_new || self.pending.len() < self.config.max_pending_messages;
            let bytes_ok =
                self.pending_bytes.saturating_add(bytes) <= self.config.max_pending_bytes;
            if count_ok && bytes_ok {
                return true;
            }
            let oldest = self
                .pending
                .iter()
                .filter(|(other, _)| **other != id)
                .min_by_key(|(other, p)| (p.started_ms, **other))
                .map(|(other, _)| *other);
            match oldest {
                Some(victim) => {
                    debug!(message_id = victim, "tunnel endpoint: dropped to make room");
                    self.remove(victim);
                }
                None => return false,
            }
        }
    }

    fn remove(&mut self, id: u32) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        self.pending_bytes = self.pending_bytes.saturating_sub(p.bytes);
        Some(p)
    }
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint::new(EndpointConfig::default())
    }
}

/// Would follow-on fragment `number` (flagged `last` or not) contradict what `p` holds?
fn contradicts(p: &Pending, number: u8, last: bool) -> bool {
    match p.last {
        // a second last fragment, or one past the end
        Some(known) => last || number > known,
        // a last fragment before numbers already seen
        None => {
            last && p
                .follow_ons
                .keys()
                .next_back()
                .is_some_and(|&max| max > number)
        }
    }
}
