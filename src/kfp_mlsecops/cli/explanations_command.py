"""``mlsecops explanations``: the saliency sanity check (model-parameter randomization).

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_explanations_parser`
and :func:`run_explanations`. Exit codes: 0 the gradient maps change under randomization, 3 they
do not (the results are still written), 2 bad options or input, 1 any other error; every
failure is one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from kfp_mlsecops.cli._args import bounded_float, int_at_least
from kfp_mlsecops.cli._model_checks import (
    add_data_argument,
    add_model_check_parser,
    add_out_argument,
    run_model_check,
)

__all__ = ["add_explanations_parser", "run_explanations"]


def add_explanations_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``explanations`` to an ``add_subparsers()`` object; return its parser."""
    parser = add_model_check_parser(
        subparsers,
        "explanations",
        help="saliency sanity check: do gradient maps change when the weights are randomized?",
        description="Compute gradient saliency maps (|d logit / d x| of the predicted class, and "
        "gradient x input) for a seeded sample of the test split (--data), re-initialise the "
        "model's weights layer by layer from the top (Adebayo et al. 2018, Sanity Checks for "
        "Saliency Maps) and measure how alike the maps stay (mean absolute per-sample Spearman "
        "rank correlation). The gradient passes when, every layer randomized, the similarity is "
        "below --max-similarity; gradient x input is reported only. Writes the cascade to --out "
        "and prints one summary line. Exit 0 passed, 3 failed (results still written), 2 bad "
        "options or input, 1 other error.",
    )
    add_data_argument(parser, "--data", "held-out data the model takes: validate-data's test.npz")
    add_out_argument(parser)
    parser.add_argument(
        "--samples", type=int_at_least(2), default=64, help="test samples drawn (seeded)"
    )
    parser.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seeds the sample and the random weights"
    )
    parser.add_argument(
        "--max-similarity",
        type=bounded_float(above=0.0),
        default=0.5,
        help="a method passes below this similarity (at most 1)",
    )
    return parser


def run_explanations(args: argparse.Namespace) -> int:
    """Run ``mlsecops explanations``; return its exit code."""
    from kfp_mlsecops.explanations import (
        ExplanationsResults,
        SanityParameters,
        run_explanations_check,
    )

    def check() -> ExplanationsResults:
        parameters = SanityParameters(
            n_samples=args.samples, seed=args.seed, max_similarity=args.max_similarity
        )
        return run_explanations_check(
            model_path=args.model, test_path=args.data, out_path=args.out, parameters=parameters
        )

    def refusal(results: ExplanationsResults) -> str | None:
        if results.passed:
            return None
        limit = results.parameters.max_similarity
        failed = ", ".join(
            f"{m.name} ({m.similarity:.2f})"
            for m in results.methods
            if m.gates and not m.passed(limit)
        )
        return (
            f"saliency maps of {failed} barely change when the model's weights are randomized "
            f"(similarity >= {limit:g}): they do not explain this model; do not rely on them"
        )

    return run_model_check("explanations", check, out=args.out, refusal=refusal, label="FAILED")
