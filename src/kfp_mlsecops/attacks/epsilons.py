"""Parse and validate the perturbation budgets (epsilons) of a robustness evaluation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["parse_epsilons", "validate_epsilons"]


def parse_epsilons(text: str) -> list[float]:
    """Parse ``"0.05,0.1"`` (brackets optional) into floats; junk, NaN or negatives raise."""
    if not isinstance(text, str):
        raise InvalidInputError(f"epsilons {text!r}: expected a string such as '0.05,0.1'")
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    parts = [part.strip() for part in body.split(",")]
    if not body.strip() or any(not part for part in parts):
        raise InvalidInputError(
            f"epsilons {text!r}: empty entry; give comma-separated numbers such as '0.05,0.1'"
        )
    values: list[float] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError as e:
            raise InvalidInputError(
                f"epsilons {text!r}: {part!r} is not a number; "
                "give comma-separated numbers such as '0.05,0.1'"
            ) from e
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"epsilons {text!r}: {part!r} must be a finite number >= 0")
        values.append(value)
    return values


def validate_epsilons(epsilons: Sequence[float], *, lower: float, upper: float) -> list[float]:
    """Return ``epsilons`` as floats, each checked finite and within ``[0, upper - lower]``."""
    if isinstance(epsilons, (str, bytes)):
        raise InvalidInputError(
            f"epsilons {epsilons!r}: pass a list of numbers (use parse_epsilons for a string)"
        )
    values = list(epsilons)
    if not values:
        raise InvalidInputError(
            "epsilons []: give at least one perturbation budget, e.g. [0.05, 0.1]"
        )
    span = float(upper) - float(lower)
    result: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise InvalidInputError(f"epsilon {value!r}: must be a number")
        eps = float(value)
        if not math.isfinite(eps) or eps < 0:
            raise InvalidInputError(f"epsilon {value!r}: must be a finite number >= 0")
        if eps > span:
            raise InvalidInputError(
                f"epsilon {value!r}: exceeds the input range width {span:g} "
                f"([{lower:g}, {upper:g}]); use a smaller budget"
            )
        result.append(eps)
    return result
