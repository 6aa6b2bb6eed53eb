"""Re-derive the robustness evidence at gate time instead of believing the results file.

The attack-test step (or anyone who can write to the artifact store) could forge its results.
The gate therefore recomputes what it acts on from the signed model and the bound test split:

- **clean accuracy** on the full test split, with the servable model itself; every claimed
  per-sample clean outcome must match (the gate acts on its own number);
- **robust accuracy**: every point the results claim robust must be clean-correct by the gate's
  own prediction (checked for all points), and a random sample of the claimed-robust points,
  drawn with a seed chosen at gate time, is re-attacked with the declared attacks, parameters
  and seeds at every evaluated epsilon up to the gated one. Attack randomness is keyed per
  sample, so a genuine claim is reproduced exactly; a forged one is broken again.

A disproved claim is "unreproduced"; more than the floor's ``max_unreproduced`` blocks. The
sample size comes from :mod:`.sampling`: forged results that inflate robust accuracy by the
floor's ``inflation`` are caught with at least its ``detection_probability``. The robust
accuracy acted on is the claimed one minus every claim the gate disproved.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import Split
from kfp_mlsecops.gate.sampling import detection_probability, forged_points, sample_size
from kfp_mlsecops.policy import EvidenceFloor, Policy

__all__ = ["Rederivation", "rederive"]

_MAX_LISTED = 20


@dataclass(frozen=True)
class Rederivation:
    """What the gate recomputed and found (the decision and the approval carry ``to_dict``)."""

    gate_seed: int
    split_size: int
    n_evaluated: int
    clean_accuracy: float
    claimed_clean_accuracy: float
    clean_mismatches: tuple[int, ...]
    robust_attack: str
    robust_epsilon: float
    claimed_robust: int
    robust_but_clean_wrong: tuple[int, ...]
    sampled: tuple[int, ...]
    broken_again: tuple[int, ...]
    inflation: float
    detection_probability: float
    max_unreproduced: int
    seconds: float

    @property
    def unreproduced(self) -> int:
        """How many claims the gate disproved (clean outcomes and robust claims)."""
        return len(self.clean_mismatches) + len(self.disproved_robust)

    @property
    def disproved_robust(self) -> tuple[int, ...]:
        """Ids claimed robust that are not: clean-wrong, or broken again by the gate."""
        return tuple(sorted(set(self.robust_but_clean_wrong) | set(self.broken_again)))

    @property
    def robust_accuracy(self) -> float:
        """The robust accuracy the gate acts on: claims minus every disproved one, over n."""
        return (self.claimed_robust - len(self.disproved_robust)) / self.n_evaluated

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict (long id lists truncated).

        No timing is recorded, so equal inputs and seed give equal bytes.
        """
        return {
            "gate_seed": self.gate_seed,
            "split_size": self.split_size,
            "n_evaluated": self.n_evaluated,
            "clean_accuracy": self.clean_accuracy,
            "claimed_clean_accuracy": self.claimed_clean_accuracy,
            "clean_mismatches": _ids(self.clean_mismatches),
            "robust_attack": self.robust_attack,
            "robust_epsilon": self.robust_epsilon,
            "claimed_robust": self.claimed_robust,
            "robust_but_clean_wrong": _ids(self.robust_but_clean_wrong),
            "sampled": len(self.sampled),
            "broken_again": _ids(self.broken_again),
            "robust_accuracy": self.robust_accuracy,
            "unreproduced": self.unreproduced,
            "max_unreproduced": self.max_unreproduced,
            "inflation": self.inflation,
            "detection_probability": self.detection_probability,
        }


def rederive(
    *,
    model_dir: str | os.PathLike[str],
    split: Split,
    results: Any,
    policy: Policy,
    evidence: EvidenceFloor,
    seed: int | None = None,
    batch_size: int = 256,
) -> Rederivation:
    """Recompute clean accuracy and re-attack a sample of claimed-robust points.

    ``model_dir`` must already have passed the layout, signature and scan controls; ``split`` is
    the test split the results claim to be about (its digest already bound); ``results`` the
    typed robustness results; ``policy`` the effective policy (its ``robust_attack`` and
    ``robust_epsilon`` pick the claims to check); ``evidence`` the floor's settings. ``seed``
    (default: drawn now from ``secrets``) picks the sample; it is recorded so the re-derivation
    can be repeated. Raises MLSecOpsError when the model or results cannot be used.
    """
    from kfp_mlsecops.attacks.model import TFModel
    from kfp_mlsecops.attacks.reattack import reattack
    from kfp_mlsecops.servable import load_servable

    started = time.perf_counter()
    gate_seed = secrets.randbits(52) if seed is None else int(seed)  # exact in JSON
    model = TFModel(load_servable(model_dir), bounds=(split.lower, split.upper))
    clean_all = model.predict_labels(split.x, batch_size=batch_size) == split.y
    ids = np.asarray(results.sample_ids, dtype=np.int64)
    n = len(ids)
    clean_claimed = results.clean_bits()
    clean_gate = clean_all[ids]
    mismatched = ids[clean_claimed != clean_gate]

    attack, epsilon = policy.robust_attack, policy.robust_epsilon
    claimed = (
        results.worst_case_survived(epsilon)
        if attack == C.WORST_CASE
        else results.survived(attack, epsilon)
    )
    claimed_ids = ids[claimed]
    clean_wrong = claimed_ids[~clean_all[claimed_ids]]

    forged = forged_points(n, evidence.inflation)
    draws = sample_size(
        len(claimed_ids), forged, evidence.detection_probability, evidence.max_unreproduced
    )
    rng = np.random.default_rng(gate_seed)
    sampled = (
        np.sort(rng.choice(claimed_ids, size=draws, replace=False)) if draws else claimed_ids[:0]
    )
    names = list(results.attack_params()) if attack == C.WORST_CASE else [attack]
    params = {name: results.attack_params()[name] for name in names}
    grid = [e for e in results.epsilons if e <= epsilon + 1e-9]
    alive = np.ones(len(sampled), dtype=bool)
    for eps in grid:  # as the evaluation did: each epsilon attacks the survivors of the last
        todo = sampled[alive]
        if len(todo) == 0:
            break
        survived = reattack(
            model,
            split.x[todo],
            split.y[todo],
            sample_ids=todo,
            attacks=params,
            epsilon=eps,
            batch_size=batch_size,
        )
        kept = np.logical_and.reduce([survived[name] for name in names])
        alive[np.flatnonzero(alive)] = kept
    return Rederivation(
        gate_seed=gate_seed,
        split_size=len(split.y),
        n_evaluated=n,
        clean_accuracy=float(np.mean(clean_all)),
        claimed_clean_accuracy=float(results.clean_accuracy),
        clean_mismatches=tuple(int(i) for i in mismatched),
        robust_attack=attack,
        robust_epsilon=float(epsilon),
        claimed_robust=len(claimed_ids),
        robust_but_clean_wrong=tuple(int(i) for i in clean_wrong),
        sampled=tuple(int(i) for i in sampled),
        broken_again=tuple(int(i) for i in sampled[~alive]),
        inflation=evidence.inflation,
        detection_probability=detection_probability(
            len(claimed_ids), forged, draws, evidence.max_unreproduced
        ),
        max_unreproduced=evidence.max_unreproduced,
        seconds=time.perf_counter() - started,
    )


def _ids(values: tuple[int, ...]) -> list[int] | dict[str, Any]:
    if len(values) <= _MAX_LISTED:
        return list(values)
    return {"count": len(values), "first": list(values[:_MAX_LISTED])}
