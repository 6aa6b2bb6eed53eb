"""A throwaway test PKI: root CA -> intermediate CA -> code-signing leaves (ECDSA P-256).

Shared by the signing, attestation and pipeline tests through the ``pki`` / ``other_pki``
fixtures of tests/conftest.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """PEM paths of a test PKI (all keys are unencrypted ECDSA P-256)."""

    root: Path
    intermediate: Path
    #: leaf name -> (private key, certificate); names: email, email2, cn, expired, future, server
    leaves: dict[str, tuple[Path, Path]]

    @property
    def chain(self) -> list[Path]:
        return [self.intermediate, self.root]

    #: The identities the leaves carry: a SAN e-mail ("email", "expired", "future") and a
    #: subject DN made of a CN only ("cn", no SAN).
    email_identity = "signer@example.com"
    cn_identity = "CN=cn-only-signer"


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
    start: datetime.datetime,
    end: datetime.datetime,
    eku: list[x509.ObjectIdentifier] | None = None,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, cert: x509.Certificate, key=None) -> tuple[Path, Path]:
    cert_path = folder / f"{name}.crt.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = folder / f"{name}.key.pem"
    if key is not None:
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return key_path, cert_path


def build_pki(folder: Path, tag: str) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    root_key, int_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root_name, int_name = _name(f"{tag} root CA"), _name(f"{tag} intermediate CA")
    root = _certificate(
        root_name, root_key, None, ca=True, start=now - 400 * day, end=now + 4000 * day
    )
    inter = _certificate(
        int_name,
        int_key,
        (root_name, root_key),
        ca=True,
        start=now - 300 * day,
        end=now + 3000 * day,
    )
    _, root_path = _write(folder, "root", root)
    _, int_path = _write(folder, "intermediate", inter)
    code = [ExtendedKeyUsageOID.CODE_SIGNING]
    specs = {
        "email": (
            _name("model-signer", "Example"),
            code,
            [x509.RFC822Name(Pki.email_identity)],
            -day,
            30 * day,
        ),
        # a second key with the same identity (a leaf swapped under the same name)
        "email2": (
            _name("second-signer", "Example"),
            code,
            [x509.RFC822Name(Pki.email_identity)],
            -day,
            30 * day,
        ),
        "cn": (_name("cn-only-signer"), code, None, -day, 30 * day),
        "expired": (
            _name("expired-signer", "Example"),
            code,
            [x509.RFC822Name(Pki.email_identity)],
            -30 * day,
            -day,
        ),
        "future": (
            _name("future-signer", "Example"),
            code,
            [x509.RFC822Name(Pki.email_identity)],
            day,
            30 * day,
        ),
        "server": (
            _name("tls-server", "Example"),
            [ExtendedKeyUsageOID.SERVER_AUTH],
            [x509.DNSName("example.com")],
            -day,
            30 * day,
        ),
    }
    leaves = {}
    for name, (subject, eku, san, start, end) in specs.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(
            subject,
            key,
            (int_name, int_key),
            ca=False,
            start=now + start,
            end=now + end,
            eku=eku,
            san=san,
        )
        leaves[name] = _write(folder, name, cert, key)
    return Pki(root=root_path, intermediate=int_path, leaves=leaves)
