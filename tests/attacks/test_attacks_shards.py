"""Sharded attack-test: every shard merged gives exactly the unsharded results, or an error."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import RobustnessResults, load_attack_model
from kfp_mlsecops.attacks.html_report import run_attack_report
from kfp_mlsecops.attacks.merge import merge_shards, run_merge_report
from kfp_mlsecops.attacks.shards import (
    ShardResults,
    evaluate_shard,
    run_attack_shard,
    shard_positions,
)
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import InvalidInputError

TIMING = ("wall_time_s", "attack_wall_time_s")
SETTINGS = {"epsilons": [0.05, 0.1], "pgd_steps": 5, "max_samples": 150, "seed": 3}


def _untimed(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in TIMING}


def _without_wall_time(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "wall time" not in line.lower())


@pytest.fixture(scope="module")
def unsharded(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("unsharded")
    run_attack_report(
        model_path=trained_model,
        test_path=digits_splits[1],
        results_path=out / "results.json",
        report_md_path=out / "report.md",
        html_report_path=out / "report.html",
        **SETTINGS,
    )
    return out


@pytest.fixture(scope="module")
def three_shards(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    out = tmp_path_factory.mktemp("shards")
    paths = [out / f"shard-{i}.json" for i in range(3)]
    for i, path in enumerate(paths):
        run_attack_shard(
            model_path=trained_model,
            test_path=digits_splits[1],
            shard_path=path,
            shard_index=i,
            shard_count=3,
            batch_size=32,  # another batch size than the unsharded run: outcomes must not care
            **SETTINGS,
        )
    return paths


def _merge(paths: list[Path], model: Path, test: Path, out: Path) -> dict[str, Any]:
    return run_merge_report(
        shard_paths=paths,
        model_path=model,
        test_path=test,
        results_path=out / "results.json",
        report_md_path=out / "report.md",
        html_report_path=out / "report.html",
    )


@pytest.mark.slow
def test_three_shards_merge_to_the_unsharded_results_and_reports(
    unsharded: Path,
    three_shards: list[Path],
    trained_model: Path,
    digits_splits: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    merged = _merge(three_shards[::-1], trained_model, digits_splits[1], tmp_path)
    want = json.loads((unsharded / "results.json").read_text())
    assert _untimed(merged) == _untimed(want)
    assert merged[C.MODEL_DIGEST] == want[C.MODEL_DIGEST]
    assert json.loads((tmp_path / "results.json").read_text()) == merged
    RobustnessResults.read(tmp_path / "results.json")  # what attest and the gate read
    for name in ("report.md", "report.html"):
        got = _without_wall_time((tmp_path / name).read_text())
        assert got == _without_wall_time((unsharded / name).read_text()), name
    assert merged["wall_time_s"] == round(
        sum(ShardResults.read(p).wall_time_s for p in three_shards), 3
    )


def test_shards_hold_contiguous_disjoint_blocks_and_say_so(three_shards: list[Path]) -> None:
    shards = [ShardResults.read(path) for path in three_shards]
    ids = np.concatenate([s.evidence.sample_ids for s in shards])
    assert np.array_equal(ids, shards[0].settings.sample_ids) and len(ids) == 150
    assert [len(s.evidence.sample_ids) for s in shards] == [50, 50, 50]
    with pytest.raises(InvalidInputError, match="schema is 'kfp-mlsecops/robustness-shard/v1'"):
        RobustnessResults.read(three_shards[0])  # the gate never takes a shard for results


@pytest.mark.slow
@pytest.mark.parametrize("count", [2, 3])
def test_every_tier_and_diagnostic_merges_exactly(
    trained_model: Path, digits_splits: tuple[Path, Path], count: int
) -> None:
    """Reliable tier (Square in the tier), an L2 run (extra no-convergence sweep), fast subset."""
    from kfp_mlsecops.attacks import evaluate_arrays

    split = load_split(digits_splits[1])
    model = load_attack_model(trained_model)
    cases: list[dict[str, Any]] = [
        {
            "tier": "reliable",
            "epsilons": [0.05, 0.1],
            "max_samples": 60,
            "seed": 1,
            "attack_params": {
                "apgd_ce": {"n_iter": 5},
                "apgd_t": {"n_iter": 3, "n_targets": 2},
                "square": {"n_queries": 40},
            },
        },
        {"attacks": ["pgd_l2"], "epsilons": [0.5], "pgd_steps": 3, "max_samples": 40},
        {"epsilons": [0.0, 0.1, 0.6], "pgd_steps": 3, "max_samples": 120, "seed": 5},
    ]
    arrays = {"x": split.x, "y": split.y, "lower": split.lower, "upper": split.upper}
    for case in cases:
        want = evaluate_arrays(model=model, **arrays, **case)
        shards = [
            evaluate_shard(
                model=model, **arrays, shard_index=i, shard_count=count, batch_size=16, **case
            )
            for i in range(count)
        ]
        reread = [ShardResults.from_dict(json.loads(json.dumps(s.to_dict()))) for s in shards]
        assert _untimed(merge_shards(reread)) == _untimed(want), case


def test_partition_covers_each_position_once() -> None:
    for n, k in [(10, 1), (10, 3), (7, 7), (1000, 8)]:
        parts = [shard_positions(n, i, k) for i in range(k)]
        assert np.array_equal(np.concatenate(parts), np.arange(n))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    for n, i, k, fragment in [
        (10, 0, 0, "shard_count=0"),
        (10, 3, 3, "must be below shard_count=3"),
        (10, -1, 3, "shard_index=-1"),
        (4, 0, 5, "exceeds the 4 evaluated samples"),
        (10, 0, True, "shard_count=True"),
    ]:
        with pytest.raises(InvalidInputError, match=fragment):
            shard_positions(n, i, k)


# --- fail closed ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs(three_shards: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in three_shards]


def _tampered(docs: list[dict[str, Any]], which: int, change: Any) -> list[ShardResults]:
    copies = copy.deepcopy(docs)
    change(copies[which])
    return [ShardResults.from_dict(doc) for doc in copies]


def _set(*keys: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (_set("settings", C.MODEL_DIGEST, value="sha256:" + "0" * 64), "shard 2 has model_digest"),
        (_set("settings", C.MODEL_DIGEST, value=None), "has model_digest None"),
        (_set("settings", C.TEST_DATA_DIGEST, value="sha256:" + "1" * 64), "has test_data_digest"),
        (_set("settings", C.EPSILONS, value=[0.05, 0.2]), "has epsilons"),
        (_set("settings", C.TIER, value="reliable"), "has tier 'reliable'"),
        # another seed selects other rows: the shard is not its share of this evaluation
        (_set("settings", C.EVALUATION, "seed", value=4), "overlap or leave rows out"),
        (
            lambda doc: doc["settings"][C.ATTACKS][1][C.PARAMS].update(bogus=1),
            r"settings.attacks\[1\]: params of 'pgd' are not PGD's keyword arguments",
        ),
        (_set("settings", "pgd_steps", value=7), "has pgd_steps 7"),
        (_set("settings", "masking_thresholds", "z", value=2.0), "has masking_thresholds"),
        (
            lambda doc: doc["settings"][C.ATTACKS][1][C.PARAMS].update(steps=9),
            "has attacks",
        ),
    ],
    ids=[
        "model",
        "no-model",
        "test-data",
        "epsilons",
        "tier",
        "seed",
        "bad-params",
        "pgd-steps",
        "thresholds",
        "params",
    ],
)
def test_merge_refuses_shards_of_another_run(
    docs: list[dict[str, Any]], change: Any, fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        merge_shards(_tampered(docs, 2, change))
    assert "\n" not in str(caught.value)


def test_merge_refuses_missing_repeated_and_miscounted_shards(docs: list[dict[str, Any]]) -> None:
    shards = [ShardResults.from_dict(doc) for doc in docs]
    for given, fragment in [
        ([], "no shard results to merge"),
        (shards[:2], r"got 2 shard results for 3 shards \(twice: none, missing: \[2\]\)"),
        ([*shards, shards[1]], r"got 4 shard results for 3 shards \(twice: \[1\]"),
        ([shards[0], shards[0], shards[2]], r"twice: \[0\], missing: \[1\]"),
    ]:
        with pytest.raises(InvalidInputError, match=fragment):
            merge_shards(given)
    # a shard relabelled as another: the indices look complete, the samples do not
    relabelled = dataclasses.replace(shards[0], index=1)
    with pytest.raises(InvalidInputError, match="50 listed twice, 50 missing"):
        merge_shards([shards[0], relabelled, shards[2]])
    # a shard of a 2-shard run among those of a 3-shard run
    two = copy.deepcopy(docs[0])
    two["shard"]["count"] = 2
    with pytest.raises(InvalidInputError, match="overlap or leave rows out"):
        ShardResults.from_dict(two)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d[C.SAMPLES]["ids"].pop(), "overlap or leave rows out"),
        (lambda d: d[C.SAMPLES]["ids"].__setitem__(0, 0), "overlap or leave rows out"),
        (_set("shard", "index", value=3), "shard.index=3 must be below 3"),
        (_set(C.SCHEMA, value=C.ROBUSTNESS_SCHEMA), "schema is 'kfp-mlsecops/robustness/v2'"),
        (lambda d: d["probes"].pop("degenerate_margin"), "probes lacks 'degenerate_margin'"),
        (lambda d: d.pop("probes"), "the document lacks 'probes'"),
    ],
    ids=["missing-id", "foreign-id", "index", "schema", "probe", "probes"],
)
def test_malformed_shards_are_refused_naming_the_field(
    docs: list[dict[str, Any]], change: Any, fragment: str
) -> None:
    doc = copy.deepcopy(docs[1])
    change(doc)
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        ShardResults.from_dict(doc)
    assert "\n" not in str(caught.value)


def test_merge_checks_the_model_and_test_data_it_is_given(
    three_shards: list[Path],
    trained_model: Path,
    digits_splits: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidInputError, match="merge with the split the shards attacked"):
        _merge(three_shards, trained_model, digits_splits[0], tmp_path)
    other = tmp_path / "other-model"
    other.mkdir()
    for source in trained_model.rglob("*"):
        target = other / source.relative_to(trained_model)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(source.read_bytes())
    (other / C.PROVENANCE_FILE).write_text("{}")
    with pytest.raises(InvalidInputError, match="merge with the model the shards attacked"):
        _merge(three_shards, other, digits_splits[1], tmp_path)
    assert not (tmp_path / "results.json").exists()  # nothing written when a check fails
