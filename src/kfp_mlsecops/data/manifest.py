"""Content digests of dataset splits and the data manifest written next to them.

Digest definition (``algorithm`` = sha256; every digest is written ``"sha256:<hex>"``):

* **Split digest** - SHA-256 over the five arrays a split NPZ stores, in sorted name order
  (``lower``, ``n_classes``, ``upper``, ``x``, ``y``), each normalised exactly as
  :func:`~kfp_mlsecops.data.split_io.save_split` stores it (x ``<f4``, y ``<i8``, lower/upper
  ``<f4`` scalars, n_classes ``<i8`` scalar; little-endian, C order). Each array contributes a
  header - compact sorted JSON ``{"dtype": ..., "name": ..., "shape": [...]}`` - and then its raw
  bytes, each part prefixed by its length as an 8-byte little-endian integer, so no two different
  contents can produce the same byte stream.
* **Dataset digest** - SHA-256 over the compact sorted JSON ``{"algorithm": "sha256",
  "schema": DATA_MANIFEST_SCHEMA, "splits": {"test": <test hex>, "train": <train hex>}}``.

Both depend only on array content (values, dtype, shape), the valid range and the class count -
never on file names, timestamps or the NPZ container bytes - so the same data, seed and
parameters always give the same digest, and any change to a value, label, range or split does not.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import sha256_file
from kfp_mlsecops.data.split_io import Split

__all__ = ["ALGORITHM", "build_manifest", "dataset_digest", "split_digest"]

ALGORITHM = "sha256"


def _canonical_arrays(split: Split) -> dict[str, np.ndarray]:
    return {
        C.NPZ_X: np.ascontiguousarray(split.x, dtype="<f4"),
        C.NPZ_Y: np.ascontiguousarray(split.y, dtype="<i8"),
        C.NPZ_LOWER: np.asarray(split.lower, dtype="<f4"),
        C.NPZ_UPPER: np.asarray(split.upper, dtype="<f4"),
        C.NPZ_N_CLASSES: np.asarray(split.n_classes, dtype="<i8"),
    }


def _framed(hasher: Any, part: bytes) -> None:
    hasher.update(struct.pack("<Q", len(part)))
    hasher.update(part)


def _compact_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _split_hex(split: Split) -> str:
    hasher = hashlib.sha256()
    arrays = _canonical_arrays(split)
    for name in sorted(arrays):
        array = arrays[name]
        header = {"dtype": array.dtype.str, "name": name, "shape": list(array.shape)}
        _framed(hasher, _compact_json(header))
        _framed(hasher, array.tobytes(order="C"))
    return hasher.hexdigest()


def split_digest(split: Split) -> str:
    """Return the content digest ``"sha256:<hex>"`` of one split (see the module docstring)."""
    return f"{ALGORITHM}:{_split_hex(split)}"


def dataset_digest(train: Split, test: Split) -> str:
    """Return the overall content digest ``"sha256:<hex>"`` of a train/test pair."""
    body = {
        "algorithm": ALGORITHM,
        "schema": C.DATA_MANIFEST_SCHEMA,
        "splits": {"test": _split_hex(test), "train": _split_hex(train)},
    }
    return f"{ALGORITHM}:{hashlib.sha256(_compact_json(body)).hexdigest()}"


def _split_entry(split: Split, path: str) -> dict[str, Any]:
    return {
        "digest": split_digest(split),
        "file_sha256": f"{ALGORITHM}:{sha256_file(path)}",
        "n_samples": int(split.x.shape[0]),
        "class_counts": np.bincount(split.y, minlength=split.n_classes).tolist(),
    }


def build_manifest(
    *,
    source: str,
    train: Split,
    test: Split,
    train_path: str,
    test_path: str,
    test_fraction: float,
    seed: int,
    evaluation_only: bool = False,
) -> dict[str, Any]:
    """Return the data manifest for splits already written to ``train_path`` and ``test_path``.

    ``evaluation_only`` records that no split was made (every sample is test data).
    """
    return {
        "schema": C.DATA_MANIFEST_SCHEMA,
        "algorithm": ALGORITHM,
        "digest": dataset_digest(train, test),
        "source": source,
        "n_classes": int(train.n_classes),
        "lower": float(train.lower),
        "upper": float(train.upper),
        "sample_shape": [int(d) for d in train.x.shape[1:]],
        "test_fraction": float(test_fraction),
        "seed": int(seed),
        "evaluation_only": bool(evaluation_only),
        "splits": {"train": _split_entry(train, train_path), "test": _split_entry(test, test_path)},
    }
