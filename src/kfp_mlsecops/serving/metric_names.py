"""Names of every metric the verified predictor exports on ``/metrics``, in one place.

Dashboards and alert rules (``manifests/monitoring``) must only use names from
:func:`exported_series_names`; a test checks them against this module. Counters are listed by
their exposed name (``..._total``); a histogram exposes ``_bucket``, ``_sum`` and ``_count``.
KServe's own latency histograms are served on the same endpoint and listed in
:data:`KSERVE_METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COUNTER",
    "GAUGE",
    "HISTOGRAM",
    "INPUT_DRIFT_SCORE",
    "KSERVE_METRICS",
    "LABEL_CLASS",
    "LABEL_CODE",
    "LABEL_DIGEST",
    "LABEL_MODEL",
    "LABEL_PROTOCOL",
    "MODEL_INFO",
    "PREDICTIONS_TOTAL",
    "REQUESTS_TOTAL",
    "SERVING_METRICS",
    "SQUEEZE_SCORE",
    "SQUEEZE_SKIPPED_TOTAL",
    "SUSPECTED_ADVERSARIAL_TOTAL",
    "ServingMetricSpec",
    "exported_series_names",
]

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"

# --- labels --------------------------------------------------------------------------------------
#: The served model's name (``--name``), on every mlsecops_* serving metric.
LABEL_MODEL = "model"
#: Predicted class index ("0", "1", ...).
LABEL_CLASS = "class"
#: ``v1`` or ``v2`` (the inference protocol of the request).
LABEL_PROTOCOL = "protocol"
#: HTTP status code of the response ("200", "400", "413", ...).
LABEL_CODE = "code"
#: Verified model digest (``sha256:<hex>``).
LABEL_DIGEST = "digest"

# --- metric names (as exposed) -------------------------------------------------------------------
PREDICTIONS_TOTAL = "mlsecops_predictions_total"
INPUT_DRIFT_SCORE = "mlsecops_input_drift_score"
SUSPECTED_ADVERSARIAL_TOTAL = "mlsecops_suspected_adversarial_total"
SQUEEZE_SCORE = "mlsecops_squeeze_score"
SQUEEZE_SKIPPED_TOTAL = "mlsecops_squeeze_skipped_total"
REQUESTS_TOTAL = "mlsecops_predictor_requests_total"
MODEL_INFO = "mlsecops_predictor_model_info"


@dataclass(frozen=True)
class ServingMetricSpec:
    """One exported metric: exposed name, type, help text and label names."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]


SERVING_METRICS: tuple[ServingMetricSpec, ...] = (
    ServingMetricSpec(
        PREDICTIONS_TOTAL,
        COUNTER,
        "Instances predicted, by predicted class.",
        (LABEL_MODEL, LABEL_CLASS),
    ),
    ServingMetricSpec(
        INPUT_DRIFT_SCORE,
        GAUGE,
        "Mean absolute z-score of the sliding-window input mean against the training split "
        "(0 = no shift; 1 = one training standard deviation on average).",
        (LABEL_MODEL,),
    ),
    ServingMetricSpec(
        SUSPECTED_ADVERSARIAL_TOTAL,
        COUNTER,
        "Instances whose prediction moved more than the threshold under feature squeezing "
        "(a signal, not a guarantee).",
        (LABEL_MODEL,),
    ),
    ServingMetricSpec(
        SQUEEZE_SCORE,
        HISTOGRAM,
        "Feature-squeezing score per instance: L1 distance between the probability vectors of "
        "the input and its squeezed versions (max over squeezers, 0..2).",
        (LABEL_MODEL,),
    ),
    ServingMetricSpec(
        SQUEEZE_SKIPPED_TOTAL,
        COUNTER,
        "Instances served whose squeeze scores and drift were not recorded because the signal "
        "worker was behind (overload) or failed.",
        (LABEL_MODEL,),
    ),
    ServingMetricSpec(
        REQUESTS_TOTAL,
        COUNTER,
        "Inference requests answered, by protocol and HTTP status code.",
        (LABEL_MODEL, LABEL_PROTOCOL, LABEL_CODE),
    ),
    ServingMetricSpec(
        MODEL_INFO,
        GAUGE,
        "Always 1; carries the digest of the verified model being served.",
        (LABEL_MODEL, LABEL_DIGEST),
    ),
)

#: KServe 0.21's own latency histograms (label ``model_name``), served on the same ``/metrics``.
KSERVE_METRICS: tuple[ServingMetricSpec, ...] = tuple(
    ServingMetricSpec(name, HISTOGRAM, f"KServe {stage} latency (seconds).", ("model_name",))
    for name, stage in (
        ("request_preprocess_seconds", "pre-process"),
        ("request_predict_seconds", "predict"),
        ("request_postprocess_seconds", "post-process"),
    )
)


def exported_series_names(*, include_kserve: bool = True) -> frozenset[str]:
    """Return every series name a scrape of the predictor can contain (histogram parts expanded)."""
    specs = SERVING_METRICS + (KSERVE_METRICS if include_kserve else ())
    names: set[str] = set()
    for spec in specs:
        if spec.kind == HISTOGRAM:
            names.update(f"{spec.name}_{part}" for part in ("bucket", "sum", "count"))
        else:
            names.add(spec.name)
    return frozenset(names)
