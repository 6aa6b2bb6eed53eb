"""What makes an InferenceService the verified predictor pinned by digest (deploy and cluster).

The deploy family reads the manifest deploy rendered, the cluster family what a namespace holds;
both judge the object with these helpers, so the two verdicts cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE

__all__ = ["containers", "unpinned_images", "verified_problem"]

_PINNED = re.compile(rf".+@{DIGEST_RE.pattern}")
#: Arguments the verified predictor needs to re-check everything before serving.
_VERIFIED_ARGS = ("--signature", "--attestation", "--approval", "--expected-digest")


def containers(isvc: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the custom containers of the InferenceService's predictor."""
    spec = isvc.get("spec")
    predictor = spec.get("predictor") if isinstance(spec, dict) else None
    found = predictor.get("containers") if isinstance(predictor, dict) else None
    return [c for c in found or [] if isinstance(c, dict)]


def verified_problem(isvc: dict[str, Any]) -> str | None:
    """Return why ``isvc`` is not the verified predictor for its model digest (None: it is)."""
    metadata = isvc.get("metadata") or {}
    component = (metadata.get("labels") or {}).get("app.kubernetes.io/component")
    digest = (metadata.get("annotations") or {}).get(C.MODEL_DIGEST_ANNOTATION)
    found = containers(isvc)
    if component != "verified-predictor" or len(found) != 1:
        return (
            f"predictor is {component or 'KServe runtime'}, not the verified predictor; "
            f"deploy with --predictor {C.PREDICTOR_VERIFIED}"
        )
    args = [str(a) for a in found[0].get("args") or []]
    missing = [a for a in _VERIFIED_ARGS if a not in args]
    if missing:
        return f"verified predictor lacks {', '.join(missing)}"
    index = args.index("--expected-digest") + 1
    expected = args[index] if index < len(args) else ""
    if expected != digest:
        return f"predictor expects {expected}, manifest annotates {digest}"
    return None


def unpinned_images(isvc: dict[str, Any]) -> list[str]:
    """Return the container images of ``isvc`` not pinned by sha256 digest."""
    images = [str(c.get("image")) for c in containers(isvc)]
    return [i for i in images if not _PINNED.fullmatch(i)]
