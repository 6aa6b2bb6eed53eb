"""Shared test fixtures and paths."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Upstream model-transparency test vectors, laid beside the repo as ../shared (read-only).
FIXTURES = REPO.parent / "shared" / "fixtures" / "model-transparency"

sys.path.insert(0, str(Path(__file__).resolve().parent))
# A real kube-apiserver (built from Go modules, see tests/infra/apiserver) as a session fixture.
from _digits import write_digits_splits  # noqa: E402
from _kube_apiserver import kube_apiserver  # noqa: E402,F401
from _pki import Pki, build_pki  # noqa: E402
from _release import Release, build_release  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test PKI with code-signing leaves (see tests/_pki.py)."""
    return build_pki(tmp_path_factory.mktemp("pki"), "Test")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A second, unrelated PKI (the 'wrong certificate chain')."""
    return build_pki(tmp_path_factory.mktemp("other-pki"), "Other")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """A real, approved release chain on digits (see tests/_release.py); do not modify it."""
    return build_release(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="session")
def digits_splits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Digits train/test NPZ splits (80/20, fixed permutation), see tests/_digits.py."""
    return write_digits_splits(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="session")
def trained_model(
    tmp_path_factory: pytest.TempPathFactory, digits_splits: tuple[Path, Path]
) -> Path:
    """The one model the suites share: train_model's CNN, 3 epochs on digits (~0.95 accuracy).

    Read-only (copy it to tamper): the real output of the train step, SavedModel ``1/`` plus
    provenance, trained once per session for the attacks, training and safety suites.
    """
    from kfp_mlsecops.training import train_model

    model_dir = tmp_path_factory.mktemp("trained-model") / "model"
    train_path, test_path = digits_splits
    train_model(train_path=train_path, test_path=test_path, model_dir=model_dir, epochs=3, seed=0)
    return model_dir


@pytest.fixture
def fresh_release(release: Release, tmp_path: Path) -> Release:
    """A private copy of the approved release chain, free to tamper with."""
    return release.copy(tmp_path / "release")


_GENUINE_PRINT = print


@pytest.fixture(autouse=True)
def _print_is_not_left_patched():
    """kfp.local indents task output by swapping ``builtins.print``; it must be restored."""
    import builtins

    yield
    if builtins.print is not _GENUINE_PRINT:
        leaked = builtins.print
        builtins.print = _GENUINE_PRINT
        pytest.fail(f"builtins.print left replaced by {leaked!r} after this test")
