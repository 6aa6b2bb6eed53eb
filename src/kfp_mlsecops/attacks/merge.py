"""Merge the shards of one attack-test into the results the unsharded run writes.

The shards must be every shard of one evaluation: the same model and test-data digests,
attacks and params, epsilons, tier, seed, sample selection and masking thresholds, each index
``0..count-1`` once and their samples the evaluated rows exactly once. Anything else raises
InvalidInputError (fail closed). The merged document equals the unsharded one apart from the
timing fields, which add up the shards' times: clean accuracy, every robust accuracy and the
worst case follow from the merged bits, and the masking flags are computed once over every
sample's probes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops._io import write_text_atomic
from kfp_mlsecops.attacks.evaluate import Evidence, finish_evaluation
from kfp_mlsecops.attacks.results import RobustnessResults
from kfp_mlsecops.attacks.shards import ShardResults
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["merge_shards", "run_merge_report"]


def merge_shards(shards: Sequence[ShardResults]) -> dict[str, Any]:
    """Return the results document (``ROBUSTNESS_SCHEMA``) of every shard of one evaluation.

    Raises InvalidInputError unless the shards are exactly the shards of one evaluation.
    """
    if not shards:
        raise InvalidInputError("no shard results to merge; pass every attack-test shard")
    first = shards[0]
    settings = first.settings_dict()
    for shard in shards[1:]:
        if shard.count != first.count:
            raise InvalidInputError(
                f"shard {shard.index} is one of {shard.count} but shard {first.index} one of "
                f"{first.count}; merge the shards of one attack-test run"
            )
        other = shard.settings_dict()
        for key in settings:
            if other[key] != settings[key]:
                raise InvalidInputError(
                    f"shard {shard.index} has {key} {_short(other[key])} but shard {first.index} "
                    f"{_short(settings[key])}; merge the shards of one attack-test run"
                )
    indices = sorted(shard.index for shard in shards)
    twice = sorted({i for i in indices if indices.count(i) > 1})
    missing = sorted(set(range(first.count)) - set(indices))
    if twice or missing or len(shards) != first.count:
        raise InvalidInputError(
            f"got {len(shards)} shard results for {first.count} shards (twice: {twice or 'none'}, "
            f"missing: {missing or 'none'}); pass each shard of the run once"
        )
    ordered = sorted(shards, key=lambda shard: shard.index)
    merged = _concatenate([shard.evidence for shard in ordered])
    expected = first.settings.sample_ids
    if not np.array_equal(merged.sample_ids, expected):
        seen = merged.sample_ids
        overlap = int(len(seen) - len(np.unique(seen)))
        absent = int(np.count_nonzero(~np.isin(expected, seen)))
        raise InvalidInputError(
            f"the shards list {len(seen)} samples for {len(expected)} evaluated rows "
            f"({overlap} listed twice, {absent} missing); pass each shard of the run once"
        )
    wall = round(sum(shard.wall_time_s for shard in ordered), 3)
    doc = finish_evaluation(first.settings, merged, wall_time_s=wall)
    if first.model_digest is None:
        return doc
    typed = RobustnessResults.from_dict(doc)
    return dataclasses.replace(typed, model_digest=first.model_digest).to_dict()


def run_merge_report(
    *,
    shard_paths: Sequence[str | os.PathLike[str]],
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    report_md_path: str | os.PathLike[str],
    html_report_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Merge the shard files and write results, Markdown and HTML as the unsharded step does.

    The shards must have been computed on ``model_path`` (when it is a model folder, by its
    digest) and on the split at ``test_path`` (by its split digest); the HTML report's examples
    are drawn from them. Returns the results; nothing is written when a check fails.
    """
    from kfp_mlsecops.attacks.html_report import _examples_for_split, render_html_report
    from kfp_mlsecops.attacks.report import render_report
    from kfp_mlsecops.data.manifest import split_digest
    from kfp_mlsecops.data.split_io import load_split
    from kfp_mlsecops.signing import model_digest

    results = merge_shards([ShardResults.read(path) for path in shard_paths])
    typed = RobustnessResults.from_dict(results)
    digest = split_digest(load_split(test_path))
    if digest != typed.test_data_digest:
        raise InvalidInputError(
            f"test data '{test_path}' has digest {digest} but the shards were computed on "
            f"{typed.test_data_digest}; merge with the split the shards attacked"
        )
    if Path(model_path).is_dir() or typed.model_digest is not None:
        actual = model_digest(model_path) if Path(model_path).is_dir() else None
        if actual != typed.model_digest:
            raise InvalidInputError(
                f"model '{model_path}' has digest {actual} but the shards attacked "
                f"{typed.model_digest}; merge with the model the shards attacked"
            )
    typed.write(results_path)
    write_text_atomic(report_md_path, render_report(results))
    examples = _examples_for_split(
        results, model_path=model_path, test_path=test_path, seed=typed.seed
    )
    write_text_atomic(html_report_path, render_html_report(results, examples=examples))
    return results


def _concatenate(parts: Sequence[Evidence]) -> Evidence:
    """Join shard evidence in shard order (ids ascend across contiguous shards)."""

    def join(arrays: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays, axis=-1)

    names = list(parts[0].correct)
    probes = list(parts[0].probes)
    timing: dict[str, float] = {}
    for part in parts:
        for key, seconds in part.timing.items():
            timing[key] = timing.get(key, 0.0) + seconds
    return Evidence(
        sample_ids=join([p.sample_ids for p in parts]),
        clean=join([p.clean for p in parts]),
        correct={n: join([p.correct[n] for p in parts]) for n in names},
        probes={n: join([p.probes[n] for p in parts]) for n in probes},
        timing={key: round(seconds, 3) for key, seconds in timing.items()},
    )


def _short(value: Any) -> str:
    text = repr(value if not isinstance(value, Mapping) else dict(value))
    return text if len(text) <= 120 else text[:117] + "..."
