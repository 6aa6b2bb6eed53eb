"""Training core: fit a small Keras model (optionally adversarially) and write a servable model dir.

TensorFlow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from kfp_mlsecops.training.adversarial import ADVERSARIAL_METHODS
from kfp_mlsecops.training.model_io import load_model
from kfp_mlsecops.training.train import TrainResult, train_model

__all__ = ["ADVERSARIAL_METHODS", "TrainResult", "load_model", "train_model"]
