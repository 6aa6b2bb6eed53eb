"""The gate's controls: each evaluates one check into a record and never raises."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Union

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import is_number, one_line
from kfp_mlsecops.policy import Policy
from kfp_mlsecops.signing import VerificationConfig

#: What a control measured or required: a number, a string (e.g. a digest) or nothing.
Value = Union[float, str, None]


@dataclass(frozen=True)
class ControlResult:
    """One evaluated control: what was measured, against what, and whether it passed.

    ``waived`` marks a control that passed only because the policy explicitly allows its finding
    (a raised gradient-masking flag listed in ``allow_masking_flags``).
    """

    id: str
    description: str
    measured: Value
    threshold: Value
    passed: bool
    detail: str
    waived: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the control as a JSON-ready dict (``waived`` only when true)."""
        doc: dict[str, Any] = {
            "id": self.id,
            "description": self.description,
            "measured": self.measured,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }
        if self.waived:
            doc["waived"] = True
        return doc

    @classmethod
    def from_dict(cls, doc: object, where: str = "control") -> ControlResult:
        """Read a control record strictly (ValueError names the field)."""
        if not isinstance(doc, dict):
            raise ValueError(f"{where} is not an object")
        keys = {"id", "description", "measured", "threshold", "passed", "detail"}
        if not keys <= set(doc) <= keys | {"waived"}:
            raise ValueError(f"{where} has fields {sorted(doc)}, expected {sorted(keys)}")
        for key in ("id", "description", "detail"):
            if not isinstance(doc[key], str):
                raise ValueError(f"{where}.{key} must be a string")
        for key in ("measured", "threshold"):
            value = doc[key]
            if not (value is None or isinstance(value, str) or is_number(value)):
                raise ValueError(f"{where}.{key}={value!r} must be a number, a string or null")
        for key in ("passed", "waived"):
            if key in doc and not isinstance(doc[key], bool):
                raise ValueError(f"'{key}' is {doc[key]!r} in {where}, expected true or false")
        return cls(
            id=doc["id"],
            description=doc["description"],
            measured=doc["measured"],
            threshold=doc["threshold"],
            passed=doc["passed"],
            detail=doc["detail"],
            waived=doc.get("waived", False),
        )


def evaluate(
    control_id: str,
    description: str,
    threshold: Value,
    check: Callable[[], tuple[Value, bool, str]],
) -> ControlResult:
    """Run ``check`` (-> measured, passed, detail); any exception becomes a failed control."""
    try:
        measured, passed, detail = check()
    except Exception as e:  # noqa: BLE001 - a control that cannot be evaluated fails, never skips
        return ControlResult(control_id, description, None, threshold, False, one_line(e))
    return ControlResult(control_id, description, measured, threshold, passed is True, detail)


def signature_control(
    *,
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    verification: VerificationConfig,
) -> tuple[ControlResult, str | None]:
    """Verify the model signature; return the control and the verified digest (None if failed)."""
    verified: list[str] = []

    def check() -> tuple[Value, bool, str]:
        digest = verification.verify(model_dir, signature_path)
        verified.append(digest)
        return digest, True, f"signature '{signature_path}' verifies against {verification.trusted}"

    control = evaluate(
        C.CONTROL_SIGNATURE,
        "model files match a signature by the trusted signer",
        "valid signature",
        check,
    )
    return control, (verified[0] if control.passed and verified else None)


def clean_accuracy_control(measured: Callable[[], float], policy: Policy) -> ControlResult:
    """Check the gate's own clean accuracy (re-derived) against ``policy.min_clean_accuracy``."""

    def check() -> tuple[Value, bool, str]:
        value = measured()
        passed = value >= policy.min_clean_accuracy
        relation = ">=" if passed else "<"
        return value, passed, f"{value:.4f} {relation} {policy.min_clean_accuracy:.4f}"

    return evaluate(
        C.CONTROL_CLEAN_ACCURACY,
        "accuracy on clean test data, re-derived by the gate, meets the policy minimum",
        policy.min_clean_accuracy,
        check,
    )


