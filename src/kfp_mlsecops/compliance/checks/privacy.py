"""Privacy check: a membership-inference attack on the run's model gains no more than allowed.

Evidence: ``privacy.json`` (``constants.PRIVACY_RESULTS_FILE``), the document ``mlsecops
privacy`` writes (``mlsecops run`` writes it into the run folder), looked for in the run folder
and then in the task root. It must have been computed on this run's splits (the digests in
validate-data's manifest) and, when it names one, on this run's model folder. A missing or
malformed document, or one computed on other data, fails the control (never passes silently).
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
from kfp_mlsecops.privacy.results import MembershipResults

__all__ = ["FAMILY", "MAX_ADVANTAGE_PARAMETER"]

#: The profile parameter holding the largest membership advantage a control accepts.
MAX_ADVANTAGE_PARAMETER = "max_membership_advantage"


def membership_advantage(ctx: CheckContext, control: Control) -> Outcome:
    """Fail when the membership advantage is above ``max_membership_advantage`` and significant.

    The advantage is a maximum over thresholds chosen on the same samples, so a model that leaks
    nothing still reaches the chance level (exceeded with probability 1% at that sample size):
    a value above the limit but at most that level is noise, not evidence, and passes with a
    finding that says so (a larger test split resolves smaller leaks).
    """
    limit = control.parameter(MAX_ADVANTAGE_PARAMETER)
    results = MembershipResults.read(
        results_path(
            ctx,
            C.PRIVACY_RESULTS_FILE,
            "mlsecops privacy --model MODEL --train-data train.npz --test-data test.npz",
        )
    )
    problems = binding_problems(
        ctx,
        splits={"train": results.train_data_digest, "test": results.test_data_digest},
        model_digest=results.model_digest,
    )
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
