"""Re-attack evaluated points exactly as the evaluation did (the gate's check of robust claims).

Every attack keys its randomness by ``(seed, sample id, restart/target/query index)``, so
re-running a declared attack on any subset of the evaluated rows, in any batch size, repeats each
row's attack: a point the results claim robust and the re-run breaks is a contradiction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kfp_mlsecops._io import is_number
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.attacks.base import Attack, check_batch, check_sample_ids
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.tiers import attack_class
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["attack_from_params", "reattack"]


def attack_from_params(name: str, params: Mapping[str, Any]) -> Attack:
    """Rebuild attack ``name`` exactly from the ``params`` a results document declares.

    Every parameter the attack reports must be given, with the very value and JSON type it
    reports back (``precision`` resolved, numbers not bools); unknown names, missing or extra
    keys and bad values raise InvalidInputError.
    """
    factory = attack_class(name)
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise InvalidInputError(f"params of '{name}' must be an object with string keys")
    try:
        attack: Attack = factory(**params)
    except TypeError as e:
        raise InvalidInputError(
            f"params of '{name}' are not {factory.__name__}'s keyword arguments ({e}); "
            "pass the params the results declare"
        ) from e
    rebuilt = attack.params()
    missing = sorted(set(rebuilt) - set(params))
    if missing:
        raise InvalidInputError(
            f"params of '{name}' lack {', '.join(missing)}; every parameter must be declared"
        )
    changed = sorted(k for k in rebuilt if not _same(rebuilt[k], params[k]))
    if changed:
        shown = ", ".join(f"{k}={params[k]!r} (becomes {rebuilt[k]!r})" for k in changed)
        raise InvalidInputError(
            f"params of '{name}' do not rebuild exactly: {shown}; declare the resolved values"
        )
    if attack.name != name:
        raise InvalidInputError(
            f"params of '{name}' build attack '{attack.name}'; declare them under that name"
        )
    return attack


def reattack(
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    *,
    sample_ids: np.ndarray,
    attacks: Mapping[str, Mapping[str, Any]],
    epsilon: float,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Return ``{attack: survived}``: per sample, whether it survived that attack at ``epsilon``.

    ``x``, ``y`` are the evaluated rows to re-attack (e.g. ``split.x[ids]``) and ``sample_ids``
    their row indices in the split, which key the attacks' randomness; ``attacks`` maps names to
    the declared params (:func:`attack_from_params`). Each adversarial is clipped to the ball and
    range and checked as in the evaluation; survived means ``model.predict_labels`` still gives
    ``y``. Raises InvalidInputError for bad arguments and AttackError for a broken invariant.
    """
    if not isinstance(model, TFModel):
        raise InvalidInputError(
            f"model is a {type(model).__name__}; wrap it in TFModel with the split's bounds"
        )
    if not attacks:
        raise InvalidInputError("no attacks to re-run; pass the results' attack params")
    if not is_number(epsilon) or epsilon < 0:
        raise InvalidInputError(f"epsilon={epsilon!r}: must be a finite number >= 0")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size={batch_size!r}: must be an integer >= 1")
    xs, ys = check_batch(model, x, y)
    ids = check_sample_ids(sample_ids, len(xs))
    rebuilt = {name: attack_from_params(name, params) for name, params in attacks.items()}
    return {
        name: sweep(
            attack, model, xs, ys, grid=[float(epsilon)], batch_size=batch_size, sample_ids=ids
        )[0]
        for name, attack in rebuilt.items()
    }


def _same(got: object, declared: object) -> bool:
    """Equal value and JSON type (so ``True`` never stands for ``1``, nor ``1`` for ``1.0``)."""
    if isinstance(got, dict) and isinstance(declared, dict):
        return got.keys() == declared.keys() and all(_same(got[k], declared[k]) for k in got)
    return type(got) is type(declared) and got == declared
