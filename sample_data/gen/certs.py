"""Deterministic X.509 chains for sample captures: the real-looking service chain and its impostors.

Every key is derived from a seed (pure-Python prime search over a seeded
``random.Random``) and every signature is PKCS#1 v1.5 + SHA-256, so the same
arguments always give the same DER bytes, in any process.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import gcd

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

Seed = int | str

KEY_BITS = 2048
PUBLIC_EXPONENT = 65537

# A leaf validity that brackets mid-2025, the era of the sample bundles.
DEFAULT_NOT_BEFORE = datetime(2025, 1, 6, tzinfo=UTC)
DEFAULT_NOT_AFTER = datetime(2026, 2, 6, 23, 59, 59, tzinfo=UTC)

WECOM_HOST = "work.weixin.qq.com"
# The service leaf's SANs: "*.work..." covers login./open./i.work..., "*.weixin..." qyapi.
WECOM_NAMES = (
    "work.weixin.qq.com",
    "*.work.weixin.qq.com",
    "*.weixin.qq.com",
    "qyapi.weixin.qq.com",
)
TENCENT_SUBJECT = (
    ("C", "CN"),
    ("ST", "Guangdong Province"),
    ("L", "Shenzhen"),
    ("O", "Shenzhen Tencent Computer Systems Company Limited"),
)

_ATTRS = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "E": NameOID.EMAIL_ADDRESS,
}

NameSpec = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CaSpec:
    """One certificate authority: its name, validity, optional parent and revocation URLs."""

    label: str
    subject: NameSpec
    not_before: datetime
    not_after: datetime
    parent: CaSpec | None = None
    ocsp_url: str | None = None
    ca_issuers_url: str | None = None
    crl_url: str | None = None


_DIGICERT_ROOT = CaSpec(
    "digicert-root-g2",
    (
        ("C", "US"),
        ("O", "DigiCert Inc"),
        ("OU", "www.digicert.com"),
        ("CN", "DigiCert Global Root G2"),
    ),
    datetime(2013, 8, 1, 12, 0, tzinfo=UTC),
    datetime(2038, 1, 15, 12, 0, tzinfo=UTC),
)
_DIGICERT_CN_CA = CaSpec(
    "digicert-cn-ov-g2",
    (
        ("C", "US"),
        ("O", "DigiCert, Inc."),
        ("CN", "DigiCert Secure Site OV G2 TLS CN RSA4096 SHA256 2022 CA1"),
    ),
    datetime(2022, 12, 8, tzinfo=UTC),
    datetime(2032, 12, 7, 23, 59, 59, tzinfo=UTC),
    parent=_DIGICERT_ROOT,
    ocsp_url="http://ocsp.digicert.cn",
    ca_issuers_url="http://cacerts.digicert.cn/DigiCertSecureSiteOVG2TLSCNRSA4096SHA2562022CA1.crt",
    crl_url="http://crl.digicert.cn/DigiCertSecureSiteOVG2TLSCNRSA4096SHA2562022CA1.crl",
)

# Middlebox CAs as their products name them by default; the leaf is issued by the last one.
_ZSCALER_ROOT = CaSpec(
    "zscaler-root",
    (
        ("C", "US"),
        ("ST", "California"),
        ("L", "San Jose"),
        ("O", "Zscaler Inc."),
        ("OU", "Zscaler Inc."),
        ("CN", "Zscaler Root CA"),
    ),
    datetime(2014, 12, 19, tzinfo=UTC),
    datetime(2042, 5, 6, tzinfo=UTC),
)
INTERCEPTION_CAS: dict[str, CaSpec] = {
    "sangfor": CaSpec(
        "sangfor",
        (
            ("C", "CN"),
            ("ST", "Guangdong"),
            ("L", "Shenzhen"),
            ("O", "Sangfor Technologies Inc."),
            ("CN", "Sangfor Internet Gateway CA"),
        ),
        datetime(2020, 3, 2, tzinfo=UTC),
        datetime(2040, 2, 26, tzinfo=UTC),
    ),
    "fortigate": CaSpec(
        "fortigate",
        (
            ("C", "US"),
            ("ST", "California"),
            ("L", "Sunnyvale"),
            ("O", "Fortinet"),
            ("OU", "Certificate Authority"),
            ("CN", "FortiGate CA"),
            ("E", "support@fortinet.com"),
        ),
        datetime(2019, 6, 11, tzinfo=UTC),
        datetime(2038, 1, 19, tzinfo=UTC),
    ),
    "zscaler": CaSpec(
        "zscaler",
        (
            ("C", "US"),
            ("ST", "California"),
            ("O", "Zscaler Inc."),
            ("OU", "Zscaler Inc."),
            ("CN", "Zscaler Intermediate Root CA (zscaler.net)"),
        ),
        datetime(2020, 11, 6, tzinfo=UTC),
        datetime(2040, 11, 1, tzinfo=UTC),
        parent=_ZSCALER_ROOT,
    ),
    "corp": CaSpec(
        "corp",
        (
            ("C", "CN"),
            ("O", "Example Corp"),
            ("OU", "IT Security"),
            ("CN", "Corp-SSL-Inspection-CA"),
        ),
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2033, 1, 1, tzinfo=UTC),
    ),
}

PORTAL_CAS: dict[str, CaSpec] = {
    "nomadix": CaSpec(
        "nomadix",
        (("C", "US"), ("O", "Nomadix, Inc."), ("CN", "Nomadix Access Gateway CA")),
        datetime(2018, 5, 1, tzinfo=UTC),
        datetime(2038, 4, 26, tzinfo=UTC),
    ),
    "hotel": CaSpec(
        "hotel",
        (("C", "CN"), ("O", "Hotel WiFi Portal"), ("CN", "Hotel WiFi Portal CA")),
        datetime(2021, 9, 1, tzinfo=UTC),
        datetime(2031, 9, 1, tzinfo=UTC),
    ),
}


# ---------------------------------------------------------------- seeded keys


def _rng(seed: Seed, *labels: str) -> random.Random:
    # Seed from a digest, not hash(), so it is the same under any PYTHONHASHSEED.
    text = "\x1f".join([repr(seed), *labels]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(text).digest(), "big"))


def _odd_primes(low: int, high: int) -> list[int]:
    sieve = bytearray([1]) * high
    for i in range(2, int(high**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, high, i)))
    return [p for p in range(max(low, 3), high) if sieve[p]]


# Two gcd sieves: the cheap one rejects most candidates, the wide one saves ~30% of the
# modular exponentiations that dominate key generation.
_SIEVES = [
    functools.reduce(int.__mul__, _odd_primes(lo, hi)) for lo, hi in ((3, 2000), (2000, 65536))
]


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 8) -> bool:
    # A few Miller-Rabin rounds suffice for random (non-adversarial) candidates.
    if any(gcd(n, product) != 1 for product in _SIEVES):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        # Top two bits set so that p*q has exactly 2*bits bits.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % PUBLIC_EXPONENT and _is_probable_prime(candidate, rng):
            return candidate


@functools.cache
def rsa_key(seed: Seed, label: str, bits: int = KEY_BITS) -> rsa.RSAPrivateKey:
    """The RSA key for (seed, label): the same key every time, in every process."""
    rng = _rng(seed, "rsa", label, str(bits))
    e = PUBLIC_EXPONENT
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
        if p != q and gcd(e, (p - 1) * (q - 1)) == 1:
            break
    p, q = max(p, q), min(p, q)
    d = pow(e, -1, (p - 1) * (q - 1) // gcd(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


# ---------------------------------------------------------------- building


def _name(spec: NameSpec) -> x509.Name:
    return x509.Name([x509.NameAttribute(_ATTRS[k], v) for k, v in spec])


def _serial(seed: Seed, *labels: str) -> int:
    digest = hashlib.sha256("\x1f".join([repr(seed), "serial", *labels]).encode()).digest()
    return int.from_bytes(digest[:16], "big") >> 1 or 1


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ca_key(seed: Seed, ca: CaSpec) -> rsa.RSAPrivateKey:
    return rsa_key(seed, "ca:" + ca.label)


def _sign(
    seed: Seed,
    subject: NameSpec,
    key: rsa.RSAPrivateKey,
    issuer: CaSpec | None,
    not_before: datetime,
    not_after: datetime,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> bytes:
    issuer_name = _name(subject) if issuer is None else _name(issuer.subject)
    issuer_key = key if issuer is None else _ca_key(seed, issuer)
    nb, na = _utc(not_before), _utc(not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(
            _serial(seed, repr(subject), repr(issuer_name), nb.isoformat(), na.isoformat())
        )
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    cert = builder.sign(issuer_key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())
    return cert.public_bytes(Encoding.DER)


def _revocation_exts(ca: CaSpec | None) -> list[tuple[x509.ExtensionType, bool]]:
    exts: list[tuple[x509.ExtensionType, bool]] = []
    if ca is None:
        return exts
    access = []
    if ca.ocsp_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ca.ocsp_url)
            )
        )
    if ca.ca_issuers_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(ca.ca_issuers_url),
            )
        )
    if access:
        exts.append((x509.AuthorityInformationAccess(access), False))
    if ca.crl_url:
        point = x509.DistributionPoint(
            [x509.UniformResourceIdentifier(ca.crl_url)], None, None, None
        )
        exts.append((x509.CRLDistributionPoints([point]), False))
    return exts


@functools.cache
def ca_certificate(seed: Seed, ca: CaSpec) -> bytes:
    """DER of one CA certificate, self-signed for a root, signed by its parent otherwise."""
    path_length = None if ca.parent is None else 0
    exts: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        *_revocation_exts(ca.parent),
    ]
    return _sign(seed, ca.subject, _ca_key(seed, ca), ca.parent, ca.not_before, ca.not_after, exts)


@functools.cache
def _leaf(
    seed: Seed,
    key_label: str,
    subject: NameSpec,
    names: tuple[str, ...],
    issuer: CaSpec | None,
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    exts: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        (
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            False,
        ),
        (x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False),
        *_revocation_exts(issuer),
    ]
    return _sign(seed, subject, rsa_key(seed, key_label), issuer, not_before, not_after, exts)


def _chain_above(seed: Seed, ca: CaSpec, include_root: bool) -> list[bytes]:
    chain = []
    node: CaSpec | None = ca
    while node is not None:
        if node.parent is not None or include_root:
            chain.append(ca_certificate(seed, node))
        node = node.parent
    return chain


# ---------------------------------------------------------------- profiles


def service_chain(
    host: str = WECOM_HOST,
    not_before: datetime = DEFAULT_NOT_BEFORE,
    not_after: datetime = DEFAULT_NOT_AFTER,
    *,
    names: tuple[str, ...] | list[str] | None = None,
    seed: Seed = 0,
) -> list[bytes]:
    """The WeCom-like chain (leaf, DigiCert CN intermediate), DER, leaf first.

    ``names`` overrides the leaf's SANs (its CN is the first name): use it for an
    SNI-mismatch leaf. Past or future dates give an expired / not-yet-valid leaf.
    """
    if names is None:
        names = (host, *(n for n in WECOM_NAMES if n != host)) if _is_wecom(host) else (host,)
    names = tuple(names)
    subject = (*TENCENT_SUBJECT, ("CN", names[0]))
    leaf = _leaf(seed, "service-leaf", subject, names, _DIGICERT_CN_CA, not_before, not_after)
    return [leaf, *_chain_above(seed, _DIGICERT_CN_CA, include_root=False)]


def service_root(seed: Seed = 0) -> bytes:
    """DER of the service chain's root (DigiCert Global Root G2 look-alike), the trust anchor."""
    return ca_certificate(seed, _DIGICERT_ROOT)


