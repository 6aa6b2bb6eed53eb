"""The poisoning-scan results document: a written document reads back equal; the strict reader
refuses malformed documents with one line naming the field."""

import copy
import json

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.poisoning import PoisoningResults, ScanParameters, spectral_scan

DIGEST = "sha256:" + "ab" * 32


def _results() -> PoisoningResults:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (3, 20))
    y = np.repeat(np.arange(3), 100)
    features = centres[y] + rng.normal(0, 1, (300, 20))
    inputs = features.copy()
    rows = np.flatnonzero(y != 0)[::30][:6]
    y[rows] = 0
    features[rows] = centres[0] + 6.0 * (np.arange(20) < 3) + rng.normal(0, 1, (len(rows), 20))
    y = np.concatenate([y, [2] * 5])  # a class too small to score
    features = np.concatenate([features, rng.normal(0, 1, (5, 20))])
    inputs = np.concatenate([inputs, rng.normal(0, 1, (5, 20))])
    y[-5:] = 3
    return PoisoningResults(
        classes=spectral_scan(features, y, inputs),
        parameters=ScanParameters(),
        train_data_digest=DIGEST,
        model_digest=DIGEST,
    )


def test_a_written_document_reads_back_equal(tmp_path):
    results = _results()
    path = results.write(tmp_path / "poisoning.json")
    doc = json.loads(path.read_text())
    assert doc["schema"] == C.POISONING_SCHEMA and doc["n_samples"] == 305
    assert doc["suspicious"] is True and [c["label"] for c in doc["classes"]] == [0, 1, 2, 3]
    target, unscored = doc["classes"][0], doc["classes"][3]
    assert target["suspicious"] and len(target["flagged"]) == 6 == target["cluster_size"]
    assert unscored["separation"] is None and unscored["flagged"] == []
    again = PoisoningResults.read(path)
    assert again == results and again.to_dict() == doc
    assert again.summary().startswith("poisoning scan SUSPICIOUS: class 0: 6 of ")


def _edit(doc: dict, path: tuple, value: object) -> dict:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("suspicious",), False, "suspicious=False but the classes' verdicts say otherwise"),
        (("classes", 0, "suspicious"), False, "classes[0].suspicious=False but separation"),
        (("classes", 0, "separation"), "4", "classes[0].separation='4' must be a finite number"),
        (("classes", 1, "flagged"), [3], "classes[1]: a class that is not suspicious flags"),
        (("classes", 0, "flagged"), [1, 1], "classes[0].flagged must be unique ascending"),
        (("classes", 1, "label"), 0, "classes[1].label=0: labels must be unique and ascending"),
        (("classes", 3, "dims"), 4, "classes[3]: an unscored class must have nothing else set"),
        (("n_samples",), 300, "n_samples=300 but the classes hold 305"),
        (("parameters", "trim"), 0.9, "parameters: trim=0.9: must lie strictly in"),
        (("parameters", "dims"), True, "parameters.dims=True must be an integer"),
        (("train_data_digest",), "sha256:xyz", "train_data_digest='sha256:xyz' is not"),
        (("method",), "other", "method='other', expected"),
        (("classes",), KeyError, "the document lacks 'classes'"),
        (("extra",), 1, "has unknown key(s) 'extra'"),
        (("schema",), "kfp-mlsecops/poisoning-scan/v0", "schema is"),
    ],
)
def test_the_reader_names_the_malformed_field_in_one_line(tmp_path, path, value, message):
    doc = _edit(_results().to_dict(), path, value)
    bad = tmp_path / "poisoning.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InvalidInputError) as e:
        PoisoningResults.read(bad)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"poisoning results '{bad}': ")
    assert message in text and text.endswith("rerun 'mlsecops poisoning'")


def test_non_finite_numbers_duplicate_keys_and_a_missing_file_are_refused(tmp_path):
    text = json.dumps(_results().to_dict())
    path = tmp_path / "poisoning.json"
    path.write_text(text.replace('"n_samples": 305', '"n_samples": NaN', 1))
    with pytest.raises(InvalidInputError, match="non-finite number NaN"):
        PoisoningResults.read(path)
    path.write_text(text.replace('"n_samples": 305', '"n_samples": 305, "n_samples": 305', 1))
    with pytest.raises(InvalidInputError, match="duplicate key 'n_samples'"):
        PoisoningResults.read(path)
    with pytest.raises(InvalidInputError, match="do not exist; run 'mlsecops poisoning' first"):
        PoisoningResults.read(tmp_path / "missing.json")
