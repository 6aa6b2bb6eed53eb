"""The explanations results document: round trip, golden layout and strict one-line refusals."""

import dataclasses
import json

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.explanations import (
    ExplanationsResults,
    LayerStep,
    MethodSanity,
    SanityParameters,
)

DIGEST = "sha256:" + "ab" * 32
LAYERS = ("logits", "dense", "conv2d")


def _method(name: str, gates: bool, *similarities: float) -> MethodSanity:
    steps = zip(LAYERS, similarities, strict=True)
    return MethodSanity(name, gates, tuple(LayerStep(layer, s, s - 0.05) for layer, s in steps))


def _results(**changes) -> ExplanationsResults:
    base = ExplanationsResults(
        methods=(
            _method("gradient", True, 0.2, 0.15, 0.1),
            _method("gradient_x_input", False, 0.93, 0.92, 0.91),
        ),
        parameters=SanityParameters(),
        n_samples=64,
        test_data_digest=DIGEST,
        model_digest=DIGEST,
    )
    return dataclasses.replace(base, **changes)


def test_round_trip_and_layout(tmp_path):
    results = _results()
    path = results.write(tmp_path / C.EXPLANATIONS_RESULTS_FILE)
    doc = json.loads(path.read_text())
    assert doc["schema"] == C.EXPLANATIONS_SCHEMA == "kfp-mlsecops/saliency-sanity/v1"
    assert doc["layers"] == list(LAYERS) and doc["passed"] is True
    assert doc["parameters"] == {"n_samples": 64, "seed": 0, "max_similarity": 0.5}
    gradient, gxi = doc["methods"]
    assert (gradient["name"], gradient["gates"], gradient["passed"]) == ("gradient", True, True)
    assert gradient["similarity"] == 0.1 and gradient["cascade"][0]["layer"] == "logits"
    assert (gxi["gates"], gxi["passed"]) == (False, False)
    assert ExplanationsResults.read(path) == results
    assert ExplanationsResults.from_dict(results.to_dict()) == results
    without_model = _results(model_digest=None)
    assert C.MODEL_DIGEST not in without_model.to_dict()
    assert ExplanationsResults.from_dict(without_model.to_dict()) == without_model
    assert results.summary() == (
        "saliency sanity check passed: similarity of the maps after randomizing all 3 layers: "
        "gradient 0.10 (pass), gradient_x_input 0.91 (FAIL, reported only) (passes below 0.5); "
        "64 test samples"
    )


def test_the_verdict_follows_the_gating_methods_and_the_threshold():
    failing = _results(methods=(_method("gradient", True, 0.9, 0.8, 0.7),))
    assert not failing.passed and failing.to_dict()["passed"] is False
    assert failing.summary().startswith("saliency sanity check FAILED: ")
    assert _results().passed_under(0.5) and not _results().passed_under(0.1)
    with pytest.raises(InvalidInputError, match="no method gates the verdict"):
        _results(methods=(_method("gradient", False, 0.2, 0.1, 0.1),)).write("/nonexistent/x")


def _corrupt(tmp_path, change):
    doc = _results().to_dict()
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidInputError) as e:
        ExplanationsResults.read(path)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"explanations results '{path}'")
    return message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(schema="other/v1"), "schema is 'other/v1'"),
        (lambda d: d.update(extra=1), "unknown key(s) 'extra'"),
        (lambda d: d.pop("layers"), "lacks 'layers'"),
        (lambda d: d.update(test="other"), "test='other', expected"),
        (lambda d: d.update(passed=False), "passed=False but the gating methods' verdicts"),
        (lambda d: d.update(n_samples=True), "n_samples=True must be an integer >= 2"),
        (lambda d: d.update(n_samples=65), "n_samples=65 exceeds parameters.n_samples"),
        (lambda d: d.update(layers=["a", "a", "b"]), "must be unique"),
        (lambda d: d.update(test_data_digest="sha256:x"), "test_data_digest='sha256:x' is not"),
        (
            lambda d: d["parameters"].update(max_similarity="0.5"),
            "parameters.max_similarity='0.5' must be a finite number",
        ),
        (
            lambda d: d["parameters"].update(max_similarity=0.0),
            "parameters: max_similarity=0.0: must be a number in (0, 1]",
        ),
        (lambda d: d["methods"][0].update(passed=False), "methods[0].passed=False but similarity"),
        (lambda d: d["methods"][1].update(name="gradient"), "methods[1].name='gradient' appears"),
        (lambda d: d["methods"][0].update(similarity=0.3), "is not the last cascade step's"),
        (lambda d: d["methods"][0]["cascade"].pop(), "one step per layer (3)"),
        (
            lambda d: d["methods"][0]["cascade"][1].update(layer="x"),
            "methods[0].cascade[1].layer='x', expected 'dense'",
        ),
        (
            lambda d: d["methods"][0]["cascade"][0].update(similarity=1.5),
            "cascade[0].similarity=1.5 must be in [0, 1]",
        ),
        (lambda d: d["methods"][0].update(gates="yes"), "methods[0].gates='yes' must be true"),
        (lambda d: d.update(methods=[]), "methods must be a non-empty list"),
    ],
)
def test_malformed_documents_are_refused_in_one_line(tmp_path, change, expected):
    assert expected in _corrupt(tmp_path, change)


def test_unreadable_files(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(InvalidInputError, match="do not exist; run 'mlsecops explanations'"):
        ExplanationsResults.read(missing)
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(_results().to_dict()).replace("0.1,", "NaN,", 1))
    with pytest.raises(InvalidInputError, match="rerun 'mlsecops explanations'"):
        ExplanationsResults.read(nan)
    duplicate = tmp_path / "dup.json"
    duplicate.write_text('{"schema": 1, "schema": 2}')
    with pytest.raises(InvalidInputError, match="rerun"):
        ExplanationsResults.read(duplicate)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n_samples": 1}, "n_samples=1: must be an integer >= 2"),
        ({"seed": -1}, r"seed=-1: must be an integer in \[0, 2\*\*31\)"),
        ({"max_similarity": 1.5}, r"max_similarity=1.5: must be a number in \(0, 1\]"),
        ({"max_similarity": True}, "max_similarity=True"),
    ],
)
def test_parameters_are_checked(fields, message):
    with pytest.raises(InvalidInputError, match=message):
        SanityParameters(**fields)
