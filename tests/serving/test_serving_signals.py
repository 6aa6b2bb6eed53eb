"""The signal worker records drift and squeeze scores off the request path, never blocking it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kfp_mlsecops.serving import ServingMetrics
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.serving.signals import LINGER_SECONDS, SignalWorker
from kfp_mlsecops.serving.squeeze_carry import Scored, SqueezeCarry
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


def _never_called(batch):
    raise AssertionError("nothing waits in the carry; the worker must not call the model")


def _worker(registry, *, carry=None, predict=_never_called, **kwargs):
    metrics = GatedMetrics("m", registry=registry)
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, threshold=1.0)
    carry = carry or SqueezeCarry(squeezer)
    worker = SignalWorker(carry=carry, predict=predict, drift=None, metrics=metrics, **kwargs)
    return worker, metrics


def _scored(scores):
    """Outputs whose squeeze scores are exactly ``scores``.

    Each instance predicts [1, 0]; its squeezed copy [1 - s/2, s/2], an L1 distance of s.
    """
    scores = np.asarray(scores, dtype=np.float32)
    reference = np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(scores), 1))
    return [Scored(reference, np.stack([1 - scores / 2, scores / 2], axis=1))]


def _value(registry, name):
    return registry.get_sample_value(name, {"model": "m"}) or 0.0


def test_worker_records_scores_and_flags_those_above_the_threshold():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.gate.set()
    x = np.full((5, 16), 0.9, dtype=np.float32)
    worker.submit(x[:3], _scored([0.0, 0.5, 1.0]))
    worker.submit(x[3:], [])  # their copies still wait for a later call
    worker.submit(None, _scored([1.5, 2.0]) + _scored([1.25]))  # copies of earlier requests
    worker.submit(x[:1], _scored([0.25]))
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 7
    assert _value(registry, f"{n.SQUEEZE_SCORE}_sum") == 6.5
    assert _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) == 3
    worker.close()


def test_a_full_queue_skips_and_counts_instead_of_blocking_requests():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry, capacity=4)
    x = np.full((4, 16), 0.9, dtype=np.float32)
    worker.submit(x, _scored(np.zeros(4)))  # fills the queue; the worker blocks on the gate
    worker.submit(x, _scored(np.zeros(4)))  # over capacity: skipped at once
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 4
    metrics.gate.set()
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
    worker.close()
    worker.submit(x, _scored(np.zeros(4)))  # after close: skipped, never queued
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 8


def test_a_failure_while_recording_is_counted_and_does_not_stop_the_worker():
    registry = CollectorRegistry()
    worker, metrics = _worker(registry)
    metrics.fail_next = True
    metrics.gate.set()
    x = np.full((6, 16), 0.9, dtype=np.float32)
    worker.submit(x, _scored(np.zeros(6)))
    assert worker.flush(30)
    assert _value(registry, n.SQUEEZE_SKIPPED_TOTAL) == 6  # the failed batch
    worker.submit(x[:2], _scored(np.zeros(2)))
    assert worker.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2
    worker.close()


@pytest.mark.parametrize("traffic", [False, True])
def test_copies_that_waited_a_linger_are_predicted_by_the_worker(traffic):
    """Traffic stopped, or traffic goes on with few instances squeezed (squeeze_every > 1)."""
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=1, threshold=1.0)
    carry = SqueezeCarry(squeezer, min_rows=100)
    threads = []

    def model(batch):  # class 1 iff the first value is above 0.5
        threads.append(threading.current_thread().name)
        high = (batch.reshape(len(batch), -1)[:, 0] > 0.5).astype(np.float32)
        return np.stack([1 - high, high], axis=1)

    registry = CollectorRegistry()
    worker, metrics = _worker(registry, carry=carry, predict=model)
    metrics.gate.set()
    x = np.full((3, 16), 0.4, dtype=np.float32)  # squeezed to 0.0 at 1 bit: same class
    x[1, 0] = 0.6  # squeezed to 1.0: same class; nothing flips
    outputs, scored = carry.predict(model, x, None)
    worker.submit(x, scored)
    assert scored == [] and carry.waiting == 3  # below min_rows: the copies wait
    deadline = time.monotonic() + 10 * LINGER_SECONDS + 10
    while _value(registry, f"{n.SQUEEZE_SCORE}_count") < 3 and time.monotonic() < deadline:
        if traffic:  # requests whose instances are not squeezed
            _, none = carry.predict(model, x[:1], np.zeros(0, dtype=np.int64))
            worker.submit(x[:1], none)
        time.sleep(0.02)  # polled until recorded, bounded
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 3
    assert _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) == 0
    assert threads.count("mlsecops-signals") == 1 and carry.waiting == 0
    worker.close()
