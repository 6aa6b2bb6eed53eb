"""How many claimed-robust points the gate must re-attack to catch forged robustness.

A forger who raises robust accuracy by a fraction ``inflation`` of the ``n`` evaluated points
must claim at least ``m = ceil(inflation * n)`` points robust that the declared attack breaks.
The gate draws ``k`` of the ``R`` claimed-robust points uniformly without replacement and
re-attacks them; it blocks when more than ``t`` (``max_unreproduced``) claims fail. The number
of forged points among the draws is hypergeometric, so the probability of catching the forgery
is ``P[X > t]`` with ``X ~ Hypergeometric(R, m, k)``. :func:`sample_size` returns the smallest
``k`` reaching the wanted probability; :func:`detection_probability` the probability of a given
``k``. Both are exact (log-gamma binomials), assuming each forged point the gate re-attacks is
broken again, which holds because every attack's randomness is keyed per sample (see
:mod:`kfp_mlsecops.attacks`).
"""

from __future__ import annotations

import math

__all__ = ["detection_probability", "forged_points", "sample_size"]


def forged_points(n_evaluated: int, inflation: float) -> int:
    """Return ``m``: how many false claims raise robust accuracy by ``inflation`` of ``n``."""
    return max(1, math.ceil(inflation * n_evaluated - 1e-9))


def detection_probability(claimed: int, forged: int, draws: int, tolerance: int) -> float:
    """Return ``P[X > tolerance]`` for ``X ~ Hypergeometric(claimed, forged, draws)``."""
    forged = min(forged, claimed)
    draws = min(draws, claimed)
    missed = sum(
        _pmf(claimed, forged, draws, j) for j in range(0, min(tolerance, forged, draws) + 1)
    )
    return max(0.0, min(1.0, 1.0 - missed))


def sample_size(claimed: int, forged: int, probability: float, tolerance: int) -> int:
    """Return the smallest number of draws whose detection probability reaches ``probability``.

    Returns ``claimed`` (re-attack every claim) when no smaller sample reaches it, including
    when ``forged <= tolerance`` (a forgery that small is within the tolerance by design).
    """
    if claimed <= 0:
        return 0
    low, high = 0, claimed
    if detection_probability(claimed, forged, high, tolerance) < probability:
        return claimed
    while low < high:  # detection probability grows with the number of draws
        middle = (low + high) // 2
        if detection_probability(claimed, forged, middle, tolerance) >= probability:
            high = middle
        else:
            low = middle + 1
    return low


def _pmf(population: int, successes: int, draws: int, hits: int) -> float:
    if hits < 0 or hits > successes or hits > draws or draws - hits > population - successes:
        return 0.0
    log = (
        _log_comb(successes, hits)
        + _log_comb(population - successes, draws - hits)
        - _log_comb(population, draws)
    )
    return math.exp(log)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
