//! NTCP2 data-phase blocks (router/transport): `ntcp2::parse_blocks` on a decrypted frame's
//! plaintext, then the RouterInfo carried by a RouterInfo block.
//!
//! Guaranteed by i2p-transport (ntcp2/block.rs): the ordering rules the spec names hold for
//! every accepted frame (a padding block is the last block and there is at most one; only
//! padding follows a termination block); a frame with blocks is not empty and vice versa.
#![no_main]

use i2p_transport::ntcp2::{Block, parse_blocks};
use i2p_wire::RouterInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(blocks) = parse_blocks(data) else {
        return;
    };
    assert_eq!(blocks.is_empty(), data.is_empty());
    let mut after_termination = false;
    for (i, b) in blocks.iter().enumerate() {
        let last = i + 1 == blocks.len();
        match b {
            Block::Padding(_) => assert!(last, "padding block {i} is not the last block"),
            Block::Termination { .. } => {
                assert!(!after_termination, "two termination blocks");
                after_termination = true;
            }
            _ => assert!(!after_termination, "block {i} follows a termination block"),
        }
        match b {
            Block::I2np(m) => {
                let _ = m.to_short_bytes();
            }
            Block::RouterInfo { router_info, .. } => {
                let _ = RouterInfo::parse(router_info);
            }
            _ => {}
        }
    }
});
