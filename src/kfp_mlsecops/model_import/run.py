"""Bring a model trained elsewhere into the one servable layout, checked on the evaluation data.

The model is loaded safely by its format module (:mod:`kfp_mlsecops.model_import.formats`),
checked against the evaluation split (input shape, one finite score per class), and written as
the SavedModel ``1/`` with a ``serving_default`` signature (input ``inputs``; output
``probabilities`` or ``logits``, as detected). The export is reloaded and must reproduce the
source model's scores. From here on the model is what attack-test attacks, the gate approves
and KServe serves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import sha256_file, write_json_atomic
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.model_import.formats import detect_model_format, get_model_format
from kfp_mlsecops.servable.export import export_savedmodel
from kfp_mlsecops.servable.folder import write_model_folder
from kfp_mlsecops.training.provenance import library_versions, serving_record

__all__ = ["OUTPUT_KINDS", "ImportResult", "import_model"]

#: How the imported model's scores are named in its serving signature.
OUTPUT_KINDS = ("probabilities", "logits")
#: Evaluation samples the export is checked on.
_PROBE = 64
#: Rows summing to 1 within this are probabilities.
_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ImportResult:
    """What was imported: the format, how scores are named, classes and input shape."""

    model_format: str
    output_kind: str
    n_classes: int
    input_shape: tuple[int, ...]


def import_model(
    *,
    source: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    model_format: str = "",
) -> ImportResult:
    """Write the model at ``source`` to ``model_dir`` in the servable layout.

    ``model_format`` is ``keras`` or ``savedmodel`` (empty: recognised from the path).
    ``test_path`` is validate-data's test split: the model must take its samples' shape and
    score at least its classes. Raises InvalidInputError naming the first problem; ``model_dir``
    is then left as it was.
    """
    path = Path(source)
    if not path.exists():
        raise InvalidInputError(f"model '{source}': no such file or folder; pass the model path")
    if path.is_symlink():
        raise InvalidInputError(f"model '{source}': is a symlink; pass the real path")
    fmt = get_model_format(model_format) if model_format else detect_model_format(path)
    if not fmt.recognises(path):
        raise InvalidInputError(f"model '{source}': not {fmt.description}; check model_format")
    split = load_split(test_path)
    if not len(split.x):
        raise InvalidInputError(f"split '{test_path}': no samples; pass evaluation data")
    scores, tracked, shape = fmt.load(path)
    if shape != tuple(split.x.shape[1:]):
        raise InvalidInputError(
            f"model '{source}': takes inputs shaped {shape} but the data's samples are "
            f"{tuple(split.x.shape[1:])}; pass the matching data or reshape inside the model"
        )
    probe = split.x[:_PROBE]
    kind, n_classes = _output_kind(source, scores, probe, split.n_classes)

    provenance = _provenance(fmt.name, path, shape, n_classes, kind, split.lower, split.upper)

    def fill(staging: Path) -> None:
        export_savedmodel(
            tracked,
            staging / C.SAVEDMODEL_VERSION_DIR,
            probe=probe,
            scores=scores,
            output_name=kind,
        )
        write_json_atomic(staging / C.PROVENANCE_FILE, provenance)

    write_model_folder(Path(model_dir), fill)
    return ImportResult(
        model_format=fmt.name, output_kind=kind, n_classes=n_classes, input_shape=shape
    )


def _provenance(
    model_format: str,
    source: Path,
    shape: tuple[int, ...],
    n_classes: int,
    kind: str,
    lower: float,
    upper: float,
) -> dict[str, Any]:
    """Return ``provenance.json`` for an imported model: where it came from and how it serves.

    The source's files are hashed (SHA-256 per file, sorted by path) so the record names
    exactly what was imported; the input range is the evaluation data's.
    """
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    base = source.parent if source.is_file() else source
    return {
        "schema": C.PROVENANCE_SCHEMA,
        "imported": {
            "format": model_format,
            "source": str(source),
            "files_sha256": {
                p.relative_to(base).as_posix(): f"sha256:{sha256_file(p)}" for p in files
            },
        },
        "input_shape": [int(d) for d in shape],
        "n_classes": int(n_classes),
        "input_range": {"lower": float(lower), "upper": float(upper)},
        "libraries": library_versions(),
        "serving": serving_record(kind),
    }


def _output_kind(source: object, scores: Any, probe: np.ndarray, n_labels: int) -> tuple[str, int]:
    """Return ``probabilities`` or ``logits`` and the class count, or refuse the output."""
    import tensorflow as tf

    try:
        out = np.asarray(scores(tf.constant(probe)), dtype=np.float32)
    except Exception as e:  # noqa: BLE001 - any failure on real samples means unusable
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        raise InvalidInputError(f"model '{source}': fails on the evaluation data ({detail})") from e
    if out.ndim != 2 or out.shape[1] < 2:
        raise InvalidInputError(
            f"model '{source}': outputs shape {out.shape}; a classifier returns one score per "
            "class (batch, classes)"
        )
    if out.shape[1] < n_labels:
        raise InvalidInputError(
            f"model '{source}': scores {out.shape[1]} classes but the data has labels up to "
            f"{n_labels - 1}; pass the matching data"
        )
    if not np.isfinite(out).all():
        raise InvalidInputError(f"model '{source}': outputs NaN or infinity on the evaluation data")
    rows = out.sum(axis=1)
    is_distribution = bool(
        (out >= 0).all() and (out <= 1).all() and np.all(np.abs(rows - 1) <= _SUM_TOLERANCE)
    )
    return ("probabilities" if is_distribution else "logits"), int(out.shape[1])
