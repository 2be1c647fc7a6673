//! Tunables of the streaming state machine. Defaults follow i2pd 2.45.1 where it has a value
//! (`libi2pd/Streaming.h`, `libi2pd/Destination.h`) and the option table of
//! docs/api/streaming.md otherwise; each field says which.

/// What a stream does when nothing arrived for [`StreamConfig::inactivity_timeout_ms`]
/// (docs/api/streaming.md, `i2p.streaming.inactivityAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InactivityAction {
    /// Do nothing.
    Nothing,
    /// Close the stream with a RESET ([`crate::CloseReason::Idle`]).
    Disconnect,
    /// Send a duplicate ACK as a keep-alive (the Java default, "2 (send)").
    KeepAlive,
}

/// Per-destination streaming options. `Default` gives i2pd-like values.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// The largest payload we send and the MAX_PACKET_SIZE we announce in SYNs. i2pd: 1730
    /// (`STREAMING_MTU`), 1812 when the garlic session is ECIES (`STREAMING_MTU_RATCHETS`).
    pub mtu: u16,
    /// Congestion window at the start, in packets (spec table: `initialWindowSize` 6; i2pd
    /// starts at 1 and slow-starts to its `WINDOW_SIZE` of 6).
    pub initial_window: u32,
    /// Largest congestion window, in packets (i2pd `MAX_WINDOW_SIZE` 128, Java 128).
    pub max_window: u32,
    /// Retransmission timeout before any RTT sample (i2pd `INITIAL_RTO` 9000 ms, spec 9 s).
    pub initial_rto_ms: u64,
    /// RTO bounds (spec "Other Parameters": MIN_RESEND_DELAY 100 ms, MAX_RESEND_DELAY 45 s).
    pub min_rto_ms: u64,
    pub max_rto_ms: u64,
    /// How often one packet may be retransmitted before the stream fails with
    /// [`crate::CloseReason::Timeout`] (i2pd `MAX_NUM_RESEND_ATTEMPTS` 6; Java 8).
    pub max_resends: u32,
    /// Longest delay before an ACK for in-order data (i2pd `DEFAULT_INITIAL_ACK_DELAY` 200 ms;
    /// i2pd uses min(RTT/10, this)).
    pub ack_delay_ms: u64,
    /// Idle time (nothing received, nothing in flight) before [`Self::inactivity_action`]
    /// (spec table: 90 s).
    pub inactivity_timeout_ms: u64,
    pub inactivity_action: InactivityAction,
    /// After our CLOSE went out: how long we wait for the peer's CLOSE before the stream is
    /// declared closed anyway (i2pd never retransmits its reply CLOSE, so it can be lost).
    pub close_timeout_ms: u64,
    /// How long a closed stream stays in the table to retransmit its CLOSE and to re-ACK
    /// retransmissions from the peer.
    pub linger_ms: u64,
    /// Received bytes we hold (unread in-order data plus out-of-order packets); beyond it we
    /// drop data and send CHOKE (spec: INBOUND_BUFFER_SIZE = maxMessageSize * (maxWindowSize + 2)).
    pub max_receive_buffer: usize,
    /// Bytes the application may have written that are not sent yet (spec `bufferSize` 64K).
    pub send_buffer: usize,
    /// Answer pings (spec `answerPings`, i2pd `DEFAULT_ANSWER_PINGS` true).
    pub answer_pings: bool,
    /// Streams in the table at most; more incoming SYNs are answered with RESET.
    pub max_streams: usize,
    /// How long packets that arrive before their stream's SYN are kept (i2pd
    /// `PENDING_INCOMING_TIMEOUT` 10 s).
    pub pending_packet_timeout_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            mtu: 1730,
            initial_window: 6,
            max_window: 128,
            initial_rto_ms: 9000,
            min_rto_ms: 100,
            max_rto_ms: 45_000,
            max_resends: 6,
            ack_delay_ms: 200,
            inactivity_timeout_ms: 90_000,
            inactivity_action: InactivityAction::KeepAlive,
            close_timeout_ms: 30_000,
            linger_ms: 10_000,
            max_receive_buffer: 1730 * 130,
            send_buffer: 64 * 1024,
            answer_pings: true,
            max_streams: 1024,
            pending_packet_timeout_ms: 10_000,
        }
    }
}
