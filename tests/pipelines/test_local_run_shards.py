"""The whole pipeline on kfp.local with attack-test in two shards: merged, attested, approved."""

from __future__ import annotations

import json

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import RobustnessResults
from kfp_mlsecops.attacks.html_report import run_attack_report
from kfp_mlsecops.attacks.shards import ShardResults
from kfp_mlsecops.cli.run_local import run_pipeline_locally

pytestmark = pytest.mark.slow

FAST = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10}


def test_two_shards_merge_into_the_unsharded_results_and_the_gate_approves(tmp_path):
    run = run_pipeline_locally(output_dir=tmp_path / "run", arguments=FAST, attack_shards=2)
    assert run.succeeded, run.error
    assert run.tasks[run.tasks.index("attack-test") + 1] == "merge-attack-results"
    assert run.decision is not None and run.decision[C.DECISION] == C.DECISION_APPROVED
    assert run.decision["rederivation"]["unreproduced"] == 0

    paths = sorted(run.task_root.glob("for-loop-*-iteration-*/attack-test/results"))
    shards = sorted((ShardResults.read(p) for p in paths), key=lambda s: s.index)
    assert [(s.index, s.count) for s in shards] == [(0, 2), (1, 2)]
    merged_path = run.reports["robustness results"]
    assert merged_path.parent.name == "merge-attack-results"
    merged = RobustnessResults.read(merged_path).to_dict()
    assert merged[C.N_SAMPLES] == sum(len(s.evidence.sample_ids) for s in shards)

    # the same step unsharded, on the same model and split, writes the same results
    out = tmp_path / "unsharded"
    want = run_attack_report(
        model_path=run.task_root / "train" / "model",
        test_path=run.task_root / "validate-data" / "test_data",
        results_path=out / "results.json",
        report_md_path=out / "report.md",
        html_report_path=out / "report.html",
        epsilons=FAST["epsilons"],
        pgd_steps=FAST["pgd_steps"],
    )
    timing = ("wall_time_s", "attack_wall_time_s")
    assert {k: v for k, v in merged.items() if k not in timing} == {
        k: v for k, v in want.items() if k not in timing
    }
    assert json.loads(merged_path.read_text()) == merged
