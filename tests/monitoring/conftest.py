"""Fixtures for the monitoring tests: real artifacts from the cores, the rules, a real stack.

Artifacts come from the real cores: the digits validation report from `run_validate_data`, a
failed report from a dataset with out-of-range values, and the robustness results and
approved/blocked gate decisions of the session's real release chain (tests/_release.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from _prom_stack import PromStack, start_prom_stack
from _release import Release

from kfp_mlsecops import constants as c
from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.errors import DataValidationError, GateRejected
from kfp_mlsecops.gate import Policy, run_gate

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "manifests" / "monitoring"
RULE_MANIFEST = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "mlsecops-dashboard.json"
RULES_TEST = Path(__file__).resolve().parent / "rules_test.yaml"
#: A floor that lets runs waive masking flags (the tests waive one).
DEV_FLOOR = REPO / "manifests" / "policy" / "dev" / "policy.yaml"


@dataclass(frozen=True)
class Artifacts:
    """Paths of real pipeline artifacts."""

    report_passed: Path
    report_failed: Path
    results: Path
    decision_approved: Path
    decision_blocked: Path
    chain: Release


def _validate(source: str, out: Path) -> Path:
    report = out / "report.json"
    run_validate_data(
        source=source,
        train_path=out / "train.npz",
        test_path=out / "test.npz",
        report_json_path=report,
        report_md_path=out / "report.md",
        manifest_path=out / "manifest.json",
    )
    return report


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, release: Release) -> Artifacts:
    """Validation reports (passed, failed), robustness results and gate decisions on disk."""
    root = tmp_path_factory.mktemp("monitoring-artifacts")
    (root / "ok").mkdir()
    report_passed = _validate("digits", root / "ok")

    bad = root / "bad"
    bad.mkdir()
    x = np.full((40, 4), 0.5)
    x[0, 0] = 7.0  # outside [0, 1]: value_range fails
    np.savez(bad / "data.npz", x=x, y=np.repeat(np.arange(2), 20))
    with pytest.raises(DataValidationError):
        _validate(str(bad / "data.npz"), bad)
    report_failed = bad / "report.json"

    chain = release.copy(root / "release")

    def gate(name: str, min_robust: float) -> Path:
        decision = root / f"decision-{name}.json"
        run_gate(
            **chain.gate_kwargs(
                policy=Policy(
                    min_clean_accuracy=0.9,
                    min_robust_accuracy=min_robust,
                    robust_attack="pgd",
                    robust_epsilon=0.1,
                    allow_masking_flags=(c.MASKING_FLAGS[0],),
                ),
                floor_path=DEV_FLOOR,
                decision_json_path=decision,
                decision_md_path=root / f"decision-{name}.md",
                approval_path=root / f"approval-{name}.json",
                gate_seed=0,
            )
        )
        return decision

    approved = gate("approved", 0.5)
    with pytest.raises(GateRejected):
        gate("blocked", 0.9)
    results = chain.results
    return Artifacts(
        report_passed=report_passed,
        report_failed=report_failed,
        results=results,
        decision_approved=approved,
        decision_blocked=root / "decision-blocked.json",
        chain=chain,
    )


@pytest.fixture(scope="session")
def rule_groups() -> dict[str, Any]:
    """The PrometheusRule's spec (``{"groups": [...]}``), as a Prometheus rules file holds it."""
    manifest = yaml.safe_load(RULE_MANIFEST.read_text())
    assert manifest["kind"] == "PrometheusRule"
    return {"groups": manifest["spec"]["groups"]}


@pytest.fixture(scope="session")
def rules_file(tmp_path_factory: pytest.TempPathFactory, rule_groups: dict[str, Any]) -> Path:
    """The PrometheusRule's groups written as a plain Prometheus rules file."""
    path = tmp_path_factory.mktemp("rules") / "mlsecops-rules.yaml"
    path.write_text(yaml.safe_dump(rule_groups, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def prom_stack(rules_file: Path) -> Iterator[PromStack]:
    """A real Pushgateway + Prometheus with our rules loaded; tests use distinct run ids."""
    stack = start_prom_stack(rule_files=[rules_file])
    try:
        yield stack
    finally:
        stack.stop()
