//! `tunnels:` — I2PTunnel-style tunnels, from the router config's `tunnels:` list and from the
//! files of a `tunnels.d/` directory (each file one tunnel mapping or a list of them).
//!
//! The kinds follow i2pd's `tunnels.conf` and Java I2P's I2PTunnel: `server` (plain TCP),
//! `http` (HTTP server with `X-I2P-Dest*` headers), `irc` (optional WEBIRC line) and `client`
//! (a local port whose connections become streams to one destination). Every error names the
//! file, the line and the tunnel's key (`tunnels[1].target`).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::validate::{Field, Reporter, options};
use super::{ConfigError, ConfigValue, Diagnostic, HopCount, LengthVariance, TunnelQuantity};

/// One configured tunnel, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TunnelConfig {
    /// Unique among all tunnels; names the key file by default and shows in logs.
    pub name: String,
    pub kind: TunnelKind,
    pub keys: TunnelKeys,
    pub shape: TunnelShape,
    /// `file:line` the tunnel was read from (for logs; not compared on reload).
    #[serde(skip)]
    pub origin: String,
}

impl TunnelConfig {
    /// Same settings, wherever they were written (a reload that only moved a tunnel to
    /// another line keeps it running).
    pub fn same_settings(&self, other: &TunnelConfig) -> bool {
        self.name == other.name
            && self.kind == other.kind
            && self.keys == other.keys
            && self.shape == other.shape
    }

    /// Whether the tunnel publishes a destination others connect to.
    pub fn is_server(&self) -> bool {
        !matches!(self.kind, TunnelKind::Client { .. })
    }
}

/// What a tunnel does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    /// Incoming streams become TCP connections to `target`.
    Server(ServerSide),
    /// As `Server`, rewriting each HTTP request head (`Host`, `X-I2P-Dest*`).
    Http {
        #[serde(flatten)]
        server: ServerSide,
        /// The `Host` header the backend gets (default: the target's host).
        host_header: String,
    },
    /// As `Server`, optionally sending `WEBIRC <password> ...` first.
    Irc {
        #[serde(flatten)]
        server: ServerSide,
        webirc: Option<String>,
    },
    /// Local TCP connections on `listen` become streams to `destination`:`port`.
    Client {
        listen: SocketAddr,
        destination: String,
        port: u16,
    },
}

/// The server half shared by `server`, `http` and `irc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerSide {
    /// `host:port` of the backend (any host: a sidecar's backend may be another container).
    pub target: String,
    /// Only streams to this I2P port (0: any).
    pub inport: u16,
    pub access: Access,
}

/// Who may connect to a server tunnel (destination hashes as `.b32.i2p`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Access {
    Everyone,
    Allow(#[serde(serialize_with = "as_b32")] Vec<i2p_wire::Hash>),
    Deny(#[serde(serialize_with = "as_b32")] Vec<i2p_wire::Hash>),
}

fn as_b32<S: serde::Serializer>(hashes: &[i2p_wire::Hash], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(hashes.iter().map(i2p_wire::base32::b32_address))
}

/// Where the tunnel's destination keys live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TunnelKeys {
    /// New keys every start (the address changes).
    Transient,
    /// A key file (i2pd's layout), created on first start, never replaced. Relative paths are
    /// under the data directory.
    File(PathBuf),
}

/// Tunnel lengths and counts of the tunnel's destination (I2CP `inbound.*` / `outbound.*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TunnelShape {
    pub inbound_length: u8,
    pub outbound_length: u8,
    pub inbound_quantity: u8,
    pub outbound_quantity: u8,
    pub inbound_length_variance: i8,
    pub outbound_length_variance: i8,
}

