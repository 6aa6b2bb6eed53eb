"""argparse value types shared by every ``mlsecops`` command (one-line usage errors)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bounded_float", "epsilon_list", "finite_float", "fraction", "int_at_least"]


def finite_float(text: str) -> float:
    """Parse a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def fraction(text: str) -> float:
    """Parse a number in [0, 1]."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is outside [0, 1]")
    return value


def bounded_float(
    *, at_least: float | None = None, above: float | None = None, below: float | None = None
) -> Callable[[str], float]:
    """Return a parser of finite numbers ``>= at_least``, ``> above``, ``< below`` (those set)."""

    def parse(text: str) -> float:
        value = finite_float(text)
        if at_least is not None and value < at_least:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {at_least:g}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"{text!r} must be > {above:g}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"{text!r} must be < {below:g}")
        return value

    return parse


def int_at_least(minimum: int) -> Callable[[str], int]:
    """Return a parser of whole numbers >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value

    return parse


def epsilon_list(text: str) -> list[float]:
    """Parse comma-separated epsilons >= 0 (at least one)."""
    values = [finite_float(part) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError("give at least one epsilon, e.g. 0.05,0.1")
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: epsilons must be >= 0")
    return values
