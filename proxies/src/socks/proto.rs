//! The SOCKS handshake as a pure parser (no IO), so it can be fuzzed and tested byte by byte:
//! SOCKS5 (RFC 1928) greeting, username/password sub-negotiation (RFC 1929) and CONNECT
//! request; SOCKS4 and SOCKS4a CONNECT. Every function takes the bytes received so far and
//! says whether it needs more, what it parsed and how many bytes that used.

use std::net::{Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// Longest SOCKS4 user id / SOCKS4a host name we accept (each is NUL-terminated).
const MAX_SOCKS4_FIELD: usize = 255;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SocksError {
    #[error("unsupported SOCKS version {0}")]
    Version(u8),
    #[error("client offered no authentication method we accept")]
    NoAcceptableMethod,
    #[error("unsupported SOCKS command {0} (only CONNECT)")]
    Command(u8),
    #[error("unsupported address type {0}")]
    AddressType(u8),
    #[error("malformed request: {0}")]
    Malformed(&'static str),
}

/// The outcome of a parse step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// Not enough bytes yet.
    Incomplete,
    /// A value and how many bytes it used.
    Done(T, usize),
}

/// SOCKS5 authentication methods.
pub const METHOD_NONE: u8 = 0x00;
pub const METHOD_USERPASS: u8 = 0x02;
pub const METHOD_NOT_ACCEPTABLE: u8 = 0xff;

/// Where the client wants to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// A CONNECT request (SOCKS4/4a/5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    pub version: u8,
    pub host: Host,
    pub port: u16,
    /// SOCKS4 user id (ignored, kept for logs)
    pub user_id: Option<String>,
}

/// The first byte decides the protocol version.
pub fn version(buf: &[u8]) -> Option<u8> {
    buf.first().copied()
}

/// SOCKS5 greeting: VER NMETHODS METHODS… → the offered methods.
pub fn parse_greeting(buf: &[u8]) -> Result<Parsed<Vec<u8>>, SocksError> {
    let (Some(&ver), Some(&n)) = (buf.first(), buf.get(1)) else {
        return Ok(Parsed::Incomplete);
    };
    if ver != 5 {
        return Err(SocksError::Version(ver));
    }
    let end = 2 + usize::from(n);
    match buf.get(2..end) {
        Some(m) => Ok(Parsed::Done(m.to_vec(), end)),
        None => Ok(Parsed::Incomplete),
    }
}

/// Pick our method: user/pass when we require it, else "no auth".
pub fn choose_method(offered: &[u8], require_auth: bool) -> u8 {
    let want = if require_auth {
        METHOD_USERPASS
    } else {
        METHOD_NONE
    };
    if offered.contains(&want) {
        want
    } else {
        METHOD_NOT_ACCEPTABLE
    }
}

/// A user name and password, as sent.
pub type Credentials = (Vec<u8>, Vec<u8>);

/// RFC 1929: VER(1) ULEN UNAME PLEN PASSWD → (user, password).
pub fn parse_userpass(buf: &[u8]) -> Result<Parsed<Credentials>, SocksError> {
    let (Some(&ver), Some(&ulen)) = (buf.first(), buf.get(1)) else {
        return Ok(Parsed::Incomplete);
    };
    if ver != 1 {
        return Err(SocksError::Malformed(
            "user/password sub-negotiation version must be 1",
        ));
    }
    let u_end = 2 + usize::from(ulen);
    let (Some(user), Some(&plen)) = (buf.get(2..u_end), buf.get(u_end)) else {
        return Ok(Parsed::Incomplete);
    };
    let p_end = u_end + 1 + usize::from(plen);
    match buf.get(u_end + 1..p_end) {
        Some(pass) => Ok(Parsed::Done((user.to_vec(), pass.to_vec()), p_end)),
        None => Ok(Parsed::Incomplete),
    }
}

