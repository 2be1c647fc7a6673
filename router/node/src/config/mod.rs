//! The router's configuration: one YAML file, read into [`Config`] and validated.
//!
//! This module owns the typed configuration, the value types with their accepted spellings,
//! loading from a file, and the diagnostics (`file:line: key.path: message`). The embedded
//! default file (`config/default.yaml`, printed by `i2p-router --print-default-config`) documents
//! every key; `defaults.rs` holds the same defaults as code and a test keeps the two equal.
//!
//! Reading happens in three steps, each of which can point at a file, line and key:
//! 1. the text is parsed into a position tree (`tree.rs`) and unknown keys are rejected with a
//!    "did you mean" suggestion;
//! 2. serde reads the raw layer (`validate.rs`), where every value keeps its position and each
//!    value type checks its own spelling and range;
//! 3. cross-key validation turns the raw layer into [`Config`] and collects warnings.
//!
//! Only keys that the code uses exist; later layers add their own sections. Environment-variable
//! overrides are planned as a second raw layer merged before step 3, which is why positions are
//! carried as an [`Origin`] rather than as bare line numbers.

mod defaults;
mod tree;
mod tunnels;
mod validate;

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Serialize, Serializer};
use thiserror::Error;

pub use defaults::{DEFAULT_CONFIG_YAML, KNOWN_KEYS};
pub use tunnels::{
    Access, ServerSide, TunnelConfig, TunnelKeys, TunnelKind, TunnelShape, check_tunnel_set,
    load_tunnel_dir, tunnels_from_yaml_bytes,
};

/// Prefix of the environment variables that override config keys:
/// `I2P_ROUTER__HTTP_PROXY__HOST=0.0.0.0` sets `http_proxy.host` (section and key upper-case,
/// joined by two underscores). See [`Config::from_yaml_bytes_with_env`].
pub const ENV_PREFIX: &str = "I2P_ROUTER__";

/// The validated router configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    pub network: NetworkConfig,
    pub router: RouterConfig,
    pub ntcp2: Ntcp2Config,
    pub netdb: NetDbConfig,
    pub exploratory: ExploratoryConfig,
    pub reseed: ReseedConfig,
    pub sam: SamConfig,
    pub http_proxy: HttpProxySection,
    pub socks_proxy: SocksProxySection,
    pub shared_client: SharedClientConfig,
    pub addressbook: AddressBookConfig,
    pub dns: DnsConfig,
    pub transparent: TransparentConfig,
    pub ops: OpsConfig,
    pub log: LogConfig,
    /// `tunnels:`: the tunnels written in the config file (those of `tunnels.d/` are read
    /// separately, see [`load_tunnel_dir`]).
    pub tunnels: Vec<TunnelConfig>,
}

/// `http_proxy:` section: the HTTP proxy for browsers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpProxySection {
    /// `http_proxy.enabled`.
    pub enabled: bool,
    /// `http_proxy.host`: the address to listen on.
    pub host: IpAddr,
    /// `http_proxy.port`.
    pub port: NonZeroU16,
    /// `http_proxy.outproxy`: an I2P destination running an HTTP proxy for clearnet URLs;
    /// `None` refuses clearnet URLs with an error page.
    pub outproxy: Option<String>,
    /// `http_proxy.jump_services`: `http://` URL prefixes offered on the unknown-host page.
    pub jump_services: JumpList,
}

/// `socks_proxy:` section: the SOCKS4a/5 proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SocksProxySection {
    /// `socks_proxy.enabled`.
    pub enabled: bool,
    /// `socks_proxy.host`: the address to listen on.
    pub host: IpAddr,
    /// `socks_proxy.port`.
    pub port: NonZeroU16,
    /// `socks_proxy.username` / `socks_proxy.password`: require RFC 1929 authentication.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `socks_proxy.outproxy`: an I2P destination running a SOCKS5 server for clearnet
    /// targets; `None` refuses them.
    pub outproxy: Option<String>,
}