impl Default for TunnelShape {
    /// The I2CP defaults (spec/i2cp-overview.md): 3 hops, 2 tunnels each way.
    fn default() -> Self {
        TunnelShape {
            inbound_length: 3,
            outbound_length: 3,
            inbound_quantity: 2,
            outbound_quantity: 2,
            inbound_length_variance: 0,
            outbound_length_variance: 0,
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TunnelKind::Server(_) => "server",
            TunnelKind::Http { .. } => "http",
            TunnelKind::Irc { .. } => "irc",
            TunnelKind::Client { .. } => "client",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// value types

/// Non-empty text without control characters.
#[derive(Debug, Clone)]
pub(crate) struct Text(pub String);

impl ConfigValue for Text {
    const EXPECTED: &'static str = "a non-empty string";
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        (!t.is_empty() && !t.chars().any(char::is_control)).then(|| Text(t.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Server,
    Http,
    Irc,
    Client,
}

impl ConfigValue for Type {
    const EXPECTED: &'static str = "server, http, irc or client";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim() {
            "server" => Some(Type::Server),
            "http" => Some(Type::Http),
            "irc" => Some(Type::Irc),
            "client" => Some(Type::Client),
            _ => None,
        }
    }
}

/// `host:port` of a backend; a bare port means 127.0.0.1.
#[derive(Debug, Clone)]
pub(crate) struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    fn text(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl ConfigValue for HostPort {
    const EXPECTED: &'static str =
        "host:port of the backend (a host name or IP address and a port 1-65535), or a port";
    fn from_int(v: i128) -> Option<Self> {
        let port = u16::try_from(v).ok().filter(|p| *p != 0)?;
        Some(HostPort {
            host: "127.0.0.1".into(),
            port,
        })
    }
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Ok(p) = t.parse::<i128>() {
            return Self::from_int(p);
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (h, p) = rest.split_once("]:")?;
            h.parse::<std::net::Ipv6Addr>().ok()?;
            (h, p)
        } else {
            t.rsplit_once(':')?
        };
        let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        host_ok.then(|| HostPort {
            host: host.to_string(),
            port,
        })
    }
}

/// A local listening address: `ip:port`, or a port on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listen(SocketAddr);

impl ConfigValue for Listen {
    const EXPECTED: &'static str = "a port 1-65535 (on 127.0.0.1) or ip:port";
    fn from_int(v: i128) -> Option<Self> {
        let port = u16::try_from(v).ok().filter(|p| *p != 0)?;
        Some(Listen(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        )))
    }
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Ok(p) = t.parse::<i128>() {
            return Self::from_int(p);
        }
        t.parse::<SocketAddr>()
            .ok()
            .filter(|a| a.port() != 0)
            .map(Listen)
    }
}

/// An I2P port, 0 meaning any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct I2pPort(u16);

impl ConfigValue for I2pPort {
    const EXPECTED: &'static str = "an I2P port 0-65535 (0: any)";
    fn from_int(v: i128) -> Option<Self> {
        u16::try_from(v).ok().map(I2pPort)
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<i128>().ok().and_then(Self::from_int)
    }
}

/// A client tunnel's destination: `name.i2p`, `xxx.b32.i2p` or a base64 destination,
/// optionally followed by `:port`.
#[derive(Debug, Clone)]
pub(crate) struct DestRef {
    dest: String,
    port: u16,
}

impl ConfigValue for DestRef {
    const EXPECTED: &'static str =
        "a .i2p name, a .b32.i2p address or a base64 destination, optionally with :port";
    fn from_text(text: &str) -> Option<Self> {
        let t = text.trim();
        // base64 destinations use '-' and '~', never ':'
        let (dest, port) = match t.rsplit_once(':') {
            Some((d, p)) => (d, p.parse::<u16>().ok()?),
            None => (t, 0),
        };
        valid_destination_text(dest).then(|| DestRef {
            dest: dest.to_string(),
            port,
        })
    }
}

/// Whether `s` names a destination: a `.i2p` host name, a `.b32.i2p` address or a base64
/// destination.
pub(crate) fn valid_destination_text(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if lower.ends_with(".b32.i2p") {
        return i2p_wire::base32::parse_b32_address(&lower).is_ok();
    }
    if lower.ends_with(".i2p") {
        // the address book's naming rules (docs/overview/naming.md)
        return i2p_addressbook::HostName::parse(&lower).is_ok();
    }
    i2p_wire::Destination::from_base64(s).is_ok()
}

// ---------------------------------------------------------------------------------------------
// raw layer

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTunnel {
    name: Field<Text>,
    #[serde(rename = "type")]
    kind: Field<Type>,
    target: Field<HostPort>,
    inport: Field<I2pPort>,
    host_header: Field<Text>,
    webirc: Field<Text>,
    listen: Field<Listen>,
    destination: Field<DestRef>,
    keys: Field<Text>,
    allow: Option<Spanned<Vec<Spanned<String>>>>,
    deny: Option<Spanned<Vec<Spanned<String>>>>,
    inbound_length: Field<HopCount>,
    outbound_length: Field<HopCount>,
    inbound_quantity: Field<TunnelQuantity>,
    outbound_quantity: Field<TunnelQuantity>,
    inbound_length_variance: Field<LengthVariance>,
    outbound_length_variance: Field<LengthVariance>,
}

/// The longest tunnel name (it becomes a file name).
const MAX_NAME: usize = 64;

fn line<T>(s: &Spanned<T>) -> Option<usize> {
    Some(s.referenced.line() as usize)
}

fn opt_line<T>(s: &Option<Spanned<T>>) -> Option<usize> {
    s.as_ref().and_then(line)
}

/// Turn the raw entries of one file into tunnels. `prefix` is the key shown in errors
/// (`tunnels` for the config file, the file name for `tunnels.d` files).
pub(crate) fn validate_tunnels(
    raw: Vec<Spanned<RawTunnel>>,
    prefix: &str,
    rep: &Reporter<'_>,
) -> Result<Vec<TunnelConfig>, Diagnostic> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.into_iter().enumerate() {
        let at = line(&entry);
        let key = |field: &str| format!("{prefix}[{i}].{field}");
        let t = entry.value;
        let name = t.name.ok_or_else(|| {
            rep.at(
                at,
                Some(&format!("{prefix}[{i}]")),
                "a tunnel needs a `name`",
            )
        })?;
        let name_line = line(&name);
        let name = name.value.0.0;
        if name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            return Err(rep.at(
                name_line,
                Some(&key("name")),
                format!(
                    "invalid tunnel name {name:?}: use 1-{MAX_NAME} letters, digits, '-', '_' \
                     or '.' (not first)"
                ),
            ));
        }
        let kind_field = t.kind.ok_or_else(|| {
            rep.at(
                at,
                Some(&key("type")),
                "a tunnel needs a `type`: server, http, irc or client",
            )
        })?;
        let ty = kind_field.value.0;
        // a key that does not belong to this type is an error, not silently ignored
        let misplaced = |present: bool, field: &str, l: Option<usize>, for_: &str| {
            if present {
                Err(rep.at(
                    l.or(at),
                    Some(&key(field)),
                    format!("`{field}` is only for {for_} tunnels"),
                ))
            } else {
                Ok(())
            }
        };
        let is_client = ty == Type::Client;
        if is_client {
            misplaced(
                t.target.is_some(),
                "target",
                opt_line(&t.target),
                "server, http and irc",
            )?;
            misplaced(
                t.inport.is_some(),
                "inport",
                opt_line(&t.inport),
                "server, http and irc",
            )?;
            misplaced(
                t.allow.is_some() || t.deny.is_some(),
                "allow/deny",
                t.allow.as_ref().or(t.deny.as_ref()).and_then(line),
                "server, http and irc",
            )?;
        } else {
            misplaced(t.listen.is_some(), "listen", opt_line(&t.listen), "client")?;
            misplaced(
                t.destination.is_some(),
                "destination",
                opt_line(&t.destination),
                "client",
            )?;
        }
        if ty != Type::Http {
            misplaced(
                t.host_header.is_some(),
                "host_header",
                opt_line(&t.host_header),
                "http",
            )?;
        }
        if ty != Type::Irc {
            misplaced(t.webirc.is_some(), "webirc", opt_line(&t.webirc), "irc")?;
        }

