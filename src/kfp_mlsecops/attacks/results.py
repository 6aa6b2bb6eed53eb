"""The robustness results document (``constants.ROBUSTNESS_SCHEMA``): its one reader and writer.

The attack-test step writes it through :meth:`RobustnessResults.write`; the gate reads it with
:func:`RobustnessResults.read`. Besides the figures (clean and robust accuracy per attack and
epsilon, the worst case, masking flags) it carries what the gate needs to re-derive them:

- ``test_data_digest``: the split digest (``data.manifest.split_digest``) of the test split;
- ``evaluation``: ``{"split_size", "max_samples", "seed"}``, from which :func:`evaluation_ids`
  recomputes which rows of the split were evaluated;
- ``samples``: per evaluated row (``ids``, ascending), whether it is classified correctly
  (``clean``) and whether it survived each attack at each epsilon (``survived``: one bit string
  per entry of ``epsilons``), bits packed with ``np.packbits(..., bitorder="little")`` and base64.

Reading is strict: no NaN/Infinity, no duplicate or unknown keys, numbers never bools or
strings, accuracies in [0, 1], every ``constants.ROBUSTNESS_INVARIANTS`` listed, every masking
flag once. The figures must be exactly what the bits say (``clean_accuracy`` is the share of
clean bits, each row's robust accuracy the share of its survived bits, the worst case the share
surviving every attack at that epsilon and every smaller one), survivors must be clean-correct
and must shrink as epsilon grows, and ``ids`` must be the rows ``evaluation`` selects. Every
failure raises InvalidInputError naming the field.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import digest as _digest
from kfp_mlsecops._fields import document as _document
from kfp_mlsecops._fields import integer as _integer
from kfp_mlsecops._fields import json_object as _object
from kfp_mlsecops._fields import nonempty_list as _list
from kfp_mlsecops._fields import number as _number
from kfp_mlsecops._fields import optional_digest as _optional_digest
from kfp_mlsecops._fields import rate as _accuracy
from kfp_mlsecops._fields import text as _text
from kfp_mlsecops._io import is_number
from kfp_mlsecops._results_file import ResultsDocument, ResultsFile
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "EPSILON_TOLERANCE",
    "AttackResult",
    "Evaluation",
    "Invariant",
    "MaskingFlag",
    "RobustnessResults",
    "evaluation_ids",
    "pack_bits",
    "unpack_bits",
]

#: Two epsilons closer than this are the same epsilon.
EPSILON_TOLERANCE = 1e-9
_NORMS = ("linf", "l2")
_MAX_SEED = 2**31
_KEYS = {
    C.SCHEMA,
    C.TIER,
    C.CLEAN_ACCURACY,
    C.N_SAMPLES,
    C.EPSILONS,
    "input_range",
    "model_output",
    C.ATTACKS,
    C.WORST_CASE,
    C.MASKING,
    "invariants",
    "wall_time_s",
    "attack_wall_time_s",
    C.TEST_DATA_DIGEST,
    C.EVALUATION,
    C.SAMPLES,
}
_OPTIONAL = {C.MODEL_DIGEST}


@dataclass(frozen=True)
class AttackResult:
    """Robust accuracy of one attack (or ``worst_case``) at one epsilon."""

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
class Invariant:
    """One runtime invariant the evaluation checked."""

    name: str
    description: str


@dataclass(frozen=True)
class Evaluation:
    """Which rows of the test split were evaluated: see :func:`evaluation_ids`."""

    split_size: int
    max_samples: int
    seed: int

    def ids(self) -> np.ndarray:
        """Return the evaluated row indices (ascending int64)."""
        return evaluation_ids(self.split_size, self.max_samples, self.seed)


def evaluation_ids(split_size: int, max_samples: int, seed: int) -> np.ndarray:
    """Return the sorted row indices an evaluation of ``max_samples`` rows with ``seed`` attacks.

    Every row when ``max_samples`` is 0 or at least ``split_size``; otherwise the first
    ``max_samples`` of ``np.random.default_rng(seed).permutation(split_size)``, sorted.
    """
    for label, value, low in (("split_size", split_size, 1), ("max_samples", max_samples, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{label}={value!r}: must be an integer >= {low}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < _MAX_SEED:
        raise InvalidInputError(f"seed={seed!r}: must be an integer in [0, {_MAX_SEED})")
    if max_samples == 0 or max_samples >= split_size:
        return np.arange(split_size, dtype=np.int64)
    chosen = np.random.default_rng(seed).permutation(split_size)[:max_samples]
    return np.sort(chosen).astype(np.int64)


def pack_bits(bits: np.ndarray) -> str:
    """Return a bool vector as base64 of ``np.packbits(bits, bitorder="little")``."""
    packed = np.packbits(np.asarray(bits, dtype=bool), bitorder="little")
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_bits(text: object, n: int, *, what: str = "bits") -> np.ndarray:
    """Return the ``n`` bools packed in ``text``; InvalidInputError unless it is exactly that.

    ``text`` must be canonical base64 of ``ceil(n / 8)`` bytes whose unused high bits are 0.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be a base64 string, not {type(text).__name__}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise InvalidInputError(f"{what} is not base64 ({e})") from e
    if len(raw) != (n + 7) // 8 or base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInputError(f"{what} holds {len(raw)} bytes; {n} samples need {(n + 7) // 8}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little").astype(bool)
    if bits[n:].any():
        raise InvalidInputError(f"{what} has padding bits set after sample {n}")
    return bits[:n]


