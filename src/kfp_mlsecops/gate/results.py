"""Strict reader of the robustness results JSON written by the attack-test step.

Every number must be a real int/float (never a bool or a string), finite, and an accuracy must
lie in [0, 1]. Unknown top-level keys are allowed (the producer may add fields); the keys the
gate reads are all required except ``model_digest`` and ``masking``, and ``invariants`` must name
every check in ``constants.ROBUSTNESS_INVARIANTS`` (otherwise the evaluation was incomplete). The
policy may ask for the pseudo-attack ``worst_case`` (per-sample worst case over every attack run).

``masking`` (the gradient-masking flags) is parsed as strictly when present: known ids only, each
once, ``flagged`` a JSON boolean. When it is absent, ``masking`` is None and every masking control
fails (fail closed) while the other controls still run.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.gate._json import is_number, one_line, read_json_object

#: Two epsilons closer than this are the same epsilon.
EPSILON_TOLERANCE = 1e-9
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_INVARIANTS = "invariants"
_MASKING = "masking"


@dataclass(frozen=True)
class AttackResult:
    """Robust accuracy of one attack at one epsilon."""

    attack: str
    norm: str
    epsilon: float
    robust_accuracy: float


@dataclass(frozen=True)
class MaskingFlag:
    """One gradient-masking diagnostic: whether it was raised and what was measured."""

    id: str
    flagged: bool
    measured: float | str | None
    threshold: float | str | None
    detail: str


@dataclass(frozen=True)
class RobustnessResults:
    """The parts of the robustness results the gate relies on."""

    clean_accuracy: float
    n_samples: int
    epsilons: tuple[float, ...]
    attacks: tuple[AttackResult, ...]
    worst_case: tuple[AttackResult, ...]
    model_digest: str | None
    masking: tuple[MaskingFlag, ...] | None = None

    def robust_accuracy(self, attack: str, epsilon: float) -> float:
        """Return robust accuracy for ``attack`` (or ``worst_case``) at ``epsilon``.

        Raises InvalidInputError when no entry, or more than one, matches.
        """
        rows = self.worst_case if attack == c.WORST_CASE else self.attacks
        hits = [
            r
            for r in rows
            if r.attack == attack
            and math.isclose(r.epsilon, epsilon, rel_tol=0.0, abs_tol=EPSILON_TOLERANCE)
        ]
        if not hits:
            have = ", ".join(sorted({f"{r.attack}@{r.epsilon:g}" for r in rows})) or "nothing"
            raise InvalidInputError(
                f"results have no '{attack}' at epsilon {epsilon:g} (have: {have}); run that "
                "attack or change the policy"
            )
        if len(hits) > 1:
            norms = ", ".join(sorted(r.norm for r in hits))
            raise InvalidInputError(
                f"results have {len(hits)} entries for '{attack}' at epsilon {epsilon:g} "
                f"(norms: {norms}); keep one per attack and epsilon"
            )
        return hits[0].robust_accuracy

    def masking_flag(self, flag_id: str) -> MaskingFlag:
        """Return the masking flag ``flag_id``; InvalidInputError when the results lack it."""
        if self.masking is None:
            raise InvalidInputError(
                "results carry no 'masking' diagnostics; rerun attack_test with this version"
            )
        for flag in self.masking:
            if flag.id == flag_id:
                return flag
        raise InvalidInputError(
            f"results have no masking flag '{flag_id}'; rerun attack_test with this version"
        )


def load_robustness_results(path: str | os.PathLike[str]) -> RobustnessResults:
    """Read and strictly validate a robustness results file; InvalidInputError when unusable."""
    return load_robustness_document(path)[0]


def load_robustness_document(
    path: str | os.PathLike[str],
) -> tuple[RobustnessResults, dict[str, Any]]:
    """Read the results file once; return the validated results and the raw JSON object.

    The gate compares the raw object with the attested results, so both come from the same read.
    """
    where = f"robustness results '{path}'"
    try:
        obj = read_json_object(path)
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where} do not exist; run the attack-test step first") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InvalidInputError(f"{where} are unreadable ({one_line(e)})") from e
    try:
        return _parse(obj), obj
    except ValueError as e:
        raise InvalidInputError(f"{where}: {one_line(e)}; fix the attack-test output") from e


def _parse(obj: dict[str, Any]) -> RobustnessResults:
    if obj.get(c.SCHEMA) != c.ROBUSTNESS_SCHEMA:
        raise ValueError(f"schema is {obj.get(c.SCHEMA)!r}, expected {c.ROBUSTNESS_SCHEMA!r}")
    clean = _accuracy(_require(obj, c.CLEAN_ACCURACY), c.CLEAN_ACCURACY)
    n_samples = _require(obj, c.N_SAMPLES)
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"{c.N_SAMPLES}={n_samples!r} must be an integer >= 1")
    epsilons = _require(obj, c.EPSILONS)
    if not isinstance(epsilons, list) or not epsilons:
        raise ValueError(f"{c.EPSILONS} must be a non-empty list")
    eps_values = tuple(_epsilon(e, f"{c.EPSILONS}[{i}]") for i, e in enumerate(epsilons))
    raw_attacks = _require(obj, c.ATTACKS)
    if not isinstance(raw_attacks, list) or not raw_attacks:
        raise ValueError(f"{c.ATTACKS} must be a non-empty list")
    attacks = tuple(_attack(a, i) for i, a in enumerate(raw_attacks))
    worst = _require(obj, c.WORST_CASE)
    if not isinstance(worst, list):
        raise ValueError(f"{c.WORST_CASE} must be a list")
    worst_case = tuple(_worst(w, i) for i, w in enumerate(worst))
    _check_invariants(_require(obj, _INVARIANTS))
    digest = obj.get(c.MODEL_DIGEST)
    if digest is not None and (not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest)):
        raise ValueError(f"{c.MODEL_DIGEST}={digest!r} is not 'sha256:<64 hex>'")
    masking = _masking(obj[_MASKING]) if _MASKING in obj else None
    return RobustnessResults(
        clean_accuracy=clean,
        n_samples=n_samples,
        epsilons=eps_values,
        attacks=attacks,
        worst_case=worst_case,
        model_digest=digest,
        masking=masking,
    )


def _require(obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise ValueError(f"missing key '{key}'")
    return obj[key]


def _number(value: object, what: str) -> float:
    if not is_number(value):
        raise ValueError(f"{what}={value!r} must be a finite number (not a string or bool)")
    return float(value)  # type: ignore[arg-type]


def _accuracy(value: object, what: str) -> float:
    number = _number(value, what)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{what}={value!r} must be in [0, 1]")
    return number


def _epsilon(value: object, what: str) -> float:
    number = _number(value, what)
    if number < 0:
        raise ValueError(f"{what}={value!r} must be >= 0")
    return number


def _attack(item: object, index: int) -> AttackResult:
    where = f"{c.ATTACKS}[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    attack, norm = _require(item, c.ATTACK), _require(item, c.NORM)
    if not isinstance(attack, str) or not attack:
        raise ValueError(f"{where}.{c.ATTACK}={attack!r} must be a non-empty string")
    if not isinstance(norm, str) or not norm:
        raise ValueError(f"{where}.{c.NORM}={norm!r} must be a non-empty string")
    if not isinstance(_require(item, c.PARAMS), dict):
        raise ValueError(f"{where}.{c.PARAMS} must be an object")
    return AttackResult(
        attack=attack,
        norm=norm,
        epsilon=_epsilon(_require(item, c.EPSILON), f"{where}.{c.EPSILON}"),
        robust_accuracy=_accuracy(
            _require(item, c.ROBUST_ACCURACY), f"{where}.{c.ROBUST_ACCURACY}"
        ),
    )


def _worst(item: object, index: int) -> AttackResult:
    where = f"{c.WORST_CASE}[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    return AttackResult(
        attack=c.WORST_CASE,
        norm="",
        epsilon=_epsilon(_require(item, c.EPSILON), f"{where}.{c.EPSILON}"),
        robust_accuracy=_accuracy(
            _require(item, c.ROBUST_ACCURACY), f"{where}.{c.ROBUST_ACCURACY}"
        ),
    )


def _check_invariants(items: object) -> None:
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
    ):
        raise ValueError(f"{_INVARIANTS} must be a list of objects with a 'name'")
    missing = sorted(set(c.ROBUSTNESS_INVARIANTS) - {i["name"] for i in items})
    if missing:
        raise ValueError(
            f"{_INVARIANTS} lack {', '.join(missing)}, so the evaluation was incomplete"
        )


def _masking(items: object) -> tuple[MaskingFlag, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{_MASKING} must be a list")
    flags: list[MaskingFlag] = []
    for index, item in enumerate(items):
        where = f"{_MASKING}[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        flag_id = _require(item, "id")
        if flag_id not in c.MASKING_FLAGS:
            raise ValueError(
                f"{where}.id={flag_id!r} is not a known flag ({', '.join(c.MASKING_FLAGS)})"
            )
        if any(flag.id == flag_id for flag in flags):
            raise ValueError(f"{where}.id={flag_id!r} appears twice")
        flagged = _require(item, "flagged")
        if not isinstance(flagged, bool):
            raise ValueError(f"{where}.flagged={flagged!r} must be true or false (a JSON boolean)")
        detail = _require(item, "detail")
        if not isinstance(detail, str):
            raise ValueError(f"{where}.detail must be a string")
        flags.append(
            MaskingFlag(
                id=flag_id,
                flagged=flagged,
                measured=_flag_value(_require(item, "measured"), f"{where}.measured"),
                threshold=_flag_value(_require(item, "threshold"), f"{where}.threshold"),
                detail=detail,
            )
        )
    return tuple(flags)


def _flag_value(value: object, what: str) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    return _number(value, what)
