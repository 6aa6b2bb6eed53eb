"""Decide from status documents whether an InferenceService rollout is done (no cluster needed).

KServe's own ``status.observedGeneration`` cannot say that a generation rolled out: in
RawDeployment ("Standard") mode KServe copies it from the predictor *Deployment*, whose
generation counts differently (a spec change KServe ignores, such as ``canaryTrafficPercent``,
bumps the InferenceService's generation and never the Deployment's), and its ``Ready``
condition stays True while the old pods still serve and the new ones crash. So a rollout is
judged here on both documents: the InferenceService (``Ready``, ``modelStatus``, not superseded)
and its predictor Deployment, whose pod template must carry the hash of the spec that was
applied (:data:`SPEC_HASH_ANNOTATION`, set by :func:`annotate_spec_hash`) and whose rollout must
be complete (all replicas updated and available, no old ones left).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FAILED",
    "PENDING",
    "READY",
    "SPEC_HASH_ANNOTATION",
    "Readiness",
    "annotate_spec_hash",
    "evaluate_rollout",
    "merge_patch",
    "predictor_deployment_name",
    "uses_deployments",
]

READY = "ready"
PENDING = "pending"
FAILED = "failed"
#: Pod annotation (``spec.predictor.annotations``) naming the applied spec; KServe copies it into
#: the predictor Deployment's pod template.
SPEC_HASH_ANNOTATION = "mlsecops.kfp.dev/spec-hash"
#: KServe's deployment modes that run the predictor as a plain Deployment.
_DEPLOYMENT_MODES = ("Standard", "RawDeployment")
_DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
_MAX_TEXT = 240


@dataclass(frozen=True)
class Readiness:
    """Where a rollout stands: ``state`` is READY, PENDING or FAILED; ``detail`` is one line."""

    state: str
    detail: str

    @property
    def done(self) -> bool:
        """Whether waiting longer cannot change the outcome (READY or FAILED)."""
        return self.state != PENDING


def annotate_spec_hash(manifest: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Return a copy of the InferenceService with its spec hash as predictor pod annotation.

    The hash covers the whole ``spec`` (canonical JSON) before the annotation is added, so two
    identical renders get the same hash and any change gets a new one.
    """
    annotated = copy.deepcopy(dict(manifest))
    spec = annotated.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("predictor"), dict):
        raise ValueError("the InferenceService has no spec.predictor to annotate")
    pod_annotations = spec["predictor"].get("annotations")
    if isinstance(pod_annotations, dict):
        pod_annotations.pop(SPEC_HASH_ANNOTATION, None)
        if not pod_annotations:
            del spec["predictor"]["annotations"]
    digest = hashlib.sha256(
        json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:16]
    spec["predictor"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = digest
    return annotated, digest


def predictor_deployment_name(isvc_name: str) -> str:
    """Return the Deployment KServe (RawDeployment/Standard mode) runs the predictor as."""
    return f"{isvc_name}-predictor"


def uses_deployments(isvc: Mapping[str, Any]) -> bool:
    """Return True when KServe runs this InferenceService as plain Deployments (not Knative)."""
    annotations = _dict(_dict(isvc.get("metadata")).get("annotations"))
    mode = _dict(isvc.get("status")).get("deploymentMode") or annotations.get(
        _DEPLOYMENT_MODE_ANNOTATION
    )
    return mode in _DEPLOYMENT_MODES


def evaluate_rollout(
    isvc: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    *,
    generation: int,
    spec_hash: str | None,
) -> Readiness:
    """Judge the rollout of ``generation`` of ``isvc`` (and its predictor ``deployment``).

    ``deployment`` is the predictor Deployment (None: not found or not applicable); with
    ``spec_hash`` its pod template must carry that :data:`SPEC_HASH_ANNOTATION` (None: skip this
    check, e.g. when rolling back to a spec applied by someone else). READY needs the
    InferenceService ``Ready`` and, in RawDeployment/Standard mode, the Deployment fully rolled
    out; FAILED means waiting cannot help (superseded, invalid spec, the new pods failing to
    load, rollout deadline exceeded); anything else is PENDING, with the failing condition.
    """
    metadata = _dict(isvc.get("metadata"))
    status = _dict(isvc.get("status"))
    current = metadata.get("generation")
    if isinstance(current, int) and current > generation:
        return Readiness(
            FAILED,
            f"the InferenceService changed again (generation {current}) while generation "
            f"{generation} rolled out; someone else is deploying it",
        )
    model = _dict(status.get("modelStatus"))
    transition = model.get("transitionStatus")
    if transition == "InvalidSpec":
        return Readiness(FAILED, f"KServe rejected the spec: {_failure(model)}")
    ready = _condition(status, "Ready")
    if not uses_deployments(isvc):
        return _evaluate_knative(status, ready, model)
    name = predictor_deployment_name(str(metadata.get("name", "")))
    if deployment is None:
        return Readiness(PENDING, f"no Deployment '{name}' yet; {_describe_conditions(status)}")
    template = _dict(_dict(_dict(deployment.get("spec")).get("template")).get("metadata"))
    applied = _dict(template.get("annotations")).get(SPEC_HASH_ANNOTATION)
    if spec_hash is not None and applied != spec_hash:
        return Readiness(
            PENDING, f"KServe has not yet applied generation {generation} to Deployment '{name}'"
        )
    progress = _deployment_progress(deployment)
    if progress.state == FAILED:
        return Readiness(FAILED, f"Deployment '{name}': {progress.detail}")
    if progress.state == PENDING:
        if transition == "BlockedByFailedLoad":
            return Readiness(FAILED, f"the new predictor pods fail to load: {_failure(model)}")
        return Readiness(
            PENDING, f"Deployment '{name}': {progress.detail}; {_describe_conditions(status)}"
        )
    if ready is not None and ready.get("status") == "True":
        return Readiness(READY, f"Ready; Deployment '{name}' rolled out")
    return Readiness(PENDING, _describe_conditions(status))


def merge_patch(current: Any, desired: Any) -> Any:
    """Return the JSON merge patch (RFC 7386) that turns ``current`` into ``desired``.

    Keys only in ``current`` become None (delete); lists and scalars are replaced whole.
    """
    if not isinstance(current, Mapping) or not isinstance(desired, Mapping):
        return copy.deepcopy(desired)
    patch: dict[str, Any] = {}
    for key in current:
        if key not in desired:
            patch[key] = None
    for key, value in desired.items():
        if key not in current:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(current[key], Mapping):
            nested = merge_patch(current[key], value)
            if nested:
                patch[key] = nested
        elif value != current[key]:
            patch[key] = copy.deepcopy(value)
    return patch


def _evaluate_knative(
    status: Mapping[str, Any], ready: Mapping[str, Any] | None, model: Mapping[str, Any]
) -> Readiness:
    """Serverless mode: Ready, and the latest created revision is the latest ready one."""
    if model.get("transitionStatus") == "BlockedByFailedLoad":
        return Readiness(FAILED, f"the new revision fails to load: {_failure(model)}")
    predictor = _dict(_dict(status.get("components")).get("predictor"))
    created = predictor.get("latestCreatedRevision")
    if (
        ready is not None
        and ready.get("status") == "True"
        and created
        and (created == predictor.get("latestReadyRevision"))
    ):
        return Readiness(READY, f"Ready; revision {created} serves")
    return Readiness(PENDING, _describe_conditions(status))


def _deployment_progress(deployment: Mapping[str, Any]) -> Readiness:
    """`kubectl rollout status` for one Deployment document."""
    spec = _dict(deployment.get("spec"))
    status = _dict(deployment.get("status"))
    for condition in _list(status.get("conditions")):
        if condition.get("type") == "Progressing" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            return Readiness(FAILED, f"rollout deadline exceeded ({_text(condition)})")
    generation = _dict(deployment.get("metadata")).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return Readiness(PENDING, "the Deployment controller has not seen the new template yet")
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < wanted:
        return Readiness(PENDING, f"{updated} of {wanted} replicas updated")
    if total > updated:
        return Readiness(PENDING, f"{total - updated} old replicas still running")
    if available < updated:
        return Readiness(PENDING, f"{available} of {updated} updated replicas available")
    return Readiness(READY, "rolled out")


def _describe_conditions(status: Mapping[str, Any]) -> str:
    """Name the most specific condition that is not True, e.g. 'PredictorReady=False (...)'."""
    conditions = [c for c in _list(status.get("conditions")) if c.get("status") != "True"]
    if not conditions:
        return "no failing condition reported yet" if status else "no status yet"
    conditions.sort(key=lambda c: (c.get("type") == "Ready", c.get("status") != "False"))
    first = conditions[0]
    return f"{first.get('type')}={first.get('status')} ({_text(first)})"


def _failure(model: Mapping[str, Any]) -> str:
    info = _dict(model.get("lastFailureInfo"))
    if not info:
        return "no failure info"
    code = info.get("exitCode")
    suffix = f", exit code {code}" if code not in (None, 0) else ""
    return f"{info.get('reason') or 'unknown reason'}: {_squash(info.get('message'))}{suffix}"


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in _list(status.get("conditions")):
        if condition.get("type") == kind:
            return condition
    return None


def _text(condition: Mapping[str, Any]) -> str:
    reason = condition.get("reason") or "no reason"
    message = _squash(condition.get("message"))
    return f"{reason}: {message}" if message else str(reason)


def _squash(text: object) -> str:
    words = " ".join(str(text or "").split())
    return words if len(words) <= _MAX_TEXT else words[: _MAX_TEXT - 3] + "..."


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