/// `addressbook:` section: `.i2p` names (files under `<data-dir>/addressbook/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressBookConfig {
    /// `addressbook.subscriptions`: hosts.txt feeds (`http://` URLs on I2P) merged into the
    /// subscribed book; `None` uses the built-in feed on the public network and none on others.
    pub subscriptions: Option<HttpUrlList>,
    /// `addressbook.refresh_hours`: how often the feeds are fetched again.
    pub refresh_hours: u32,
}

/// `dns:` section: the DNS server for `.i2p` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsConfig {
    /// `dns.enabled`.
    pub enabled: bool,
    /// `dns.host`: the address to listen on (UDP and TCP).
    pub host: IpAddr,
    /// `dns.port`.
    pub port: NonZeroU16,
    /// `dns.v4_range`: virtual IPv4 addresses handed out for `.i2p` names.
    pub v4_range: V4Range,
    /// `dns.v6_range`: virtual IPv6 addresses.
    pub v6_range: V6Range,
}

/// `transparent:` section: a TCP listener for connections redirected to it by the firewall
/// (iptables `REDIRECT`), routed to the `.i2p` name behind their virtual destination address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransparentConfig {
    /// `transparent.enabled`.
    pub enabled: bool,
    /// `transparent.host`: the address to listen on.
    pub host: IpAddr,
    /// `transparent.port`.
    pub port: NonZeroU16,
}

/// `ops:` section: `/healthz`, `/readyz`, `/metrics` and the status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpsConfig {
    /// `ops.enabled`.
    pub enabled: bool,
    /// `ops.host`: the address to listen on.
    pub host: IpAddr,
    /// `ops.port`.
    pub port: NonZeroU16,
}

/// `shared_client:` section: the destination the HTTP and SOCKS proxies share (i2pd's
/// "shared clients").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharedClientConfig {
    pub inbound_length: u8,
    pub outbound_length: u8,
    pub inbound_quantity: u8,
    pub outbound_quantity: u8,
}

/// `network:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkConfig {
    /// `network.net_id`: the network this router belongs to (2 = the public I2P network).
    pub net_id: NetId,
}

/// `router:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouterConfig {
    /// `router.floodfill`: publish the `f` capability and serve the network database.
    pub floodfill: bool,
    /// `router.bandwidth`: a class letter, or a bandwidth limit in KB/s.
    pub bandwidth: Bandwidth,
    /// `router.shared_percent`: how much of a KB/s `bandwidth` is shared with other routers'
    /// tunnels (0-100). It scales a KB/s figure before its class is chosen; a class letter is
    /// published as written.
    pub shared_percent: u8,
    /// `router.distinct_subnets`: never put two routers of one IPv4 /16 into one of our
    /// tunnels.
    pub distinct_subnets: bool,
}

/// `exploratory:` section: the router's own tunnel pool (netDb traffic, tunnel tests, build
/// replies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExploratoryConfig {
    /// `exploratory.inbound_length`: hops of our inbound tunnels (0-7).
    pub inbound_length: u8,
    /// `exploratory.inbound_quantity`: inbound tunnels kept (1-16).
    pub inbound_quantity: u8,
    /// `exploratory.outbound_length`: hops of our outbound tunnels (0-7).
    pub outbound_length: u8,
    /// `exploratory.outbound_quantity`: outbound tunnels kept (1-16).
    pub outbound_quantity: u8,
    /// `exploratory.inbound_length_variance`: random change of each inbound tunnel's length
    /// (-3..3; positive adds 0..v hops, negative -v..v, as i2pd).
    pub inbound_length_variance: i8,
    /// `exploratory.outbound_length_variance`: the same for outbound tunnels.
    pub outbound_length_variance: i8,
}

/// `ntcp2:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ntcp2Config {
    /// `ntcp2.enabled`: use the NTCP2 transport.
    pub enabled: bool,
    /// `ntcp2.host`: the IP address published in our RouterInfo; `None` publishes no address
    /// (outbound connections only).
    pub host: Option<IpAddr>,
    /// `ntcp2.port`: the TCP port, published and listened on.
    pub port: PortSetting,
    /// `ntcp2.bind`: the local address to listen on; `None` means the same as `host`.
    pub bind: Option<IpAddr>,
}

