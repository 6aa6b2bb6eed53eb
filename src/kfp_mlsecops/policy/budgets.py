"""The attack budget parameters a policy floor may set a minimum for, per attack name.

Read from :mod:`kfp_mlsecops.attack_catalog` (data only), so the policy package never imports
the attacks (and, through them, TensorFlow): each entry is an integer keyword argument of the
attack's class that buys attack strength (iterations, restarts, targets, queries).
``tests/policy`` checks this table against the constructors, so a renamed or new budget parameter
fails there.
"""

from __future__ import annotations

from collections.abc import Mapping

from kfp_mlsecops.attack_catalog import SpecView

__all__ = ["BUDGET_PARAMS"]

#: Attack name (``constants.ATTACK_NAMES``) -> its budget parameters, in a fixed order; read-only,
#: current with every attack registered.
BUDGET_PARAMS: Mapping[str, tuple[str, ...]] = SpecView(lambda spec: spec.budget_params)
