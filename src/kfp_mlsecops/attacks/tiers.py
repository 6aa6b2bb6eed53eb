"""The attacks by name, their default hyper-parameters, and the two evaluation tiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks.apgd import APGD, APGDT
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.fgsm import FGSM
from kfp_mlsecops.attacks.pgd import PGD
from kfp_mlsecops.attacks.square import Square
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["DEFAULT_PARAMS", "attack_class", "build_attack", "square_queries", "tier_attacks"]

#: Constructor defaults per attack name in an evaluation (``seed`` and ``pgd_steps`` are added).
#: APGD-CE: 100 iterations, as in AutoAttack. APGD-T: the 9 highest other classes as targets, as
#: in AutoAttack, but 30 iterations per target instead of 100 (on the digits CNNs this stays within
#: one point of ART's AutoAttack at a third of the cost). Square: see ``square_queries``.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "fgsm": {},
    "pgd": {"norm": "linf"},
    "pgd_l2": {"norm": "l2"},
    "apgd_ce": {"loss": "ce", "n_iter": 100},
    "apgd_t": {"n_iter": 30, "n_targets": 9},
    "square": {},
}
#: Square's query budget in an evaluation: 16 per input pixel, between these bounds (the paper
#: and AutoAttack use 5000 on 32x32 images; 8x8 digits get 1024).
SQUARE_QUERIES_PER_PIXEL = 16
SQUARE_QUERY_RANGE = (1000, 5000)
_FACTORIES: dict[str, Any] = {
    "fgsm": FGSM,
    "pgd": PGD,
    "pgd_l2": PGD,
    "apgd_ce": APGD,
    "apgd_t": APGDT,
    "square": Square,
}


def attack_class(name: str) -> type[Attack]:
    """Return the class that builds attack ``name``; InvalidInputError for an unknown name."""
    if not isinstance(name, str) or name not in _FACTORIES:
        raise InvalidInputError(f"attack {name!r}: unknown; use one of {list(C.ATTACK_NAMES)}")
    factory: type[Attack] = _FACTORIES[name]
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
    query budget (:func:`square_queries`). Bad names or parameters raise InvalidInputError.
    """
    factory = attack_class(name)
    params = dict(DEFAULT_PARAMS[name])
    if name in ("pgd", "pgd_l2"):
        params["steps"] = pgd_steps
    if name != "fgsm":
        params["seed"] = seed
    if name == "square":
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