@dataclass(frozen=True, eq=False)
class RobustnessResults(ResultsDocument):
    """The robustness results: per-sample outcomes, the figures they give, and the settings.

    The accuracies are computed from the bits, so a document written from this object is
    consistent by construction. ``clean_correct`` is a bool per evaluated sample (``sample_ids``
    order); ``outcomes[attack]`` a bool array shaped ``(len(epsilons), n)``: the sample survived
    that attack at that epsilon and every smaller one. Attacks keep their run order. Compare two
    results with :meth:`to_dict`.
    """

    _FILE = ResultsFile(
        name="robustness results",
        missing="run the attack-test step first",
        fix="fix the attack-test output",
    )

    tier: str
    epsilons: tuple[float, ...]
    input_range: tuple[float, float]
    model_output: str
    evaluation: Evaluation
    sample_ids: np.ndarray
    clean_correct: np.ndarray
    outcomes: Mapping[str, np.ndarray]
    norms: Mapping[str, str]
    params: Mapping[str, Mapping[str, Any]]
    masking: tuple[MaskingFlag, ...]
    invariants: tuple[Invariant, ...]
    test_data_digest: str
    model_digest: str | None = None
    wall_time_s: float = 0.0
    attack_wall_time_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Keep read-only copies of the arrays, so the results cannot change after creation."""
        freeze = object.__setattr__
        freeze(self, "sample_ids", _frozen(np.asarray(self.sample_ids, dtype=np.int64)))
        freeze(self, "clean_correct", _frozen(np.asarray(self.clean_correct, dtype=bool)))
        outcomes = {k: _frozen(np.asarray(v, dtype=bool)) for k, v in self.outcomes.items()}
        freeze(self, "outcomes", outcomes)
        freeze(self, "epsilons", tuple(float(e) for e in self.epsilons))

    # --- figures -------------------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        """How many samples were evaluated."""
        return len(self.sample_ids)

    @property
    def seed(self) -> int:
        """The evaluation seed (which rows were evaluated; the attacks' default seed)."""
        return self.evaluation.seed

    @property
    def clean_accuracy(self) -> float:
        """Share of evaluated samples classified correctly."""
        return _share(self.clean_correct)

    @property
    def attacks(self) -> tuple[AttackResult, ...]:
        """Robust accuracy per attack (in run order) and epsilon (ascending)."""
        return tuple(
            AttackResult(name, self.norms[name], eps, _share(bits[i]))
            for name, bits in self.outcomes.items()
            for i, eps in enumerate(self.epsilons)
        )

    @property
    def worst_case(self) -> tuple[AttackResult, ...]:
        """Per-sample worst case over every attack, per epsilon (``attack`` is ``worst_case``)."""
        worst = self._worst()
        return tuple(
            AttackResult(C.WORST_CASE, "", eps, _share(worst[i]))
            for i, eps in enumerate(self.epsilons)
        )

    def robust_accuracy(self, attack: str, epsilon: float) -> float:
        """Return robust accuracy for ``attack`` (or ``worst_case``) at ``epsilon``.

        Raises InvalidInputError when the results have no such attack or epsilon.
        """
        return _share(self.survived(attack, epsilon))

    # --- per-sample outcomes -------------------------------------------------------------------

    def clean_bits(self) -> np.ndarray:
        """Return per evaluated sample (``sample_ids`` order) whether it is classified right."""
        return self.clean_correct.copy()

    def survived(self, attack: str, epsilon: float) -> np.ndarray:
        """Return per sample whether it survived ``attack`` at ``epsilon`` (and every smaller).

        ``attack`` may be ``worst_case``; InvalidInputError for an unknown attack or epsilon.
        """
        index = self._epsilon_index(attack, epsilon)
        bits = self._worst() if attack == C.WORST_CASE else self.outcomes[attack]
        return np.array(bits[index])

    def worst_case_survived(self, epsilon: float) -> np.ndarray:
        """Return per sample whether it survived every attack at ``epsilon`` and every smaller."""
        return self.survived(C.WORST_CASE, epsilon)

    def attack_params(self) -> dict[str, dict[str, Any]]:
        """Return ``{attack name: constructor parameters}`` as declared, in run order."""
        return {name: dict(self.params[name]) for name in self.outcomes}

    def masking_flag(self, flag_id: str) -> MaskingFlag:
        """Return the masking flag ``flag_id``; InvalidInputError when the results lack it."""
        for flag in self.masking:
            if flag.id == flag_id:
                return flag
        raise InvalidInputError(
            f"results have no masking flag '{flag_id}'; rerun attack_test with this version"
        )

    # --- reading and writing -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document (``constants.ROBUSTNESS_SCHEMA``)."""
        doc: dict[str, Any] = {
            C.SCHEMA: C.ROBUSTNESS_SCHEMA,
            C.TIER: self.tier,
            C.CLEAN_ACCURACY: self.clean_accuracy,
            C.N_SAMPLES: self.n_samples,
            C.EPSILONS: list(self.epsilons),
            "input_range": {"lower": self.input_range[0], "upper": self.input_range[1]},
            "model_output": self.model_output,
            C.ATTACKS: [
                {
                    C.ATTACK: row.attack,
                    C.NORM: row.norm,
                    C.EPSILON: row.epsilon,
                    C.ROBUST_ACCURACY: row.robust_accuracy,
                    C.PARAMS: dict(self.params[row.attack]),
                }
                for row in self.attacks
            ],
            C.WORST_CASE: [
                {C.EPSILON: row.epsilon, C.ROBUST_ACCURACY: row.robust_accuracy}
                for row in self.worst_case
            ],
            C.MASKING: [
                {
                    "id": flag.id,
                    "flagged": flag.flagged,
                    "measured": flag.measured,
                    "threshold": flag.threshold,
                    "detail": flag.detail,
                }
                for flag in self.masking
            ],
            "invariants": [{"name": i.name, "description": i.description} for i in self.invariants],
            "wall_time_s": self.wall_time_s,
            "attack_wall_time_s": dict(self.attack_wall_time_s),
            C.TEST_DATA_DIGEST: self.test_data_digest,
            C.EVALUATION: {
                "split_size": self.evaluation.split_size,
                "max_samples": self.evaluation.max_samples,
                "seed": self.evaluation.seed,
            },
            C.SAMPLES: {
                "ids": [int(i) for i in self.sample_ids],
                "encoding": C.SAMPLES_ENCODING,
                "clean": pack_bits(self.clean_correct),
                "survived": {
                    name: [pack_bits(row) for row in bits] for name, bits in self.outcomes.items()
                },
            },
        }
        if self.model_digest is not None:
            doc[C.MODEL_DIGEST] = self.model_digest
        return doc

    @classmethod
    def _from_json(cls, doc: object) -> RobustnessResults:
        return _parse(doc)

    # --- helpers -------------------------------------------------------------------------------

    def _worst(self) -> np.ndarray:
        every = np.logical_and.reduce(list(self.outcomes.values()))
        return np.logical_and.accumulate(every, axis=0)

    def _epsilon_index(self, attack: str, epsilon: float) -> int:
        if attack != C.WORST_CASE and attack not in self.outcomes:
            have = ", ".join(self.outcomes) or "nothing"
            raise InvalidInputError(
                f"results have no attack '{attack}' (have: {have}); run it or change the policy"
            )
        hits = [
            i
            for i, eps in enumerate(self.epsilons)
            if is_number(epsilon)
            and math.isclose(eps, float(epsilon), rel_tol=0.0, abs_tol=EPSILON_TOLERANCE)
        ]
        if not hits:
            have = ", ".join(f"{eps:g}" for eps in self.epsilons)
            raise InvalidInputError(
                f"results have no epsilon {epsilon!r} for '{attack}' (have: {have}); evaluate "
                "that epsilon or change the policy"
            )
        return hits[0]


def _share(bits: np.ndarray) -> float:
    return int(np.count_nonzero(bits)) / len(bits)


# --- strict parsing ------------------------------------------------------------------------------


def _parse(doc: object) -> RobustnessResults:
    obj = _document(doc, C.ROBUSTNESS_SCHEMA, _KEYS, _OPTIONAL)
    tier = obj[C.TIER]
    if tier not in C.TIERS:
        raise ValueError(f"{C.TIER}={tier!r} must be one of {', '.join(C.TIERS)}")
    epsilons = tuple(
        _number(e, f"{C.EPSILONS}[{i}]", low=0.0)
        for i, e in enumerate(_list(obj[C.EPSILONS], C.EPSILONS))
    )
    if any(b <= a for a, b in zip(epsilons, epsilons[1:], strict=False)):
        raise ValueError(f"{C.EPSILONS} {list(epsilons)} must ascend strictly")
    bounds = _object(obj["input_range"], "input_range", {"lower", "upper"})
    lower = _number(bounds["lower"], "input_range.lower")
    upper = _number(bounds["upper"], "input_range.upper")
    if not lower < upper:
        raise ValueError(f"input_range [{lower:g}, {upper:g}] must have lower < upper")
    evaluation, ids = _evaluation(obj)
    n = len(ids)
    if _integer(obj[C.N_SAMPLES], C.N_SAMPLES, 1) != n:
        raise ValueError(f"{C.N_SAMPLES}={obj[C.N_SAMPLES]} but samples.ids lists {n} ids")
    samples = _object(obj[C.SAMPLES], C.SAMPLES, {"ids", "encoding", "clean", "survived"})
    if samples["encoding"] != C.SAMPLES_ENCODING:
        raise ValueError(
            f"samples.encoding={samples['encoding']!r}, expected {C.SAMPLES_ENCODING!r}"
        )
    clean = _bits(samples["clean"], n, "samples.clean")
    survived, norms, params = _attacks(obj, samples["survived"], epsilons, clean, n)
    results = RobustnessResults(
        tier=tier,
        epsilons=epsilons,
        input_range=(lower, upper),
        model_output=_text(obj["model_output"], "model_output"),
        evaluation=evaluation,
        sample_ids=_frozen(ids),
        clean_correct=clean,
        outcomes=survived,
        norms=norms,
        params=params,
        masking=_masking(obj[C.MASKING]),
        invariants=_invariants(obj["invariants"]),
        test_data_digest=_digest(obj[C.TEST_DATA_DIGEST], C.TEST_DATA_DIGEST),
        model_digest=_optional_digest(obj, C.MODEL_DIGEST),
        wall_time_s=_number(obj["wall_time_s"], "wall_time_s", low=0.0),
        attack_wall_time_s=_wall_times(obj["attack_wall_time_s"]),
    )
    _check_figures(obj, results)
    return results


def _evaluation(obj: dict[str, Any]) -> tuple[Evaluation, np.ndarray]:
    raw = _object(obj[C.EVALUATION], C.EVALUATION, {"split_size", "max_samples", "seed"})
    evaluation = Evaluation(
        split_size=_integer(raw["split_size"], "evaluation.split_size", 1),
        max_samples=_integer(raw["max_samples"], "evaluation.max_samples", 0),
        seed=_integer(raw["seed"], "evaluation.seed", 0, _MAX_SEED),
    )
    samples = obj[C.SAMPLES]
    listed = samples.get("ids") if isinstance(samples, dict) else None
    if not isinstance(listed, list) or not listed:
        raise ValueError("samples.ids must be a non-empty list of row indices")
    for i, value in enumerate(listed):
        _integer(value, f"samples.ids[{i}]", 0, evaluation.split_size)
    ids = np.asarray(listed, dtype=np.int64)
    if np.any(np.diff(ids) <= 0):
        raise ValueError("samples.ids must ascend strictly (each row once)")
    expected = evaluation.ids()
    if not np.array_equal(ids, expected):
        raise ValueError(
            f"samples.ids are not the {len(expected)} rows evaluation {raw} selects; "
            "the results do not cover the declared evaluation"
        )
    return evaluation, ids


def _attacks(
    obj: dict[str, Any],
    raw_survived: object,
    epsilons: tuple[float, ...],
    clean: np.ndarray,
    n: int,
) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, dict[str, Any]]]:
    rows = _list(obj[C.ATTACKS], C.ATTACKS)
    names: list[str] = []
    norms: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(rows):
        where = f"{C.ATTACKS}[{index}]"
        row = _object(item, where, {C.ATTACK, C.NORM, C.EPSILON, C.ROBUST_ACCURACY, C.PARAMS})
        name = row[C.ATTACK]
        if name not in C.ATTACK_NAMES:
            raise ValueError(f"{where}.{C.ATTACK}={name!r} is not one of {list(C.ATTACK_NAMES)}")
        norm = row[C.NORM]
        if norm not in _NORMS:
            raise ValueError(f"{where}.{C.NORM}={norm!r} must be one of {', '.join(_NORMS)}")
        if not isinstance(row[C.PARAMS], dict):
            raise ValueError(f"{where}.{C.PARAMS} must be a JSON object")
        if name not in norms:
            names.append(name)
            norms[name], params[name] = norm, row[C.PARAMS]
        elif (norms[name], params[name]) != (norm, row[C.PARAMS]):
            raise ValueError(f"{where}: norm or params of '{name}' differ from its first row")
        _number(row[C.EPSILON], f"{where}.{C.EPSILON}", low=0.0)
        _accuracy(row[C.ROBUST_ACCURACY], f"{where}.{C.ROBUST_ACCURACY}")
    expected = [(name, eps) for name in names for eps in epsilons]
    got = [(row[C.ATTACK], row[C.EPSILON]) for row in rows]
    if got != expected:
        raise ValueError(
            f"{C.ATTACKS} must hold one row per attack and epsilon, grouped by attack, epsilons "
            f"ascending as in {C.EPSILONS}; got {got}"
        )
    table = _object(raw_survived, "samples.survived", set(names))
    survived: dict[str, np.ndarray] = {}
    for name in names:
        where = f"samples.survived.{name}"
        strings = table[name]
        if not isinstance(strings, list) or len(strings) != len(epsilons):
            raise ValueError(f"{where} must list one bit string per epsilon ({len(epsilons)})")
        bits = np.stack([_bits(s, n, f"{where}[{i}]") for i, s in enumerate(strings)])
        if np.any(bits & ~clean):
            raise ValueError(f"{where} has survivors that samples.clean marks misclassified")
        if np.any(bits[1:] & ~bits[:-1]):
            raise ValueError(f"{where} has survivors at an epsilon that fell at a smaller one")
        if epsilons[0] == 0.0 and not np.array_equal(bits[0], clean):
            raise ValueError(f"{where} at epsilon 0 differs from samples.clean")
        survived[name] = _frozen(bits)
    return survived, norms, params


