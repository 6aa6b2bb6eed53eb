"""Write robustness results (JSON + Markdown) and list the KFP metrics they yield."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import markdown_table, write_text_atomic
from kfp_mlsecops.attacks.epsilons import parse_epsilons
from kfp_mlsecops.attacks.evaluate import Progress, evaluate_robustness
from kfp_mlsecops.attacks.masking import MaskingThresholds
from kfp_mlsecops.attacks.results import RobustnessResults
from kfp_mlsecops.signing import model_digest

__all__ = ["render_report", "robustness_metrics", "run_attack_test"]


def run_attack_test(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    report_md_path: str | os.PathLike[str],
    epsilons: Sequence[float] | str,
    tier: str = C.TIER_FAST,
    attacks: Sequence[str] | None = None,
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    attack_params: Mapping[str, Mapping[str, Any]] | None = None,
    masking_thresholds: MaskingThresholds | None = None,
) -> dict[str, Any]:
    """Run :func:`evaluate_robustness`, write results JSON and Markdown report, return results.

    ``epsilons`` may be a list or a string such as ``"0.05,0.1"``. When ``model_path`` is a model
    folder the results carry its digest (``model_digest``), which the gate binds to the signature;
    ``test_data_digest`` is the split digest of ``test_path``. The JSON goes through
    :meth:`RobustnessResults.write`. Nothing is written when the evaluation fails; both files are
    written atomically.
    """
    budgets = parse_epsilons(epsilons) if isinstance(epsilons, str) else list(epsilons)
    results = evaluate_robustness(
        model_path=model_path,
        test_path=test_path,
        epsilons=budgets,
        tier=tier,
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        progress=progress,
        attack_params=attack_params,
        masking_thresholds=masking_thresholds,
    )
    typed = RobustnessResults.from_dict(results)
    if Path(model_path).is_dir():
        typed = dataclasses.replace(typed, model_digest=model_digest(model_path))
    typed.write(results_path)
    results = typed.to_dict()
    write_text_atomic(report_md_path, render_report(results))
    return results


def robustness_metrics(results: dict[str, Any]) -> dict[str, float]:
    """Return KFP metric name -> value: clean accuracy, each attack x epsilon, the worst case."""
    metrics = {C.CLEAN_ACCURACY: float(results[C.CLEAN_ACCURACY])}
    for row in results["attacks"]:
        metrics[C.robust_metric_name(row["attack"], row["epsilon"])] = float(row[C.ROBUST_ACCURACY])
    for row in results[C.WORST_CASE]:
        metrics[C.robust_metric_name(C.WORST_CASE, row["epsilon"])] = float(row[C.ROBUST_ACCURACY])
    return metrics


def render_report(results: dict[str, Any]) -> str:
    """Render the results as a Markdown report."""
    epsilons = list(results["epsilons"])
    by_attack: dict[str, dict[float, float]] = {}
    params: dict[str, dict[str, Any]] = {}
    norms: set[str] = set()
    for row in results["attacks"]:
        by_attack.setdefault(row["attack"], {})[row["epsilon"]] = row[C.ROBUST_ACCURACY]
        params[row["attack"]] = row["params"]
        norms.add(row.get(C.NORM, "linf"))
    bounds = results["input_range"]
    worst = {row["epsilon"]: row[C.ROBUST_ACCURACY] for row in results[C.WORST_CASE]}
    norm_label = "/".join(_NORM_LABELS.get(n, n) for n in sorted(norms)) or "L-inf"
    headers = [f"attack ({norm_label})", *(f"eps={eps:g}" for eps in epsilons)]
    rows = [[name, *(values[eps] for eps in epsilons)] for name, values in by_attack.items()]
    rows.append(["**worst case**", *(worst[eps] for eps in epsilons)])
    lines = [
        "# Adversarial robustness report",
        "",
        f"- Tier: **{results.get(C.TIER, 'n/a')}**",
        f"- Clean accuracy: **{results[C.CLEAN_ACCURACY]:.4f}** on {results['n_samples']} "
        "test samples",
        f"- Input range: [{bounds['lower']:g}, {bounds['upper']:g}]; "
        f"loss computed from {results['model_output']}",
        f"- Wall time: {results['wall_time_s']:.2f} s",
        "",
        "## Robust accuracy",
        "",
        markdown_table(headers, rows),
        "A sample counts as robust in the worst case only if it survives every attack at that "
        "epsilon and at every smaller one.",
        "",
        "## Gradient-masking diagnostics",
        "",
        *_masking_lines(results.get(C.MASKING)),
        "",
        "## Attack parameters",
        "",
        *(f"- `{name}`: {_format_params(p)}" for name, p in params.items()),
        "",
        "## Invariants checked (all passed)",
        "",
        *(f"- `{item['name']}`: {item['description']}" for item in results["invariants"]),
        "",
    ]
    return "\n".join(lines)


_NORM_LABELS = {"linf": "L-inf", "l2": "L2"}


def _masking_lines(masking: Any) -> list[str]:
    if not isinstance(masking, list):
        return ["No diagnostics in these results."]
    rows = [
        [
            f"`{flag['id']}`",
            "**FLAGGED**" if flag["flagged"] else "no",
            "n/a" if flag["measured"] is None else flag["measured"],
            flag["threshold"],
            str(flag["detail"]),
        ]
        for flag in masking
    ]
    return [markdown_table(["flag", "flagged", "measured", "threshold", "detail"], rows)]


def _format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(none)"
