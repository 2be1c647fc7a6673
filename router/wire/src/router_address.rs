//! RouterAddress (spec/common-structures.md, "RouterAddress") with typed views of the NTCP2
//! options (spec/ntcp2.md, "Published Router Info") and SSU2 options (spec/ssu2.md,
//! "Published Router Info"): `s`, `i`, `host`, `port`, `v`, `caps`, `mtu` and introducers.
//!
//! The expiration field must be zero on the wire ("Routers MUST set this field to all zeros");
//! i2pd 2.45.1 reads and ignores it, so a nonzero value is accepted on parse and kept for exact
//! re-encoding, while everything built here writes zero.

use core::net::IpAddr;

use crate::base64;
use crate::error::{Error, ErrorKind, Field, Result, ResultExt};
use crate::mapping::{Mapping, read_mapping};
use crate::primitives::{Date, Hash, I2pString};
use crate::reader::{Decode, Encode, Reader, Sink};

/// Transport of an address, from its `transport_style` (i2pd treats any `NTCP*` as NTCP2 and
/// any `SSU*` as SSU2; NTCP1 and SSU1 are gone from the network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Ntcp2,
    Ssu2,
    Other,
}

/// Capabilities in an address's `caps` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressCaps {
    /// `4`: outbound IPv4
    pub v4: bool,
    /// `6`: outbound IPv6
    pub v6: bool,
    /// `B`: SSU2 peer testing
    pub peer_test: bool,
    /// `C`: SSU2 introducer
    pub introducer: bool,
}

impl AddressCaps {
    /// Parse the option value; unknown letters are ignored (as all implementations do).
    pub fn parse(s: &str) -> AddressCaps {
        let mut c = AddressCaps::default();
        for ch in s.chars() {
            match ch {
                '4' => c.v4 = true,
                '6' => c.v6 = true,
                'B' => c.peer_test = true,
                'C' => c.introducer = true,
                _ => {}
            }
        }
        c
    }

    /// The recommended order: `4`, `6`, `B`, `C`.
    pub fn to_option_value(&self) -> String {
        let mut s = String::new();
        for (on, ch) in [
            (self.v4, '4'),
            (self.v6, '6'),
            (self.peer_test, 'B'),
            (self.introducer, 'C'),
        ] {
            if on {
                s.push(ch);
            }
        }
        s
    }
}

/// The NTCP2 parameters of an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ntcp2Address {
    /// `s`: X25519 static key
    pub static_key: [u8; 32],
    /// `i`: AES IV for message 1 (present only in published addresses)
    pub iv: Option<[u8; 16]>,
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub caps: AddressCaps,
}

/// One SSU2 introducer (`ih<n>`, `itag<n>`, `iexp<n>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introducer {
    pub index: u8,
    pub router_hash: Hash,
    pub tag: u32,
    /// seconds since the epoch
    pub expires: u32,
}

/// The SSU2 parameters of an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ssu2Address {
    /// `s`: X25519 static key
    pub static_key: [u8; 32],
    /// `i`: 32-byte intro key
    pub intro_key: [u8; 32],
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub mtu: Option<u16>,
    pub caps: AddressCaps,
    pub introducers: Vec<Introducer>,
}

/// A way to reach a router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterAddress {
    cost: u8,
    expiration: Date,
    transport: I2pString,
    options: Mapping,
}

fn opt_err(kind: ErrorKind, key: Field) -> Error {
    Error::new(kind, 0)
        .at(key)
        .at(Field::Options)
        .at(Field::RouterAddress)
}

fn port_string(port: u16) -> String {
    port.to_string()
}

impl RouterAddress {
    /// A general address with zero expiration. `options` should come from
    /// [`Mapping::from_pairs`] so it is canonical.
    pub fn new(cost: u8, transport_style: &str, options: Mapping) -> Result<RouterAddress> {
        let transport = I2pString::new(transport_style)
            .at(Field::TransportStyle)
            .at(Field::RouterAddress)?;
        Ok(RouterAddress {
            cost,
            expiration: Date::ZERO,
            transport,
            options,
        })
    }

