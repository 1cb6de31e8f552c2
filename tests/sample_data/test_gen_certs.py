"""Seeded certificate chains: names, validity, SANs, signatures and byte-for-byte reproducibility."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import ExtensionOID, NameOID

from sample_data.gen import certs

ROOT = Path(__file__).resolve().parents[2]
NB = datetime(2025, 3, 1, tzinfo=UTC)
NA = datetime(2026, 3, 1, tzinfo=UTC)


def load(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    return ext.value.get_values_for_type(x509.DNSName)


def assert_signed_by(child: x509.Certificate, parent: x509.Certificate) -> None:
    assert child.issuer == parent.subject
    child.verify_directly_issued_by(parent)
    # The same check spelled out: PKCS#1 v1.5 over the TBS bytes with the issuer's key.
    parent.public_key().verify(
        child.signature,
        child.tbs_certificate_bytes,
        padding.PKCS1v15(),
        child.signature_hash_algorithm,
    )


def test_key_generation_is_seeded_and_timed() -> None:
    start = time.perf_counter()
    key = certs.rsa_key("timing-probe", "leaf")
    elapsed = time.perf_counter() - start
    print(f"\n2048-bit RSA key from seed: {elapsed * 1000:.0f} ms")
    assert key.key_size == 2048
    assert certs.rsa_key("timing-probe", "leaf") is key  # cached
    assert (
        key.private_numbers() == certs.rsa_key.__wrapped__("timing-probe", "leaf").private_numbers()
    )
    assert key.private_numbers() != certs.rsa_key("timing-probe", "other").private_numbers()


def test_service_chain_looks_like_wecom() -> None:
    leaf, inter = map(load, certs.service_chain("work.weixin.qq.com", NB, NA))
    root = load(certs.service_root())
    assert cn(leaf.subject) == "work.weixin.qq.com"
    assert "Shenzhen Tencent Computer Systems Company Limited" in leaf.subject.rfc4514_string()
    assert cn(leaf.issuer) == "DigiCert Secure Site OV G2 TLS CN RSA4096 SHA256 2022 CA1"
    assert cn(inter.issuer) == cn(root.subject) == "DigiCert Global Root G2"
    assert sans(leaf) == [
        "work.weixin.qq.com",
        "*.work.weixin.qq.com",
        "*.weixin.qq.com",
        "qyapi.weixin.qq.com",
    ]
    assert leaf.not_valid_before_utc == NB and leaf.not_valid_after_utc == NA
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ocsp = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert any(a.access_location.value == "http://ocsp.digicert.cn" for a in ocsp)
    assert_signed_by(leaf, inter)
    assert_signed_by(inter, root)
    assert_signed_by(root, root)


def test_service_chain_for_another_host_and_wrong_name() -> None:
    leaf = load(certs.service_chain("qyapi.weixin.qq.com", NB, NA)[0])
    assert cn(leaf.subject) == "qyapi.weixin.qq.com"
    assert sans(leaf)[0] == "qyapi.weixin.qq.com" and "*.work.weixin.qq.com" in sans(leaf)
    wrong = load(
        certs.service_chain("work.weixin.qq.com", NB, NA, names=["*.example.net", "example.net"])[0]
    )
    assert cn(wrong.subject) == "*.example.net"
    assert sans(wrong) == ["*.example.net", "example.net"]


def test_expired_and_not_yet_valid_leaves() -> None:
    at = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    expired = load(certs.expired_chain(at=at, days=3)[0])
    assert expired.not_valid_after_utc == datetime(2025, 5, 29, 8, 0, tzinfo=UTC)
    future = load(certs.not_yet_valid_chain(at=at, days=30)[0])
    assert future.not_valid_before_utc == datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
    assert future.not_valid_after_utc > future.not_valid_before_utc


@pytest.mark.parametrize(
    ("vendor", "issuer", "length"),
    [
        ("sangfor", "Sangfor Internet Gateway CA", 2),
        ("fortigate", "FortiGate CA", 2),
        ("zscaler", "Zscaler Intermediate Root CA (zscaler.net)", 2),
        ("corp", "Corp-SSL-Inspection-CA", 2),
        ("Blue Coat SSL Visibility CA", "Blue Coat SSL Visibility CA", 2),
    ],
)
def test_interception_chains(vendor: str, issuer: str, length: int) -> None:
    chain = [load(der) for der in certs.interception_chain("qyapi.weixin.qq.com", vendor, NB, NA)]
    leaf = chain[0]
    assert len(chain) == length
    assert cn(leaf.subject) == "qyapi.weixin.qq.com" and sans(leaf) == ["qyapi.weixin.qq.com"]
    assert cn(leaf.issuer) == issuer
    assert_signed_by(leaf, chain[1])
    if vendor == "zscaler":  # the intermediate's issuer is the (unsent) Zscaler root
        assert cn(chain[1].issuer) == "Zscaler Root CA"
    else:  # a single-level middlebox CA is self-signed and sent along
        assert_signed_by(chain[1], chain[1])


def test_portal_chains() -> None:
    leaf, ca = map(load, certs.portal_chain("portal.hotel-wifi.example", NB, NA))
    assert cn(leaf.subject) == "portal.hotel-wifi.example"
    assert cn(leaf.issuer) == "Hotel WiFi Portal CA"
    assert_signed_by(leaf, ca)
    (own,) = map(load, certs.portal_chain("work.weixin.qq.com", NB, NA, vendor=None))
    assert own.issuer == own.subject and cn(own.subject) == "work.weixin.qq.com"
    assert_signed_by(own, own)
    nomadix = load(certs.portal_chain(vendor="nomadix")[0])
    assert cn(nomadix.issuer) == "Nomadix Access Gateway CA"


def test_same_seed_same_bytes_other_seed_other_key() -> None:
    a = certs.service_chain(seed=0)
    certs._leaf.cache_clear()  # re-sign from the cached keys: signing must be deterministic too
    certs.ca_certificate.cache_clear()
    assert certs.service_chain(seed=0) == a
    other = certs.service_chain(seed="other-tenant")
    assert load(other[0]).public_key() != load(a[0]).public_key()
    assert load(other[0]).serial_number != load(a[0]).serial_number


def test_bytes_identical_in_a_fresh_process() -> None:
    code = (
        "import hashlib\n"
        "from sample_data.gen import certs\n"
        "chain = certs.service_chain() + certs.interception_chain(vendor='corp')\n"
        "print(hashlib.sha256(b''.join(chain)).hexdigest())\n"
    )
    here = hashlib.sha256(
        b"".join(certs.service_chain() + certs.interception_chain(vendor="corp"))
    ).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == here
