"""The ``deploy`` fixture: run_deploy on a release chain with the test defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _deploy_helpers import deploy_kwargs
from _release import Release

from kfp_mlsecops.deploy import run_deploy


@pytest.fixture
def deploy(tmp_path: Path) -> Any:
    """Call run_deploy on a release with the test defaults (override any keyword)."""

    def call(release: Release, **overrides: Any) -> Any:
        return run_deploy(**deploy_kwargs(release, tmp_path, **overrides))

    return call