        let kind = if is_client {
            let listen = t.listen.ok_or_else(|| {
                rep.at(
                    at,
                    Some(&key("listen")),
                    "a client tunnel needs `listen` (a port on 127.0.0.1, or ip:port)",
                )
            })?;
            let dest = t.destination.ok_or_else(|| {
                rep.at(
                    at,
                    Some(&key("destination")),
                    "a client tunnel needs `destination` (name.i2p, xxx.b32.i2p or base64, \
                     optionally :port)",
                )
            })?;
            TunnelKind::Client {
                listen: listen.value.0.0,
                destination: dest.value.0.dest,
                port: dest.value.0.port,
            }
        } else {
            let target = t.target.ok_or_else(|| {
                rep.at(
                    at,
                    Some(&key("target")),
                    "a server tunnel needs `target` (host:port of the service to publish)",
                )
            })?;
            let target = target.value.0;
            let access = match (t.allow, t.deny) {
                (Some(a), Some(_)) => {
                    return Err(rep.at(
                        line(&a),
                        Some(&key("allow")),
                        "give either `allow` or `deny`, not both",
                    ));
                }
                (Some(list), None) => Access::Allow(hashes(list, &key("allow"), rep)?),
                (None, Some(list)) => Access::Deny(hashes(list, &key("deny"), rep)?),
                (None, None) => Access::Everyone,
            };
            let server = ServerSide {
                target: target.text(),
                inport: t.inport.map_or(0, |p| p.value.0.0),
                access,
            };
            match ty {
                Type::Http => TunnelKind::Http {
                    host_header: t
                        .host_header
                        .map_or_else(|| target.host.clone(), |h| h.value.0.0),
                    server,
                },
                Type::Irc => TunnelKind::Irc {
                    server,
                    webirc: t.webirc.map(|w| w.value.0.0),
                },
                _ => TunnelKind::Server(server),
            }
        };

