"""A loss-threshold membership-inference attack (Yeom et al. 2018) and its figures; numpy only.

The attacker sees a candidate sample, its true label and the model's scores, and guesses that
the sample was in the training set when its cross-entropy loss is at most a threshold: a model
that memorised its training data has lower loss on members. Two scores are attacked:

- ``loss``: the per-sample cross-entropy loss itself;
- ``class_calibrated_loss``: the loss minus the median loss of the candidates of the same class
  (all candidates pooled, so no membership label is used): one threshold then acts as a
  per-class threshold, which helps when classes differ in difficulty.

Member and non-member sets are balanced first (the larger one is subsampled with a seeded
generator), so chance is 0.5 AUC and 0 advantage. For each attack: the membership advantage
(``max over thresholds of TPR - FPR``, Yeom et al.'s Adv), the AUC (ties count half) and the TPR
at low false-positive rates. A TPR at FPR ``a`` is reported only when at least one false
positive is allowed (``floor(a * n) >= 1``); with fewer non-members it is *unsupported* (None),
never a number read off an FPR of 0.

The advantage is a maximum over thresholds picked on the evaluation data, so even a model that
leaks nothing shows a positive value; :func:`chance_advantage` is the level such a model exceeds
with probability at most 1% (one-sided two-sample Kolmogorov-Smirnov, asymptotic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ATTACKS",
    "LOW_FPRS",
    "AttackMetrics",
    "LowFprPoint",
    "MembershipFigures",
    "attack_metrics",
    "balanced_indices",
    "chance_advantage",
    "class_calibrated",
    "cross_entropy",
    "membership_figures",
]

#: The attacks, by the name used in the results document, in report order.
ATTACKS = ("loss", "class_calibrated_loss")
#: False-positive rates at which the TPR is reported (Carlini et al. 2022: the low-FPR regime).
LOW_FPRS = (0.01, 0.001)
#: Chance level: probability that a leak-free model's advantage exceeds it (asymptotically).
CHANCE_ALPHA = 0.01
_MAX_SEED = 2**31
_EPS = 1e-9


@dataclass(frozen=True)
class LowFprPoint:
    """The TPR at a false-positive rate of at most ``fpr``, and how many samples support it.

    ``max_false_positives`` is ``floor(fpr * n_non_members)``; when it is 0 the rate cannot be
    measured on this many non-members: ``supported`` is False and ``tpr``/``true_positives``
    are None.
    """

    fpr: float
    max_false_positives: int
    supported: bool
    tpr: float | None
    true_positives: int | None


@dataclass(frozen=True)
class AttackMetrics:
    """What one threshold attack achieved on balanced member and non-member sets.

    ``threshold`` is the score at or below which a sample is called a member at the maximal
    advantage (None when no threshold beats guessing "non-member" for everyone).
    """

    attack: str
    advantage: float
    threshold: float | None
    auc: float
    low_fpr: tuple[LowFprPoint, ...]


@dataclass(frozen=True)
class MembershipFigures:
    """Every attack's figures on the balanced sets, and how those sets were drawn."""

    seed: int
    n_members: int
    n_non_members: int
    available_members: int
    available_non_members: int
    attacks: tuple[AttackMetrics, ...]

    @property
    def advantage(self) -> float:
        """The highest advantage over the attacks (the attacker picks the best)."""
        return max(a.advantage for a in self.attacks)

    @property
    def chance_advantage(self) -> float:
        """The advantage a leak-free model exceeds with probability at most 1% at this size."""
        return chance_advantage(self.n_non_members)


def cross_entropy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return the per-sample cross-entropy loss (float64) of ``scores`` for ``labels``.

    ``scores`` (N, classes) are logits or log-probabilities (what
    :meth:`kfp_mlsecops.attacks.model.TFModel.scores` returns); the loss is
    ``logsumexp(scores) - scores[label]``, which is ``-log p(label)`` for both.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 2 or y.ndim != 1 or len(s) != len(y):
        raise InvalidInputError(
            f"scores {s.shape} and labels {y.shape}: need (N, classes) scores and N labels"
        )
    if not np.isfinite(s).all():
        raise InvalidInputError("model scores hold NaN or infinity; the model is unusable")
    if len(y) and (y.min() < 0 or y.max() >= s.shape[1]):
        raise InvalidInputError(f"labels must lie in 0..{s.shape[1] - 1} (the model's classes)")
    top = s.max(axis=1)
    logsumexp = top + np.log(np.exp(s - top[:, None]).sum(axis=1))
    loss = logsumexp - s[np.arange(len(y)), y.astype(np.int64)]
    return np.maximum(loss, 0.0)


