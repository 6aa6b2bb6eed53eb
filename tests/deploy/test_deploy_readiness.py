"""The rollout judgement from status documents (kfp_mlsecops.deploy.readiness): no cluster.

The documents below have the shapes KServe v0.20 (RawDeployment/"Standard" mode) and the
Deployment controller write; tests/cluster checks the same function against the real ones.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfp_mlsecops.deploy.readiness import (
    FAILED,
    PENDING,
    READY,
    SPEC_HASH_ANNOTATION,
    annotate_spec_hash,
    evaluate_rollout,
    merge_patch,
)

HASH = "0123456789abcdef"


def _isvc(
    *,
    generation: int = 2,
    observed: int = 2,
    ready: str = "True",
    predictor: dict[str, Any] | None = None,
    transition: str = "UpToDate",
    failure: dict[str, Any] | None = None,
    mode: str = "Standard",
) -> dict[str, Any]:
    predictor = predictor or {"type": "PredictorReady", "status": ready}
    model: dict[str, Any] = {"transitionStatus": transition}
    if failure:
        model["lastFailureInfo"] = failure
    return {
        "metadata": {"name": "digits", "namespace": "ns", "generation": generation},
        "status": {
            "observedGeneration": observed,
            "deploymentMode": mode,
            "conditions": [
                {"type": "IngressReady", "status": "True"},
                predictor,
                {"type": "Ready", "status": ready},
            ],
            "modelStatus": model,
        },
    }


def _deployment(
    *,
    spec_hash: str = HASH,
    generation: int = 3,
    observed: int = 3,
    replicas: int = 1,
    updated: int = 1,
    total: int = 1,
    available: int = 1,
    progressing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    conditions = [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]
    conditions.append(
        progressing or {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
    )
    return {
        "metadata": {"name": "digits-predictor", "generation": generation},
        "spec": {
            "replicas": replicas,
            "template": {"metadata": {"annotations": {SPEC_HASH_ANNOTATION: spec_hash}}},
        },
        "status": {
            "observedGeneration": observed,
            "replicas": total,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": conditions,
        },
    }


def _judge(isvc: dict[str, Any], deployment: dict[str, Any] | None, **kwargs: Any):
    return evaluate_rollout(
        isvc, deployment, generation=kwargs.get("generation", 2), spec_hash=kwargs.get("h", HASH)
    )


def test_ready_when_the_service_is_ready_and_the_deployment_rolled_out_this_spec():
    outcome = _judge(_isvc(), _deployment())
    assert outcome.state == READY and outcome.done


def test_kserve_observed_generation_is_the_deployments_and_does_not_block():
    """KServe copies the Deployment's observedGeneration; a lower number must not wait forever."""
    outcome = _judge(_isvc(generation=5, observed=1), _deployment(), generation=5)
    assert outcome.state == READY


