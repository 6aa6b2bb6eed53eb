"""Fixtures for the monitoring tests: real artifacts from the cores, the rules, a real stack.

Artifacts come from the real cores: the digits validation report from `run_validate_data`, a
failed report from a dataset with out-of-range values, and approved/blocked gate decisions from
`run_gate` on a tiny signed model (real signatures). Only the robustness results document is a
fixture (training and attacking a model costs tens of seconds); it is checked by the gate's strict
reader in every test that uses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from _prom_stack import PromStack, start_prom_stack

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import create_attestation
from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.errors import DataValidationError, GateRejected
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.signing import generate_key_pair, sign_model

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "manifests" / "monitoring"
RULE_MANIFEST = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "mlsecops-dashboard.json"
RULES_TEST = Path(__file__).resolve().parent / "rules_test.yaml"


@dataclass(frozen=True)
class Artifacts:
    """Paths of real pipeline artifacts."""

    report_passed: Path
    report_failed: Path
    results: Path
    decision_approved: Path
    decision_blocked: Path


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


def results_document(digest: str) -> dict[str, Any]:
    """A complete robustness results document for the model with ``digest``."""
    attacks = [
        ("fgsm", 0.05, 0.8),
        ("fgsm", 0.1, 0.6),
        ("pgd", 0.05, 0.7),
        ("pgd", 0.1, 0.55),
    ]
    return {
        c.SCHEMA: c.ROBUSTNESS_SCHEMA,
        c.CLEAN_ACCURACY: 0.95,
        c.N_SAMPLES: 200,
        c.EPSILONS: [0.05, 0.1],
        c.ATTACKS: [
            {"attack": a, "norm": "linf", "epsilon": e, "robust_accuracy": r, "params": {}}
            for a, e, r in attacks
        ],
        c.WORST_CASE: [
            {"epsilon": 0.05, "robust_accuracy": 0.65},
            {"epsilon": 0.1, "robust_accuracy": 0.5},
        ],
        "invariants": [{"name": name, "description": name} for name in c.ROBUSTNESS_INVARIANTS],
        "masking": [
            {
                "id": flag,
                "flagged": flag == c.MASKING_FLAGS[0],
                "measured": 0.0,
                "threshold": 0.05,
                "detail": "fixture",
            }
            for flag in c.MASKING_FLAGS
        ],
        c.MODEL_DIGEST: digest,
    }


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
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

    model = root / "model"
    (model / "1" / "variables").mkdir(parents=True)
    (model / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights" * 8)
    generate_key_pair(root / "private.pem", root / "public.pem")
    digest = sign_model(model, root / "model.sig", private_key_path=root / "private.pem")
    results = root / "robustness.json"
    results.write_text(json.dumps(results_document(digest)))
    create_attestation(
        model_dir=model,
        results_path=results,
        policy={"min_robust_accuracy": 0.5},
        data_digest="sha256:" + "ab" * 32,
        attack_config={"attacks": ["pgd"]},
        private_key_path=root / "private.pem",
        out_path=root / "robustness.intoto.json",
    )

    def gate(name: str, min_robust: float) -> Path:
        decision = root / f"decision-{name}.json"
        run_gate(
            model_dir=model,
            signature_path=root / "model.sig",
            public_key_path=root / "public.pem",
            results_path=results,
            attestation_path=root / "robustness.intoto.json",
            policy=Policy(
                min_clean_accuracy=0.9,
                min_robust_accuracy=min_robust,
                robust_attack="pgd",
                robust_epsilon=0.1,
                allow_masking_flags=(c.MASKING_FLAGS[0],),
            ),
            decision_json_path=decision,
            decision_md_path=root / f"decision-{name}.md",
        )
        return decision

    approved = gate("approved", 0.5)
    with pytest.raises(GateRejected):
        gate("blocked", 0.9)
    return Artifacts(
        report_passed=report_passed,
        report_failed=report_failed,
        results=results,
        decision_approved=approved,
        decision_blocked=root / "decision-blocked.json",
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
