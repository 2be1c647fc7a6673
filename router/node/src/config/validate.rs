//! From YAML text to a validated [`Config`]: the position-keeping raw layer read by serde, and
//! the checks that involve more than one key or the meaning of a value.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::tree::{self, Node};
use super::{
    Bandwidth, BandwidthClass, Config, ConfigError, ConfigValue, Count, DestinationName,
    Diagnostic, HopCount, JumpList, KNOWN_KEYS, LengthVariance, Loaded, LogFormat, LogLevel, NetId,
    Origin, Percent, PortSetting, TunnelQuantity, UrlList,
};

/// A value read through its [`ConfigValue`] spellings, with uniform error messages.
#[derive(Debug)]
pub(crate) struct V<T>(pub T);

impl<'de, T: ConfigValue> Deserialize<'de> for V<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}

struct ValueVisitor<T>(PhantomData<T>);

fn invalid<T: ConfigValue, E: de::Error>(shown: impl fmt::Display) -> E {
    E::custom(format_args!(
        "invalid value {shown}, expected {}",
        T::EXPECTED
    ))
}

impl<'de, T: ConfigValue> Visitor<'de> for ValueVisitor<T> {
    type Value = V<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V<T>, E> {
        T::from_bool(v).map(V).ok_or_else(|| invalid::<T, E>(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V<T>, E> {
        T::from_int(v.into())
            .map(V)
            .ok_or_else(|| invalid::<T, E>(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V<T>, E> {
        T::from_int(v.into())
            .map(V)
            .ok_or_else(|| invalid::<T, E>(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V<T>, E> {
        T::from_int(v).map(V).ok_or_else(|| invalid::<T, E>(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V<T>, E> {
        i128::try_from(v)
            .ok()
            .and_then(T::from_int)
            .map(V)
            .ok_or_else(|| invalid::<T, E>(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V<T>, E> {
        Err(invalid::<T, E>(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<V<T>, E> {
        T::from_text(v)
            .map(V)
            .ok_or_else(|| invalid::<T, E>(format_args!("{v:?}")))
    }
}

pub(crate) type Field<T> = Option<Spanned<V<T>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    network: Option<RawNetwork>,
    router: Option<RawRouter>,
    ntcp2: Option<RawNtcp2>,
    netdb: Option<RawNetDb>,
    exploratory: Option<RawExploratory>,
    reseed: Option<RawReseed>,
    sam: Option<RawSam>,
    http_proxy: Option<RawHttpProxy>,
    socks_proxy: Option<RawSocksProxy>,
    shared_client: Option<RawSharedClient>,
    addressbook: Option<RawAddressBook>,
    dns: Option<RawDns>,
    transparent: Option<RawTransparent>,
    ops: Option<RawTransparent>,
    log: Option<RawLog>,
    tunnels: Option<Vec<Spanned<super::tunnels::RawTunnel>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpProxy {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<std::num::NonZeroU16>,
    outproxy: Field<DestinationName>,
    jump_services: Field<JumpList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSocksProxy {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<std::num::NonZeroU16>,
    username: Field<super::tunnels::Text>,
    password: Field<super::tunnels::Text>,
    outproxy: Field<DestinationName>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddressBook {
    subscriptions: Field<super::HttpUrlList>,
    refresh_hours: Field<Count>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<std::num::NonZeroU16>,
    v4_range: Field<super::V4Range>,
    v6_range: Field<super::V6Range>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransparent {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<std::num::NonZeroU16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSharedClient {
    inbound_length: Field<HopCount>,
    outbound_length: Field<HopCount>,
    inbound_quantity: Field<TunnelQuantity>,
    outbound_quantity: Field<TunnelQuantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSam {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<std::num::NonZeroU16>,
    udp_port: Field<std::num::NonZeroU16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetDb {
    max_routers: Field<Count>,
    verify_publish: Field<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExploratory {
    inbound_length: Field<HopCount>,
    inbound_quantity: Field<TunnelQuantity>,
    outbound_length: Field<HopCount>,
    outbound_quantity: Field<TunnelQuantity>,
    inbound_length_variance: Field<LengthVariance>,
    outbound_length_variance: Field<LengthVariance>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReseed {
    threshold: Field<Count>,
    file: Field<std::path::PathBuf>,
    urls: Field<UrlList>,
    signers_dir: Field<std::path::PathBuf>,
    ca_file: Field<std::path::PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    net_id: Field<NetId>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouter {
    floodfill: Field<bool>,
    bandwidth: Field<Bandwidth>,
    shared_percent: Field<Percent>,
    distinct_subnets: Field<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNtcp2 {
    enabled: Field<bool>,
    host: Field<IpAddr>,
    port: Field<PortSetting>,
    bind: Field<IpAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Field<LogLevel>,
    format: Field<LogFormat>,
}

/// Laying one raw configuration over another: keys set in `over` replace those of `self`
/// (the environment over the file).
trait Merge {
    fn merge(&mut self, over: Self);
}

macro_rules! merge_keys {
    ($($t:ty { $($f:ident),* $(,)? })*) => {$(
        impl Merge for $t {
            fn merge(&mut self, over: Self) {
                $(if over.$f.is_some() {
                    self.$f = over.$f;
                })*
            }
        }
    )*};
}

merge_keys! {
    RawHttpProxy { enabled, host, port, outproxy, jump_services }
    RawSocksProxy { enabled, host, port, username, password, outproxy }
    RawAddressBook { subscriptions, refresh_hours }
    RawDns { enabled, host, port, v4_range, v6_range }
    RawTransparent { enabled, host, port }
    RawSharedClient { inbound_length, outbound_length, inbound_quantity, outbound_quantity }
    RawSam { enabled, host, port, udp_port }
    RawNetDb { max_routers, verify_publish }
    RawExploratory {
        inbound_length, inbound_quantity, outbound_length, outbound_quantity,
        inbound_length_variance, outbound_length_variance,
    }
    RawReseed { threshold, file, urls, signers_dir, ca_file }
    RawNetwork { net_id }
    RawRouter { floodfill, bandwidth, shared_percent, distinct_subnets }
    RawNtcp2 { enabled, host, port, bind }
    RawLog { level, format }
}

fn merge_section<T: Merge>(base: &mut Option<T>, over: Option<T>) {
    match (base.as_mut(), over) {
        (Some(b), Some(o)) => b.merge(o),
        (None, Some(o)) => *base = Some(o),
        (_, None) => {}
    }
}

impl Merge for RawConfig {
    fn merge(&mut self, over: Self) {
        merge_section(&mut self.network, over.network);
        merge_section(&mut self.router, over.router);
        merge_section(&mut self.ntcp2, over.ntcp2);
        merge_section(&mut self.netdb, over.netdb);
        merge_section(&mut self.exploratory, over.exploratory);
        merge_section(&mut self.reseed, over.reseed);
        merge_section(&mut self.sam, over.sam);
        merge_section(&mut self.http_proxy, over.http_proxy);
        merge_section(&mut self.socks_proxy, over.socks_proxy);
        merge_section(&mut self.shared_client, over.shared_client);
        merge_section(&mut self.addressbook, over.addressbook);
        merge_section(&mut self.dns, over.dns);
        merge_section(&mut self.transparent, over.transparent);
        merge_section(&mut self.ops, over.ops);
        merge_section(&mut self.log, over.log);
        // `tunnels` is never set from the environment (refused in `env_overlay`)
        if over.tunnels.is_some() {
            self.tunnels = over.tunnels;
        }
    }
}

/// Nesting limit for config files: they have two levels, and deep nesting costs stack in
/// the recursive readers (the YAML crate's default is 64).
const MAX_YAML_DEPTH: usize = 16;

pub(crate) fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    serde_saphyr::options! {
        // only true/false; `yes`, `no`, `on`, `off` are errors rather than surprises
        strict_booleans: true,
        with_snippet: false,
        budget: Some(budget),
    }
}

/// Builds diagnostics for one file, and for the environment variables laid over it.
pub(crate) struct Reporter<'a> {
    pub(crate) path: &'a Path,
    /// Every setting an environment variable overrides: a problem with such a key, or at
    /// its line of the overlay document, names the variable, not the file.
    pub(crate) env: &'a [EnvKey],
}

/// One `I2P_ROUTER__SECTION__KEY` variable laid over the file.
pub(crate) struct EnvKey {
    /// `section.key`
    key: String,
    var: String,
    /// Its line in the overlay document, which starts below the file's last line so that the
    /// lines of the two never meet.
    line: usize,
}

impl<'a> Reporter<'a> {
    pub(crate) fn file(path: &'a Path) -> Self {
        Reporter { path, env: &[] }
    }

    /// Whether an environment variable sets `key`.
    pub(crate) fn is_env(&self, key: &str) -> bool {
        self.env.iter().any(|e| e.key == key)
    }

    pub(crate) fn at(
        &self,
        line: Option<usize>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let var = self
            .env
            .iter()
            .find(|e| key.is_some_and(|k| k == e.key) || (line.is_some_and(|l| l == e.line)));
        let origin = match var {
            Some(e) => Origin::Env { var: e.var.clone() },
            None => Origin::File {
                path: self.path.to_path_buf(),
                line: line.filter(|l| *l > 0),
            },
        };
        Diagnostic {
            origin,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }
    pub(crate) fn yaml_error(
        &self,
        err: &serde_saphyr::Error,
        keys: &[(String, (usize, usize))],
    ) -> Diagnostic {
        let err = err.without_snippet();
        let message = UserMessageFormatter.format_message(err).into_owned();
        let pos = err
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .filter(|(line, _)| *line > 0);
        let key = pos
            .and_then(|p| tree::path_at(keys, p))
            .map(|p| known_prefix(&p));
        self.at(pos.map(|p| p.0), key.as_deref(), message)
    }
}

pub(super) fn from_yaml_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, ConfigError> {
    from_yaml_bytes_with_env(bytes, path, &[])
}

/// The file's YAML with `env` (variable name, value) laid over it; see [`super::ENV_PREFIX`].
pub(super) fn from_yaml_bytes_with_env(
    bytes: &[u8],
    path: &Path,
    env: &[(String, String)],
) -> Result<Loaded, ConfigError> {
    let file = Reporter::file(path);
    let mut raw = raw_from_yaml_bytes(bytes, &file)?;
    let file_lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    let (overlay_text, keys) = env_overlay(env, file_lines)?;
    if !keys.is_empty() {
        let rep = Reporter { path, env: &keys };
        let overlay = serde_saphyr::from_str_with_options::<RawConfig>(&overlay_text, options())
            .map_err(|e| {
                let positions =
                    serde_saphyr::from_str_with_options::<Spanned<Node>>(&overlay_text, options())
                        .map(|root| tree::key_positions(&root.value))
                        .unwrap_or_default();
                ConfigError::Invalid(rep.yaml_error(&e, &positions))
            })?;
        raw.merge(overlay);
        return validate(raw, &rep).map_err(ConfigError::Invalid);
    }
    validate(raw, &file).map_err(ConfigError::Invalid)
}

/// Turns `I2P_ROUTER__SECTION__KEY=value` variables into a YAML document of the same shape as
/// a config file (every value a double-quoted string, read through the key's text spelling),
/// its first line after `skip_lines` blank ones, and the keys it sets.
fn env_overlay(
    env: &[(String, String)],
    skip_lines: usize,
) -> Result<(String, Vec<EnvKey>), ConfigError> {
    let env_err = |var: &str, key: Option<String>, message: String| {
        ConfigError::Invalid(Diagnostic {
            origin: Origin::Env {
                var: var.to_string(),
            },
            key,
            message,
        })
    };
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut keys: Vec<EnvKey> = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(super::ENV_PREFIX) else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let Some((section, key)) = lower
            .split_once("__")
            .filter(|(s, k)| !s.is_empty() && !k.is_empty() && !k.contains("__"))
        else {
            return Err(env_err(
                var,
                None,
                format!(
                    "expected {}SECTION__KEY, e.g. {}NTCP2__PORT",
                    super::ENV_PREFIX,
                    super::ENV_PREFIX
                ),
            ));
        };
        let dotted = format!("{section}.{key}");
        if section == "tunnels" {
            return Err(env_err(
                var,
                Some("tunnels".into()),
                "tunnels cannot be set from the environment; put them in the config file or \
                 in DATA_DIR/tunnels.d/"
                    .into(),
            ));
        }
        if !KNOWN_KEYS.contains(&dotted.as_str()) {
            let hint = tree::suggest(&dotted, KNOWN_KEYS)
                .map(|s| {
                    let name = s.replace('.', "__").to_ascii_uppercase();
                    format!("; did you mean {}{name}?", super::ENV_PREFIX)
                })
                .unwrap_or_default();
            return Err(env_err(var, Some(dotted), format!("unknown setting{hint}")));
        }
        if value.trim().is_empty() {
            return Err(env_err(
                var,
                Some(dotted),
                "empty value (unset the variable to keep the file's setting)".into(),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(env_err(
                var,
                Some(dotted),
                "the value contains a control character".into(),
            ));
        }
        if let Some(other) = keys.iter().find(|k| k.key == dotted) {
            return Err(env_err(
                var,
                Some(dotted),
                format!("also set by {}", other.var),
            ));
        }
        keys.push(EnvKey {
            key: dotted,
            var: var.clone(),
            line: 0, // set below, once the sections are grouped
        });
        let quoted = format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
        match sections.iter_mut().find(|(s, _)| *s == section) {
            Some((_, entries)) => entries.push((key.to_string(), quoted)),
            None => sections.push((section.to_string(), vec![(key.to_string(), quoted)])),
        }
    }
    let mut text = "\n".repeat(skip_lines);
    let mut line = skip_lines;
    for (section, entries) in &sections {
        text.push_str(section);
        text.push_str(":\n");
        line += 1;
        for (key, value) in entries {
            text.push_str(&format!("  {key}: {value}\n"));
            line += 1;
            let dotted = format!("{section}.{key}");
            if let Some(k) = keys.iter_mut().find(|k| k.key == dotted) {
                k.line = line;
            }
        }
    }
    Ok((text, keys))
}

/// Syntax, key names and typed values of one file.
fn raw_from_yaml_bytes(bytes: &[u8], rep: &Reporter<'_>) -> Result<RawConfig, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        // count lines up to the bad byte so the user can find it
        let line = bytes
            .get(..e.valid_up_to())
            .map_or(1, |b| b.iter().filter(|c| **c == b'\n').count() + 1);
        ConfigError::Invalid(rep.at(Some(line), None, "file is not valid UTF-8"))
    })?;

    // 1. syntax and key names, on the position tree
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| ConfigError::Invalid(rep.yaml_error(&e, &[])))?;
    let keys = tree::key_positions(&root.value);
    check_shape(&root, rep)?;

    // 2. typed values (3., their meaning, is `validate`)
    if matches!(root.value, Node::Null) {
        return Ok(RawConfig::default()); // an empty file, or one with only comments
    }
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| ConfigError::Invalid(rep.yaml_error(&e, &keys)))
}

/// The longest prefix of `path` that is a known key or section: a value error inside a
/// mapping or list given for a scalar key belongs to that key.
fn known_prefix(path: &str) -> String {
    let mut p = path;
    loop {
        let known = KNOWN_KEYS
            .iter()
            .any(|k| *k == p || k.split('.').next() == Some(p));
        match p.rsplit_once('.') {
            Some((parent, _)) if !known => p = parent,
            _ => return p.to_string(),
        }
    }
}

/// The document must be a mapping of known sections, each a mapping of known keys.
fn check_shape(root: &Spanned<Node>, rep: &Reporter<'_>) -> Result<(), ConfigError> {
    let line = |s: &Spanned<Node>| Some(s.referenced.line() as usize);
    let sections = match &root.value {
        Node::Null => return Ok(()),
        Node::Map(entries) => entries,
        _ => {
            return Err(ConfigError::Invalid(rep.at(
                line(root),
                None,
                "the config must be a mapping of sections (network:, router:, ntcp2:, log:)",
            )));
        }
    };
    let unknown = |key: &Spanned<String>, path: &str| {
        let hint = tree::suggest(path, KNOWN_KEYS)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        ConfigError::Invalid(rep.at(
            Some(key.referenced.line() as usize),
            Some(path),
            format!("unknown key{hint}"),
        ))
    };
    for (name, body) in sections {
        let section = name.value.as_str();
        if !KNOWN_KEYS
            .iter()
            .any(|k| k.split('.').next() == Some(section))
        {
            return Err(unknown(name, section));
        }
        if section == "tunnels" {
            if matches!(body.value, Node::Map(_) | Node::Scalar) {
                return Err(ConfigError::Invalid(rep.at(
                    Some(name.referenced.line() as usize),
                    Some(section),
                    "expected a list of tunnels (`- name: ...` entries)",
                )));
            }
            continue;
        }
        match &body.value {
            Node::Null => {}
            Node::Map(entries) => {
                for (key, _) in entries {
                    let path = tree::join(section, &key.value);
                    if !KNOWN_KEYS.contains(&path.as_str()) {
                        return Err(unknown(key, &path));
                    }
                }
            }
            _ => {
                return Err(ConfigError::Invalid(rep.at(
                    Some(name.referenced.line() as usize),
                    Some(section),
                    "expected a mapping of keys (a section), not a single value or a list",
                )));
            }
        }
    }
    Ok(())
}

/// A resolved value and the line it came from (`None` = default).
struct Got<T> {
    value: T,
    line: Option<usize>,
}

fn get<T: Clone>(field: Option<Spanned<V<T>>>, default: T) -> Got<T> {
    match field {
        Some(s) => Got {
            line: Some(s.referenced.line() as usize),
            value: s.value.0,
        },
        None => Got {
            value: default,
            line: None,
        },
    }
}

fn validate(raw: RawConfig, rep: &Reporter<'_>) -> Result<Loaded, Diagnostic> {
    let d = Config::default();
    let network = raw.network.unwrap_or_default();
    let router = raw.router.unwrap_or_default();
    let ntcp2 = raw.ntcp2.unwrap_or_default();
    let log = raw.log.unwrap_or_default();
    let netdb = raw.netdb.unwrap_or_default();
    let reseed = raw.reseed.unwrap_or_default();
    let expl = raw.exploratory.unwrap_or_default();
    let sam = raw.sam.unwrap_or_default();
    let hp = raw.http_proxy.unwrap_or_default();
    let sp = raw.socks_proxy.unwrap_or_default();
    let sc = raw.shared_client.unwrap_or_default();
    let ab = raw.addressbook.unwrap_or_default();
    let dns = raw.dns.unwrap_or_default();
    let tp = raw.transparent.unwrap_or_default();
    let ops = raw.ops.unwrap_or_default();
    let tunnels =
        super::tunnels::validate_tunnels(raw.tunnels.unwrap_or_default(), "tunnels", rep)?;
    let de = &d.exploratory;
    let dest_name = |f: Field<DestinationName>| f.map(|s| s.value.0.0);
    let text =
        |f: Field<super::tunnels::Text>| f.map(|s| (s.referenced.line() as usize, s.value.0.0));
    let opt = |f: Option<Spanned<V<std::path::PathBuf>>>| f.map(|s| s.value.0);

    let net_id = get(network.net_id, d.network.net_id);
    let floodfill = get(router.floodfill, d.router.floodfill);
    let bandwidth = get(router.bandwidth, d.router.bandwidth);
    let shared = get(router.shared_percent, Percent(d.router.shared_percent));
    let enabled = get(ntcp2.enabled, d.ntcp2.enabled);
    let host = ntcp2.host.map(|s| Got {
        line: Some(s.referenced.line() as usize),
        value: s.value.0,
    });
    let port = get(ntcp2.port, d.ntcp2.port);
    let bind = ntcp2.bind.map(|s| Got {
        line: Some(s.referenced.line() as usize),
        value: s.value.0,
    });
    let level = get(log.level, d.log.level);
    let format = get(log.format, d.log.format);

    let config = Config {
        network: super::NetworkConfig {
            net_id: net_id.value,
        },
        router: super::RouterConfig {
            floodfill: floodfill.value,
            bandwidth: bandwidth.value,
            shared_percent: shared.value.0,
            distinct_subnets: get(router.distinct_subnets, d.router.distinct_subnets).value,
        },
        ntcp2: super::Ntcp2Config {
            enabled: enabled.value,
            host: host.as_ref().map(|h| h.value),
            port: port.value,
            bind: bind.as_ref().map(|b| b.value),
        },
        netdb: super::NetDbConfig {
            max_routers: get(netdb.max_routers, Count(d.netdb.max_routers)).value.0,
            verify_publish: get(netdb.verify_publish, d.netdb.verify_publish).value,
        },
        exploratory: super::ExploratoryConfig {
            inbound_length: get(expl.inbound_length, HopCount(de.inbound_length))
                .value
                .0,
            inbound_quantity: get(expl.inbound_quantity, TunnelQuantity(de.inbound_quantity))
                .value
                .0,
            outbound_length: get(expl.outbound_length, HopCount(de.outbound_length))
                .value
                .0,
            outbound_quantity: get(expl.outbound_quantity, TunnelQuantity(de.outbound_quantity))
                .value
                .0,
            inbound_length_variance: get(
                expl.inbound_length_variance,
                LengthVariance(de.inbound_length_variance),
            )
            .value
            .0,
            outbound_length_variance: get(
                expl.outbound_length_variance,
                LengthVariance(de.outbound_length_variance),
            )
            .value
            .0,
        },
        reseed: super::ReseedConfig {
            threshold: get(reseed.threshold, Count(d.reseed.threshold)).value.0,
            file: opt(reseed.file),
            urls: reseed.urls.map(|s| s.value.0),
            signers_dir: opt(reseed.signers_dir),
            ca_file: opt(reseed.ca_file),
        },
        sam: super::SamConfig {
            enabled: get(sam.enabled, d.sam.enabled).value,
            host: get(sam.host, d.sam.host).value,
            port: get(sam.port, d.sam.port).value,
            udp_port: get(sam.udp_port, d.sam.udp_port).value,
        },
        http_proxy: super::HttpProxySection {
            enabled: get(hp.enabled, d.http_proxy.enabled).value,
            host: get(hp.host, d.http_proxy.host).value,
            port: get(hp.port, d.http_proxy.port).value,
            outproxy: dest_name(hp.outproxy),
            jump_services: get(hp.jump_services, d.http_proxy.jump_services.clone()).value,
        },
        socks_proxy: super::SocksProxySection {
            enabled: get(sp.enabled, d.socks_proxy.enabled).value,
            host: get(sp.host, d.socks_proxy.host).value,
            port: get(sp.port, d.socks_proxy.port).value,
            username: None,
            password: None,
            outproxy: dest_name(sp.outproxy),
        },
        shared_client: super::SharedClientConfig {
            inbound_length: get(sc.inbound_length, HopCount(d.shared_client.inbound_length))
                .value
                .0,
            outbound_length: get(
                sc.outbound_length,
                HopCount(d.shared_client.outbound_length),
            )
            .value
            .0,
            inbound_quantity: get(
                sc.inbound_quantity,
                TunnelQuantity(d.shared_client.inbound_quantity),
            )
            .value
            .0,
            outbound_quantity: get(
                sc.outbound_quantity,
                TunnelQuantity(d.shared_client.outbound_quantity),
            )
            .value
            .0,
        },
        addressbook: super::AddressBookConfig {
            subscriptions: ab.subscriptions.map(|s| s.value.0),
            refresh_hours: get(ab.refresh_hours, Count(d.addressbook.refresh_hours))
                .value
                .0
                .max(1),
        },
        dns: super::DnsConfig {
            enabled: get(dns.enabled, d.dns.enabled).value,
            host: get(dns.host, d.dns.host).value,
            port: get(dns.port, d.dns.port).value,
            v4_range: get(dns.v4_range, d.dns.v4_range).value,
            v6_range: get(dns.v6_range, d.dns.v6_range).value,
        },
        transparent: super::TransparentConfig {
            enabled: get(tp.enabled, d.transparent.enabled).value,
            host: get(tp.host, d.transparent.host).value,
            port: get(tp.port, d.transparent.port).value,
        },
        ops: super::OpsConfig {
            enabled: get(ops.enabled, d.ops.enabled).value,
            host: get(ops.host, d.ops.host).value,
            port: get(ops.port, d.ops.port).value,
        },
        log: super::LogConfig {
            level: level.value,
            format: format.value,
        },
        tunnels,
    };
    let mut config = config;
    match (text(sp.username), text(sp.password)) {
        (Some((_, u)), Some((_, p))) => {
            config.socks_proxy.username = Some(u);
            config.socks_proxy.password = Some(p);
        }
        (Some((l, _)), None) | (None, Some((l, _))) => {
            return Err(rep.at(
                Some(l),
                Some("socks_proxy.username"),
                "give both socks_proxy.username and socks_proxy.password, or neither",
            ));
        }
        (None, None) => {}
    }
    if let Err(message) = super::tunnels::check_tunnel_set(&config.tunnels) {
        return Err(rep.at(None, Some("tunnels"), message));
    }
    // two of our listeners on one TCP address would fail at start; say so now
    let mut listeners = vec![];
    if config.sam.enabled {
        listeners.push((
            "sam.port",
            std::net::SocketAddr::new(config.sam.host, config.sam.port.get()),
        ));
    }
    if config.http_proxy.enabled {
        listeners.push((
            "http_proxy.port",
            std::net::SocketAddr::new(config.http_proxy.host, config.http_proxy.port.get()),
        ));
    }
    if config.socks_proxy.enabled {
        listeners.push((
            "socks_proxy.port",
            std::net::SocketAddr::new(config.socks_proxy.host, config.socks_proxy.port.get()),
        ));
    }
    if config.ops.enabled {
        listeners.push((
            "ops.port",
            std::net::SocketAddr::new(config.ops.host, config.ops.port.get()),
        ));
    }
    if config.transparent.enabled {
        listeners.push((
            "transparent.port",
            std::net::SocketAddr::new(config.transparent.host, config.transparent.port.get()),
        ));
    }
    for t in &config.tunnels {
        if let super::TunnelKind::Client { listen, .. } = &t.kind {
            listeners.push(("tunnels", *listen));
        }
    }
    for (i, (key, addr)) in listeners.iter().enumerate() {
        if let Some((other, _)) = listeners[..i].iter().find(|(_, a)| a == addr) {
            // name the side an environment variable set, if one did: that is what changed
            let (key, other) = if rep.is_env(other) && !rep.is_env(key) {
                (*other, *key)
            } else {
                (*key, *other)
            };
            return Err(rep.at(None, Some(key), format!("{addr} is also used by {other}")));
        }
    }

    let mut warnings = Vec::new();

    // transports
    if !config.ntcp2.enabled {
        return Err(rep.at(
            enabled.line,
            Some("ntcp2.enabled"),
            "NTCP2 is the only transport so far; disabling it leaves the router unable to \
             connect to anyone",
        ));
    }
    if let Some(h) = &host {
        let ip = h.value;
        if ip.is_unspecified() || ip.is_multicast() || is_broadcast(ip) {
            return Err(rep.at(
                h.line,
                Some("ntcp2.host"),
                format!(
                    "{ip} cannot be published: give the unicast address peers should connect to"
                ),
            ));
        }
        if config.network.net_id == NetId::MAIN && !is_public(ip) {
            warnings.push(rep.at(
                h.line,
                Some("ntcp2.host"),
                format!(
                    "{ip} is not a public address; routers of the public network (netId 2) \
                     will not be able to reach it"
                ),
            ));
        }
    }
    if let Some(b) = &bind
        && (b.value.is_multicast() || is_broadcast(b.value))
    {
        return Err(rep.at(
            b.line,
            Some("ntcp2.bind"),
            format!("cannot listen on {}: not a unicast address", b.value),
        ));
    }

    // floodfill (see docs/overview/network-database.md, "Floodfill"; spec/ntcp2.md forbids
    // flooding a RouterInfo without published addresses)
    if config.router.floodfill {
        if config.ntcp2.host.is_none() {
            return Err(rep.at(
                floodfill.line,
                Some("router.floodfill"),
                "a floodfill must be reachable: set ntcp2.host to the address to publish",
            ));
        }
        let class = config.router.bandwidth_class();
        if class < BandwidthClass::O {
            return Err(rep.at(
                floodfill.line,
                Some("router.floodfill"),
                format!(
                    "a floodfill must publish bandwidth class O, P or X (at least 128 KB/s \
                     shared); router.bandwidth {} gives class {class}",
                    describe_bandwidth(&config.router)
                ),
            ));
        }
    }

    // network ID: 2 is the public network, reserved IDs get a warning
    if config.network.net_id.is_reserved() {
        warnings.push(rep.at(
            net_id.line,
            Some("network.net_id"),
            format!(
                "netId {} is reserved; test networks should use 16-254",
                config.network.net_id.get()
            ),
        ));
    }

    Ok(Loaded { config, warnings })
}

fn describe_bandwidth(r: &super::RouterConfig) -> String {
    match r.bandwidth {
        Bandwidth::Class(c) => format!("{c}"),
        Bandwidth::KBps(k) => format!("{k} KB/s at {}% shared", r.shared_percent),
    }
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

/// Whether peers on the public internet could reach `ip` (roughly the IANA special-purpose
/// registries; `IpAddr::is_global` is not stable yet).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGN)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::num::NonZeroU16;

    use super::*;

    const FILE: &str = "conf/router.yaml";

    fn load(yaml: &str) -> Result<Loaded, ConfigError> {
        Config::from_yaml_bytes(yaml.as_bytes(), Path::new(FILE))
    }

    fn err(yaml: &str) -> Diagnostic {
        match load(yaml) {
            Err(ConfigError::Invalid(d)) => d,
            other => panic!("expected an invalid config for {yaml:?}, got {other:?}"),
        }
    }

    /// Asserts file, line and key of the error, and that the message contains `needle`.
    fn assert_err(yaml: &str, line: usize, key: &str, needle: &str) {
        let d = err(yaml);
        let text = d.to_string();
        assert_eq!(
            d.origin,
            Origin::File {
                path: FILE.into(),
                line: Some(line)
            },
            "{text}"
        );
        assert_eq!(d.key.as_deref(), Some(key), "{text}");
        assert!(
            text.starts_with(&format!("{FILE}:{line}: {key}: ")),
            "{text}"
        );
        assert!(text.contains(needle), "{text:?} should contain {needle:?}");
    }

    #[test]
    fn empty_and_comment_only_files_give_defaults() {
        for text in ["", "# nothing\n", "---\n", "network:\nrouter:\n"] {
            let l = load(text).unwrap();
            assert_eq!(l.config, Config::default(), "{text:?}");
            assert!(l.warnings.is_empty());
        }
    }

    #[test]
    fn full_config_reads_every_key() {
        let l = load(
            "network:\n  net_id: 17\nrouter:\n  floodfill: true\n  bandwidth: 3000\n  \
             shared_percent: 50\nntcp2:\n  enabled: true\n  host: 198.18.0.7\n  port: 12007\n  \
             bind: 0.0.0.0\nlog:\n  level: debug\n  format: json\n",
        )
        .unwrap();
        let c = l.config;
        assert_eq!(c.network.net_id.get(), 17);
        assert!(c.router.floodfill);
        assert_eq!(c.router.bandwidth, Bandwidth::KBps(3000));
        assert_eq!(c.router.shared_percent, 50);
        // 3000 * 50% = 1500 KB/s shared: class P
        assert_eq!(c.router.bandwidth_class(), BandwidthClass::P);
        assert_eq!(c.ntcp2.host, Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 7))));
        assert_eq!(
            c.ntcp2.port,
            PortSetting::Fixed(NonZeroU16::new(12007).unwrap())
        );
        assert_eq!(c.ntcp2.bind, Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(c.ntcp2.listen_ip(), c.ntcp2.bind);
        assert_eq!(c.log.level, LogLevel::Debug);
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn flow_style_and_quoted_numbers_are_accepted() {
        let c = load("ntcp2: {host: \"2001:db8::1\", port: \"9999\"}\nrouter: {bandwidth: X}\n")
            .unwrap()
            .config;
        assert_eq!(c.ntcp2.host, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(c.ntcp2.listen_ip(), c.ntcp2.host, "bind defaults to host");
        assert_eq!(
            c.ntcp2.port,
            PortSetting::Fixed(NonZeroU16::new(9999).unwrap())
        );
        assert_eq!(c.router.bandwidth, Bandwidth::Class(BandwidthClass::X));
    }

    #[test]
    fn bandwidth_classes_follow_i2pd_boundaries() {
        let cases = [
            (1, 'K'),
            (12, 'K'),
            (13, 'L'),
            (48, 'L'),
            (49, 'M'),
            (64, 'M'),
            (65, 'N'),
            (128, 'N'),
            (129, 'O'),
            (256, 'O'),
            (257, 'P'),
            (2000, 'P'),
            (2001, 'X'),
        ];
        for (kbps, letter) in cases {
            assert_eq!(
                BandwidthClass::for_shared_kbps(kbps).letter(),
                letter,
                "{kbps}"
            );
        }
        // shared_percent scales a KB/s figure but not a letter
        let c = load("router:\n  bandwidth: 200\n  shared_percent: 50\n")
            .unwrap()
            .config;
        assert_eq!(c.router.bandwidth_class(), BandwidthClass::N);
        let c = load("router:\n  bandwidth: O\n  shared_percent: 10\n")
            .unwrap()
            .config;
        assert_eq!(c.router.bandwidth_class(), BandwidthClass::O);
    }

    #[test]
    fn value_errors_name_file_line_and_key() {
        assert_err(
            "network:\n  net_id: 2\nntcp2:\n  port: abc\n",
            4,
            "ntcp2.port",
            "invalid value \"abc\", expected a port number 1-65535",
        );
        assert_err("ntcp2:\n  port: 0\n", 2, "ntcp2.port", "invalid value 0");
        assert_err("ntcp2:\n  port: 65536\n", 2, "ntcp2.port", "65536");
        assert_err("ntcp2:\n  port: -1\n", 2, "ntcp2.port", "-1");
        assert_err("ntcp2:\n  port: 1.5\n", 2, "ntcp2.port", "1.5");
        assert_err("network:\n  net_id: 0\n", 2, "network.net_id", "1-255");
        assert_err("network:\n  net_id: 256\n", 2, "network.net_id", "1-255");
        assert_err(
            "\n\nrouter:\n  floodfill: yes\n",
            4,
            "router.floodfill",
            "true or false",
        );
        assert_err(
            "router:\n  floodfill: 1\n",
            2,
            "router.floodfill",
            "true or false",
        );
        assert_err(
            "router:\n  bandwidth: Q\n",
            2,
            "router.bandwidth",
            "class letter",
        );
        assert_err("router:\n  bandwidth: 0\n", 2, "router.bandwidth", "KB/s");
        assert_err(
            "router:\n  shared_percent: 101\n",
            2,
            "router.shared_percent",
            "0-100",
        );
        assert_err(
            "ntcp2:\n  host: example.org\n",
            2,
            "ntcp2.host",
            "no host names",
        );
        assert_err(
            "ntcp2:\n  bind: 300.1.1.1\n",
            2,
            "ntcp2.bind",
            "IPv4 or IPv6",
        );
        assert_err(
            "log:\n  level: verbose\n",
            2,
            "log.level",
            "error, warn, info",
        );
        assert_err("log:\n  format: xml\n", 2, "log.format", "text, json");
        assert_err("log:\n  format: [text]\n", 2, "log.format", "text, json");
        assert_err("ntcp2: {port: 5, host: nope}\n", 1, "ntcp2.host", "nope");
        assert_err(
            "ntcp2:\n  bind:\n    x: 1\n",
            3,
            "ntcp2.bind",
            "invalid type: map",
        );
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_env(yaml: &str, pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        Config::from_yaml_bytes_with_env(yaml.as_bytes(), Path::new(FILE), &env(pairs))
    }

    fn env_err(yaml: &str, pairs: &[(&str, &str)]) -> Diagnostic {
        match load_env(yaml, pairs) {
            Err(ConfigError::Invalid(d)) => d,
            other => panic!("expected an invalid config for {pairs:?}, got {other:?}"),
        }
    }

    #[test]
    fn environment_overrides_the_file_key_by_key() {
        let yaml = "ntcp2:\n  port: 12345\n  host: 198.18.0.1\nlog:\n  level: debug\n";
        let c = load_env(
            yaml,
            &[
                ("I2P_ROUTER__NTCP2__PORT", "23456"),
                ("I2P_ROUTER__HTTP_PROXY__HOST", "0.0.0.0"),
                ("I2P_ROUTER__HTTP_PROXY__ENABLED", "false"),
                ("I2P_ROUTER__NETWORK__NET_ID", "17"),
                (
                    "I2P_ROUTER__RESEED__URLS",
                    "https://a.example/, https://b.example/",
                ),
                ("I2P_ROUTER__SOCKS_PROXY__USERNAME", "u"),
                ("I2P_ROUTER__SOCKS_PROXY__PASSWORD", "p\"a#s: \\w"),
                ("PATH", "/usr/bin"),
                ("I2P_ROUTER_IMAGE", "not ours: one underscore"),
            ],
        )
        .unwrap()
        .config;
        assert_eq!(
            c.ntcp2.port,
            PortSetting::Fixed(NonZeroU16::new(23456).unwrap())
        );
        // keys the environment does not name keep the file's values
        assert_eq!(c.ntcp2.host, Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1))));
        assert_eq!(c.log.level, LogLevel::Debug);
        assert_eq!(c.http_proxy.host, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(!c.http_proxy.enabled);
        assert_eq!(c.network.net_id.get(), 17);
        assert_eq!(
            c.reseed.urls.as_ref().map(|u| u.0.len()),
            Some(2),
            "{:?}",
            c.reseed.urls
        );
        assert_eq!(
            c.socks_proxy.password.as_deref(),
            Some("p\"a#s: \\w"),
            "quotes, # and backslashes are data, not YAML"
        );
        // no file at all: the defaults with the overrides
        let c = load_env("", &[("I2P_ROUTER__SAM__PORT", "7777")])
            .unwrap()
            .config;
        assert_eq!(c.sam.port.get(), 7777);
        assert_eq!(c.ntcp2, Config::default().ntcp2);
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let bad = |pairs: &[(&str, &str)], key: Option<&str>, needle: &str| {
            let d = env_err("ntcp2:\n  port: 12345\n", pairs);
            let text = d.to_string();
            assert_eq!(
                d.origin,
                Origin::Env {
                    var: pairs[0].0.to_string()
                },
                "{text}"
            );
            assert_eq!(d.key.as_deref(), key, "{text}");
            assert!(
                text.starts_with(&format!("environment variable {}: ", pairs[0].0)),
                "{text}"
            );
            assert!(text.contains(needle), "{text:?} should contain {needle:?}");
        };
        bad(
            &[("I2P_ROUTER__NTCP2__PORT", "seventy")],
            Some("ntcp2.port"),
            "invalid value \"seventy\"",
        );
        bad(
            &[("I2P_ROUTER__NTCP2__PROT", "1")],
            Some("ntcp2.prot"),
            "did you mean I2P_ROUTER__NTCP2__PORT?",
        );
        bad(
            &[("I2P_ROUTER__NTCP2", "1")],
            None,
            "expected I2P_ROUTER__SECTION__KEY",
        );
        bad(
            &[("I2P_ROUTER__A__B__C", "1")],
            None,
            "expected I2P_ROUTER__SECTION__KEY",
        );
        bad(
            &[("I2P_ROUTER__TUNNELS__X", "1")],
            Some("tunnels"),
            "tunnels.d",
        );
        bad(
            &[("I2P_ROUTER__LOG__LEVEL", " ")],
            Some("log.level"),
            "empty value",
        );
        bad(
            &[("I2P_ROUTER__LOG__LEVEL", "info\nntcp2:\n  port: 1")],
            Some("log.level"),
            "control character",
        );
        bad(
            &[("I2P_ROUTER__NETWORK__NET_ID", "0")],
            Some("network.net_id"),
            "invalid value",
        );
        // the same key in two spellings
        let d = env_err(
            "",
            &[
                ("I2P_ROUTER__LOG__LEVEL", "info"),
                ("I2P_ROUTER__log__level", "debug"),
            ],
        );
        assert_eq!(
            d.to_string(),
            "environment variable I2P_ROUTER__log__level: log.level: also set by \
             I2P_ROUTER__LOG__LEVEL"
        );
        // a rule between keys broken by a variable names it: SAM on the HTTP proxy's port
        let d = env_err("", &[("I2P_ROUTER__SAM__PORT", "4444")]);
        assert_eq!(
            d.origin,
            Origin::Env {
                var: "I2P_ROUTER__SAM__PORT".into()
            },
            "{d}"
        );
        // a file error is still the file's, with its line
        let d = env_err("ntcp2:\n  port: x\n", &[("I2P_ROUTER__LOG__LEVEL", "info")]);
        assert_eq!(
            d.origin,
            Origin::File {
                path: FILE.into(),
                line: Some(2)
            }
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_suggestions() {
        assert_err(
            "ntcp2:\n  prot: 5\n",
            2,
            "ntcp2.prot",
            "did you mean `ntcp2.port`?",
        );
        assert_err(
            "ntcp2:\n  net_id: 5\n",
            2,
            "ntcp2.net_id",
            "did you mean `network.net_id`?",
        );
        assert_err("\nntcp:\n  port: 5\n", 2, "ntcp", "did you mean `ntcp2`?");
        assert_err(
            "router:\n  flooodfill: true\n",
            2,
            "router.flooodfill",
            "`router.floodfill`",
        );
        let d = err("ssu2:\n  enabled: true\n");
        assert_eq!(d.key.as_deref(), Some("ssu2"));
        assert_eq!(d.message, "unknown key");
    }

    #[test]
    fn proxies_and_tunnels_sections() {
        let c = load(
            "http_proxy:\n  port: 8118\n  outproxy: exit.i2p\n  jump_services: \"\"\n\
             socks_proxy:\n  enabled: false\n  username: u\n  password: p\n\
             tunnels:\n  - name: web\n    type: http\n    target: web:80\n",
        )
        .unwrap()
        .config;
        assert_eq!(c.http_proxy.port.get(), 8118);
        assert_eq!(c.http_proxy.outproxy.as_deref(), Some("exit.i2p"));
        assert!(c.http_proxy.jump_services.0.is_empty());
        assert_eq!(c.socks_proxy.username.as_deref(), Some("u"));
        assert_eq!(c.tunnels.len(), 1);
        assert_eq!(c.tunnels[0].origin, format!("{FILE}:10"));

        assert_err(
            "http_proxy:\n  outproxy: 'http://x.com'\n",
            2,
            "http_proxy.outproxy",
            "expected a .i2p name",
        );
        assert_err(
            "socks_proxy:\n  username: u\n",
            2,
            "socks_proxy.username",
            "or neither",
        );
        assert_err(
            "tunnels:\n  name: x\n",
            1,
            "tunnels",
            "expected a list of tunnels",
        );
        assert_err(
            "tunnels:\n  - name: x\n    type: server\n",
            2,
            "tunnels[0].target",
            "needs `target`",
        );
        // two listeners on one address
        let d = err("socks_proxy:\n  port: 4444\n");
        assert!(d.message.contains("also used by http_proxy.port"), "{d}");
        let d = err("tunnels:\n  - {name: a, type: client, listen: 4447, destination: x.i2p}\n");
        assert!(d.message.contains("also used by socks_proxy.port"), "{d}");
    }

    #[test]
    fn structural_errors_have_a_line() {
        assert_err("ntcp2: 5\n", 1, "ntcp2", "expected a mapping");
        let d = err("- a\n- b\n");
        assert!(d.to_string().starts_with(&format!("{FILE}:1: ")), "{d}");
        let d = err("ntcp2:\n  port: 5\n  port: 6\n");
        assert!(d.to_string().starts_with(&format!("{FILE}:3: ")), "{d}");
        assert!(d.message.contains("duplicate"), "{d}");
        let d = err("network:\n  net_id: [\n");
        assert!(d.to_string().starts_with(&format!("{FILE}:")), "{d}");
        let d = match Config::from_yaml_bytes(b"router:\n  floodfill: \xff\n", Path::new(FILE)) {
            Err(ConfigError::Invalid(d)) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(d.to_string(), format!("{FILE}:2: file is not valid UTF-8"));
    }

    #[test]
    fn cross_key_rules() {
        assert_err(
            "ntcp2:\n  enabled: false\n",
            2,
            "ntcp2.enabled",
            "only transport",
        );
        assert_err(
            "router:\n  floodfill: true\n  bandwidth: X\n",
            2,
            "router.floodfill",
            "set ntcp2.host",
        );
        assert_err(
            "ntcp2:\n  host: 198.18.0.1\nrouter:\n  bandwidth: 100\n  floodfill: true\n",
            5,
            "router.floodfill",
            "100 KB/s at 100% shared gives class N",
        );
        assert_err(
            "ntcp2:\n  host: 198.18.0.1\nrouter:\n  floodfill: true\n",
            4,
            "router.floodfill",
            "router.bandwidth L gives class L",
        );
        assert_err(
            "ntcp2:\n  host: 0.0.0.0\n",
            2,
            "ntcp2.host",
            "cannot be published",
        );
        assert_err(
            "ntcp2:\n  host: 224.0.0.1\n",
            2,
            "ntcp2.host",
            "cannot be published",
        );
        assert_err(
            "ntcp2:\n  bind: 255.255.255.255\n",
            2,
            "ntcp2.bind",
            "not a unicast",
        );
        // a floodfill with class O or above and a host is fine
        let l = load("network: {net_id: 17}\nntcp2: {host: 198.18.0.1}\nrouter: {floodfill: true, bandwidth: O}\n")
            .unwrap();
        assert!(l.config.router.floodfill);
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn warnings_for_reserved_net_ids_and_private_hosts_on_the_main_net() {
        assert!(load("network:\n  net_id: 2\n").unwrap().warnings.is_empty());
        assert!(
            load("network:\n  net_id: 99\n")
                .unwrap()
                .warnings
                .is_empty()
        );
        for id in [1, 3, 15, 255] {
            let l = load(&format!("network:\n  net_id: {id}\n")).unwrap();
            assert_eq!(l.warnings.len(), 1, "{id}");
            assert_eq!(
                l.warnings[0].to_string(),
                format!(
                    "{FILE}:2: network.net_id: netId {id} is reserved; test networks should use 16-254"
                )
            );
        }
        let l = load("ntcp2:\n  host: 10.1.2.3\n").unwrap();
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].key.as_deref(), Some("ntcp2.host"));
        // the same private address on a test network is expected
        let l = load("network:\n  net_id: 17\nntcp2:\n  host: 10.1.2.3\n").unwrap();
        assert!(l.warnings.is_empty());
        assert!(
            load("ntcp2:\n  host: 203.0.114.1\n")
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn public_address_classification() {
        for ip in ["8.8.8.8", "203.0.114.1", "2a01:4f8::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "240.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn read_errors_name_the_file() {
        let e = Config::load(Path::new("/nonexistent/dir/router.yaml")).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        assert!(
            e.to_string().contains("/nonexistent/dir/router.yaml"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_errors_not_crashes() {
        // test threads have small stacks; these must neither overflow nor hang
        let deep_seq = format!("router: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let deep_map = format!("router: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000));
        let deep_block: String = (0..200).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..20 {
            let p = format!("*a{}", i - 1);
            let refs = [p.as_str(); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        for yaml in [deep_seq, deep_map, deep_block, bomb] {
            let e = load(&yaml).unwrap_err();
            assert!(e.to_string().starts_with(FILE), "{e}");
        }
        // nesting within the depth limit is still reported against the right key
        assert_err(
            "router:\n  bandwidth: {a: {b: {c: {d: {e: {f: {g: {h: {i: 1}}}}}}}}}\n",
            2,
            "router.bandwidth",
            "invalid type: map",
        );
    }
}