def test_old_pods_still_serving_is_not_ready_even_though_kserve_says_ready():
    """Rolling update in progress: KServe keeps Ready=True while old pods are available."""
    rolling = _deployment(
        updated=1,
        total=2,
        available=1,
        progressing={"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
    )
    outcome = _judge(_isvc(ready="True"), rolling)
    assert outcome.state == PENDING
    assert "1 old replicas still running" in outcome.detail


def test_pending_until_kserve_has_applied_the_new_spec_to_the_deployment():
    outcome = _judge(_isvc(), _deployment(spec_hash="previous-spec"))
    assert outcome.state == PENDING
    assert "has not yet applied generation 2 to Deployment 'digits-predictor'" in outcome.detail


def test_spec_hash_none_skips_the_template_check():
    assert _judge(_isvc(), _deployment(spec_hash="x"), h=None).state == READY


def test_pending_names_the_failing_condition():
    isvc = _isvc(
        ready="False",
        predictor={
            "type": "PredictorReady",
            "status": "False",
            "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not\nhave minimum availability.",
        },
        transition="InProgress",
    )
    outcome = _judge(isvc, _deployment(available=0))
    assert outcome.state == PENDING
    assert "0 of 1 updated replicas available" in outcome.detail
    assert (
        "PredictorReady=False (MinimumReplicasUnavailable: Deployment does not have minimum "
        "availability.)" in outcome.detail
    )
    assert "\n" not in outcome.detail


def test_new_pods_failing_to_load_fail_fast_with_kserves_failure_info():
    isvc = _isvc(
        ready="True",
        transition="BlockedByFailedLoad",
        failure={"reason": "ModelLoadFailed", "message": "BLOCKED: signature", "exitCode": 1},
    )
    outcome = _judge(isvc, _deployment(updated=1, total=2, available=1))
    assert outcome.state == FAILED
    assert "ModelLoadFailed: BLOCKED: signature, exit code 1" in outcome.detail


def test_invalid_spec_fails():
    isvc = _isvc(transition="InvalidSpec", failure={"reason": "InvalidPredictorSpec"})
    assert _judge(isvc, _deployment()).state == FAILED


def test_rollout_deadline_exceeded_fails():
    stuck = _deployment(
        available=0,
        progressing={
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "digits-predictor-7c" has timed out progressing.',
        },
    )
    outcome = _judge(_isvc(ready="False"), stuck)
    assert outcome.state == FAILED and "deadline exceeded" in outcome.detail


def test_a_newer_generation_from_someone_else_fails():
    outcome = _judge(_isvc(generation=4), _deployment(), generation=3)
    assert outcome.state == FAILED and "someone else" in outcome.detail


def test_no_deployment_and_no_status_yet_are_pending():
    assert "no Deployment 'digits-predictor' yet" in _judge(_isvc(), None).detail
    bare = {"metadata": {"name": "digits", "generation": 1}}
    outcome = evaluate_rollout(bare, None, generation=1, spec_hash=HASH)
    assert outcome.state == PENDING and outcome.detail == "no status yet"


def test_deployment_controller_lagging_is_pending():
    outcome = _judge(_isvc(), _deployment(generation=4, observed=3))
    assert outcome.state == PENDING and "not seen the new template" in outcome.detail


def test_serverless_mode_needs_the_latest_revision_ready():
    isvc = _isvc(mode="Serverless")
    isvc["status"]["components"] = {
        "predictor": {"latestCreatedRevision": "r-2", "latestReadyRevision": "r-1"}
    }
    assert _judge(isvc, None).state == PENDING
    isvc["status"]["components"]["predictor"]["latestReadyRevision"] = "r-2"
    assert _judge(isvc, None).state == READY


def test_annotate_spec_hash_is_stable_and_follows_the_spec():
    manifest = {"metadata": {"name": "a"}, "spec": {"predictor": {"containers": [{"image": "i"}]}}}
    original = copy.deepcopy(manifest)
    first, h1 = annotate_spec_hash(manifest)
    again, h2 = annotate_spec_hash(first)  # an annotated spec hashes like the bare one
    assert manifest == original and h1 == h2 and len(h1) == 16
    assert first["spec"]["predictor"]["annotations"] == {SPEC_HASH_ANNOTATION: h1}
    changed = copy.deepcopy(manifest)
    changed["spec"]["predictor"]["canaryTrafficPercent"] = 10
    assert annotate_spec_hash(changed)[1] != h1


def test_annotate_spec_hash_needs_a_predictor():
    with pytest.raises(ValueError, match="spec.predictor"):
        annotate_spec_hash({"spec": {}})


@pytest.mark.parametrize(
    ("current", "desired", "patch"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}, {"a": {"y": 3}}),
        ({"l": [1, 2]}, {"l": [1]}, {"l": [1]}),
        ({"a": {"x": 1}}, {"a": {"x": 1}}, {}),
        ({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}),
    ],
)
def test_merge_patch_turns_current_into_desired(current, desired, patch):
    assert merge_patch(current, desired) == patch
