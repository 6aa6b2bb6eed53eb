"""Run the poisoning scan on a model and the training split it was trained on; write the results.

The model is loaded as the attacks load it (:func:`~kfp_mlsecops.attacks.load_attack_model`:
a model folder's SavedModel ``1/``, a ``.keras`` file or a SavedModel folder). The served
function holds no handle on its layers, so the penultimate representation is read from its
graph: the function is frozen (variables become constants, nested calls inlined), and the walk
back from the output through pass-through operations (identity, softmax, bias add, cast) must
reach a matrix product, the last dense layer, whose input is the representation. A model
without a final dense layer is refused with InvalidInputError.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.poisoning.results import PoisoningResults
from kfp_mlsecops.poisoning.spectral import ScanParameters, spectral_scan
from kfp_mlsecops.signing import saved_model_digest

__all__ = ["penultimate_features", "run_poisoning_scan"]

#: Operations between the last dense layer's product and the model output.
_PASS_THROUGH = frozenset(
    {"Identity", "IdentityN", "Softmax", "LogSoftmax", "BiasAdd", "Add", "AddV2", "Cast"}
)
_BATCH = 512


def penultimate_features(model: Any, x: np.ndarray) -> np.ndarray:
    """Return the input of ``model``'s last dense layer for each sample of ``x`` (float64).

    ``model`` is what :func:`~kfp_mlsecops.attacks.load_attack_model` returns (callable on a
    float32 batch). Raises InvalidInputError when no final dense layer is found.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.float32)
    concrete = tf.function(lambda batch: model(batch, training=False)).get_concrete_function(spec)
    try:
        frozen = convert_variables_to_constants_v2(concrete)
    except Exception as e:  # noqa: BLE001 - any failure means the graph cannot be read
        raise InvalidInputError(
            f"model graph cannot be frozen to read its penultimate layer ({type(e).__name__})"
        ) from e
    graph = frozen.graph.as_graph_def()
    nodes = {node.name: node for node in graph.node}
    name = frozen.outputs[0].name.split(":")[0]
    for _ in range(len(nodes)):
        node = nodes[name]
        if node.op == "MatMul":
            break
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op not in _PASS_THROUGH or not inputs:
            raise InvalidInputError(
                f"model output comes from a '{node.op}' operation, not a dense layer; the scan "
                "reads the input of the model's last dense layer"
            )
        name = inputs[0].split(":")[0]
    representation = nodes[name].input[0]
    if ":" not in representation:
        representation += ":0"
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    extract = imported.prune(frozen.inputs[0].name, representation)
    parts = [
        np.asarray(extract(tf.constant(x[i : i + _BATCH], dtype=tf.float32)), dtype=np.float64)
        for i in range(0, len(x), _BATCH)
    ]
    features = np.concatenate(parts) if parts else np.zeros((0, 0))
    if features.ndim != 2 or len(features) != len(x):
        raise InvalidInputError(
            f"the last dense layer's input has shape {features.shape}; need one vector per sample"
        )
    return features


def run_poisoning_scan(
    *,
    model_path: str | os.PathLike[str],
    train_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    parameters: ScanParameters | None = None,
) -> PoisoningResults:
    """Scan the training split for a backdoor the model learned (spectral signatures per class).

    Args:
        model_path: a model folder (servable layout), a ``.keras`` file or a SavedModel folder.
        train_path: validate-data's ``train.npz`` (the samples the model was trained on).
        out_path: where to write the results JSON (None: not written).
        parameters: the scan settings (None: the defaults).

    Raises InvalidInputError when an input is unusable or model and split do not fit.

    """
    from kfp_mlsecops.attacks.loading import load_model_for_split
    from kfp_mlsecops.data import split_digest
    from kfp_mlsecops.data.split_io import load_split

    train = load_split(train_path)
    model = load_model_for_split(
        model_path, train.x, train_path, fix="pass the model trained on this split"
    )
    features = penultimate_features(model, train.x)
    results = PoisoningResults(
        classes=spectral_scan(features, train.y, train.x, parameters=parameters),
        parameters=parameters or ScanParameters(),
        train_data_digest=split_digest(train),
        model_digest=saved_model_digest(Path(model_path)),
    )
    if out_path is not None:
        results.write(out_path)
    return results
