//! SHA-256, HMAC-SHA256 and HKDF as I2P uses them.
//!
//! I2P's specs write key derivation as `HKDF(salt, ikm, info, n)`: RFC 5869 with HMAC-SHA256,
//! where the Noise protocols pass the chaining key as the salt and (for Noise's own `MixKey`
//! and `Split`) an empty info. [`hkdf`] is that function; [`hkdf2`] is the common 64-byte case
//! split into two 32-byte keys. See spec/ntcp2.md "Key Derivation Function", spec/ecies.md
//! "KDFs" and spec/tunnel-creation-ecies.md.

use hmac::{KeyInit, Mac};
use sha2::Digest;
use zeroize::Zeroizing;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// SHA-256 over the concatenation of `parts` (no copy).
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Incremental SHA-256.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha256")
    }
}

impl Sha256 {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.0.update(data);
        self
    }
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// HMAC-SHA256 of the concatenation of `parts` under `key` (any key length).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    // `new_from_slice` only fails for MACs with a fixed key size; HMAC has none.
    #[allow(clippy::panic)]
    {
        panic!("HMAC rejected a key")
    }
}

/// RFC 5869 HKDF-SHA256: extract with `salt`, expand with `info` into `out`
/// (at most 255 × 32 bytes; I2P only ever asks for 32 or 64).
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    // Written out with HMAC rather than through the hkdf crate so that the common two-block case
    // allocates nothing and the structure mirrors the specs' "temp_key / output" notation.
    let prk = Zeroizing::new(hmac_sha256(salt, &[ikm]));
    let mut prev: Zeroizing<[u8; 32]> = Zeroizing::new([0u8; 32]);
    let mut counter: u8 = 1;
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let block = if i == 0 {
            hmac_sha256(&*prk, &[info, &[counter]])
        } else {
            hmac_sha256(&*prk, &[&*prev, info, &[counter]])
        };
        *prev = block;
        let n = chunk.len();
        chunk.copy_from_slice(&block[..n]);
        counter = counter.wrapping_add(1);
    }
}

/// HKDF with a 64-byte output split into two 32-byte keys (Noise `MixKey`/`Split` shape).
pub fn hkdf2(salt: &[u8], ikm: &[u8], info: &[u8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let mut out = Zeroizing::new([0u8; 64]);
    hkdf(salt, ikm, info, &mut *out);
    let mut a = Zeroizing::new([0u8; 32]);
    let mut b = Zeroizing::new([0u8; 32]);
    a.copy_from_slice(&out[..32]);
    b.copy_from_slice(&out[32..]);
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn sha256_fips180_vectors() {
        assert_eq!(
            sha256(b"abc").to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").to_vec(),
            hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        );
        let mut h = Sha256::new();
        h.update(b"a").update(b"bc");
        assert_eq!(h.finalize(), sha256(b"abc"));
        assert_eq!(sha256_parts(&[b"ab", b"", b"c"]), sha256(b"abc"));
    }

    #[test]
    fn hmac_rfc4231_cases_1_2_6() {
        // RFC 4231 test case 1
        let k = [0x0bu8; 20];
        assert_eq!(
            hmac_sha256(&k, &[b"Hi There"]).to_vec(),
            hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        // test case 2 (short key), split input
        assert_eq!(
            hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        // test case 6 (key longer than the block size)
        let k = [0xaau8; 131];
        assert_eq!(
            hmac_sha256(
                &k,
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )
            .to_vec(),
            hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    #[test]
    fn hkdf_rfc5869_cases_1_and_3() {
        // RFC 5869 A.1
        let ikm = [0x0bu8; 22];
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let mut okm = [0u8; 42];
        hkdf(&salt, &ikm, &info, &mut okm);
        assert_eq!(
            okm.to_vec(),
            hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
        // RFC 5869 A.3: empty salt and info
        let mut okm = [0u8; 42];
        hkdf(&[], &ikm, &[], &mut okm);
        assert_eq!(
            okm.to_vec(),
            hex(
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
            )
        );
        // agrees with the reference crate for the 64-byte shape used by Noise
        let mut ours = [0u8; 64];
        hkdf(b"salt", b"ikm", b"", &mut ours);
        let reference = ::hkdf::Hkdf::<sha2::Sha256>::new(Some(b"salt"), b"ikm");
        let mut theirs = [0u8; 64];
        reference.expand(b"", &mut theirs).unwrap();
        assert_eq!(ours, theirs);
        let (a, b) = hkdf2(b"salt", b"ikm", b"");
        assert_eq!(&a[..], &ours[..32]);
        assert_eq!(&b[..], &ours[32..]);
    }
}
