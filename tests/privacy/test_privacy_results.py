"""The membership-inference results document: a written document reads back equal; the strict
reader refuses malformed documents with one line naming the field."""

import copy
import json

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.privacy import MembershipResults, membership_figures

DIGEST = "sha256:" + "ab" * 32


def _results() -> MembershipResults:
    rng = np.random.default_rng(0)
    figures = membership_figures(
        member_losses=rng.exponential(0.5, 300),
        member_labels=rng.integers(0, 3, 300),
        non_member_losses=rng.exponential(1.0, 120),
        non_member_labels=rng.integers(0, 3, 120),
        seed=7,
    )
    return MembershipResults(
        figures=figures, model_output="logits", train_data_digest=DIGEST, test_data_digest=DIGEST
    )


def test_a_written_document_reads_back_equal(tmp_path):
    results = _results()
    path = results.write(tmp_path / "privacy.json")
    doc = json.loads(path.read_text())
    assert doc["schema"] == C.MEMBERSHIP_SCHEMA and doc["seed"] == 7
    assert doc["members"] == {"used": 120, "available": 300}
    assert doc["non_members"] == {"used": 120, "available": 120}
    assert [a["attack"] for a in doc["attacks"]] == ["loss", "class_calibrated_loss"]
    one, tenth = doc["attacks"][0]["low_fpr"]
    assert (one["max_false_positives"], one["supported"]) == (1, True)
    assert (tenth["max_false_positives"], tenth["supported"], tenth["tpr"]) == (0, False, None)
    again = MembershipResults.read(path)
    assert again == results and again.to_dict() == doc
    assert "unsupported (needs >= 1000 non-members, have 120)" in again.summary()


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
        (("attacks", 0, "auc"), "0.9", "attacks[0].auc='0.9' must be a finite number"),
        (("attacks", 1, "advantage"), True, "attacks[1].advantage=True must be a finite number"),
        (("advantage",), 0.0, "advantage=0.0 but the document's counts give"),
        (("non_members", "used"), 119, "members.used=120 but non_members.used=119"),
        (("attacks", 0, "low_fpr", 1, "tpr"), 0.5, "attacks[0].low_fpr[1]: an unsupported rate"),
        (
            ("attacks", 0, "low_fpr", 0, "supported"),
            False,
            "attacks[0].low_fpr[0].supported=False but 1 false positive(s) are allowed",
        ),
        (("seed",), -1, "seed=-1 must be an integer >= 0"),
        (("test_data_digest",), "sha256:xyz", "test_data_digest='sha256:xyz' is not"),
        (("chance_advantage",), KeyError, "the document lacks 'chance_advantage'"),
        (("extra",), 1, "has unknown key(s) 'extra'"),
        (("schema",), "kfp-mlsecops/membership-inference/v0", "schema is"),
    ],
)
def test_the_reader_names_the_malformed_field_in_one_line(tmp_path, path, value, message):
    doc = _edit(_results().to_dict(), path, value)
    bad = tmp_path / "privacy.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InvalidInputError) as e:
        MembershipResults.read(bad)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"privacy results '{bad}': ")
    assert message in text and text.endswith("rerun 'mlsecops privacy'")


def test_non_finite_numbers_duplicate_keys_and_a_missing_file_are_refused(tmp_path):
    text = json.dumps(_results().to_dict())
    path = tmp_path / "privacy.json"
    path.write_text(text.replace('"seed": 7', '"seed": NaN', 1))
    with pytest.raises(InvalidInputError, match="non-finite number NaN"):
        MembershipResults.read(path)
    path.write_text(text.replace('"seed": 7', '"seed": 7, "seed": 7', 1))
    with pytest.raises(InvalidInputError, match="duplicate key 'seed'"):
        MembershipResults.read(path)
    with pytest.raises(InvalidInputError, match="do not exist; run 'mlsecops privacy' first"):
        MembershipResults.read(tmp_path / "missing.json")
