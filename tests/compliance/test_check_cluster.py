"""`mlsecops check --namespace` against a REAL kube-apiserver (tests/infra/apiserver).

The server runs RBAC authorization, so the pipeline-RBAC control gets the authorizer's own
answers (SubjectAccessReview) for the Role and RoleBinding of manifests/pipeline-rbac, applied here
with the Python client. InferenceServices are rendered by our deploy code and stored under the
stand-in InferenceService CRD of tests/infra/apiserver. PrometheusRules are stored under
``_PROMETHEUS_RULE_CRD`` below: a STAND-IN of our own for the Prometheus Operator's CRD (same group,
version, kind and plural; any fields accepted, nothing validated, nothing reconciled).
Each test uses a fresh namespace. The unreachable-server tests need no server.
"""

from __future__ import annotations

import copy
import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_mlsecops.cli.main import main
from kfp_mlsecops.compliance import Cluster, ClusterError, load_profile
from kfp_mlsecops.compliance.checks.cluster import REQUIRED, REQUIRED_ALERTS
from kfp_mlsecops.deploy import (
    PredictorTrust,
    render_inference_service,
    render_verified_predictor_isvc,
)

REPO = Path(__file__).resolve().parents[2]
RBAC_DIR = REPO / "manifests" / "pipeline-rbac"
RULE_PATH = REPO / "manifests" / "monitoring" / "prometheusrule.yaml"
RBAC_ID = "mlsvs-cluster-pipeline-rbac"
PREDICTOR_ID = "mlsvs-cluster-verified-predictor"
MONITORING_ID = "mlsvs-cluster-monitoring-rules"
CLUSTER_IDS = {RBAC_ID, PREDICTOR_ID, MONITORING_ID}
PINNED_IMAGE = "registry.example/kfp-mlsecops-predictor@sha256:" + "c" * 64
DIGEST = "sha256:" + "a" * 64
PROM = ("monitoring.coreos.com", "v1", "prometheusrules")
ISVC = ("serving.kserve.io", "v1beta1", "inferenceservices")
CRD_NAME = "prometheusrules.monitoring.coreos.com"
# STAND-IN for the Prometheus Operator's PrometheusRule CRD, for these tests only.
_PROMETHEUS_RULE_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "kind": "PrometheusRule",
            "listKind": "PrometheusRuleList",
            "plural": "prometheusrules",
            "singular": "prometheusrule",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}
_CRD_TIMEOUT_S = 60.0


# --- repository consistency (no server) ---------------------------------------------------


