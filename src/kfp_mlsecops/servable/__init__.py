"""The servable model: one layout and one loader shared by attack-test, gate, deploy, predictor.

A model folder holds exactly one thing a runtime can load, the TF SavedModel ``1/`` that KServe's
TensorFlow runtime serves (:func:`check_layout`), and every step that evaluates or serves the
model loads that SavedModel's serving signature (:func:`load_servable`). So the function attacked
and evaluated is the function signed, approved and served.
"""

from __future__ import annotations

from kfp_mlsecops.servable.layout import OPTIONAL_FILES, check_layout, savedmodel_dir
from kfp_mlsecops.servable.savedmodel import SavedModelClassifier, load_servable

__all__ = [
    "OPTIONAL_FILES",
    "SavedModelClassifier",
    "check_layout",
    "load_servable",
    "savedmodel_dir",
]
