"""The predictor's Prometheus metrics, registered beside KServe's own on the same registry."""

from __future__ import annotations

import threading
import weakref

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from kfp_mlsecops.serving import metric_names as n

__all__ = ["SQUEEZE_SCORE_BUCKETS", "ServingMetrics"]

#: Buckets of the squeeze-score histogram (the score lies in [0, 2]); fine near the usual
#: thresholds so operators can calibrate one from live traffic.
SQUEEZE_SCORE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)

_SPECS = {spec.name: spec for spec in n.SERVING_METRICS}
#: Up to this many instances, counting one by one beats np.unique.
_SMALL_BATCH = 8
_LOCK = threading.Lock()
#: Keyed by the registry object itself (weakly): an id() could be reused by a new registry.
_COLLECTORS: weakref.WeakKeyDictionary[CollectorRegistry, _Collectors] = weakref.WeakKeyDictionary()


class _Collectors:
    """The metric families, created once per registry (a registry refuses duplicates)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def spec(name: str) -> tuple[str, str, tuple[str, ...]]:
            s = _SPECS[name]
            return s.name, s.help, s.labels

        self.predictions = Counter(*spec(n.PREDICTIONS_TOTAL), registry=registry)
        self.drift = Gauge(*spec(n.INPUT_DRIFT_SCORE), registry=registry)
        self.suspected = Counter(*spec(n.SUSPECTED_ADVERSARIAL_TOTAL), registry=registry)
        self.skipped = Counter(*spec(n.SQUEEZE_SKIPPED_TOTAL), registry=registry)
        self.squeeze = Histogram(
            *spec(n.SQUEEZE_SCORE), buckets=SQUEEZE_SCORE_BUCKETS, registry=registry
        )
        self.requests = Counter(*spec(n.REQUESTS_TOTAL), registry=registry)
        self.model_info = Gauge(*spec(n.MODEL_INFO), registry=registry)


def _collectors(registry: CollectorRegistry) -> _Collectors:
    with _LOCK:
        found = _COLLECTORS.get(registry)
        if found is None:
            found = _COLLECTORS[registry] = _Collectors(registry)
        return found


class ServingMetrics:
    """Record one model's serving metrics (names in :mod:`.metric_names`).

    ``registry`` defaults to prometheus-client's global registry, which KServe's ``/metrics``
    endpoint serves; tests pass their own.
    """

    def __init__(self, model_name: str, *, registry: CollectorRegistry | None = None) -> None:
        self.model_name = model_name
        self._c = _collectors(REGISTRY if registry is None else registry)
        self._suspected = self._c.suspected.labels(model_name)
        self._squeeze = self._c.squeeze.labels(model_name)
        self._skipped = self._c.skipped.labels(model_name)
        self._classes: dict[int, Counter] = {}
        self._requests: dict[tuple[str, int], Counter] = {}

    def set_model_digest(self, digest: str) -> None:
        """Publish the verified model digest (``mlsecops_predictor_model_info``)."""
        self._c.model_info.labels(self.model_name, digest).set(1)

    def record_predictions(self, classes: np.ndarray) -> None:
        """Count predicted class indices (one per instance)."""
        flat = np.asarray(classes, dtype=np.int64).ravel()
        if len(flat) <= _SMALL_BATCH:
            pairs = [(value, 1) for value in flat.tolist()]
        else:
            values, counts = np.unique(flat, return_counts=True)
            pairs = list(zip(values.tolist(), counts.tolist(), strict=True))
        for value, count in pairs:
            child = self._classes.get(value)
            if child is None:
                child = self._classes[value] = self._c.predictions.labels(self.model_name, value)
            child.inc(count)

    def record_drift(self, score: float) -> None:
        """Set the input-drift gauge."""
        self._c.drift.labels(self.model_name).set(score)

    def record_squeezing(self, scores: np.ndarray, *, threshold: float) -> int:
        """Observe squeeze scores; count and return the instances above ``threshold``."""
        values = np.asarray(scores, dtype=np.float64).tolist()
        for value in values:
            self._squeeze.observe(value)
        flagged = sum(1 for value in values if value > threshold)
        if flagged:
            self._suspected.inc(flagged)
        return flagged

    def record_squeeze_skipped(self, count: int) -> None:
        """Count instances that were served but not squeezed."""
        self._skipped.inc(count)

    def record_request(self, protocol: str, status: int) -> None:
        """Count one answered inference request by protocol (v1/v2) and HTTP status."""
        key = (protocol, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self._c.requests.labels(
                self.model_name, protocol, str(status)
            )
        child.inc()