def _check_figures(obj: dict[str, Any], results: RobustnessResults) -> None:
    """Check that the numbers in the document are exactly those the bits give."""
    if obj[C.CLEAN_ACCURACY] != results.clean_accuracy or not is_number(obj[C.CLEAN_ACCURACY]):
        raise ValueError(
            f"{C.CLEAN_ACCURACY}={obj[C.CLEAN_ACCURACY]!r} but samples.clean gives "
            f"{results.clean_accuracy!r}"
        )
    for index, (row, want) in enumerate(zip(obj[C.ATTACKS], results.attacks, strict=True)):
        if row[C.ROBUST_ACCURACY] != want.robust_accuracy:
            raise ValueError(
                f"{C.ATTACKS}[{index}].{C.ROBUST_ACCURACY}={row[C.ROBUST_ACCURACY]!r} but "
                f"samples.survived.{want.attack} gives {want.robust_accuracy!r}"
            )
    worst = obj[C.WORST_CASE]
    if not isinstance(worst, list) or len(worst) != len(results.epsilons):
        raise ValueError(f"{C.WORST_CASE} must hold one row per epsilon ({len(results.epsilons)})")
    for index, (item, want) in enumerate(zip(worst, results.worst_case, strict=True)):
        where = f"{C.WORST_CASE}[{index}]"
        row = _object(item, where, {C.EPSILON, C.ROBUST_ACCURACY})
        _number(row[C.EPSILON], f"{where}.{C.EPSILON}", low=0.0)
        _accuracy(row[C.ROBUST_ACCURACY], f"{where}.{C.ROBUST_ACCURACY}")
        if row[C.EPSILON] != want.epsilon:
            raise ValueError(f"{where}.{C.EPSILON}={row[C.EPSILON]!r}, expected {want.epsilon!r}")
        if row[C.ROBUST_ACCURACY] != want.robust_accuracy:
            raise ValueError(
                f"{where}.{C.ROBUST_ACCURACY}={row[C.ROBUST_ACCURACY]!r} but the per-sample worst "
                f"case gives {want.robust_accuracy!r}"
            )


