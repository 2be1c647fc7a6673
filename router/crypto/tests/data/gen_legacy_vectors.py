#!/usr/bin/env python3
"""Generates legacy_sig_vectors.txt: signatures made by an independent implementation (Python
`cryptography`, OpenSSL underneath) in I2P's encodings, for i2p-crypto's verify-only types.

Encodings (spec/common-structures.md, SigningPublicKey / Signature): DSA public key = Y (128
bytes), signature = r||s (20+20); ECDSA public key = X||Y, signature = r||s, each field the
curve's byte length; RSA public key = modulus, e = 65537, PKCS#1 v1.5 signature.
Run: python3 gen_legacy_vectors.py > legacy_sig_vectors.txt
"""
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

P = int("9C05B2AA960D9B97B8931963C9CC9E8C3026E9B8ED92FAD0A69CC886D5BF8015FCADAE31A0AD18FAB3F01B00A358DE237655C4964AFAA2B337E96AD316B9FB1CC564B5AEC5B69A9FF6C3E4548707FEF8503D91DD8602E867E6D35D2235C1869CE2479C3B9D5401DE04E0727FB33D6511285D4CF29538D9E3B6051F5B22CC1C93", 16)
Q = int("A5DFC28FEF4CA1E286744CD8EED9D29D684046B7", 16)
G = int("0C1F4D27D40093B429E962D7223824E0BBC47E7C832A39236FC683AF84889581075FF9082ED32353D4374D7301CDA1D23C431F4698599DDA02451824FF369752593647CC3DDC197DE985E43D136CDCFC6BD5409CD2F450821142A5E6F8EB1C3AB5D0484B8129FCF17BCE4F7F33321C3CB3DBB14A905E7B2B3E93BE4708CBCC82", 16)

def b(n, ln):
    return n.to_bytes(ln, "big")

def line(code, pk, msg, sig):
    print(f"{code} {pk.hex()} {msg.hex()} {sig.hex()}")

msgs = [b"", b"i2p", bytes(range(256)) * 3]
params = dsa.DSAParameterNumbers(P, Q, G).parameters()
for m in msgs:
    k = params.generate_private_key()
    r, s = decode_dss_signature(k.sign(m, hashes.SHA1()))
    line(0, b(k.public_key().public_numbers().y, 128), m, b(r, 20) + b(s, 20))
for code, curve, h, ln in [(1, ec.SECP256R1(), hashes.SHA256(), 32),
                           (2, ec.SECP384R1(), hashes.SHA384(), 48),
                           (3, ec.SECP521R1(), hashes.SHA512(), 66)]:
    for m in msgs:
        k = ec.generate_private_key(curve)
        n = k.public_key().public_numbers()
        r, s = decode_dss_signature(k.sign(m, ec.ECDSA(h)))
        line(code, b(n.x, ln) + b(n.y, ln), m, b(r, ln) + b(s, ln))
for code, bits, h in [(4, 2048, hashes.SHA256()), (5, 3072, hashes.SHA384()), (6, 4096, hashes.SHA512())]:
    k = rsa.generate_private_key(65537, bits)
    for m in msgs:
        line(code, b(k.public_key().public_numbers().n, bits // 8), m, k.sign(m, padding.PKCS1v15(), h))
