"""Poisoning check: the scan of the run's training data through its model finds no backdoor.

Evidence: ``poisoning.json`` (``constants.POISONING_RESULTS_FILE``), the document ``mlsecops
poisoning`` writes (``mlsecops run`` writes it into the run folder), looked for in the run
folder and then in the task root. It must have been computed on this run's training split (the
digest in validate-data's manifest) and, when it names one, on this run's model folder. A
missing or malformed document, or one computed on other data, fails the control.
"""

from __future__ import annotations

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks._run_results import binding_problems, results_path
from kfp_mlsecops.compliance.checks.base import (
    CheckContext,
    CheckFamily,
    Finding,
    Outcome,
)
from kfp_mlsecops.compliance.profile import Control
from kfp_mlsecops.poisoning.results import PoisoningResults

__all__ = ["FAMILY"]


def no_backdoor_cluster(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when a class holds a separated group of samples that look relabelled (a backdoor)."""
    results = PoisoningResults.read(
        results_path(
            ctx, C.POISONING_RESULTS_FILE, "mlsecops poisoning --model MODEL --data train.npz"
        )
    )
    problems = binding_problems(
        ctx, splits={"train": results.train_data_digest}, model_digest=results.model_digest
    )
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
