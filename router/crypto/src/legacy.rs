//! Verify-only legacy signature types still found in RouterInfos, LeaseSets and SU3 files:
//! DSA-SHA1 (type 0), ECDSA P-256/P-384/P-521 (1–3) and RSA PKCS#1 v1.5 (4–6).
//!
//! Only public-key operations live here, so nothing secret flows through the big-integer
//! arithmetic and variable time is harmless. DSA and RSA verification are a few lines of
//! modular arithmetic over `num-bigint`; ECDSA goes through the RustCrypto curve crates.

use crate::sig::{SigType, SignatureError};
use num_bigint::BigUint;
use sha1::Digest;

/// I2P's fixed DSA group (spec/cryptography.md, "DSA"), L = 1024, N = 160.
const DSA_P: &str = "9C05B2AA960D9B97B8931963C9CC9E8C3026E9B8ED92FAD0A69CC886D5BF8015FCADAE31A0AD18FAB3F01B00A358DE237655C4964AFAA2B337E96AD316B9FB1CC564B5AEC5B69A9FF6C3E4548707FEF8503D91DD8602E867E6D35D2235C1869CE2479C3B9D5401DE04E0727FB33D6511285D4CF29538D9E3B6051F5B22CC1C93";
const DSA_Q: &str = "A5DFC28FEF4CA1E286744CD8EED9D29D684046B7";
const DSA_G: &str = "0C1F4D27D40093B429E962D7223824E0BBC47E7C832A39236FC683AF84889581075FF9082ED32353D4374D7301CDA1D23C431F4698599DDA02451824FF369752593647CC3DDC197DE985E43D136CDCFC6BD5409CD2F450821142A5E6F8EB1C3AB5D0484B8129FCF17BCE4F7F33321C3CB3DBB14A905E7B2B3E93BE4708CBCC82";

fn hex_uint(s: &str) -> BigUint {
    // constants above are valid hex; an empty value could only come from editing them wrongly
    BigUint::parse_bytes(s.as_bytes(), 16).unwrap_or_default()
}

pub(crate) fn verify_dsa_sha1(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
    let t = SigType::DsaSha1;
    let (p, q, g) = (hex_uint(DSA_P), hex_uint(DSA_Q), hex_uint(DSA_G));
    let y = BigUint::from_bytes_be(pk);
    let one = BigUint::from(1u8);
    // y must be an element of the order-q subgroup: 1 < y < p and y^q = 1 (mod p)
    if y <= one || y >= p || y.modpow(&q, &p) != one {
        return Err(SignatureError::MalformedPublicKey(t));
    }
    let (r_bytes, s_bytes) = sig.split_at(20);
    let r = BigUint::from_bytes_be(r_bytes);
    let s = BigUint::from_bytes_be(s_bytes);
    let zero = BigUint::from(0u8);
    if r == zero || s == zero || r >= q || s >= q {
        return Err(SignatureError::Invalid(t));
    }
    let h = BigUint::from_bytes_be(&sha1::Sha1::digest(msg));
    // w = s^-1 mod q (q is prime: Fermat inverse)
    let w = s.modpow(&(&q - 2u8), &q);
    let u1 = (&h * &w) % &q;
    let u2 = (&r * &w) % &q;
    let v = ((g.modpow(&u1, &p) * y.modpow(&u2, &p)) % &p) % &q;
    if v == r {
        Ok(())
    } else {
        Err(SignatureError::Invalid(t))
    }
}

pub(crate) fn verify_ecdsa(
    t: SigType,
    pk: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureError> {
    use p256::ecdsa::signature::Verifier;
    // I2P carries X||Y without the SEC1 0x04 prefix.
    let mut sec1 = Vec::with_capacity(pk.len() + 1);
    sec1.push(0x04);
    sec1.extend_from_slice(pk);
    let bad_key = |_| SignatureError::MalformedPublicKey(t);
    let bad_sig = |_| SignatureError::Invalid(t);
    match t {
        SigType::EcdsaSha256P256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(bad_key)?;
            let s = p256::ecdsa::Signature::from_slice(sig).map_err(bad_sig)?;
            vk.verify(msg, &s).map_err(bad_sig)
        }
        SigType::EcdsaSha384P384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(bad_key)?;
            let s = p384::ecdsa::Signature::from_slice(sig).map_err(bad_sig)?;
            vk.verify(msg, &s).map_err(bad_sig)
        }
        SigType::EcdsaSha512P521 => {
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(bad_key)?;
            let s = p521::ecdsa::Signature::from_slice(sig).map_err(bad_sig)?;
            vk.verify(msg, &s).map_err(bad_sig)
        }
        other => Err(SignatureError::Unsupported(other)),
    }
}

/// DER DigestInfo prefixes of RFC 8017 §9.2 note 1.
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

pub(crate) fn verify_rsa(
    t: SigType,
    modulus: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureError> {
    verify_rsa_padded(t, modulus, msg, sig, true)
}

/// `digest_info`: false for signatures over the bare hash (Java's "NONEwithRSA", SU3 files).
pub(crate) fn verify_rsa_padded(
    t: SigType,
    modulus: &[u8],
    msg: &[u8],
    sig: &[u8],
    digest_info: bool,
) -> Result<(), SignatureError> {
    let (prefix, digest): (&[u8], Vec<u8>) = match t {
        SigType::RsaSha256_2048 => (SHA256_PREFIX, sha2::Sha256::digest(msg).to_vec()),
        SigType::RsaSha384_3072 => (SHA384_PREFIX, sha2::Sha384::digest(msg).to_vec()),
        SigType::RsaSha512_4096 => (SHA512_PREFIX, sha2::Sha512::digest(msg).to_vec()),
        other => return Err(SignatureError::Unsupported(other)),
    };
    let prefix = if digest_info { prefix } else { &[][..] };
    let k = modulus.len();
    let n = BigUint::from_bytes_be(modulus);
    // the modulus must really have k bytes (top byte nonzero) and be odd
    if modulus.first().copied().unwrap_or(0) == 0 || modulus.last().copied().unwrap_or(0) & 1 == 0 {
        return Err(SignatureError::MalformedPublicKey(t));
    }
    let s = BigUint::from_bytes_be(sig);
    if s >= n {
        return Err(SignatureError::Invalid(t));
    }
    let m = s.modpow(&BigUint::from(65537u32), &n).to_bytes_be();
    // EMSA-PKCS1-v1_5: 0x00 0x01 FF..FF 0x00 DigestInfo, k bytes long
    let t_len = prefix.len() + digest.len();
    if k < t_len + 11 {
        return Err(SignatureError::MalformedPublicKey(t));
    }
    let mut expected = Vec::with_capacity(k);
    expected.extend_from_slice(&[0x00, 0x01]);
    expected.resize(k - t_len - 1, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(prefix);
    expected.extend_from_slice(&digest);
    // `m` lost its leading zero byte in to_bytes_be; compare against expected without it
    if expected.get(1..) == Some(&m[..]) {
        Ok(())
    } else {
        Err(SignatureError::Invalid(t))
    }
}
