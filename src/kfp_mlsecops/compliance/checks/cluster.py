"""Cluster checks on one namespace (``mlsecops check --namespace NS``), through the Kubernetes API.

- ``pipeline_rbac``: the API server's own authorizer (SubjectAccessReview) says the pipeline's
  service account may do what deploy needs (manifests/pipeline-rbac) and nothing on the denied
  list (Secrets, pods/exec, deletes, RBAC objects, other namespaces, cluster scope).
- ``verified_predictor``: every InferenceService runs the verified predictor with its signature
  and verification ConfigMaps mounted, pinned by image digest.
- ``monitoring_rules``: a PrometheusRule in the namespace holds our alerts
  (manifests/monitoring/prometheusrule.yaml).

Without ``--namespace`` they are not run; an API answer they cannot get fails them
(:class:`~kfp_mlsecops.compliance.cluster.ClusterError`, one line).
"""

from __future__ import annotations

from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks._predictor import containers, unpinned_images, verified_problem
from kfp_mlsecops.compliance.checks.base import CheckContext, CheckFamily, Finding, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["DENIED", "DENIED_ELSEWHERE", "FAMILY", "REQUIRED", "REQUIRED_ALERTS"]

#: (verb, API group, resource) deploy needs in its namespace: manifests/pipeline-rbac/role.yaml.
REQUIRED = (
    ("get", "serving.kserve.io", "inferenceservices"),
    ("create", "serving.kserve.io", "inferenceservices"),
    ("patch", "serving.kserve.io", "inferenceservices"),
    ("get", "", "configmaps"),
    ("create", "", "configmaps"),
    ("patch", "", "configmaps"),
    ("get", "apps", "deployments"),
)
#: What the account must not do in its namespace (deploy never deletes: rollback is a patch).
DENIED = (
    ("get", "", "secrets"),
    ("list", "", "secrets"),
    ("watch", "", "secrets"),
    ("create", "", "pods"),
    ("create", "", "pods/exec"),
    ("create", "", "serviceaccounts/token"),
    ("delete", "serving.kserve.io", "inferenceservices"),
    ("delete", "", "configmaps"),
    ("patch", "apps", "deployments"),
    ("create", "rbac.authorization.k8s.io", "roles"),
    ("create", "rbac.authorization.k8s.io", "rolebindings"),
    ("bind", "rbac.authorization.k8s.io", "roles"),
    ("escalate", "rbac.authorization.k8s.io", "roles"),
)
#: What the account must not do elsewhere: in these namespaces (its own is skipped) ...
_OTHER_NAMESPACES = ("default", "kube-system")
DENIED_ELSEWHERE = (
    ("get", "serving.kserve.io", "inferenceservices"),
    ("create", "serving.kserve.io", "inferenceservices"),
    ("get", "", "configmaps"),
    ("get", "", "secrets"),
)
#: ... and cluster-wide (a namespaced resource with no namespace: in every namespace).
_DENIED_CLUSTER = (
    ("list", "", "secrets"),
    ("create", "", "namespaces"),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
)
#: Alerts of manifests/monitoring/prometheusrule.yaml (a test keeps the two identical).
REQUIRED_ALERTS = (
    "MLSecOpsGateBlocked",
    "MLSecOpsRobustAccuracyBelowPolicy",
    "MLSecOpsPipelineStepFailed",
    "MLSecOpsInputDriftHigh",
    "MLSecOpsSuspectedAdversarialRate",
    "MLSecOpsPredictorErrorRate",
)
_ISVC = ("serving.kserve.io", "v1beta1", "inferenceservices")
_PROMETHEUS_RULE = ("monitoring.coreos.com", "v1", "prometheusrules")
#: The volumes the verified predictor reads its evidence and trust material from.
_CONFIGMAP_MOUNTS = (C.SIGNATURE_MOUNT, C.VERIFY_KEY_MOUNT)


