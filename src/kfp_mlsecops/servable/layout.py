"""The one servable layout: what a model folder may hold, so served = tested = signed.

KServe's TensorFlow runtime (TF Serving) serves the HIGHEST numbered version folder of the
model, the verified predictor and the attacks load the SavedModel under ``1/``, and the model
signature covers regular files only (empty folders are outside every digest). So a model folder
must hold exactly one thing a runtime can load, the SavedModel ``1/``, and nothing a runtime
could load instead:

- top level: the folder ``1/`` and, optionally, the data files ``provenance.json`` and
  ``reference_stats.json``; nothing else (no ``2/``, no ``model.keras``, no stray files);
- ``1/``: ``saved_model.pb`` (required), ``fingerprint.pb``, ``variables/`` holding only
  ``variables.index`` and ``variables.data-NNNNN-of-NNNNN``, and ``assets/`` (files the graph
  reads); no ``saved_model.pbtxt`` (a second graph) and no ``assets.extra/`` (TF Serving warmup
  requests it would run at load);
- no empty folder, symlink or special file anywhere.

:func:`check_layout` returns None or raises :class:`~kfp_mlsecops.errors.VerificationError`
naming the first offending path; attack-test, the gate (control ``model_layout``), deploy and
the verified predictor all call it, so each acts on the artifact the others saw.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import VerificationError

__all__ = ["OPTIONAL_FILES", "check_layout", "savedmodel_dir"]

#: Data files a model folder may carry beside ``1/`` (read as JSON, never loaded as a model).
OPTIONAL_FILES = (C.PROVENANCE_FILE, C.REFERENCE_STATS_FILE)
_SAVEDMODEL_FILE = "saved_model.pb"
_SAVEDMODEL_OPTIONAL_FILES = ("fingerprint.pb",)
_VARIABLES_DIR = "variables"
_ASSETS_DIR = "assets"
_VARIABLES_FILE = re.compile(r"variables\.(index|data-\d{5}-of-\d{5})")
_FIX = "keep exactly one SavedModel under '1/' (export it again with train or mlsecops)"


def savedmodel_dir(model_dir: str | os.PathLike[str]) -> Path:
    """Return ``<model_dir>/1`` after :func:`check_layout` accepted the folder."""
    check_layout(model_dir)
    return Path(model_dir) / C.SAVEDMODEL_VERSION_DIR


def check_layout(model_dir: str | os.PathLike[str]) -> None:
    """Raise VerificationError unless ``model_dir`` holds exactly the servable layout.

    See the module docstring for the layout. The first offending path is named in the one-line
    message, which ends with what to do.
    """
    root = Path(model_dir)

    def refuse(rel: str, why: str) -> VerificationError:
        return VerificationError(f"model '{model_dir}': '{rel}' {why}; {_FIX}")

    if not root.is_dir() or root.is_symlink():
        raise VerificationError(f"model '{model_dir}' is not a folder; pass the model artifact")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_raise):
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise refuse(rel, "is a symlink")
            if stat.S_ISDIR(mode):
                if not any(path.iterdir()):
                    raise refuse(rel + "/", "is an empty folder (outside every digest); remove it")
            elif not stat.S_ISREG(mode):
                raise refuse(rel, "is not a regular file")
            problem = _problem(rel, is_dir=stat.S_ISDIR(mode))
            if problem:
                raise refuse(rel + ("/" if stat.S_ISDIR(mode) else ""), problem)
    if not (root / C.SAVEDMODEL_VERSION_DIR / _SAVEDMODEL_FILE).is_file():
        raise VerificationError(
            f"model '{model_dir}': no SavedModel at '{C.SAVEDMODEL_VERSION_DIR}/"
            f"{_SAVEDMODEL_FILE}'; {_FIX}"
        )


def _problem(rel: str, *, is_dir: bool) -> str | None:
    """Return why ``rel`` (POSIX, relative to the model folder) is not allowed, or None."""
    parts = rel.split("/")
    top = parts[0]
    if len(parts) == 1:
        if top == C.SAVEDMODEL_VERSION_DIR and is_dir:
            return None
        if top in OPTIONAL_FILES and not is_dir:
            return None
        if is_dir and top.isdigit():
            return "is another SavedModel version (TF Serving serves the highest one)"
        return "is not part of the servable layout (a runtime could load it instead)"
    if top != C.SAVEDMODEL_VERSION_DIR:
        return "is not part of the servable layout"
    inner = parts[1]
    if len(parts) == 2:
        if not is_dir and inner in (_SAVEDMODEL_FILE, *_SAVEDMODEL_OPTIONAL_FILES):
            return None
        if is_dir and inner in (_VARIABLES_DIR, _ASSETS_DIR):
            return None
        if inner == "saved_model.pbtxt":
            return "is a second SavedModel graph (a loader could pick it)"
        if inner == "assets.extra":
            return "holds TF Serving warmup requests (run at load, never tested)"
        return "is not part of a SavedModel"
    if inner == _ASSETS_DIR:
        return None
    if inner == _VARIABLES_DIR and len(parts) == 3 and not is_dir:
        return None if _VARIABLES_FILE.fullmatch(parts[2]) else "is not a variables shard"
    return "is not part of a SavedModel"


def _raise(error: OSError) -> None:
    raise VerificationError(
        f"model folder '{error.filename}' cannot be listed ({error.strerror}); fix permissions"
    )
