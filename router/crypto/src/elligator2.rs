//! Elligator2 for X25519 ephemeral keys, as ECIES-X25519-AEAD-Ratchet encodes them in New
//! Session and New Session Reply messages (spec/ecies.md, "Elligator2").
//!
//! Encoding: the standard Elligator2 representative of the public key's u-coordinate (the
//! non-negative root, so bits 254 and 255 are zero), little-endian, with two random bits ORed
//! into the top of byte 31. Decoding masks those two bits and maps back. This is exactly what
//! i2pd 2.45.1 does (libi2pd/Elligator.cpp); the arithmetic comes from the pinned
//! `curve25519-elligator2` crate's RFC 9380 variant, whose map is the same Elligator2 map
//! (non-square 2, `-A/(1+2r²)`, choose `v` or `-v-A` by quadratic character).
//! Only about half of all keys have a representative; [`generate`] retries until one does.

use crate::x25519::{X25519Public, X25519Secret};
use curve25519_elligator2::{MapToPointVariant, MontgomeryPoint, RFC9380};
use rand_core::CryptoRng;

/// An encoded (uniform-looking) X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Representative(pub [u8; 32]);

/// A fresh X25519 key pair whose public key has an Elligator2 representative, and that
/// representative with its top two bits randomised. Expected two attempts; the loop ends with
/// overwhelming probability long before the cap, and an RNG that produced 256 unencodable keys
/// in a row is broken, so the last attempt's key is returned encoded or not at all.
pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Option<(X25519Secret, Representative)> {
    for _ in 0..256 {
        let secret = X25519Secret::generate(rng);
        let mut tweak = [0u8; 1];
        rng.fill_bytes(&mut tweak);
        if let Some(r) = encode(&secret, tweak[0]) {
            return Some((secret, r));
        }
    }
    None
}

/// The representative of `secret`'s public key, with `random_bits & 0xc0` ORed into byte 31;
/// `None` if the key has no representative.
pub fn encode(secret: &X25519Secret, random_bits: u8) -> Option<Representative> {
    let sk = secret.to_bytes();
    // RFC9380's to_representative takes the private key (it needs the Edwards sign of the
    // public point to pick the root); it clamps internally like X25519 does.
    let r: Option<[u8; 32]> = RFC9380::to_representative(&sk, 0).into();
    let mut r = r?;
    r[31] = (r[31] & 0x3f) | (random_bits & 0xc0);
    Some(Representative(r))
}

/// Decode a representative (any 32 bytes) to the X25519 public key it stands for. The two top
/// bits are ignored as the spec requires.
pub fn decode(r: &Representative) -> X25519Public {
    let mut masked = r.0;
    masked[31] &= 0x3f;
    X25519Public(MontgomeryPoint::map_to_point(&masked).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    /// i2pd's decoding algorithm transcribed over plain big integers (an independent check of
    /// the crate's constant-time arithmetic): r ≤ (p-1)/2 required, v = -A/(1+2r²),
    /// x = v if v³+Av²+v is a square, else -v-A.
    fn decode_reference(r: &[u8; 32]) -> Option<[u8; 32]> {
        let p = (BigUint::from(1u8) << 255) - 19u8;
        let a = BigUint::from(486662u32);
        let mut le = *r;
        le[31] &= 0x3f;
        let r = BigUint::from_bytes_le(&le);
        if r > (&p - 1u8) / 2u8 {
            return None;
        }
        let inv = |x: &BigUint| x.modpow(&(&p - 2u8), &p);
        let legendre_is_square = |x: &BigUint| {
            let l = x.modpow(&((&p - 1u8) / 2u8), &p);
            l != &p - 1u8
        };
        let denom = (BigUint::from(1u8) + BigUint::from(2u8) * &r * &r) % &p;
        let v = ((&p - &a) * inv(&denom)) % &p;
        let t = ((&v * &v % &p) * (&v + &a) + &v) % &p;
        let x = if legendre_is_square(&t) {
            v
        } else {
            (&p - &v + &p - &a) % &p
        };
        let mut out = x.to_bytes_le();
        out.resize(32, 0);
        out.try_into().ok()
    }

    #[test]
    fn round_trip_matches_x25519_and_the_reference_decoder() {
        let mut rng = rand::rng();
        let mut encodable = 0;
        for i in 0..200u32 {
            let secret = X25519Secret::generate(&mut rng);
            let Some(repr) = encode(&secret, (i as u8).wrapping_mul(0x47)) else {
                continue;
            };
            encodable += 1;
            // two random top bits as the tweak asked
            assert_eq!(repr.0[31] & 0xc0, (i as u8).wrapping_mul(0x47) & 0xc0);
            assert_eq!(decode(&repr), secret.public(), "crate decode");
            assert_eq!(
                decode_reference(&repr.0),
                Some(secret.public().0),
                "reference decode"
            );
        }
        // about half of all keys are encodable
        assert!(
            (60..=140).contains(&encodable),
            "{encodable} of 200 encodable"
        );
    }

    #[test]
    fn generate_gives_uniform_looking_top_bits() {
        let mut rng = rand::rng();
        let mut tops = [0u32; 4];
        for _ in 0..200 {
            let (secret, repr) = generate(&mut rng).unwrap();
            assert_eq!(decode(&repr), secret.public());
            tops[(repr.0[31] >> 6) as usize] += 1;
        }
        assert!(
            tops.iter().all(|&c| c > 20),
            "top-bit distribution {tops:?}"
        );
    }

    #[test]
    fn decode_agrees_with_reference_on_arbitrary_inputs() {
        for seed in 0u8..64 {
            let mut r = [0u8; 32];
            for (i, b) in r.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add(i as u8)
                    .wrapping_mul(197);
            }
            if let Some(x) = decode_reference(&r) {
                assert_eq!(decode(&Representative(r)).0, x);
            }
        }
    }
}
