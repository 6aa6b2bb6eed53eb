"""Least privilege, proven on a real API server: the pipeline's account (manifests/pipeline-rbac).

The account gets a real token from the TokenRequest API. With it, the cluster itself answers
(SelfSubjectAccessReview, the authorizer's own verdict) for each verb and resource in the matrix,
and a few real calls are made and must fail with 403. That deploy itself succeeds with this token
is shown in test_cluster_deploy.py (every deploy there uses it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from _cluster import Cluster

pytestmark = pytest.mark.cluster

ALLOWED = [
    ("get", "serving.kserve.io", "inferenceservices"),
    ("create", "serving.kserve.io", "inferenceservices"),
    ("patch", "serving.kserve.io", "inferenceservices"),
    ("get", "", "configmaps"),
    ("create", "", "configmaps"),
    ("patch", "", "configmaps"),
    ("get", "apps", "deployments"),
]
DENIED_HERE = [
    ("delete", "serving.kserve.io", "inferenceservices"),
    ("update", "serving.kserve.io", "inferenceservices"),
    ("list", "serving.kserve.io", "inferenceservices"),
    ("delete", "", "configmaps"),
    ("get", "", "secrets"),
    ("list", "", "secrets"),
    ("create", "", "secrets"),
    ("get", "", "pods"),
    ("list", "", "pods"),
    ("create", "", "pods"),
    ("create", "", "pods/exec"),
    ("create", "", "serviceaccounts/token"),
    ("create", "apps", "deployments"),
    ("patch", "apps", "deployments"),
    ("delete", "apps", "deployments"),
    ("create", "rbac.authorization.k8s.io", "roles"),
    ("patch", "rbac.authorization.k8s.io", "roles"),
    ("create", "rbac.authorization.k8s.io", "rolebindings"),
    ("bind", "rbac.authorization.k8s.io", "roles"),
    ("escalate", "rbac.authorization.k8s.io", "roles"),
]
#: (verb, group, resource, namespace): other namespaces and cluster scope.
DENIED_ELSEWHERE = [
    ("create", "serving.kserve.io", "inferenceservices", "default"),
    ("patch", "serving.kserve.io", "inferenceservices", "kserve"),
    ("get", "", "configmaps", "kube-system"),
    ("get", "", "secrets", "kserve"),
    ("create", "", "namespaces", ""),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
    ("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", ""),
]


@pytest.fixture
def pipeline_account(cluster: Cluster, namespace: str) -> Iterator[dict[str, Any]]:
    """manifests/pipeline-rbac in ``namespace`` and a TokenRequest token of its account."""
    cluster.kubectl(
        "apply", "--server-side", "-k", str(cluster.overlay("pipeline-rbac", namespace=namespace))
    )
    cluster.kubectl("create", "serviceaccount", "default-editor", "-n", namespace)
    token = cluster.token(namespace, "default-editor")
    yield {"namespace": namespace, "token": token, "api": cluster.api_client(token=token)}


def _may(api: Any, verb: str, group: str, resource: str, namespace: str) -> bool:
    from kubernetes import client

    subresource = ""
    if "/" in resource:
        resource, subresource = resource.split("/", 1)
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb,
                group=group,
                resource=resource,
                subresource=subresource or None,
                namespace=namespace or None,
            )
        )
    )
    answer = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(answer.status.allowed)


def test_the_token_is_the_pipeline_service_account(pipeline_account: dict[str, Any]) -> None:
    from kubernetes import client

    review = client.AuthenticationV1Api(pipeline_account["api"]).create_self_subject_review(
        client.V1SelfSubjectReview()
    )
    namespace = pipeline_account["namespace"]
    assert review.status.user_info.username == (f"system:serviceaccount:{namespace}:default-editor")


def test_access_matrix_as_the_api_server_decides_it(pipeline_account: dict[str, Any]) -> None:
    api, namespace = pipeline_account["api"], pipeline_account["namespace"]
    matrix = {}
    for verb, group, resource in ALLOWED + DENIED_HERE:
        matrix[(verb, group or "core", resource, namespace)] = _may(
            api, verb, group, resource, namespace
        )
    for verb, group, resource, where in DENIED_ELSEWHERE:
        matrix[(verb, group or "core", resource, where or "(cluster)")] = _may(
            api, verb, group, resource, where
        )
    for row, allowed in sorted(matrix.items()):  # shown with -s / in the report
        print(f"{'ALLOW' if allowed else 'deny '} {' '.join(row)}")
    expected_allowed = {(v, g or "core", r, namespace) for v, g, r in ALLOWED}
    assert {row for row, allowed in matrix.items() if allowed} == expected_allowed


def test_real_calls_outside_the_grant_are_forbidden(
    cluster: Cluster, pipeline_account: dict[str, Any]
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api, namespace = pipeline_account["api"], pipeline_account["namespace"]
    name = f"x-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, "--from-literal=k=v")
    cluster.kubectl("create", "configmap", name, "-n", namespace, "--from-literal=k=v")
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    rbac = client.RbacAuthorizationV1Api(api)
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "x"}]}},
    }
    role = {"metadata": {"name": name}, "rules": []}
    forbidden = {
        "read a Secret": lambda: core.read_namespaced_secret(name, namespace),
        "list Secrets": lambda: core.list_namespaced_secret(namespace),
        "list Pods": lambda: core.list_namespaced_pod(namespace),
        "delete a ConfigMap": lambda: core.delete_namespaced_config_map(name, namespace),
        "create an InferenceService in default": lambda: custom.create_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", "default", "inferenceservices", isvc
        ),
        "delete an InferenceService": lambda: custom.delete_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", namespace, "inferenceservices", name
        ),
        "create a Role": lambda: rbac.create_namespaced_role(namespace, role),
        "read kube-system's ConfigMaps": lambda: core.list_namespaced_config_map("kube-system"),
    }
    for what, call in forbidden.items():
        with pytest.raises(ApiException) as info:
            call()
        assert info.value.status == 403, what
    # and what it is granted works
    assert core.read_namespaced_config_map(name, namespace).data == {"k": "v"}
