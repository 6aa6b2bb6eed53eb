"""`mlsecops check` on a run the gate blocked (kfp.local, once per module): the gate's controls
and the profile's fail together, in one report."""

import json

import pytest

from kfp_mlsecops.cli.main import main
from kfp_mlsecops.cli.run_local import LocalRun, run_pipeline_locally

pytestmark = pytest.mark.slow

BLOCKED = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10, "min_robust_accuracy": 0.99}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> LocalRun:
    result = run_pipeline_locally(output_dir=tmp_path_factory.mktemp("blocked"), arguments=BLOCKED)
    assert result.blocked_by_gate, result.statuses
    return result


def test_a_blocked_run_fails_the_gate_and_robustness_controls(run, tmp_path):
    out = tmp_path / "report.json"
    key = run.run_dir / "throwaway-keys" / "public-key.pem"
    code = main(
        ["check", "--run", str(run.run_dir), "--public-key", str(key), "--reporter", f"json:{out}"]
    )
    report = json.loads(out.read_text())
    controls = {c["id"]: c for c in report["controls"]}
    assert code == 3
    gate = controls["mlsvs-gate-approved"]
    assert gate["status"] == "failed" and gate["detail"].startswith("gate blocked; failed:")
    assert [f["id"] for f in gate["findings"] if not f["passed"]] == ["robust_accuracy"]
    robustness = controls["mlsvs-adversarial-robustness"]
    assert robustness["status"] == "failed" and "robust_accuracy:" in robustness["detail"]
    assert "< 0.9900" in robustness["detail"]
    # nothing was deployed; the model itself is still genuine
    assert controls["mlsvs-verified-predictor"]["status"] == "failed"
    assert "deploy/manifest" in controls["mlsvs-verified-predictor"]["detail"]
    assert controls["mlsvs-model-signed"]["status"] == "passed"
    assert controls["mlsvs-no-gradient-masking"]["status"] == "passed"
