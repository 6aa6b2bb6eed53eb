"""Build attacks by name (:mod:`kfp_mlsecops.attack_catalog` declares them) and the tiers."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from kfp_mlsecops import attack_catalog
from kfp_mlsecops import constants as C
from kfp_mlsecops.attack_catalog import AttackSpec, SpecView
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["DEFAULT_PARAMS", "attack_class", "build_attack", "square_queries", "tier_attacks"]

#: Constructor defaults per attack name in an evaluation (``seed``, ``pgd_steps`` and Square's
#: query budget are added as the attack's spec says); read-only, from
#: :mod:`kfp_mlsecops.attack_catalog`, which explains each default. Square: see ``square_queries``.
DEFAULT_PARAMS: Mapping[str, Mapping[str, Any]] = SpecView(lambda spec: spec.params)
#: Square's query budget in an evaluation: 16 per input pixel, between these bounds (the paper
#: and AutoAttack use 5000 on 32x32 images; 8x8 digits get 1024).
SQUARE_QUERIES_PER_PIXEL = 16
SQUARE_QUERY_RANGE = (1000, 5000)


def _spec(name: object) -> AttackSpec:
    if not isinstance(name, str) or name not in C.ATTACK_NAMES:
        raise InvalidInputError(f"attack {name!r}: unknown; use one of {list(C.ATTACK_NAMES)}")
    return attack_catalog.get_attack(name)


def attack_class(name: str) -> type[Attack]:
    """Return the class that builds attack ``name``; InvalidInputError for an unknown name.

    The class is imported from the module its spec names on first use.
    """
    spec = _spec(name)
    factory = getattr(importlib.import_module(spec.module), spec.class_name, None)
    if not (isinstance(factory, type) and issubclass(factory, Attack)):
        raise InvalidInputError(
            f"attack {name!r}: {spec.module}.{spec.class_name} is not an Attack subclass; "
            "fix its attack_catalog entry"
        )
    return factory


def tier_attacks(tier: str, attacks: Sequence[str] | None = None) -> list[str]:
    """Return the attack names to run: ``attacks`` when given, else the tier's.

    Raises InvalidInputError for an unknown tier, unknown or repeated names, or an empty list.
    """
    if not isinstance(tier, str) or tier not in C.TIERS:
        raise InvalidInputError(f"tier={tier!r}: must be one of {', '.join(C.TIERS)}")
    if attacks is None:
        return list(C.TIER_ATTACKS[tier])
    names = [attacks] if isinstance(attacks, str) else list(attacks)
    unknown = [n for n in names if n not in C.ATTACK_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise InvalidInputError(
            f"attacks {names!r}: give distinct names from {list(C.ATTACK_NAMES)} (at least one)"
        )
    return names


def square_queries(input_shape: Sequence[int]) -> int:
    """Return Square's query budget for inputs of ``input_shape``: 16 per pixel, 1000..5000.

    Pixels are ``H * W`` for ``(H, W, C)`` or ``(H, W)`` inputs and ``F`` for ``(F,)``.
    """
    shape = tuple(input_shape)
    pixels = shape[0] * shape[1] if len(shape) >= 2 else (shape[0] if shape else 0)
    low, high = SQUARE_QUERY_RANGE
    return int(min(max(SQUARE_QUERIES_PER_PIXEL * pixels, low), high))


def build_attack(
    name: str,
    *,
    seed: int = 0,
    pgd_steps: int = 20,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] = (),
) -> Attack:
    """Construct attack ``name`` with the evaluation defaults, ``seed`` and ``overrides``.

    ``pgd_steps`` applies to ``pgd`` and ``pgd_l2``; ``input_shape`` (one sample) sets Square's
    query budget (:func:`square_queries`); which of them (and ``seed``) an attack takes is its
    spec's ``takes_*`` fields. Bad names or parameters raise InvalidInputError.
    """
    factory = attack_class(name)
    spec = attack_catalog.get_attack(name)
    params = dict(spec.params)
    if spec.takes_pgd_steps:
        params["steps"] = pgd_steps
    if spec.takes_seed:
        params["seed"] = seed
    if spec.takes_square_queries:
        params["n_queries"] = square_queries(input_shape)
    params.update(overrides or {})
    try:
        attack: Attack = factory(**params)
    except TypeError as e:
        raise InvalidInputError(
            f"attack_params for {name!r}: {e}; use the keyword arguments of {factory.__name__}"
        ) from e
    if attack.name != name:
        raise InvalidInputError(
            f"attack_params for {name!r} turn it into {attack.name!r}; request {attack.name!r}"
        )
    return attack
