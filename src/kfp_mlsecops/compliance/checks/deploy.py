"""Deploy checks on the rendered manifest: the verified predictor serves, images are pinned.

Only the manifest the deploy step rendered is read; what a cluster namespace holds is judged by
the cluster family (:mod:`~kfp_mlsecops.compliance.checks.cluster`) with the same helpers.
"""

from __future__ import annotations

from typing import Any

import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks._predictor import containers, unpinned_images, verified_problem
from kfp_mlsecops.compliance.checks.base import CheckContext, CheckFamily, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]


def _inference_service(ctx: CheckContext) -> dict[str, Any]:
    path = ctx.evidence("deploy/manifest")
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    found = [d for d in docs if isinstance(d, dict) and d.get("kind") == "InferenceService"]
    if len(found) != 1:
        raise ValueError(f"manifest '{path}' holds {len(found)} InferenceServices, expected 1")
    return found[0]


def verified_predictor(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the InferenceService runs our verified predictor pinned to the model digest."""
    isvc = _inference_service(ctx)
    problem = verified_problem(isvc)
    if problem is not None:
        return Outcome.of(False, problem)
    digest = isvc["metadata"]["annotations"][C.MODEL_DIGEST_ANNOTATION]
    return Outcome.of(True, f"verified predictor re-checks model {digest} before serving")


def image_pinned(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when every container image of the InferenceService is pinned by sha256 digest."""
    isvc = _inference_service(ctx)
    if not containers(isvc):
        return Outcome.of(False, "no container image: KServe's runtime picks an unpinned image")
    images = [str(c.get("image")) for c in containers(isvc)]
    loose = unpinned_images(isvc)
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
