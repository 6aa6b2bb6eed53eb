"""Signed Statement documents: DSSE envelopes and certificate bundles, written and read strictly.

Shared by the methods' :class:`~.method.EnvelopeSigner` / ``EnvelopeVerifier`` (attestation and
approval). A ``key`` document is a bare DSSE envelope (``securesystemslib.dsse``); a
``certificate`` document is a Sigstore bundle v0.3 whose ``x509CertificateChain`` holds the leaf
and chain with no transparency-log entry, exactly what model-signing writes for its certificate
method (keyid ``""``: the leaf names the key); bundle types and schema come from
``sigstore_models``. A ``sigstore`` document is the bundle sigstore-python makes.

Strict reading refuses what the specs leave loose, before any signature check: unsigned fields
besides the envelope's or bundle's are rejected rather than ignored, base64 must be canonical,
and exactly one signature is allowed (a Statement is made by one signer). Nothing here trusts a
signature or a certificate.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from securesystemslib.dsse import Envelope

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import strict_json
from kfp_mlsecops.signing._bundle import BUNDLE_MEDIA_TYPE
from kfp_mlsecops.signing.registry import all_methods, get_method

if TYPE_CHECKING:
    from cryptography import x509

#: The keyid of a certificate bundle's one DSSE signature: empty, the leaf names the key.
BUNDLE_KEYID = ""

_ENVELOPE_KEYS = {"payload", "payloadType", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}
_BUNDLE_KEYS = {"mediaType", "verificationMaterial", "dsseEnvelope"}
_CHAIN, _CERTIFICATE, _TLOG = "x509CertificateChain", "certificate", "tlogEntries"


def load_document(data: bytes) -> dict[str, Any]:
    """Parse signed-document bytes as one strict JSON object; ValueError names the problem."""
    try:
        document = strict_json(data)
    except json.JSONDecodeError as e:
        detail = " ".join(f"not JSON ({e.msg} at line {e.lineno})".split())[:160]
        raise ValueError(f"is {detail}") from e
    except ValueError as e:  # duplicate key, NaN, or not UTF-8
        raise ValueError(f"is not JSON ({' '.join(str(e).split())[:160]})") from e
    if not isinstance(document, dict):
        raise ValueError("is not a JSON object (not a DSSE envelope or Sigstore bundle)")
    return document


def require_method(document: dict[str, Any], method: str) -> None:
    """Raise ValueError when ``document`` is not shaped like ``method``'s but like another's.

    This only routes error messages (which method to verify with); it decides nothing about trust.
    """
    if get_method(method).recognizes(document):
        return
    for other in all_methods():
        if other.name != method and other.recognizes(document):
            raise ValueError(
                f"was made with the {other.name} method, not {method}; verify it with the "
                f"{other.name} method (the same method that signs the model)"
            )


def is_envelope(document: Mapping[str, Any]) -> bool:
    """Return True when ``document`` looks like a bare DSSE envelope (no bundle around it)."""
    return "payloadType" in document and document.get("verificationMaterial") is None


def bundle_material(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the ``verificationMaterial`` of a bundle-shaped document, else None."""
    material = document.get("verificationMaterial")
    return material if isinstance(material, dict) else None


def envelope_json(envelope: Envelope) -> str:
    """Return the envelope as sorted, indented JSON text."""
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True) + "\n"


