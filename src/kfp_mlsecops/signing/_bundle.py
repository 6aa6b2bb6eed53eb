"""Reading the OMS statement out of a model-signing Sigstore bundle (shared by sign and verify).

Only the payload is read here; whether its signature is valid is model-signing's job, and callers
must call :func:`signed_statement` only on a bundle that has been verified or that they just made.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops._fields import HEX64_RE
from kfp_mlsecops._io import strict_json
from kfp_mlsecops.signing._contract import HASH_ALGORITHM, Resource, one_line

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
OMS_PREDICATE_TYPE = "https://model_signing/signature/v1.0"


@dataclass(frozen=True)
class SignedStatement:
    """The parts of an OMS in-toto statement we rely on (read from a bundle's DSSE payload)."""

    resources: tuple[Resource, ...]
    serialization: dict[str, Any]
    subject_name: str


def read_bundle_json(data: bytes) -> dict[str, Any]:
    """Parse signature-bundle bytes as a strict JSON object (ValueError when they are not)."""
    try:
        bundle = strict_json(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"signature is not JSON ({one_line(e, 120)})") from e
    if not isinstance(bundle, dict):
        raise ValueError("signature is not a JSON object (not a Sigstore bundle)")
    return bundle


def signed_statement(bundle: dict[str, Any]) -> SignedStatement:
    """Extract the OMS statement from a key-signed bundle; ValueError when it is malformed.

    This reads the payload only; it does NOT check the signature. Call it on a bundle that
    model-signing has already verified, or on one we have just produced.
    """
    if bundle.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise ValueError(
            f"bundle media type is {bundle.get('mediaType')!r}, not {BUNDLE_MEDIA_TYPE}"
        )
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise ValueError("bundle has no DSSE envelope")
    if envelope.get("payloadType") != IN_TOTO_PAYLOAD_TYPE:
        raise ValueError(f"DSSE payload type is {envelope.get('payloadType')!r}, not in-toto")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise ValueError("DSSE envelope must hold exactly one signature")
    payload = envelope.get("payload")
    if not isinstance(payload, str):
        raise ValueError("DSSE payload is missing")
    try:
        statement = strict_json(base64.b64decode(payload, validate=True))
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(f"DSSE payload is not base64 JSON ({one_line(e, 120)})") from e
    if not isinstance(statement, dict) or statement.get("_type") != IN_TOTO_STATEMENT_TYPE:
        raise ValueError("payload is not an in-toto v1 statement")
    if statement.get("predicateType") != OMS_PREDICATE_TYPE:
        raise ValueError(
            f"predicate type {statement.get('predicateType')!r} is not {OMS_PREDICATE_TYPE}"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise ValueError("statement must have exactly one subject")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise ValueError("statement has no predicate")
    serialization = predicate.get("serialization")
    raw_resources = predicate.get("resources")
    if not isinstance(serialization, dict) or not isinstance(raw_resources, list):
        raise ValueError("predicate lacks serialization or resources")
    resources: list[Resource] = []
    for item in raw_resources:
        if not isinstance(item, dict):
            raise ValueError("a signed resource is not an object")
        name, algorithm, digest = item.get("name"), item.get("algorithm"), item.get("digest")
        if not isinstance(name, str) or not name:
            raise ValueError("a signed resource has no name")
        if (
            algorithm != HASH_ALGORITHM
            or not isinstance(digest, str)
            or not HEX64_RE.fullmatch(digest)
        ):
            raise ValueError(f"signed resource '{name}' is not a sha256 digest")
        resources.append((name, algorithm, digest))
    names = [r[0] for r in resources]
    if len(set(names)) != len(names):
        raise ValueError("signed resources list a file twice")
    subject_name = subjects[0].get("name")
    return SignedStatement(
        resources=tuple(sorted(resources)),
        serialization=serialization,
        subject_name=subject_name if isinstance(subject_name, str) else "",
    )


#: The verification-material kinds a Sigstore bundle can carry, by their JSON key.
MATERIAL_PUBLIC_KEY = "publicKey"
MATERIAL_CERTIFICATE_CHAIN = "x509CertificateChain"
MATERIAL_CERTIFICATE = "certificate"
_MATERIALS = (MATERIAL_PUBLIC_KEY, MATERIAL_CERTIFICATE_CHAIN, MATERIAL_CERTIFICATE)


def material_kind(bundle: dict[str, Any]) -> str:
    """Return which verification material a bundle carries; ValueError when not exactly one."""
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        raise ValueError("bundle has no verificationMaterial")
    kinds = [kind for kind in _MATERIALS if kind in material]
    if len(kinds) != 1:
        raise ValueError(
            f"bundle must carry exactly one of {', '.join(_MATERIALS)}; it carries "
            f"{', '.join(kinds) or 'none'}"
        )
    return kinds[0]


def chain_certificates_der(bundle: dict[str, Any]) -> list[bytes]:
    """Return the DER certificates of a certificate-method bundle, leaf first (ValueError: none)."""
    material = bundle.get("verificationMaterial")
    chain = material.get(MATERIAL_CERTIFICATE_CHAIN) if isinstance(material, dict) else None
    certificates = chain.get("certificates") if isinstance(chain, dict) else None
    if not isinstance(certificates, list) or not certificates:
        raise ValueError("bundle has no x509CertificateChain certificates")
    result = []
    for item in certificates:
        raw = item.get("rawBytes") if isinstance(item, dict) else None
        if not isinstance(raw, str):
            raise ValueError("a bundle certificate has no rawBytes")
        try:
            result.append(base64.b64decode(raw, validate=True))
        except binascii.Error as e:
            raise ValueError("a bundle certificate is not base64") from e
    return result
