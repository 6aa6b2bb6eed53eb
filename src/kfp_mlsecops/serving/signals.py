"""Compute the runtime signals (drift, feature squeezing) off the request path, in batches.

A request only enqueues its inputs and predicted probabilities; one background thread takes
everything queued, updates the drift window, predicts the squeezed versions of all queued
instances in a single model call and records the metrics. Batching amortises the model call's
fixed cost, and TensorFlow releases the GIL while it runs, so the signals add little to request
latency or throughput. The queue is bounded: when the worker falls behind, instances are not
squeezed and ``mlsecops_squeeze_skipped_total`` counts them (requests never wait). Signals lag
requests by at most one batch; :meth:`SignalWorker.flush` waits for them (tests, shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from kfp_mlsecops.serving.drift import DriftMonitor
from kfp_mlsecops.serving.metrics import ServingMetrics
from kfp_mlsecops.training.squeezing import FeatureSqueezer

__all__ = ["DEFAULT_QUEUE_INSTANCES", "MAX_BATCH_INSTANCES", "SignalWorker"]

#: Instances that may wait for the worker before new ones are skipped.
DEFAULT_QUEUE_INSTANCES = 4096
#: Most instances squeezed in one model call.
MAX_BATCH_INSTANCES = 256
#: The worker waits for this many instances (or LINGER_SECONDS) before a model call, so the
#: call's fixed cost is shared and it wakes (and takes the GIL) rarely.
MIN_BATCH_INSTANCES = 128
LINGER_SECONDS = 0.2

_log = logging.getLogger(__name__)
Predict = Callable[[np.ndarray], np.ndarray]


class SignalWorker:
    """Background thread computing drift and squeeze scores for served instances."""

    def __init__(
        self,
        *,
        predict: Predict,
        squeezer: FeatureSqueezer,
        drift: DriftMonitor | None,
        metrics: ServingMetrics,
        squeeze_every: int = 1,
        capacity: int = DEFAULT_QUEUE_INSTANCES,
    ) -> None:
        self._predict = predict
        self._squeezer = squeezer
        self._drift = drift
        self._metrics = metrics
        self._every = squeeze_every
        self._capacity = capacity
        self._queue: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._pending = 0  # instances queued or being processed
        self._seen = 0
        self._closed = False
        self._flushing = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mlsecops-signals", daemon=True)
        self._thread.start()

    def submit(self, batch: np.ndarray, probabilities: np.ndarray) -> None:
        """Queue a served batch; never blocks (skips and counts it when the queue is full)."""
        n = len(batch)
        with self._cond:
            if self._closed or self._pending + n > self._capacity:
                self._metrics.record_squeeze_skipped(n)
                return
            was_empty = not self._queue
            self._queue.append((batch, probabilities))
            self._pending += n
            if was_empty or self._pending >= MIN_BATCH_INSTANCES:
                self._cond.notify()

    def flush(self, timeout: float) -> bool:
        """Wait until every queued instance was processed; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._pending:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Process what is queued, then stop the thread (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed and drained
                linger_until = time.monotonic() + LINGER_SECONDS
                while (
                    self._pending < MIN_BATCH_INSTANCES
                    and not self._closed
                    and not self._flushing
                    and (left := linger_until - time.monotonic()) > 0
                ):
                    self._cond.wait(left)
                items, count = [], 0
                while self._queue and count < MAX_BATCH_INSTANCES:
                    item = self._queue.popleft()
                    items.append(item)
                    count += len(item[0])
            try:
                self._process(items)
            except Exception:  # noqa: BLE001 - a monitoring failure must not stop serving
                _log.exception("runtime signals failed for %d instances; skipped", count)
                self._metrics.record_squeeze_skipped(count)
            finally:
                with self._cond:
                    self._pending -= count
                    self._cond.notify_all()

    def _process(self, items: list[tuple[np.ndarray, np.ndarray]]) -> None:
        x = np.concatenate([batch for batch, _ in items], axis=0)
        probabilities = np.concatenate([p for _, p in items], axis=0)
        if self._drift is not None:
            score = self._drift.update(x.reshape(len(x), -1))
            if score is not None:
                self._metrics.record_drift(score)
        first = (-self._seen) % self._every
        self._seen += len(x)
        rows = np.arange(first, len(x), self._every)
        if len(rows):
            scores = self._squeezer.scores_against(self._predict, x[rows], probabilities[rows])
            self._metrics.record_squeezing(scores, threshold=self._squeezer.threshold)