impl Ntcp2Config {
    /// The address to listen on: `bind`, else `host`; `None` means no listener.
    pub fn listen_ip(&self) -> Option<IpAddr> {
        self.bind.or(self.host)
    }
}

/// `netdb:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetDbConfig {
    /// `netdb.max_routers`: most RouterInfos kept.
    pub max_routers: u32,
    /// `netdb.verify_publish`: look our RouterInfo up at a second floodfill after publishing
    /// it, and publish again elsewhere when it is missing.
    pub verify_publish: bool,
}

/// `reseed:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReseedConfig {
    /// `reseed.threshold`: reseed when the netDb holds fewer RouterInfos than this.
    pub threshold: u32,
    /// `reseed.file`: a local `.su3` or `.zip` reseed file, tried before any server.
    pub file: Option<PathBuf>,
    /// `reseed.urls`: reseed servers; `None` means the built-in list of the public network
    /// (none on other networks).
    pub urls: Option<UrlList>,
    /// `reseed.signers_dir`: extra trusted reseed signer certificates (`*.crt`).
    pub signers_dir: Option<PathBuf>,
    /// `reseed.ca_file`: a CA certificate (PEM) trusted for reseed servers besides the web roots.
    pub ca_file: Option<PathBuf>,
}

/// `sam:` section: the SAMv3 bridge (docs/api/samv3.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SamConfig {
    /// `sam.enabled`: listen for SAM clients.
    pub enabled: bool,
    /// `sam.host`: the address the TCP and UDP sockets listen on.
    pub host: IpAddr,
    /// `sam.port`: TCP port of the control sockets.
    pub port: NonZeroU16,
    /// `sam.udp_port`: UDP port for datagrams sent by clients.
    pub udp_port: NonZeroU16,
}

/// `log:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogConfig {
    pub level: LogLevel,
    pub format: LogFormat,
}