/// SOCKS5 request: VER CMD RSV ATYP ADDR PORT.
pub fn parse_socks5_request(buf: &[u8]) -> Result<Parsed<ConnectRequest>, SocksError> {
    let Some(head) = buf.get(..4) else {
        return Ok(Parsed::Incomplete);
    };
    let (ver, cmd, atyp) = (head[0], head[1], head[3]);
    if ver != 5 {
        return Err(SocksError::Version(ver));
    }
    if cmd != 1 {
        return Err(SocksError::Command(cmd));
    }
    let (host, addr_end) = match atyp {
        1 => match buf.get(4..8) {
            Some(a) => (Host::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])), 8),
            None => return Ok(Parsed::Incomplete),
        },
        3 => {
            let Some(&len) = buf.get(4) else {
                return Ok(Parsed::Incomplete);
            };
            let end = 5 + usize::from(len);
            match buf.get(5..end) {
                Some(name) => {
                    let name = std::str::from_utf8(name)
                        .map_err(|_| SocksError::Malformed("host name is not UTF-8"))?;
                    if name.is_empty() {
                        return Err(SocksError::Malformed("empty host name"));
                    }
                    (Host::Name(name.to_string()), end)
                }
                None => return Ok(Parsed::Incomplete),
            }
        }
        4 => match buf.get(4..20) {
            Some(a) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(a);
                (Host::V6(Ipv6Addr::from(o)), 20)
            }
            None => return Ok(Parsed::Incomplete),
        },
        other => return Err(SocksError::AddressType(other)),
    };
    match buf.get(addr_end..addr_end + 2) {
        Some(p) => Ok(Parsed::Done(
            ConnectRequest {
                version: 5,
                host,
                port: u16::from_be_bytes([p[0], p[1]]),
                user_id: None,
            },
            addr_end + 2,
        )),
        None => Ok(Parsed::Incomplete),
    }
}

fn nul_terminated(buf: &[u8], from: usize) -> Result<Option<(String, usize)>, SocksError> {
    let rest = buf.get(from..).unwrap_or(&[]);
    match rest.iter().position(|&b| b == 0) {
        Some(i) if i > MAX_SOCKS4_FIELD => Err(SocksError::Malformed("SOCKS4 field too long")),
        Some(i) => {
            let s = std::str::from_utf8(&rest[..i])
                .map_err(|_| SocksError::Malformed("SOCKS4 field is not UTF-8"))?;
            Ok(Some((s.to_string(), from + i + 1)))
        }
        None if rest.len() > MAX_SOCKS4_FIELD => {
            Err(SocksError::Malformed("SOCKS4 field too long"))
        }
        None => Ok(None),
    }
}

/// SOCKS4/4a: VER(4) CMD PORT IP USERID NUL [HOST NUL if IP is 0.0.0.x, x≠0].
pub fn parse_socks4_request(buf: &[u8]) -> Result<Parsed<ConnectRequest>, SocksError> {
    let Some(head) = buf.get(..8) else {
        return Ok(Parsed::Incomplete);
    };
    if head[0] != 4 {
        return Err(SocksError::Version(head[0]));
    }
    if head[1] != 1 {
        return Err(SocksError::Command(head[1]));
    }
    let port = u16::from_be_bytes([head[2], head[3]]);
    let ip = Ipv4Addr::new(head[4], head[5], head[6], head[7]);
    let Some((user, after_user)) = nul_terminated(buf, 8)? else {
        return Ok(Parsed::Incomplete);
    };
    let o = ip.octets();
    let is_4a = o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] != 0;
    let (host, end) = if is_4a {
        let Some((name, end)) = nul_terminated(buf, after_user)? else {
            return Ok(Parsed::Incomplete);
        };
        if name.is_empty() {
            return Err(SocksError::Malformed("empty SOCKS4a host name"));
        }
        (Host::Name(name), end)
    } else {
        (Host::V4(ip), after_user)
    };
    let user_id = (!user.is_empty()).then_some(user);
    Ok(Parsed::Done(
        ConnectRequest {
            version: 4,
            host,
            port,
            user_id,
        },
        end,
    ))
}

/// SOCKS5 reply codes (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reply5 {
    Succeeded = 0,
    GeneralFailure = 1,
    NotAllowed = 2,
    NetworkUnreachable = 3,
    HostUnreachable = 4,
    ConnectionRefused = 5,
    TtlExpired = 6,
    CommandNotSupported = 7,
    AddressTypeNotSupported = 8,
}

