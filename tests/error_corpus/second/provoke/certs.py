"""Throwaway certificates made with `cryptography`: a CA, and good, self-signed, expired and wrong-host leaves."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Pair:
    """A certificate and key on disk."""

    cert: str
    key: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "holdout")])


def _write(d: str, stem: str, cert, key) -> Pair:
    cp, kp = os.path.join(d, stem + ".crt"), os.path.join(d, stem + ".key")
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return Pair(cp, kp)


def _leaf(cn, sans, issuer_cert, issuer_key, not_before, not_after, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(_name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert is not None else _name(cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    cert = b.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())
    return cert, key


class Certs:
    """All the certificates the TLS provokers use, in a temp directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="holdout-certs-")
        now = dt.datetime.now(dt.UTC)
        year = dt.timedelta(days=365)
        local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        ca_cert, ca_key = _leaf("holdout test CA", None, None, None, now - year, now + year, ca=True)
        self.ca = _write(self.dir, "ca", ca_cert, ca_key)
        self.good = _write(self.dir, "good", *_leaf("localhost", local, ca_cert, ca_key, now - year, now + year))
        self.selfsigned = _write(self.dir, "self", *_leaf("localhost", local, None, None, now - year, now + year))
        self.expired = _write(self.dir, "expired", *_leaf("localhost", local, ca_cert, ca_key,
                                                          now - 2 * year, now - dt.timedelta(days=30)))
        self.wronghost = _write(self.dir, "wrong", *_leaf("wrong-host.example.invalid",
                                                          [x509.DNSName("wrong-host.example.invalid")],
                                                          ca_cert, ca_key, now - year, now + year))
        client_cert, client_key = _leaf("client", None, ca_cert, ca_key, now - year, now + year)
        self.client = _write(self.dir, "client", client_cert, client_key)

    def server_ctx(self, pair: Pair, min_version=None, require_client_cert: bool = False) -> ssl.SSLContext:
        """A server context serving `pair`."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pair.cert, pair.key)
        if min_version is not None:
            ctx.minimum_version = min_version
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca.cert)
        return ctx

    def client_ctx(self, max_version=None) -> ssl.SSLContext:
        """A client context trusting the test CA."""
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        if max_version is not None:
            ctx.maximum_version = max_version
        return ctx
