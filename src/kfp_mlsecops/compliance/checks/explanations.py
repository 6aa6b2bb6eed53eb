"""Explanations check: the run's saliency maps pass the model-parameter randomization test.

Evidence: ``explanations.json`` (``constants.EXPLANATIONS_RESULTS_FILE``), the document
``mlsecops explanations`` writes (``mlsecops run`` writes it into the run folder), looked for in
the run folder and then in the task root. It must have been computed on this run's test split
(the digest in validate-data's manifest) and, when it names one, on this run's model folder. The
verdict is re-judged with the control's ``max_similarity`` (so a profile can tighten it). A
missing or malformed document, or one computed on other data, fails the control. The built-in
control has impact 0.0: informational (reported, never changes the exit code) until a profile
that ``extends: mlsvs`` raises it.
"""

from __future__ import annotations

from pathlib import Path

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import read_json_object
from kfp_mlsecops.compliance.checks.base import (
    MODEL_DIR,
    CheckContext,
    CheckFamily,
    Finding,
    Outcome,
)
from kfp_mlsecops.compliance.profile import Control
from kfp_mlsecops.explanations.results import ExplanationsResults

__all__ = ["FAMILY"]


def _results_path(ctx: CheckContext) -> Path:
    candidates = dict.fromkeys(
        (
            ctx.run.run_dir / C.EXPLANATIONS_RESULTS_FILE,
            ctx.run.task_root / C.EXPLANATIONS_RESULTS_FILE,
        )
    )
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        for path in candidates:
            ctx.note(path)
        raise FileNotFoundError(
            f"evidence '{next(iter(candidates))}' is missing; run 'mlsecops explanations --model "
            f"MODEL --data test.npz --out <run folder>/{C.EXPLANATIONS_RESULTS_FILE}' (mlsecops "
            "run writes it)"
        )
    ctx.note(found)
    return found


def _binding_problems(ctx: CheckContext, results: ExplanationsResults) -> list[str]:
    """Return why the results were not computed on this run's split and model (empty: bound)."""
    manifest = read_json_object(ctx.evidence("validate-data/manifest"))
    splits = manifest.get("splits")
    entry = splits.get("test") if isinstance(splits, dict) else None
    want = entry.get("digest") if isinstance(entry, dict) else None
    problems = []
    if results.test_data_digest != want:
        problems.append(f"test split {results.test_data_digest} is not the run's {want}")
    if results.model_digest is not None:
        from kfp_mlsecops.signing import model_digest

        model = model_digest(ctx.evidence(*MODEL_DIR))
        if results.model_digest != model:
            problems.append(f"model {results.model_digest} is not the run's {model}")
    return problems


def saliency_sanity(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when a gating method's maps stay alike after the model's weights are randomized."""
    limit = control.parameter("max_similarity")
    results = ExplanationsResults.read(_results_path(ctx))
    problems = _binding_problems(ctx, results)
    if problems:
        return Outcome.of(False, f"explanations results are not this run's: {'; '.join(problems)}")
    findings = tuple(
        Finding(
            m.name if m.gates else f"{m.name} (reported only)",
            m.passed(limit),
            f"similarity {m.similarity:.3f} with all {len(m.cascade)} layers randomized "
            f"({'below' if m.passed(limit) else 'not below'} {limit:g}); top layer only "
            f"{m.cascade[0].similarity:.3f}",
        )
        for m in results.methods
    )
    return Outcome.of(results.passed_under(limit), results.summary(limit), findings)


FAMILY = CheckFamily(
    name="explanations",
    description="the saliency sanity check (explanations.json in the run folder)",
    checks={"saliency_sanity": saliency_sanity},
)