        let keys = match t.keys {
            Some(k) if k.value.0.0 == "transient" => TunnelKeys::Transient,
            Some(k) => {
                let p = PathBuf::from(&k.value.0.0);
                if p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    return Err(rep.at(
                        line(&k),
                        Some(&key("keys")),
                        "a key file path may not contain `..`",
                    ));
                }
                TunnelKeys::File(p)
            }
            // servers keep their address across restarts; clients get a fresh one, as i2pd
            None if is_client => TunnelKeys::Transient,
            None => TunnelKeys::File(PathBuf::from("tunnel-keys").join(format!("{name}.dat"))),
        };
        let d = TunnelShape::default();
        let g = |f: Field<HopCount>, d: u8| f.map_or(d, |v| v.value.0.0);
        let q = |f: Field<TunnelQuantity>, d: u8| f.map_or(d, |v| v.value.0.0);
        let v = |f: Field<LengthVariance>, d: i8| f.map_or(d, |v| v.value.0.0);
        let shape = TunnelShape {
            inbound_length: g(t.inbound_length, d.inbound_length),
            outbound_length: g(t.outbound_length, d.outbound_length),
            inbound_quantity: q(t.inbound_quantity, d.inbound_quantity),
            outbound_quantity: q(t.outbound_quantity, d.outbound_quantity),
            inbound_length_variance: v(t.inbound_length_variance, d.inbound_length_variance),
            outbound_length_variance: v(t.outbound_length_variance, d.outbound_length_variance),
        };
        let origin = match at {
            Some(l) => format!("{}:{l}", rep.path.display()),
            None => rep.path.display().to_string(),
        };
        out.push(TunnelConfig {
            name,
            kind,
            keys,
            shape,
            origin,
        });
    }
    Ok(out)
}

fn hashes(
    list: Spanned<Vec<Spanned<String>>>,
    key: &str,
    rep: &Reporter<'_>,
) -> Result<Vec<i2p_wire::Hash>, Diagnostic> {
    list.value
        .into_iter()
        .map(|s| {
            let t = s.value.trim().to_ascii_lowercase();
            let full = if t.ends_with(".b32.i2p") {
                t
            } else {
                format!("{t}.b32.i2p")
            };
            i2p_wire::base32::parse_b32_address(&full).map_err(|e| {
                rep.at(
                    line(&s),
                    Some(key),
                    format!("{:?} is not a .b32.i2p address: {e}", s.value),
                )
            })
        })
        .collect()
}