def expired_chain(
    host: str = WECOM_HOST, at: datetime = DEFAULT_NOT_AFTER, *, days: int = 3, seed: Seed = 0
) -> list[bytes]:
    """A service chain whose leaf expired ``days`` before ``at``."""
    end = _utc(at) - timedelta(days=days)
    return service_chain(host, end - timedelta(days=396), end, seed=seed)


def not_yet_valid_chain(
    host: str = WECOM_HOST, at: datetime = DEFAULT_NOT_BEFORE, *, days: int = 30, seed: Seed = 0
) -> list[bytes]:
    """A service chain whose leaf becomes valid ``days`` after ``at`` (a clock set in the past)."""
    start = _utc(at) + timedelta(days=days)
    return service_chain(host, start, start + timedelta(days=396), seed=seed)


def interception_chain(
    host: str = WECOM_HOST,
    vendor: str = "sangfor",
    not_before: datetime = DEFAULT_NOT_BEFORE,
    not_after: datetime = DEFAULT_NOT_AFTER,
    *,
    seed: Seed = 0,
) -> list[bytes]:
    """A leaf for ``host`` re-signed by a TLS-inspection CA, followed by that CA's chain.

    ``vendor`` is a key of ``INTERCEPTION_CAS`` or any CA common name. Middleboxes
    send their own CA too, so a single-level CA is included.
    """
    ca = _vendor_ca(vendor)
    subject = (("CN", host),)
    leaf = _leaf(seed, "interception-leaf", subject, (host,), ca, not_before, not_after)
    return [leaf, *_chain_above(seed, ca, include_root=ca.parent is None)]


