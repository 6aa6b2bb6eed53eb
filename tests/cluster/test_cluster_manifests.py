"""Every kustomize folder in manifests/ applies to the real cluster, server-side; monitoring runs.

The API server validates each object against the real schemas (KServe's CRDs and webhooks,
prometheus-operator's PodMonitor/ServiceMonitor/PrometheusRule CRDs, vendored in
tests/infra/kind/crds) and stores it. The Pushgateway of manifests/monitoring runs as a pod and
holds what the demo run (``mlsecops run --pushgateway-url``) pushed to it.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _cluster import REPO, Cluster

from kfp_mlsecops.monitoring import names
from kfp_mlsecops.signing import generate_key_pair

pytestmark = pytest.mark.cluster

FOLDERS = sorted(
    str(p.parent.relative_to(REPO / "manifests"))
    for p in (REPO / "manifests").rglob("kustomization.yaml")
)
PREDICTOR_IMAGE = "ghcr.io/kfp-mlsecops/kfp-mlsecops-predictor"


def _files(folder: str, demo: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    """The files a folder's generators read (not in git: keys, tokens, evidence)."""
    if folder in ("signing-keys", "approval-keys"):
        keys = tmp_path / folder
        keys.mkdir()
        generate_key_pair(keys / "private-key.pem", keys / "public-key.pem")
        return {n: (keys / n).read_text() for n in ("private-key.pem", "public-key.pem")}
    if folder == "signing-certificate":
        names_ = ("private-key.pem", "certificate.pem", "chain.pem", "ca-chain.pem")
        return {n: f"placeholder {n}\n" for n in names_}
    if folder == "signing-sigstore":
        return {"token": "placeholder-token", "trust_config.json": "{}\n"}
    if folder == "predictor":
        return {
            "model.sig": demo["signature"].read_text(),
            "attestation.json": demo["attestation"].read_text(),
            "approval.json": demo["approval"].read_text(),
        }
    return {}


def test_every_manifest_folder_applies_server_side(
    cluster: Cluster, namespace: str, demo: dict[str, Path], tmp_path: Path
) -> None:
    assert len(FOLDERS) >= 12, FOLDERS
    failures, applied = {}, {}
    for folder in FOLDERS:
        overlay = cluster.overlay(
            folder,
            namespace=namespace,
            files=_files(folder, demo, tmp_path),
            images={
                PREDICTOR_IMAGE: cluster.predictor,
                "quay.io/prometheus/pushgateway": cluster.pushgateway,
            },
        )
        done = cluster.kubectl(
            "apply", "--server-side", "--force-conflicts", "-k", str(overlay), check=False
        )
        if done.returncode:
            failures[folder] = done.stderr.strip()
        else:
            applied[folder] = done.stdout.strip().splitlines()
    assert not failures, failures
    stored = json.loads(
        cluster.kubectl(
            "get",
            "-n",
            namespace,
            "-o",
            "json",
            "inferenceservices,podmonitors,servicemonitors,prometheusrules,roles,rolebindings,"
            "configmaps,secrets,serviceaccounts,deployments,services",
        ).stdout
    )["items"]
    kinds = {(item["kind"], item["metadata"]["name"]) for item in stored}
    for expected in [
        ("InferenceService", "digits"),
        ("PodMonitor", "mlsecops-predictor"),
        ("ServiceMonitor", "mlsecops-pushgateway"),
        ("Role", "mlsecops-deployer"),
        ("ConfigMap", "mlsecops-policy"),
        ("Secret", "mlsecops-signing-key"),
        ("ConfigMap", "mlsecops-approval-verify"),
    ]:
        assert expected in kinds, sorted(kinds)
    assert any(kind == "PrometheusRule" for kind, _ in kinds), sorted(kinds)


def test_the_pushgateway_pod_holds_the_demo_runs_pushes(
    pushgateway: dict[str, Any], demo: dict[str, Path]
) -> None:
    with urllib.request.urlopen(f"{pushgateway['url']}/api/v1/metrics", timeout=30) as answer:  # noqa: S310
        groups = json.loads(answer.read())["data"]
    labels = [g["labels"] for g in groups if g["labels"].get("job") == names.JOB]
    components = {group.get("component") for group in labels}
    assert {"validate_data", "train", "gate", "deploy"} <= components, components
    assert len({group.get("run_id") for group in labels}) == 1
