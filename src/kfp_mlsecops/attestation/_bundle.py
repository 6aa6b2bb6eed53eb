"""Certificate-method attestations as Sigstore bundles (v0.3 JSON), shaped like model-signing's.

The bundle holds the DSSE envelope and, as verification material, an ``x509CertificateChain``
(leaf first, then the chain given at signing) with no transparency-log entry: exactly what
model-signing writes for its certificate method (keyid ``""``, the leaf names the key). The
bundle types and their schema come from ``sigstore_models`` (sigstore-python's bundle models,
also used by model-signing); reading adds what the schema leaves loose: unknown or unsigned
fields are refused, base64 must be canonical, and a ``certificate`` (v0.3 single leaf) is
accepted in place of the chain.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from sigstore_models.bundle.v1 import Bundle

from kfp_mlsecops.attestation._dsse import check_base64, envelope_from_dict

#: The bundle media type model-signing writes (Sigstore bundle v0.3).
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: The keyid of the one DSSE signature: empty, the leaf certificate names the key.
BUNDLE_KEYID = ""

_BUNDLE_KEYS = {"mediaType", "verificationMaterial", "dsseEnvelope"}
_CHAIN, _CERTIFICATE, _TLOG = "x509CertificateChain", "certificate", "tlogEntries"


def certificate_bundle_json(envelope: Envelope, certificates: list[x509.Certificate]) -> bytes:
    """Return the bundle JSON for a signed envelope and its certificates (leaf first)."""
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

    Checks the structure only; no signature or certificate is trusted here.
    """
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
