//! One hop's layer of tunnel encryption (spec/tunnel-implementation.md, "Participant
//! Processing"; i2pd `Crypto.cpp` `TunnelEncryption::Encrypt`, `TunnelDecryption::Decrypt`).

use i2p_crypto::aes::Aes256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{IV_LEN, Payload};

/// A hop's tunnel layer key and IV key, as agreed in the build record.
///
/// The key bytes are wiped on drop (the expanded AES keys too, by the `aes` crate) and never
/// printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LayerKeys {
    layer_key: [u8; 32],
    iv_key: [u8; 32],
    #[zeroize(skip)]
    layer: Aes256,
    #[zeroize(skip)]
    iv: Aes256,
}

impl core::fmt::Debug for LayerKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LayerKeys([redacted])")
    }
}

impl LayerKeys {
    pub fn new(layer_key: &[u8; 32], iv_key: &[u8; 32]) -> LayerKeys {
        LayerKeys {
            layer_key: *layer_key,
            iv_key: *iv_key,
            layer: Aes256::new(layer_key),
            iv: Aes256::new(iv_key),
        }
    }

    /// Add this hop's layer to a payload (`IV ‖ 1008 bytes`): encrypt the IV with the IV key,
    /// CBC-encrypt the data with the layer key starting from that IV, encrypt the IV a second
    /// time and store it. Participants, the inbound gateway and the outbound endpoint call this
    /// with their own keys.
    pub fn encrypt_layer(&self, payload: &mut Payload) {
        let Some((iv, data)) = payload.split_first_chunk_mut::<IV_LEN>() else {
            return;
        };
        self.iv.encrypt_block(iv);
        let mut chain = *iv;
        // The data is 1008 bytes, 63 whole blocks: CBC cannot refuse it.
        let _ = self.layer.cbc_encrypt(&mut chain, data);
        self.iv.encrypt_block(iv);
    }

    /// Remove this hop's layer: the exact inverse of [`LayerKeys::encrypt_layer`]. The tunnel
    /// creator calls it for every hop, through [`pre_decrypt_outbound`] or
    /// [`decrypt_inbound`].
    pub fn decrypt_layer(&self, payload: &mut Payload) {
        let Some((iv, data)) = payload.split_first_chunk_mut::<IV_LEN>() else {
            return;
        };
        self.iv.decrypt_block(iv);
        let mut chain = *iv;
        let _ = self.layer.cbc_decrypt(&mut chain, data);
        self.iv.decrypt_block(iv);
    }
}

/// The outbound gateway (our own outbound tunnel): after [`super::Gateway::flush`], wrap a
/// plaintext payload so that each hop's [`LayerKeys::encrypt_layer`] peels one wrapping and the
/// outbound endpoint ends up with the plaintext. `hops` in path order (the first hop after us
/// first, the outbound endpoint last); the last hop's layer is removed first, because it is
/// the last to be added.
pub fn pre_decrypt_outbound(hops: &[LayerKeys], payload: &mut Payload) {
    decrypt_all(hops, payload);
}

/// The inbound endpoint (our own inbound tunnel): remove every hop's layer from a payload as
/// it arrives, before [`super::Endpoint::receive`]. `hops` in path order (the inbound gateway
/// first, the hop that sent it to us last); the last hop's layer, added most recently, is
/// removed first.
pub fn decrypt_inbound(hops: &[LayerKeys], payload: &mut Payload) {
    decrypt_all(hops, payload);
}

fn decrypt_all(hops: &[LayerKeys], payload: &mut Payload) {
    for hop in hops.iter().rev() {
        hop.decrypt_layer(payload);
    }
}
