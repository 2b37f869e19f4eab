"""TLS material for HTTP/3: the configured certificate, or a self-signed one for development.

QUIC always runs over TLS 1.3. A node configured with ``[http3] certificate_path`` and
``private_key_path`` uses those files; otherwise it makes, once, a small development authority
(``dev-ca.pem``) and a certificate it signs for ``localhost``, ``127.0.0.1`` and ``::1`` (ECDSA
P-256, valid a year), kept in ``DATA_DIR/tls/`` and renewed when about to expire. Clients of a
dev node trust the authority file (``Client(url, ca_file=...)``, ``curl --cacert``); strict TLS
stacks refuse a self-signed certificate used directly as a server's.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from edgewise.host.errors import ConfigInvalid

DEV_CA_NAME = "dev-ca.pem"
DEV_CERT_NAME = "dev-cert.pem"
DEV_KEY_NAME = "dev-key.pem"
DEV_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=7)


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path
    authority: Path | None = None
    """The development authority that signed ``certificate``, for clients to trust."""


def configured_files(certificate_path: str, private_key_path: str) -> TlsFiles | None:
    """The files named in the config, checked; None when neither is set."""
    if not certificate_path and not private_key_path:
        return None
    if not certificate_path or not private_key_path:
        raise ConfigInvalid("[http3] needs both certificate_path and private_key_path, or neither")
    files = TlsFiles(Path(certificate_path), Path(private_key_path))
    for path in (files.certificate, files.private_key):
        if not path.is_file():
            raise ConfigInvalid(f"[http3] {path} is not a readable file")
    return files


def dev_files(data_dir: Path) -> TlsFiles:
    """The node's self-signed certificate under ``data_dir/tls``, made or renewed if needed."""
    folder = data_dir / "tls"
    files = TlsFiles(folder / DEV_CERT_NAME, folder / DEV_KEY_NAME, folder / DEV_CA_NAME)
    if not (_still_valid(files.certificate) and files.private_key.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        _write_dev_files(files)
    return files


def _still_valid(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    now = datetime.datetime.now(datetime.UTC)
    return cert.not_valid_after_utc - RENEW_BEFORE > now


def _write_dev_files(files: TlsFiles) -> None:
    assert files.authority is not None
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Edgewise dev authority")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        _builder(name, ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(files.private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key_pem)
    files.authority.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + DEV_VALIDITY)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
