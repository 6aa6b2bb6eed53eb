"""Validate the user-given parameters of data validation before any file is read or written."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.data.splitting import check_seed, check_test_fraction
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["ValidationParams"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} {value!r}: must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
        raise InvalidInputError(f"{name} {value!r}: must be finite and fit in float32")
    return number


def _integer(name: str, value: object, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidInputError(f"{name} {value!r}: must be an integer >= {minimum}; {hint}")
    return int(value)


@dataclass(frozen=True)
class ValidationParams:
    """Checked thresholds for one validation run (see ``run_validate_data`` for their meaning)."""

    label_column: str
    test_fraction: float
    seed: int
    value_min: float
    value_max: float
    num_classes: int
    min_samples: int
    max_imbalance: float
    evaluation_only: bool = False

    @classmethod
    def checked(
        cls,
        *,
        label_column: str,
        test_fraction: float,
        seed: int,
        value_min: float,
        value_max: float,
        num_classes: int,
        min_samples: int,
        max_imbalance: float,
        evaluation_only: bool = False,
    ) -> ValidationParams:
        """Return the parameters, or raise InvalidInputError naming the first unusable one."""
        if not isinstance(label_column, str) or not label_column.strip():
            raise InvalidInputError(f"label_column {label_column!r}: must name a column")
        low = _real("value_min", value_min)
        high = _real("value_max", value_max)
        if not np.float32(low) < np.float32(high):
            raise InvalidInputError(
                f"value range [{value_min!r}, {value_max!r}]: value_min must be below value_max"
            )
        if not isinstance(evaluation_only, bool):
            raise InvalidInputError(f"evaluation_only {evaluation_only!r}: must be true or false")
        imbalance = _real("max_imbalance", max_imbalance)
        if imbalance < 1.0:
            raise InvalidInputError(
                f"max_imbalance {max_imbalance!r}: must be >= 1 (largest/smallest class ratio)"
            )
        return cls(
            label_column=label_column.strip(),
            test_fraction=check_test_fraction(test_fraction),
            seed=check_seed(seed),
            value_min=low,
            value_max=high,
            num_classes=_integer("num_classes", num_classes, 0, "use 0 to infer max label + 1"),
            min_samples=_integer("min_samples", min_samples, 2, "a split needs samples"),
            max_imbalance=imbalance,
            evaluation_only=evaluation_only,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as recorded in the validation report."""
        return asdict(self)
