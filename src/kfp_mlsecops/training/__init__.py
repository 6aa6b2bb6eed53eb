"""Training core: fit a small Keras model (optionally adversarially) and write a servable model dir.

The model directory also carries ``reference_stats.json`` (training-input statistics and the
feature-squeezing calibration) for the verified predictor; its contract lives here, with the
producer, so ``kfp_mlsecops.serving`` imports ``training`` and never the reverse.
TensorFlow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from kfp_mlsecops.training.adversarial import ADVERSARIAL_METHODS
from kfp_mlsecops.training.model_io import load_model
from kfp_mlsecops.training.reference_stats import (
    ReferenceStats,
    compute_reference_stats,
    load_reference_stats,
    write_reference_stats,
)
from kfp_mlsecops.training.squeezing import FeatureSqueezer, calibrate_squeezing
from kfp_mlsecops.training.train import TrainResult, train_model

__all__ = [
    "ADVERSARIAL_METHODS",
    "FeatureSqueezer",
    "ReferenceStats",
    "TrainResult",
    "calibrate_squeezing",
    "compute_reference_stats",
    "load_model",
    "load_reference_stats",
    "train_model",
    "write_reference_stats",
]
