"""The run summary: every control (masking ones included) and every report path, HTML first."""

from __future__ import annotations

import io
from pathlib import Path

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import _REPORTS, PIPELINE_TASKS, LocalRun
from kfp_mlsecops.cli.summary import print_run_summary


def _control(cid: str, passed: bool = True, **extra: object) -> dict[str, object]:
    return {"id": cid, "description": f"about {cid}", "measured": 0.0, "threshold": 0.1,
            "passed": passed, **extra}  # fmt: skip


def test_summary_lists_masking_controls_waivers_and_the_html_report(tmp_path: Path) -> None:
    controls = [_control(cid) for cid in C.REQUIRED_CONTROLS]
    controls[-1] = _control(C.REQUIRED_CONTROLS[-1], waived=True)
    html = tmp_path / "attack-test" / "html_report"
    run = LocalRun(
        run_dir=tmp_path,
        log_path=tmp_path / "pipeline.log",
        task_root=tmp_path,
        statuses=dict.fromkeys(PIPELINE_TASKS["secure-training"], "SUCCESS"),
        error=None,
        seconds=1.0,
        keys_generated=False,
        decision={C.DECISION: C.DECISION_APPROVED, C.BLESSED: True, C.CONTROLS: controls},
        reports={"robustness report (HTML)": html},
    )
    out = io.StringIO()
    print_run_summary(run, out)
    text = out.getvalue()
    assert "GATE DECISION: APPROVED" in text
    for cid in C.REQUIRED_CONTROLS:
        assert cid in text
    assert "[WAIVED] masking.degenerate_gradients" in text
    assert f"robustness report (HTML): {html}" in text
    assert _REPORTS["robustness report (HTML)"] == ("attack-test", "html_report")
