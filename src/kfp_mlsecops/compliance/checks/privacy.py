"""Privacy check: a membership-inference attack on the run's model gains no more than allowed.

Evidence: ``privacy.json`` (``constants.PRIVACY_RESULTS_FILE``), the document ``mlsecops
privacy`` writes (``mlsecops run`` writes it into the run folder), looked for in the run folder
and then in the task root. It must have been computed on this run's splits (the digests in
validate-data's manifest) and, when it names one, on this run's model folder. A missing or
malformed document, or one computed on other data, fails the control (never passes silently).
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
from kfp_mlsecops.privacy.results import MembershipResults

__all__ = ["FAMILY", "MAX_ADVANTAGE_PARAMETER"]

#: The profile parameter holding the largest membership advantage a control accepts.
MAX_ADVANTAGE_PARAMETER = "max_membership_advantage"


def _results_path(ctx: CheckContext) -> Path:
    candidates = dict.fromkeys(
        (ctx.run.run_dir / C.PRIVACY_RESULTS_FILE, ctx.run.task_root / C.PRIVACY_RESULTS_FILE)
    )
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        for path in candidates:
            ctx.note(path)
        raise FileNotFoundError(
            f"evidence '{next(iter(candidates))}' is missing; run 'mlsecops privacy --model "
            f"MODEL --train-data train.npz --test-data test.npz --out <run folder>/"
            f"{C.PRIVACY_RESULTS_FILE}' (mlsecops run writes it)"
        )
    ctx.note(found)
    return found


def _binding_problems(ctx: CheckContext, results: MembershipResults) -> list[str]:
    """Return why the results were not computed on this run's splits and model (empty: bound)."""
    manifest = read_json_object(ctx.evidence("validate-data/manifest"))
    splits = manifest.get("splits")
    problems = []
    for name, got in (("train", results.train_data_digest), ("test", results.test_data_digest)):
        entry = splits.get(name) if isinstance(splits, dict) else None
        want = entry.get("digest") if isinstance(entry, dict) else None
        if got != want:
            problems.append(f"{name} split {got} is not the run's {want}")
    if results.model_digest is not None:
        from kfp_mlsecops.signing import model_digest

        want = model_digest(ctx.evidence(*MODEL_DIR))
        if results.model_digest != want:
            problems.append(f"model {results.model_digest} is not the run's {want}")
    return problems


def membership_advantage(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when the membership advantage is above ``max_membership_advantage`` and significant.

    The advantage is a maximum over thresholds chosen on the same samples, so a model that leaks
    nothing still reaches the chance level (exceeded with probability 1% at that sample size):
    a value above the limit but at most that level is noise, not evidence, and passes with a
    finding that says so (a larger test split resolves smaller leaks).
    """
    limit = control.parameter(MAX_ADVANTAGE_PARAMETER)
    results = MembershipResults.read(_results_path(ctx))
    problems = _binding_problems(ctx, results)
    if problems:
        return Outcome.of(False, f"privacy results are not this run's: {'; '.join(problems)}")
    chance = results.figures.chance_advantage
    findings = tuple(
        Finding(
            a.attack,
            not results.leaks(limit, a.advantage),
            f"advantage {a.advantage:.4f} (allowed {limit:g}, chance level {chance:.4f}), "
            f"AUC {a.auc:.4f}",
        )
        for a in results.figures.attacks
    )
    if results.leaks(limit):
        verdict = f"> {limit:g} allowed and above the chance level"
    elif results.advantage > limit:
        verdict = (
            f"above {limit:g} but not above the chance level {chance:.4f} at this sample size "
            "(not significant; evaluate on more samples to resolve it)"
        )
    else:
        verdict = f"<= {limit:g} allowed"
    return Outcome.of(not results.leaks(limit), f"{results.summary()}; {verdict}", findings)


FAMILY = CheckFamily(
    name="privacy",
    description="the membership-inference test (privacy.json in the run folder)",
    checks={"membership_advantage": membership_advantage},
)
