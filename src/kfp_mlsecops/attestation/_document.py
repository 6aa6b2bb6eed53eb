"""Reading an attestation file: one strict JSON object, and which signing method made it.

A ``key`` attestation is a bare DSSE envelope; ``certificate`` and ``sigstore`` attestations are
Sigstore bundles, the latter with a transparency-log entry. Each verifier first checks that the
document was made with its own method, so a mismatch says which method to use instead of
failing later with a confusing reason.
"""

from __future__ import annotations

from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._json import strict_loads


def load_document(data: bytes) -> dict[str, Any]:
    """Parse attestation bytes as one strict JSON object; ValueError names the problem."""
    try:
        document = strict_loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        detail = " ".join(str(e).split())[:160]
        raise ValueError(
            f"is {detail}" if detail.startswith("not JSON (") else f"is not JSON ({detail})"
        ) from e
    if not isinstance(document, dict):
        raise ValueError("is not a JSON object (not a DSSE envelope or Sigstore bundle)")
    return document


def made_with(document: dict[str, Any]) -> str | None:
    """Return the signing method whose document this looks like, or None when unclear.

    This only routes error messages; it decides nothing about trust.
    """
    material = document.get("verificationMaterial")
    if "payloadType" in document and material is None:
        return C.SIGNING_METHOD_KEY
    if not isinstance(material, dict):
        return None
    if material.get("tlogEntries"):
        return C.SIGNING_METHOD_SIGSTORE
    if "x509CertificateChain" in material or "certificate" in material:
        return C.SIGNING_METHOD_CERTIFICATE
    return None


def require_method(document: dict[str, Any], method: str) -> None:
    """Raise ValueError when ``document`` was clearly made with another signing method."""
    found = made_with(document)
    if found is not None and found != method:
        raise ValueError(
            f"was made with the {found} method, not {method}; verify it with the {found} "
            "method (the same method that signs the model)"
        )
