"""Validation of attack hyper-parameters (InvalidInputError naming the parameter)."""

from __future__ import annotations

import math

from kfp_mlsecops.errors import InvalidInputError


def check_int(label: str, value: object, minimum: int, below: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) in ``[minimum, below)``; raise otherwise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (below is not None and value >= below)
    ):
        bound = f"an integer in [{minimum}, {below})" if below else f"an integer >= {minimum}"
        raise InvalidInputError(f"{label}={value!r}: must be {bound}")
    return value


def check_fraction(label: str, value: object, *, inclusive_zero: bool = False) -> float:
    """Return ``value`` as float if it is a real number in (0, 1] (or [0, 1]); raise otherwise."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (0 <= value <= 1 if inclusive_zero else 0 < value <= 1)
    )
    if not ok:
        interval = "[0, 1]" if inclusive_zero else "(0, 1]"
        raise InvalidInputError(f"{label}={value!r}: must be a number in {interval}")
    return float(value)  # type: ignore[arg-type]


def check_choice(label: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``; raise otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidInputError(f"{label}={value!r}: must be one of {', '.join(choices)}")
    return value
