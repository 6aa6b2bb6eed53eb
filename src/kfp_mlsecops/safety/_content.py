"""Look at one byte stream (a file or an archive member): a pickle, or an object .npy."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

import numpy as np

from kfp_mlsecops.safety import _pickle
from kfp_mlsecops.safety import report as R
from kfp_mlsecops.safety.report import Finding

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
HEAD_BYTES = 8

#: Opens the stream again from its start (each check reads from the beginning).
Opener = Callable[[], IO[bytes]]


def scan_stream(open_stream: Opener, where: str, *, pickle_name: bool) -> list[Finding]:
    """Return pickle findings for one stream; ``pickle_name``: its name says it is a pickle."""
    with open_stream() as stream:
        head = stream.read(HEAD_BYTES)
    if head.startswith(NPY_MAGIC):
        return _scan_npy(open_stream, where)
    with open_stream() as stream:
        info = _pickle.analyze(stream, head)
    if not (info.is_pickle or pickle_name):
        return []
    findings = [
        Finding(
            where,
            R.PICKLE,
            "pickle-based file (loading it can run arbitrary code); use .keras or SavedModel",
        )
    ]
    findings += [
        Finding(where, R.PICKLE_GLOBAL, f"pickle imports {name} (code it would run when loaded)")
        for name in _pickle.unsafe_imports(info.imports)[:20]
    ]
    return findings


def _scan_npy(open_stream: Opener, where: str) -> list[Finding]:
    try:
        with open_stream() as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                _, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                return [Finding(where, R.UNSCANNABLE, f".npy format version {version} not read")]
    except Exception as e:  # noqa: BLE001 - an unreadable header cannot be declared safe
        detail = " ".join(str(e).split())[:160]
        return [Finding(where, R.UNSCANNABLE, f".npy header cannot be read ({detail})")]
    if dtype.hasobject:
        return [
            Finding(
                where,
                R.PICKLE,
                "numpy object array (stored as a pickle; loading it can run code)",
            )
        ]
    return []
