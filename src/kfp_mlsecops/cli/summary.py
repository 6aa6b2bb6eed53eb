"""Print what a local run decided and where its reports are."""

from __future__ import annotations

from typing import TextIO

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
        w("GATE DECISION: APPROVED - the model is signed, verified and meets the policy.\n")
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
    if run.statuses.get("deploy") == "SUCCESS":
        w("DEPLOY: dry run (a local run never touches a cluster); manifest written.\n")
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
