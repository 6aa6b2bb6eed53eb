"""Serve a model only after it verified: signature, attestation, approval, safe load, signals.

Cheap to import (no KServe, no TensorFlow): :class:`VerifiedPredictor` and :func:`serve` need the
``serving`` extra (KServe) and are imported on first use. Metric names live in
:mod:`.metric_names`. The reference statistics and feature squeezing are defined in
``kfp_mlsecops.training`` (which writes them with the model) and re-exported here; the
InferenceService that runs the predictor is rendered by ``kfp_mlsecops.deploy``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfp_mlsecops.serving.drift import DriftMonitor
from kfp_mlsecops.serving.metrics import ServingMetrics
from kfp_mlsecops.serving.policy import policy_for_method
from kfp_mlsecops.serving.request_guard import DEFAULT_MAX_REQUEST_BYTES
from kfp_mlsecops.serving.runtime import MonitorSettings, VerifiedModelRuntime
from kfp_mlsecops.serving.verification import VerificationPolicy, stage_verified_model
from kfp_mlsecops.training.reference_stats import (
    ReferenceStats,
    compute_reference_stats,
    load_reference_stats,
    write_reference_stats,
)
from kfp_mlsecops.training.squeezing import FeatureSqueezer, calibrate_squeezing

if TYPE_CHECKING:
    from kfp_mlsecops.serving.predictor import VerifiedPredictor
    from kfp_mlsecops.serving.server import serve

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DriftMonitor",
    "FeatureSqueezer",
    "MonitorSettings",
    "ReferenceStats",
    "ServingMetrics",
    "VerificationPolicy",
    "VerifiedModelRuntime",
    "VerifiedPredictor",
    "calibrate_squeezing",
    "compute_reference_stats",
    "load_reference_stats",
    "policy_for_method",
    "serve",
    "stage_verified_model",
    "write_reference_stats",
]


def __getattr__(name: str) -> Any:
    """Import the KServe-backed names on first use."""
    if name == "VerifiedPredictor":
        from kfp_mlsecops.serving.predictor import VerifiedPredictor

        return VerifiedPredictor
    if name == "serve":
        from kfp_mlsecops.serving.server import serve

        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
