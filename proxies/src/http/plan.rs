//! What the HTTP proxy does with one request, decided without IO so it can be tested and
//! fuzzed: the target (an I2P host, a CONNECT tunnel, a clearnet URL that needs an outproxy,
//! or a page of the proxy itself), the `?i2paddresshelper=` parameter, and the scrubbed headers
//! sent to the server.
//!
//! Header policy, as i2pd's and Java I2P's HTTP proxies do it: nothing that identifies the
//! user or the client software leaves the router. `User-Agent` becomes the common
//! `MYOB/6.66 (AN/ON)`; proxy, forwarding, `Via`, `From` and client-supplied `X-I2P-*` headers
//! are removed; `Referer` is kept only when it points at the same host; `Accept-Language` is
//! removed; the server is asked to close the connection after the response.

use thiserror::Error;

/// The User-Agent every I2P HTTP proxy sends.
pub const USER_AGENT: &str = "MYOB/6.66 (AN/ON)";
/// The host name of the proxy's own pages (reserved: never resolved in the address book).
pub const PROXY_HOST: &str = "proxy.i2p";
/// The query parameter of an address helper.
pub const HELPER_PARAM: &str = "i2paddresshelper";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BadRequest {
    #[error("request target {0:?} is not an absolute http:// URL and there is no Host header")]
    NoHost(String),
    #[error("unsupported scheme in {0:?} (only http:// through the proxy; use CONNECT for TLS)")]
    Scheme(String),
    #[error("bad port in {0:?}")]
    Port(String),
    #[error("bad CONNECT target {0:?}")]
    Connect(String),
    #[error("bad host name {0:?}")]
    Host(String),
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// An HTTP request to an I2P host.
    I2p(I2pRequest),
    /// `CONNECT host:port` to an I2P host.
    Connect { host: String, port: u16 },
    /// A page of the proxy itself (`http://proxy.i2p/...`).
    Local { path: String, query: String },
    /// A non-I2P destination: needs an outproxy.
    Clearnet { uri: String, connect: bool },
}

/// An HTTP request for an I2P site, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I2pRequest {
    /// lower case, no port
    pub host: String,
    pub port: u16,
    /// origin-form target with any address helper removed
    pub path_and_query: String,
    /// the destination (base64) of a `?i2paddresshelper=` parameter
    pub helper: Option<String>,
    /// headers to send, scrubbed, with `Host` set and `Connection: close`
    pub headers: Vec<(String, Vec<u8>)>,
}

impl I2pRequest {
    /// The URL without the address helper (for redirects and pages).
    pub fn url(&self) -> String {
        if self.port == 80 {
            format!("http://{}{}", self.host, self.path_and_query)
        } else {
            format!("http://{}:{}{}", self.host, self.port, self.path_and_query)
        }
    }
}

fn is_i2p_host(h: &str) -> bool {
    h.ends_with(".i2p")
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), BadRequest> {
    // strip userinfo
    let hp = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| BadRequest::Host(authority.into()))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hp.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| BadRequest::Port(authority.into()))?,
        None => default_port,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.len() > 255 || host.contains(|c: char| c.is_whitespace() || c == '/')
    {
        return Err(BadRequest::Host(authority.into()));
    }
    Ok((host, port))
}

/// Remove `i2paddresshelper=...` from a query string; returns (query without it, helper).
pub fn take_helper(query: &str) -> (String, Option<String>) {
    let mut helper = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            if let Some(v) = kv
                .strip_prefix(HELPER_PARAM)
                .and_then(|r| r.strip_prefix('='))
            {
                helper = Some(percent_decode(v));
                false
            } else {
                !kv.is_empty()
            }
        })
        .collect();
    (kept.join("&"), helper)
}

/// Decode `%XX` escapes (and nothing else); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encode everything but unreserved characters (for URLs in pages and redirects).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn scrub(headers: &[(String, Vec<u8>)], host: &str, port: u16) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(headers.len() + 3);
    for (name, value) in headers {
        let n = name.to_ascii_lowercase();
        let drop = n.starts_with("proxy-")
            || n.starts_with("x-forwarded")
            || n.starts_with("x-i2p")
            || matches!(
                n.as_str(),
                "host"
                    | "connection"
                    | "keep-alive"
                    | "via"
                    | "from"
                    | "forwarded"
                    | "x-real-ip"
                    | "user-agent"
                    | "accept-language"
                    | "te"
                    | "upgrade"
                    | "trailer"
            );
        if drop {
            continue;
        }
        if n == "referer" {
            let same = std::str::from_utf8(value)
                .ok()
                .and_then(|r| r.strip_prefix("http://"))
                .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
                .and_then(|a| split_host_port(a, 80).ok())
                .is_some_and(|(h, p)| h == host && p == port);
            if !same {
                continue;
            }
        }
        out.push((name.clone(), value.clone()));
    }
    let host_value = if port == 80 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    out.insert(0, ("Host".into(), host_value.into_bytes()));
    out.push(("User-Agent".into(), USER_AGENT.as_bytes().to_vec()));
    out.push(("Connection".into(), b"close".to_vec()));
    out
}

