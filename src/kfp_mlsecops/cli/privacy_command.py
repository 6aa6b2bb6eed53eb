"""``mlsecops privacy``: a membership-inference test of a model on validate-data's splits.

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_privacy_parser` and
:func:`run_privacy`. Exit codes: 0 measured (and within ``--max-advantage`` when given), 3 the
advantage exceeds ``--max-advantage`` (the results are still written), 2 bad options or input,
1 any other error; every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from kfp_mlsecops.cli._args import fraction, int_at_least
from kfp_mlsecops.cli._model_checks import (
    add_data_argument,
    add_model_check_parser,
    add_out_argument,
    run_model_check,
)

__all__ = ["add_privacy_parser", "run_privacy"]


def add_privacy_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``privacy`` to an ``add_subparsers()`` object; return its parser."""
    parser = add_model_check_parser(
        subparsers,
        "privacy",
        help="membership-inference test: does the model reveal its training samples?",
        description="Attack the model with a loss-threshold membership-inference attack (Yeom "
        "et al. 2018) and its class-calibrated variant: the training split (--train-data) are "
        "members, the held-out test split (--test-data) non-members, the larger set subsampled "
        "with --seed to the smaller one's size. Writes membership advantage (max TPR - FPR), "
        "AUC and TPR at FPR 1% and 0.1% (unsupported when too few non-members allow one "
        "false positive) to --out and prints one summary line. Exit 0 measured, 3 advantage "
        "above --max-advantage (results still written), 2 bad options or input, 1 other error.",
    )
    add_data_argument(parser, "--train-data", "members: train.npz")
    add_data_argument(parser, "--test-data", "non-members: test.npz")
    add_out_argument(parser)
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="balancing subsample")
    parser.add_argument(
        "--max-advantage",
        type=fraction,
        default=None,
        metavar="X",
        help="exit 3 when the membership advantage exceeds X; unset, it only measures",
    )
    return parser


def run_privacy(args: argparse.Namespace) -> int:
    """Run ``mlsecops privacy``; return its exit code."""
    from kfp_mlsecops.privacy import MembershipResults, run_membership_test

    def check() -> MembershipResults:
        return run_membership_test(
            model_path=args.model,
            train_path=args.train_data,
            test_path=args.test_data,
            out_path=args.out,
            seed=args.seed,
        )

    def refusal(results: MembershipResults) -> str | None:
        limit = args.max_advantage
        if limit is None or not results.leaks(limit):
            return None
        return (
            f"membership advantage {results.advantage:.4f} ({results.worst_attack.attack}) "
            f"exceeds --max-advantage {limit:g} and the chance level "
            f"{results.figures.chance_advantage:.4f}; the model leaks which samples it was "
            "trained on"
        )

    return run_model_check("privacy", check, out=args.out, refusal=refusal, label="BLOCKED")
