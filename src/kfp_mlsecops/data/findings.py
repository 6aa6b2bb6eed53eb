"""The result of one data check: :class:`Finding`, and how a skipped check is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

__all__ = ["ERROR", "WARNING", "Finding", "Measured", "Severity", "skipped_finding"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

#: What a check measured; always JSON-serialisable and finite (never NaN/inf).
Measured = Union[int, float, str, list[float], None]


@dataclass(frozen=True)
class Finding:
    """One check result.

    ``passed`` is True only when the check ran and held. A check that could not run because a check
    it depends on failed has ``skipped=True`` and ``passed=False`` (a check that did not run never
    counts as passed). ``message`` is one line; for a failure it says what to do.
    """

    id: str
    severity: Severity
    passed: bool
    message: str
    measured: Measured = None
    skipped: bool = False

    @property
    def is_failed_error(self) -> bool:
        """True for an error-severity check that did not pass (it failed, or was skipped)."""
        return self.severity == ERROR and not self.passed

    @property
    def is_warning(self) -> bool:
        """True when this warning-severity check ran and did not hold."""
        return self.severity == WARNING and not self.passed and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used in the validation report."""
        return {
            "id": self.id,
            "severity": self.severity,
            "passed": self.passed,
            "skipped": self.skipped,
            "message": self.message,
            "measured": self.measured,
        }


def skipped_finding(check_id: str, severity: Severity, blockers: Sequence[str]) -> Finding:
    """Record that ``check_id`` did not run because the checks in ``blockers`` did not pass."""
    names = ", ".join(f"'{b}'" for b in blockers)
    return Finding(
        id=check_id,
        severity=severity,
        passed=False,
        message=f"skipped: needs {names} to pass first",
        measured=None,
        skipped=True,
    )
