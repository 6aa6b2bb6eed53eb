"""Smoke tests for the local kube-apiserver fixture (tests/_kube_apiserver.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes.client
import kubernetes.config
import pytest
from _kube_apiserver import KubeApiServer, start_kube_apiserver
from kubernetes.client.rest import ApiException

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"


def _isvc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "kfp-mlsecops"}},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "model": {
                    "modelFormat": {"name": "tensorflow"},
                    "storageUri": "s3://models/mnist/1",
                },
            }
        },
    }


@pytest.fixture
def objects(kube_apiserver: KubeApiServer) -> Iterator[kubernetes.client.CustomObjectsApi]:
    with kube_apiserver.api_client() as client:
        yield kubernetes.client.CustomObjectsApi(client)


def test_inferenceservice_create_get_conflict_patch_delete(
    kube_apiserver: KubeApiServer, objects: kubernetes.client.CustomObjectsApi
) -> None:
    ns = kube_apiserver.namespace
    where = {"group": GROUP, "version": VERSION, "namespace": ns, "plural": PLURAL}

    created = objects.create_namespaced_custom_object(**where, body=_isvc("smoke"))
    assert created["metadata"]["uid"]

    got = objects.get_namespaced_custom_object(**where, name="smoke")
    assert got["kind"] == "InferenceService"
    assert got["metadata"]["namespace"] == ns
    assert got["spec"] == _isvc("smoke")["spec"]

    with pytest.raises(ApiException) as conflict:
        objects.create_namespaced_custom_object(**where, body=_isvc("smoke"))
    assert conflict.value.status == 409

    patch = {"spec": {"predictor": {"minReplicas": 3, "model": {"storageUri": "s3://models/2"}}}}
    patched = objects.patch_namespaced_custom_object(**where, name="smoke", body=patch)
    assert patched["spec"]["predictor"]["minReplicas"] == 3
    reread = objects.get_namespaced_custom_object(**where, name="smoke")
    assert reread["spec"]["predictor"]["model"] == {
        "modelFormat": {"name": "tensorflow"},  # merge patch keeps fields it does not name
        "storageUri": "s3://models/2",
    }
    assert int(reread["metadata"]["generation"]) == 2

    objects.delete_namespaced_custom_object(**where, name="smoke")
    with pytest.raises(ApiException) as gone:
        objects.get_namespaced_custom_object(**where, name="smoke")
    assert gone.value.status == 404


def test_status_is_a_subresource(
    kube_apiserver: KubeApiServer, objects: kubernetes.client.CustomObjectsApi
) -> None:
    where = {
        "group": GROUP,
        "version": VERSION,
        "namespace": kube_apiserver.namespace,
        "plural": PLURAL,
    }
    objects.create_namespaced_custom_object(**where, body=_isvc("with-status"))
    try:
        ready = {"status": {"url": "http://with-status.example", "conditions": [{"type": "Ready"}]}}
        # Through the main resource a status change is dropped; through /status it is stored.
        objects.patch_namespaced_custom_object(**where, name="with-status", body=ready)
        assert "status" not in objects.get_namespaced_custom_object(**where, name="with-status")
        objects.patch_namespaced_custom_object_status(**where, name="with-status", body=ready)
        got = objects.get_namespaced_custom_object(**where, name="with-status")
        assert got["status"]["url"] == "http://with-status.example"
    finally:
        objects.delete_namespaced_custom_object(**where, name="with-status")


def test_invalid_token_is_rejected(kube_apiserver: KubeApiServer) -> None:
    with kube_apiserver.api_client(token="not-the-token") as client:  # noqa: S106
        with pytest.raises(ApiException) as denied:
            kubernetes.client.CustomObjectsApi(client).list_namespaced_custom_object(
                GROUP, VERSION, kube_apiserver.namespace, PLURAL
            )
    assert denied.value.status == 401


def test_kubeconfig_reaches_the_server(kube_apiserver: KubeApiServer) -> None:
    kubeconfig = str(kube_apiserver.kubeconfig_path)
    with kubernetes.config.new_client_from_config(config_file=kubeconfig) as client:
        namespaces = kubernetes.client.CoreV1Api(client).list_namespace().items
    assert kube_apiserver.namespace in [ns.metadata.name for ns in namespaces]


@pytest.mark.slow
def test_stop_ends_the_process_and_removes_the_temp_dir() -> None:
    server = start_kube_apiserver()
    try:
        assert server.is_running()
        assert server.ca_cert_path.is_file()
    finally:
        server.stop()
    assert not server.is_running()
    assert not server.temp_dir.exists()
    server.stop()  # a second stop is harmless
