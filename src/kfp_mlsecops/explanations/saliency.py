"""Gradient saliency of a classifier's logits and the model-parameter randomization test.

A saliency method here maps ``(gradients, inputs)`` to one non-negative map per sample, where
``gradients`` are ``d logit_y / d x`` of each sample's predicted class ``y``: ``gradient``
(``|g|``, Simonyan et al. 2014) and ``gradient_x_input`` (``|g * x|``). The logits are what the
served function computes before its final softmax: the function is frozen (variables become
constants) and walked back from its output through identities and casts to a ``Softmax`` (or
``LogSoftmax``), whose input is taken; a model that outputs scores without a softmax is
differentiated as it is.

:func:`cascading_randomization` is Adebayo et al.'s (2018) model-parameter randomization test:
the trainable weights are re-initialised layer by layer from the top (output) layer down,
cumulatively, and after each layer the maps are computed again with the same target classes.
Re-initialised means drawn from a seeded normal distribution with mean 0 and the standard
deviation of the trained values of that variable (the scale is kept, the learned structure is
not; a variable with no spread, e.g. an all-zero bias, keeps its values). Layers are the
variables' name prefixes (``dense/kernel`` -> ``dense``) in the order the model holds them.
Non-trainable state (normalisation statistics) is left alone. The trained weights are restored
afterwards, also on error. TensorFlow is imported only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "METHODS",
    "SaliencyMethod",
    "cascading_randomization",
    "gradient",
    "gradient_x_input",
    "layer_variables",
    "logit_gradients",
]

#: ``(gradients, inputs) -> maps``: one non-negative map per sample, shaped like the inputs.
SaliencyMethod = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Operations between the logits' softmax and the function's output.
_PASS_THROUGH = frozenset({"Identity", "IdentityN", "Cast"})
_SOFTMAX = frozenset({"Softmax", "LogSoftmax"})
_BATCH = 256


def gradient(gradients: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Return ``|d logit_y / d x|`` (vanilla gradient saliency)."""
    return np.abs(gradients)


def gradient_x_input(gradients: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Return ``|d logit_y / d x * x|`` (gradient times input)."""
    return np.abs(gradients * inputs)


#: The built-in methods, by the name the results document uses.
METHODS: Mapping[str, SaliencyMethod] = {
    "gradient": gradient,
    "gradient_x_input": gradient_x_input,
}


def layer_variables(model: Any) -> list[tuple[str, list[Any]]]:
    """Return ``(layer, trainable variables)`` pairs in the model's order (input to output).

    ``model`` is what :func:`~kfp_mlsecops.attacks.load_attack_model` returns: a loaded
    SavedModel's variables are read from its tracked object, a Keras model's from the model.
    Raises InvalidInputError when the model holds no trainable variable.
    """
    holder = getattr(model, "tracked", model)
    variables = list(getattr(holder, "trainable_variables", None) or ())
    groups: dict[str, list[Any]] = {}
    for variable in variables:
        path = str(getattr(variable, "path", None) or variable.name).split(":")[0]
        groups.setdefault(path.split("/")[0] if "/" in path else path, []).append(variable)
    if not groups:
        raise InvalidInputError(
            "the model holds no trainable variable to randomize; export it with its variables "
            "(a train_model folder, a .keras file or a SavedModel that tracks them)"
        )
    return list(groups.items())


def _logit_function(model: Any, sample_shape: tuple[int, ...]) -> Any:
    """Return a function of a float32 batch computing the logits with the current weights."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *sample_shape), tf.float32)
    concrete = tf.function(lambda batch: model(batch, training=False)).get_concrete_function(spec)
    try:
        frozen = convert_variables_to_constants_v2(concrete)
    except Exception as e:  # noqa: BLE001 - any failure means the graph cannot be read
        raise InvalidInputError(
            f"model graph cannot be frozen to read its logits ({type(e).__name__})"
        ) from e
    graph = frozen.graph.as_graph_def()
    nodes = {node.name: node for node in graph.node}
    output = frozen.outputs[0].name
    name = output.split(":")[0]
    for _ in range(len(nodes)):
        node = nodes[name]
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op in _SOFTMAX and inputs:
            output = inputs[0] if ":" in inputs[0] else inputs[0] + ":0"
            break
        if node.op not in _PASS_THROUGH or not inputs:
            break  # no softmax: the output are the scores to explain
        name = inputs[0].split(":")[0]
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    return imported.prune(frozen.inputs[0].name, output)


def logit_gradients(
    model: Any, x: np.ndarray, targets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(gradients, targets)``: ``d logit_t / d x`` per sample and the classes ``t``.

    Args:
        model: what :func:`~kfp_mlsecops.attacks.load_attack_model` returns.
        x: (N, ...) float samples shaped as the model takes them.
        targets: the class whose logit is differentiated per sample (None: the predicted one).

    """
    import tensorflow as tf

    logits = _logit_function(model, tuple(x.shape[1:]))
    grads, picked = [], []
    for start in range(0, len(x), _BATCH):
        batch = tf.constant(x[start : start + _BATCH], dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(batch)
            scores = logits(batch)
            if scores.shape.rank != 2:
                raise InvalidInputError(
                    f"model scores have shape {scores.shape}; need one score vector per sample"
                )
            classes = (
                tf.argmax(scores, axis=1, output_type=tf.int32)
                if targets is None
                else tf.constant(targets[start : start + _BATCH], dtype=tf.int32)
            )
            chosen = tf.gather(scores, classes, batch_dims=1)
        grads.append(np.asarray(tape.gradient(chosen, batch), dtype=np.float64))
        picked.append(np.asarray(classes, dtype=np.int64))
    return np.concatenate(grads), np.concatenate(picked)


def cascading_randomization(
    model: Any,
    x: np.ndarray,
    *,
    methods: Mapping[str, SaliencyMethod],
    seed: int,
) -> tuple[dict[str, np.ndarray], list[tuple[str, dict[str, np.ndarray]]]]:
    """Return the trained model's maps and, per randomized layer (top down), the maps after it.

    Returns ``(original, cascade)``: ``original`` maps by method; ``cascade`` one
    ``(layer, maps by method)`` per layer, each with that layer and all above it randomized.
    The model's trained weights are restored before returning (also on error).
    """
    layers = layer_variables(model)
    gradients, targets = logit_gradients(model, x)
    original = {name: method(gradients, x) for name, method in methods.items()}
    saved = [(v, np.array(v.numpy())) for _, group in layers for v in group]
    rng = np.random.default_rng(seed)
    cascade = []
    try:
        for layer, group in reversed(layers):
            for variable in group:
                value = np.asarray(variable.numpy())
                spread = float(np.std(value))
                if spread > 0.0:
                    variable.assign(rng.normal(0.0, spread, value.shape).astype(value.dtype))
            randomized, _ = logit_gradients(model, x, targets)
            cascade.append((layer, {n: m(randomized, x) for n, m in methods.items()}))
    finally:
        for variable, value in saved:
            variable.assign(value)
    return original, cascade
