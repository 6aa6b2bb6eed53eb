"""KFP component: merge the shards of a sharded attack-test into the unsharded results."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def merge_attack_results(
    shards: Input[List[Artifact]],
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    results: Output[Artifact],
    report: Output[Markdown],
    html_report: Output[HTML],
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
):
    """Merge every attack_test shard; write what the unsharded attack_test writes.

    Recomputes clean and robust accuracies, the worst case and the gradient-masking flags over
    every sample; the merged results equal the unsharded ones except the wall times, which add up.
    Fails closed (InvalidInputError, one line) unless the shards are exactly the shards of one run
    (same model and test-data digests, attacks and params, epsilons, tier, seed, sample selection
    and masking thresholds; each shard once, none missing, every sample once) and ``model`` and
    ``test_data`` match their digests.

    Args:
        shards: The ``results`` of every attack_test shard (``dsl.Collected``; schema
            ``kfp-mlsecops/robustness-shard/v1``).
        model: The model folder the shards attacked (its digest must match theirs).
        test_data: The test split the shards attacked (its digest must match theirs).
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        metrics: The unsharded step's metrics: accuracies per attack and epsilon, the worst case,
            summed wall time and each masking flag as 0/1.
        results: The merged robustness results JSON (``kfp-mlsecops/robustness/v2``), which
            attest_robustness and the gate read like the unsharded ones.
        report: The merged results as Markdown.
        html_report: The merged self-contained HTML robustness report.

    """
    from kfp_mlsecops.attacks.html_report import attack_metrics
    from kfp_mlsecops.attacks.merge import run_merge_report
    from kfp_mlsecops.monitoring import record_step

    with record_step(
        "merge_attack_results",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts={"robustness_results": results.path},
    ):
        outcome = run_merge_report(
            shard_paths=[shard.path for shard in shards],
            model_path=model.path,
            test_path=test_data.path,
            results_path=results.path,
            report_md_path=report.path,
            html_report_path=html_report.path,
        )
    for name, value in attack_metrics(outcome).items():
        metrics.log_metric(name, value)