/// Checks across all tunnels (config file and `tunnels.d` together): unique names, unique key
/// files, no two client tunnels on one local address.
pub fn check_tunnel_set(tunnels: &[TunnelConfig]) -> Result<(), String> {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut keys: HashMap<&Path, &str> = HashMap::new();
    let mut listens: HashMap<SocketAddr, &str> = HashMap::new();
    for t in tunnels {
        if let Some(first) = names.insert(&t.name, &t.origin) {
            return Err(format!(
                "{}: tunnel name {:?} is already used at {first}",
                t.origin, t.name
            ));
        }
        if let TunnelKeys::File(p) = &t.keys
            && let Some(first) = keys.insert(p, &t.origin)
        {
            return Err(format!(
                "{}: tunnel {:?} uses key file {} like the tunnel at {first}; each tunnel \
                 needs its own destination",
                t.origin,
                t.name,
                p.display()
            ));
        }
        if let TunnelKind::Client { listen, .. } = &t.kind
            && let Some(first) = listens.insert(*listen, &t.origin)
        {
            return Err(format!(
                "{}: tunnel {:?} listens on {listen} like the tunnel at {first}",
                t.origin, t.name
            ));
        }
    }
    Ok(())
}

/// The largest `tunnels.d` file read.
const MAX_TUNNEL_FILE: u64 = 256 * 1024;

/// Read one `tunnels.d` file: a single tunnel mapping or a list of them. The fuzzable entry.
pub fn tunnels_from_yaml_bytes(
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<TunnelConfig>, ConfigError> {
    let rep = Reporter::file(path);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ConfigError::Invalid(rep.at(None, None, "file is not valid UTF-8")))?;
    let tree: Spanned<super::tree::Node> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| ConfigError::Invalid(rep.yaml_error(&e, &[])))?;
    let prefix = path.file_name().map_or_else(
        || "tunnels".to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let raw: Vec<Spanned<RawTunnel>> = match tree.value {
        super::tree::Node::Null => Vec::new(),
        super::tree::Node::Map(_) => {
            let one: Spanned<RawTunnel> = serde_saphyr::from_str_with_options(text, options())
                .map_err(|e| ConfigError::Invalid(rep.yaml_error(&e, &[])))?;
            vec![one]
        }
        super::tree::Node::Seq => serde_saphyr::from_str_with_options(text, options())
            .map_err(|e| ConfigError::Invalid(rep.yaml_error(&e, &[])))?,
        super::tree::Node::Scalar => {
            return Err(ConfigError::Invalid(rep.at(
                Some(1),
                None,
                "a tunnels.d file holds one tunnel (a mapping) or a list of tunnels",
            )));
        }
    };
    validate_tunnels(raw, &prefix, &rep).map_err(ConfigError::Invalid)
}