impl RouterConfig {
    /// The bandwidth class to publish in `caps`.
    pub fn bandwidth_class(&self) -> BandwidthClass {
        match self.bandwidth {
            Bandwidth::Class(class) => class,
            Bandwidth::KBps(kbps) => {
                let shared = u64::from(kbps) * u64::from(self.shared_percent) / 100;
                BandwidthClass::for_shared_kbps(shared)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// value types

/// How a value type reads itself from YAML (and, later, from environment variables): integers,
/// booleans and text are offered in turn; `None` means "not a valid spelling". `EXPECTED` is
/// the phrase after "expected" in the error message.
pub trait ConfigValue: Sized {
    const EXPECTED: &'static str;
    fn from_int(_value: i128) -> Option<Self> {
        None
    }
    fn from_bool(_value: bool) -> Option<Self> {
        None
    }
    fn from_text(text: &str) -> Option<Self>;
}

/// A network ID (`netId` in the RouterInfo), 1-255. 2 is the public network; see
/// docs/overview/network-database.md, "Valid NetID numbers".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NetId(u8);

impl NetId {
    /// The public I2P network.
    pub const MAIN: NetId = NetId(2);

    pub fn new(id: u8) -> Option<NetId> {
        (id != 0).then_some(NetId(id))
    }
    pub fn get(self) -> u8 {
        self.0
    }
    /// IDs the spec reserves (1, 3-15, 255): usable, but worth a warning.
    pub fn is_reserved(self) -> bool {
        matches!(self.0, 1 | 3..=15 | 255)
    }
}

impl ConfigValue for NetId {
    const EXPECTED: &'static str = "a network ID 1-255 (2 is the public I2P network)";
    fn from_int(v: i128) -> Option<Self> {
        u8::try_from(v).ok().and_then(NetId::new)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

impl Serialize for NetId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

/// A bandwidth class letter as published in the RouterInfo `caps` option; see
/// docs/overview/network-database.md, "caps". The ranges are of shared bandwidth in KB/s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BandwidthClass {
    /// under 12 KB/s
    K,
    /// 12-48 KB/s
    L,
    /// 48-64 KB/s
    M,
    /// 64-128 KB/s
    N,
    /// 128-256 KB/s
    O,
    /// 256-2000 KB/s
    P,
    /// over 2000 KB/s
    X,
}

impl BandwidthClass {
    pub const ALL: [BandwidthClass; 7] = [
        BandwidthClass::K,
        BandwidthClass::L,
        BandwidthClass::M,
        BandwidthClass::N,
        BandwidthClass::O,
        BandwidthClass::P,
        BandwidthClass::X,
    ];

    /// The class of a shared bandwidth in KB/s. Boundaries as i2pd draws them: a figure equal
    /// to a class's upper bound still belongs to that class (48 is L, 49 is M); the P/X
    /// boundary is 2000 (the spec lets implementations choose 2000 or 2048).
    pub fn for_shared_kbps(kbps: u64) -> BandwidthClass {
        match kbps {
            0..=12 => BandwidthClass::K,
            13..=48 => BandwidthClass::L,
            49..=64 => BandwidthClass::M,
            65..=128 => BandwidthClass::N,
            129..=256 => BandwidthClass::O,
            257..=2000 => BandwidthClass::P,
            _ => BandwidthClass::X,
        }
    }

    pub fn letter(self) -> char {
        match self {
            BandwidthClass::K => 'K',
            BandwidthClass::L => 'L',
            BandwidthClass::M => 'M',
            BandwidthClass::N => 'N',
            BandwidthClass::O => 'O',
            BandwidthClass::P => 'P',
            BandwidthClass::X => 'X',
        }
    }

    pub fn from_letter(c: char) -> Option<BandwidthClass> {
        Self::ALL.into_iter().find(|b| b.letter() == c)
    }
}

impl fmt::Display for BandwidthClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// `router.bandwidth`: either a class letter or a limit in KB/s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bandwidth {
    Class(BandwidthClass),
    /// KB/s (1 KB = 1024 bytes, as the caps table counts).
    KBps(u32),
}

impl ConfigValue for Bandwidth {
    const EXPECTED: &'static str =
        "a bandwidth class letter K, L, M, N, O, P or X, or a limit in KB/s (1-4000000000)";
    fn from_int(v: i128) -> Option<Self> {
        u32::try_from(v)
            .ok()
            .filter(|k| *k > 0)
            .map(Bandwidth::KBps)
    }
    fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && let Some(class) = BandwidthClass::from_letter(c)
        {
            return Some(Bandwidth::Class(class));
        }
        text.parse::<i128>().ok().and_then(Self::from_int)
    }
}

impl Serialize for Bandwidth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Bandwidth::Class(c) => s.collect_str(c),
            Bandwidth::KBps(k) => s.serialize_u32(*k),
        }
    }
}

/// `ntcp2.port`: `auto` picks a random port on first start and remembers it in the data dir
/// (see `keyfile::DataDir::ntcp2_port`), as i2pd and Java I2P do; or a fixed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSetting {
    Auto,
    Fixed(NonZeroU16),
}

impl ConfigValue for NonZeroU16 {
    const EXPECTED: &'static str = "a port number 1-65535";
    fn from_int(v: i128) -> Option<Self> {
        u16::try_from(v).ok().and_then(NonZeroU16::new)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

impl ConfigValue for PortSetting {
    const EXPECTED: &'static str = "a port number 1-65535 or \"auto\"";
    fn from_int(v: i128) -> Option<Self> {
        u16::try_from(v)
            .ok()
            .and_then(NonZeroU16::new)
            .map(PortSetting::Fixed)
    }
    fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        if text == "auto" {
            return Some(PortSetting::Auto);
        }
        text.parse::<i128>().ok().and_then(Self::from_int)
    }
}

impl Serialize for PortSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PortSetting::Auto => s.serialize_str("auto"),
            PortSetting::Fixed(p) => s.serialize_u16(p.get()),
        }
    }
}

/// `log.level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl ConfigValue for LogLevel {
    const EXPECTED: &'static str = "one of error, warn, info, debug, trace";
    fn from_text(text: &str) -> Option<Self> {
        [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ]
        .into_iter()
        .find(|l| l.as_str() == text.trim())
    }
}

/// `log.format` (and `--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// human-readable lines
    Text,
    /// one JSON object per line
    Json,
}

