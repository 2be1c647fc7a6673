//! The HTTP proxy's request planning (proxies/src/http/plan.rs): `plan(method, target,
//! headers)`, plus `take_helper`, `percent_decode` and `percent_encode`.
//!
//! Input: a request head as text, `METHOD TARGET` on the first line and `Name: value` header
//! lines after it (values are raw bytes).
//!
//! Guaranteed by the module docs: a request to an I2P site leaves with the host lower case,
//! an origin-form target with any `i2paddresshelper` parameter removed, exactly one `Host`
//! header (first), our `User-Agent` and `Connection: close`, and none of the identifying
//! headers (proxy, forwarding, `Via`, `From`, `X-I2P-*`, `Accept-Language`, ...).
//! `percent_decode(percent_encode(s)) == s`.
#![no_main]

use i2p_proxies::http::plan::{
    HELPER_PARAM, PROXY_HOST, Plan, USER_AGENT, percent_decode, percent_encode, plan, take_helper,
};
use libfuzzer_sys::fuzz_target;

/// Headers that must never leave the router as the client sent them.
fn is_scrubbed(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("proxy-")
        || n.starts_with("x-forwarded")
        || n.starts_with("x-i2p")
        || matches!(
            n.as_str(),
            "keep-alive"
                | "via"
                | "from"
                | "forwarded"
                | "x-real-ip"
                | "accept-language"
                | "te"
                | "upgrade"
                | "trailer"
        )
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(Ok(request_line)) = lines.next().map(std::str::from_utf8) else {
        return;
    };
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, ""));
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let value = value.get(1..).unwrap_or_default();
        let value = value.strip_prefix(b" ").unwrap_or(value);
        headers.push((name.to_string(), value.to_vec()));
    }

    // the small helpers on the target text
    assert_eq!(percent_decode(&percent_encode(target)), target);
    let (kept, _) = take_helper(target);
    assert!(
        kept.split('&')
            .all(|kv| !kv.starts_with(&format!("{HELPER_PARAM}=")))
    );

    match plan(method, target, &headers) {
        Ok(Plan::I2p(r)) => {
            assert!(r.host.ends_with(".i2p"));
            assert_eq!(r.host, r.host.to_ascii_lowercase());
            assert_ne!(r.host, PROXY_HOST);
            assert!(
                r.path_and_query.starts_with('/'),
                "not origin-form: {:?}",
                r.path_and_query
            );
            if let Some((_, query)) = r.path_and_query.split_once('?') {
                assert!(
                    query
                        .split('&')
                        .all(|kv| !kv.starts_with(&format!("{HELPER_PARAM}="))),
                    "address helper left in {:?}",
                    r.path_and_query
                );
            }
            let host_value = if r.port == 80 {
                r.host.clone()
            } else {
                format!("{}:{}", r.host, r.port)
            };
            assert_eq!(
                r.headers.first(),
                Some(&("Host".to_string(), host_value.into_bytes()))
            );
            let count = |n: &str| {
                r.headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                    .count()
            };
            assert_eq!(count("host"), 1);
            assert_eq!(count("user-agent"), 1);
            assert_eq!(count("connection"), 1);
            assert!(
                r.headers
                    .contains(&("User-Agent".to_string(), USER_AGENT.as_bytes().to_vec()))
            );
            assert_eq!(
                r.headers.last(),
                Some(&("Connection".to_string(), b"close".to_vec()))
            );
            for (name, _) in &r.headers {
                assert!(!is_scrubbed(name), "header {name:?} was not scrubbed");
            }
            let _ = r.url();
        }
        Ok(Plan::Connect { host, .. }) => {
            assert!(host.ends_with(".i2p"));
            assert_eq!(host, host.to_ascii_lowercase());
        }
        Ok(Plan::Local { .. } | Plan::Clearnet { .. }) | Err(_) => {}
    }
});
