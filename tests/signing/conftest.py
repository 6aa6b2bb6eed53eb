from __future__ import annotations

from pathlib import Path

import pytest

from kfp_mlsecops.signing import generate_key_pair, sign_model


def make_model(root: Path) -> Path:
    """A tiny SavedModel-shaped directory with a nested folder."""
    (root / "1" / "variables").mkdir(parents=True)
    (root / "1" / "saved_model.pb").write_bytes(b"\x08\x01graph-bytes" * 4)
    (root / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"\x00weights" * 8)
    (root / "1" / "variables" / "variables.index").write_bytes(b"index")
    (root / "provenance.json").write_text('{"trained": true}\n')
    return root


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    private, public = folder / "private-key.pem", folder / "public-key.pem"
    generate_key_pair(private, public)
    return private, public


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("other-keys")
    private, public = folder / "private-key.pem", folder / "public-key.pem"
    generate_key_pair(private, public)
    return private, public


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


@pytest.fixture
def signed(model: Path, keys: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, str]:
    """(model dir, signature path, digest returned by sign_model)."""
    signature = tmp_path / "out" / "model.sig"
    digest = sign_model(model, signature, private_key_path=keys[0])
    return model, signature, digest