    /// A published NTCP2 address: `host`, `i`, `port`, `s`, `v=2`.
    pub fn ntcp2_published(
        cost: u8,
        static_key: &[u8; 32],
        iv: &[u8; 16],
        host: IpAddr,
        port: u16,
    ) -> Result<RouterAddress> {
        let options = Mapping::from_pairs([
            ("host", host.to_string()),
            ("i", base64::encode(iv)),
            ("port", port_string(port)),
            ("s", base64::encode(static_key)),
            ("v", "2".to_string()),
        ])?;
        RouterAddress::new(cost, "NTCP2", options)
    }

    /// An unpublished (outbound-only) NTCP2 address: `s`, `v=2` and, if any, `caps` (`4`/`6`).
    /// The spec suggests cost 14.
    pub fn ntcp2_unpublished(
        cost: u8,
        static_key: &[u8; 32],
        caps: AddressCaps,
    ) -> Result<RouterAddress> {
        let mut pairs = vec![("s", base64::encode(static_key)), ("v", "2".to_string())];
        let c = caps.to_option_value();
        if !c.is_empty() {
            pairs.push(("caps", c));
        }
        RouterAddress::new(cost, "NTCP2", Mapping::from_pairs(pairs)?)
    }

    /// A published SSU2 address.
    pub fn ssu2_published(
        cost: u8,
        static_key: &[u8; 32],
        intro_key: &[u8; 32],
        host: IpAddr,
        port: u16,
        mtu: Option<u16>,
        caps: AddressCaps,
    ) -> Result<RouterAddress> {
        let mut pairs = vec![
            ("host", host.to_string()),
            ("i", base64::encode(intro_key)),
            ("port", port_string(port)),
            ("s", base64::encode(static_key)),
            ("v", "2".to_string()),
        ];
        if let Some(m) = mtu {
            pairs.push(("mtu", m.to_string()));
        }
        let c = caps.to_option_value();
        if !c.is_empty() {
            pairs.push(("caps", c));
        }
        RouterAddress::new(cost, "SSU2", Mapping::from_pairs(pairs)?)
    }

    pub fn cost(&self) -> u8 {
        self.cost
    }

    /// The (unused) expiration; zero in every address built here.
    pub fn expiration(&self) -> Date {
        self.expiration
    }

    pub fn transport_style(&self) -> &I2pString {
        &self.transport
    }

    pub fn options(&self) -> &Mapping {
        &self.options
    }

    pub fn transport(&self) -> Transport {
        let t = self.transport.as_bytes();
        if t.starts_with(b"NTCP") {
            Transport::Ntcp2
        } else if t.starts_with(b"SSU") {
            Transport::Ssu2
        } else {
            Transport::Other
        }
    }

    /// `host` as an IP address; `Ok(None)` if absent, an error if it is not an IP literal
    /// (host names are allowed by the spec but ignored by i2pd and by us).
    pub fn host(&self) -> Result<Option<IpAddr>> {
        match self.options.get("host") {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .map(Some)
                .ok_or_else(|| {
                    opt_err(
                        ErrorKind::BadValue("host is not an IP address"),
                        Field::OptHost,
                    )
                }),
        }
    }

    /// `port`.
    pub fn port(&self) -> Result<Option<u16>> {
        self.number("port", Field::OptPort, "port is not a number in 0..=65535")
    }

    /// `mtu` (SSU2).
    pub fn mtu(&self) -> Result<Option<u16>> {
        self.number("mtu", Field::OptMtu, "mtu is not a number in 0..=65535")
    }

