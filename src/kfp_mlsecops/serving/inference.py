"""Load a verified model for serving: its servable SavedModel, a predict function, a probe."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving.payload import InputSpec

__all__ = ["DEFAULT_THREADS", "LoadedModel", "load_for_serving"]

Predict = Callable[[np.ndarray], np.ndarray]
_PROBE_TOLERANCE = 1e-3
#: Requests are predicted one after another on the server's event loop, and small models gain
#: nothing from a thread pool per operation: one thread halved the CPU time per request of the
#: digits CNN on 2 cores (pool threads spin while waiting). Raise it for large models.
DEFAULT_THREADS = 1
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to predict: its input contract, class count and predict function."""

    spec: InputSpec
    n_classes: int
    predict: Predict


def load_for_serving(
    model_dir: str | os.PathLike[str],
    *,
    input_range: tuple[float, float] | None = None,
    model_output: str | None = None,
    threads: int | None = DEFAULT_THREADS,
) -> LoadedModel:
    """Load the servable SavedModel ``1/`` from a (verified) model dir.

    ``input_range`` is the ``(lower, upper)`` range inputs must lie in: the verified predictor
    passes the range the attested results were measured on. A ``provenance.json`` in the folder
    is optional; when it names a range too, the two must agree. With ``input_range=None`` the
    range is read from ``provenance.json``, which must then exist.
    ``model_output`` is how attack-test read the scores (the attested results' ``model_output``):
    ``logits`` are served as probabilities (softmax), anything else as they are. ``None`` reads
    a signature output named ``logits`` as logits (an imported model).

    The layout is checked first (:func:`kfp_mlsecops.servable.check_layout`), so what is served
    is the SavedModel that was attacked, signed and approved, and nothing else in the folder.
    The predict function calls the serving signature on float32 batches of any size.
    A probe batch must give finite probability vectors, else InvalidInputError. ``threads`` sets
    TensorFlow's intra- and inter-op thread pools (None keeps TensorFlow's default of one per
    core); it only takes effect if TensorFlow has not run an operation yet in this process.
    """
    if threads is not None:
        _set_threads(threads)
    from kfp_mlsecops.servable import load_servable

    folder = Path(model_dir)
    model = load_servable(folder)
    lower, upper = _serving_range(folder / C.PROVENANCE_FILE, input_range)
    shape = model.input_shape
    spec = InputSpec(shape=shape, lower=lower, upper=upper)
    logits = model.output_name == "logits" if model_output is None else model_output == "logits"
    predict = _softmax_of(model.predict) if logits else model.predict
    probe = np.full((2, *shape), (lower + upper) / 2, dtype=np.float32)
    try:
        out = predict(probe)
    except Exception as e:  # noqa: BLE001 - a model that cannot run on its own shape is unusable
        raise InvalidInputError(
            f"model '{folder}': a probe prediction failed ({type(e).__name__}); retrain it"
        ) from e
    if (
        out.ndim != 2
        or out.shape[0] != 2
        or out.shape[1] < 2
        or not np.isfinite(out).all()
        or not np.allclose(out.sum(axis=1), 1.0, atol=_PROBE_TOLERANCE)
    ):
        raise InvalidInputError(
            f"model '{folder}': output {out.shape} is not one probability vector per instance; "
            "export a classifier that returns class probabilities or logits"
        )
    return LoadedModel(spec=spec, n_classes=int(out.shape[1]), predict=predict)


def _softmax_of(logits: Predict) -> Predict:
    """Serve probabilities from a model whose signature returns logits (an imported model)."""

    def predict(batch: np.ndarray) -> np.ndarray:
        z = logits(batch).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    return predict


def _set_threads(threads: int) -> None:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidInputError(f"threads={threads!r}: must be an integer >= 1 (or None)")
    import tensorflow as tf

    threading = tf.config.threading
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran an op here; its pools are fixed now
        if threading.get_intra_op_parallelism_threads() != threads:
            _log.warning(
                "TensorFlow is already initialised in this process; keeping its thread pools "
                "instead of %d thread(s)",
                threads,
            )


def _serving_range(provenance: Path, tested: tuple[float, float] | None) -> tuple[float, float]:
    """Return the range to serve: the tested one, checked against the model's provenance."""
    if tested is None:
        return _input_range(provenance)
    lower, upper = (float(v) for v in tested)
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise InvalidInputError(f"input range [{lower}, {upper}] is not a finite range")
    if provenance.exists():
        recorded = _input_range(provenance)
        if recorded != (lower, upper):
            raise InvalidInputError(
                f"provenance '{provenance}': input_range {list(recorded)} differs from the "
                f"range the model was attack-tested on {[lower, upper]}; re-run the pipeline"
            )
    return lower, upper


def _input_range(path: Path) -> tuple[float, float]:
    where = f"provenance '{path}'"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        lower = float(doc["input_range"]["lower"])
        upper = float(doc["input_range"]["upper"])
    except FileNotFoundError as e:
        raise InvalidInputError(
            f"{where}: missing; pass the tested input range (the verified predictor reads it "
            "from the attestation)"
        ) from e
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidInputError(
            f"{where}: no usable input_range ({type(e).__name__}); serve a model from train_model"
        ) from e
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise InvalidInputError(f"{where}: input_range [{lower}, {upper}] is not a finite range")
    return lower, upper
