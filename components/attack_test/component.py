"""KFP component: measure adversarial robustness (FGSM, PGD) over a list of epsilons."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def attack_test(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    results: Output[Artifact],
    report: Output[Markdown],
    epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
):
    """Attack ``model`` on ``test_data``; fails if an evaluation invariant breaks."""
    from kfp_mlsecops.attacks import robustness_metrics, run_attack_test

    outcome = run_attack_test(
        model_path=model.path,
        test_path=test_data.path,
        results_path=results.path,
        report_md_path=report.path,
        epsilons=list(epsilons),
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
    )
    for name, value in robustness_metrics(outcome).items():
        metrics.log_metric(name, value)
