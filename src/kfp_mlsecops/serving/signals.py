"""Record the runtime signals (drift, feature-squeezing scores) off the request path, in batches.

The request predicts its inputs and their squeezed copies in one model call (see
:meth:`~kfp_mlsecops.serving.runtime.VerifiedModelRuntime.predict`) and only enqueues the inputs
and that call's outputs; one background thread takes everything queued, computes the squeeze
scores (:meth:`~kfp_mlsecops.training.squeezing.FeatureSqueezer.stacked_scores`, the scores the
request would have computed, just later), updates the drift window and records the metrics, so
none of that costs the request any time. The queue is bounded: when the worker falls behind,
those instances' signals are not recorded and ``mlsecops_squeeze_skipped_total`` counts them
(requests never wait). Signals lag requests by at most one batch; :meth:`SignalWorker.flush`
waits for them (tests, shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import numpy as np

from kfp_mlsecops.serving.drift import DriftMonitor
from kfp_mlsecops.serving.metrics import ServingMetrics
from kfp_mlsecops.training.squeezing import FeatureSqueezer

__all__ = ["DEFAULT_QUEUE_INSTANCES", "MAX_BATCH_INSTANCES", "SignalWorker"]

#: Instances that may wait for the worker before new ones are skipped.
DEFAULT_QUEUE_INSTANCES = 4096
#: Most instances recorded in one batch.
MAX_BATCH_INSTANCES = 256
#: The worker waits for this many instances (or LINGER_SECONDS) before a batch, so it wakes
#: (and takes the GIL) rarely.
MIN_BATCH_INSTANCES = 128
LINGER_SECONDS = 0.2

_log = logging.getLogger(__name__)


class SignalWorker:
    """Background thread recording drift and squeeze scores of served instances."""

    def __init__(
        self,
        *,
        squeezer: FeatureSqueezer,
        drift: DriftMonitor | None,
        metrics: ServingMetrics,
        capacity: int = DEFAULT_QUEUE_INSTANCES,
    ) -> None:
        self._squeezer = squeezer
        self._drift = drift
        self._metrics = metrics
        self._capacity = capacity
        self._queue: deque[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = deque()
        self._pending = 0  # instances queued or being processed
        self._closed = False
        self._flushing = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mlsecops-signals", daemon=True)
        self._thread.start()

    def submit(self, batch: np.ndarray, outputs: np.ndarray, rows: np.ndarray | None) -> None:
        """Queue a served batch and the model's outputs on ``squeezer.stack(batch, rows)``.

        ``rows`` are the squeezed rows (None: all; empty: none, ``outputs`` then only holds the
        batch's own). Never blocks: skips and counts the batch when the queue is full.
        """
        n = len(batch)
        with self._cond:
            if self._closed or self._pending + n > self._capacity:
                self._metrics.record_squeeze_skipped(n)
                return
            was_empty = not self._queue
            self._queue.append((batch, outputs, rows))
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

    def _process(self, items: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]) -> None:
        if self._drift is not None:
            x = np.concatenate([batch for batch, _, _ in items], axis=0)
            score = self._drift.update(x.reshape(len(x), -1))
            if score is not None:
                self._metrics.record_drift(score)
        scores = [
            self._squeezer.stacked_scores(outputs, len(batch), rows)
            for batch, outputs, rows in items
        ]
        flat = np.concatenate(scores, axis=0)
        if len(flat):
            self._metrics.record_squeezing(flat, threshold=self._squeezer.threshold)
