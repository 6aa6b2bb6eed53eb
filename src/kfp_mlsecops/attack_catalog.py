"""The attacks by name, as data: where each class lives, its defaults, budgets and tier.

One :class:`AttackSpec` per attack is the only place an attack is declared; everything per name
is derived from it: ``constants.ATTACK_NAMES`` and ``TIER_ATTACKS``,
``attacks.tiers.DEFAULT_PARAMS`` / ``attack_class`` / ``build_attack``, and
``policy.BUDGET_PARAMS``. Importing this module imports no attack and no TensorFlow (it lives
outside ``kfp_mlsecops.attacks`` so the policy package can read it): ``attacks.tiers`` imports a
class on first build.

Adding an attack: write one module with an :class:`~kfp_mlsecops.attacks.base.Attack` subclass
and add one :class:`AttackSpec` to ``_ATTACKS`` below (or call :func:`register_attack`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from kfp_mlsecops import constants as C
from kfp_mlsecops._registry import LazyRegistry
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "AttackSpec",
    "SpecView",
    "attack_names",
    "get_attack",
    "register_attack",
    "tier_table",
]

V = TypeVar("V")


@dataclass(frozen=True)
class AttackSpec:
    """One attack: its ``name`` and the class ``class_name`` in ``module``, built by name.

    ``params``: constructor defaults in an evaluation. ``budget_params``: the integer keyword
    arguments buying attack strength that a policy floor may set minimums for. ``tier``: the
    tier (``constants.TIERS``) whose default list includes it, in registration order, or None.
    ``takes_seed`` / ``takes_pgd_steps`` / ``takes_square_queries``: ``build_attack`` passes
    ``seed``, ``pgd_steps`` (as ``steps``) and the input-shaped query budget (as ``n_queries``).
    """

    name: str
    module: str
    class_name: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    budget_params: tuple[str, ...] = ()
    tier: str | None = None
    takes_seed: bool = True
    takes_pgd_steps: bool = False
    takes_square_queries: bool = False

    def __post_init__(self) -> None:
        """Freeze ``params`` and check the fields' types (InvalidInputError)."""
        texts = (self.name, self.module, self.class_name)
        if not all(isinstance(t, str) and t for t in texts):
            raise InvalidInputError(f"attack spec {texts!r}: name, module and class_name are text")
        if not isinstance(self.params, Mapping) or not all(isinstance(k, str) for k in self.params):
            raise InvalidInputError(f"attack {self.name!r}: params must map keyword names")
        budgets = self.budget_params
        if not isinstance(budgets, tuple) or not all(isinstance(p, str) for p in budgets):
            raise InvalidInputError(f"attack {self.name!r}: budget_params must be a tuple of names")
        if self.tier is not None and self.tier not in C.TIERS:
            raise InvalidInputError(
                f"attack {self.name!r}: tier={self.tier!r} must be one of {', '.join(C.TIERS)}"
            )
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


_ATTACKS: LazyRegistry[AttackSpec] = LazyRegistry("attack", AttackSpec, "ATTACK", {})
for _spec in (
    AttackSpec(
        name="fgsm",
        module="kfp_mlsecops.attacks.fgsm",
        class_name="FGSM",
        tier=C.TIER_FAST,
        takes_seed=False,
    ),
    AttackSpec(
        name="pgd",
        module="kfp_mlsecops.attacks.pgd",
        class_name="PGD",
        params={"norm": "linf"},
        budget_params=("steps", "restarts"),
        tier=C.TIER_FAST,
        takes_pgd_steps=True,
    ),
    AttackSpec(
        name="pgd_l2",
        module="kfp_mlsecops.attacks.pgd",
        class_name="PGD",
        params={"norm": "l2"},
        budget_params=("steps", "restarts"),
        takes_pgd_steps=True,
    ),
    # APGD-CE: 100 iterations, as in AutoAttack. APGD-T: the 9 highest other classes as targets,
    # as in AutoAttack, but 30 iterations per target instead of 100 (on the digits CNNs this stays
    # within one point of ART's AutoAttack at a third of the cost).
    AttackSpec(
        name="apgd_ce",
        module="kfp_mlsecops.attacks.apgd",
        class_name="APGD",
        params={"loss": "ce", "n_iter": 100},
        budget_params=("n_iter", "restarts"),
        tier=C.TIER_RELIABLE,
    ),
    AttackSpec(
        name="apgd_t",
        module="kfp_mlsecops.attacks.apgd",
        class_name="APGDT",
        params={"n_iter": 30, "n_targets": 9},
        budget_params=("n_iter", "n_targets"),
        tier=C.TIER_RELIABLE,
    ),
    # Square: the query budget follows the input size (attacks.tiers.square_queries).
    AttackSpec(
        name="square",
        module="kfp_mlsecops.attacks.square",
        class_name="Square",
        budget_params=("n_queries",),
        tier=C.TIER_RELIABLE,
        takes_square_queries=True,
    ),
):
    _ATTACKS.add(_spec.name, _spec)


def attack_names() -> tuple[str, ...]:
    """Return every attack name, built-ins first, in registration order."""
    return _ATTACKS.names()


def get_attack(name: object) -> AttackSpec:
    """Return the spec of attack ``name``; InvalidInputError if unknown."""
    return _ATTACKS.get(name)


def tier_table() -> dict[str, tuple[str, ...]]:
    """Return ``{tier: its attack names}`` for every tier in ``constants.TIERS``."""
    specs = [get_attack(name) for name in attack_names()]
    return {tier: tuple(s.name for s in specs if s.tier == tier) for tier in C.TIERS}


def register_attack(spec: AttackSpec) -> None:
    """Add an attack; its name must be new (InvalidInputError otherwise)."""
    _ATTACKS.add(getattr(spec, "name", ""), spec)


class SpecView(Mapping[str, V]):
    """A read-only ``{name: column(spec)}`` over every attack, current on each access."""

    def __init__(self, column: Callable[[AttackSpec], V]) -> None:
        self._column = column

    def __getitem__(self, name: str) -> V:
        """Return ``column`` of attack ``name`` (KeyError if unknown, as a mapping does)."""
        if not isinstance(name, str) or name not in attack_names():
            raise KeyError(name)
        return self._column(get_attack(name))

    def __iter__(self) -> Iterator[str]:
        """Iterate over the attack names in registration order."""
        return iter(attack_names())

    def __len__(self) -> int:
        """Return the number of attacks."""
        return len(attack_names())

    def __repr__(self) -> str:
        return repr(dict(self.items()))
