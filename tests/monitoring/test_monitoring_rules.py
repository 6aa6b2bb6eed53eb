"""Alert rules: promtool checks them, unit-tests every alert, and every metric name is exported."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from _prom_stack import PROMTOOL, missing_binaries
from _promql import dashboard_expressions, metric_names
from prometheus_client import Histogram

from kfp_mlsecops.monitoring import PIPELINE_METRICS
from kfp_mlsecops.serving import metric_names as serving_names

HERE = Path(__file__).resolve().parent
DASHBOARD = HERE.parents[1] / "manifests" / "monitoring" / "mlsecops-dashboard.json"
RULES_TEST = HERE / "rules_test.yaml"

#: KServe's own metrics used by the dashboard or rules, with where KServe defines them.
#: Histograms: the scrape exposes <name>_bucket, <name>_sum and <name>_count.
KSERVE_HISTOGRAMS = {
    "request_predict_seconds": "kserve 0.21 kserve/metrics.py PREDICT_HIST_TIME",
    "request_preprocess_seconds": "kserve 0.21 kserve/metrics.py PRE_HIST_TIME",
    "request_postprocess_seconds": "kserve 0.21 kserve/metrics.py POST_HIST_TIME",
}
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert not missing_binaries(), missing_binaries()
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def _alerts(rule_groups: dict[str, Any]) -> dict[str, str]:
    return {
        rule["alert"]: rule["expr"]
        for group in rule_groups["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def _unit_test_dir(tmp_path: Path, rule_groups: dict[str, Any]) -> Path:
    (tmp_path / "mlsecops-rules.yaml").write_text(yaml.safe_dump(rule_groups, sort_keys=False))
    shutil.copyfile(RULES_TEST, tmp_path / "rules_test.yaml")
    return tmp_path


def test_promtool_check_rules_accepts_the_prometheusrule_groups(rules_file, rule_groups):
    result = _promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    n_rules = sum(len(group["rules"]) for group in rule_groups["groups"])
    assert f"SUCCESS: {n_rules} rules found" in result.stdout


def test_promtool_unit_tests_pass(tmp_path, rule_groups):
    folder = _unit_test_dir(tmp_path, rule_groups)
    result = _promtool("test", "rules", "rules_test.yaml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_not_firing_unit_test(rule_groups):
    spec = yaml.safe_load(RULES_TEST.read_text())
    firing: set[str] = set()
    silent: set[str] = set()
    for case in spec["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(_alerts(rule_groups))
    assert alerts == {
        "MLSecOpsGateBlocked",
        "MLSecOpsRobustAccuracyBelowPolicy",
        "MLSecOpsPipelineStepFailed",
        "MLSecOpsInputDriftHigh",
        "MLSecOpsSuspectedAdversarialRate",
        "MLSecOpsPredictorErrorRate",
    }
    assert alerts - firing == set(), "alerts without a firing test"
    assert alerts - silent == set(), "alerts without a not-firing test"


@pytest.mark.parametrize(
    "alert",
    [
        "MLSecOpsGateBlocked",
        "MLSecOpsRobustAccuracyBelowPolicy",
        "MLSecOpsPipelineStepFailed",
        "MLSecOpsInputDriftHigh",
        "MLSecOpsSuspectedAdversarialRate",
        "MLSecOpsPredictorErrorRate",
    ],
)
def test_unit_tests_fail_when_an_alert_can_never_fire(tmp_path, rule_groups, alert):
    broken = copy.deepcopy(rule_groups)
    for group in broken["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = "vector(1) == 2"
    folder = _unit_test_dir(tmp_path, broken)
    result = _promtool("test", "rules", "rules_test.yaml", cwd=folder)
    assert result.returncode != 0
    assert f"alertname: {alert}," in result.stdout + result.stderr


def _exported_names() -> dict[str, str]:
    """Every series name the code exports -> where it comes from."""
    names = {name: "kfp_mlsecops.monitoring.names" for name in PIPELINE_METRICS}
    serving = serving_names.exported_series_names()
    names.update({name: "kfp_mlsecops.serving.metric_names" for name in serving})
    for base, source in KSERVE_HISTOGRAMS.items():
        names.update({base + part: source for part in _HISTOGRAM_PARTS})
    return names


def test_kserve_metric_names_match_the_installed_kserve():
    import kserve.metrics

    families = {
        family.name
        for value in vars(kserve.metrics).values()
        if isinstance(value, Histogram)
        for family in value.describe()
    }
    assert set(KSERVE_HISTOGRAMS) <= families
    serving_kserve = {spec.name for spec in serving_names.KSERVE_METRICS}
    assert serving_kserve <= families


def test_every_metric_name_in_the_rules_and_dashboard_is_exported_by_the_code(rule_groups):
    rules = [rule for group in rule_groups["groups"] for rule in group["rules"]]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    exported = _exported_names()
    rule_names = set().union(*(metric_names(rule["expr"]) for rule in rules))
    dashboard = json.loads(DASHBOARD.read_text())
    dashboard_names = set().union(*(metric_names(e) for e in dashboard_expressions(dashboard)))
    assert rule_names - exported.keys() - recorded == set()
    assert dashboard_names - exported.keys() - recorded == set()
    # the scanner found names of every family (so the check above is not vacuous)
    used = rule_names | dashboard_names
    assert {"mlsecops_gate_blessed", "mlsecops_robust_accuracy"} <= used
    assert {"mlsecops_input_drift_score", "mlsecops_predictor_requests_total"} <= used
    assert "request_predict_seconds_bucket" in used
    assert recorded <= used


def test_the_name_check_catches_a_misspelled_metric():
    assert metric_names('sum(rate(mlsecops_prediction_total{model="m"}[5m])) > 0') == {
        "mlsecops_prediction_total"
    }
    assert "mlsecops_prediction_total" not in _exported_names()
