"""DSSE envelopes (``securesystemslib.dsse``): write them as JSON, read them back strictly.

Strict reading refuses what the DSSE spec leaves loose, before any signature check: fields
other than ``payload`` / ``payloadType`` / ``signatures`` (and ``keyid`` / ``sig`` in a
signature) are rejected rather than ignored, because they are unsigned; base64 must be canonical;
exactly one signature is allowed (an attestation is made by one signer).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from securesystemslib.dsse import Envelope

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._document import load_document

_ENVELOPE_KEYS = {"payload", "payloadType", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}


def envelope_json(envelope: Envelope) -> str:
    """Return the envelope as sorted, indented JSON text."""
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True) + "\n"


def read_envelope(data: bytes) -> Envelope:
    """Parse DSSE envelope JSON bytes strictly; ValueError names the first problem found."""
    return envelope_from_dict(load_document(data))


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