def test_the_required_grants_are_exactly_the_pipeline_role():
    role = yaml.safe_load((RBAC_DIR / "role.yaml").read_text())
    granted = {
        (verb, group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == set(REQUIRED)


def test_the_required_alerts_are_exactly_the_shipped_rule():
    rule = yaml.safe_load(RULE_PATH.read_text())
    alerts = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert sorted(alerts) == sorted(REQUIRED_ALERTS)


def test_the_profile_names_the_service_account_of_the_role_binding():
    binding = yaml.safe_load((RBAC_DIR / "rolebinding.yaml").read_text())
    control = load_profile("mlsvs").control(RBAC_ID)
    assert control is not None
    assert control.text_parameter("service_account") == binding["subjects"][0]["name"]
    assert {c.impact for c in load_profile("mlsvs").controls if c.id in CLUSTER_IDS} == {0.7, 0.5}


def test_neither_run_nor_namespace_is_a_usage_error(capsys):
    assert main(["check"]) == 2
    assert "pass --run DIR, --namespace NS or both" in capsys.readouterr().err
    assert main(["check", "--run", ".", "--context", "x"]) == 2
    assert "--kubeconfig/--context need --namespace" in capsys.readouterr().err


def test_a_bad_namespace_or_missing_kubeconfig_is_unusable_input(tmp_path, capsys):
    assert main(["check", "--namespace", "Not_A_Label"]) == 1
    assert "must be a DNS-1123 label" in capsys.readouterr().err
    missing = tmp_path / "nope.yaml"
    assert main(["check", "--namespace", "ns", "--kubeconfig", str(missing)]) == 1
    assert f"--kubeconfig '{missing}': not found" in capsys.readouterr().err


# --- helpers ---------------------------------------------------------------------------------


def _check(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    code = main(["check", *args, "--reporter", "cli", f"json:{out}"])
    return code, json.loads(out.read_text())


def _cluster_args(server: Any, namespace: str) -> list[str]:
    return ["--namespace", namespace, "--kubeconfig", str(server.kubeconfig_path)]


def _controls(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["controls"]}


def _findings(control: dict[str, Any]) -> dict[str, bool]:
    return {f["id"]: f["passed"] for f in control["findings"]}


def _kube(server: Any) -> Any:
    from kubernetes import client

    api = server.api_client()
    return {
        "core": client.CoreV1Api(api),
        "rbac": client.RbacAuthorizationV1Api(api),
        "custom": client.CustomObjectsApi(api),
        "crd": client.ApiextensionsV1Api(api),
    }


@pytest.fixture
def namespace(kube_apiserver) -> str:
    name = f"check-{uuid.uuid4().hex[:8]}"
    _kube(kube_apiserver)["core"].create_namespace(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    return name


def _apply_pipeline_rbac(server: Any, namespace: str) -> None:
    """Create what `kubectl apply -k manifests/pipeline-rbac` would, in ``namespace``."""
    kube = _kube(server)
    kustomization = yaml.safe_load((RBAC_DIR / "kustomization.yaml").read_text())
    for file in kustomization["resources"]:
        doc = yaml.safe_load((RBAC_DIR / file).read_text())
        doc["metadata"]["namespace"] = namespace
        create = {
            "Role": kube["rbac"].create_namespaced_role,
            "RoleBinding": kube["rbac"].create_namespaced_role_binding,
        }[doc["kind"]]
        create(namespace, doc)
    account = {"metadata": {"name": "default-editor"}}
    kube["core"].create_namespaced_service_account(namespace, account)


def _grant(server: Any, namespace: str, name: str, rules: list[dict[str, Any]]) -> None:
    kube = _kube(server)
    kube["rbac"].create_namespaced_role(namespace, {"metadata": {"name": name}, "rules": rules})
    kube["rbac"].create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": "default-editor"}],
        },
    )


def _create(server: Any, namespace: str, coordinates: tuple[str, str, str], body: Any) -> None:
    _kube(server)["custom"].create_namespaced_custom_object(
        *coordinates[:2], namespace, coordinates[2], body
    )


def _verified(name: str, namespace: str, image: str = PINNED_IMAGE) -> dict[str, Any]:
    return render_verified_predictor_isvc(
        name=name,
        namespace=namespace,
        storage_uri="s3://models/digits",
        model_digest=DIGEST,
        signature_configmap=f"{name}-signature",
        trust=PredictorTrust(),
        image=image,
    )


def _crd_exists(server: Any) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        crd = _kube(server)["custom"].get_cluster_custom_object(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", CRD_NAME
        )
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


@pytest.fixture
def prometheus_rule_crd(kube_apiserver) -> None:
    """Install the stand-in PrometheusRule CRD (once; a test may have deleted it)."""
    from kubernetes.client.exceptions import ApiException

    if _crd_exists(kube_apiserver):
        return
    try:
        _kube(kube_apiserver)["crd"].create_custom_resource_definition(body=_PROMETHEUS_RULE_CRD)
    except ApiException as e:
        if e.status != 409:  # 409: still being deleted or just created; wait below
            raise
    deadline = time.monotonic() + _CRD_TIMEOUT_S
    while not _crd_exists(kube_apiserver):
        assert time.monotonic() < deadline, f"stand-in CRD {CRD_NAME} not Established"
        time.sleep(0.2)
        try:
            _kube(kube_apiserver)["crd"].create_custom_resource_definition(
                body=_PROMETHEUS_RULE_CRD
            )
        except ApiException as e:
            if e.status != 409:
                raise


def _our_rule() -> dict[str, Any]:
    rule: dict[str, Any] = yaml.safe_load(RULE_PATH.read_text())
    return rule


# --- against the real API server -------------------------------------------------------------


@pytest.mark.slow
def test_only_namespace_runs_cluster_controls_and_reports_run_controls_not_run(
    kube_apiserver, namespace, prometheus_rule_crd, tmp_path, capsys
):
    _apply_pipeline_rbac(kube_apiserver, namespace)
    _create(kube_apiserver, namespace, ISVC, _verified("digits", namespace))
    _create(kube_apiserver, namespace, PROM, _our_rule())
    code, report = _check(tmp_path, *_cluster_args(kube_apiserver, namespace))
    status = {i: c["status"] for i, c in _controls(report).items()}
    assert {i: s for i, s in status.items() if i in CLUSTER_IDS} == dict.fromkeys(
        CLUSTER_IDS, "passed"
    )
    assert {s for i, s in status.items() if i not in CLUSTER_IDS} == {"not_run"}
    assert code == 0 and report["run"] is None and report["namespace"] == namespace
    not_run = _controls(report)["mlsvs-data-validated"]["detail"]
    assert not_run == "no --run given: this control reads a run folder; pass --run DIR"
    rbac = _controls(report)[RBAC_ID]
    assert rbac["findings"] and all(f["passed"] for f in rbac["findings"])
    assert _findings(rbac)["needs patch inferenceservices.serving.kserve.io"]
    assert _findings(rbac)["must not get secrets"]
    assert _findings(rbac)["must not create inferenceservices.serving.kserve.io in default"]
    assert rbac["evidence"] == [
        f"k8s:subjectaccessreviews for system:serviceaccount:{namespace}:default-editor"
    ]
    assert _findings(_controls(report)[PREDICTOR_ID]) == {"digits": True}
    assert set(_findings(_controls(report)[MONITORING_ID])) == set(REQUIRED_ALERTS)
    assert f"Namespace {namespace}" in capsys.readouterr().out


def test_a_role_granting_secrets_fails_rbac_naming_verb_and_resource(
    kube_apiserver, namespace, tmp_path
):
    _apply_pipeline_rbac(kube_apiserver, namespace)
    _grant(
        kube_apiserver,
        namespace,
        "too-broad",
        [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    )
    code, report = _check(
        tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", RBAC_ID
    )
    rbac = _controls(report)[RBAC_ID]
    assert rbac["status"] == "failed" and code == 3  # impact 0.7: critical
    assert [f["id"] for f in rbac["findings"] if not f["passed"]] == ["must not get secrets"]
    detail = rbac["detail"]
    assert detail.startswith(f"system:serviceaccount:{namespace}:default-editor: may get secrets")
    failed = next(f for f in rbac["findings"] if not f["passed"])
    assert 'Role "too-broad"' in failed["detail"]  # the authorizer's reason names the grant


def test_a_cluster_wide_grant_fails_rbac_for_other_namespaces(kube_apiserver, namespace, tmp_path):
    _apply_pipeline_rbac(kube_apiserver, namespace)
    rbac = _kube(kube_apiserver)["rbac"]
    name = f"reads-secrets-{namespace}"
    rbac.create_cluster_role(
        {
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "default-editor", "namespace": namespace}
            ],
        }
    )
    try:
        code, report = _check(
            tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", RBAC_ID
        )
    finally:
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)
    failed = [f["id"] for f in _controls(report)[RBAC_ID]["findings"] if not f["passed"]]
    assert code == 3 and failed == [
        "must not get secrets",
        "must not list secrets",
        "must not get secrets in default",
        "must not get secrets in kube-system",
        "must not list secrets cluster-wide",
    ]


