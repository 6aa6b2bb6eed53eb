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
    """Attack ``model`` on ``test_data`` at each budget in ``epsilons``; fail on a broken invariant.

    Loads the servable SavedModel ``1/`` (exactly what is served) and runs the ``tier``'s attacks
    with per-sample keyed randomness, so the gate can re-attack any subset and reproduce it. The
    task fails (AttackError) and writes no results when an evaluation invariant breaks (a
    perturbation outside its norm ball or the valid range, epsilon 0 not equal to clean accuracy,
    worst case rising with epsilon), and (InvalidInputError) on a bad argument. With
    ``shard_count`` above 1 it attacks one block of the samples for ``merge_attack_results``.

    Args:
        model: The model folder in the servable layout (train's or import_model's output); its
            digest is recorded in the results.
        test_data: validate_data's test split; it supplies the valid input range and its digest
            is recorded in the results.
        epsilons: L-inf perturbation budgets in input units, each finite, >= 0 and at most the
            input range width (epsilon 0 always runs as a check).
        tier: ``fast`` (FGSM + PGD) or ``reliable`` (APGD-CE + APGD-T + Square); ``worst_case``
            counts a sample robust only if it survives every attack of the tier.
        pgd_steps: PGD iterations (integer >= 1).
        batch_size: Samples per attack batch (integer >= 1).
        max_samples: Attack a seeded random subset of this many test samples (0: all).
        seed: Seeds the attacks' per-sample randomness and the subset (integer in [0, 2**31)).
        shard_index: Which shard of the evaluated samples to attack (0-based, below
            ``shard_count``).
        shard_count: How many contiguous shards the samples are split into (1: unsharded); at
            most the number of evaluated samples.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        metrics: Every number: clean accuracy, robust accuracy per attack and epsilon, the worst
            case, wall time and each gradient-masking flag as 0/1 (a shard: its index, count,
            sample count and wall time).
        results: The robustness results JSON (``kfp-mlsecops/robustness/v2``) with the model and
            test-split digests and per-sample outcomes, which attest_robustness and the gate read;
            a shard writes a ``kfp-mlsecops/robustness-shard/v1`` document instead.
        report: The results as Markdown (a shard's report only names the shard).
        html_report: A self-contained HTML robustness report with embedded figures (a shard's
            report only names the shard).

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
