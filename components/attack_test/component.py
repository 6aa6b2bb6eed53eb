"""KFP component: measure adversarial robustness over a list of epsilons (fast or reliable tier)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def attack_test(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    results: Output[Artifact],
    report: Output[Markdown],
    html_report: Output[HTML],
    epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
    tier: str = "fast",
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    shard_index: int = 0,
    shard_count: int = 1,
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
):
    """Attack ``model`` on ``test_data``; fails if an evaluation invariant breaks.

    Every number, including the gradient-masking flags as 0/1, is logged to ``metrics``. With
    ``shard_count`` above 1 the step attacks one block of the samples and ``results`` holds its
    per-sample outcomes for ``merge_attack_results`` (the reports only name the shard).

    Args:
        tier: ``fast`` (FGSM + PGD) or ``reliable`` (APGD-CE + APGD-T + Square, worst case).
        shard_index: Which shard of the evaluated samples to attack (0-based).
        shard_count: How many shards the samples are split into (1: unsharded).

    """
    from kfp_mlsecops.attacks.html_report import attack_metrics, run_attack_report
    from kfp_mlsecops.attacks.shards import run_attack_shard, shard_metrics
    from kfp_mlsecops.monitoring import record_step

    sharded = (shard_index, shard_count) != (0, 1)
    with record_step(
        "attack_test",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts={} if sharded else {"robustness_results": results.path},
    ):
        settings = {
            "model_path": model.path,
            "test_path": test_data.path,
            "report_md_path": report.path,
            "html_report_path": html_report.path,
            "epsilons": list(epsilons),
            "tier": tier,
            "pgd_steps": pgd_steps,
            "batch_size": batch_size,
            "max_samples": max_samples,
            "seed": seed,
        }
        if sharded:
            shard = run_attack_shard(
                shard_path=results.path,
                shard_index=shard_index,
                shard_count=shard_count,
                **settings,
            )
            values = shard_metrics(shard)
        else:
            values = attack_metrics(run_attack_report(results_path=results.path, **settings))
    for name, value in values.items():
        metrics.log_metric(name, value)