    fn number(&self, key: &str, field: Field, what: &'static str) -> Result<Option<u16>> {
        match self.options.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u16>().ok())
                .map(Some)
                .ok_or_else(|| opt_err(ErrorKind::BadValue(what), field)),
        }
    }

    fn key32(&self, key: &str, field: Field) -> Result<Option<[u8; 32]>> {
        self.b64_array(key, field)
    }

    fn b64_array<const N: usize>(&self, key: &str, field: Field) -> Result<Option<[u8; N]>> {
        match self.options.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| opt_err(ErrorKind::BadValue("not ASCII base64"), field))?;
                base64::decode_array::<N>(s)
                    .map(Some)
                    .map_err(|e| e.at(field).at(Field::Options).at(Field::RouterAddress))
            }
        }
    }

    /// `s`: the X25519 static key (NTCP2 and SSU2).
    pub fn static_key(&self) -> Result<Option<[u8; 32]>> {
        self.key32("s", Field::OptS)
    }

    /// `caps`.
    pub fn caps(&self) -> AddressCaps {
        self.options
            .get_str("caps")
            .map(AddressCaps::parse)
            .unwrap_or_default()
    }

    /// Whether `v` lists version 2 (`v=2` or a comma-separated list containing 2).
    pub fn supports_v2(&self) -> bool {
        self.options
            .get_str("v")
            .is_some_and(|v| v.split(',').any(|x| x.trim() == "2"))
    }

    /// The NTCP2 view: requires an `NTCP`/`NTCP2` style, `s`, and `v` including 2.
    pub fn ntcp2(&self) -> Result<Ntcp2Address> {
        if self.transport() != Transport::Ntcp2 {
            return Err(Error::new(ErrorKind::BadValue("not an NTCP2 address"), 0)
                .at(Field::TransportStyle)
                .at(Field::RouterAddress));
        }
        if !self.supports_v2() {
            return Err(opt_err(ErrorKind::Missing("v=2"), Field::OptV));
        }
        let static_key = self
            .static_key()?
            .ok_or_else(|| opt_err(ErrorKind::Missing("static key s"), Field::OptS))?;
        Ok(Ntcp2Address {
            static_key,
            iv: self.b64_array::<16>("i", Field::OptI)?,
            host: self.host()?,
            port: self.port()?,
            caps: self.caps(),
        })
    }

    /// The SSU2 view: requires an `SSU`/`SSU2` style, `s`, `i` and `v` including 2.
    pub fn ssu2(&self) -> Result<Ssu2Address> {
        if self.transport() != Transport::Ssu2 {
            return Err(Error::new(ErrorKind::BadValue("not an SSU2 address"), 0)
                .at(Field::TransportStyle)
                .at(Field::RouterAddress));
        }
        if !self.supports_v2() {
            return Err(opt_err(ErrorKind::Missing("v=2"), Field::OptV));
        }
        let static_key = self
            .static_key()?
            .ok_or_else(|| opt_err(ErrorKind::Missing("static key s"), Field::OptS))?;
        let intro_key = self
            .key32("i", Field::OptI)?
            .ok_or_else(|| opt_err(ErrorKind::Missing("intro key i"), Field::OptI))?;
        Ok(Ssu2Address {
            static_key,
            intro_key,
            host: self.host()?,
            port: self.port()?,
            mtu: self.mtu()?,
            caps: self.caps(),
            introducers: self.introducers()?,
        })
    }

    /// SSU2 introducers `ih<n>`/`itag<n>`/`iexp<n>` for n in 0..=9; incomplete sets are an
    /// error, as they could never be used.
    pub fn introducers(&self) -> Result<Vec<Introducer>> {
        let mut out = Vec::new();
        for n in 0u8..=9 {
            let ih = self.options.get(&format!("ih{n}"));
            let itag = self.options.get(&format!("itag{n}"));
            let iexp = self.options.get(&format!("iexp{n}"));
            if ih.is_none() && itag.is_none() && iexp.is_none() {
                continue;
            }
            let bad = |what| {
                Err(Error::new(ErrorKind::BadValue(what), 0)
                    .at_index(Field::OptIntroducer, n as usize)
                    .at(Field::Options)
                    .at(Field::RouterAddress))
            };
            let Some(router_hash) = ih
                .and_then(I2pString::as_str)
                .and_then(|s| Hash::from_base64(s).ok())
            else {
                return bad("ih is missing or not a base64 hash");
            };
            let num = |v: Option<&I2pString>| {
                v.and_then(I2pString::as_str)
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u32>().ok())
            };
            let Some(tag) = num(itag) else {
                return bad("itag is missing or not a number");
            };
            let Some(expires) = num(iexp) else {
                return bad("iexp is missing or not a number");
            };
            out.push(Introducer {
                index: n,
                router_hash,
                tag,
                expires,
            });
        }
        Ok(out)
    }
}