def robust_accuracy_control(measured: Callable[[], float], policy: Policy) -> ControlResult:
    """Check robust accuracy at the policy's attack and epsilon against its minimum.

    ``measured`` is the claimed robust accuracy minus every claim the gate disproved.
    """

    def check() -> tuple[Value, bool, str]:
        value = measured()
        passed = value >= policy.min_robust_accuracy
        relation = ">=" if passed else "<"
        return value, passed, f"{value:.4f} {relation} {policy.min_robust_accuracy:.4f}"

    return evaluate(
        C.CONTROL_ROBUST_ACCURACY,
        f"accuracy under {policy.robust_attack} at epsilon {policy.robust_epsilon:g} (claims the "
        "gate did not disprove) meets the policy minimum",
        policy.min_robust_accuracy,
        check,
    )


def evidence_binding_control(
    results: Callable[[], Any], verified_digest: str | None
) -> ControlResult:
    """Check that the robustness results were computed on the verified model."""

    def check() -> tuple[Value, bool, str]:
        if verified_digest is None:
            return None, False, "no verified model digest (the signature control failed)"
        claimed = results().model_digest
        if claimed is None:
            return (
                None,
                False,
                "results carry no model_digest, so they cannot be bound to the model",
            )
        if claimed != verified_digest:
            return (
                claimed,
                False,
                "results were computed on a different model than the one verified",
            )
        return claimed, True, "results name the verified model digest"

    return evaluate(
        C.CONTROL_EVIDENCE_BINDING,
        "robustness results were computed on the verified model (digests equal)",
        verified_digest if verified_digest is not None else "verified model digest",
        check,
    )


#: What each gradient-masking flag means, for the control description.
_MASKING_DESCRIPTIONS = {
    "blackbox_beats_whitebox": "the black-box attack does not beat the gradient attacks",
    "single_step_beats_iterative": "the single-step attack does not beat the iterative one",
    "no_convergence_at_large_eps": "robust accuracy approaches 0 at a large epsilon",
    "degenerate_gradients": "input gradients are not mostly zero or non-finite",
}


def masking_controls(results: Callable[[], Any], policy: Policy) -> tuple[ControlResult, ...]:
    """One control ``masking.<flag>`` per flag in ``MASKING_FLAGS``.

    Passes when the flag is not raised; a raised flag fails unless the policy allows it (then the
    control passes, ``waived``). Results without the flag fail the control.
    """
    return tuple(_masking_control(results, policy, flag_id) for flag_id in C.MASKING_FLAGS)


def _masking_control(results: Callable[[], Any], policy: Policy, flag_id: str) -> ControlResult:
    allowed = flag_id in policy.allow_masking_flags
    waived: list[bool] = []

    def check() -> tuple[Value, bool, str]:
        flag = results().masking_flag(flag_id)
        if not flag.flagged:
            return flag.measured, True, f"not flagged: {flag.detail}"
        if allowed:
            waived.append(True)
            return flag.measured, True, f"FLAGGED, allowed by policy (not blocking): {flag.detail}"
        return (
            flag.measured,
            False,
            f"flagged: {flag.detail} (robust accuracy may be overstated; fix the model or "
            "list the flag in allow_masking_flags)",
        )

    description = _MASKING_DESCRIPTIONS.get(flag_id, flag_id)
    policy_text = "allowed by policy" if allowed else "blocks when flagged"
    control = evaluate(
        f"{C.CONTROL_MASKING_PREFIX}{flag_id}",
        f"no gradient masking: {description} ({policy_text})",
        _flag_threshold(results, flag_id),
        check,
    )
    return replace(control, waived=True) if waived and control.passed else control


def _flag_threshold(results: Callable[[], Any], flag_id: str) -> Value:
    try:
        return results().masking_flag(flag_id).threshold
    except Exception:  # noqa: BLE001 - the control itself reports why the flag is unusable
        return None
