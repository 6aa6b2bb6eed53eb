"""Write a model folder all at once: staged beside the target, checked, then swapped in.

Training and model import both produce a model folder this way, so a failed or interrupted
write never leaves a half-written model where the next step would read it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.servable.layout import check_layout

__all__ = ["write_model_folder"]


def write_model_folder(target: Path, fill: Callable[[Path], None]) -> None:
    """Call ``fill(staging)``, check the servable layout, then replace ``target`` with it.

    The staging folder is removed on any failure; an existing ``target`` is swapped out and
    deleted only after the new folder is in place.
    """
    if target.exists() and not target.is_dir():
        raise InvalidInputError(
            f"model_dir '{target}': exists and is not a directory; pass a folder path"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        fill(staging)
        # mkdtemp/mkstemp create owner-only modes; the serving and signing steps may run as others.
        for path in staging.rglob("*"):
            if path.is_file():
                os.chmod(path, 0o644)
        os.chmod(staging, 0o755)  # noqa: S103 - a model dir is world-readable, not writable
        check_layout(staging)  # what we ship is exactly the servable layout
        _replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace_dir(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; an existing ``target`` is swapped out, then deleted."""
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.replace(staging, target)
        return
    retired = staging.with_name(staging.name + ".old")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
