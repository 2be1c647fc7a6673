//! The default value of every configuration key, the list of keys, and the embedded commented
//! default file (`router/node/config/default.yaml`). Tests below keep the three in agreement.

use super::{
    AddressBookConfig, DnsConfig, HttpProxySection, JumpList, OpsConfig, SharedClientConfig,
    SocksProxySection, TransparentConfig, V4Range, V6Range,
};
use super::{
    Bandwidth, BandwidthClass, Config, ExploratoryConfig, LogConfig, LogFormat, LogLevel,
    NetDbConfig, NetId, NetworkConfig, Ntcp2Config, PortSetting, ReseedConfig, RouterConfig,
    SamConfig,
};

/// The commented default configuration, printed by `i2p-router --print-default-config`.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../config/default.yaml");

/// Every configuration key, as a dotted path. Sections are the first component.
pub const KNOWN_KEYS: &[&str] = &[
    "network.net_id",
    "router.floodfill",
    "router.bandwidth",
    "router.shared_percent",
    "router.distinct_subnets",
    "ntcp2.enabled",
    "ntcp2.host",
    "ntcp2.port",
    "ntcp2.bind",
    "netdb.max_routers",
    "netdb.verify_publish",
    "exploratory.inbound_length",
    "exploratory.inbound_quantity",
    "exploratory.outbound_length",
    "exploratory.outbound_quantity",
    "exploratory.inbound_length_variance",
    "exploratory.outbound_length_variance",
    "reseed.threshold",
    "reseed.file",
    "reseed.urls",
    "reseed.signers_dir",
    "reseed.ca_file",
    "sam.enabled",
    "sam.host",
    "sam.port",
    "sam.udp_port",
    "http_proxy.enabled",
    "http_proxy.host",
    "http_proxy.port",
    "http_proxy.outproxy",
    "http_proxy.jump_services",
    "socks_proxy.enabled",
    "socks_proxy.host",
    "socks_proxy.port",
    "socks_proxy.username",
    "socks_proxy.password",
    "socks_proxy.outproxy",
    "shared_client.inbound_length",
    "shared_client.outbound_length",
    "shared_client.inbound_quantity",
    "shared_client.outbound_quantity",
    "addressbook.subscriptions",
    "addressbook.refresh_hours",
    "dns.enabled",
    "dns.host",
    "dns.port",
    "dns.v4_range",
    "dns.v6_range",
    "transparent.enabled",
    "transparent.host",
    "transparent.port",
    "ops.enabled",
    "ops.host",
    "ops.port",
    "log.level",
    "log.format",
    "tunnels",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            network: NetworkConfig {
                net_id: NetId::MAIN,
            },
            router: RouterConfig {
                floodfill: false,
                // i2pd's and Java's default class for a router nobody configured
                bandwidth: Bandwidth::Class(BandwidthClass::L),
                // i2pd's default share ratio
                shared_percent: 100,
                // i2pd and Java I2P never build through two routers of one /16
                distinct_subnets: true,
            },
            ntcp2: Ntcp2Config {
                enabled: true,
                host: None,
                port: PortSetting::Auto,
                bind: None,
            },
            netdb: NetDbConfig {
                max_routers: 10_000,
                verify_publish: true,
            },
            // i2pd's exploratory pool: 2 hops, 3 tunnels each way
            exploratory: ExploratoryConfig {
                inbound_length: 2,
                inbound_quantity: 3,
                outbound_length: 2,
                outbound_quantity: 3,
                inbound_length_variance: 0,
                outbound_length_variance: 0,
            },
            reseed: ReseedConfig {
                // i2pd's reseed.threshold
                threshold: 25,
                file: None,
                urls: None,
                signers_dir: None,
                ca_file: None,
            },
            // i2pd's SAM ports, on as in i2pd
            sam: SamConfig {
                enabled: true,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(7655),
                udp_port: std::num::NonZeroU16::MIN.saturating_add(7654),
            },
            // i2pd's and Java I2P's proxy ports
            http_proxy: HttpProxySection {
                enabled: true,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(4443),
                outproxy: None,
                jump_services: JumpList(vec![
                    "http://stats.i2p/cgi-bin/jump.cgi?a=".into(),
                    "http://reg.i2p/jump/".into(),
                ]),
            },
            socks_proxy: SocksProxySection {
                enabled: true,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(4446),
                username: None,
                password: None,
                outproxy: None,
            },
            // i2pd's proxy destination: 3 hops; two tunnels each way
            shared_client: SharedClientConfig {
                inbound_length: 3,
                outbound_length: 3,
                inbound_quantity: 2,
                outbound_quantity: 2,
            },
            addressbook: AddressBookConfig {
                subscriptions: None,
                // Java I2P's and i2pd's refresh period
                refresh_hours: 12,
            },
            // Tor's DNSPort model on a port that needs no root; 53 in containers
            dns: DnsConfig {
                enabled: true,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(5352),
                v4_range: V4Range(std::net::Ipv4Addr::new(10, 191, 0, 0), 16),
                v6_range: V6Range(
                    std::net::Ipv6Addr::new(0xfd69, 0x3270, 0x6972, 0, 0, 0, 0, 0),
                    64,
                ),
            },
            // Tor's TransPort; off unless a firewall rule sends connections to it
            transparent: TransparentConfig {
                enabled: false,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(9039),
            },
            // i2pd's web console port
            ops: OpsConfig {
                enabled: true,
                host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                port: std::num::NonZeroU16::MIN.saturating_add(7069),
            },
            log: LogConfig {
                level: LogLevel::Info,
                format: LogFormat::Text,
            },
            tunnels: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_saphyr::Spanned;

    use super::*;
    use crate::config::tree::{Node, key_positions};

    fn leaf_paths(yaml: &str) -> BTreeSet<String> {
        let tree: Spanned<Node> = serde_saphyr::from_str(yaml).unwrap();
        let keys = key_positions(&tree.value);
        let all: Vec<String> = keys.into_iter().map(|(p, _)| p).collect();
        // a leaf is a path no other path extends
        all.iter()
            .filter(|p| !all.iter().any(|q| q.starts_with(&format!("{p}."))))
            .cloned()
            .collect()
    }

    #[test]
    fn default_file_parses_to_exactly_the_defaults() {
        let loaded =
            Config::from_yaml_bytes(DEFAULT_CONFIG_YAML.as_bytes(), Path::new("default.yaml"))
                .unwrap();
        assert_eq!(loaded.config, Config::default());
        assert_eq!(
            loaded.warnings,
            vec![],
            "the default config must be warning-free"
        );
    }

    #[test]
    fn every_struct_key_is_known_and_in_the_default_file() {
        // the struct's keys, found by serialising it, so a new field cannot be forgotten
        let serialised = serde_saphyr::to_string(&Config::default()).unwrap();
        let struct_keys = leaf_paths(&serialised);
        let known: BTreeSet<String> = KNOWN_KEYS.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            struct_keys, known,
            "KNOWN_KEYS differs from the Config struct"
        );
        let in_file = leaf_paths(DEFAULT_CONFIG_YAML);
        assert_eq!(
            in_file, known,
            "default.yaml must spell out every key, uncommented"
        );
    }

    #[test]
    fn every_key_is_documented_by_a_comment_above_it() {
        // each key line in default.yaml is preceded by at least one comment line
        let lines: Vec<&str> = DEFAULT_CONFIG_YAML.lines().collect();
        for key in KNOWN_KEYS {
            let leaf = key.rsplit_once('.').map_or(*key, |(_, l)| l);
            let idx = lines
                .iter()
                .position(|l| l.trim_start().starts_with(&format!("{leaf}:")))
                .unwrap_or_else(|| panic!("{key} not in default.yaml"));
            assert!(
                idx > 0 && lines[idx - 1].trim_start().starts_with('#'),
                "{key} has no comment line above it"
            );
        }
    }
}