impl ConfigValue for LogFormat {
    const EXPECTED: &'static str = "one of text, json";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

impl ConfigValue for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
    fn from_text(text: &str) -> Option<Self> {
        match text.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

impl ConfigValue for IpAddr {
    const EXPECTED: &'static str = "an IPv4 or IPv6 address (no host names)";
    fn from_text(text: &str) -> Option<Self> {
        IpAddr::from_str(text.trim()).ok()
    }
}

impl ConfigValue for PathBuf {
    const EXPECTED: &'static str = "a file or directory path";
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        (!t.is_empty()).then(|| PathBuf::from(t))
    }
}

/// A count (0 to 4294967295).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub u32);

impl ConfigValue for Count {
    const EXPECTED: &'static str = "a whole number 0-4294967295";
    fn from_int(v: i128) -> Option<Self> {
        u32::try_from(v).ok().map(Count)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

/// A comma-separated list of `https://` URLs (as i2pd writes `reseed.urls`); an empty string
/// is the empty list.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UrlList(pub Vec<String>);

impl ConfigValue for UrlList {
    const EXPECTED: &'static str = "https:// URLs separated by commas";
    fn from_text(text: &str) -> Option<Self> {
        let urls: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect();
        let ok = urls.iter().all(|u| {
            u.strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        });
        ok.then_some(UrlList(urls))
    }
}

impl Serialize for UrlList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.join(","))
    }
}

/// A comma-separated list of `http://` URL prefixes (jump services); the text before the
/// first `/` after `http://` names the service.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JumpList(pub Vec<String>);

impl ConfigValue for JumpList {
    const EXPECTED: &'static str = "http:// URL prefixes separated by commas";
    fn from_text(text: &str) -> Option<Self> {
        let urls: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect();
        let ok = urls.iter().all(|u| {
            u.strip_prefix("http://").is_some_and(|rest| {
                !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
            })
        });
        ok.then_some(JumpList(urls))
    }
}

impl Serialize for JumpList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.join(","))
    }
}

/// `http://` URLs separated by commas (address book feeds).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HttpUrlList(pub Vec<String>);

impl ConfigValue for HttpUrlList {
    const EXPECTED: &'static str = "http:// URLs separated by commas";
    fn from_text(text: &str) -> Option<Self> {
        JumpList::from_text(text).map(|j| HttpUrlList(j.0))
    }
}

impl Serialize for HttpUrlList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.join(","))
    }
}

/// An IPv4 range `a.b.c.d/n` (n 8-30).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V4Range(pub std::net::Ipv4Addr, pub u8);

impl ConfigValue for V4Range {
    const EXPECTED: &'static str = "an IPv4 range a.b.c.d/n with n from 8 to 30";
    fn from_text(text: &str) -> Option<Self> {
        let (a, n) = text.trim().split_once('/')?;
        let n: u8 = n.parse().ok().filter(|n| (8..=30).contains(n))?;
        Some(V4Range(a.parse().ok()?, n))
    }
}

impl Serialize for V4Range {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/{}", self.0, self.1))
    }
}

/// An IPv6 range `x::/n` (n 8-126).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V6Range(pub std::net::Ipv6Addr, pub u8);

impl ConfigValue for V6Range {
    const EXPECTED: &'static str = "an IPv6 range x::/n with n from 8 to 126";
    fn from_text(text: &str) -> Option<Self> {
        let (a, n) = text.trim().split_once('/')?;
        let n: u8 = n.parse().ok().filter(|n| (8..=126).contains(n))?;
        Some(V6Range(a.parse().ok()?, n))
    }
}

impl Serialize for V6Range {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/{}", self.0, self.1))
    }
}

/// An I2P destination given by name: `name.i2p`, `xxx.b32.i2p` or base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationName(pub String);

impl ConfigValue for DestinationName {
    const EXPECTED: &'static str = "a .i2p name, a .b32.i2p address or a base64 destination";
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        tunnels::valid_destination_text(t).then(|| DestinationName(t.to_string()))
    }
}

/// Hops in a tunnel, 0-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopCount(pub u8);

