//! Building our own signed RouterInfo from the configuration and our keys, and checking it by
//! parsing it back the way a peer would.
//!
//! What we publish (see docs/overview/network-database.md, "Expected Options", and
//! spec/ntcp2.md, "Published Router Info"):
//! - options `caps` (bandwidth class letter, `f` for a floodfill, `R` when an address is
//!   published, else `U`), `netId`, `router.version`;
//! - one NTCP2 address: published (`host`, `port`, `s`, `i`, `v=2`, cost 3) when `ntcp2.host`
//!   is set, otherwise unpublished (`s`, `v=2`, `caps=4` or `6`, cost 14), with i2pd's costs.

use std::net::IpAddr;
use std::num::NonZeroU16;
use std::time::{SystemTime, UNIX_EPOCH};

use i2p_wire::{AddressCaps, Date, Encode, RouterAddress, RouterInfo, RouterInfoBuilder};
use thiserror::Error;

use crate::config::Config;
use crate::identity::{Ntcp2Keys, RouterKeys};

/// File name of our RouterInfo in the data dir.
pub const ROUTER_INFO_FILE: &str = "router.info";

/// The `router.version` we publish: the I2P API level of i2pd 2.45.1, our interop target.
/// Peers use it to decide which messages we understand; i2pd requires at least 0.9.38 for
/// floodfills and 0.9.51 for short tunnel build messages.
pub const ROUTER_VERSION: &str = "0.9.57";

/// Cost of a published NTCP2 address (i2pd's `COST_NTCP2_PUBLISHED`).
pub const COST_NTCP2_PUBLISHED: u8 = 3;
/// Cost of an unpublished NTCP2 address (spec/ntcp2.md suggests 14, as i2pd uses).
pub const COST_NTCP2_UNPUBLISHED: u8 = 14;

