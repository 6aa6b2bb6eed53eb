"""Evidence an analysis writes into a run folder (privacy, poisoning, explanations results).

Such a document counts only for the run whose splits and model it was computed on: the split
digests must match validate-data's manifest and the model digest the run's model folder (a
document that names no model is not bound to this run and fails).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kfp_mlsecops._io import read_json_object
from kfp_mlsecops.compliance.checks.base import MODEL_DIR, CheckContext

__all__ = ["binding_problems", "results_path"]


def results_path(ctx: CheckContext, filename: str, make_it: str) -> Path:
    """Return ``filename`` in the run folder, else in the task root; FileNotFoundError if neither.

    ``make_it`` is the command line that writes it, quoted in the error.
    """
    run = ctx.run_folder()
    candidates = dict.fromkeys((run.run_dir / filename, run.task_root / filename))
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        for path in candidates:
            ctx.note(path)
        raise FileNotFoundError(
            f"evidence '{next(iter(candidates))}' is missing; run '{make_it} --out <run folder>/"
            f"{filename}' (mlsecops run writes it)"
        )
    ctx.note(found)
    return found


def binding_problems(
    ctx: CheckContext, *, splits: Mapping[str, str], model_digest: str | None
) -> list[str]:
    """Return why results were not computed on this run's ``splits`` and model (empty: bound)."""
    manifest = read_json_object(ctx.evidence("validate-data/manifest"))
    recorded = manifest.get("splits")
    problems = []
    for name, got in splits.items():
        entry = recorded.get(name) if isinstance(recorded, dict) else None
        want = entry.get("digest") if isinstance(entry, dict) else None
        if got != want:
            problems.append(f"{name} split {got} is not the run's {want}")
    if model_digest is None:
        problems.append("they name no model digest")
    else:
        from kfp_mlsecops.signing import model_digest as digest_of

        want = digest_of(ctx.evidence(*MODEL_DIR))
        if model_digest != want:
            problems.append(f"model {model_digest} is not the run's {want}")
    return problems
