"""The robustness results document v2: golden files, the strict reader and the accessors.

``golden/robustness_v2.json`` is a 10-sample document written by the writer: rows 1 and 8 of a
12-row split are left out (``evaluation_ids(12, 10, 0)``); sample 3 (row 4) is misclassified.

    position      0 1 2 3 4 5 6 7 8 9    count
    clean         1 1 1 0 1 1 1 1 1 1    9 -> 0.9
    fgsm  @0.1    1 1 0 0 1 1 1 0 1 1    7 -> 0.7
    fgsm  @0.2    1 0 0 0 1 0 1 0 0 0    3 -> 0.3
    pgd   @0.1    1 1 0 0 1 0 1 0 1 1    6 -> 0.6
    pgd   @0.2    1 0 0 0 0 0 1 0 1 0    3 -> 0.3
    worst @0.1    1 1 0 0 1 0 1 0 1 1    6 -> 0.6
    worst @0.2    1 0 0 0 0 0 1 0 0 0    2 -> 0.2

Bits are packed little-endian per byte: clean is bytes 0xF7 0x03 (base64 ``9wM=``). Each
``golden/malformed/*.json`` is the golden file with one defect; ``UPDATE_GOLDEN=1`` rewrites them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks.invariants import INVARIANTS
from kfp_mlsecops.attacks.results import (
    Evaluation,
    Invariant,
    MaskingFlag,
    RobustnessResults,
    evaluation_ids,
    pack_bits,
    unpack_bits,
)
from kfp_mlsecops.errors import InvalidInputError

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILE = GOLDEN / "robustness_v2.json"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PGD_PARAMS = {
    "norm": "linf",
    "steps": 20,
    "rel_stepsize": 0.125,
    "restarts": 1,
    "random_start": True,
    "early_stop": True,
    "precision": "float32",
    "seed": 0,
}


def _bits(text: str) -> np.ndarray:
    return np.array([c == "1" for c in text.replace(" ", "")])


def golden_results(**changes: Any) -> RobustnessResults:
    fields: dict[str, Any] = {
        "tier": C.TIER_FAST,
        "epsilons": (0.1, 0.2),
        "input_range": (0.0, 1.0),
        "model_output": "log-probabilities",
        "evaluation": Evaluation(split_size=12, max_samples=10, seed=0),
        "sample_ids": evaluation_ids(12, 10, 0),
        "clean_correct": _bits("1110 111111"),
        "outcomes": {
            "fgsm": np.stack([_bits("1100111011"), _bits("1000101000")]),
            "pgd": np.stack([_bits("1100101011"), _bits("1000001010")]),
        },
        "norms": {"fgsm": "linf", "pgd": "linf"},
        "params": {"fgsm": {}, "pgd": PGD_PARAMS},
        "masking": tuple(
            MaskingFlag(flag, False, 0.0, 0.01, f"{flag}: not raised") for flag in C.MASKING_FLAGS
        ),
        "invariants": tuple(Invariant(k, v) for k, v in INVARIANTS.items()),
        "test_data_digest": "sha256:" + "ab" * 32,
        "model_digest": "sha256:" + "cd" * 32,
        "wall_time_s": 1.5,
        "attack_wall_time_s": {"fgsm": 0.1, "pgd": 0.5, C.MASKING: 0.2},
    }
    fields.update(changes)
    return RobustnessResults(**fields)


def test_the_writer_writes_the_golden_file_byte_for_byte(tmp_path: Path) -> None:
    if UPDATE:
        golden_results().write(GOLDEN_FILE)
    golden_results().write(tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text() == GOLDEN_FILE.read_text()


def test_the_golden_file_reads_back_with_its_figures_and_bits() -> None:
    results = RobustnessResults.read(GOLDEN_FILE)
    assert results.to_dict() == json.loads(GOLDEN_FILE.read_text())
    assert results.to_dict() == golden_results().to_dict()
    assert (results.n_samples, results.clean_accuracy, results.seed) == (10, 0.9, 0)
    assert results.sample_ids.tolist() == [0, 2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert results.clean_bits().tolist() == _bits("1110111111").tolist()
    assert results.survived("pgd", 0.2).tolist() == _bits("1000001010").tolist()
    assert results.worst_case_survived(0.2).tolist() == _bits("1000001000").tolist()
    assert results.survived(C.WORST_CASE, 0.1 + 1e-12).sum() == 6  # epsilons match within 1e-9
    assert [(r.attack, r.epsilon, r.robust_accuracy) for r in results.attacks] == [
        ("fgsm", 0.1, 0.7),
        ("fgsm", 0.2, 0.3),
        ("pgd", 0.1, 0.6),
        ("pgd", 0.2, 0.3),
    ]
    assert [r.robust_accuracy for r in results.worst_case] == [0.6, 0.2]
    assert results.robust_accuracy(C.WORST_CASE, 0.2) == 0.2
    assert results.attack_params() == {"fgsm": {}, "pgd": PGD_PARAMS}
    assert (results.tier, results.input_range) == ("fast", (0.0, 1.0))
    assert results.masking_flag("degenerate_gradients").flagged is False
    assert results.model_digest == "sha256:" + "cd" * 32
    assert results.evaluation.ids().tolist() == results.sample_ids.tolist()
    doc = json.loads(GOLDEN_FILE.read_text())
    assert doc[C.SAMPLES]["clean"] == "9wM="  # 0xF7 0x03: samples 0-2 and 4-9 set


def test_accessors_refuse_unknown_attacks_and_epsilons() -> None:
    results = golden_results()
    with pytest.raises(InvalidInputError, match="no attack 'square'"):
        results.survived("square", 0.1)
    with pytest.raises(InvalidInputError, match="no epsilon 0.3"):
        results.worst_case_survived(0.3)
    with pytest.raises(InvalidInputError, match="no masking flag 'x'"):
        results.masking_flag("x")
    with pytest.raises(ValueError, match="read-only"):
        results.sample_ids[0] = 5  # the arrays of a read document cannot be changed


def test_bits_round_trip_and_reject_padding() -> None:
    for n in (1, 7, 8, 9, 64):
        bits = np.random.default_rng(n).random(n) < 0.5
        np.testing.assert_array_equal(unpack_bits(pack_bits(bits), n), bits)
    with pytest.raises(InvalidInputError, match="padding bits"):
        unpack_bits("/w==", 7)  # 0xFF: bit 7 set past sample 7
    with pytest.raises(InvalidInputError, match="2 bytes; 7 samples need 1"):
        unpack_bits("AAA=", 7)
    with pytest.raises(InvalidInputError, match="not base64"):
        unpack_bits("!!", 7)


def test_evaluation_ids_keep_the_seeded_subset() -> None:
    assert evaluation_ids(5, 0, 3).tolist() == [0, 1, 2, 3, 4]
    assert evaluation_ids(5, 9, 3).tolist() == [0, 1, 2, 3, 4]
    expected = np.sort(np.random.default_rng(7).permutation(100)[:10])
    np.testing.assert_array_equal(evaluation_ids(100, 10, 7), expected)
    with pytest.raises(InvalidInputError, match="split_size=0"):
        evaluation_ids(0, 0, 0)


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        doc = json.loads(text)
        change(doc)
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()
_SURVIVED = f"{C.SAMPLES}/survived"
#: file name -> (how the golden file is broken, what the reader says)
MALFORMED: dict[str, tuple[Callable[[str], str], str]] = {
    "schema_v1.json": (
        _edit(_set(C.SCHEMA, "kfp-mlsecops/robustness/v1")),
        "expected 'kfp-mlsecops/robustness/v2'",
    ),
    "nan.json": (lambda t: t.replace('"wall_time_s": 1.5', '"wall_time_s": NaN'), "NaN"),
    "duplicate_key.json": (
        lambda t: t.replace('"tier": "fast"', '"tier": "fast",\n  "tier": "reliable"'),
        "duplicate key 'tier'",
    ),
    "bool_number.json": (_edit(_set(f"{C.ATTACKS}/0/epsilon", True)), "not a string or bool"),
    "string_number.json": (_edit(_set(C.CLEAN_ACCURACY, "0.9")), "clean_accuracy='0.9'"),
    "accuracy_above_one.json": (
        _edit(_set(f"{C.ATTACKS}/1/{C.ROBUST_ACCURACY}", 1.5)),
        "must be in \\[0, 1\\]",
    ),
    "missing_samples.json": (_edit(_set(C.SAMPLES, _DELETE)), "lacks 'samples'"),
    "unknown_key.json": (_edit(_set("note", "x")), "unknown key\\(s\\) 'note'"),
    "missing_invariant.json": (
        _edit(lambda d: d["invariants"].pop()),
        "invariants lack worst_case_monotone",
    ),
    "masking_flag_twice.json": (
        _edit(lambda d: d[C.MASKING].__setitem__(1, dict(d[C.MASKING][0]))),
        "appears twice",
    ),
    "masking_flagged_string.json": (
        _edit(_set(f"{C.MASKING}/0/flagged", "false")),
        "must be true or false",
    ),
    "n_samples_mismatch.json": (_edit(_set(C.N_SAMPLES, 9)), "n_samples=9 but samples.ids"),
    "ids_not_ascending.json": (
        _edit(_set(f"{C.SAMPLES}/ids/1", 0)),
        "must ascend strictly",
    ),
    "id_outside_split.json": (_edit(_set(f"{C.SAMPLES}/ids/9", 12)), "must be below 12"),
    "ids_not_evaluated_rows.json": (
        _edit(_set(f"{C.SAMPLES}/ids/1", 1)),
        "are not the 10 rows evaluation",
    ),
    "padding_bits.json": (_edit(_set(f"{C.SAMPLES}/clean", "9/8=")), "padding bits set"),
    "bits_too_short.json": (_edit(_set(f"{C.SAMPLES}/clean", "9w==")), "1 bytes; 10 samples"),
    "encoding.json": (_edit(_set(f"{C.SAMPLES}/encoding", "json")), "samples.encoding='json'"),
    "clean_accuracy_mismatch.json": (
        _edit(_set(C.CLEAN_ACCURACY, 1.0)),
        "clean_accuracy=1.0 but samples.clean gives 0.9",
    ),
    "robust_accuracy_mismatch.json": (
        _edit(_set(f"{C.ATTACKS}/3/{C.ROBUST_ACCURACY}", 0.5)),
        "attacks\\[3\\].robust_accuracy=0.5 but samples.survived.pgd gives 0.3",
    ),
    "worst_case_mismatch.json": (
        _edit(_set(f"{C.WORST_CASE}/1/{C.ROBUST_ACCURACY}", 0.3)),
        "worst_case\\[1\\].robust_accuracy=0.3 but the per-sample worst case gives 0.2",
    ),
    "survivor_not_clean.json": (
        _edit(_set(f"{_SURVIVED}/fgsm/0", pack_bits(_bits("1101111011")))),
        "survived.fgsm has survivors that samples.clean marks misclassified",
    ),
    "survivors_grow_with_epsilon.json": (
        _edit(_set(f"{_SURVIVED}/pgd/1", pack_bits(_bits("1000001110")))),
        "survived.pgd has survivors at an epsilon that fell at a smaller one",
    ),
    "survived_wrong_count.json": (
        _edit(lambda d: d[C.SAMPLES]["survived"]["pgd"].pop()),
        "one bit string per epsilon",
    ),
    "survived_attack_missing.json": (
        _edit(lambda d: d[C.SAMPLES]["survived"].pop("pgd")),
        "samples.survived lacks 'pgd'",
    ),
    "rows_out_of_order.json": (
        _edit(lambda d: d[C.ATTACKS].reverse()),
        "one row per attack and epsilon",
    ),
    "params_differ.json": (
        _edit(_set(f"{C.ATTACKS}/3/{C.PARAMS}/steps", 10)),
        "params of 'pgd' differ from its first row",
    ),
    "unknown_attack.json": (_edit(_set(f"{C.ATTACKS}/0/attack", "cw")), "attack='cw' is not"),
    "epsilons_unsorted.json": (
        _edit(lambda d: d[C.EPSILONS].reverse()),
        "must ascend strictly",
    ),
    "test_data_digest.json": (
        _edit(_set(C.TEST_DATA_DIGEST, "md5:00")),
        "test_data_digest='md5:00' is not",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_golden_variants_are_refused_naming_the_field(name: str) -> None:
    mutate, fragment = MALFORMED[name]
    path = GOLDEN / "malformed" / name
    expected = mutate(GOLDEN_FILE.read_text())
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(expected)
    assert path.read_text() == expected, f"{path} is stale; rerun with UPDATE_GOLDEN=1"
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        RobustnessResults.read(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"robustness results '{path}'")
    assert message.endswith("fix the attack-test output")


def test_eps_zero_must_equal_clean() -> None:
    outcomes = {
        "fgsm": np.stack([_bits("1110111111"), _bits("1100111011")]),
        "pgd": np.stack([_bits("1110111111"), _bits("1100101011")]),
    }
    doc = golden_results(epsilons=(0.0, 0.1), outcomes=outcomes).to_dict()
    RobustnessResults.from_dict(doc)
    doc[C.SAMPLES]["survived"]["pgd"][0] = pack_bits(_bits("1110101111"))
    doc[C.ATTACKS][2][C.ROBUST_ACCURACY] = 0.8
    with pytest.raises(InvalidInputError, match="at epsilon 0 differs from samples.clean"):
        RobustnessResults.from_dict(doc)


def test_the_writer_refuses_inconsistent_results(tmp_path: Path) -> None:
    broken = golden_results(clean_correct=_bits("0000000000"))
    with pytest.raises(InvalidInputError, match="survivors that samples.clean marks"):
        broken.write(tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="do not exist; run the attack-test step"):
        RobustnessResults.read(tmp_path / "none.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(InvalidInputError, match="the document must be a JSON object"):
        RobustnessResults.read(tmp_path / "list.json")
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(InvalidInputError, match="not JSON"):
        RobustnessResults.read(tmp_path / "junk.json")
