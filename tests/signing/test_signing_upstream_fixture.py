"""Interoperability: verify a bundle made by the reference implementation (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import verify_model

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "model-transparency"
PUBLIC_KEY = FIXTURES / "keys" / "signing-key-pub.pem"
#: The paths the upstream bundle itself declares as unsigned (the bundle and 'ignore-me' live in
#: the model folder there); we must approve each one explicitly.
UPSTREAM_IGNORED = ["model.sig", "ignore-me", ".git", ".gitattributes", ".gitignore", ".github"]


@pytest.fixture
def upstream_model(tmp_path: Path) -> Path:
    copy = tmp_path / "v1.1.0-elliptic-key"
    shutil.copytree(FIXTURES / "v1.1.0-elliptic-key", copy)
    for path in copy.iterdir():
        path.chmod(0o644)
    return copy


def test_upstream_elliptic_key_bundle_verifies(upstream_model: Path) -> None:
    digest = verify_model(
        upstream_model,
        upstream_model / "model.sig",
        public_key_path=PUBLIC_KEY,
        ignore_paths=UPSTREAM_IGNORED,
    )
    assert digest.startswith("sha256:")
    # Unsigned content at an approved ignored path is accepted, and changes nothing.
    (upstream_model / "ignore-me").write_text("anything")
    assert (
        verify_model(
            upstream_model,
            upstream_model / "model.sig",
            public_key_path=PUBLIC_KEY,
            ignore_paths=UPSTREAM_IGNORED,
        )
        == digest
    )


def test_upstream_bundle_fails_when_signme_1_changes(upstream_model: Path) -> None:
    target = upstream_model / "signme-1"
    target.write_bytes(target.read_bytes() + b"!")
    with pytest.raises(VerificationError, match="files changed: signme-1"):
        verify_model(
            upstream_model,
            upstream_model / "model.sig",
            public_key_path=PUBLIC_KEY,
            ignore_paths=UPSTREAM_IGNORED,
        )


def test_upstream_bundle_fails_when_a_file_is_added(upstream_model: Path) -> None:
    (upstream_model / "signme-3").write_text("new")
    with pytest.raises(VerificationError, match="files added: signme-3"):
        verify_model(
            upstream_model,
            upstream_model / "model.sig",
            public_key_path=PUBLIC_KEY,
            ignore_paths=UPSTREAM_IGNORED,
        )


def test_unsigned_paths_must_be_approved_by_the_caller(upstream_model: Path) -> None:
    with pytest.raises(VerificationError, match="did not allow .*ignore-me"):
        verify_model(
            upstream_model,
            upstream_model / "model.sig",
            public_key_path=PUBLIC_KEY,
            ignore_paths=["model.sig"],
        )


def test_upstream_bundle_fails_with_another_key(upstream_model: Path, keys) -> None:
    with pytest.raises(VerificationError):
        verify_model(
            upstream_model,
            upstream_model / "model.sig",
            public_key_path=keys[1],
            ignore_paths=UPSTREAM_IGNORED,
        )
