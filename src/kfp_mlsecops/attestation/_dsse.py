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

from securesystemslib.dsse import Envelope

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._json import strict_loads

_ENVELOPE_KEYS = {"payload", "payloadType", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}


def envelope_json(envelope: Envelope) -> str:
    """Return the envelope as sorted, indented JSON text."""
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True) + "\n"


def read_envelope(data: bytes) -> Envelope:
    """Parse DSSE envelope JSON bytes strictly; ValueError names the first problem found."""
    try:
        document = strict_loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"is not JSON ({' '.join(str(e).split())[:160]})") from e
    if not isinstance(document, dict):
        raise ValueError("is not a JSON object (not a DSSE envelope)")
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
    _check_base64(document["payload"], "payload")
    signatures = document["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        count = len(signatures) if isinstance(signatures, list) else 0
        raise ValueError(f"holds {count} signatures; exactly one is required")
    signature = signatures[0]
    if not isinstance(signature, dict) or set(signature) != _SIGNATURE_KEYS:
        raise ValueError("signature must have exactly the fields keyid and sig")
    if not isinstance(signature["keyid"], str) or not signature["keyid"]:
        raise ValueError("signature has no keyid")
    _check_base64(signature["sig"], "signature")
    try:  # from_dict edits the signature dicts in place: hand it a copy
        return Envelope.from_dict(copy.deepcopy(document))
    except (KeyError, ValueError, TypeError, binascii.Error) as e:
        raise ValueError(f"is not a DSSE envelope ({' '.join(str(e).split())[:160]})") from e


def _check_base64(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"has no {what}")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"{what} is not base64") from e
    if base64.b64encode(decoded).decode("ascii") != value:
        raise ValueError(f"{what} is not canonical base64")
