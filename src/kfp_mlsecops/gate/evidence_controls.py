"""Gate controls that re-derive the evidence instead of believing it.

- ``model_layout``: the model folder is exactly the servable layout (served = tested = signed).
- ``evidence.data``: the test split the gate reads is the one validate-data produced (its digest
  equals validate-data's output) and the one the results were computed on.
- ``policy_floor``: the policy floor loaded, and what was evaluated meets it (tier, attack
  budgets, sample count, the gated epsilon evaluated).
- ``evidence.clean``: the gate's own per-sample clean outcomes match the claimed ones.
- ``evidence.robust``: no claimed-robust point is disproved (clean-wrong, or broken again by the
  gate's re-run of the declared attacks) beyond the floor's tolerance.

Like every gate control these never raise: a check that cannot run fails with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.gate.controls import ControlResult, Value, evaluate
from kfp_mlsecops.gate.rederive import Rederivation
from kfp_mlsecops.policy import PolicyFloor

__all__ = [
    "evidence_clean_control",
    "evidence_data_control",
    "evidence_robust_control",
    "model_layout_control",
    "policy_floor_control",
]


def model_layout_control(model_dir: str | os.PathLike[str]) -> ControlResult:
    """Pass when the model folder holds exactly one servable SavedModel and nothing else."""
    from kfp_mlsecops.servable import check_layout

    def check() -> tuple[Value, bool, str]:
        check_layout(model_dir)
        return C.SAVEDMODEL_VERSION_DIR + "/", True, "one SavedModel '1/' and data files only"

    return evaluate(
        C.CONTROL_MODEL_LAYOUT,
        "served = tested = signed: the model folder holds one SavedModel and nothing a runtime "
        "could load instead",
        "servable layout",
        check,
    )


def evidence_data_control(
    *,
    split_digest: Callable[[], str],
    expected: str,
    results: Callable[[], Any],
    split_range: Callable[[], tuple[float, float]],
) -> ControlResult:
    """Pass when validate-data's digest, the split read here and the results' split all agree."""

    def check() -> tuple[Value, bool, str]:
        actual = split_digest()
        if actual != expected:
            return (
                actual,
                False,
                f"the test split read here has digest {actual}, not validate-data's {expected} "
                "(the split was replaced in the artifact store)",
            )
        doc = results()
        if doc.test_data_digest != actual:
            return (
                doc.test_data_digest,
                False,
                f"the results were computed on split {doc.test_data_digest}, not on {actual}",
            )
        lower, upper = split_range()
        if tuple(doc.input_range) != (lower, upper):
            return (
                str(doc.input_range),
                False,
                f"the results claim input range {doc.input_range}, the split has "
                f"[{lower:g}, {upper:g}]",
            )
        return actual, True, "validate-data's split, the split read here and the results agree"

    return evaluate(
        C.CONTROL_EVIDENCE_DATA,
        "the evaluation data is validate-data's test split, bound by digest",
        expected,
        check,
    )


def policy_floor_control(
    *,
    floor: Callable[[], PolicyFloor],
    violations: Callable[[], Sequence[str]],
    notes: Callable[[], Sequence[str]],
) -> ControlResult:
    """Pass when the floor loaded and the evaluation meets it; notes say what was tightened."""

    def check() -> tuple[Value, bool, str]:
        loaded = floor()
        found = list(violations())
        if found:
            return loaded.digest, False, "; ".join(found)
        said = list(notes())
        detail = f"{loaded.label} ({loaded.environment}) met"
        return loaded.digest, True, detail + (": " + "; ".join(said) if said else "")

    return evaluate(
        C.CONTROL_POLICY_FLOOR,
        "the organisation's policy floor holds: run parameters only tighten it",
        "policy floor",
        check,
    )


def evidence_clean_control(rederivation: Callable[[], Rederivation]) -> ControlResult:
    """Pass when the gate's own per-sample clean outcomes match every claimed one."""

    def check() -> tuple[Value, bool, str]:
        found = rederivation()
        wrong = len(found.clean_mismatches)
        detail = (
            f"gate clean accuracy {found.clean_accuracy:.4f} on all {found.split_size} test "
            f"points (claimed {found.claimed_clean_accuracy:.4f}); {wrong} claimed clean "
            "outcome(s) differ"
        )
        if found.unreproduced > found.max_unreproduced and wrong:
            return float(wrong), False, detail + f" (e.g. ids {list(found.clean_mismatches[:5])})"
        return float(wrong), True, detail

    return evaluate(
        C.CONTROL_EVIDENCE_CLEAN,
        "evidence re-derived: the gate's clean predictions match the claimed ones",
        "at most the floor's max_unreproduced",
        check,
    )


def evidence_robust_control(rederivation: Callable[[], Rederivation]) -> ControlResult:
    """Pass when no more than the tolerated number of robust claims is disproved."""

    def check() -> tuple[Value, bool, str]:
        found = rederivation()
        disproved = found.disproved_robust
        detail = (
            f"{len(disproved)} of {found.claimed_robust} claimed-robust point(s) disproved "
            f"({len(found.robust_but_clean_wrong)} clean-wrong, {len(found.broken_again)} of "
            f"{len(found.sampled)} re-attacked broken again at eps<={found.robust_epsilon:g}, "
            f"gate seed {found.gate_seed}); catches a {found.inflation:.0%} inflation with "
            f"p={found.detection_probability:.4f}"
        )
        if found.unreproduced > found.max_unreproduced:
            return (
                float(found.unreproduced),
                False,
                f"{detail}; the robustness results are forged or not reproducible "
                f"(e.g. ids {list(disproved[:5])}); rerun attack-test",
            )
        return float(found.unreproduced), True, detail

    return evaluate(
        C.CONTROL_EVIDENCE_ROBUST,
        "evidence re-derived: re-attacking sampled robust claims reproduces them",
        "at most the floor's max_unreproduced",
        check,
    )