/// Why our RouterInfo could not be produced.
#[derive(Debug, Error)]
pub enum RouterInfoError {
    #[error("cannot build our RouterInfo")]
    Build(#[source] i2p_wire::Error),
    #[error("our RouterInfo does not parse and verify after building it")]
    Verify(#[source] i2p_wire::Error),
    #[error("our RouterInfo reads back differently from what was built")]
    RoundTrip,
    #[error("the system clock is set before 1970")]
    Clock,
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> Result<u64, RouterInfoError> {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| RouterInfoError::Clock)?;
    u64::try_from(d.as_millis()).map_err(|_| RouterInfoError::Clock)
}

/// The router `caps` value for `config`, in i2pd's order: bandwidth, `f`, then `R`/`U`.
pub fn caps(config: &Config) -> String {
    let mut caps = String::new();
    caps.push(config.router.bandwidth_class().letter());
    if config.router.floodfill {
        caps.push('f');
    }
    caps.push(if config.ntcp2.host.is_some() {
        'R'
    } else {
        'U'
    });
    caps
}

/// Our NTCP2 address (`None` when NTCP2 is disabled).
pub fn ntcp2_address(
    config: &Config,
    keys: &Ntcp2Keys,
    port: NonZeroU16,
) -> Result<Option<RouterAddress>, i2p_wire::Error> {
    if !config.ntcp2.enabled {
        return Ok(None);
    }
    let addr = match config.ntcp2.host {
        Some(host) => RouterAddress::ntcp2_published(
            COST_NTCP2_PUBLISHED,
            keys.static_public(),
            keys.iv(),
            host,
            port.get(),
        )?,
        None => {
            // outbound only: say which IP family we can connect from (IPv4 unless the listen
            // address says IPv6)
            let v6 = matches!(config.ntcp2.listen_ip(), Some(IpAddr::V6(_)));
            let caps = AddressCaps {
                v4: !v6,
                v6,
                ..AddressCaps::default()
            };
            RouterAddress::ntcp2_unpublished(COST_NTCP2_UNPUBLISHED, keys.static_public(), caps)?
        }
    };
    Ok(Some(addr))
}

/// Build and sign our RouterInfo, published at `now_ms`, then parse and verify the bytes as a
/// peer would and check they describe the same router. Returns the encoded bytes.
pub fn build(
    config: &Config,
    keys: &RouterKeys,
    ntcp2: &Ntcp2Keys,
    ntcp2_port: NonZeroU16,
    now_ms: u64,
) -> Result<Vec<u8>, RouterInfoError> {
    let now = Date::from_millis(now_ms);
    let mut builder = RouterInfoBuilder::new(keys.identity().clone(), now)
        .net_id(config.network.net_id.get())
        .caps(&caps(config))
        .router_version(ROUTER_VERSION);
    if let Some(addr) = ntcp2_address(config, ntcp2, ntcp2_port).map_err(RouterInfoError::Build)? {
        builder = builder.address(addr);
    }
    let built = builder
        .sign(&|msg| keys.sign(msg).to_vec())
        .map_err(RouterInfoError::Build)?;
    let bytes = built.to_bytes();
    let parsed = RouterInfo::parse(&bytes)
        .and_then(|u| u.verify(now))
        .map_err(RouterInfoError::Verify)?;
    if parsed != built || parsed.hash() != keys.hash() {
        return Err(RouterInfoError::RoundTrip);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use i2p_wire::BandwidthClass as WireClass;

    use super::*;

    fn config(yaml: &str) -> Config {
        Config::from_yaml_bytes(yaml.as_bytes(), Path::new("test.yaml"))
            .unwrap()
            .config
    }

    fn keys() -> (RouterKeys, Ntcp2Keys) {
        let mut r = [0u8; 96];
        r.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (i * 7) as u8);
        (
            RouterKeys::from_random(&r).unwrap(),
            Ntcp2Keys::from_random(&[3u8; 48]),
        )
    }

    const NOW: u64 = 1_700_000_000_000;

    fn port(p: u16) -> NonZeroU16 {
        NonZeroU16::new(p).unwrap()
    }

    #[test]
    fn published_floodfill_router_info() {
        let c = config(
            "network: {net_id: 17}\nrouter: {floodfill: true, bandwidth: X}\n\
             ntcp2: {host: 198.18.0.9, port: 12009}\n",
        );
        let (k, n) = keys();
        let bytes = build(&c, &k, &n, port(12009), NOW).unwrap();
        let ri = RouterInfo::parse(&bytes)
            .unwrap()
            .verify(Date::from_millis(NOW))
            .unwrap();
        assert_eq!(ri.hash(), k.hash());
        assert_eq!(ri.published().as_millis(), NOW);
        assert_eq!(ri.net_id().unwrap(), Some(17));
        assert_eq!(ri.options().get_str("caps"), Some("XfR"));
        let caps = ri.caps();
        assert!(caps.floodfill && caps.reachable);
        assert_eq!(caps.bandwidth(), Some(WireClass::X));
        assert_eq!(ri.options().get_str("router.version"), Some(ROUTER_VERSION));
        assert_eq!(ri.addresses().len(), 1);
        let a = &ri.addresses()[0];
        assert_eq!(a.cost(), COST_NTCP2_PUBLISHED);
        let n2 = a.ntcp2().unwrap();
        assert_eq!(n2.host, Some("198.18.0.9".parse().unwrap()));
        assert_eq!(n2.port, Some(12009));
        assert_eq!(&n2.static_key, n.static_public());
        assert_eq!(n2.iv.as_ref(), Some(n.iv()));
        // re-encoding is byte-identical
        assert_eq!(ri.to_bytes(), bytes);
    }

    #[test]
    fn unpublished_router_info_has_no_host_port_or_iv() {
        let c = config("network: {net_id: 99}\n");
        let (k, n) = keys();
        let bytes = build(&c, &k, &n, port(20000), NOW).unwrap();
        let ri = RouterInfo::parse(&bytes)
            .unwrap()
            .verify(Date::from_millis(NOW))
            .unwrap();
        assert_eq!(ri.options().get_str("caps"), Some("LU"));
        let a = &ri.addresses()[0];
        assert_eq!(a.cost(), COST_NTCP2_UNPUBLISHED);
        let n2 = a.ntcp2().unwrap();
        assert_eq!((n2.host, n2.port, n2.iv), (None, None, None));
        assert!(n2.caps.v4 && !n2.caps.v6);
        // an IPv6 listen address makes it a "6" address
        let c = config("network: {net_id: 99}\nntcp2: {bind: \"::\"}\n");
        let bytes = build(&c, &k, &n, port(20000), NOW).unwrap();
        let ri = RouterInfo::parse(&bytes)
            .unwrap()
            .verify(Date::from_millis(NOW))
            .unwrap();
        let caps = ri.addresses()[0].ntcp2().unwrap().caps;
        assert!(caps.v6 && !caps.v4);
    }

    #[test]
    fn caps_follow_the_config() {
        let cases = [
            ("router: {bandwidth: K}\n", "KU"),
            ("router: {bandwidth: 100}\n", "NU"),
            ("router: {bandwidth: 3000, shared_percent: 5}\n", "OU"),
            ("router: {bandwidth: 3000, shared_percent: 10}\n", "PU"),
            ("ntcp2: {host: 203.0.114.5}\nrouter: {bandwidth: P}\n", "PR"),
            (
                "ntcp2: {host: 203.0.114.5}\nrouter: {bandwidth: 300, floodfill: true}\n",
                "PfR",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(caps(&config(yaml)), want, "{yaml}");
        }
    }

    #[test]
    fn a_tampered_router_info_does_not_verify() {
        let c = config("network: {net_id: 17}\nntcp2: {host: 198.18.0.9, port: 12009}\n");
        let (k, n) = keys();
        let mut bytes = build(&c, &k, &n, port(12009), NOW).unwrap();
        let i = bytes.len() - 70; // inside the options, before the signature
        bytes[i] ^= 1;
        let parsed = RouterInfo::parse(&bytes);
        assert!(
            parsed
                .and_then(|u| u.verify(Date::from_millis(NOW)))
                .is_err()
        );
    }
}