impl ConfigValue for HopCount {
    const EXPECTED: &'static str = "a number of hops 0-7";
    fn from_int(v: i128) -> Option<Self> {
        u8::try_from(v).ok().filter(|n| *n <= 7).map(HopCount)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

/// A tunnel length variance, -3..3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthVariance(pub i8);

impl ConfigValue for LengthVariance {
    const EXPECTED: &'static str = "a length variance -3..3";
    fn from_int(v: i128) -> Option<Self> {
        i8::try_from(v)
            .ok()
            .filter(|n| (-3..=3).contains(n))
            .map(LengthVariance)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

/// A number of tunnels to keep, 1-16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelQuantity(pub u8);

impl ConfigValue for TunnelQuantity {
    const EXPECTED: &'static str = "a number of tunnels 1-16";
    fn from_int(v: i128) -> Option<Self> {
        u8::try_from(v)
            .ok()
            .filter(|n| (1..=16).contains(n))
            .map(TunnelQuantity)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

/// A percentage 0-100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percent(pub u8);

impl ConfigValue for Percent {
    const EXPECTED: &'static str = "a percentage 0-100";
    fn from_int(v: i128) -> Option<Self> {
        u8::try_from(v).ok().filter(|p| *p <= 100).map(Percent)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

// ---------------------------------------------------------------------------------------------
// diagnostics

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A config file; `line` is 1-based, `None` when the problem is not on one line.
    File { path: PathBuf, line: Option<usize> },
    /// The built-in default (no file given, or the key absent from it).
    Default,
    /// An environment variable laid over the file (`I2P_ROUTER__SECTION__KEY`).
    Env { var: String },
}

/// One problem (error or warning) in the configuration, displayed as
/// `config.yaml:12: ntcp2.port: invalid value "abc", expected ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: Origin,
    /// Dotted key path, when the problem belongs to a key.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}: ", path.display())?,
            Origin::File { path, line: None } => write!(f, "{}: ", path.display())?,
            Origin::Default => f.write_str("built-in default: ")?,
            Origin::Env { var } => write!(f, "environment variable {var}: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostic),
}

impl ConfigError {
    /// The diagnostic, when the file was read but its content is wrong.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ConfigError::Invalid(d) => Some(d),
            ConfigError::Read { .. } => None,
        }
    }
}

/// A loaded configuration and the warnings found while validating it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Config files larger than this are refused (a config is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

impl Config {
    /// Read and validate the YAML file at `path`.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let bytes = Self::read_file(path)?;
        Self::from_yaml_bytes(&bytes, path)
    }

    fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
        let read_err = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Invalid(Diagnostic {
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line: None,
                },
                key: None,
                message: format!(
                    "file is {} bytes, more than the {MAX_CONFIG_BYTES} a config may have",
                    meta.len()
                ),
            }));
        }
        std::fs::read(path).map_err(read_err)
    }

    /// Validate YAML text; `path` is only used in diagnostics. This is the fuzzable entry point.
    pub fn from_yaml_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, ConfigError> {
        validate::from_yaml_bytes(bytes, path)
    }

    /// Validate YAML text with environment overrides laid over it: every
    /// `I2P_ROUTER__SECTION__KEY=value` in `env` replaces `section.key` (the value spelled as
    /// in the file, lists comma-separated). Variables without the prefix are ignored; a
    /// prefixed one that names no setting, or `tunnels`, is an error naming the variable.
    /// `bytes` may be empty (no file: the defaults).
    pub fn from_yaml_bytes_with_env(
        bytes: &[u8],
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Loaded, ConfigError> {
        validate::from_yaml_bytes_with_env(bytes, path, env)
    }

    /// [`Config::load`] with [`Config::from_yaml_bytes_with_env`]'s overrides.
    pub fn load_with_env(path: &Path, env: &[(String, String)]) -> Result<Loaded, ConfigError> {
        let bytes = Self::read_file(path)?;
        Self::from_yaml_bytes_with_env(&bytes, path, env)
    }

    /// The defaults, with no warnings.
    pub fn defaults() -> Loaded {
        Loaded {
            config: Config::default(),
            warnings: Vec::new(),
        }
    }
}
