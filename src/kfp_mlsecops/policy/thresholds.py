"""The run thresholds a gate applies: every threshold explicit, validated on construction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops._io import is_number
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["Policy"]


@dataclass(frozen=True)
class Policy:
    """Thresholds the gate enforces. Every threshold is required; an empty policy cannot exist.

    ``min_clean_accuracy`` / ``min_robust_accuracy`` are in [0, 1]; robust accuracy is read for
    ``robust_attack`` (e.g. ``"pgd"``) at ``robust_epsilon`` (finite, >= 0).
    ``allow_masking_flags`` names gradient-masking flags (``constants.MASKING_FLAGS``) that are
    reported but do not block; by default every raised flag blocks. Unknown ids are refused.
    """

    min_clean_accuracy: float
    min_robust_accuracy: float
    robust_attack: str
    robust_epsilon: float
    allow_masking_flags: tuple[str, ...] = ()

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
        object.__setattr__(self, "allow_masking_flags", _masking_flags(self.allow_masking_flags))

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as a JSON-ready dict."""
        doc = asdict(self)
        doc["allow_masking_flags"] = list(self.allow_masking_flags)
        return doc


def _masking_flags(value: object) -> tuple[str, ...]:
    """Return the allowed flag ids in ``MASKING_FLAGS`` order; unknown or non-string ids raise."""
    known = ", ".join(c.MASKING_FLAGS)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInputError(
            f"policy allow_masking_flags={value!r} must be a list of flag ids ({known})"
        )
    unknown = [v for v in value if not isinstance(v, str) or v not in c.MASKING_FLAGS]
    if unknown:
        raise InvalidInputError(
            f"policy allow_masking_flags: unknown flag id(s) {unknown!r}; known: {known}"
        )
    return tuple(flag for flag in c.MASKING_FLAGS if flag in value)
