"""The gate decision: built from control records, approved only if all passed.

:class:`Decision` is the one typed writer (:meth:`Decision.to_dict`) and reader
(:meth:`Decision.from_dict`, :meth:`Decision.read`) of the decision JSON, the record of every
gate run (approved or blocked): the controls, the effective policy and the run's own
thresholds, the policy floor, what was tightened and the re-derivation record. It is NOT what
deploy trusts: deploy and the verified predictor act only on the signed approval
(:mod:`kfp_mlsecops.gate.approval`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE as _DIGEST
from kfp_mlsecops._io import one_line, read_json_object
from kfp_mlsecops.errors import InvalidInputError
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

    @classmethod
    def from_dict(cls, doc: object) -> Decision:
        """Read a decision document strictly; InvalidInputError names the field.

        ``blessed`` must be a JSON boolean, but the :attr:`blessed` of the result is always
        recomputed from the controls (a document claiming ``blessed: true`` over a failed
        control reads as not blessed).
        """
        try:
            return _parse(doc)
        except (ValueError, TypeError) as e:
            raise InvalidInputError(f"gate decision: {one_line(e)}; rerun the gate") from e

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Decision:
        """Read the decision JSON at ``path`` (strict JSON); InvalidInputError names the file."""
        where = f"gate decision '{path}'"
        try:
            doc = read_json_object(path)
        except FileNotFoundError as e:
            raise InvalidInputError(
                f"{where} does not exist; run the step that writes it (the gate)"
            ) from e
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InvalidInputError(f"{where} is not valid JSON ({one_line(e)})") from e
        try:
            return cls.from_dict(doc)
        except InvalidInputError as e:
            raise InvalidInputError(f"{where}: {str(e).removeprefix('gate decision: ')}") from e


def _parse(doc: object) -> Decision:
    if not isinstance(doc, dict):
        raise ValueError("top level must be a JSON object")
    if doc.get(C.SCHEMA) != C.DECISION_SCHEMA:
        raise ValueError(f"schema is {doc.get(C.SCHEMA)!r}, expected {C.DECISION_SCHEMA!r}")
    verdict = doc.get(C.DECISION)
    if verdict not in (C.DECISION_APPROVED, C.DECISION_BLOCKED):
        raise ValueError(f"decision {verdict!r} is neither approved nor blocked")
    if not isinstance(doc.get(C.BLESSED), bool):
        raise ValueError(f"'{C.BLESSED}' is {doc.get(C.BLESSED)!r}, expected true or false")
    raw_controls = doc.get(C.CONTROLS)
    if not isinstance(raw_controls, list):
        raise ValueError(f"'{C.CONTROLS}' must be a list")
    controls = tuple(
        ControlResult.from_dict(c, where=f"controls[{i}]") for i, c in enumerate(raw_controls)
    )
    ids = [c.id for c in controls]
    if len(set(ids)) != len(ids):
        raise ValueError("a control is listed twice")
    policies = []
    for key in (C.POLICY, "run_policy"):
        value = doc.get(key)
        if not isinstance(value, dict):
            raise ValueError(f"'{key}' must be an object")
        try:
            policies.append(Policy(**value))
        except (TypeError, InvalidInputError) as e:
            raise ValueError(f"'{key}' is invalid ({one_line(e, 200)})") from e
    floor = doc.get("floor")
    notes = doc.get("notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ValueError("'notes' must be a list of strings")
    record = doc.get("rederivation")
    if record is not None and not isinstance(record, dict):
        raise ValueError("'rederivation' must be an object or null")
    message = doc.get(C.MESSAGE)
    if not isinstance(message, str):
        raise ValueError(f"'{C.MESSAGE}' must be a string")
    digest = doc.get(C.MODEL_DIGEST)
    if digest is not None and not (isinstance(digest, str) and _DIGEST.fullmatch(digest)):
        raise ValueError(f"'{C.MODEL_DIGEST}' {digest!r} is not sha256:<64 hex>")
    return Decision(
        decision=verdict,
        controls=controls,
        model_digest=digest,
        policy=policies[0],
        message=message,
        run_policy=policies[1],
        floor=None if floor is None else FloorRef.from_dict(floor),
        notes=tuple(notes),
        rederivation=record,
    )


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
