"""Read and write one dataset split: the NPZ contract of validate_data, train and attack_test."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["Split", "load_split", "save_split"]


@dataclass(frozen=True)
class Split:
    """One split: inputs ``x`` (float32), integer labels ``y`` and the valid input range."""

    x: np.ndarray
    y: np.ndarray
    lower: float
    upper: float
    n_classes: int

    @property
    def is_image(self) -> bool:
        """True when ``x`` is a batch of images shaped (N, H, W, C)."""
        return self.x.ndim == 4


def save_split(path: str | os.PathLike[str], split: Split) -> Path:
    """Write ``split`` as an uncompressed NPZ with fixed zip timestamps (same data, same bytes)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray | np.generic] = {
        C.NPZ_X: np.ascontiguousarray(split.x, dtype=np.float32),
        C.NPZ_Y: np.ascontiguousarray(split.y, dtype=np.int64),
        C.NPZ_LOWER: np.float32(split.lower),
        C.NPZ_UPPER: np.float32(split.upper),
        C.NPZ_N_CLASSES: np.int64(split.n_classes),
    }
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.save(buffer, arrays[name], allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, buffer.getvalue())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load_split(path: str | os.PathLike[str]) -> Split:
    """Load a split written by :func:`save_split`; raise InvalidInputError if it is unusable."""
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(
            f"split '{source}': file not found; pass the output of validate_data"
        )
    try:
        with np.load(source, allow_pickle=False) as npz:
            missing = {C.NPZ_X, C.NPZ_Y, C.NPZ_LOWER, C.NPZ_UPPER, C.NPZ_N_CLASSES} - set(npz.files)
            if missing:
                raise InvalidInputError(
                    f"split '{source}': missing arrays {sorted(missing)}; "
                    "write splits with kfp_mlsecops.data.save_split"
                )
            return Split(
                x=npz[C.NPZ_X].astype(np.float32, copy=False),
                y=npz[C.NPZ_Y].astype(np.int64, copy=False),
                lower=float(npz[C.NPZ_LOWER]),
                upper=float(npz[C.NPZ_UPPER]),
                n_classes=int(npz[C.NPZ_N_CLASSES]),
            )
    except InvalidInputError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise InvalidInputError(
            f"split '{source}': not a readable NPZ ({type(e).__name__}); "
            "regenerate it with validate_data"
        ) from e
