"""The signal worker records drift and squeeze scores off the request path, never blocking it."""

from __future__ import annotations

import threading

import numpy as np
from prometheus_client import CollectorRegistry

from kfp_mlsecops.serving import ServingMetrics
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.serving.signals import SignalWorker


class GatedMetrics(ServingMetrics):
    """Real metrics whose squeeze recording waits for ``gate`` (to hold the worker busy)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.fail_next = False

    def record_squeezing(self, scores, *, threshold):
        assert self.gate.wait(30)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("transient")
        return super().record_squeezing(scores, threshold=threshold)


def _worker(registry, **kwargs):
    metrics = GatedMetrics("m", registry=registry)
    return SignalWorker(threshold=1.0, drift=None, metrics=metrics, **kwargs), metrics


def _value(registry, name):
    return registry.get_sample_value(name, {"model": "m"}) or 0.0


def test_worker_records_scores_and_flags_those_above_the_threshold():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.gate.set()
    x = np.full((5, 16), 0.9, dtype=np.float32)
    worker.submit(x[:3], np.array([0.0, 0.5, 1.0]))
    worker.submit(x[3:], np.array([1.5, 2.0]))
    worker.submit(x[:1], np.zeros(0))  # a served batch none of whose rows was squeezed
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 5
    assert _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) == 2
    worker.close()


def test_a_full_queue_skips_and_counts_instead_of_blocking_requests():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry, capacity=4)
    x = np.full((4, 16), 0.9, dtype=np.float32)
    worker.submit(x, np.zeros(4))  # fills the queue; the worker blocks on the gate
    worker.submit(x, np.zeros(4))  # over capacity: skipped at once
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 4
    metrics.gate.set()
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
    worker.close()
    worker.submit(x, np.zeros(4))  # after close: skipped, never queued
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 8


def test_a_failure_while_recording_is_counted_and_does_not_stop_the_worker():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.fail_next = True
    metrics.gate.set()
    x = np.full((6, 16), 0.9, dtype=np.float32)
    worker.submit(x, np.zeros(6))
    assert worker.flush(30)
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 6  # the failed batch
    worker.submit(x, np.zeros(2))
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2
    worker.close()
