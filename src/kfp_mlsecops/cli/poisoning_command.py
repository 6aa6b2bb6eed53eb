"""``mlsecops poisoning``: a backdoor scan of the training split through the trained model.

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_poisoning_parser` and
:func:`run_poisoning`. Exit codes: 0 no suspicious class, 3 a class holds a separated group that
looks relabelled (the results are still written), 2 bad options or input, 1 any other error;
every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from kfp_mlsecops.cli._model_checks import (
    add_data_argument,
    add_model_check_parser,
    add_out_argument,
    run_model_check,
)

__all__ = ["add_poisoning_parser", "run_poisoning"]


def add_poisoning_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``poisoning`` to an ``add_subparsers()`` object; return its parser."""
    parser = add_model_check_parser(
        subparsers,
        "poisoning",
        help="backdoor scan: spectral signatures of the training data in the trained model",
        description="Read the model's penultimate-layer representation of every training "
        "sample (--data) and look, per class, for a spectral signature (Tran et al. 2018) on "
        "robustly whitened representations: a group of samples set apart along the top "
        "singular vector whose input-space neighbours mostly carry other labels (relabelled "
        "samples of other classes: a backdoor). Writes per-class figures and flagged sample "
        "indices to --out and prints one summary line. Exit 0 no suspicious class, 3 a class "
        "is suspicious (results still written), 2 bad options or input, 1 other error.",
    )
    add_data_argument(
        parser, "--data", "the training split the model was trained on: validate-data's train.npz"
    )
    add_out_argument(parser)
    return parser


def run_poisoning(args: argparse.Namespace) -> int:
    """Run ``mlsecops poisoning``; return its exit code."""
    from kfp_mlsecops.poisoning import PoisoningResults, run_poisoning_scan

    def check() -> PoisoningResults:
        return run_poisoning_scan(model_path=args.model, train_path=args.data, out_path=args.out)

    def refusal(results: PoisoningResults) -> str | None:
        if not results.suspicious:
            return None
        labels = ", ".join(str(c.label) for c in results.classes if c.suspicious)
        return (
            f"class(es) {labels} hold a separated group of samples that look relabelled from "
            f"other classes ({len(results.flagged)} flagged in '{args.out}'); inspect and remove "
            "them, then retrain"
        )

    return run_model_check("poisoning", check, out=args.out, refusal=refusal, label="BLOCKED")
