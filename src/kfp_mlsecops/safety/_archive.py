"""Zip archives: ``.keras`` files, ``.npz`` files and PyTorch's zip format.

Every member is checked for pickles (by name and content) and object ``.npy`` arrays; member
paths must stay inside the archive. A ``.keras`` archive must hold only the members Keras writes
(``config.json``, ``metadata.json``, ``model.weights.h5`` / ``.npz``, ``assets/...``), and its
``config.json`` is scanned for code (see ``_keras``). Archives inside archives are not opened.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from kfp_mlsecops.safety import _keras, _pickle
from kfp_mlsecops.safety import report as R
from kfp_mlsecops.safety._content import scan_stream
from kfp_mlsecops.safety.report import Finding

KERAS_MEMBERS = frozenset({"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"})


def scan_zip(path: Path, rel: str, *, pickles_only: bool) -> list[Finding]:
    """Return findings for the zip at ``path``; ``pickles_only`` skips the Keras checks."""
    is_keras = rel.endswith(".keras")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        return [Finding(rel, R.UNSCANNABLE, f"not a readable zip archive ({e})")]
    findings: list[Finding] = []
    with archive:
        for info in archive.infolist():
            findings += _scan_member(archive, info, rel, is_keras and not pickles_only)
        if is_keras and not pickles_only:
            findings += _scan_keras_config(archive, rel)
    return findings


def _scan_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, keras_layout: bool
) -> list[Finding]:
    name = info.filename
    where = f"{rel}:{name}"
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name:
        return [Finding(where, R.ARCHIVE, "member path escapes the archive")]
    if info.is_dir():
        return []
    findings: list[Finding] = []
    if keras_layout and name not in KERAS_MEMBERS and not name.startswith("assets/"):
        findings.append(Finding(where, R.ARCHIVE, "member Keras does not write in a .keras file"))

    def open_member() -> IO[bytes]:
        return archive.open(info)

    try:
        findings += scan_stream(
            open_member, where, pickle_name=name.lower().endswith(_pickle.PICKLE_EXTENSIONS)
        )
    except Exception as e:  # noqa: BLE001 - encrypted or corrupt member: cannot be declared safe
        detail = " ".join(str(e).split())[:160]
        findings.append(Finding(where, R.UNSCANNABLE, f"member cannot be read ({detail})"))
    return findings


def _scan_keras_config(archive: zipfile.ZipFile, rel: str) -> list[Finding]:
    where = f"{rel}:config.json"
    try:
        info = archive.getinfo("config.json")
    except KeyError:
        return [Finding(rel, R.UNSCANNABLE, ".keras archive has no config.json")]
    if info.file_size > _keras.MAX_CONFIG_BYTES:
        return [Finding(where, R.UNSCANNABLE, f"config.json is {info.file_size} bytes (too big)")]
    try:
        data = archive.read(info)
    except Exception as e:  # noqa: BLE001 - unreadable config: cannot be declared safe
        return [Finding(where, R.UNSCANNABLE, f"config.json cannot be read ({e})")]
    return _keras.scan_config_json(data, where)
