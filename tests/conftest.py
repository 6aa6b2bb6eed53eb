"""Shared test fixtures and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Upstream model-transparency test vectors, laid beside the repo as ../shared (read-only).
FIXTURES = REPO.parent / "shared" / "fixtures" / "model-transparency"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
