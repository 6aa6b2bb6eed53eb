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

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance.checks._run_results import binding_problems, results_path
from kfp_mlsecops.compliance.checks.base import (
    CheckContext,
    CheckFamily,
    Finding,
    Outcome,
)
from kfp_mlsecops.compliance.profile import Control
from kfp_mlsecops.explanations.results import ExplanationsResults

__all__ = ["FAMILY"]


def saliency_sanity(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when a gating method's maps stay alike after the model's weights are randomized."""
    limit = control.parameter("max_similarity")
    results = ExplanationsResults.read(
        results_path(
            ctx, C.EXPLANATIONS_RESULTS_FILE, "mlsecops explanations --model MODEL --data test.npz"
        )
    )
    problems = binding_problems(
        ctx, splits={"test": results.test_data_digest}, model_digest=results.model_digest
    )
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