def test_wildcards_and_missing_grants_are_both_named(kube_apiserver, namespace, tmp_path):
    # No pipeline-rbac: deploy's grants are missing; a wildcard Role grants delete and more.
    _grant(
        kube_apiserver,
        namespace,
        "wildcard",
        [{"apiGroups": ["serving.kserve.io"], "resources": ["*"], "verbs": ["*"]}],
    )
    code, report = _check(
        tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", RBAC_ID
    )
    detail = _controls(report)[RBAC_ID]["detail"]
    assert code == 3
    assert "may delete inferenceservices.serving.kserve.io (must not)" in detail
    assert "may not get configmaps, create configmaps, patch configmaps, get deployments.apps" in (
        detail
    )


def test_unverified_and_unpinned_inference_services_fail_naming_them(
    kube_apiserver, namespace, tmp_path
):
    _create(kube_apiserver, namespace, ISVC, _verified("good", namespace))
    _create(
        kube_apiserver, namespace, ISVC, _verified("tagged", namespace, "ghcr.io/x/predictor:1.0")
    )
    plain = render_inference_service(
        name="plain", namespace=namespace, storage_uri="s3://models/a", model_digest=DIGEST
    )
    _create(kube_apiserver, namespace, ISVC, plain)
    unmounted = _verified("unmounted", namespace)
    container = unmounted["spec"]["predictor"]["containers"][0]
    container["volumeMounts"] = [
        m for m in container["volumeMounts"] if "signature" not in m["name"]
    ]
    _create(kube_apiserver, namespace, ISVC, unmounted)
    code, report = _check(
        tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", PREDICTOR_ID
    )
    control = _controls(report)[PREDICTOR_ID]
    assert control["status"] == "failed" and code == 3
    assert _findings(control) == {"good": True, "plain": False, "tagged": False, "unmounted": False}
    detail = control["detail"]
    assert detail.startswith(f"3 of 4 InferenceService(s) in namespace {namespace} not the")
    assert "plain (predictor is KServe runtime, not the verified predictor" in detail
    assert "tagged (image ghcr.io/x/predictor:1.0 is a tag, not a digest" in detail
    assert "unmounted (no ConfigMap mounted at /etc/mlsecops/signature" in detail


