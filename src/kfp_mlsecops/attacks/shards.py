"""Attack one shard of the evaluated samples; the shard document (``ROBUSTNESS_SHARD_SCHEMA``).

Shard ``i`` of ``n`` attacks a contiguous block of the evaluated samples
(:func:`shard_positions`). Every attack's randomness is keyed by the sample's row id, so each
sample gets the outcome the unsharded evaluation would give it. A shard document carries what
:func:`~kfp_mlsecops.attacks.merge.merge_shards` needs to write exactly the unsharded results:
the evaluation's settings (attacks and their params, epsilons, seed, masking thresholds,
digests), each of its samples' bits (clean, survived per attack and grid epsilon) and the
per-sample probes of the masking diagnostics (:mod:`kfp_mlsecops.attacks._diagnose`). It is
not a results document: the gate refuses it.

Reading is strict (the results reader's rules); a shard whose ids are not its share, whose
probes are not the ones its settings need or whose bits break an invariant is refused with
InvalidInputError.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import read_json_file, write_json_atomic, write_text_atomic
from kfp_mlsecops.attacks import results as _r
from kfp_mlsecops.attacks._diagnose import (
    FGSM_PROBE,
    LARGE_EPSILON,
    SQUARE_PROBE,
    Diagnosis,
    probe_names,
)
from kfp_mlsecops.attacks.epsilons import parse_epsilons
from kfp_mlsecops.attacks.evaluate import (
    Evidence,
    Progress,
    Settings,
    budget_limit,
    load_inputs,
    measure_samples,
    prepare_evaluation,
)
from kfp_mlsecops.attacks.masking import MaskingThresholds
from kfp_mlsecops.attacks.reattack import attack_from_params
from kfp_mlsecops.attacks.results import Evaluation, pack_bits
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ShardResults",
    "evaluate_shard",
    "run_attack_shard",
    "shard_metrics",
    "shard_positions",
]

_KEYS = {C.SCHEMA, "shard", "settings", C.SAMPLES, "probes", "wall_time_s", "attack_wall_time_s"}
_SETTINGS = {
    C.TIER,
    C.EPSILONS,
    C.ATTACKS,
    "input_range",
    "input_shape",
    "model_output",
    C.EVALUATION,
    "pgd_steps",
    "masking_thresholds",
    C.TEST_DATA_DIGEST,
    C.MODEL_DIGEST,
}


def shard_positions(n: int, index: int, count: int) -> np.ndarray:
    """Return shard ``index`` of ``count``: the contiguous positions ``[n*i//k, n*(i+1)//k)``.

    Positions index the ``n`` evaluated samples (ascending row ids); the shards cover each
    exactly once. InvalidInputError unless ``0 <= index < count <= n``.
    """
    for label, value, low in (("shard_count", count, 1), ("shard_index", index, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{label}={value!r}: must be an integer >= {low}")
    if index >= count:
        raise InvalidInputError(f"shard_index={index} must be below shard_count={count}")
    if count > n:
        raise InvalidInputError(
            f"shard_count={count} exceeds the {n} evaluated samples; use fewer shards"
        )
    return np.arange(n * index // count, n * (index + 1) // count, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ShardResults:
    """One shard's evidence with the settings of the evaluation it belongs to."""

    index: int
    count: int
    settings: Settings
    evidence: Evidence
    model_digest: str | None = None
    wall_time_s: float = 0.0

    def settings_dict(self) -> dict[str, Any]:
        """Return the settings as stored: equal for every shard of one evaluation."""
        s, d = self.settings, self.settings.diagnosis
        return {
            C.TIER: s.tier,
            C.EPSILONS: list(s.epsilons),
            C.ATTACKS: [
                {C.ATTACK: n, C.NORM: d.instances[n].norm, C.PARAMS: d.instances[n].params()}
                for n in s.names
            ],
            "input_range": {"lower": s.input_range[0], "upper": s.input_range[1]},
            "input_shape": list(s.input_shape),
            "model_output": s.model_output,
            C.EVALUATION: dataclasses.asdict(s.evaluation),
            "pgd_steps": d.pgd_steps,
            "masking_thresholds": dataclasses.asdict(d.thresholds),
            C.TEST_DATA_DIGEST: s.test_data_digest,
            C.MODEL_DIGEST: self.model_digest,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document (``constants.ROBUSTNESS_SHARD_SCHEMA``)."""
        e = self.evidence
        return {
            C.SCHEMA: C.ROBUSTNESS_SHARD_SCHEMA,
            "shard": {"index": self.index, "count": self.count},
            "settings": self.settings_dict(),
            C.SAMPLES: {
                "ids": [int(i) for i in e.sample_ids],
                "encoding": C.SAMPLES_ENCODING,
                "clean": pack_bits(e.clean),
                "survived": {n: [pack_bits(row) for row in e.correct[n]] for n in e.correct},
            },
            "probes": {
                name: ([pack_bits(row) for row in bits] if np.ndim(bits) == 2 else pack_bits(bits))
                for name, bits in e.probes.items()
            },
            "wall_time_s": self.wall_time_s,
            "attack_wall_time_s": dict(e.timing),
        }

    @classmethod
    def from_dict(cls, doc: object, *, where: str = "shard results") -> ShardResults:
        """Return the shard in ``doc``; InvalidInputError (naming the field) unless valid."""
        try:
            return _parse(doc)
        except ValueError as e:
            raise InvalidInputError(f"{where}: {e}; use the output of an attack-test shard") from e

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ShardResults:
        """Read and strictly validate a shard file; InvalidInputError when unusable."""
        where = f"shard results '{path}'"
        doc = read_json_file(
            path,
            where=where,
            missing="run the attack-test shard",
            fix="use the output of an attack-test shard",
        )
        return cls.from_dict(doc, where=where)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Check the document reads back, then write it atomically (sorted, indented JSON)."""
        doc = self.to_dict()
        ShardResults.from_dict(doc)
        return write_json_atomic(path, doc)


def evaluate_shard(
    *,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    lower: float,
    upper: float,
    shard_index: int,
    shard_count: int,
    epsilons: Sequence[float],
    tier: str = C.TIER_FAST,
    attacks: Sequence[str] | None = None,
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    attack_params: Mapping[str, Mapping[str, Any]] | None = None,
    masking_thresholds: MaskingThresholds | None = None,
) -> ShardResults:
    """Attack shard ``shard_index`` of ``shard_count`` (:func:`shard_positions`) of the samples.

    Arguments as for :func:`~kfp_mlsecops.attacks.evaluate_arrays`, which this repeats on the
    shard's samples only; merging every shard gives its results exactly.
    """
    started = time.perf_counter()
    settings, fmodel, xs, ys = prepare_evaluation(
        model=model,
        x=x,
        y=y,
        lower=lower,
        upper=upper,
        epsilons=epsilons,
        tier=tier,
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        attack_params=attack_params,
        masking_thresholds=masking_thresholds,
    )
    positions = shard_positions(len(ys), shard_index, shard_count)
    evidence = measure_samples(
        settings,
        model=fmodel,
        x=xs,
        y=ys,
        positions=positions,
        batch_size=batch_size,
        progress=progress,
    )
    return ShardResults(
        index=shard_index,
        count=shard_count,
        settings=settings,
        evidence=evidence,
        wall_time_s=round(time.perf_counter() - started, 3),
    )


def run_attack_shard(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    shard_path: str | os.PathLike[str],
    shard_index: int,
    shard_count: int,
    epsilons: Sequence[float] | str,
    tier: str = C.TIER_FAST,
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    report_md_path: str | os.PathLike[str] | None = None,
    html_report_path: str | os.PathLike[str] | None = None,
) -> ShardResults:
    """Attack one shard of the split at ``test_path`` and write the shard document.

    As :func:`~kfp_mlsecops.attacks.run_attack_test` (a model folder's digest is recorded), but
    the reports, when asked for, only say which samples the shard holds: the merge step writes
    the real ones. Nothing is written when the evaluation fails.
    """
    budgets = parse_epsilons(epsilons) if isinstance(epsilons, str) else list(epsilons)
    model, split = load_inputs(
        model_path=model_path,
        test_path=test_path,
        epsilons=budgets,
        tier=tier,
        attacks=None,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        attack_params=None,
    )
    shard = evaluate_shard(
        model=model,
        x=split.x,
        y=split.y,
        lower=split.lower,
        upper=split.upper,
        shard_index=shard_index,
        shard_count=shard_count,
        epsilons=budgets,
        tier=tier,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
    )
    if Path(model_path).is_dir():
        from kfp_mlsecops.signing import model_digest

        shard = dataclasses.replace(shard, model_digest=model_digest(model_path))
    shard.write(shard_path)
    note = (
        f"Attack-test shard {shard.index + 1} of {shard.count}: "
        f"{len(shard.evidence.sample_ids)} of {len(shard.settings.sample_ids)} evaluated "
        "samples. The merge step writes the robustness report."
    )
    if report_md_path is not None:
        write_text_atomic(report_md_path, f"# Attack-test shard\n\n{note}\n")
    if html_report_path is not None:
        write_text_atomic(
            html_report_path,
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Attack-test shard</title></head><body><p>{note}</p></body></html>\n",
        )
    return shard


def shard_metrics(shard: ShardResults) -> dict[str, float]:
    """Return a shard's KFP metrics: which shard, how many samples, its wall time."""
    return {
        "shard_index": float(shard.index),
        "shard_count": float(shard.count),
        C.N_SAMPLES: float(len(shard.evidence.sample_ids)),
        "wall_time_s": float(shard.wall_time_s),
    }


# --- strict parsing ------------------------------------------------------------------------------


def _parse(doc: object) -> ShardResults:
    if isinstance(doc, dict) and doc.get(C.SCHEMA) != C.ROBUSTNESS_SHARD_SCHEMA:
        raise ValueError(f"schema is {doc.get(C.SCHEMA)!r}, expected {C.ROBUSTNESS_SHARD_SCHEMA!r}")
    obj = _r._object(doc, "the document", _KEYS)
    shard = _r._object(obj["shard"], "shard", {"index", "count"})
    count = _r._integer(shard["count"], "shard.count", 1)
    index = _r._integer(shard["index"], "shard.index", 0, count)
    settings, model_digest = _settings(obj["settings"])
    ids = settings.sample_ids
    try:
        expected = ids[shard_positions(len(ids), index, count)]
    except InvalidInputError as e:
        raise ValueError(str(e)) from e
    samples = _r._object(obj[C.SAMPLES], C.SAMPLES, {"ids", "encoding", "clean", "survived"})
    listed = samples["ids"]
    if not isinstance(listed, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in listed
    ):
        raise ValueError("samples.ids must be a list of row indices")
    if listed != expected.tolist():
        raise ValueError(
            f"samples.ids are not the {len(expected)} rows shard {index} of {count} holds "
            f"(rows {expected[0]}..{expected[-1]}); the shards overlap or leave rows out"
        )
    if samples["encoding"] != C.SAMPLES_ENCODING:
        raise ValueError(
            f"samples.encoding={samples['encoding']!r}, expected {C.SAMPLES_ENCODING!r}"
        )
    m = len(expected)
    grid = list(settings.diagnosis.grid)
    clean = _r._bits(samples["clean"], m, "samples.clean")
    table = _r._object(samples["survived"], "samples.survived", set(settings.names))
    correct = {n: _rows(table[n], len(grid), m, f"samples.survived.{n}") for n in settings.names}
    for name, bits in correct.items():
        if not np.array_equal(bits[0], clean):
            raise ValueError(f"samples.survived.{name} at epsilon 0 differs from samples.clean")
        if np.any(bits[1:] & ~bits[:-1]):
            raise ValueError(
                f"samples.survived.{name} has survivors that fell at a smaller epsilon"
            )
    names = probe_names(settings.diagnosis)
    raw = _r._object(obj["probes"], "probes", set(names))
    probes = {
        n: _rows(raw[n], len(grid), m, f"probes.{n}")
        if n == FGSM_PROBE
        else _r._bits(raw[n], m, f"probes.{n}")
        for n in names
    }
    if LARGE_EPSILON in probes and np.any(probes[LARGE_EPSILON] & ~clean):
        raise ValueError(f"probes.{LARGE_EPSILON} has survivors samples.clean marks misclassified")
    if SQUARE_PROBE in probes:
        positions = np.searchsorted(ids, expected)
        off = ~np.isin(positions, settings.diagnosis.square_subset(len(ids)))
        if np.any(probes[SQUARE_PROBE] & off):
            raise ValueError(f"probes.{SQUARE_PROBE} has bits set outside the Square subset")
    timing = _r._wall_times(obj["attack_wall_time_s"])
    evidence = Evidence(expected, clean, correct, probes, timing)
    return ShardResults(
        index=index,
        count=count,
        settings=settings,
        evidence=evidence,
        model_digest=model_digest,
        wall_time_s=_r._number(obj["wall_time_s"], "wall_time_s", low=0.0),
    )


def _rows(value: object, rows: int, m: int, what: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        raise ValueError(f"{what} must list one bit string per grid epsilon ({rows})")
    return np.stack([_r._bits(s, m, f"{what}[{i}]") for i, s in enumerate(value)]).reshape(rows, m)


def _settings(value: object) -> tuple[Settings, str | None]:
    raw = _r._object(value, "settings", _SETTINGS)
    tier = raw[C.TIER]
    if tier not in C.TIERS:
        raise ValueError(f"settings.{C.TIER}={tier!r} must be one of {', '.join(C.TIERS)}")
    epsilons = tuple(
        _r._number(e, f"settings.{C.EPSILONS}[{i}]", low=0.0)
        for i, e in enumerate(_r._list(raw[C.EPSILONS], f"settings.{C.EPSILONS}"))
    )
    if any(b <= a for a, b in zip(epsilons, epsilons[1:], strict=False)):
        raise ValueError(f"settings.{C.EPSILONS} {list(epsilons)} must ascend strictly")
    instances: dict[str, Any] = {}
    for i, item in enumerate(_r._list(raw[C.ATTACKS], f"settings.{C.ATTACKS}")):
        where = f"settings.{C.ATTACKS}[{i}]"
        row = _r._object(item, where, {C.ATTACK, C.NORM, C.PARAMS})
        name = row[C.ATTACK]
        if name not in C.ATTACK_NAMES or name in instances:
            raise ValueError(f"{where}.{C.ATTACK}={name!r} must be a new one of {C.ATTACK_NAMES}")
        try:
            instances[name] = attack_from_params(name, row[C.PARAMS])
        except InvalidInputError as e:
            raise ValueError(f"{where}: {e}") from e
        if instances[name].norm != row[C.NORM]:
            raise ValueError(f"{where}.{C.NORM}={row[C.NORM]!r} but its params give another norm")
    norms = {attack.norm for attack in instances.values()}
    if len(norms) != 1:
        raise ValueError(f"settings.{C.ATTACKS} mix norms {sorted(norms)}")
    bounds = _r._object(raw["input_range"], "settings.input_range", {"lower", "upper"})
    lower = _r._number(bounds["lower"], "settings.input_range.lower")
    upper = _r._number(bounds["upper"], "settings.input_range.upper")
    if not lower < upper:
        raise ValueError(f"settings.input_range [{lower:g}, {upper:g}] must have lower < upper")
    shape = _r._list(raw["input_shape"], "settings.input_shape")
    shape = [_r._integer(d, f"settings.input_shape[{i}]", 1) for i, d in enumerate(shape)]
    ev = _r._object(raw[C.EVALUATION], "settings.evaluation", {"split_size", "max_samples", "seed"})
    evaluation = Evaluation(
        split_size=_r._integer(ev["split_size"], "settings.evaluation.split_size", 1),
        max_samples=_r._integer(ev["max_samples"], "settings.evaluation.max_samples", 0),
        seed=_r._integer(ev["seed"], "settings.evaluation.seed", 0, 2**31),
    )
    fields = {f.name for f in dataclasses.fields(MaskingThresholds)}
    thresholds = _r._object(raw["masking_thresholds"], "settings.masking_thresholds", fields)
    try:
        masking = MaskingThresholds(**thresholds)
    except InvalidInputError as e:
        raise ValueError(f"settings.masking_thresholds: {e}") from e
    (norm,) = norms
    model_digest = raw[C.MODEL_DIGEST]
    settings = Settings(
        tier=tier,
        names=tuple(instances),
        epsilons=epsilons,
        input_range=(lower, upper),
        input_shape=tuple(shape),
        model_output=_r._text(raw["model_output"], "settings.model_output"),
        evaluation=evaluation,
        test_data_digest=_r._digest(raw[C.TEST_DATA_DIGEST], f"settings.{C.TEST_DATA_DIGEST}"),
        diagnosis=Diagnosis(
            tier=tier,
            norm=norm,
            instances=instances,
            grid=tuple(sorted({0.0, *epsilons})),
            diameter=budget_limit(norm, lower=lower, upper=upper, shape=shape),
            seed=evaluation.seed,
            pgd_steps=_r._integer(raw["pgd_steps"], "settings.pgd_steps", 1),
            thresholds=masking,
        ),
    )
    if model_digest is not None:
        model_digest = _r._digest(model_digest, f"settings.{C.MODEL_DIGEST}")
    return settings, model_digest
