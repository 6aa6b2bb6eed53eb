"""The gate decision: built from control records, approved only if all passed.

The decision JSON is the human-readable record of every gate run (approved or blocked): the
controls, the effective policy and the run's own thresholds, the policy floor, what was tightened
and the re-derivation record. It is NOT what deploy trusts: deploy and the verified predictor
act only on the signed approval (:mod:`kfp_mlsecops.gate.approval`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.gate.approval import FloorRef
from kfp_mlsecops.gate.controls import ControlResult
from kfp_mlsecops.policy import Policy


@dataclass(frozen=True)
class Decision:
    """What the gate decided, why, and about which model.

    ``policy`` is the effective policy (the run's thresholds tightened by the floor);
    ``run_policy`` what the run asked for; ``floor`` the floor applied (None when it could not
    be loaded, which blocks); ``notes`` what tightening changed; ``rederivation`` the record of
    the gate's own recomputation (None when it could not run, which blocks).
    """

    decision: str
    controls: tuple[ControlResult, ...]
    model_digest: str | None
    policy: Policy
    message: str
    run_policy: Policy | None = None
    floor: FloorRef | None = None
    notes: tuple[str, ...] = ()
    rederivation: dict[str, Any] | None = field(default=None)

    @property
    def blessed(self) -> bool:
        """True only when approved, a digest is known, controls ran, and every one passed."""
        return (
            self.decision == C.DECISION_APPROVED
            and self.model_digest is not None
            and bool(self.controls)
            and all(control.passed is True for control in self.controls)
        )

    @property
    def failed(self) -> tuple[ControlResult, ...]:
        """The controls that did not pass."""
        return tuple(control for control in self.controls if control.passed is not True)

    def blocked_by(self, control: ControlResult) -> Decision:
        """Return this decision blocked by one more (failed) control, e.g. approval signing."""
        controls = (*self.controls, control)
        message = "failed: " + "; ".join(f"{c.id} ({c.detail})" for c in controls if not c.passed)
        return replace(self, decision=C.DECISION_BLOCKED, controls=controls, message=message)

    def to_dict(self) -> dict[str, Any]:
        """Return the decision document (no timestamps: equal inputs give equal bytes)."""
        doc: dict[str, Any] = {
            C.SCHEMA: C.DECISION_SCHEMA,
            C.DECISION: self.decision,
            C.BLESSED: self.blessed,
            C.CONTROLS: [control.to_dict() for control in self.controls],
            C.POLICY: self.policy.to_dict(),
            "run_policy": (self.run_policy or self.policy).to_dict(),
            "floor": None if self.floor is None else self.floor.to_dict(),
            "notes": list(self.notes),
            "rederivation": self.rederivation,
            C.MESSAGE: self.message,
        }
        if self.model_digest is not None:
            doc[C.MODEL_DIGEST] = self.model_digest
        return doc


def decide(
    controls: tuple[ControlResult, ...],
    *,
    model_digest: str | None,
    policy: Policy,
    run_policy: Policy | None = None,
    floor: FloorRef | None = None,
    notes: tuple[str, ...] = (),
    rederivation: dict[str, Any] | None = None,
) -> Decision:
    """Approve only when controls exist, include every required one, all passed, digest known."""
    failed = [control for control in controls if control.passed is not True]
    missing = [cid for cid in C.REQUIRED_CONTROLS if cid not in {ctl.id for ctl in controls}]
    approved = False
    if not controls:
        message = "no controls were evaluated; an empty gate never approves"
    elif missing:
        message = f"required controls were not evaluated: {', '.join(missing)}"
    elif failed:
        message = "failed: " + "; ".join(f"{ctl.id} ({ctl.detail})" for ctl in failed)
    elif model_digest is None:
        message = "no verified model digest; nothing to approve"
    elif floor is None:
        message = "no policy floor; nothing is approved without one"
    else:
        message, approved = f"all {len(controls)} controls passed", True
    return Decision(
        C.DECISION_APPROVED if approved else C.DECISION_BLOCKED,
        controls,
        model_digest,
        policy,
        message,
        run_policy=run_policy,
        floor=floor,
        notes=notes,
        rederivation=rederivation,
    )
