"""Evaluate a profile against a run folder and/or a cluster namespace into a :class:`Report`.

Statuses: ``passed``; ``failed``; ``not_run`` (an input was not given, e.g. ``--public-key``,
``--run`` for run controls or ``--namespace`` for cluster controls: reported and skipped, never
counted as passed); ``waived`` (a valid waiver covers the control,
whatever it found). Exit code: 0 when no control failed; 3 when a failed control has impact >=
``CRITICAL_IMPACT`` (0.7); 4 when only lower-impact controls failed. A control with impact 0.0 is
informational (as in InSpec): its failure is reported but never changes the exit code; a profile
that extends it gates it by raising the impact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kfp_mlsecops._exit_codes import EXIT_OK
from kfp_mlsecops._io import one_line
from kfp_mlsecops.compliance.checks.base import (
    FAILED,
    NOT_RUN,
    CheckContext,
    Finding,
    NotRun,
    Outcome,
)
from kfp_mlsecops.compliance.checks.registry import get_check
from kfp_mlsecops.compliance.profile import Control, Profile
from kfp_mlsecops.compliance.waivers import Waiver
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "CRITICAL_IMPACT",
    "INFORMATIONAL_IMPACT",
    "EXIT_CRITICAL",
    "EXIT_FAILED",
    "EXIT_OK",
    "WAIVED",
    "ControlReport",
    "Report",
    "run_profile",
]

WAIVED = "waived"
#: A failed control at or above this impact is critical (exit 3).
CRITICAL_IMPACT = 0.7
#: A control with this impact is informational: a failure is reported, the exit code ignores it.
INFORMATIONAL_IMPACT = 0.0
EXIT_CRITICAL = 3
EXIT_FAILED = 4
#: Details keep whole paths (a failed verification names model, signature and key).
_DETAIL_LIMIT = 2000


@dataclass(frozen=True)
class ControlReport:
    """One control's verdict: its status, what the check found, the evidence and any waiver.

    ``outcome`` is what the check concluded (also under a waiver); ``waiver_expired`` marks a
    waiver that existed but no longer applies.
    """

    control: Control
    status: str
    outcome: Outcome
    evidence: tuple[str, ...]
    waiver: Waiver | None = None
    waiver_expired: bool = False

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The check's sub-results (e.g. the gate controls)."""
        return self.outcome.findings


@dataclass(frozen=True)
class Report:
    """A profile evaluated against one run folder and/or one cluster namespace (None: not given)."""

    profile: Profile
    run: str | None
    controls: tuple[ControlReport, ...]
    namespace: str | None = None

    def count(self, status: str) -> int:
        """Return how many controls ended with ``status``."""
        return sum(1 for c in self.controls if c.status == status)

    @property
    def exit_code(self) -> int:
        """0 no failure; 3 a failed control with impact >= 0.7; 4 only lower-impact failures.

        Failed informational controls (impact 0.0) do not count.
        """
        failed = [
            c.control.impact
            for c in self.controls
            if c.status == FAILED and c.control.impact > INFORMATIONAL_IMPACT
        ]
        if not failed:
            return EXIT_OK
        return EXIT_CRITICAL if max(failed) >= CRITICAL_IMPACT else EXIT_FAILED


def run_profile(
    profile: Profile,
    context: CheckContext,
    *,
    waivers: Mapping[str, Waiver] | None = None,
    only: Sequence[str] = (),
) -> Report:
    """Run every control of ``profile`` (or those in ``only``) against ``context``.

    Args:
        profile: the controls to run.
        context: the run folder, the cluster namespace and options.
        waivers: accepted failures by control id.
        only: control ids to run (all when empty); an unknown id is an InvalidInputError.

    """
    unknown = [c for c in only if profile.control(c) is None]
    if unknown:
        raise InvalidInputError(
            f"--controls {' '.join(unknown)}: not in profile {profile.name}; use "
            + ", ".join(c.id for c in profile.controls)
        )
    waivers = waivers or {}
    reports = []
    for control in profile.controls:
        if only and control.id not in only:
            continue
        context.read = []
        outcome = _run_one(control, context)
        waiver = waivers.get(control.id)
        expired = waiver is not None and waiver.expired(context.today)
        status = WAIVED if waiver is not None and not expired else outcome.status
        reports.append(
            ControlReport(control, status, outcome, tuple(context.read), waiver, expired)
        )
    return Report(
        profile=profile,
        run=None if context.run is None else str(context.run.run_dir),
        controls=tuple(reports),
        namespace=None if context.cluster is None else context.cluster.namespace,
    )


def _run_one(control: Control, context: CheckContext) -> Outcome:
    try:
        return get_check(control.check)(context, control)
    except NotRun as e:
        return Outcome(NOT_RUN, one_line(e, _DETAIL_LIMIT))
    except Exception as e:  # noqa: BLE001 - a check that cannot be evaluated fails, never skips
        return Outcome(FAILED, one_line(e, _DETAIL_LIMIT))
