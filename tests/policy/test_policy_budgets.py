"""policy.budgets: the budget table matches the attack constructors; the package stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

from kfp_mlsecops import constants as c
from kfp_mlsecops.attacks.apgd import APGD, APGDT
from kfp_mlsecops.attacks.fgsm import FGSM
from kfp_mlsecops.attacks.pgd import PGD
from kfp_mlsecops.attacks.square import Square
from kfp_mlsecops.policy import BUDGET_PARAMS

#: Attack name -> class, as kfp_mlsecops.attacks.tiers builds them (importing is TF-free).
CLASSES = {
    "fgsm": FGSM,
    "pgd": PGD,
    "pgd_l2": PGD,
    "apgd_ce": APGD,
    "apgd_t": APGDT,
    "square": Square,
}
#: Integer keyword arguments that are not about attack strength.
NOT_BUDGET = {"seed"}


def test_the_table_covers_every_attack_name():
    assert set(CLASSES) == set(c.ATTACK_NAMES) == set(BUDGET_PARAMS)


def test_budget_params_are_exactly_the_int_keyword_arguments_of_each_attack():
    for name, cls in CLASSES.items():
        parameters = inspect.signature(cls.__init__).parameters.values()
        ints = {
            p.name
            for p in parameters
            if p.kind is inspect.Parameter.KEYWORD_ONLY
            and p.annotation in ("int", int)
            and p.name not in NOT_BUDGET
        }
        assert set(BUDGET_PARAMS[name]) == ints, name
        for param in BUDGET_PARAMS[name]:
            default = inspect.signature(cls.__init__).parameters[param].default
            assert isinstance(default, int) and default >= 1, (name, param)


def test_the_policy_package_imports_neither_gate_attacks_tensorflow_nor_kfp():
    heavy = ("tensorflow", "kfp", "kfp_mlsecops.attacks", "kfp_mlsecops.gate")
    code = f"import sys, kfp_mlsecops.policy; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["[]"]
