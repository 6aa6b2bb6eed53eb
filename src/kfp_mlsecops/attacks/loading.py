"""Load a model to attack: a model folder, a ``.keras`` file, or a TF SavedModel folder.

``.keras`` files load with ``safe_mode`` (no Lambda layers). A SavedModel's serving signature is
wrapped so attacks can differentiate through it; its graph is refused when it holds operations
that touch files or run Python (a SavedModel is a program: load only models you trust).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["SavedModelClassifier", "load_attack_model"]

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


def load_attack_model(path: str | os.PathLike[str]) -> Any:
    """Return a model the attacks can wrap with ``TFModel``.

    ``path`` is a model folder written by ``train_model`` (its ``model.keras`` is used), a
    ``.keras`` file, or a SavedModel folder (``saved_model.pb``; e.g. ``<model>/1/``) whose
    ``serving_default`` signature takes one float input and returns one score vector (logits or
    probabilities). Anything else raises InvalidInputError naming the path.
    """
    from kfp_mlsecops.training.model_io import load_model

    source = Path(path)
    if source.is_dir():
        if (source / C.KERAS_FILE).is_file():
            return load_model(source)
        if (source / "saved_model.pb").is_file():
            return SavedModelClassifier(source)
        raise InvalidInputError(
            f"model '{path}': folder has neither {C.KERAS_FILE} nor saved_model.pb; pass a model "
            "folder, a .keras file or a SavedModel folder"
        )
    if source.suffix == ".keras":
        return load_model(source)
    raise InvalidInputError(
        f"model '{path}': not a .keras file or a folder; pass a model folder, a .keras file or a "
        "SavedModel folder (pickle and .h5 are refused: they can run code on load)"
    )


class SavedModelClassifier:
    """A SavedModel serving signature exposed like a one-input Keras classifier.

    Provides ``inputs`` (one ``TensorSpec``), ``name`` and ``__call__(x, training=False)``,
    differentiable with respect to ``x`` inside ``tf.function``.
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
                "attacks need exactly one named input"
            )
        ((self._input_name, spec),) = kwargs.items()
        if not spec.dtype.is_floating:
            raise InvalidInputError(
                f"{where}: input '{self._input_name}' is {spec.dtype.name}; need a float input"
            )
        outputs = function.structured_outputs
        self._output_name = _pick_output(outputs, where=where)
        self._function = function
        self._dtype = spec.dtype
        self.inputs = [spec]
        self.name = Path(path).resolve().name

    def __call__(self, x: Any, training: bool = False) -> Any:
        """Return the signature's score output for a batch ``x``."""
        import tensorflow as tf

        out = self._function(**{self._input_name: tf.cast(x, self._dtype)})[self._output_name]
        return tf.cast(out, tf.float32)


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