def class_calibrated(losses: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return ``losses`` minus the median loss of the same class over all given candidates."""
    loss = np.asarray(losses, dtype=np.float64)
    y = np.asarray(labels)
    out = np.empty_like(loss)
    for label in np.unique(y):
        mask = y == label
        out[mask] = loss[mask] - np.median(loss[mask])
    return out


def balanced_indices(
    n_members: int, n_non_members: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted row indices of equally many members and non-members.

    The smaller set is kept whole; ``min(n_members, n_non_members)`` rows of the larger are
    drawn without replacement with ``np.random.default_rng(seed)``.
    """
    for what, value in (("members", n_members), ("non-members", n_non_members)):
        if value < 1:
            raise InvalidInputError(f"{what}: no samples; pass a non-empty split")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < _MAX_SEED:
        raise InvalidInputError(f"seed={seed!r}: must be an integer in [0, {_MAX_SEED})")
    n = min(n_members, n_non_members)
    rng = np.random.default_rng(seed)

    def draw(size: int) -> np.ndarray:
        if size == n:
            return np.arange(size, dtype=np.int64)
        return np.sort(rng.choice(size, size=n, replace=False)).astype(np.int64)

    return draw(n_members), draw(n_non_members)


def chance_advantage(n: int, alpha: float = CHANCE_ALPHA) -> float:
    """Return the advantage two equal samples of ``n`` from one distribution exceed w.p. alpha.

    The one-sided two-sample Kolmogorov-Smirnov critical value ``sqrt(-ln(alpha) / 2) *
    sqrt(2 / n)`` (asymptotic): below it, a measured advantage is not evidence of a leak.
    """
    if n < 1:
        raise InvalidInputError(f"n={n}: need at least one sample per set")
    return math.sqrt(-math.log(alpha) / 2.0) * math.sqrt(2.0 / n)


def attack_metrics(
    attack: str,
    member_scores: np.ndarray,
    non_member_scores: np.ndarray,
    *,
    low_fprs: tuple[float, ...] = LOW_FPRS,
) -> AttackMetrics:
    """Return the figures of calling a sample a member when its score is at most a threshold.

    Every distinct score is tried as a threshold (plus "nobody is a member"); lower scores mean
    "member" (a loss).
    """
    members = np.sort(np.asarray(member_scores, dtype=np.float64))
    others = np.sort(np.asarray(non_member_scores, dtype=np.float64))
    if members.size == 0 or others.size == 0:
        raise InvalidInputError(f"{attack}: needs at least one member and one non-member score")
    if not (np.isfinite(members).all() and np.isfinite(others).all()):
        raise InvalidInputError(f"{attack}: scores hold NaN or infinity")
    thresholds = np.unique(np.concatenate([members, others]))
    tp = np.concatenate([[0], np.searchsorted(members, thresholds, side="right")])
    fp = np.concatenate([[0], np.searchsorted(others, thresholds, side="right")])
    gain = tp / members.size - fp / others.size
    best = int(np.argmax(gain))
    # AUC: P(member score < non-member score) + P(equal) / 2 (Mann-Whitney, ties half).
    below = np.searchsorted(others, members, side="left")
    at_or_below = np.searchsorted(others, members, side="right")
    greater = others.size - at_or_below
    ties = at_or_below - below
    auc = float((greater.sum() + 0.5 * ties.sum()) / (members.size * others.size))
    points = []
    for fpr in low_fprs:
        allowed = int(math.floor(fpr * others.size + _EPS))
        if allowed < 1:
            points.append(LowFprPoint(fpr, allowed, False, None, None))
            continue
        hits = int(tp[fp <= allowed].max())
        points.append(LowFprPoint(fpr, allowed, True, hits / members.size, hits))
    return AttackMetrics(
        attack=attack,
        advantage=max(float(gain[best]), 0.0),
        threshold=float(thresholds[best - 1]) if best > 0 else None,
        auc=auc,
        low_fpr=tuple(points),
    )


def membership_figures(
    *,
    member_losses: np.ndarray,
    member_labels: np.ndarray,
    non_member_losses: np.ndarray,
    non_member_labels: np.ndarray,
    seed: int,
) -> MembershipFigures:
    """Balance the sets with ``seed`` and run every attack in :data:`ATTACKS` on them.

    Args:
        member_losses: per-sample loss of each training (member) sample.
        member_labels: their labels (for the class calibration).
        non_member_losses: per-sample loss of each held-out (non-member) sample.
        non_member_labels: their labels.
        seed: the seed of the subsampling of the larger set.

    """
    m_loss, m_y = np.asarray(member_losses), np.asarray(member_labels)
    n_loss, n_y = np.asarray(non_member_losses), np.asarray(non_member_labels)
    if m_loss.shape != m_y.shape or n_loss.shape != n_y.shape or m_loss.ndim != 1:
        raise InvalidInputError("losses and labels must be 1-D and of equal length per set")
    m_idx, n_idx = balanced_indices(len(m_loss), len(n_loss), seed)
    m_loss, m_y, n_loss, n_y = m_loss[m_idx], m_y[m_idx], n_loss[n_idx], n_y[n_idx]
    calibrated = class_calibrated(np.concatenate([m_loss, n_loss]), np.concatenate([m_y, n_y]))
    k = len(m_loss)
    attacks = (
        attack_metrics(ATTACKS[0], m_loss, n_loss),
        attack_metrics(ATTACKS[1], calibrated[:k], calibrated[k:]),
    )
    return MembershipFigures(
        seed=seed,
        n_members=k,
        n_non_members=len(n_loss),
        available_members=len(member_losses),
        available_non_members=len(non_member_losses),
        attacks=attacks,
    )