/// Read every `*.yaml` / `*.yml` file of `dir` in name order; a missing directory is empty.
pub fn load_tunnel_dir(dir: &Path) -> Result<Vec<TunnelConfig>, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let read_err = |source| ConfigError::Read {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(&path).map_err(read_err)?;
        if meta.len() > MAX_TUNNEL_FILE {
            return Err(ConfigError::Invalid(Reporter::file(&path).at(
                None,
                None,
                format!("file is larger than {MAX_TUNNEL_FILE} bytes"),
            )));
        }
        let bytes = std::fs::read(&path).map_err(read_err)?;
        out.extend(tunnels_from_yaml_bytes(&bytes, &path)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<TunnelConfig>, String> {
        tunnels_from_yaml_bytes(yaml.as_bytes(), Path::new("t/site.yaml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn server_http_irc_client() {
        let t = parse(
            "- name: site\n  type: http\n  target: web:8080\n  inport: 80\n\
             - name: plain\n  type: server\n  target: 7000\n  keys: transient\n  allow: [ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkda]\n\
             - name: chat\n  type: irc\n  target: '[::1]:6667'\n  webirc: secret\n\
             - name: out\n  type: client\n  listen: 8081\n  destination: site.i2p:80\n  inbound_length: 1\n",
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(
            t[0].kind,
            TunnelKind::Http {
                server: ServerSide {
                    target: "web:8080".into(),
                    inport: 80,
                    access: Access::Everyone
                },
                host_header: "web".into()
            }
        );
        assert_eq!(
            t[0].keys,
            TunnelKeys::File(PathBuf::from("tunnel-keys/site.dat"))
        );
        assert_eq!(t[0].origin, "t/site.yaml:1");
        assert_eq!(t[1].keys, TunnelKeys::Transient);
        assert!(
            matches!(&t[1].kind, TunnelKind::Server(s) if matches!(&s.access, Access::Allow(v) if v.len() == 1) && s.target == "127.0.0.1:7000")
        );
        assert!(
            matches!(&t[2].kind, TunnelKind::Irc { server, webirc: Some(w) } if server.target == "[::1]:6667" && w == "secret")
        );
        assert_eq!(
            t[3].kind,
            TunnelKind::Client {
                listen: "127.0.0.1:8081".parse().unwrap(),
                destination: "site.i2p".into(),
                port: 80
            }
        );
        assert_eq!(t[3].keys, TunnelKeys::Transient);
        assert_eq!(t[3].shape.inbound_length, 1);
        assert_eq!(t[3].shape.outbound_length, 3);
        check_tunnel_set(&t).unwrap();
    }

    #[test]
    fn single_mapping_file() {
        let t = parse("name: a\ntype: server\ntarget: localhost:80\n").unwrap();
        assert_eq!(t.len(), 1);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_line_and_key() {
        let cases = [
            (
                "- name: a\n  type: server\n",
                "t/site.yaml:1: site.yaml[0].target: a server tunnel needs `target`",
            ),
            (
                "- type: server\n  target: 80\n",
                "site.yaml[0]: a tunnel needs a `name`",
            ),
            (
                "- name: a\n  type: server\n  target: 80\n  listen: 81\n",
                "t/site.yaml:4: site.yaml[0].listen: `listen` is only for client tunnels",
            ),
            (
                "- name: a\n  type: proxy\n",
                "expected server, http, irc or client",
            ),
            (
                "- name: a\n  type: client\n  listen: 0\n  destination: x.i2p\n",
                ":3:",
            ),
            (
                "- name: a\n  type: client\n  listen: 80\n  destination: 'not a name'\n",
                ":4:",
            ),
            (
                "- name: 'a/b'\n  type: server\n  target: 80\n",
                "invalid tunnel name",
            ),
            (
                "- name: a\n  type: server\n  target: 80\n  keys: ../x.dat\n",
                "`..`",
            ),
            (
                "- name: a\n  type: server\n  target: 80\n  allow: [abc]\n",
                "is not a .b32.i2p address",
            ),
            ("- name: a\n  type: server\n  target: 'a b:80'\n", ":3:"),
            (
                "- name: a\n  type: server\n  target: 80\n  tagret: 1\n",
                ":4:",
            ),
            (
                "- name: a\n  type: server\n  target: 80\n  host_header: x\n",
                "only for http",
            ),
            ("42\n", "holds one tunnel"),
        ];
        for (yaml, want) in cases {
            let e = parse(yaml).unwrap_err();
            assert!(e.contains(want), "{yaml:?}: got {e:?}, want {want:?}");
        }
    }

    #[test]
    fn set_checks() {
        let t = parse(
            "- {name: a, type: server, target: 80}\n- {name: a, type: server, target: 81, keys: b.dat}\n",
        )
        .unwrap();
        assert!(check_tunnel_set(&t).unwrap_err().contains("already used"));
        let t = parse(
            "- {name: a, type: server, target: 80, keys: k.dat}\n- {name: b, type: server, target: 81, keys: k.dat}\n",
        )
        .unwrap();
        assert!(check_tunnel_set(&t).unwrap_err().contains("key file"));
        let t = parse(
            "- {name: a, type: client, listen: 80, destination: x.i2p}\n- {name: b, type: client, listen: '127.0.0.1:80', destination: y.i2p}\n",
        )
        .unwrap();
        assert!(check_tunnel_set(&t).unwrap_err().contains("listens on"));
    }

    #[test]
    fn directory_in_name_order_and_missing_dir_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            load_tunnel_dir(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
        std::fs::write(
            dir.path().join("b.yaml"),
            "name: b\ntype: server\ntarget: 80\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.yml"),
            "- name: a\n  type: server\n  target: 81\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let t = load_tunnel_dir(dir.path()).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        std::fs::write(dir.path().join("c.yaml"), "name: c\n").unwrap();
        let e = load_tunnel_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("c.yaml:1"), "{e}");
    }
}
