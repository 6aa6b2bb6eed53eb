"""Pipeline steps push to a real Pushgateway; a real Prometheus scrapes them and alerts.

The steps run the real cores inside `record_step`: data validation on digits, the gate on a
signed model (blocked by policy, so it raises after writing its decision). Prometheus (1 s
scrapes, our alert rules loaded) is queried over its HTTP API until the series appear.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _prom_stack import start_pushgateway
from _promql import dashboard_expressions, grafana_to_promql, metric_names

from kfp_mlsecops import constants as c
from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.monitoring import names as n
from kfp_mlsecops.monitoring import record_step

PIPELINE = "secure-training"
RUN = "e2e-run-1"
REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "manifests" / "monitoring" / "mlsecops-dashboard.json"
DEV_FLOOR = REPO / "manifests" / "policy" / "dev" / "policy.yaml"  # allows the waiver below


def _by(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"][k] for k in labels): float(r["value"][1]) for r in result}


@pytest.fixture(scope="module")
def pushed(prom_stack, artifacts, tmp_path_factory) -> dict[str, Any]:
    """Run four steps of one pipeline run with pushing on; return what they wrote."""
    out = tmp_path_factory.mktemp("e2e")
    group = {"pipeline": PIPELINE, "run_id": RUN, "pushgateway": prom_stack.pushgateway_url}
    records = {}

    report = out / "report.json"
    with record_step(
        "validate_data", **group, artifacts={n.VALIDATION_REPORT_JSON: report}
    ) as records["validate_data"]:
        run_validate_data(
            source="digits",
            train_path=out / "train.npz",
            test_path=out / "test.npz",
            report_json_path=report,
            report_md_path=out / "report.md",
            manifest_path=out / "manifest.json",
        )

    with record_step("train", **group) as records["train"]:
        pass  # training itself is covered elsewhere; its step metrics are what is pushed

    results = out / "robustness.json"
    with record_step(
        "attack_test", **group, artifacts={n.ROBUSTNESS_RESULTS_JSON: results}
    ) as records["attack_test"]:
        shutil.copyfile(artifacts.results, results)

    decision = out / "decision.json"
    with pytest.raises(GateRejected):
        with record_step("gate", **group, artifacts={n.GATE_DECISION_JSON: decision}) as records[
            "gate"
        ]:
            run_gate(
                **artifacts.chain.gate_kwargs(
                    results_path=results,
                    policy=Policy(
                        min_clean_accuracy=0.9,
                        min_robust_accuracy=0.9,
                        robust_attack="worst_case",
                        robust_epsilon=0.1,
                        allow_masking_flags=(c.MASKING_FLAGS[0],),
                    ),
                    floor_path=DEV_FLOOR,
                    decision_json_path=decision,
                    decision_md_path=out / "decision.md",
                    approval_path=out / "approval.json",
                    gate_seed=0,
                )
            )
    for name, record in records.items():
        assert record.pushed and record.problems == [], name
    return {"report": report, "results": results, "decision": decision}


@pytest.mark.slow
def test_step_success_and_duration_arrive_for_every_step(prom_stack, pushed):
    result = prom_stack.wait_for(
        f'mlsecops_step_success{{run_id="{RUN}"}}', until=lambda r: len(r) == 4
    )
    assert _by(result, "component") == {
        ("validate_data",): 1.0,
        ("train",): 1.0,
        ("attack_test",): 1.0,
        ("gate",): 0.0,
    }
    for series in result:
        assert series["metric"]["job"] == n.JOB and series["metric"]["pipeline"] == PIPELINE
    durations = prom_stack.wait_for(
        f'mlsecops_step_duration_seconds{{run_id="{RUN}"}}', until=lambda r: len(r) == 4
    )
    assert all(float(r["value"][1]) >= 0 for r in durations)


def test_validation_findings_match_the_real_report(prom_stack, pushed):
    report = json.loads(pushed["report"].read_text())
    result = prom_stack.wait_for(f'mlsecops_data_validation_findings{{run_id="{RUN}"}}')
    assert sum(_by(result, "check").values()) == len(report["findings"])
    assert {r["metric"]["passed"] for r in result} == {"true"}
    assert {r["metric"]["component"] for r in result} == {"validate_data"}


def test_robust_accuracy_per_attack_and_epsilon_matches_the_results(prom_stack, pushed):
    results = json.loads(pushed["results"].read_text())
    rows = [*results["attacks"], *({**w, "attack": "worst_case"} for w in results["worst_case"])]
    expected = {(r["attack"], f"{r['epsilon']:g}"): r["robust_accuracy"] for r in rows}
    result = prom_stack.wait_for(
        f'mlsecops_robust_accuracy{{run_id="{RUN}"}}', until=lambda r: len(r) == len(expected)
    )
    assert _by(result, "attack", "epsilon") == expected


def test_blocked_gate_decision_per_control(prom_stack, pushed):
    decision = json.loads(pushed["decision"].read_text())
    result = prom_stack.wait_for(f'mlsecops_gate_decision{{run_id="{RUN}"}}')
    assert _by(result, "control") == {
        (ctl["id"],): float(ctl["passed"]) for ctl in decision[c.CONTROLS]
    }
    assert _by(result, "control")[(c.CONTROL_ROBUST_ACCURACY,)] == 0.0
    blessed = prom_stack.wait_for(f'mlsecops_gate_blessed{{run_id="{RUN}"}}')
    assert _by(blessed, "run_id") == {(RUN,): 0.0}


def test_the_blocked_run_fires_the_gate_and_robustness_alerts(prom_stack, pushed):
    gate = prom_stack.wait_for_alert("MLSecOpsGateBlocked")
    assert gate["labels"]["run_id"] == RUN and gate["labels"]["pipeline"] == PIPELINE
    assert gate["state"] == "firing"
    robust = prom_stack.wait_for_alert("MLSecOpsRobustAccuracyBelowPolicy")
    assert (robust["labels"]["attack"], robust["labels"]["epsilon"]) == ("worst_case", "0.1")
    results = json.loads(pushed["results"].read_text())
    measured = next(w["robust_accuracy"] for w in results["worst_case"] if w["epsilon"] == 0.1)
    assert float(robust["value"]) == pytest.approx(measured)


def test_every_dashboard_query_runs_and_the_pipeline_panels_show_this_run(prom_stack, pushed):
    prom_stack.wait_for(f'mlsecops_gate_blessed{{run_id="{RUN}"}}')
    dashboard = json.loads(DASHBOARD.read_text())
    pipeline_exprs = []
    for expr in dashboard_expressions(dashboard):
        result = prom_stack.query(grafana_to_promql(expr))  # raises if Prometheus rejects it
        if metric_names(expr) & set(n.PIPELINE_METRICS):
            pipeline_exprs.append((expr, result))
    assert len(pipeline_exprs) >= 8
    for expr, result in pipeline_exprs:
        if 'passed="false"' in expr:
            assert result == [], expr  # the digits data passed every check
        else:
            assert result, expr


def test_a_push_the_pushgateway_refuses_is_logged_and_the_step_unchanged(tmp_path):
    # Another group already holds mlsecops_step_success as a counter: the Pushgateway refuses
    # our gauge of the same name (HTTP 400), which must not change the step's outcome.
    gateway = start_pushgateway(tmp_path)
    try:
        body = b"# TYPE mlsecops_step_success counter\nmlsecops_step_success 1\n"
        request = urllib.request.Request(
            f"{gateway.url}/metrics/job/other", data=body, method="PUT"
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            assert response.status in (200, 202)
        with record_step("train", pipeline=PIPELINE, run_id="r", pushgateway=gateway.url) as record:
            outcome = "trained"
    finally:
        gateway.stop()
    assert outcome == "trained" and not record.pushed
    (problem,) = record.problems
    assert "refused the push: HTTP 400" in problem and "\n" not in problem
