from __future__ import annotations

import threading

import numpy as np
from prometheus_client import CollectorRegistry

from kfp_mlsecops.serving import FeatureSqueezer, ServingMetrics
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.serving.signals import SignalWorker


def mean_classifier(batch: np.ndarray) -> np.ndarray:
    """Class 1 iff the mean input exceeds 0.5 (sharp softmax)."""
    z = 200.0 * (batch.reshape(len(batch), -1).mean(axis=1) - 0.5)
    logits = np.stack([-z, z], axis=1)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class GatedClassifier:
    """mean_classifier that waits for ``gate`` before answering (to hold the worker busy)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        assert self.gate.wait(30)
        return mean_classifier(batch)


def _worker(predict, registry, **kwargs):
    metrics = ServingMetrics("m", registry=registry)
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=1, threshold=1.0)
    return SignalWorker(predict=predict, squeezer=squeezer, drift=None, metrics=metrics, **kwargs)


def _value(registry, name):
    return registry.get_sample_value(name, {"model": "m"}) or 0.0


def test_worker_scores_queued_instances_and_flags_fragile_ones():
    registry = CollectorRegistry()
    worker = _worker(mean_classifier, registry)
    stable = np.full((3, 16), 0.9, dtype=np.float32)
    fragile = np.full((2, 16), 0.45, dtype=np.float32)
    fragile[:, :3] = 0.8  # class 1, but 1-bit squeezing moves it to class 0
    for batch in (stable, fragile):
        worker.submit(batch, mean_classifier(batch))
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 5
    assert _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) == 2
    worker.close()


def test_a_full_queue_skips_and_counts_instead_of_blocking_requests():
    registry = CollectorRegistry()
    predict = GatedClassifier()
    worker = _worker(predict, registry, capacity=4)
    x = np.full((4, 16), 0.9, dtype=np.float32)
    worker.submit(x, mean_classifier(x))  # fills the queue; the worker blocks on the gate
    worker.submit(x, mean_classifier(x))  # over capacity: skipped at once
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 4
    predict.gate.set()
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
    worker.close()
    worker.submit(x, mean_classifier(x))  # after close: skipped, never queued
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 8


def test_every_nth_instance_is_squeezed_and_failures_do_not_stop_the_worker():
    registry = CollectorRegistry()
    calls = []

    def flaky(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("transient")
        return mean_classifier(batch)

    worker = _worker(flaky, registry, squeeze_every=3)
    x = np.full((6, 16), 0.9, dtype=np.float32)
    worker.submit(x, mean_classifier(x))
    assert worker.flush(30)
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 6  # the failed batch
    worker.submit(x, mean_classifier(x))
    assert worker.flush(30)
    assert calls[-1] == 2  # instances 6 and 9 of 6..11
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2
    worker.close()