def _bits(text: object, n: int, what: str) -> np.ndarray:
    try:
        return _frozen(unpack_bits(text, n, what=what))
    except InvalidInputError as e:
        raise ValueError(str(e)) from e


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array


def _masking(items: object) -> tuple[MaskingFlag, ...]:
    flags: list[MaskingFlag] = []
    for index, item in enumerate(_list(items, C.MASKING)):
        where = f"{C.MASKING}[{index}]"
        raw = _object(item, where, {"id", "flagged", "measured", "threshold", "detail"})
        flag_id = raw["id"]
        if flag_id not in C.MASKING_FLAGS:
            raise ValueError(f"{where}.id={flag_id!r} is not one of {', '.join(C.MASKING_FLAGS)}")
        if any(flag.id == flag_id for flag in flags):
            raise ValueError(f"{where}.id={flag_id!r} appears twice")
        if not isinstance(raw["flagged"], bool):
            raise ValueError(f"{where}.flagged={raw['flagged']!r} must be true or false")
        if not isinstance(raw["detail"], str):
            raise ValueError(f"{where}.detail must be a string")
        flags.append(
            MaskingFlag(
                id=flag_id,
                flagged=raw["flagged"],
                measured=_flag_value(raw["measured"], f"{where}.measured"),
                threshold=_flag_value(raw["threshold"], f"{where}.threshold"),
                detail=raw["detail"],
            )
        )
    missing = [f for f in C.MASKING_FLAGS if f not in {flag.id for flag in flags}]
    if missing:
        raise ValueError(f"{C.MASKING} lacks {', '.join(missing)}")
    return tuple(flags)


def _flag_value(value: object, what: str) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    return _number(value, what)


def _invariants(items: object) -> tuple[Invariant, ...]:
    invariants = []
    for index, item in enumerate(_list(items, "invariants")):
        raw = _object(item, f"invariants[{index}]", {"name", "description"})
        invariants.append(
            Invariant(
                _text(raw["name"], f"invariants[{index}].name"),
                _text(raw["description"], f"invariants[{index}].description"),
            )
        )
    names = [i.name for i in invariants]
    if len(set(names)) != len(names):
        raise ValueError("invariants list a name twice")
    missing = sorted(set(C.ROBUSTNESS_INVARIANTS) - set(names))
    if missing:
        raise ValueError(f"invariants lack {', '.join(missing)}, so the evaluation was incomplete")
    return tuple(invariants)


def _wall_times(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("attack_wall_time_s must be a JSON object")
    return {
        _text(k, "attack_wall_time_s key"): _number(v, f"attack_wall_time_s.{k}", low=0.0)
        for k, v in value.items()
    }
