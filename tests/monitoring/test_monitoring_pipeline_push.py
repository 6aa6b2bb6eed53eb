"""The whole secure-training pipeline, run locally with pushing on, seen by a real Prometheus.

kfp.local runs every component for real; each pushes its mlsecops_* metrics to the real
Pushgateway; Prometheus scrapes it (honor_labels) and we query its HTTP API for the series.
"""

from __future__ import annotations

import pytest
from _prom_stack import PromStack

from kfp_mlsecops.cli.run_local import run_pipeline_locally

pytestmark = pytest.mark.slow

COMPONENTS = {"validate_data", "train", "attack_test", "sign_model", "gate", "deploy"}


def test_local_pipeline_pushes_every_step_and_prometheus_scrapes_it(
    prom_stack: PromStack, tmp_path
):
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments={
            "epochs": 2,
            "epsilons": [0.05, 0.1],
            "pgd_steps": 10,
            "min_clean_accuracy": 0.5,
            "min_robust_accuracy": 0.0,
            "pushgateway_url": prom_stack.pushgateway_url,
        },
    )
    assert run.succeeded, run.error
    steps = prom_stack.wait_for(
        'mlsecops_step_success{pipeline="secure-training"} == 1',
        until=lambda result: {s["metric"]["component"] for s in result} >= COMPONENTS,
    )
    run_ids = {s["metric"]["run_id"] for s in steps}
    assert len(run_ids) == 1 and run_ids != {""}
    (blessed,) = prom_stack.wait_for("mlsecops_gate_blessed")
    assert blessed["value"][1] == "1"
    robust = prom_stack.wait_for('mlsecops_robust_accuracy{attack="pgd"}')
    assert {s["metric"]["epsilon"] for s in robust} >= {"0.05", "0.1"}
    clean = prom_stack.wait_for("mlsecops_clean_accuracy")
    assert float(clean[0]["value"][1]) >= 0.5
