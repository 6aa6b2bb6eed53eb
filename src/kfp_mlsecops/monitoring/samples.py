"""One metric value with its labels, checked against the metric table before anything is pushed.

Label values are restricted to short identifiers (letters, digits, ``_ . : + -``), so a path, a
URL, a message or a key can never end up in a label by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.monitoring.names import PIPELINE_METRICS

__all__ = ["Sample", "check_label_value", "format_epsilon"]

_LABEL_VALUE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,127}")


def check_label_value(value: object, *, what: str) -> str:
    """Return ``value`` if it is a safe label value; InvalidInputError naming ``what`` otherwise."""
    if not isinstance(value, str) or not _LABEL_VALUE_RE.fullmatch(value):
        # The value itself is not echoed: it may be exactly what must not leak (a key, a URL).
        raise InvalidInputError(
            f"{what}: not a metric label value (1-128 of A-Z a-z 0-9 _ . : + -, not starting "
            "with a symbol); pass an identifier, never a path, URL or secret"
        )
    return value


def format_epsilon(epsilon: float) -> str:
    """Return the ``epsilon`` label value (``0.05``, ``1e-05``), the same as the KFP metric keys."""
    return f"{float(epsilon):g}"


@dataclass(frozen=True)
class Sample:
    """A value of one pipeline metric (a name in ``PIPELINE_METRICS``) with its labels."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = PIPELINE_METRICS.get(self.name)
        if spec is None:
            raise InvalidInputError(
                f"metric {self.name!r} is not a pipeline metric; add it to "
                "kfp_mlsecops.monitoring.names.PIPELINE_METRICS"
            )
        if set(self.labels) != set(spec.labels):
            raise InvalidInputError(
                f"metric {self.name}: labels {sorted(self.labels)} must be exactly "
                f"{sorted(spec.labels)}"
            )
        for key, value in self.labels.items():
            check_label_value(value, what=f"metric {self.name} label {key}")
        number: object = self.value
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise InvalidInputError(f"metric {self.name}: value {number!r} must be a number")
        if not math.isfinite(number):
            raise InvalidInputError(f"metric {self.name}: value {number!r} must be finite")
        object.__setattr__(self, "value", float(number))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