/// Decide what to do with a request: `method`, the request target as sent, and the headers.
pub fn plan(method: &str, target: &str, headers: &[(String, Vec<u8>)]) -> Result<Plan, BadRequest> {
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) =
            split_host_port(target, 443).map_err(|_| BadRequest::Connect(target.into()))?;
        return Ok(if is_i2p_host(&host) {
            Plan::Connect { host, port }
        } else {
            Plan::Clearnet {
                uri: target.to_string(),
                connect: true,
            }
        });
    }
    let (authority, rest) = if let Some(r) = target.strip_prefix("http://").or_else(|| {
        target
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("http://"))
            .map(|_| &target[7..])
    }) {
        match r.find(['/', '?', '#']) {
            Some(i) => (r[..i].to_string(), r[i..].to_string()),
            None => (r.to_string(), "/".to_string()),
        }
    } else if target.contains("://") {
        return Err(BadRequest::Scheme(target.into()));
    } else if target.starts_with('/') {
        // origin-form: a client treating us as the server; use its Host header
        let host = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .ok_or_else(|| BadRequest::NoHost(target.into()))?;
        (host.to_string(), target.to_string())
    } else {
        return Err(BadRequest::NoHost(target.into()));
    };
    let (host, port) = split_host_port(&authority, 80)?;
    // fragments never go to the server
    let rest = rest.split('#').next().unwrap_or("/");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    if host == PROXY_HOST {
        return Ok(Plan::Local {
            path: path.to_string(),
            query: query.to_string(),
        });
    }
    if !is_i2p_host(&host) {
        return Ok(Plan::Clearnet {
            uri: target.to_string(),
            connect: false,
        });
    }
    let (query, helper) = take_helper(query);
    let path_and_query = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let headers = scrub(headers, &host, port);
    Ok(Plan::I2p(I2pRequest {
        host,
        port,
        path_and_query,
        helper,
        headers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn absolute_i2p_requests_are_scrubbed() {
        let headers = h(&[
            ("Host", "example.i2p"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux) Firefox/128"),
            ("Accept", "text/html"),
            ("Accept-Language", "de-DE"),
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authorization", "Basic eA=="),
            ("X-Forwarded-For", "192.168.1.2"),
            ("Via", "1.1 squid"),
            ("X-I2P-DestHash", "spoofed"),
            ("Referer", "http://other.i2p/page"),
            ("Cookie", "a=b"),
        ]);
        let Plan::I2p(r) = plan("GET", "http://Example.I2P/a/b?x=1#frag", &headers).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.host.as_str(), r.port, r.path_and_query.as_str()),
            ("example.i2p", 80, "/a/b?x=1")
        );
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Host", "Accept", "Cookie", "User-Agent", "Connection"]
        );
        assert_eq!(r.headers[3].1, USER_AGENT.as_bytes());
        assert_eq!(r.headers[0].1, b"example.i2p");
        // a same-site Referer survives
        let Plan::I2p(r) = plan(
            "GET",
            "http://example.i2p:8080/",
            &h(&[("Referer", "http://example.i2p:8080/x")]),
        )
        .unwrap() else {
            panic!()
        };
        assert!(r.headers.iter().any(|(n, _)| n == "Referer"));
        assert_eq!(r.headers[0].1, b"example.i2p:8080");
    }

    #[test]
    fn helper_connect_local_and_clearnet() {
        let Plan::I2p(r) = plan(
            "GET",
            "http://new.i2p/p?a=1&i2paddresshelper=AB%7Ecd&b=2",
            &[],
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(r.helper.as_deref(), Some("AB~cd"));
        assert_eq!(r.path_and_query, "/p?a=1&b=2");
        assert_eq!(r.url(), "http://new.i2p/p?a=1&b=2");
        assert_eq!(
            plan("CONNECT", "site.i2p:443", &[]).unwrap(),
            Plan::Connect {
                host: "site.i2p".into(),
                port: 443
            }
        );
        assert_eq!(
            plan("CONNECT", "example.com:443", &[]).unwrap(),
            Plan::Clearnet {
                uri: "example.com:443".into(),
                connect: true
            }
        );
        assert_eq!(
            plan("GET", "http://example.com/", &[]).unwrap(),
            Plan::Clearnet {
                uri: "http://example.com/".into(),
                connect: false
            }
        );
        assert_eq!(
            plan("GET", "http://proxy.i2p/addresshelper?x=1", &[]).unwrap(),
            Plan::Local {
                path: "/addresshelper".into(),
                query: "x=1".into()
            }
        );
        let Plan::I2p(r) = plan("GET", "/index.html", &h(&[("Host", "site.i2p")])).unwrap() else {
            panic!()
        };
        assert_eq!(r.host, "site.i2p");
    }

    #[test]
    fn bad_requests() {
        assert!(matches!(
            plan("GET", "https://site.i2p/", &[]),
            Err(BadRequest::Scheme(_))
        ));
        assert!(matches!(plan("GET", "/x", &[]), Err(BadRequest::NoHost(_))));
        assert!(matches!(
            plan("GET", "http://site.i2p:99999/", &[]),
            Err(BadRequest::Port(_))
        ));
        assert!(matches!(
            plan("GET", "http:///x", &[]),
            Err(BadRequest::Host(_))
        ));
        assert!(matches!(
            plan("CONNECT", "nohostport", &[]),
            Ok(Plan::Clearnet { .. })
        ));
        assert!(matches!(
            plan("CONNECT", ":1", &[]),
            Err(BadRequest::Connect(_))
        ));
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(
            percent_encode("http://x.i2p/?a=1"),
            "http%3A%2F%2Fx.i2p%2F%3Fa%3D1"
        );
    }
}