def _resource(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def pipeline_rbac(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the pipeline's service account may do what deploy needs, and nothing more.

    The parameter ``service_account`` names the account; every (verb, resource) pair is asked
    as a SubjectAccessReview with the groups a service account token carries.
    """
    cluster = ctx.cluster_namespace()
    account = control.text_parameter("service_account")
    namespace = cluster.namespace
    user = f"system:serviceaccount:{namespace}:{account}"
    groups = [
        "system:serviceaccounts",
        f"system:serviceaccounts:{namespace}",
        "system:authenticated",
    ]
    ctx.note(f"k8s:subjectaccessreviews for {user}")
    asks: list[tuple[bool, str, str, str, str | None]] = [
        (True, v, g, r, namespace) for v, g, r in REQUIRED
    ]
    asks += [(False, v, g, r, namespace) for v, g, r in DENIED]
    asks += [
        (False, v, g, r, other)
        for other in _OTHER_NAMESPACES
        if other != namespace
        for v, g, r in DENIED_ELSEWHERE
    ]
    asks += [(False, v, g, r, None) for v, g, r in _DENIED_CLUSTER]
    findings: list[Finding] = []
    excess: list[str] = []
    lacking: list[str] = []
    for wanted, verb, group, resource, where in asks:
        access = cluster.may(
            user, groups, verb=verb, group=group, resource=resource, namespace=where
        )
        scope = "" if where == namespace else (f" in {where}" if where else " cluster-wide")
        pair = f"{verb} {_resource(group, resource)}{scope}"
        if wanted:
            detail = "allowed" if access.allowed else "denied; deploy needs it"
        else:
            detail = (
                f"allowed ({access.reason or 'no reason given'})" if access.allowed else "denied"
            )
        passed = access.allowed == wanted
        findings.append(Finding(f"{'needs' if wanted else 'must not'} {pair}", passed, detail))
        if not passed:
            (lacking if wanted else excess).append(pair)
    if excess or lacking:
        parts = []
        if excess:
            parts.append(f"may {', '.join(excess)} (must not)")
        if lacking:
            parts.append(f"may not {', '.join(lacking)} (deploy needs it)")
        return Outcome.of(
            False,
            f"{user}: {'; '.join(parts)}; apply manifests/pipeline-rbac and remove broader grants",
            tuple(findings),
        )
    return Outcome.of(
        True,
        f"{user} may do what deploy needs ({len(REQUIRED)} grants) and none of "
        f"{len(findings) - len(REQUIRED)} denied requests",
        tuple(findings),
    )


def _mount_problem(isvc: dict[str, Any]) -> str | None:
    spec = isvc.get("spec") or {}
    volumes = (spec.get("predictor") or {}).get("volumes") or []
    from_configmap = {
        v.get("name")
        for v in volumes
        if isinstance(v, dict) and isinstance(v.get("configMap"), dict)
    }
    mounts = {
        m.get("mountPath"): m.get("name")
        for c in containers(isvc)
        for m in c.get("volumeMounts") or []
        if isinstance(m, dict)
    }
    missing = [p for p in _CONFIGMAP_MOUNTS if mounts.get(p) not in from_configmap]
    if missing:
        return f"no ConfigMap mounted at {', '.join(missing)}: nothing to verify the model with"
    return None


def verified_predictor(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when every InferenceService in the namespace runs the verified predictor, pinned.

    An empty namespace fails: there is nothing that proves the control.
    """
    cluster = ctx.cluster_namespace()
    ctx.note(f"k8s:{cluster.namespace}/inferenceservices.serving.kserve.io")
    isvcs = cluster.custom_objects(*_ISVC)
    if not isvcs:
        return Outcome.of(
            False,
            f"no InferenceService in namespace {cluster.namespace}: nothing to judge; deploy "
            "with --predictor verified or skip the control",
        )
    findings = []
    for isvc in isvcs:
        name = str((isvc.get("metadata") or {}).get("name"))
        problem = verified_problem(isvc) or _mount_problem(isvc)
        loose = unpinned_images(isvc)
        if problem is None and loose:
            problem = f"image {', '.join(loose)} is a tag, not a digest; pin name@sha256:..."
        findings.append(Finding(name, problem is None, problem or "verified predictor, pinned"))
    bad = [f for f in findings if not f.passed]
    if bad:
        return Outcome.of(
            False,
            f"{len(bad)} of {len(findings)} InferenceService(s) in namespace {cluster.namespace} "
            "not the pinned verified predictor: " + "; ".join(f"{f.id} ({f.detail})" for f in bad),
            tuple(findings),
        )
    return Outcome.of(
        True,
        f"{len(findings)} InferenceService(s) in namespace {cluster.namespace} run the verified "
        "predictor pinned by digest",
        tuple(findings),
    )


def _alerts(rule: dict[str, Any]) -> set[str]:
    groups = (rule.get("spec") or {}).get("groups") or []
    return {
        str(r["alert"])
        for g in groups
        if isinstance(g, dict)
        for r in g.get("rules") or []
        if isinstance(r, dict) and r.get("alert")
    }


def monitoring_rules(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the namespace's PrometheusRules hold every alert of manifests/monitoring."""
    cluster = ctx.cluster_namespace()
    ctx.note(f"k8s:{cluster.namespace}/prometheusrules.monitoring.coreos.com")
    rules = cluster.custom_objects(*_PROMETHEUS_RULE)
    where: dict[str, list[str]] = {}
    for rule in rules:
        for alert in _alerts(rule):
            where.setdefault(alert, []).append(str((rule.get("metadata") or {}).get("name")))
    findings = tuple(
        Finding(
            alert,
            alert in where,
            f"in PrometheusRule {', '.join(where[alert])}" if alert in where else "missing",
        )
        for alert in REQUIRED_ALERTS
    )
    missing = [f.id for f in findings if not f.passed]
    if missing:
        return Outcome.of(
            False,
            f"namespace {cluster.namespace} ({len(rules)} PrometheusRule(s)) lacks alert(s) "
            f"{', '.join(missing)}; kubectl apply -k manifests/monitoring",
            findings,
        )
    return Outcome.of(
        True,
        f"namespace {cluster.namespace}: all {len(findings)} alerts in "
        f"{', '.join(sorted({n for a in REQUIRED_ALERTS for n in where[a]}))}",
        findings,
    )


FAMILY = CheckFamily(
    name="cluster",
    description="a cluster namespace through the Kubernetes API (needs --namespace)",
    checks={
        "pipeline_rbac": pipeline_rbac,
        "verified_predictor": verified_predictor,
        "monitoring_rules": monitoring_rules,
    },
)
