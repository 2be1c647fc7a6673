//! The streaming protocol packet: `StreamPacket::parse`.
//!
//! Guaranteed by i2p-wire (streaming.rs module docs): unknown flag bits and option bytes are
//! kept, so a parsed packet encodes back to exactly its input and re-parses to the same value;
//! `signed_bytes` is the packet with the signature bytes (at `signature_offset`) set to zero.
#![no_main]

use i2p_fuzz::FIXED_NOW;
use i2p_wire::{Encode, StreamPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = StreamPacket::parse(data) else {
        return;
    };
    assert_eq!(p.to_bytes(), data, "packet re-encoding differs");
    assert_eq!(StreamPacket::parse(&p.to_bytes()).as_ref(), Ok(&p));

    let _ = (
        p.is_syn(),
        p.is_close(),
        p.is_reset(),
        p.is_echo(),
        p.ack(),
        p.is_choke(),
    );
    let _ = (p.syn_target_hash(), p.included_signer());
    let _ = p.verify_offline_signature(FIXED_NOW);

    match (&p.signature, p.signature_offset(), p.signed_bytes()) {
        (Some(sig), Some(at), Some(signed)) => {
            assert_eq!(signed.len(), data.len());
            let end = at + sig.len();
            assert_eq!(signed.get(..at), data.get(..at));
            assert!(
                signed
                    .get(at..end)
                    .is_some_and(|s| s.iter().all(|&b| b == 0))
            );
            assert_eq!(signed.get(end..), data.get(end..));
            assert_eq!(data.get(at..end), Some(sig.as_slice()));
            if let Some((sig_type, key)) = p.included_signer() {
                let _ = p.verify_signature(sig_type, key);
            }
        }
        (None, None, None) => {}
        other => panic!("signature, signature_offset and signed_bytes disagree: {other:?}"),
    }
});
