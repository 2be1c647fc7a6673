//! Tunables of the netDb state machine, with the values i2pd 2.45.1 uses as defaults
//! (`NetDb.hpp`, `NetDbRequests.cpp`), and the few fixed protocol constants.

/// i2pd `NETDB_MIN_ROUTERS`: RouterInfos never expire while the netDb holds this few.
pub const MIN_ROUTERS: usize = 90;
/// i2pd `NETDB_MIN_FLOODFILLS`: below this many known floodfills we keep looking for more.
pub const MIN_FLOODFILLS: usize = 5;
/// Floodfills we flood a new entry to (docs/overview/network-database.md, "Flooding").
pub const FLOOD_REDUNDANCY: usize = 3;
/// Peers returned in a DatabaseSearchReply (spec/i2np.md: "typical number of hashes: 3").
pub const SEARCH_REPLY_PEERS: usize = 3;
/// How old a RouterInfo may be and still be flooded (spec: never one published over an hour
/// ago).
pub const MAX_FLOOD_AGE_MS: u64 = 60 * 60 * 1000;
/// i2pd re-requests a router named in a search reply when its RouterInfo is older than this.
pub const STALE_ROUTER_INFO_MS: u64 = 60 * 60 * 1000;
/// Expiration we put on the I2NP messages we send.
pub const MESSAGE_EXPIRATION_MS: u64 = 60 * 1000;
/// Most excluded peers a lookup may carry (spec/i2np.md).
pub const MAX_EXCLUDED: usize = 512;

/// RouterInfo expiry (i2pd `SaveUpdated`): see [`crate::NetDb`]'s docs for the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// no expiry while the netDb holds at most this many RouterInfos (i2pd: 90)
    pub min_routers: usize,
    /// no expiry during this much uptime (i2pd: 10 minutes)
    pub grace_uptime_ms: u64,
    /// the size-dependent timeout applies after this much uptime (i2pd: 1 hour); before it,
    /// and whenever `min_routers` is not exceeded, `max_age_ms` applies
    pub full_uptime_ms: u64,
    /// the longest a RouterInfo is kept (i2pd: 27 hours)
    pub max_age_ms: u64,
    /// the shortest, for large netDbs (i2pd: 90 minutes)
    pub min_age_ms: u64,
    /// what a floodfill keeps (i2pd: 1 hour)
    pub floodfill_age_ms: u64,
    /// RouterInfos reachable only through SSU2 introducers (i2pd: 65 minutes)
    pub introducer_age_ms: u64,
    /// RouterInfos loaded from disk older than this are dropped (i2pd: 180 days)
    pub max_offline_age_ms: u64,
    /// how often expiry runs (i2pd saves and expires every 60 s)
    pub interval_ms: u64,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        ExpiryConfig {
            min_routers: MIN_ROUTERS,
            grace_uptime_ms: 10 * 60 * 1000,
            full_uptime_ms: 60 * 60 * 1000,
            max_age_ms: 27 * 60 * 60 * 1000,
            min_age_ms: 90 * 60 * 1000,
            floodfill_age_ms: 60 * 60 * 1000,
            introducer_age_ms: 65 * 60 * 1000,
            max_offline_age_ms: 180 * 24 * 60 * 60 * 1000,
            interval_ms: 60 * 1000,
        }
    }
}

/// Iterative lookups (i2pd `NetDbRequests`: a new floodfill after 5 s without an answer, at
/// most 7 floodfills, given up after a minute).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupConfig {
    /// requests outstanding at once (the spec: "generally sent to the two closest")
    pub parallelism: usize,
    /// how long one floodfill gets to answer
    pub peer_timeout_ms: u64,
    /// floodfills asked before giving up
    pub max_peers: usize,
    /// overall limit
    pub timeout_ms: u64,
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            parallelism: 2,
            peer_timeout_ms: 5_000,
            max_peers: 7,
            timeout_ms: 60_000,
        }
    }
}

/// Exploration: i2pd explores every 30 s with `clamp(800 / known, 1, 9)` lookups (every 90 s
/// above 2500 routers). While the netDb is small and still growing we explore faster, starting
/// at `fast_interval_ms` and doubling up to `interval_ms` whenever a round learns nothing new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExploreConfig {
    pub enabled: bool,
    pub fast_interval_ms: u64,
    pub interval_ms: u64,
    pub large_interval_ms: u64,
    /// netDb size from which `large_interval_ms` applies (i2pd: 2500)
    pub large_netdb: usize,
    /// most exploratory lookups per round (i2pd: 9)
    pub max_per_round: usize,
}

impl Default for ExploreConfig {
    fn default() -> Self {
        ExploreConfig {
            enabled: true,
            fast_interval_ms: 5_000,
            interval_ms: 30_000,
            large_interval_ms: 90_000,
            large_netdb: 2_500,
            max_per_round: 9,
        }
    }
}

/// Publishing our RouterInfo (i2pd: every 40 minutes and when it changes; the next floodfill
/// after 5 s without a DeliveryStatus; at most 15 tried per round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishConfig {
    pub enabled: bool,
    pub interval_ms: u64,
    pub confirm_timeout_ms: u64,
    pub max_floodfills: usize,
    /// after a round failed everywhere, wait this long before the next
    pub retry_ms: u64,
    /// look our RouterInfo up at another floodfill after a confirmed store
    /// (docs/overview/network-database.md, "RouterInfo Storage Verification")
    pub verify: bool,
    pub verify_delay_ms: u64,
    /// verification rounds (each republishing elsewhere) per publish
    pub max_verify_rounds: u8,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            enabled: true,
            interval_ms: 40 * 60 * 1000,
            confirm_timeout_ms: 5_000,
            max_floodfills: 15,
            retry_ms: 60_000,
            verify: true,
            verify_delay_ms: 10_000,
            max_verify_rounds: 3,
        }
    }
}

/// Everything the netDb state machine is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// our network (`netId`); RouterInfos of other networks are refused
    pub net_id: u8,
    /// act as a floodfill: accept and flood stores, answer lookups with LeaseSets
    pub floodfill: bool,
    /// most RouterInfos kept
    pub max_routers: usize,
    /// most LeaseSets kept
    pub max_lease_sets: usize,
    pub expiry: ExpiryConfig,
    pub lookup: LookupConfig,
    pub explore: ExploreConfig,
    pub publish: PublishConfig,
}

impl Config {
    /// Defaults for network `net_id`.
    pub fn new(net_id: u8, floodfill: bool) -> Config {
        Config {
            net_id,
            floodfill,
            max_routers: 10_000,
            max_lease_sets: 10_000,
            expiry: ExpiryConfig::default(),
            lookup: LookupConfig::default(),
            explore: ExploreConfig::default(),
            publish: PublishConfig::default(),
        }
    }
}
