"""Pipeline metrics: record each step, turn its artifacts into ``mlsecops_*`` gauges, push them.

:func:`record_step` wraps a component body; it pushes to a Prometheus Pushgateway only when a URL
is configured (argument or ``$MLSECOPS_PUSHGATEWAY_URL``), and a failed push is logged, never
raised. Metric and label names live in :mod:`kfp_mlsecops.monitoring.names`. Nothing here imports
``kfp`` or TensorFlow.
"""

from __future__ import annotations

from kfp_mlsecops.monitoring.artifacts import (
    gate_decision_samples,
    robustness_samples,
    validation_report_samples,
)
from kfp_mlsecops.monitoring.names import PIPELINE_METRICS, PUSHGATEWAY_URL_ENV
from kfp_mlsecops.monitoring.push import (
    build_registry,
    push_samples,
    redact_url,
    resolve_pushgateway,
)
from kfp_mlsecops.monitoring.samples import Sample, format_epsilon
from kfp_mlsecops.monitoring.step import StepRecord, record_step

__all__ = [
    "PIPELINE_METRICS",
    "PUSHGATEWAY_URL_ENV",
    "Sample",
    "StepRecord",
    "build_registry",
    "format_epsilon",
    "gate_decision_samples",
    "push_samples",
    "record_step",
    "redact_url",
    "resolve_pushgateway",
    "robustness_samples",
    "validation_report_samples",
]
