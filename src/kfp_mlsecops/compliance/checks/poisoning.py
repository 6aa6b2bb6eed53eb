"""Poisoning check: the scan of the run's training data through its model finds no backdoor.

Evidence: ``poisoning.json`` (``constants.POISONING_RESULTS_FILE``), the document ``mlsecops
poisoning`` writes (``mlsecops run`` writes it into the run folder), looked for in the run
folder and then in the task root. It must have been computed on this run's training split (the
digest in validate-data's manifest) and, when it names one, on this run's model folder. A
missing or malformed document, or one computed on other data, fails the control.
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
from kfp_mlsecops.poisoning.results import PoisoningResults

__all__ = ["FAMILY"]


def _results_path(ctx: CheckContext) -> Path:
    candidates = dict.fromkeys(
        (ctx.run.run_dir / C.POISONING_RESULTS_FILE, ctx.run.task_root / C.POISONING_RESULTS_FILE)
    )
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        for path in candidates:
            ctx.note(path)
        raise FileNotFoundError(
            f"evidence '{next(iter(candidates))}' is missing; run 'mlsecops poisoning --model "
            f"MODEL --data train.npz --out <run folder>/{C.POISONING_RESULTS_FILE}' (mlsecops run "
            "writes it)"
        )
    ctx.note(found)
    return found


def _binding_problems(ctx: CheckContext, results: PoisoningResults) -> list[str]:
    """Return why the results were not computed on this run's split and model (empty: bound)."""
    manifest = read_json_object(ctx.evidence("validate-data/manifest"))
    splits = manifest.get("splits")
    entry = splits.get("train") if isinstance(splits, dict) else None
    want = entry.get("digest") if isinstance(entry, dict) else None
    problems = []
    if results.train_data_digest != want:
        problems.append(f"train split {results.train_data_digest} is not the run's {want}")
    if results.model_digest is not None:
        from kfp_mlsecops.signing import model_digest

        model = model_digest(ctx.evidence(*MODEL_DIR))
        if results.model_digest != model:
            problems.append(f"model {results.model_digest} is not the run's {model}")
    return problems


def no_backdoor_cluster(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when a class holds a separated group of samples that look relabelled (a backdoor)."""
    results = PoisoningResults.read(_results_path(ctx))
    problems = _binding_problems(ctx, results)
    if problems:
        return Outcome.of(False, f"poisoning results are not this run's: {'; '.join(problems)}")
    findings = tuple(
        Finding(
            f"class {c.label}",
            not c.suspicious,
            (
                f"separation {c.separation:.2f}, label disagreement {c.label_disagreement:.2f}"
                + (f", {len(c.flagged)} of {c.n_samples} samples flagged" if c.suspicious else "")
            )
            if c.scored
            else f"not scored ({c.n_samples} samples)",
        )
        for c in results.classes
    )
    return Outcome.of(not results.suspicious, results.summary(), findings)


FAMILY = CheckFamily(
    name="poisoning",
    description="the backdoor scan of the training data (poisoning.json in the run folder)",
    checks={"no_backdoor_cluster": no_backdoor_cluster},
)
