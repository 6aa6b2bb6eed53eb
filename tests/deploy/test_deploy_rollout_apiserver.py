"""Wait and rollback (kfp_mlsecops.deploy.rollout) against the REAL test kube-apiserver.

Nothing reconciles objects on that server, so a scripted stand-in plays KServe and the
Deployment controller: on every poll pause it writes the predictor Deployment and the statuses
those controllers would write for the spec that is stored now (good or failing, chosen by the
test per model digest). The clock is fake, so timeouts take no real time. The same code runs
against real KServe in tests/cluster.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kfp_mlsecops.constants import MODEL_DIGEST_ANNOTATION
from kfp_mlsecops.deploy import render_inference_service
from kfp_mlsecops.deploy.readiness import READY, SPEC_HASH_ANNOTATION
from kfp_mlsecops.deploy.rollout import roll_out
from kfp_mlsecops.errors import DeploymentError

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
GOOD, BAD = "sha256:" + "a" * 64, "sha256:" + "b" * 64


class FakeKServe:
    """Plays KServe (RawDeployment) and the Deployment controller, one step per poll pause."""

    def __init__(self, server: Any, name: str, *, failing: set[str]) -> None:
        from kubernetes import client

        self.api = server.api_client()
        self.custom = client.CustomObjectsApi(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.ns = server.namespace
        self.name = name
        self.failing = failing  # model digests whose pods never load
        self.now = 0.0
        self.steps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.5)
        self.step()

    def step(self) -> None:
        from kubernetes.client.exceptions import ApiException

        self.steps += 1
        isvc = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, self.name)
        spec_hash = isvc["spec"]["predictor"]["annotations"][SPEC_HASH_ANNOTATION]
        digest = isvc["metadata"]["annotations"][MODEL_DIGEST_ANNOTATION]
        bad = digest in self.failing
        deployment_name = f"{self.name}-predictor"
        template = {
            "metadata": {
                "labels": {"app": self.name},
                "annotations": {SPEC_HASH_ANNOTATION: spec_hash},
            },
            "spec": {"containers": [{"name": "kserve-container", "image": "predictor:x"}]},
        }
        try:
            deployment = self.apps.read_namespaced_deployment(deployment_name, self.ns)
            old = deployment.spec.template.metadata.annotations[SPEC_HASH_ANNOTATION]
            rolling = old != spec_hash
            deployment = self.apps.patch_namespaced_deployment(
                deployment_name, self.ns, {"spec": {"template": template}}
            )
        except ApiException as e:
            assert e.status == 404
            rolling = False
            deployment = self.apps.create_namespaced_deployment(
                self.ns,
                {
                    "metadata": {"name": deployment_name},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": self.name}},
                        "template": template,
                    },
                },
            )
        generation = deployment.metadata.generation
        if bad:
            # the new pod crash-loops; an old one (if any) keeps serving
            total, available = (2, 1) if rolling else (1, 0)
            progressing = "ReplicaSetUpdated"
        else:
            total, available, progressing = 1, 1, "NewReplicaSetAvailable"
        self.apps.patch_namespaced_deployment_status(
            deployment_name,
            self.ns,
            {
                "status": {
                    "observedGeneration": generation,
                    "replicas": total,
                    "updatedReplicas": 1,
                    "availableReplicas": available,
                    "readyReplicas": available,
                    "conditions": [
                        {
                            "type": "Progressing",
                            "status": "True",
                            "reason": progressing,
                            "message": "m",
                        }
                    ],
                }
            },
        )
        ready = "True" if available else "False"
        model: dict[str, Any] = {"transitionStatus": "UpToDate"}
        if bad:
            model = {
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {
                    "reason": "ModelLoadFailed",
                    "message": "mlsecops serve: BLOCKED: signature does not verify",
                    "exitCode": 1,
                },
            }
        conditions = [
            {
                "type": "PredictorReady",
                "status": ready,
                "reason": "MinimumReplicasUnavailable" if ready == "False" else "",
                "message": "Deployment does not have minimum availability.",
            },
            {"type": "Ready", "status": ready},
        ]
        self.custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            self.ns,
            PLURAL,
            self.name,
            {
                "status": {
                    "deploymentMode": "Standard",
                    "observedGeneration": generation,  # KServe copies the Deployment's
                    "conditions": conditions,
                    "modelStatus": model,
                }
            },
        )


def _documents(server: Any, name: str, digest: str) -> list[dict[str, Any]]:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-signature", "namespace": server.namespace},
        "data": {"model.sig": f"signature of {digest}"},
    }
    isvc = render_inference_service(
        name=name,
        namespace=server.namespace,
        storage_uri=f"s3://models/{digest[-8:]}",
        model_digest=digest,
    )
    return [config_map, isvc]


def _roll_out(server: Any, fake: FakeKServe, digest: str, *, timeout: float = 30.0):
    return roll_out(
        _documents(server, fake.name, digest),
        api_client=server.api_client(),
        timeout=timeout,
        clock=fake.clock,
        sleep=fake.sleep,
    )


def _stored(server: Any, name: str) -> dict[str, Any]:
    from kubernetes import client

    return client.CustomObjectsApi(server.api_client()).get_namespaced_custom_object(
        GROUP, VERSION, server.namespace, PLURAL, name
    )


def _config_map(server: Any, name: str) -> dict[str, str]:
    from kubernetes import client

    core = client.CoreV1Api(server.api_client())
    return core.read_namespaced_config_map(f"{name}-signature", server.namespace).data


def test_waits_until_the_new_generation_rolled_out(kube_apiserver):
    fake = FakeKServe(kube_apiserver, f"ok-{uuid.uuid4().hex[:6]}", failing=set())
    first = _roll_out(kube_apiserver, fake, GOOD)
    assert first.status == "created" and first.readiness.state == READY
    assert fake.steps >= 1  # it did wait for the controllers
    again = _roll_out(kube_apiserver, fake, GOOD)  # same spec: nothing to roll out
    assert again.status == "patched" and again.readiness.state == READY
    assert again.generation == first.generation


def test_a_failing_new_revision_is_rolled_back_to_the_previous_spec(kube_apiserver):
    fake = FakeKServe(kube_apiserver, f"rb-{uuid.uuid4().hex[:6]}", failing={BAD})
    good = _roll_out(kube_apiserver, fake, GOOD)
    before = _stored(kube_apiserver, fake.name)
    with pytest.raises(DeploymentError) as info:
        _roll_out(kube_apiserver, fake, BAD)
    message = str(info.value)
    assert "\n" not in message
    assert f"generation {good.generation + 1} did not become Ready" in message
    assert "ModelLoadFailed: mlsecops serve: BLOCKED: signature does not verify" in message
    assert "rolled back to the previous spec" in message and "Ready again" in message
    after = _stored(kube_apiserver, fake.name)
    assert after["spec"] == before["spec"]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert _config_map(kube_apiserver, fake.name) == {"model.sig": f"signature of {GOOD}"}


def test_a_first_deploy_that_never_becomes_ready_times_out_with_the_condition(kube_apiserver):
    fake = FakeKServe(kube_apiserver, f"nr-{uuid.uuid4().hex[:6]}", failing={BAD})
    fake.failing = set()  # not a load failure: the pod just never gets ready
    original_step = fake.step

    def never_ready() -> None:
        original_step()
        from kubernetes import client

        client.CustomObjectsApi(fake.api).patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            fake.ns,
            PLURAL,
            fake.name,
            {
                "status": {
                    "conditions": [
                        {
                            "type": "PredictorReady",
                            "status": "False",
                            "reason": "MinimumReplicasUnavailable",
                            "message": "Deployment does not have minimum availability.",
                        },
                        {"type": "Ready", "status": "False"},
                    ]
                }
            },
        )
        fake.apps.patch_namespaced_deployment_status(
            f"{fake.name}-predictor", fake.ns, {"status": {"availableReplicas": 0}}
        )

    fake.step = never_ready  # type: ignore[method-assign]
    with pytest.raises(DeploymentError) as info:
        _roll_out(kube_apiserver, fake, GOOD, timeout=5)
    message = str(info.value)
    assert "generation 1 not Ready after 5 s" in message
    assert "PredictorReady=False (MinimumReplicasUnavailable" in message
    assert "nothing was rolled back" in message


def test_apply_only_when_timeout_is_zero(kube_apiserver):
    fake = FakeKServe(kube_apiserver, f"nw-{uuid.uuid4().hex[:6]}", failing=set())
    result = _roll_out(kube_apiserver, fake, GOOD, timeout=0)
    assert result.status == "created" and result.readiness.state == "pending"
    assert fake.steps == 0
    stored = _stored(kube_apiserver, fake.name)
    assert stored["spec"]["predictor"]["annotations"][SPEC_HASH_ANNOTATION]
