"""``mlsecops explanations``: the saliency sanity check (model-parameter randomization).

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_explanations_parser`
and :func:`run_explanations`. Exit codes: 0 the gradient maps change under randomization, 3 they
do not (the results are still written), 2 bad options or input, 1 any other error; every
failure is one line on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kfp_mlsecops.cli._args import bounded_float, int_at_least
from kfp_mlsecops.cli.signing_commands import (
    EXIT_BLOCKED,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    error_exit,
)
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError

__all__ = ["add_explanations_parser", "run_explanations"]


def add_explanations_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``explanations`` to an ``add_subparsers()`` object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model",
        type=Path,
        required=True,
        metavar="DIR",
        help="the model folder the train step writes (or a .keras file / SavedModel folder)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="NPZ",
        help="held-out data the model takes: validate-data's test.npz",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="JSON")
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
    from kfp_mlsecops.explanations import SanityParameters, run_explanations_check

    try:
        parameters = SanityParameters(
            n_samples=args.samples, seed=args.seed, max_similarity=args.max_similarity
        )
        results = run_explanations_check(
            model_path=args.model, test_path=args.data, out_path=args.out, parameters=parameters
        )
    except InvalidInputError as e:
        return error_exit("explanations", "error", e, EXIT_USAGE)
    except MLSecOpsError as e:
        return error_exit("explanations", "error", e, EXIT_ERROR)
    print(f"mlsecops explanations: {results.summary()}; wrote '{args.out}'")
    if not results.passed:
        failed = ", ".join(
            f"{m.name} ({m.similarity:.2f})"
            for m in results.methods
            if m.gates and not m.passed(parameters.max_similarity)
        )
        message = (
            f"saliency maps of {failed} barely change when the model's weights are randomized "
            f"(similarity >= {parameters.max_similarity:g}): they do not explain this model; "
            "do not rely on them"
        )
        return error_exit("explanations", "FAILED", InvalidInputError(message), EXIT_BLOCKED)
    return EXIT_OK