/// A SOCKS5 reply with a zero IPv4 bind address.
pub fn socks5_reply(code: Reply5) -> [u8; 10] {
    [5, code as u8, 0, 1, 0, 0, 0, 0, 0, 0]
}

/// A SOCKS4 reply: 90 granted, 91 rejected/failed.
pub fn socks4_reply(granted: bool) -> [u8; 8] {
    [0, if granted { 90 } else { 91 }, 0, 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks5_greeting_userpass_and_requests() {
        assert_eq!(parse_greeting(&[5]), Ok(Parsed::Incomplete));
        assert_eq!(parse_greeting(&[5, 2, 0]), Ok(Parsed::Incomplete));
        assert_eq!(
            parse_greeting(&[5, 2, 0, 2, 9]),
            Ok(Parsed::Done(vec![0, 2], 4))
        );
        assert_eq!(parse_greeting(&[4, 1, 0]), Err(SocksError::Version(4)));
        assert_eq!(choose_method(&[0, 2], true), METHOD_USERPASS);
        assert_eq!(choose_method(&[0], true), METHOD_NOT_ACCEPTABLE);
        assert_eq!(choose_method(&[2], false), METHOD_NOT_ACCEPTABLE);

        let up = [1, 3, b'b', b'o', b'b', 2, b'p', b'w'];
        assert_eq!(
            parse_userpass(&up),
            Ok(Parsed::Done((b"bob".to_vec(), b"pw".to_vec()), 8))
        );
        assert_eq!(parse_userpass(&up[..7]), Ok(Parsed::Incomplete));

        let mut req = vec![5, 1, 0, 3, 11];
        req.extend_from_slice(b"example.i2p");
        req.extend_from_slice(&80u16.to_be_bytes());
        for cut in 0..req.len() {
            assert_eq!(
                parse_socks5_request(&req[..cut]),
                Ok(Parsed::Incomplete),
                "cut {cut}"
            );
        }
        let want = ConnectRequest {
            version: 5,
            host: Host::Name("example.i2p".into()),
            port: 80,
            user_id: None,
        };
        assert_eq!(
            parse_socks5_request(&req),
            Ok(Parsed::Done(want, req.len()))
        );
        let v4 = [5, 1, 0, 1, 10, 191, 0, 7, 0, 80];
        assert!(
            matches!(parse_socks5_request(&v4), Ok(Parsed::Done(ConnectRequest { host: Host::V4(ip), .. }, 10)) if ip == Ipv4Addr::new(10, 191, 0, 7))
        );
        assert_eq!(
            parse_socks5_request(&[5, 2, 0, 1]),
            Err(SocksError::Command(2))
        );
        assert_eq!(
            parse_socks5_request(&[5, 1, 0, 9]),
            Err(SocksError::AddressType(9))
        );
    }

    #[test]
    fn socks4_and_4a() {
        let mut r = vec![4, 1, 0, 80, 0, 0, 0, 1];
        r.extend_from_slice(b"user\0eepsite.i2p\0");
        let want = ConnectRequest {
            version: 4,
            host: Host::Name("eepsite.i2p".into()),
            port: 80,
            user_id: Some("user".into()),
        };
        assert_eq!(parse_socks4_request(&r), Ok(Parsed::Done(want, r.len())));
        assert_eq!(
            parse_socks4_request(&r[..r.len() - 1]),
            Ok(Parsed::Incomplete)
        );
        let plain = [4, 1, 0, 80, 10, 191, 0, 7, 0];
        assert!(matches!(
            parse_socks4_request(&plain),
            Ok(Parsed::Done(
                ConnectRequest {
                    host: Host::V4(_),
                    user_id: None,
                    ..
                },
                9
            ))
        ));
        let long = [vec![4, 1, 0, 80, 1, 2, 3, 4], vec![b'a'; 300]].concat();
        assert!(matches!(
            parse_socks4_request(&long),
            Err(SocksError::Malformed(_))
        ));
    }
}
