"""Threat-model check: a threat model document exists and has content."""

from __future__ import annotations

from pathlib import Path

from kfp_mlsecops.compliance.checks.base import CheckContext, CheckFamily, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]

_NAME = "THREAT_MODEL.md"


def model_present(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when ``--threat-model`` (default THREAT_MODEL.md in the run folder, then here) exists.

    Not run without ``--threat-model`` and without ``--run``.

    The file must hold at least one Markdown heading and some text under it.
    """
    if ctx.threat_model is not None:
        candidates = [ctx.threat_model]
    else:
        candidates = [ctx.run_folder().run_dir / _NAME, Path.cwd() / _NAME]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        for path in candidates:
            ctx.note(path)
        return Outcome.of(
            False,
            f"no threat model at {' or '.join(str(p) for p in candidates)}; "
            "write one or pass --threat-model FILE",
        )
    ctx.note(found)
    lines = [line.strip() for line in found.read_text(encoding="utf-8").splitlines()]
    headings = [line for line in lines if line.startswith("#")]
    text = [line for line in lines if line and not line.startswith("#")]
    if not headings or not text:
        return Outcome.of(False, f"threat model '{found}' has no heading or no text")
    return Outcome.of(True, f"'{found}': {len(headings)} section(s)")


FAMILY = CheckFamily(
    name="threat",
    description="the threat model document",
    checks={"model_present": model_present},
)
