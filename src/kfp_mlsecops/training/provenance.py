"""The provenance record written next to every trained model (``provenance.json``)."""

from __future__ import annotations

import platform
from typing import Any

from kfp_mlsecops import constants as C

__all__ = ["build_provenance", "library_versions", "serving_record"]


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that produced the model."""
    import keras
    import numpy
    import tensorflow as tf

    return {
        "keras": str(keras.__version__),
        "numpy": str(numpy.__version__),
        "python": platform.python_version(),
        "tensorflow": str(tf.__version__),
    }


def build_provenance(
    *,
    data_digest: str,
    parameters: dict[str, Any],
    adversarial_training: dict[str, Any],
    architecture: str,
    input_shape: tuple[int, ...],
    n_classes: int,
    lower: float,
    upper: float,
    metrics: dict[str, float],
    split_sha256: dict[str, str],
    samples: dict[str, int],
    differential_privacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the provenance dict (schema ``constants.PROVENANCE_SCHEMA``).

    ``adversarial_training`` is ``{"method": "none"}`` for standard training, else the attack
    settings the model was trained against (see ``AdversarialSettings.to_provenance``).
    ``differential_privacy`` (DP-SGD's guarantee, ``DPAccount.to_provenance``) is written only
    for a model trained with DP-SGD, so plain provenance is unchanged.
    """
    record = {
        "schema": C.PROVENANCE_SCHEMA,
        C.PROVENANCE_DATA_DIGEST: data_digest,
        "splits_sha256": dict(split_sha256),
        "samples": {k: int(v) for k, v in samples.items()},
        "parameters": dict(parameters),
        C.PROVENANCE_ADVERSARIAL: dict(adversarial_training),
        "architecture": architecture,
        "input_shape": [int(d) for d in input_shape],
        "n_classes": int(n_classes),
        "input_range": {"lower": float(lower), "upper": float(upper)},
        "metrics": {k: float(v) for k, v in metrics.items()},
        "libraries": library_versions(),
        "serving": serving_record(C.SERVING_OUTPUT_NAME),
    }
    if differential_privacy is not None:
        record[C.PROVENANCE_DIFFERENTIAL_PRIVACY] = dict(differential_privacy)
    return record


def serving_record(output: str) -> dict[str, str]:
    """Return the ``serving`` block of provenance: where the SavedModel is and its signature.

    Args:
        output: The signature's score output (``probabilities`` or ``logits``).

    """
    return {
        "savedmodel_dir": C.SAVEDMODEL_VERSION_DIR,
        "signature": C.SERVING_SIGNATURE,
        "input": C.SERVING_INPUT_NAME,
        "output": output,
    }
