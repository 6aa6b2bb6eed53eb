"""Run the gate: evaluate every control, always write the decision, raise unless blessed."""

from __future__ import annotations

import os
from collections.abc import Callable

from kfp_mlsecops._io import markdown_table, write_json_atomic, write_text_atomic
from kfp_mlsecops.errors import GateRejected, InvalidInputError
from kfp_mlsecops.gate.controls import (
    ControlResult,
    Value,
    clean_accuracy_control,
    evidence_binding_control,
    robust_accuracy_control,
    signature_control,
)
from kfp_mlsecops.gate.decision import Decision, decide
from kfp_mlsecops.gate.policy import Policy
from kfp_mlsecops.gate.results import RobustnessResults, load_robustness_results


def run_gate(
    *,
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    public_key_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    policy: Policy,
    decision_json_path: str | os.PathLike[str],
    decision_md_path: str | os.PathLike[str],
) -> Decision:
    """Evaluate all controls, write the decision JSON and Markdown, return the approved Decision.

    Controls: ``signature`` (the model verifies), ``clean_accuracy``, ``robust_accuracy`` (the
    policy's attack and epsilon) and ``evidence_binding`` (the results name the verified digest).
    A control that cannot be evaluated fails with its reason; the others still run. Both reports
    are always written; then GateRejected is raised unless every control passed.
    """
    if not isinstance(policy, Policy):
        raise InvalidInputError(f"policy must be a gate Policy, got {type(policy).__name__}")
    signature, digest = signature_control(
        model_dir=model_dir, signature_path=signature_path, public_key_path=public_key_path
    )
    results = _results_loader(results_path)
    controls = (
        signature,
        clean_accuracy_control(results, policy),
        robust_accuracy_control(results, policy),
        evidence_binding_control(results, digest),
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


def _results_loader(path: str | os.PathLike[str]) -> Callable[[], RobustnessResults]:
    """Load the results once; every control that needs them re-raises the same load error."""
    try:
        loaded: RobustnessResults | Exception = load_robustness_results(path)
    except Exception as e:  # noqa: BLE001 - every dependent control fails with this reason
        loaded = e

    def results() -> RobustnessResults:
        if isinstance(loaded, Exception):
            raise loaded
        return loaded

    return results


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
    return "yes" if control.passed else "**no**"
