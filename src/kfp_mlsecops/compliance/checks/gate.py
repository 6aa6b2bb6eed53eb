"""Gate checks: the gate approved, and named gate controls passed (the shared vocabulary).

The gate's control ids (``constants.REQUIRED_CONTROLS``) are the ids profile controls name in
``gate_controls``; each gate control becomes a finding of the profile control that names it.
"""

from __future__ import annotations

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks.base import CheckContext, CheckFamily, Finding, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]


def _gate_findings(ctx: CheckContext, ids: tuple[str, ...]) -> tuple[str, tuple[Finding, ...]]:
    from kfp_mlsecops.gate import Decision

    decision = Decision.read(ctx.evidence("gate/decision"))
    by_id = {c.id: c for c in decision.controls}
    findings = []
    for control_id in ids:
        gate = by_id.get(control_id)
        if gate is None:
            findings.append(Finding(control_id, False, "the gate did not evaluate it"))
        elif gate.waived:  # passed only because the run's policy allowed the finding
            findings.append(
                Finding(
                    control_id, False, f"allowed by the run's policy, not passed: {gate.detail}"
                )
            )
        else:
            findings.append(Finding(control_id, gate.passed, gate.detail))
    return decision.decision, tuple(findings)


def decision_approved(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the gate approved and every required gate control (or those named) passed."""
    ids = control.gate_controls or tuple(C.REQUIRED_CONTROLS)
    decision, findings = _gate_findings(ctx, ids)
    failed = [f.id for f in findings if not f.passed]
    if decision != C.DECISION_APPROVED or failed:
        return Outcome.of(
            False, f"gate {decision}; failed: {', '.join(failed) or 'none listed'}", findings
        )
    return Outcome.of(True, f"gate approved; {len(findings)} gate control(s) passed", findings)


def controls_passed(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when every gate control the profile control names passed (not merely allowed)."""
    if not control.gate_controls:
        raise ValueError(f"control {control.id} names no gate_controls; add them to the profile")
    _, findings = _gate_findings(ctx, control.gate_controls)
    failed = [f for f in findings if not f.passed]
    if failed:
        return Outcome.of(False, "; ".join(f"{f.id}: {f.detail}" for f in failed), findings)
    ids = ", ".join(f.id for f in findings)
    return Outcome.of(True, f"{len(findings)} gate control(s) passed: {ids}", findings)


FAMILY = CheckFamily(
    name="gate",
    description="the gate's decision and its controls",
    checks={"decision_approved": decision_approved, "controls_passed": controls_passed},
)
