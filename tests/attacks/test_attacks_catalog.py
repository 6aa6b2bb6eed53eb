"""attack_catalog: one spec per attack; registering one makes it selectable everywhere by name.

The toy attack below is a whole new attack: its class (here, in the test) and one
``register_attack`` call. Nothing else is edited, yet tiers, ``build_attack``, the constants, the
policy's budget table and an evaluation all know it; unregistered, it is unknown again.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import attack_catalog
from kfp_mlsecops import constants as C
from kfp_mlsecops.attack_catalog import AttackSpec
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.tiers import DEFAULT_PARAMS, attack_class, build_attack, tier_attacks
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import BUDGET_PARAMS

BUILTINS = ("fgsm", "pgd", "pgd_l2", "apgd_ce", "apgd_t", "square")


class Toy(Attack):
    """Moves every input by ``-step * eps``: an L-inf attack in a dozen lines."""

    name = "toy"

    def __init__(self, *, step: float = 1.0, n_tries: int = 1, seed: int = 0) -> None:
        self.step, self.n_tries, self.seed = step, n_tries, seed

    def params(self) -> dict[str, Any]:
        return {"step": self.step, "n_tries": self.n_tries, "seed": self.seed}

    def run_batch(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: np.ndarray,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        shape = (-1,) + (1,) * (inputs.ndim - 1)
        return inputs - self.step * epsilons.reshape(shape)


TOY = AttackSpec(
    name="toy", module=__name__, class_name="Toy", params={"step": 0.5}, budget_params=("n_tries",)
)


@pytest.fixture
def toy() -> Iterator[AttackSpec]:
    attack_catalog.register_attack(TOY)
    yield TOY
    attack_catalog._ATTACKS.discard(TOY.name)


@pytest.mark.slow
def test_the_builtin_catalog_gives_the_same_names_tiers_defaults_and_budgets() -> None:
    assert C.ATTACK_NAMES == BUILTINS == tuple(DEFAULT_PARAMS) == tuple(BUDGET_PARAMS)
    assert C.TIER_ATTACKS == {"fast": ("fgsm", "pgd"), "reliable": ("apgd_ce", "apgd_t", "square")}
    assert {name: dict(params) for name, params in DEFAULT_PARAMS.items()} == {
        "fgsm": {},
        "pgd": {"norm": "linf"},
        "pgd_l2": {"norm": "l2"},
        "apgd_ce": {"loss": "ce", "n_iter": 100},
        "apgd_t": {"n_iter": 30, "n_targets": 9},
        "square": {},
    }
    built = {n: build_attack(n, seed=3, pgd_steps=7, input_shape=(8, 8, 1)) for n in BUILTINS}
    assert "seed" not in built["fgsm"].params()
    assert all(built[n].params()["seed"] == 3 for n in BUILTINS[1:])
    assert built["pgd"].params()["steps"] == built["pgd_l2"].params()["steps"] == 7
    assert built["apgd_ce"].params()["n_iter"] == 100 and built["apgd_t"].params()["n_iter"] == 30
    assert built["square"].params()["n_queries"] == 1024
    assert [built[n].name for n in BUILTINS] == list(BUILTINS)


def test_catalog_constants_and_policy_import_no_attack_and_no_tensorflow() -> None:
    heavy = ("tensorflow", "keras", "kfp", "kfp_mlsecops.attacks")
    code = (
        "import sys, kfp_mlsecops.attack_catalog, kfp_mlsecops.constants as C, "
        "kfp_mlsecops.policy as P; C.ATTACK_NAMES, C.TIER_ATTACKS, dict(P.BUDGET_PARAMS); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["[]"]


def test_a_registered_attack_is_selectable_by_name(toy: AttackSpec) -> None:
    assert C.ATTACK_NAMES == (*BUILTINS, "toy")
    assert tier_attacks("fast", ["toy", "pgd"]) == ["toy", "pgd"]
    assert tier_attacks("fast") == ["fgsm", "pgd"]  # no tier: not run unless asked for
    assert attack_class("toy") is Toy
    attack = build_attack("toy", seed=5, pgd_steps=3, input_shape=(8, 8, 1))
    assert isinstance(attack, Toy) and attack.params() == {"step": 0.5, "n_tries": 1, "seed": 5}
    assert build_attack("toy", overrides={"n_tries": 4}).params()["n_tries"] == 4
    with pytest.raises(InvalidInputError, match="keyword arguments of Toy"):
        build_attack("toy", overrides={"steps": 4})
    assert DEFAULT_PARAMS["toy"] == {"step": 0.5}
    assert BUDGET_PARAMS["toy"] == ("n_tries",)


def test_a_registered_attack_can_join_a_tier() -> None:
    spec = AttackSpec(name="toy_fast", module=__name__, class_name="Toy", tier=C.TIER_FAST)
    attack_catalog.register_attack(spec)
    try:
        assert tier_attacks("fast") == ["fgsm", "pgd", "toy_fast"]
        assert C.TIER_ATTACKS["reliable"] == ("apgd_ce", "apgd_t", "square")
        with pytest.raises(InvalidInputError, match="turn it into 'toy'"):
            build_attack("toy_fast")  # the class reports its own name, "toy"
    finally:
        attack_catalog._ATTACKS.discard(spec.name)
    assert tier_attacks("fast") == ["fgsm", "pgd"]


@pytest.mark.slow
def test_a_registered_attack_runs_in_an_evaluation(toy: AttackSpec) -> None:
    import keras

    from kfp_mlsecops.attacks import evaluate_arrays

    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    x = np.random.default_rng(0).uniform(0.0, 1.0, (40, 4)).astype(np.float32)
    y = TFModel(network, bounds=(0.0, 1.0)).predict_labels(x)  # every sample starts correct
    results = evaluate_arrays(
        model=network, x=x, y=y, lower=0.0, upper=1.0, epsilons=[0.1, 0.3], attacks=["toy"]
    )
    assert {r[C.ATTACK] for r in results[C.ATTACKS]} == {"toy"}
    assert results[C.ATTACKS][0][C.PARAMS] == {"step": 0.5, "n_tries": 1, "seed": 0}


def test_unknown_and_unregistered_names_raise() -> None:
    assert "toy" not in C.ATTACK_NAMES and "toy" not in BUDGET_PARAMS
    for bad in ("toy", "nope", 3):
        with pytest.raises(InvalidInputError, match="unknown; use one of"):
            attack_class(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="unknown; use one of"):
            build_attack(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="give distinct names"):
        tier_attacks("fast", ["toy"])


def test_bad_specs_and_registrations_are_refused(toy: AttackSpec) -> None:
    with pytest.raises(InvalidInputError, match="'toy' exists"):
        attack_catalog.register_attack(TOY)
    with pytest.raises(InvalidInputError, match="tier='slow'"):
        AttackSpec(name="x", module=__name__, class_name="Toy", tier="slow")
    with pytest.raises(InvalidInputError, match="name, module and class_name"):
        AttackSpec(name="", module=__name__, class_name="Toy")
    with pytest.raises(InvalidInputError, match="register a AttackSpec"):
        attack_catalog.register_attack({"name": "x"})  # type: ignore[arg-type]
    not_attack = AttackSpec(name="not_attack", module=__name__, class_name="TOY")
    attack_catalog.register_attack(not_attack)
    try:
        with pytest.raises(InvalidInputError, match="is not an Attack subclass"):
            build_attack("not_attack")
    finally:
        attack_catalog._ATTACKS.discard(not_attack.name)
