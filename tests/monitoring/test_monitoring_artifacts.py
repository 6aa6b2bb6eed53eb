"""Real pipeline artifacts -> metric samples; malformed artifacts are refused with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.monitoring import (
    Sample,
    build_registry,
    gate_decision_samples,
    robustness_samples,
    validation_report_samples,
)
from kfp_mlsecops.monitoring import names as n


def _values(samples: list[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in samples if s.name == name}


def test_passed_validation_report_counts_every_check_as_passed(artifacts):
    report = json.loads(artifacts.report_passed.read_text())
    samples = validation_report_samples(artifacts.report_passed)
    assert _values(samples, n.DATA_VALIDATION_PASSED) == {(): 1.0}
    findings = _values(samples, n.DATA_VALIDATION_FINDINGS)
    assert sum(findings.values()) == len(report["findings"])
    assert {dict(k)["check"] for k in findings} == {f["id"] for f in report["findings"]}
    assert {dict(k)["passed"] for k in findings} == {"true"}


def test_failed_validation_report_marks_the_failed_check(artifacts):
    samples = validation_report_samples(artifacts.report_failed)
    assert _values(samples, n.DATA_VALIDATION_PASSED) == {(): 0.0}
    failed = {
        dict(k)["check"]
        for k in _values(samples, n.DATA_VALIDATION_FINDINGS)
        if dict(k)["passed"] == "false"
    }
    assert "value_range" in failed


def test_robustness_results_give_clean_robust_worst_case_and_masking(artifacts):
    from kfp_mlsecops.attacks.results import RobustnessResults

    results = RobustnessResults.read(artifacts.results)
    samples = robustness_samples(artifacts.results)
    assert _values(samples, n.CLEAN_ACCURACY) == {(): results.clean_accuracy}
    robust = {
        (dict(k)["attack"], dict(k)["epsilon"]): v
        for k, v in _values(samples, n.ROBUST_ACCURACY).items()
    }
    expected = {
        (row.attack, f"{row.epsilon:g}"): row.robust_accuracy
        for row in (*results.attacks, *results.worst_case)
    }
    assert robust == expected and len(robust) == 9  # fgsm, pgd, worst case x 3 epsilons
    flags = {dict(k)["flag"]: v for k, v in _values(samples, n.GRADIENT_MASKING_FLAGGED).items()}
    assert flags == {f.id: float(f.flagged) for f in results.masking}


def test_approved_decision_gives_blessed_one_and_every_control_passed(artifacts):
    samples = gate_decision_samples(artifacts.decision_approved)
    doc = json.loads(artifacts.decision_approved.read_text())
    assert _values(samples, n.GATE_BLESSED) == {(): 1.0}
    controls = {dict(k)["control"]: v for k, v in _values(samples, n.GATE_DECISION).items()}
    assert controls == {ctl["id"]: 1.0 for ctl in doc[c.CONTROLS]}
    assert set(c.REQUIRED_CONTROLS) <= set(controls)
    assert _values(samples, n.GATE_POLICY_MIN_CLEAN_ACCURACY) == {(): 0.9}
    # the effective policy: the dev floor lets runs gate on the worst case only
    assert _values(samples, n.GATE_POLICY_MIN_ROBUST_ACCURACY) == {
        (("attack", "worst_case"), ("epsilon", "0.1")): 0.5
    }


def test_blocked_decision_gives_blessed_zero_and_names_the_failed_control(artifacts):
    samples = gate_decision_samples(artifacts.decision_blocked)
    assert _values(samples, n.GATE_BLESSED) == {(): 0.0}
    controls = {dict(k)["control"]: v for k, v in _values(samples, n.GATE_DECISION).items()}
    assert controls[c.CONTROL_ROBUST_ACCURACY] == 0.0
    assert controls[c.CONTROL_SIGNATURE] == 1.0
    assert _values(samples, n.GATE_POLICY_MIN_ROBUST_ACCURACY) == {
        (("attack", "worst_case"), ("epsilon", "0.1")): 0.9
    }


def test_blessed_true_with_a_blocked_decision_still_reports_not_blessed(artifacts, tmp_path):
    doc = json.loads(artifacts.decision_blocked.read_text())
    doc[c.BLESSED] = True  # inconsistent document: fail closed
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(doc))
    assert _values(gate_decision_samples(path), n.GATE_BLESSED) == {(): 0.0}


def test_every_sample_from_real_artifacts_fits_one_registry(artifacts):
    samples = [
        *validation_report_samples(artifacts.report_passed),
        *robustness_samples(artifacts.results),
        *gate_decision_samples(artifacts.decision_blocked),
    ]
    registry = build_registry(samples)
    exported = {m.name for m in registry.collect()}
    assert exported == {s.name for s in samples}


def _mutated(source: Path, tmp_path: Path, mutate: Any) -> Path:
    doc = json.loads(source.read_text())
    result = mutate(doc)
    path = tmp_path / source.name
    path.write_text(result if isinstance(result, str) else json.dumps(result))
    return path


@pytest.mark.parametrize(
    ("reader", "source", "mutate", "reason"),
    [
        (validation_report_samples, "report_passed", lambda d: {**d, "schema": "x"}, "schema"),
        (validation_report_samples, "report_passed", lambda d: {**d, "passed": 1}, "'passed'"),
        (validation_report_samples, "report_passed", lambda d: {**d, "findings": []}, "findings"),
        (validation_report_samples, "report_passed", lambda d: "[1, 2]", "JSON object"),
        (validation_report_samples, "report_passed", lambda d: '{"a": NaN}', "not valid JSON"),
        (gate_decision_samples, "decision_approved", lambda d: {**d, "decision": "ok"}, "neither"),
        (gate_decision_samples, "decision_approved", lambda d: {**d, "blessed": "yes"}, "blessed"),
        (gate_decision_samples, "decision_approved", lambda d: {**d, "policy": None}, "policy"),
        (robustness_samples, "results", lambda d: {**d, "clean_accuracy": 2}, "clean_accuracy"),
        (robustness_samples, "results", lambda d: {**d, "invariants": []}, "invariants"),
    ],
)
def test_malformed_artifacts_raise_one_line_naming_the_file(
    artifacts, tmp_path, reader, source, mutate, reason
):
    path = _mutated(getattr(artifacts, source), tmp_path, mutate)
    with pytest.raises(InvalidInputError) as info:
        reader(path)
    message = str(info.value)
    assert reason in message and str(path) in message and "\n" not in message


def test_missing_artifact_says_which_step_to_run(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist; run the step"):
        gate_decision_samples(tmp_path / "nope.json")


def test_a_control_id_that_is_not_an_identifier_never_becomes_a_label(artifacts, tmp_path):
    def inject(doc: dict[str, Any]) -> dict[str, Any]:
        doc[c.CONTROLS][0]["id"] = "/etc/mlsecops/verify/public-key.pem"
        return doc

    path = _mutated(artifacts.decision_approved, tmp_path, inject)
    with pytest.raises(InvalidInputError, match="not a metric label value") as info:
        gate_decision_samples(path)
    assert str(path) in str(info.value) and "public-key" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"name": "mlsecops_unknown", "value": 1.0}, "not a pipeline metric"),
        ({"name": n.GATE_DECISION, "value": 1.0}, "labels"),
        ({"name": n.GATE_BLESSED, "value": float("nan")}, "finite"),
        ({"name": n.GATE_BLESSED, "value": True}, "number"),
        (
            {"name": n.GATE_DECISION, "value": 1.0, "labels": {"control": "http://u:pw@h"}},
            "label value",
        ),
    ],
)
def test_sample_refuses_unknown_names_wrong_labels_and_bad_values(kwargs, reason):
    with pytest.raises(InvalidInputError, match=reason) as info:
        Sample(**kwargs)
    assert "pw@" not in str(info.value)


def test_registry_refuses_the_same_series_twice():
    sample = Sample(n.GATE_BLESSED, 1.0)
    with pytest.raises(InvalidInputError, match="recorded twice"):
        build_registry([sample, Sample(n.GATE_BLESSED, 0.0)])
