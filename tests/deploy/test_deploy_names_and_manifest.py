from __future__ import annotations

from pathlib import Path

import pytest

from kfp_mlsecops.deploy import (
    render_inference_service,
    storage_uri_for,
    validate_namespace,
    validate_service_name,
)
from kfp_mlsecops.errors import InvalidInputError

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("name", ["a", "mnist", "mnist-v2", "a" * 45, "x1-y2"])
def test_valid_service_names(name: str) -> None:
    assert validate_service_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A", "Mnist", "1mnist", "-mnist", "mnist-", "mn_ist", "mn.ist", "a" * 46, None, 7]
)
def test_invalid_service_names(name: object) -> None:
    with pytest.raises(InvalidInputError, match="service name"):
        validate_service_name(name)


def test_too_long_name_says_why() -> None:
    with pytest.raises(InvalidInputError, match="at most 45"):
        validate_service_name("a" * 46)


@pytest.mark.parametrize("namespace", ["default", "kubeflow-user", "0ns", "a" * 63])
def test_valid_namespaces(namespace: str) -> None:
    assert validate_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", ["", "Kubeflow", "ns_1", "ns.1", "-ns", "a" * 64, None])
def test_invalid_namespaces(namespace: object) -> None:
    with pytest.raises(InvalidInputError, match="namespace"):
        validate_namespace(namespace)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("minio://mlpipeline/v2/artifacts/run/model", "s3://mlpipeline/v2/artifacts/run/model"),
        ("s3://bucket/models/m1", "s3://bucket/models/m1"),
        ("gs://bucket/models/m1", "gs://bucket/models/m1"),
        ("pvc://model-pvc/models/m1", "pvc://model-pvc/models/m1"),
        ("https://models.example.com/m1.tar.gz", "https://models.example.com/m1.tar.gz"),
        ("file:///tmp/runs/model", "file:///tmp/runs/model"),
        ("/tmp/runs/model", "file:///tmp/runs/model"),
    ],
)
def test_storage_uri_mapping(uri: str, expected: str) -> None:
    assert storage_uri_for(uri) == expected


def test_relative_local_path_becomes_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert storage_uri_for("runs/model") == (tmp_path / "runs" / "model").as_uri()


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("", "empty"),
        ("http://models.example.com/m1", "scheme 'http'"),
        ("hdfs://nn/models", "scheme 'hdfs'"),
        ("minio://mlpipeline", "needs a bucket/host and a path"),
        ("s3:///key-only", "needs a bucket/host and a path"),
        ("s3://AKIA:hunter2@bucket/model", "embeds credentials"),
        ("https://host/model?sig=SIGVALUE", "query or fragment"),
        ("s3://bucket/my model", "whitespace"),
        ("file://otherhost/model", "not a local file:// path"),
    ],
)
def test_storage_uri_refusals(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        storage_uri_for(uri)
    assert fragment in str(info.value)
    assert "hunter2" not in str(info.value) and "SIGVALUE" not in str(info.value)


def test_render_shape() -> None:
    manifest = render_inference_service(
        name="mnist",
        namespace="kubeflow-user",
        storage_uri="s3://mlpipeline/v2/model",
        model_digest=DIGEST,
        service_account="kserve-s3",
        runtime_version="2.6.2",
    )
    assert manifest == {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "mnist",
            "namespace": "kubeflow-user",
            "labels": {
                "app.kubernetes.io/name": "mnist",
                "app.kubernetes.io/managed-by": "kfp-mlsecops",
            },
            "annotations": {"mlsecops.kfp.dev/model-digest": DIGEST},
        },
        "spec": {
            "predictor": {
                "serviceAccountName": "kserve-s3",
                "model": {
                    "modelFormat": {"name": "tensorflow"},
                    "storageUri": "s3://mlpipeline/v2/model",
                    "runtimeVersion": "2.6.2",
                },
            }
        },
    }


def test_render_minimal_has_no_optional_fields() -> None:
    manifest = render_inference_service(
        name="m", namespace="ns", storage_uri="gs://b/m", model_digest=DIGEST
    )
    assert "serviceAccountName" not in manifest["spec"]["predictor"]
    assert "runtimeVersion" not in manifest["spec"]["predictor"]["model"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"namespace": "Bad_NS"}, "namespace"),
        ({"name": "Bad"}, "service name"),
        ({"model_digest": "sha256:abc"}, "model digest"),
        ({"model_digest": "md5:" + "a" * 32}, "model digest"),
        ({"storage_uri": "minio://b/m"}, "map it first"),
        ({"service_account": "Bad SA"}, "service account"),
        ({"runtime_version": "2.6 ; rm"}, "runtime version"),
        ({"name": "a" * 40, "namespace": "n" * 20}, "host label"),
    ],
)
def test_render_validates_every_field(kwargs: dict, fragment: str) -> None:
    args = dict(name="mnist", namespace="ns", storage_uri="s3://b/m", model_digest=DIGEST)
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=fragment):
        render_inference_service(**args)
