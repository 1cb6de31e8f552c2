"""Certificates: names, SANs, validity, self-signature, and the odd ones cryptography rejects."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pcap.certs import CertError, CertInfo, parse_certificate, validity_at
from sample_data.gen.certs import (
    DEFAULT_NOT_AFTER,
    DEFAULT_NOT_BEFORE,
    WECOM_NAMES,
    expired_chain,
    interception_chain,
    not_yet_valid_chain,
    service_chain,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
KEY = ec.derive_private_key(0x5EED, ec.SECP256R1())
OTHER_KEY = ec.derive_private_key(0xBAD, ec.SECP256R1())


def name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def build(
    subject: x509.Name,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey = KEY,
    sans: list[x509.GeneralName] | None = None,
    serial: int = 0x1234,
) -> bytes:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(KEY.public_key())
        .serial_number(serial)
        .not_valid_before(START)
        .not_valid_after(START + timedelta(days=30))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(Encoding.DER)


def test_service_chain_leaf_and_intermediate() -> None:
    leaf_der, ca_der = service_chain()
    leaf, ca = parse_certificate(leaf_der), parse_certificate(ca_der)
    assert leaf.subject == (
        "CN=work.weixin.qq.com,O=Shenzhen Tencent Computer Systems Company Limited,"
        "L=Shenzhen,ST=Guangdong Province,C=CN"
    )
    assert leaf.subject_cn == "work.weixin.qq.com"
    assert leaf.issuer == ca.subject
    assert (
        leaf.issuer_cn
        == ca.subject_cn
        == "DigiCert Secure Site OV G2 TLS CN RSA4096 SHA256 2022 CA1"
    )
    assert leaf.sans == WECOM_NAMES
    assert (leaf.not_before, leaf.not_after) == (DEFAULT_NOT_BEFORE, DEFAULT_NOT_AFTER)
    assert leaf.not_before.tzinfo is not None and leaf.not_before.utcoffset() == timedelta(0)
    assert leaf.sha256 == hashlib.sha256(leaf_der).hexdigest()
    assert leaf.serial == format(x509.load_der_x509_certificate(leaf_der).serial_number, "x")
    assert not leaf.self_signed and not ca.self_signed
    assert ca.sans == ()


def test_interception_ca_is_self_signed() -> None:
    leaf_der, ca_der = interception_chain("work.weixin.qq.com", "sangfor")
    leaf, ca = parse_certificate(leaf_der), parse_certificate(ca_der)
    assert leaf.issuer_cn == ca.subject_cn == "Sangfor Internet Gateway CA"
    assert leaf.sans == ("work.weixin.qq.com",) and leaf.subject == "CN=work.weixin.qq.com"
    assert ca.self_signed and not leaf.self_signed


def test_validity() -> None:
    expired = parse_certificate(expired_chain(at=DEFAULT_NOT_AFTER, days=3)[0])
    future = parse_certificate(not_yet_valid_chain(at=DEFAULT_NOT_BEFORE, days=30)[0])
    current = parse_certificate(service_chain()[0])
    assert validity_at(expired, DEFAULT_NOT_AFTER) == "expired"
    assert validity_at(future, DEFAULT_NOT_BEFORE) == "not_yet_valid"
    assert validity_at(current, datetime(2025, 6, 1, tzinfo=UTC)) == "valid"
    assert validity_at(current, current.not_after) == "valid"  # the last second still counts
    assert validity_at(current, current.not_after + timedelta(seconds=1)) == "expired"
    assert validity_at(current, datetime(2025, 1, 5, 23, 0)) == "not_yet_valid"  # naive: UTC


def test_self_signed_with_ip_and_dns_sans() -> None:
    subject = name((NameOID.COMMON_NAME, "router.local"), (NameOID.ORGANIZATION_NAME, "Home, Inc."))
    sans: list[x509.GeneralName] = [
        x509.DNSName("router.local"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
        x509.RFC822Name("admin@router.local"),
    ]
    info = parse_certificate(build(subject, subject, sans=sans))
    assert info.subject == info.issuer == "O=Home\\, Inc.,CN=router.local"
    assert info.sans == ("router.local", "192.0.2.7", "2001:db8::1")
    assert info.self_signed
    assert info.serial == "1234"


def test_same_name_but_another_signer_is_not_self_signed() -> None:
    subject = name((NameOID.COMMON_NAME, "portal.example"))
    assert not parse_certificate(build(subject, subject, signer=OTHER_KEY)).self_signed


def test_negative_serial_is_read_without_warnings() -> None:
    der = build(
        name((NameOID.COMMON_NAME, "old")), name((NameOID.COMMON_NAME, "Old CA")), serial=0x3039
    )
    negative = der.replace(bytes.fromhex("02023039"), bytes.fromhex("0202b039"), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = parse_certificate(negative)
    assert info.serial == "-4fc7"  # 0xb039 as a signed 16-bit integer
    assert info.subject_cn == "old"


def test_latin1_bytes_in_a_utf8_name_are_decoded_leniently() -> None:
    subject = name(
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.ORGANIZATION_NAME, "Example, Inc."),
        (NameOID.COMMON_NAME, "Muller"),
    )
    der = build(subject, name((NameOID.COMMON_NAME, "Corp CA")))
    latin1 = der.replace(b"\x0c\x06Muller", b"\x0c\x06M\xfcller")
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(latin1).subject  # noqa: B018  (cryptography gives up)
    info = parse_certificate(latin1)
    assert info.subject == "CN=Müller,O=Example\\, Inc.,C=DE"
    assert info.subject_cn == "Müller"
    assert info.issuer == "CN=Corp CA" and not info.self_signed


def test_printable_string_with_wildcard_and_underscore_loads() -> None:
    # cryptography will not write such a PrintableString either: retag a UTF8String.
    ca = name((NameOID.ORGANIZATION_NAME, "Corp"), (NameOID.COMMON_NAME, "*.corp_proxy.local"))
    utf8 = b"\x0c\x12*.corp_proxy.local"
    der = build(ca, ca).replace(utf8, b"\x13" + utf8[1:])
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(der)
    info = parse_certificate(der)
    assert info.subject == info.issuer == "CN=*.corp_proxy.local,O=Corp"
    assert info.subject_cn == "*.corp_proxy.local"
    assert info.self_signed  # the names match; the signature cannot be checked
    assert info.sha256 == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(
    "der", [b"", b"\x30\x03\x02\x01\x00", b"-----BEGIN CERTIFICATE-----", bytes(64)]
)
def test_garbage_raises_cert_error(der: bytes) -> None:
    with pytest.raises(CertError):
        parse_certificate(der)


def test_truncated_certificate_raises_cert_error() -> None:
    der = build(name((NameOID.COMMON_NAME, "a")), name((NameOID.COMMON_NAME, "b")))
    for size in (1, 10, len(der) // 2, len(der) - 1):
        with pytest.raises(CertError):
            parse_certificate(der[:size])


SEED_DER = build(
    name((NameOID.COMMON_NAME, "seed.example"), (NameOID.ORGANIZATION_NAME, "Seed")),
    name((NameOID.COMMON_NAME, "Seed CA")),
    sans=[x509.DNSName("seed.example"), x509.IPAddress(ipaddress.ip_address("10.0.0.1"))],
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(SEED_DER) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_mutated_certificates_raise_only_cert_error(mutations: list[tuple[int, int]]) -> None:
    der = bytearray(SEED_DER)
    for where, value in mutations:
        der[where] = value
    try:
        info = parse_certificate(bytes(der))
    except CertError:
        return
    assert isinstance(info, CertInfo) and len(info.sha256) == 64


# ---------------------------------------------------------------- real captures


@pytest.mark.corpus
def test_corpus_certificates(corpus: Path) -> None:
    # The TLS tests' helper: it pulls each connection's handshake out of a capture.
    from test_pcap_tls import connections

    pcaps = corpus / "pcap"
    expired = connections(pcaps / "zeek-tls-expired-cert.pcap")
    captured = datetime(2014, 3, 13, 21, 20, 2, tzinfo=UTC)
    spidh = parse_certificate(expired[60539][0].summary().certificates[0])
    assert spidh.not_after == datetime(2014, 3, 4, 23, 59, 59, tzinfo=UTC)
    assert validity_at(spidh, captured) == "expired"  # Zeek: SSL::Certificate_Expired
    tobu = parse_certificate(expired[60540][0].summary().certificates[0])
    assert validity_at(tobu, captured) == "valid"  # Zeek: SSL::Certificate_Expires_Soon
    mismatch = connections(pcaps / "ndpi-ssl-cert-name-mismatch.pcap")[54772][0].summary()
    assert parse_certificate(mismatch.certificates[0]).sans == ("*.badssl.com", "badssl.com")
    root = parse_certificate(connections(pcaps / "zeek-missing-intermediate.pcap")[58530][0].summary().certificates[2])  # fmt: skip
    assert root.self_signed and root.serial == "0"  # a zero serial: cryptography warns
    # Arkime's session JSON for the self-signed capture.
    session = json.loads((pcaps / "arkime-ssl-selfsign.pcap.expected.txt").read_text().split("\n", 1)[1])  # fmt: skip
    expected = session["sessions3"][0]["body"]
    [leaf] = [parse_certificate(der) for der in connections(pcaps / "arkime-ssl-selfsign.pcap")[60101][0].summary().certificates]  # fmt: skip
    assert ([leaf.subject_cn], [leaf.issuer_cn]) == (expected["cert"][0]["subjectCN"], expected["cert"][0]["issuerCN"])  # fmt: skip
    assert leaf.self_signed and "cert:self-signed" in expected["tags"]
    assert leaf.serial == expected["cert"][0]["serial"].lstrip("0")
    assert int(leaf.not_after.timestamp() * 1000) == expected["cert"][0]["notAfter"]
