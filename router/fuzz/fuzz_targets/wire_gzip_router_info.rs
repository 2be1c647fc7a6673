//! `GzippedRouterInfo::decompress` (the gzip body of a DatabaseStore of a RouterInfo, with
//! its zip-bomb cap), then parsing what it held.
//!
//! Guaranteed by i2p-wire: the compressed bytes are kept as received; the output is at most
//! `MAX_DECOMPRESSED_ROUTER_INFO` bytes; what `compress` writes, `decompress` restores.
#![no_main]

use i2p_wire::i2np::GzippedRouterInfo;
use i2p_wire::i2np::database::MAX_DECOMPRESSED_ROUTER_INFO;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(g) = GzippedRouterInfo::decompress(data) else {
        return;
    };
    assert_eq!(g.compressed(), data);
    assert!(g.decompressed().len() <= MAX_DECOMPRESSED_ROUTER_INFO);
    let _ = g.router_info();

    let again = GzippedRouterInfo::compress(g.decompressed()).expect("at most 16 KiB compresses");
    let back = GzippedRouterInfo::decompress(again.compressed()).expect("our gzip decompresses");
    assert_eq!(back.decompressed(), g.decompressed());
});