def test_an_empty_namespace_fails_the_predictor_control(kube_apiserver, namespace, tmp_path):
    code, report = _check(
        tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", PREDICTOR_ID
    )
    detail = _controls(report)[PREDICTOR_ID]["detail"]
    assert code == 3 and detail.startswith(f"no InferenceService in namespace {namespace}")


def test_monitoring_rules_without_ours_or_missing_an_alert_fail_naming_it(
    kube_apiserver, namespace, prometheus_rule_crd, tmp_path
):
    args = [*_cluster_args(kube_apiserver, namespace), "--controls", MONITORING_ID]
    code, report = _check(tmp_path, *args)
    control = _controls(report)[MONITORING_ID]
    assert code == 4 and control["status"] == "failed"  # impact 0.5
    assert (
        f"namespace {namespace} (0 PrometheusRule(s)) lacks alert(s) MLSecOpsGateBlocked"
        in (control["detail"])
    )
    partial = copy.deepcopy(_our_rule())
    partial["metadata"]["name"] = "partial"
    for group in partial["spec"]["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("alert") != "MLSecOpsInputDriftHigh"]
    _create(kube_apiserver, namespace, PROM, partial)
    code, report = _check(tmp_path, *args)
    control = _controls(report)[MONITORING_ID]
    assert code == 4 and [f["id"] for f in control["findings"] if not f["passed"]] == [
        "MLSecOpsInputDriftHigh"
    ]
    assert "(1 PrometheusRule(s)) lacks alert(s) MLSecOpsInputDriftHigh;" in control["detail"]
    _create(kube_apiserver, namespace, PROM, _our_rule())
    code, report = _check(tmp_path, *args)
    control = _controls(report)[MONITORING_ID]
    assert code == 0 and control["detail"].endswith("all 6 alerts in mlsecops-alerts, partial")


def test_a_missing_prometheus_rule_crd_fails_closed_in_one_line(
    kube_apiserver, namespace, tmp_path
):
    from kubernetes.client.exceptions import ApiException

    crd = _kube(kube_apiserver)["crd"]
    try:
        crd.delete_custom_resource_definition(CRD_NAME)
    except ApiException as e:
        assert e.status == 404
    deadline = time.monotonic() + _CRD_TIMEOUT_S
    while True:  # the API server removes a deleted CRD's objects first
        try:
            crd.read_custom_resource_definition(CRD_NAME)
        except ApiException as e:
            assert e.status == 404
            break
        assert time.monotonic() < deadline, f"{CRD_NAME} not deleted"
        time.sleep(0.2)
    code, report = _check(
        tmp_path, *_cluster_args(kube_apiserver, namespace), "--controls", MONITORING_ID
    )
    detail = _controls(report)[MONITORING_ID]["detail"]
    assert code == 4 and "\n" not in detail
    assert detail == (
        f"namespace {namespace}: prometheusrules.monitoring.coreos.com/v1 is not served: its CRD "
        "is not installed"
    )


def test_a_refused_token_fails_every_cluster_control_in_one_line(
    kube_apiserver, namespace, tmp_path
):
    bad = Cluster(namespace, api_client=kube_apiserver.api_client(token="not-the-token"))
    with pytest.raises(ClusterError) as info:
        bad.custom_objects(*ISVC)
    assert "HTTP 401" in str(info.value) and "not-the-token" not in str(info.value)
    kubeconfig = yaml.safe_load(kube_apiserver.kubeconfig_path.read_text())
    kubeconfig["users"][0]["user"]["token"] = "not-the-token-" + uuid.uuid4().hex
    path = tmp_path / "bad-token.yaml"
    path.write_text(yaml.safe_dump(kubeconfig))
    code, report = _check(tmp_path, "--namespace", namespace, "--kubeconfig", str(path))
    for control_id in CLUSTER_IDS:
        detail = _controls(report)[control_id]["detail"]
        assert "HTTP 401" in detail and "\n" not in detail, control_id
        assert "not-the-token" not in detail
    assert code == 3


def test_run_and_namespace_together_run_both_kinds(kube_apiserver, namespace, tmp_path):
    run = tmp_path / "run-x"
    (run / "gate").mkdir(parents=True)  # a task root with nothing in it: run controls fail
    _, report = _check(tmp_path, "--run", str(run), *_cluster_args(kube_apiserver, namespace))
    status = {i: c["status"] for i, c in _controls(report).items()}
    assert status["mlsvs-data-validated"] == "failed"
    assert status["mlsvs-model-signed"] == "not_run"  # no --public-key
    assert status[RBAC_ID] == "failed"  # no pipeline-rbac in this namespace
    assert report["run"] == str(run) and report["namespace"] == namespace


# --- an unreachable API server (no server needed) --------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_api_server_fails_each_cluster_control_in_one_line(tmp_path):
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "gone",
                "cluster": {
                    "server": f"https://127.0.0.1:{_closed_port()}",
                    "insecure-skip-tls-verify": True,
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": "t" * 32}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "current-context": "gone",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    start = time.monotonic()
    code, report = _check(tmp_path, "--namespace", "ns", "--kubeconfig", str(path))
    assert time.monotonic() - start < 30
    for control_id in CLUSTER_IDS:
        control = _controls(report)[control_id]
        assert control["status"] == "failed" and "\n" not in control["detail"]
        assert control["detail"].startswith(
            "namespace ns: cannot reach the Kubernetes API at https://127.0.0.1:"
        )
    assert code == 3


def test_an_unknown_context_fails_each_cluster_control_in_one_line(tmp_path, kube_apiserver):
    code, report = _check(
        tmp_path,
        "--namespace",
        "ns",
        "--kubeconfig",
        str(kube_apiserver.kubeconfig_path),
        "--context",
        "nope",
    )
    for control_id in CLUSTER_IDS:
        detail = _controls(report)[control_id]["detail"]
        assert detail.startswith("no usable kube config (") and ", context nope: " in detail
        assert "\n" not in detail
    assert code == 3
