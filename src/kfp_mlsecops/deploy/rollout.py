"""Apply the deploy documents, wait until the new revision is Ready, roll back when it is not.

The judgement lives in :mod:`kfp_mlsecops.deploy.readiness` (pure); this module only talks to
the API: it reads the current InferenceService and ConfigMaps first (the rollback target),
creates or merge-patches them (with the previous ``resourceVersion``, so a concurrent writer makes
it fail instead of being overwritten), then polls the InferenceService and its predictor
Deployment. Needs get/create/patch on inferenceservices and configmaps and get on
deployments.apps in the namespace (manifests/pipeline-rbac); never delete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops.deploy.apply import REQUEST_TIMEOUT, apply_config_map, describe_api_error
from kfp_mlsecops.deploy.manifest import GROUP, PLURAL, VERSION
from kfp_mlsecops.deploy.readiness import (
    PENDING,
    READY,
    SPEC_HASH_ANNOTATION,
    Readiness,
    annotate_spec_hash,
    evaluate_rollout,
    merge_patch,
    predictor_deployment_name,
    uses_deployments,
)
from kfp_mlsecops.errors import DeploymentError

__all__ = ["Rollout", "roll_out"]

_NOT_FOUND = 404
#: Seconds between two status reads while waiting.
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Rollout:
    """What :func:`roll_out` did: ``status`` "created"/"patched", the generation, readiness."""

    status: str
    generation: int
    readiness: Readiness
    manifest: dict[str, Any]


def roll_out(
    documents: list[dict[str, Any]],
    *,
    api_client: Any,
    timeout: float,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Rollout:
    """Apply ``documents`` (ConfigMaps, then the InferenceService last) and wait for Ready.

    ``timeout`` > 0: wait that many seconds for the applied generation to be Ready (see
    :func:`~kfp_mlsecops.deploy.readiness.evaluate_rollout`); when it is not, restore the
    previous spec and ConfigMap data (if the service existed before), wait for that too, and
    raise DeploymentError naming the failing condition and what the rollback did. ``timeout`` 0:
    apply only (readiness PENDING). Returns the applied manifest (with its spec-hash annotation).
    """
    from kubernetes import client  # lazy: only the apply path needs it

    *config_maps, isvc = documents
    manifest, spec_hash = annotate_spec_hash(isvc)
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    where = f"InferenceService '{namespace}/{name}'"
    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)

    def read_isvc() -> dict[str, Any] | None:
        return _read(
            where,
            lambda: custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    previous = read_isvc()
    previous_data = {
        cm["metadata"]["name"]: _config_map_data(core, cm["metadata"]["name"], namespace)
        for cm in config_maps
    }
    for cm in config_maps:
        apply_config_map(cm, api_client=api_client)
    if previous is None:
        applied = _call(
            where,
            "create",
            lambda: custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, manifest, _request_timeout=REQUEST_TIMEOUT
            ),
        )
        status = "created"
    else:
        applied = _patch_to(custom, where, previous, manifest)
        status = "patched"
    generation = int(applied["metadata"].get("generation", 1))
    if timeout <= 0:
        return Rollout(status, generation, Readiness(PENDING, "not waited for"), manifest)

    def observe(spec_hash_: str | None, generation_: int) -> Readiness:
        current = read_isvc()
        if current is None:
            return Readiness("failed", f"{where} was deleted while rolling out")
        deployment = None
        if uses_deployments(current):
            deployment = _read(
                f"Deployment '{namespace}/{predictor_deployment_name(name)}'",
                lambda: json.loads(
                    apps.read_namespaced_deployment(
                        predictor_deployment_name(name),
                        namespace,
                        _preload_content=False,
                        _request_timeout=REQUEST_TIMEOUT,
                    ).data
                ),
            )
        return evaluate_rollout(current, deployment, generation=generation_, spec_hash=spec_hash_)

    outcome = _wait(lambda: observe(spec_hash, generation), timeout, poll_seconds, clock, sleep)
    if outcome.state == READY:
        return Rollout(status, generation, outcome, manifest)
    failed = f"{where} generation {generation} did not become Ready ({outcome.detail})"
    if outcome.state == PENDING:
        failed = f"{where} generation {generation} not Ready after {timeout:g} s ({outcome.detail})"
    if previous is None:
        raise DeploymentError(
            f"{failed}; it never served before, so nothing was rolled back and it serves "
            "nothing; fix the model or its evidence and deploy again"
        )
    for cm_name, data in previous_data.items():
        if data is not None:
            _restore_config_map(core, where, cm_name, namespace, data)
    current = read_isvc() or previous
    restored = _patch_to(custom, where, current, previous)
    back = int(restored["metadata"].get("generation", generation))
    old_annotations = previous.get("spec", {}).get("predictor", {}).get("annotations") or {}
    old_hash = old_annotations.get(SPEC_HASH_ANNOTATION)
    after = _wait(lambda: observe(old_hash, back), timeout, poll_seconds, clock, sleep)
    state = "Ready again" if after.state == READY else f"not Ready yet: {after.detail}"
    raise DeploymentError(
        f"{failed}; rolled back to the previous spec (generation {back}, {state})"
    )


def _wait(
    observe: Callable[[], Readiness],
    timeout: float,
    poll_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Readiness:
    deadline = clock() + timeout
    while True:
        outcome = observe()
        if outcome.done or clock() >= deadline:
            return outcome
        sleep(min(poll_seconds, max(0.0, deadline - clock())))


def _patch_to(
    custom: Any, where: str, current: dict[str, Any], desired: dict[str, Any]
) -> dict[str, Any]:
    """Merge-patch ``current`` into ``desired``'s spec, labels and annotations, atomically.

    The patch carries ``current``'s resourceVersion: a concurrent change fails it (409).
    Labels and annotations of others are kept; the spec is replaced (KServe's defaulting
    webhook fills in its defaults again).
    """
    meta, wanted = current.get("metadata", {}), desired.get("metadata", {})
    patch: dict[str, Any] = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "labels": dict(wanted.get("labels") or {}),
            "annotations": dict(wanted.get("annotations") or {}),
        },
        "spec": merge_patch(current.get("spec") or {}, desired.get("spec") or {}),
    }
    return _call(
        where,
        "patch",
        lambda: custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            meta["namespace"],
            PLURAL,
            meta["name"],
            patch,
            _request_timeout=REQUEST_TIMEOUT,
        ),
    )


def _config_map_data(core: Any, name: str, namespace: str) -> dict[str, str] | None:
    found = _read(
        f"ConfigMap '{namespace}/{name}'",
        lambda: core.read_namespaced_config_map(name, namespace, _request_timeout=REQUEST_TIMEOUT),
    )
    if found is None:
        return None
    return dict(getattr(found, "data", None) or {})


def _restore_config_map(
    core: Any, where: str, name: str, namespace: str, data: dict[str, str]
) -> None:
    current = _config_map_data(core, name, namespace) or {}
    body = {"data": merge_patch(current, data)}
    _call(
        f"{where} rollback, ConfigMap '{namespace}/{name}'",
        "patch",
        lambda: core.patch_namespaced_config_map(
            name, namespace, body, _request_timeout=REQUEST_TIMEOUT
        ),
    )


def _read(where: str, get: Callable[[], Any]) -> Any:
    """GET; None on 404; any other failure is a one-line DeploymentError."""
    from kubernetes.client.exceptions import ApiException

    try:
        return get()
    except ApiException as e:
        if e.status == _NOT_FOUND:
            return None
        raise DeploymentError(f"{where}: read failed ({describe_api_error(e)})") from e
    except Exception as e:
        raise DeploymentError(
            f"{where}: cannot reach the Kubernetes API ({type(e).__name__}) while reading"
        ) from e


def _call(where: str, verb: str, call: Callable[[], Any]) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        return call()
    except ApiException as e:
        raise DeploymentError(f"{where}: {verb} failed ({describe_api_error(e)})") from e
    except Exception as e:
        raise DeploymentError(
            f"{where}: cannot reach the Kubernetes API ({type(e).__name__}) during {verb}"
        ) from e
