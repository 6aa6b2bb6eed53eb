"""Wrap a Keras model for attacks: valid input bounds, logits, and compiled prediction.

Served models end in a softmax. Cross-entropy on probabilities loses precision, so the wrapper
strips a trailing softmax (a ``Softmax``/``Activation('softmax')`` layer or a ``Dense`` layer with
softmax activation) to get logits, verifies the stripped model reproduces the outputs, and falls
back to clipped log-probabilities when stripping is impossible. Models that output logits work
as they are (``output="logits"``, or detected: outputs that are not probability vectors).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["OUTPUT_KINDS", "TFModel"]

#: Accepted values of ``TFModel(output=...)``.
OUTPUT_KINDS = ("auto", "logits", "probabilities")

_PROBE_SAMPLES = 8
_PROBABILITY_TOLERANCE = 1e-4
_STRIP_TOLERANCE = 1e-5
_TINY = 1e-30
_PREDICT_BATCH = 1024


class TFModel:
    """A Keras classifier plus its valid input range, exposing logits for gradient attacks."""

    def __init__(self, model: Any, *, bounds: tuple[float, float], output: str = "auto") -> None:
        lower, upper = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise InvalidInputError(f"bounds {bounds!r}: need finite lower < upper")
        if output not in OUTPUT_KINDS:
            raise InvalidInputError(f"output={output!r}: must be one of {', '.join(OUTPUT_KINDS)}")
        self._model = model
        self._bounds = (lower, upper)
        self._input_shape = _input_shape(model)
        self._cache: dict[Hashable, Any] = {}
        self._logits_fn, self._output_kind = _resolve_logits(model, output, self._probe())
        self._n_classes = int(self._model(self._probe()[:1], training=False).shape[-1])

    @property
    def bounds(self) -> tuple[float, float]:
        """The valid input range ``(lower, upper)`` adversarials are clipped to."""
        return self._bounds

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input (without the batch axis)."""
        return self._input_shape

    @property
    def n_classes(self) -> int:
        """Number of classes the model scores."""
        return self._n_classes

    @property
    def output_kind(self) -> str:
        """How logits are obtained: ``logits``, ``softmax-stripped`` or ``log-probabilities``."""
        return self._output_kind

    @property
    def keras_model(self) -> Any:
        """The wrapped Keras model."""
        return self._model

    def with_bounds(self, lower: float, upper: float) -> TFModel:
        """Return ``self`` when the bounds match; raise InvalidInputError otherwise."""
        if (float(lower), float(upper)) != self._bounds:
            raise InvalidInputError(
                f"bounds [{lower:g}, {upper:g}] differ from the model wrapper's "
                f"{list(self._bounds)}; use one input range"
            )
        return self

    def logits(self, x: Any) -> Any:
        """Return logits (or log-probabilities) for a batch tensor ``x``; works in tf.function."""
        return self._logits_fn(x)

    def bf16_logits(self) -> Any | None:
        """Return a checked bfloat16 copy of the logits model (for PGD's gradients), or None.

        Built once; None when the model cannot be copied or the copy disagrees with float32
        (see :mod:`kfp_mlsecops.attacks._low_precision`).
        """
        from kfp_mlsecops.attacks._low_precision import bf16_logits_model

        return self.compiled(
            ("bf16_logits",),
            lambda: bf16_logits_model(self._model, self._output_kind, self._probe()),
        )

    def input_spec(self) -> Any:
        """Return a ``tf.TensorSpec`` for a batch of inputs of any size."""
        import tensorflow as tf

        return tf.TensorSpec((None, *self._input_shape), tf.float32)

    def compiled(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """Return the function cached under ``key``, building it once (one trace per model)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def predict_labels(self, x: np.ndarray, *, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Return the served model's argmax predictions for ``x`` as int64."""
        import tensorflow as tf

        def build() -> Any:
            model = self._model

            @tf.function(input_signature=[self.input_spec()])
            def predict(batch: Any) -> Any:
                return tf.argmax(model(batch, training=False), axis=-1, output_type=tf.int64)

            return predict

        predict = self.compiled(("predict_labels",), build)
        parts = [
            predict(tf.constant(x[i : i + batch_size], tf.float32)).numpy()
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0,), np.int64)

    def scores(self, x: np.ndarray, *, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Return the logits (or log-probabilities) the attacks use, as float32 numpy."""
        import tensorflow as tf

        def build() -> Any:
            @tf.function(input_signature=[self.input_spec()])
            def scores(batch: Any) -> Any:
                return self.logits(batch)

            return scores

        scores = self.compiled(("scores",), build)
        parts = [
            scores(tf.constant(x[i : i + batch_size], tf.float32)).numpy()
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self._n_classes), np.float32)

    def _probe(self) -> np.ndarray:
        rng = np.random.default_rng(0)
        lower, upper = self._bounds
        shape = (_PROBE_SAMPLES, *self._input_shape)
        return rng.uniform(lower, upper, size=shape).astype(np.float32)

    def __repr__(self) -> str:
        name = getattr(self._model, "name", "?")
        return f"TFModel({name!r}, bounds={self._bounds}, output={self._output_kind!r})"


def _input_shape(model: Any) -> tuple[int, ...]:
    try:
        shape = tuple(model.inputs[0].shape[1:])
        if len(model.inputs) != 1:
            raise ValueError("several inputs")
    except Exception as e:  # noqa: BLE001 - any failure means we cannot attack the model
        raise InvalidInputError(
            f"model {getattr(model, 'name', model)!r}: needs one input with a known shape ({e}); "
            "build it with keras.Input"
        ) from e
    if any(dim is None for dim in shape):
        raise InvalidInputError(
            f"model input shape {shape}: every non-batch dimension must be fixed"
        )
    return tuple(int(dim) for dim in shape)


def _resolve_logits(model: Any, output: str, probe: np.ndarray) -> tuple[Callable[[Any], Any], str]:
    import tensorflow as tf

    def raw(x: Any) -> Any:
        return model(x, training=False)

    if output == "logits":
        return raw, "logits"
    outputs = np.asarray(model(probe, training=False), dtype=np.float64)
    if outputs.ndim != 2:
        raise InvalidInputError(
            f"model output shape {outputs.shape}: expected (batch, n_classes) scores"
        )
    stripped = _strip_softmax(model)
    if stripped is not None:
        logits = np.asarray(stripped(tf.constant(probe)), dtype=np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        if (
            np.max(np.abs(shifted / shifted.sum(axis=1, keepdims=True) - outputs))
            <= _STRIP_TOLERANCE
        ):
            return stripped, "softmax-stripped"
    looks_like_probabilities = bool(
        (outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1.0, atol=_PROBABILITY_TOLERANCE)
    )
    if output == "probabilities" or looks_like_probabilities:

        def log_probabilities(x: Any) -> Any:
            return tf.math.log(tf.maximum(raw(x), _TINY))

        return log_probabilities, "log-probabilities"
    return raw, "logits"


def _strip_softmax(model: Any) -> Callable[[Any], Any] | None:
    """Return a logits function when ``model`` visibly ends in a softmax, else None."""
    import keras

    try:
        last = model.layers[-1]
        softmax = keras.activations.softmax
        (inputs,) = model.inputs
        if isinstance(last, keras.layers.Softmax) and last.axis in (-1, len(last.output.shape) - 1):
            body = keras.Model(inputs, last.input)
            return lambda x: body(x, training=False)
        if isinstance(last, keras.layers.Activation) and last.activation is softmax:
            body = keras.Model(inputs, last.input)
            return lambda x: body(x, training=False)
        if isinstance(last, keras.layers.Dense) and last.activation is softmax:
            body = keras.Model(inputs, last.input)
            ops = keras.ops

            def dense_logits(x: Any) -> Any:
                z = ops.matmul(body(x, training=False), last.kernel)
                return z + last.bias if last.use_bias else z

            return dense_logits
    except Exception:  # noqa: BLE001, S110 - not strippable: fall back to log-probabilities
        return None
    return None
