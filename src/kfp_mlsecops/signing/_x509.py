"""X.509 checks shared by certificate signing and verification: validity, usage, identity.

model-signing 1.1.1 checks the chain at the leaf's own ``notBefore`` time, so it accepts expired
leaves, and it checks no signer identity at all. These helpers add what it leaves out. Each one
returns a reason string (empty when the check passes) so the caller picks its own error type.

Identity rule: an expected identity matches the leaf when it equals, exactly, either the leaf's
whole subject distinguished name (RFC 4514 string as ``cryptography`` prints it, e.g.
``O=Example,CN=model-signer``, or the same RDNs in encoding order, ``CN=model-signer,O=Example``)
or one of its subject-alternative-name values (e-mail address, URI or DNS name). A part of the DN
(``CN=model-signer`` alone, when the subject also has ``O=Example``) does not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID


def load_pem_certificates(path: Path) -> list[x509.Certificate]:
    """Return every certificate in a PEM file (ValueError: none there; OSError: unreadable)."""
    data = path.read_bytes()
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise ValueError("holds no PEM certificate") from e
    if not certificates:
        raise ValueError("holds no PEM certificate")
    return certificates


def validity_problem(certificate: x509.Certificate, at: datetime) -> str:
    """Return why ``certificate`` is not valid at ``at`` (UTC), or "" when it is."""
    if at < certificate.not_valid_before_utc:
        return f"is not valid before {_utc(certificate.not_valid_before_utc)}"
    if at > certificate.not_valid_after_utc:
        return f"expired on {_utc(certificate.not_valid_after_utc)}"
    return ""


def signing_usage_problem(certificate: x509.Certificate) -> str:
    """Return why ``certificate`` may not sign models, or "" when it may.

    Stricter than model-signing (which accepts key usage digitalSignature alone, so a TLS server
    certificate would do): the extended key usage must list codeSigning, and a key usage, when
    present, must allow digitalSignature.
    """
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "has no extended key usage; it needs codeSigning"
    if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        return "does not allow codeSigning in its extended key usage"
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ""
    if not usage.digital_signature:
        return "does not allow digitalSignature in its key usage"
    return ""


def identities(certificate: x509.Certificate) -> list[str]:
    """Return the identities a certificate asserts: its subject DN, then its SAN values."""
    found = []
    subject = certificate.subject.rfc4514_string()
    if subject:
        found.append(subject)
        # The same RDNs in encoding order ("CN=signer,O=Example" where RFC 4514 prints
        # "O=Example,CN=signer"): what most people type, and still the whole DN.
        forward = ",".join(rdn.rfc4514_string() for rdn in certificate.subject.rdns)
        if forward != subject:
            found.append(forward)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return found
    for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName):
        found.extend(str(value) for value in san.get_values_for_type(kind))
    return found


def identity_problem(certificate: x509.Certificate, expected: str) -> str:
    """Return why ``certificate`` does not carry identity ``expected``, or "" when it does."""
    found = identities(certificate)
    if expected in found:
        return ""
    shown = ", ".join(repr(i) for i in found[:5]) or "none"
    return f"identity {expected!r} does not match the signer certificate (it names {shown})"


def chain_validity_problem(certificates: Sequence[x509.Certificate], at: datetime) -> str:
    """Return the first validity problem in ``certificates`` at ``at``, naming the subject."""
    for certificate in certificates:
        problem = validity_problem(certificate, at)
        if problem:
            return f"certificate {certificate.subject.rfc4514_string() or '(no subject)'} {problem}"
    return ""


def now() -> datetime:
    """Return the current time in UTC (one place, so the choice of clock is explicit)."""
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