def portal_chain(
    host: str = "portal.hotel-wifi.example",
    not_before: datetime = DEFAULT_NOT_BEFORE,
    not_after: datetime = DEFAULT_NOT_AFTER,
    *,
    vendor: str | None = "hotel",
    seed: Seed = 0,
) -> list[bytes]:
    """A captive portal's certificate for ``host`` (the portal or the service name).

    ``vendor`` names a ``PORTAL_CAS`` issuer; ``None`` makes a self-signed leaf.
    """
    if vendor is None:
        subject = (("O", "Guest WiFi Portal"), ("CN", host))
        return [_leaf(seed, "portal-leaf", subject, (host,), None, not_before, not_after)]
    ca = PORTAL_CAS[vendor]
    subject = (("O", dict(ca.subject)["O"]), ("CN", host))
    leaf = _leaf(seed, "portal-leaf", subject, (host,), ca, not_before, not_after)
    return [leaf, ca_certificate(seed, ca)]


def _is_wecom(host: str) -> bool:
    return host == "weixin.qq.com" or host.endswith(".weixin.qq.com")


def _vendor_ca(vendor: str) -> CaSpec:
    if vendor in INTERCEPTION_CAS:
        return INTERCEPTION_CAS[vendor]
    return CaSpec(
        "custom:" + vendor,
        (("CN", vendor),),
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2033, 1, 1, tzinfo=UTC),
    )
