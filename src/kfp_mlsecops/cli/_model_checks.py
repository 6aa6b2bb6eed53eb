"""What the model-check commands share: ``mlsecops privacy``, ``poisoning`` and ``explanations``.

Each command measures a model against a split, writes a results file to ``--out`` and prints its
one-line summary. Exit codes: 0 the check passed, 3 it refused (the results are still written),
2 bad options or input, 1 any other error; every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kfp_mlsecops._exit_codes import EXIT_BLOCKED, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from kfp_mlsecops.cli.signing_commands import error_exit
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError

__all__ = ["add_data_argument", "add_model_check_parser", "add_out_argument", "run_model_check"]

_MODEL_HELP = "the model folder the train step writes (or a .keras file / SavedModel folder)"


class _Results(Protocol):
    def summary(self) -> str: ...


R = TypeVar("R", bound=_Results)


def add_model_check_parser(
    subparsers: Any, name: str, *, help: str, description: str
) -> argparse.ArgumentParser:
    """Add the command ``name`` with its ``--model`` option; return its parser.

    Args:
        subparsers: the ``add_subparsers()`` object of ``mlsecops``.
        name: the command.
        help: the one-line help in ``mlsecops --help``.
        description: the command's own ``--help`` text.

    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, metavar="DIR", help=_MODEL_HELP)
    return parser


def add_data_argument(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """Add a required split option ``flag`` (an NPZ file validate-data writes)."""
    parser.add_argument(flag, type=Path, required=True, metavar="NPZ", help=help)


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    """Add the required ``--out`` option (the results JSON)."""
    parser.add_argument("--out", type=Path, required=True, metavar="JSON")


def run_model_check(
    command: str,
    check: Callable[[], R],
    *,
    out: Path,
    refusal: Callable[[R], str | None],
    label: str,
) -> int:
    """Run ``check``, print its summary and return the exit code.

    Args:
        command: the command's name, for the messages.
        check: runs the check and writes the results to ``out``; returns them.
        out: where the results were written (named in the summary line).
        refusal: the reason the results refuse the model, or None when they pass.
        label: what a refusal is called on stderr (``BLOCKED``, ``FAILED``).

    """
    try:
        results = check()
    except InvalidInputError as e:
        return error_exit(command, "error", e, EXIT_USAGE)
    except MLSecOpsError as e:
        return error_exit(command, "error", e, EXIT_ERROR)
    print(f"mlsecops {command}: {results.summary()}; wrote '{out}'")
    message = refusal(results)
    if message is not None:
        return error_exit(command, label, InvalidInputError(message), EXIT_BLOCKED)
    return EXIT_OK
