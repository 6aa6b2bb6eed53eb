"""Load the servable SavedModel: one serving signature, one float input, one score output.

The attacks, the gate's re-derivation and the verified predictor all load a model through
:func:`load_servable`, so they run the very function TF Serving would serve. The signature's
graph is refused when it holds operations that touch files or run Python (a SavedModel is a
program: load only models that passed the gate's checks).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.servable.layout import savedmodel_dir

__all__ = ["UNSAFE_OPS", "SavedModelClassifier", "load_servable"]

#: Graph operations a classifier's serving signature has no business running.
UNSAFE_OPS = frozenset(
    {
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "DeleteFile",
        "PyFunc",
        "PyFuncStateless",
        "EagerPyFunc",
        "ShardedFilename",
        "SaveV2",
        "Save",
        "SaveSlices",
        "RestoreV2",
        "Restore",
        "RestoreSlice",
        "ImmutableConst",
        "PrintV2",
        "Print",
    }
)


def load_servable(model_dir: str | os.PathLike[str]) -> SavedModelClassifier:
    """Check the servable layout of ``model_dir`` and load its SavedModel ``1/``.

    Raises VerificationError for a layout with anything a runtime could load instead, and
    InvalidInputError for a SavedModel without a usable serving signature.
    """
    return SavedModelClassifier(savedmodel_dir(model_dir))


class SavedModelClassifier:
    """A SavedModel serving signature exposed like a one-input Keras classifier.

    Provides ``inputs`` (one ``TensorSpec``), ``input_shape`` (one sample), ``name``,
    ``__call__(x, training=False)`` (differentiable with respect to ``x`` inside
    ``tf.function``) and :meth:`predict` (NumPy in, float32 scores out).
    """

    def __init__(self, path: str | os.PathLike[str], *, signature: str = C.SERVING_SIGNATURE):
        import tensorflow as tf

        where = f"SavedModel '{path}'"
        try:
            self._loaded = tf.saved_model.load(str(path))
            function = self._loaded.signatures[signature]
        except KeyError as e:
            raise InvalidInputError(
                f"{where}: no '{signature}' signature; export one that returns class scores"
            ) from e
        except Exception as e:  # noqa: BLE001 - every load failure means an unusable model
            detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
            raise InvalidInputError(f"{where}: cannot be loaded ({detail})") from e
        _refuse_unsafe_ops(function, where=where)
        args, kwargs = function.structured_input_signature
        if args or len(kwargs) != 1:
            raise InvalidInputError(
                f"{where}: signature '{signature}' takes {len(args) + len(kwargs)} inputs; "
                "a classifier needs exactly one named input"
            )
        ((self._input_name, spec),) = kwargs.items()
        if not spec.dtype.is_floating:
            raise InvalidInputError(
                f"{where}: input '{self._input_name}' is {spec.dtype.name}; need a float input"
            )
        if spec.shape.rank is None or any(d is None for d in spec.shape[1:]):
            raise InvalidInputError(
                f"{where}: input '{self._input_name}' has shape {spec.shape}; every dimension "
                "but the batch must be fixed"
            )
        self._output_name = _pick_output(function.structured_outputs, where=where)
        self._function = function
        self._dtype = spec.dtype
        self.inputs = [spec]
        self.input_shape: tuple[int, ...] = tuple(int(d) for d in spec.shape[1:])
        self.name = Path(path).resolve().name

    @property
    def tracked(self) -> Any:
        """The loaded SavedModel object (holds the variables; track it to re-export)."""
        return self._loaded

    @property
    def output_name(self) -> str:
        """The signature output read as class scores."""
        return self._output_name

    def __call__(self, x: Any, training: bool = False) -> Any:
        """Return the signature's score output for a batch ``x``."""
        import tensorflow as tf

        out = self._function(**{self._input_name: tf.cast(x, self._dtype)})[self._output_name]
        return tf.cast(out, tf.float32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Return the scores for a NumPy batch as float32 (the served computation)."""
        import tensorflow as tf

        out = self._function(**{self._input_name: tf.constant(batch, dtype=self._dtype)})
        return np.asarray(out[self._output_name], dtype=np.float32)


def _pick_output(outputs: Any, *, where: str) -> str:
    names = sorted(outputs) if isinstance(outputs, dict) else []
    if len(names) == 1:
        return names[0]
    for preferred in (C.SERVING_OUTPUT_NAME, "logits", "output_0"):
        if preferred in names:
            return preferred
    raise InvalidInputError(
        f"{where}: cannot tell which of the outputs {names} holds the class scores; export one "
        f"output (or one named '{C.SERVING_OUTPUT_NAME}')"
    )


def _refuse_unsafe_ops(function: Any, *, where: str) -> None:
    graph = function.graph.as_graph_def()
    ops = {node.op for node in graph.node}
    for library_function in graph.library.function:
        ops.update(node.op for node in library_function.node_def)
    unsafe = sorted(ops & UNSAFE_OPS)
    if unsafe:
        raise InvalidInputError(
            f"{where}: the serving signature runs {', '.join(unsafe)}; a classifier must not touch "
            "files or run Python, refusing to load it"
        )
