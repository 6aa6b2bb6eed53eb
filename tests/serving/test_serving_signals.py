"""The signal worker records drift and squeeze scores off the request path, never blocking it."""

from __future__ import annotations

import threading

import numpy as np
from prometheus_client import CollectorRegistry

from kfp_mlsecops.serving import ServingMetrics
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.serving.signals import SignalWorker
from kfp_mlsecops.training.squeezing import FeatureSqueezer


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
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, threshold=1.0)
    return SignalWorker(squeezer=squeezer, drift=None, metrics=metrics, **kwargs), metrics


def _outputs(scores, n=None):
    """Model outputs of ``stack(batch, rows)`` whose squeeze scores are exactly ``scores``.

    Each input predicts [1, 0]; its squeezed copy [1 - s/2, s/2], an L1 distance of s.
    """
    scores = np.asarray(scores, dtype=np.float32)
    n = len(scores) if n is None else n
    inputs = np.tile(np.array([1.0, 0.0], dtype=np.float32), (n, 1))
    squeezed = np.stack([1 - scores / 2, scores / 2], axis=1)
    return np.concatenate([inputs, squeezed])


def _value(registry, name):
    return registry.get_sample_value(name, {"model": "m"}) or 0.0


def test_worker_records_scores_and_flags_those_above_the_threshold():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.gate.set()
    x = np.full((5, 16), 0.9, dtype=np.float32)
    worker.submit(x[:3], _outputs([0.0, 0.5, 1.0]), None)
    worker.submit(x[3:], _outputs([1.5, 2.0]), None)
    worker.submit(x[:1], _outputs([], n=1), np.zeros(0, dtype=np.int64))  # none squeezed
    worker.submit(x[:4], _outputs([1.25, 0.25], n=4), np.array([1, 3]))  # rows 1 and 3
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 7
    assert _value(registry, f"{n.SQUEEZE_SCORE}_sum") == 6.5
    assert _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) == 3
    worker.close()


def test_a_full_queue_skips_and_counts_instead_of_blocking_requests():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry, capacity=4)
    x = np.full((4, 16), 0.9, dtype=np.float32)
    worker.submit(x, _outputs(np.zeros(4)), None)  # fills the queue; the worker blocks on the gate
    worker.submit(x, _outputs(np.zeros(4)), None)  # over capacity: skipped at once
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 4
    metrics.gate.set()
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
    worker.close()
    worker.submit(x, _outputs(np.zeros(4)), None)  # after close: skipped, never queued
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 8


def test_a_failure_while_recording_is_counted_and_does_not_stop_the_worker():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.fail_next = True
    metrics.gate.set()
    x = np.full((6, 16), 0.9, dtype=np.float32)
    worker.submit(x, _outputs(np.zeros(6)), None)
    assert worker.flush(30)
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 6  # the failed batch
    worker.submit(x[:2], _outputs(np.zeros(2)), None)
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2
    worker.close()
