"""The gate decision (the blessing): built from control records, approved only if all passed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops.gate.controls import ControlResult
from kfp_mlsecops.gate.policy import Policy


@dataclass(frozen=True)
class Decision:
    """What the gate decided, why, and about which model."""

    decision: str
    controls: tuple[ControlResult, ...]
    model_digest: str | None
    policy: Policy
    message: str

    @property
    def blessed(self) -> bool:
        """True only when approved, a digest is known, controls ran, and every one passed."""
        return (
            self.decision == c.DECISION_APPROVED
            and self.model_digest is not None
            and bool(self.controls)
            and all(control.passed is True for control in self.controls)
        )

    @property
    def failed(self) -> tuple[ControlResult, ...]:
        """The controls that did not pass."""
        return tuple(control for control in self.controls if control.passed is not True)

    def to_dict(self) -> dict[str, Any]:
        """Return the decision document (no timestamps: equal inputs give equal bytes)."""
        doc: dict[str, Any] = {
            c.SCHEMA: c.DECISION_SCHEMA,
            c.DECISION: self.decision,
            c.BLESSED: self.blessed,
            c.CONTROLS: [control.to_dict() for control in self.controls],
            c.POLICY: self.policy.to_dict(),
            c.MESSAGE: self.message,
        }
        if self.model_digest is not None:
            doc[c.MODEL_DIGEST] = self.model_digest
        return doc


def decide(
    controls: tuple[ControlResult, ...], *, model_digest: str | None, policy: Policy
) -> Decision:
    """Approve only when controls exist, include every required one, all passed, digest known."""
    failed = [control for control in controls if control.passed is not True]
    missing = [cid for cid in c.REQUIRED_CONTROLS if cid not in {ctl.id for ctl in controls}]
    if not controls:
        message = "no controls were evaluated; an empty gate never approves"
    elif missing:
        message = f"required controls were not evaluated: {', '.join(missing)}"
    elif failed:
        message = "failed: " + "; ".join(f"{ctl.id} ({ctl.detail})" for ctl in failed)
    elif model_digest is None:
        message = "no verified model digest; nothing to approve"
    else:
        message = f"all {len(controls)} controls passed"
        return Decision(c.DECISION_APPROVED, controls, model_digest, policy, message)
    return Decision(c.DECISION_BLOCKED, controls, model_digest, policy, message)
