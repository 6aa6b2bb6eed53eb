"""Print what a local run decided and where its reports are."""

from __future__ import annotations

from typing import Any, TextIO

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import LocalRun

__all__ = ["print_run_summary"]


def print_run_summary(run: LocalRun, out: TextIO) -> None:
    """Write the gate's decision, the deploy outcome, the first error and every report path."""
    w = out.write
    w("\n" + "=" * 72 + "\n")
    decision = run.decision or {}
    verdict = decision.get(C.DECISION)
    if run.succeeded and verdict == C.DECISION_APPROVED and decision.get(C.BLESSED) is True:
        w(
            "GATE DECISION: APPROVED - signed, evidence re-derived, policy floor met; the gate "
            "signed its approval.\n"
        )
    elif run.blocked_by_gate:
        w("GATE DECISION: BLOCKED - the model was NOT deployed.\n")
    else:
        failed = [t for t, s in run.statuses.items() if s != "SUCCESS"]
        where = f" at step '{failed[0]}'" if failed else ""
        w(f"PIPELINE FAILED{where} - no deployment.\n")
    if run.error:
        kind, message = run.error
        w(f"  reason ({kind}): {message}\n")
    controls = [c for c in decision.get(C.CONTROLS, []) or [] if isinstance(c, dict)]
    width = max((len(str(c.get("id", "?"))) for c in controls), default=0)
    for control in controls:
        mark = "pass" if control.get("passed") is True else "FAIL"
        if mark == "pass" and control.get("waived") is True:
            mark = "WAIVED"
        w(
            f"  [{mark}] {str(control.get('id', '?')):<{width}} "
            f"{_short(control.get('measured'))} (needs {_short(control.get('threshold'))}): "
            f"{control.get('description', '')}\n"
        )
    w(_floor_line(decision))
    w(_rederivation_line(decision))
    if run.statuses.get("deploy") == "SUCCESS":
        w(
            "DEPLOY: dry run (a local run never touches a cluster); manifest written "
            "(the verified predictor re-checks signature, attestation and approval).\n"
            if _predictor(run) == C.PREDICTOR_VERIFIED
            else "DEPLOY: dry run (a local run never touches a cluster); manifest written.\n"
        )
    elif run.statuses:
        w("DEPLOY: did not run.\n")
    w(f"\nRun folder: {run.run_dir}  ({run.seconds:.1f} s)\n")
    if run.keys_generated:
        w(f"  throwaway keys: {run.run_dir / 'throwaway-keys'}\n")
    for label, path in run.reports.items():
        w(f"  {label}: {path}\n")
    w(f"  full task log: {run.log_path}\n")


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _floor_line(decision: dict[str, Any]) -> str:
    floor = decision.get("floor")
    if not isinstance(floor, dict):
        return "  policy floor: not loaded\n" if decision else ""
    return (
        f"  policy floor: {floor.get('name')} v{floor.get('version')} "
        f"({floor.get('environment')}, from {floor.get('source')})\n"
    )


def _rederivation_line(decision: dict[str, Any]) -> str:
    record = decision.get("rederivation")
    if not isinstance(record, dict):
        return ""
    try:
        return (
            f"  re-derived by the gate: clean {record['clean_accuracy']:.4f} on "
            f"{record['split_size']} points; {record['sampled']} of {record['claimed_robust']} "
            f"robust claims re-attacked, {record['unreproduced']} disproved (a "
            f"{record['inflation']:.0%} inflation is caught with "
            f"p={record['detection_probability']:.3f})\n"
        )
    except (KeyError, TypeError, ValueError):
        return ""


def _predictor(run: LocalRun) -> str | None:
    manifest = run.reports.get("InferenceService manifest")
    try:
        text = manifest.read_text() if manifest is not None else ""
    except OSError:
        return None
    return C.PREDICTOR_VERIFIED if "--approval" in text else C.PREDICTOR_KSERVE
