"""Record the runtime signals (drift, feature-squeezing scores) off the request path, in batches.

Requests predict the squeezed copies of served instances in their own model calls (see
:mod:`.squeeze_carry`) and only enqueue their inputs and the :class:`~.squeeze_carry.Scored`
outputs their call completed; one background thread takes everything queued, computes the
squeeze scores (:meth:`~kfp_mlsecops.training.squeezing.FeatureSqueezer.distances`), updates the
drift window and records the metrics, so none of that costs the request any time. Squeezed
copies that waited ``LINGER_SECONDS`` (traffic stopped, or few instances are squeezed) are
predicted by the worker itself. The queue is bounded: when the worker falls behind, the
squeeze scores of those instances are not recorded and ``mlsecops_squeeze_skipped_total``
counts them (requests never wait). Signals lag requests by at most one batch;
:meth:`SignalWorker.flush` waits for them (tests, shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import numpy as np

from kfp_mlsecops.serving.drift import DriftMonitor
from kfp_mlsecops.serving.metrics import ServingMetrics
from kfp_mlsecops.serving.squeeze_carry import Scored, SqueezeCarry
from kfp_mlsecops.training.squeezing import Predict

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
#: A served batch (None: none) and the squeeze outputs its model call completed.
_Item = tuple[np.ndarray | None, list[Scored]]


class SignalWorker:
    """Background thread recording drift and squeeze scores of served instances.

    ``carry`` and ``predict`` are the runtime's squeeze carry and model: the worker predicts
    the copies that waited in ``carry`` for ``LINGER_SECONDS`` (and drains it on flush, close).
    """

    def __init__(
        self,
        *,
        carry: SqueezeCarry,
        predict: Predict,
        drift: DriftMonitor | None,
        metrics: ServingMetrics,
        capacity: int = DEFAULT_QUEUE_INSTANCES,
    ) -> None:
        self._carry = carry
        self._predict = predict
        self._drift = drift
        self._metrics = metrics
        self._capacity = capacity
        self._queue: deque[_Item] = deque()
        self._pending = 0  # instances queued or being processed
        self._closed = False
        self._flushing = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mlsecops-signals", daemon=True)
        self._thread.start()

    def submit(self, batch: np.ndarray | None, scored: list[Scored]) -> None:
        """Queue a served batch (None: no new instances) and the squeeze outputs its call made.

        Never blocks: when the queue is full the item is dropped and the instances in
        ``scored`` are counted as skipped.
        """
        n = _instances((batch, scored))
        with self._cond:
            if self._closed or self._pending + n > self._capacity:
                self._metrics.record_squeeze_skipped(_squeezed(scored))
                return
            was_empty = not self._queue
            self._queue.append((batch, scored))
            self._pending += n
            if was_empty or self._pending >= MIN_BATCH_INSTANCES:
                self._cond.notify()

    def flush(self, timeout: float) -> bool:
        """Predict the waiting squeezed copies; wait until everything queued is recorded.

        Returns False on timeout.
        """
        self._submit_waiting()
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
        """Process what is queued or waiting, then stop the thread (idempotent)."""
        if not self._closed:
            self._submit_waiting()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _submit_waiting(self) -> None:
        try:
            scored = self._carry.drain(self._predict)
        except Exception:  # noqa: BLE001 - a monitoring failure must not stop serving
            _log.exception("predicting waiting squeezed copies failed; their scores are skipped")
            return
        if scored:
            self.submit(None, scored)

    def _run(self) -> None:
        while True:
            items: list[_Item] = []
            count = 0
            with self._cond:
                idle = False
                while not self._queue and not self._closed and not idle:
                    # a linger, not forever, while squeezed copies wait for a request
                    timeout = LINGER_SECONDS if self._carry.waiting else None
                    idle = not self._cond.wait(timeout) and not self._queue
                if not self._queue and not idle:
                    return  # closed and drained
                if self._queue:
                    linger_until = time.monotonic() + LINGER_SECONDS
                    while (
                        self._pending < MIN_BATCH_INSTANCES
                        and not self._closed
                        and not self._flushing
                        and (left := linger_until - time.monotonic()) > 0
                    ):
                        self._cond.wait(left)
                    while self._queue and count < MAX_BATCH_INSTANCES:
                        item = self._queue.popleft()
                        items.append(item)
                        count += _instances(item)
            if not items:  # no request for a linger: predict the waiting copies here
                self._submit_waiting()
                continue
            if self._carry.waited() >= LINGER_SECONDS:  # sparse squeezing: do not let them age
                self._submit_waiting()
            try:
                self._process(items)
            except Exception:  # noqa: BLE001 - a monitoring failure must not stop serving
                _log.exception("runtime signals failed for %d instances; skipped", count)
                self._metrics.record_squeeze_skipped(sum(_squeezed(scored) for _, scored in items))
            finally:
                with self._cond:
                    self._pending -= count
                    self._cond.notify_all()

    def _process(self, items: list[_Item]) -> None:
        batches = [batch for batch, _ in items if batch is not None and len(batch)]
        if self._drift is not None and batches:
            x = np.concatenate(batches, axis=0)
            score = self._drift.update(x.reshape(len(x), -1))
            if score is not None:
                self._metrics.record_drift(score)
        squeezer = self._carry.squeezer
        scores = [
            squeezer.distances(s.reference, s.squeezed) for _, scored in items for s in scored
        ]
        if scores:
            flat = np.concatenate(scores, axis=0)
            self._metrics.record_squeezing(flat, threshold=squeezer.threshold)


def _squeezed(scored: list[Scored]) -> int:
    """Instances whose squeeze scores ``scored`` holds."""
    return sum(len(s.reference) for s in scored)


def _instances(item: _Item) -> int:
    batch, scored = item
    return max(0 if batch is None else len(batch), _squeezed(scored))
