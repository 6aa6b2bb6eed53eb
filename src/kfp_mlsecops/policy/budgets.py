"""The attack budget parameters a policy floor may set a minimum for, per attack name.

Kept as data so the policy package never imports the attacks (and, through them, TensorFlow):
each entry is an integer keyword argument of the attack's class that buys attack strength
(iterations, restarts, targets, queries). ``tests/policy`` checks this table against the
constructors, so a renamed or new budget parameter fails there.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["BUDGET_PARAMS"]

#: Attack name (``constants.ATTACK_NAMES``) -> its budget parameters, in a fixed order.
BUDGET_PARAMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fgsm": (),
        "pgd": ("steps", "restarts"),
        "pgd_l2": ("steps", "restarts"),
        "apgd_ce": ("n_iter", "restarts"),
        "apgd_t": ("n_iter", "n_targets"),
        "square": ("n_queries",),
    }
)
