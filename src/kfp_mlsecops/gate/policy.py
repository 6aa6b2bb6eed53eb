"""The gate policy: every threshold explicit, validated on construction, no defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.gate._json import is_number


@dataclass(frozen=True)
class Policy:
    """Thresholds the gate enforces. All fields are required; an empty policy cannot exist.

    ``min_clean_accuracy`` / ``min_robust_accuracy`` are in [0, 1]; robust accuracy is read for
    ``robust_attack`` (e.g. ``"pgd"``) at ``robust_epsilon`` (finite, >= 0).
    """

    min_clean_accuracy: float
    min_robust_accuracy: float
    robust_attack: str
    robust_epsilon: float

    def __post_init__(self) -> None:
        for name in ("min_clean_accuracy", "min_robust_accuracy"):
            value = getattr(self, name)
            if not is_number(value) or not 0.0 <= value <= 1.0:
                raise InvalidInputError(
                    f"policy {name}={value!r} must be a number in [0, 1]; pass e.g. 0.9"
                )
            object.__setattr__(self, name, float(value))
        attack = self.robust_attack
        if not isinstance(attack, str) or not attack or attack != attack.strip():
            raise InvalidInputError(
                f"policy robust_attack={attack!r} must be a non-empty attack name such as 'pgd'"
            )
        eps = self.robust_epsilon
        if not is_number(eps) or eps < 0:
            raise InvalidInputError(
                f"policy robust_epsilon={eps!r} must be a finite number >= 0; pass e.g. 0.1"
            )
        object.__setattr__(self, "robust_epsilon", float(eps))

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as a JSON-ready dict."""
        return asdict(self)
