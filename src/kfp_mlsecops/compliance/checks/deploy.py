"""Deploy checks on the rendered manifest: the verified predictor serves, images are pinned.

Only the manifest the deploy step rendered is read; what runs in a cluster namespace (RBAC,
Secrets, monitoring rules) is out of scope here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks.base import CheckContext, CheckFamily, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]

_PINNED = re.compile(r".+@sha256:[0-9a-f]{64}")
#: Arguments the verified predictor needs to re-check everything before serving.
_VERIFIED_ARGS = ("--signature", "--attestation", "--approval", "--expected-digest")


def _inference_service(ctx: CheckContext) -> dict[str, Any]:
    path = ctx.evidence("deploy/manifest")
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    found = [d for d in docs if isinstance(d, dict) and d.get("kind") == "InferenceService"]
    if len(found) != 1:
        raise ValueError(f"manifest '{path}' holds {len(found)} InferenceServices, expected 1")
    return found[0]


def _containers(isvc: dict[str, Any]) -> list[dict[str, Any]]:
    predictor = isvc.get("spec", {}).get("predictor", {})
    return [c for c in predictor.get("containers") or [] if isinstance(c, dict)]


def verified_predictor(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the InferenceService runs our verified predictor pinned to the model digest."""
    isvc = _inference_service(ctx)
    metadata = isvc.get("metadata", {})
    component = metadata.get("labels", {}).get("app.kubernetes.io/component")
    digest = metadata.get("annotations", {}).get(C.MODEL_DIGEST_ANNOTATION)
    containers = _containers(isvc)
    if component != "verified-predictor" or len(containers) != 1:
        return Outcome.of(
            False,
            f"predictor is {component or 'KServe runtime'}, not the verified predictor; "
            f"deploy with --predictor {C.PREDICTOR_VERIFIED}",
        )
    args = [str(a) for a in containers[0].get("args") or []]
    missing = [a for a in _VERIFIED_ARGS if a not in args]
    if missing:
        return Outcome.of(False, f"verified predictor lacks {', '.join(missing)}")
    expected = args[args.index("--expected-digest") + 1] if "--expected-digest" in args else ""
    if expected != digest:
        return Outcome.of(False, f"predictor expects {expected}, manifest annotates {digest}")
    return Outcome.of(True, f"verified predictor re-checks model {digest} before serving")


def image_pinned(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when every container image of the InferenceService is pinned by sha256 digest."""
    containers = _containers(_inference_service(ctx))
    if not containers:
        return Outcome.of(False, "no container image: KServe's runtime picks an unpinned image")
    images = [str(c.get("image")) for c in containers]
    loose = [i for i in images if not _PINNED.fullmatch(i)]
    if loose:
        return Outcome.of(
            False,
            f"image {', '.join(loose)} is a tag, not a digest; pin registry/name@sha256:...",
        )
    return Outcome.of(True, f"pinned: {', '.join(images)}")


FAMILY = CheckFamily(
    name="deploy",
    description="the InferenceService manifest deploy rendered",
    checks={"verified_predictor": verified_predictor, "image_pinned": image_pinned},
)
