"""manifests/monitoring builds offline with the real `kubectl kustomize` and fits together."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_mlsecops.deploy.manifest import render_inference_service

FOLDER = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
PREDICTOR_ISVC = FOLDER.parent / "predictor" / "inferenceservice.yaml"
KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, Any]]:
    assert KUBECTL, "kubectl not on PATH (it ships with the dev machine image; apt: kubectl)"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(FOLDER)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by_kind = {d["kind"]: d for d in docs}
    assert len(by_kind) == len(docs), "one object per kind expected"
    return by_kind


def test_builds_exactly_the_monitoring_objects(built):
    assert set(built) == {
        "Deployment",
        "Service",
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "ConfigMap",
    }
    for doc in built.values():
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "kfp-mlsecops"


def test_every_resource_file_is_listed_and_holds_one_object():
    listed = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["resources"]
    files = sorted(p.name for p in FOLDER.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == files
    for name in files:
        assert len([d for d in yaml.safe_load_all((FOLDER / name).read_text()) if d]) == 1
    assert (FOLDER / "README.md").is_file()


def test_pushgateway_service_selects_the_deployment_and_is_scraped_with_honor_labels(built):
    deployment, service, monitor = built["Deployment"], built["Service"], built["ServiceMonitor"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["honorLabels"] is True
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]


def test_pushgateway_runs_unprivileged_and_read_only(built):
    spec = built["Deployment"]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "--persistence.file=" in container["args"]


def test_podmonitor_scrapes_metrics_of_the_verified_predictor_container(built):
    from kfp_mlsecops.deploy.verified_isvc import PREDICTOR_CONTAINER, PREDICTOR_PORT

    isvc = yaml.safe_load(PREDICTOR_ISVC.read_text())
    # KServe copies the InferenceService labels to the predictor pods and adds component=predictor.
    pod_labels = {**isvc["metadata"]["labels"], "component": "predictor"}
    spec = built["PodMonitor"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    (keep,) = endpoint["relabelings"]
    assert keep["action"] == "keep"
    (container,) = isvc["spec"]["predictor"]["containers"]
    ports = [p["containerPort"] for p in container["ports"]]
    assert (container["name"], ports) == (PREDICTOR_CONTAINER, [PREDICTOR_PORT])
    separator = keep.get("separator", ";")
    assert re.fullmatch(keep["regex"], f"{PREDICTOR_CONTAINER}{separator}{PREDICTOR_PORT}")
    assert not re.fullmatch(keep["regex"], f"queue-proxy{separator}9091")
    # the plain TensorFlow-runtime InferenceService of the deploy step is not scraped
    plain = render_inference_service(
        name="digits", namespace="models", storage_uri="s3://b/m", model_digest="sha256:" + "0" * 64
    )
    plain_pod = {**plain["metadata"]["labels"], "component": "predictor"}
    assert not spec["selector"]["matchLabels"].items() <= plain_pod.items()


def test_dashboard_configmap_is_labelled_for_the_grafana_sidecar(built):
    config_map = built["ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    (name,) = config_map["data"]
    dashboard = json.loads(config_map["data"][name])
    assert dashboard == json.loads((FOLDER / "mlsecops-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    targets = [t for p in dashboard["panels"] for t in p.get("targets", [])]
    assert targets and all(t["datasource"]["uid"] == "${datasource}" for t in targets)
    assert all(t["expr"].strip() for t in targets)


def test_prometheusrule_alerts_carry_severity_and_summary(built):
    for group in built["PrometheusRule"]["spec"]["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
                assert rule["annotations"]["summary"] and rule["annotations"]["description"]
