#!/usr/bin/env python3
"""Regenerates the reseed test data in this directory (needs the `cryptography` package).

- signer.crt / signer.key.hex: a self-signed RSA-4096 reseed signer certificate for
  CN=test-signer@mail.i2p and its key as hex n/d (the tests sign SU3 files with it);
- other.crt: a second signer (CN=other-signer@mail.i2p), to test "wrong signer";
- ca.crt, server.crt, server.key: a test CA and a TLS server certificate for 127.0.0.1 and
  localhost signed by it, for the HTTPS reseed tests.
All valid 2020-2120. Test keys only: never use them for anything else.
"""
import datetime, ipaddress
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec

NB = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
NA = datetime.datetime(2120, 1, 1, tzinfo=datetime.timezone.utc)

def name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "I2P Anonymous Network"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])

def signer(cn, path, keypath=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NB).not_valid_after(NA)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA512()))
    open(path, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    if keypath:
        n = key.private_numbers().public_numbers.n
        d = key.private_numbers().d
        open(keypath, "w").write("n=%0*x\nd=%0*x\n" % (1024, n, 1024, d))

signer("test-signer@mail.i2p", "signer.crt", "signer.key.hex")
signer("other-signer@mail.i2p", "other.crt")

ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(name("i2p-rs test CA")).issuer_name(name("i2p-rs test CA"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(NB).not_valid_after(NA)
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
      .sign(ca_key, hashes.SHA256()))
open("ca.crt", "wb").write(ca.public_bytes(serialization.Encoding.PEM))
srv_key = ec.generate_private_key(ec.SECP256R1())
srv = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
       .public_key(srv_key.public_key()).serial_number(x509.random_serial_number())
       .not_valid_before(NB).not_valid_after(NA)
       .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                      x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
       .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
       .sign(ca_key, hashes.SHA256()))
open("server.crt", "wb").write(srv.public_bytes(serialization.Encoding.PEM))
open("server.key", "wb").write(srv_key.private_bytes(serialization.Encoding.PEM,
     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
