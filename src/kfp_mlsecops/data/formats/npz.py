"""NPZ archives: numeric arrays ``x`` (N, F), (N, H, W) or (N, H, W, C) and ``y`` (N,)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.formats import DataFormat
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["FORMAT"]


def _npy_dtype(archive: zipfile.ZipFile, member: str) -> np.dtype:
    """Read only the header of one ``.npy`` member (never its payload, never a pickle)."""
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(handle)
    return np.dtype(dtype)


def _read(source: str, path: Path, label_column: str) -> LabeledData:
    del label_column  # the labels are the array 'y'
    names = (C.NPZ_X, C.NPZ_Y)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            missing = [n for n in names if f"{n}.npy" not in members]
            if missing:
                raise InvalidInputError(
                    f"dataset '{source}': missing arrays {missing}; "
                    "save it with numpy.savez(path, x=features, y=labels)"
                )
            for name in names:
                if _npy_dtype(archive, f"{name}.npy").hasobject:
                    raise InvalidInputError(
                        f"dataset '{source}': array '{name}' is an object (pickled) array, "
                        "refused for safety; save plain numeric arrays"
                    )
        with np.load(path, allow_pickle=False) as npz:
            x = np.asarray(npz[C.NPZ_X])
            y = np.asarray(npz[C.NPZ_Y])
    except InvalidInputError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable archive is the same user error
        raise InvalidInputError(
            f"dataset '{source}': not a readable NPZ archive ({type(e).__name__}); "
            "save it with numpy.savez(path, x=features, y=labels)"
        ) from e
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim not in (2, 4):
        raise InvalidInputError(
            f"dataset '{source}': array 'x' has shape {x.shape}; "
            "expected (N, features), (N, H, W) or (N, H, W, C)"
        )
    return LabeledData(source=source, x=x, y=y)


FORMAT = DataFormat(
    name="npz",
    suffixes=(".npz",),
    is_folder=False,
    description="an .npz with numeric arrays 'x' and 'y'",
    read=_read,
)
