"""Run the gate: evaluate every control, always write the decision, raise unless blessed."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from kfp_mlsecops._io import markdown_table, write_json_atomic, write_text_atomic
from kfp_mlsecops.errors import GateRejected, InvalidInputError
from kfp_mlsecops.gate.artifact_controls import model_scan_control, robustness_attestation_control
from kfp_mlsecops.gate.controls import (
    ControlResult,
    Value,
    clean_accuracy_control,
    evidence_binding_control,
    masking_controls,
    robust_accuracy_control,
    signature_control,
)
from kfp_mlsecops.gate.decision import Decision, decide
from kfp_mlsecops.gate.policy import Policy
from kfp_mlsecops.gate.results import RobustnessResults, load_robustness_document
from kfp_mlsecops.signing import VerificationConfig, resolve_verification


def run_gate(
    *,
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str] | None,
    policy: Policy,
    decision_json_path: str | os.PathLike[str],
    decision_md_path: str | os.PathLike[str],
    public_key_path: str | os.PathLike[str] | None = None,
    verification: VerificationConfig | None = None,
) -> Decision:
    """Evaluate all controls, write the decision JSON and Markdown, return the approved Decision.

    Trust is ``verification`` (a :class:`~kfp_mlsecops.signing.VerificationConfig` for the key,
    certificate or sigstore method) or, for the key method, just ``public_key_path``; exactly one.
    Controls: ``signature`` (the model verifies), ``clean_accuracy``, ``robust_accuracy`` (the
    policy's attack and epsilon), ``evidence_binding`` (the results name the verified digest),
    ``robustness_attestation`` (the signed attestation at ``attestation_path`` verifies with the
    same trust, its subject is the verified digest and it attests exactly the results read here;
    None or a missing file fails), ``model_scan`` (no code-carrying content in the model files)
    and one ``masking.<flag>`` per gradient-masking flag (a raised flag blocks unless the
    policy's ``allow_masking_flags`` lists it; results without the flags fail these controls).
    A control that cannot be evaluated fails with its reason; the others still run. Both reports
    are always written; then GateRejected is raised unless every control passed.
    """
    if not isinstance(policy, Policy):
        raise InvalidInputError(f"policy must be a gate Policy, got {type(policy).__name__}")
    trust = resolve_verification(public_key_path=public_key_path, verification=verification)
    signature, digest = signature_control(
        model_dir=model_dir, signature_path=signature_path, verification=trust
    )
    results, raw_results = _results_loader(results_path)
    controls = (
        signature,
        clean_accuracy_control(results, policy),
        robust_accuracy_control(results, policy),
        evidence_binding_control(results, digest),
        robustness_attestation_control(
            attestation_path=attestation_path,
            verification=trust,
            verified_digest=digest,
            raw_results=raw_results,
        ),
        model_scan_control(model_dir),
        *masking_controls(results, policy),
    )
    decision = decide(controls, model_digest=digest, policy=policy)
    write_json_atomic(decision_json_path, decision.to_dict())
    write_text_atomic(decision_md_path, render_markdown(decision))
    if not decision.blessed:
        failed = "; ".join(f"{ctl.id}: {ctl.detail}" for ctl in decision.failed) or decision.message
        raise GateRejected(
            f"gate blocked model '{model_dir}' ({failed}); see '{decision_json_path}'; "
            "do not deploy"
        )
    return decision


def _results_loader(
    path: str | os.PathLike[str],
) -> tuple[Callable[[], RobustnessResults], Callable[[], dict[str, Any]]]:
    """Read the results once (validated and raw); dependent controls re-raise the load error."""
    try:
        loaded: tuple[RobustnessResults, dict[str, Any]] | Exception = load_robustness_document(
            path
        )
    except Exception as e:  # noqa: BLE001 - every dependent control fails with this reason
        loaded = e

    def both() -> tuple[RobustnessResults, dict[str, Any]]:
        if isinstance(loaded, Exception):
            raise loaded
        return loaded

    return (lambda: both()[0]), (lambda: both()[1])


def _cell(value: Value) -> Value:
    return "n/a" if value is None else value


def render_markdown(decision: Decision) -> str:
    """Return the decision as Markdown: a verdict line, the controls table, failure reasons."""
    verdict = "APPROVED" if decision.blessed else "BLOCKED"
    digest = f"`{decision.model_digest}`" if decision.model_digest else "not verified"
    rows = [
        (ctl.id, ctl.description, _cell(ctl.measured), _cell(ctl.threshold), _passed(ctl))
        for ctl in decision.controls
    ]
    lines = [
        f"# Gate decision: {verdict}",
        "",
        f"Model digest: {digest}",
        "",
        "Gradient-masking flags allowed by the policy: "
        + (", ".join(f"`{f}`" for f in decision.policy.allow_masking_flags) or "none"),
        "",
        markdown_table(("id", "description", "measured", "threshold", "passed"), rows),
    ]
    if decision.failed or not decision.blessed:
        lines += ["## Why blocked", ""]
        lines += [f"- `{ctl.id}`: {ctl.detail}" for ctl in decision.failed] or [
            f"- {decision.message}"
        ]
        lines.append("")
    return "\n".join(lines)


def _passed(control: ControlResult) -> str:
    if control.passed and control.waived:
        return "yes (waived by policy)"
    return "yes" if control.passed else "**no**"
