"""Poisoning scan: whether the training data hold a backdoor the model learned.

:func:`run_poisoning_scan` reads the trained model's penultimate-layer representation of every
training sample and looks, per class, for a spectral signature (Tran, Li and Madry 2018) on
robustly whitened representations (SPECTRE, Hayase et al. 2021), confirmed by an input-space
label check; it writes a :class:`PoisoningResults` document that ``mlsecops check`` reads. The
scan (:mod:`kfp_mlsecops.poisoning.spectral`) is numpy only; TensorFlow is imported only when a
model is loaded.
"""

from __future__ import annotations

from kfp_mlsecops.poisoning.results import PoisoningResults
from kfp_mlsecops.poisoning.run import penultimate_features, run_poisoning_scan
from kfp_mlsecops.poisoning.spectral import (
    ClassScan,
    ScanParameters,
    label_disagreement,
    spectral_scan,
)

__all__ = [
    "ClassScan",
    "PoisoningResults",
    "ScanParameters",
    "label_disagreement",
    "penultimate_features",
    "run_poisoning_scan",
    "spectral_scan",
]
