from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.signing import model_digest, sign_model


def test_digest_is_stable_and_independent_of_location(model: Path, tmp_path: Path) -> None:
    first = model_digest(model)
    assert first == model_digest(model)
    copy = shutil.copytree(model, tmp_path / "elsewhere" / "renamed-model")
    assert model_digest(copy) == first


@pytest.mark.parametrize(
    "change",
    ["content", "added", "removed", "renamed", "git file", "empty file added"],
)
def test_digest_changes_with_the_model(model: Path, change: str) -> None:
    before = model_digest(model)
    if change == "content":
        (model / "provenance.json").write_text('{"trained": false}\n')
    elif change == "added":
        (model / "1" / "assets.txt").write_text("vocab")
    elif change == "removed":
        (model / "1" / "variables" / "variables.index").unlink()
    elif change == "renamed":
        (model / "provenance.json").rename(model / "provenance.JSON")
    elif change == "git file":
        (model / ".gitignore").write_text("*")
    else:
        (model / "empty").write_bytes(b"")
    assert model_digest(model) != before


def _subject_digest(signature: Path) -> str:
    bundle = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return statement["subject"][0]["digest"]["sha256"]


def test_our_digest_binds_names_where_the_upstream_subject_digest_does_not(
    tmp_path: Path, keys
) -> None:
    """Why we define our own digest: renaming a one-file model keeps model-signing's subject."""
    model = tmp_path / "m"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 32)
    ours_before = sign_model(model, tmp_path / "a.sig", private_key_path=keys[0])
    (model / "weights.bin").rename(model / "evil.bin")
    ours_after = sign_model(model, tmp_path / "b.sig", private_key_path=keys[0])
    assert _subject_digest(tmp_path / "a.sig") == _subject_digest(tmp_path / "b.sig")
    assert ours_before != ours_after


def test_digest_refuses_unusable_directories(tmp_path: Path, model: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        model_digest(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="has no files"):
        model_digest(tmp_path / "empty")
    (model / "link").symlink_to(model / "provenance.json")
    with pytest.raises(InvalidInputError, match="symlink"):
        model_digest(model)
