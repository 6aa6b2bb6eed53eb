"""Training core: fit a small Keras model on a validated split and write a servable model dir.

TensorFlow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from kfp_mlsecops.training.model_io import load_model
from kfp_mlsecops.training.train import TrainResult, train_model

__all__ = ["TrainResult", "load_model", "train_model"]