def envelope_from_dict(document: dict[str, Any], *, keyid: str | None = None) -> Envelope:
    """Return the DSSE envelope held by a parsed JSON object, checked strictly.

    ``keyid=None`` requires a non-empty keyid (key method); a string requires exactly that
    keyid (``""`` in certificate bundles, where the leaf certificate names the key).
    """
    missing = sorted(_ENVELOPE_KEYS - set(document))
    if missing:
        raise ValueError(f"is not a DSSE envelope (missing {', '.join(missing)})")
    extra = sorted(set(document) - _ENVELOPE_KEYS)
    if extra:
        raise ValueError(f"has unsigned fields besides the DSSE envelope ({', '.join(extra)})")
    if document["payloadType"] != C.IN_TOTO_PAYLOAD_TYPE:
        raise ValueError(
            f"has payloadType {document['payloadType']!r}, not {C.IN_TOTO_PAYLOAD_TYPE}"
        )
    check_base64(document["payload"], "payload")
    signatures = document["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        count = len(signatures) if isinstance(signatures, list) else 0
        raise ValueError(f"holds {count} signatures; exactly one is required")
    signature = signatures[0]
    if not isinstance(signature, dict) or set(signature) != _SIGNATURE_KEYS:
        raise ValueError("signature must have exactly the fields keyid and sig")
    if keyid is None and (not isinstance(signature["keyid"], str) or not signature["keyid"]):
        raise ValueError("signature has no keyid")
    if keyid is not None and signature["keyid"] != keyid:
        raise ValueError(
            f"signature has keyid {signature['keyid']!r:.40}; a certificate bundle names its key "
            f"by the leaf certificate (keyid {keyid!r})"
        )
    check_base64(signature["sig"], "signature")
    try:  # from_dict edits the signature dicts in place: hand it a copy
        return Envelope.from_dict(copy.deepcopy(document))
    except (KeyError, ValueError, TypeError, binascii.Error) as e:
        raise ValueError(f"is not a DSSE envelope ({' '.join(str(e).split())[:160]})") from e


def check_base64(value: object, what: str) -> bytes:
    """Return the bytes of a canonical, non-empty base64 string; ValueError otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"has no {what}")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"{what} is not base64") from e
    if base64.b64encode(decoded).decode("ascii") != value:
        raise ValueError(f"{what} is not canonical base64")
    return decoded


def certificate_bundle_json(envelope: Envelope, certificates: list[x509.Certificate]) -> bytes:
    """Return the bundle JSON for a signed envelope and its certificates (leaf first)."""
    from cryptography.hazmat.primitives import serialization
    from sigstore_models.bundle.v1 import Bundle

    dsse = envelope.to_dict()
    for signature in dsse["signatures"]:
        signature["keyid"] = BUNDLE_KEYID
    raw = [
        {"rawBytes": _b64(certificate.public_bytes(serialization.Encoding.DER))}
        for certificate in certificates
    ]
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {_CHAIN: {"certificates": raw}, _TLOG: []},
        "dsseEnvelope": dsse,
    }
    return Bundle.from_dict(document).to_json().encode("utf-8")


def read_certificate_bundle(document: dict[str, Any]) -> tuple[Envelope, list[bytes]]:
    """Return the envelope and the DER certificates (leaf first) of a certificate bundle.

    Checks the structure only; no signature or certificate is trusted here. A ``certificate``
    (v0.3 single leaf) is accepted in place of the chain.
    """
    from sigstore_models.bundle.v1 import Bundle

    if document.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise ValueError(
            f"has media type {document.get('mediaType')!r:.80}, not a Sigstore bundle "
            f"({BUNDLE_MEDIA_TYPE})"
        )
    extra = sorted(set(document) - _BUNDLE_KEYS)
    if extra:
        raise ValueError(f"has unsigned fields besides the bundle's ({', '.join(extra)})")
    try:  # the Sigstore bundle schema (strict types, unknown fields refused)
        Bundle.from_dict(copy.deepcopy(document))
    except Exception as e:  # pydantic's ValidationError, or a value it could not decode
        raise ValueError(f"is not a Sigstore bundle ({' '.join(str(e).split())[:160]})") from e
    material = document["verificationMaterial"]
    kinds = [kind for kind in (_CHAIN, _CERTIFICATE) if kind in material]
    if len(kinds) != 1:
        raise ValueError("carries no certificate chain (it was not made with a certificate)")
    unsigned = sorted(set(material) - {kinds[0], _TLOG})
    if unsigned or material.get(_TLOG):
        raise ValueError(
            f"carries verification material this method does not use "
            f"({', '.join(unsigned) or _TLOG})"
        )
    if kinds[0] == _CHAIN:
        items = material[_CHAIN].get("certificates") or []
    else:
        items = [material[_CERTIFICATE]]
    if not items:
        raise ValueError("carries an empty certificate chain")
    der = [check_base64(item.get("rawBytes"), "certificate rawBytes") for item in items]
    return envelope_from_dict(document["dsseEnvelope"], keyid=BUNDLE_KEYID), der


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