pub(crate) fn read_router_address(r: &mut Reader<'_>) -> Result<RouterAddress> {
    let cost = r.u8().at(Field::Cost)?;
    let expiration = Date::read(r).at(Field::Expiration)?;
    let transport = I2pString::read(r).at(Field::TransportStyle)?;
    let options = read_mapping(r).at(Field::Options)?;
    Ok(RouterAddress {
        cost,
        expiration,
        transport,
        options,
    })
}

impl Decode for RouterAddress {
    const NAME: Field = Field::RouterAddress;

    fn read(r: &mut Reader<'_>) -> Result<RouterAddress> {
        read_router_address(r).at(Field::RouterAddress)
    }
}

impl Encode for RouterAddress {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u8(self.cost);
        self.expiration.encode_to(out);
        self.transport.encode_to(out);
        self.options.encode_to(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn ntcp2_published_round_trip() {
        let a = RouterAddress::ntcp2_published(
            3,
            &[7; 32],
            &[8; 16],
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9)),
            12345,
        )
        .unwrap();
        let bytes = a.to_bytes();
        let b = RouterAddress::parse(&bytes).unwrap();
        assert_eq!(a, b);
        assert!(b.options().is_canonical());
        let n = b.ntcp2().unwrap();
        assert_eq!(n.static_key, [7; 32]);
        assert_eq!(n.iv, Some([8; 16]));
        assert_eq!(n.port, Some(12345));
        assert_eq!(n.host, Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9))));
        assert!(b.ssu2().is_err());
    }

    #[test]
    fn malformed_options_name_the_option() {
        let opts = Mapping::from_pairs([("s", "short="), ("v", "2"), ("port", "99999")]).unwrap();
        let a = RouterAddress::new(10, "NTCP2", opts).unwrap();
        let e = a.ntcp2().unwrap_err();
        assert!(
            e.path_string().starts_with("RouterAddress.options.s"),
            "{e}"
        );
        let e = a.port().unwrap_err();
        assert_eq!(e.path_string(), "RouterAddress.options.port");
        let opts = Mapping::from_pairs([("v", "2")]).unwrap();
        let a = RouterAddress::new(10, "NTCP2", opts).unwrap();
        assert!(matches!(
            a.ntcp2().unwrap_err().kind(),
            ErrorKind::Missing(_)
        ));
    }

    #[test]
    fn caps_and_versions() {
        assert_eq!(
            AddressCaps::parse("BC6"),
            AddressCaps {
                v4: false,
                v6: true,
                peer_test: true,
                introducer: true
            }
        );
        let opts = Mapping::from_pairs([("v", "2,3")]).unwrap();
        assert!(RouterAddress::new(1, "SSU2", opts).unwrap().supports_v2());
        let opts = Mapping::from_pairs([("v", "3")]).unwrap();
        assert!(!RouterAddress::new(1, "SSU2", opts).unwrap().supports_v2());
    }

    #[test]
    fn ssu2_introducers() {
        let h = Hash::from_bytes([5; 32]);
        let s = base64::encode(&[1; 32]);
        let i = base64::encode(&[2; 32]);
        let opts = Mapping::from_pairs([
            ("caps", "4".to_string()),
            ("i", i),
            ("iexp0", "1700000000".to_string()),
            ("ih0", h.to_base64()),
            ("itag0", "1234".to_string()),
            ("s", s),
            ("v", "2".to_string()),
        ])
        .unwrap();
        let a = RouterAddress::new(9, "SSU2", opts).unwrap();
        let v = a.ssu2().unwrap();
        assert_eq!(v.introducers.len(), 1);
        assert_eq!(v.introducers[0].router_hash, h);
        assert_eq!(v.introducers[0].tag, 1234);
        assert!(v.caps.v4);
        assert_eq!(v.host, None);
    }
}
