"""Scan a model directory for code-carrying content; refuse pickle-based files before loading."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.safety import report as R
from kfp_mlsecops.safety._archive import scan_zip
from kfp_mlsecops.safety._content import HEAD_BYTES, ZIP_MAGICS, scan_stream
from kfp_mlsecops.safety._keras import scan_legacy_h5
from kfp_mlsecops.safety._pickle import PICKLE_EXTENSIONS
from kfp_mlsecops.safety._savedmodel import scan_savedmodel
from kfp_mlsecops.safety.report import Finding, ScanReport

_SAVEDMODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_H5_SUFFIXES = (".h5", ".hdf5")
_MAX_LISTED = 8


def scan_model(model_dir: str | os.PathLike[str]) -> ScanReport:
    """Scan every file of ``model_dir`` offline and return what was found (nothing is loaded).

    Checks: pickles anywhere (by name, by content, inside zip archives, object ``.npy``); Keras
    ``.keras`` configs (Lambda layers, custom code); legacy HDF5 models; SavedModel graphs (ops
    that run Python or touch files or the network, unknown ops); symlinks and special files.
    Call :meth:`ScanReport.require_safe` to turn the report into a gate decision. Raises
    InvalidInputError only when ``model_dir`` is not a directory.
    """
    root = _root(model_dir)
    scanned: list[str] = []
    findings: list[Finding] = []
    for rel, path, problem in _entries(root):
        if problem:
            findings.append(Finding(rel, problem[0], problem[1]))
            continue
        scanned.append(rel)
        findings += _scan_file(path, rel, pickles_only=False)
    return ScanReport(str(model_dir), tuple(scanned), tuple(findings))


def refuse_pickle_formats(model_dir: str | os.PathLike[str]) -> None:
    """Raise InvalidInputError naming every pickle-based file in ``model_dir`` (none: return).

    Pickle-based: ``.pkl`` / ``.pickle`` / ``.joblib`` / ``.dill`` files, any file or archive
    member whose content is a pickle (``.pt`` / ``.pth`` / ``.bin`` / ``.ckpt``, PyTorch zip
    checkpoints, pickles renamed to anything), and numpy object arrays. Does not import
    TensorFlow. Loading itself stays with :func:`kfp_mlsecops.training.load_model` (``.keras``
    only, ``safe_mode=True``).
    """
    root = _root(model_dir)
    pickles: list[str] = []
    for rel, path, problem in _entries(root):
        if problem is None:
            found = _scan_file(path, rel, pickles_only=True)
            pickles += [f.path for f in found if f.kind == R.PICKLE]
    if pickles:
        shown = ", ".join(dict.fromkeys(pickles[:_MAX_LISTED]))
        more = f" and {len(pickles) - _MAX_LISTED} more" if len(pickles) > _MAX_LISTED else ""
        raise InvalidInputError(
            f"model '{model_dir}': pickle-based files can run code when loaded ({shown}{more}); "
            "remove them and save models as .keras or SavedModel"
        )


def _root(model_dir: str | os.PathLike[str]) -> Path:
    if isinstance(model_dir, bool) or not isinstance(model_dir, (str, os.PathLike)):
        raise InvalidInputError(f"model_dir must be a path, got {type(model_dir).__name__}")
    root = Path(model_dir)
    if not str(model_dir) or not root.is_dir():
        raise InvalidInputError(
            f"model directory '{model_dir}' does not exist or is not a directory; pass the model"
        )
    return root


def _entries(root: Path) -> Iterator[tuple[str, Path, tuple[str, str] | None]]:
    """Yield (relative path, path, problem) for every entry; problem=(kind, detail) or None."""
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            try:
                mode = path.lstat().st_mode
            except OSError as e:
                yield rel, path, (R.UNSCANNABLE, f"cannot be read ({e.strerror})")
                continue
            if stat.S_ISLNK(mode):
                yield rel, path, (R.NOT_REGULAR_FILE, "symlink (not followed; ship real files)")
            elif stat.S_ISREG(mode):
                yield rel, path, None
            elif not stat.S_ISDIR(mode):
                yield rel, path, (R.NOT_REGULAR_FILE, "special file (not a regular file)")
    for error in errors:
        where = Path(error.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        yield rel, where, (R.UNSCANNABLE, f"folder cannot be listed ({error.strerror})")


def _scan_file(path: Path, rel: str, *, pickles_only: bool) -> list[Finding]:
    pickle_name = path.name.lower().endswith(PICKLE_EXTENSIONS)

    def open_file() -> IO[bytes]:
        return path.open("rb")

    try:
        with open_file() as handle:
            head = handle.read(HEAD_BYTES)
        findings: list[Finding] = []
        if head.startswith(ZIP_MAGICS) or path.suffix == ".keras":
            findings += scan_zip(path, rel, pickles_only=pickles_only)
            if pickle_name:
                findings.append(Finding(rel, R.PICKLE, "pickle-named archive (joblib/pickle)"))
        else:
            findings += scan_stream(open_file, rel, pickle_name=pickle_name)
        if not pickles_only and path.name in _SAVEDMODEL_FILES:
            findings += scan_savedmodel(path, rel)
        elif not pickles_only and path.suffix.lower() in _H5_SUFFIXES:
            findings += scan_legacy_h5(path, rel)
    except OSError as e:
        return [Finding(rel, R.UNSCANNABLE, f"cannot be read ({e.strerror})")]
    return findings
