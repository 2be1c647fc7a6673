//! The SOCKS handshake parser (proxies/src/socks/proto.rs): the handshake the proxy runs
//! (version byte, then SOCKS5 greeting, optional user/password, CONNECT request; or a SOCKS4/4a
//! CONNECT), consuming bytes as each step says, plus every step parser on the raw input.
//!
//! Guaranteed by the module ("takes the bytes received so far and says whether it needs more,
//! what it parsed and how many bytes that used"): `Done(v, n)` has `n <= input length`, the
//! same `Done(v, n)` comes from the first `n` bytes alone and from any longer input, and every
//! shorter prefix is `Incomplete`.
#![no_main]

use i2p_proxies::socks::proto::{self, METHOD_NOT_ACCEPTABLE, METHOD_USERPASS, Parsed, SocksError};
use libfuzzer_sys::fuzz_target;

type Step<T> = fn(&[u8]) -> Result<Parsed<T>, SocksError>;

/// Check the streaming contract of one step parser on `buf`; returns what it parsed and the
/// bytes after it.
fn step<T: Clone + PartialEq + std::fmt::Debug>(f: Step<T>, buf: &[u8]) -> Option<(T, &[u8])> {
    let out = f(buf);
    let Ok(Parsed::Done(v, n)) = &out else {
        return None;
    };
    let (v, n) = (v.clone(), *n);
    assert!(n <= buf.len(), "used {n} of {} bytes", buf.len());
    let (used, rest) = buf.split_at(n);
    assert_eq!(f(used), out, "the used bytes alone parse differently");
    let mut longer = used.to_vec();
    longer.extend_from_slice(b"\x00\xffmore");
    assert_eq!(f(&longer), out, "appending bytes changed the result");
    for k in 0..n {
        let prefix = used.get(..k).unwrap_or_default();
        assert_eq!(
            f(prefix),
            Ok(Parsed::Incomplete),
            "a {k}-byte prefix is not Incomplete"
        );
    }
    Some((v, rest))
}

fuzz_target!(|data: &[u8]| {
    // every step parser on the raw input
    let _ = step(proto::parse_greeting, data);
    let _ = step(proto::parse_userpass, data);
    let _ = step(proto::parse_socks5_request, data);
    let _ = step(proto::parse_socks4_request, data);

    // the handshake as the proxy runs it; the first input byte chooses whether auth is required
    let Some((&require_auth, buf)) = data.split_first() else {
        return;
    };
    let require_auth = require_auth & 1 == 1;
    match proto::version(buf) {
        Some(5) => {
            let Some((offered, rest)) = step(proto::parse_greeting, buf) else {
                return;
            };
            let method = proto::choose_method(&offered, require_auth);
            assert!(method == METHOD_NOT_ACCEPTABLE || offered.contains(&method));
            if method == METHOD_NOT_ACCEPTABLE {
                return;
            }
            let rest = if method == METHOD_USERPASS {
                match step(proto::parse_userpass, rest) {
                    Some((_, rest)) => rest,
                    None => return,
                }
            } else {
                rest
            };
            if let Some((req, _)) = step(proto::parse_socks5_request, rest) {
                assert_eq!(req.version, 5);
            }
        }
        Some(4) => {
            if let Some((req, _)) = step(proto::parse_socks4_request, buf) {
                assert_eq!(req.version, 4);
            }
        }
        _ => {}
    }
});
