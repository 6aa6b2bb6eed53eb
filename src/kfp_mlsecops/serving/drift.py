"""Input-drift score: how far the recent inputs' mean moved from the training split's mean.

Score (chosen for being cheap, bounded in cost per request and easy to read)::

    score = mean_j |m_j - mu_j| / s_j

over flattened features j, where ``m_j`` is the mean of feature j over a sliding window of the
last ``window`` instances served, ``mu_j`` its training mean and ``s_j`` its training standard
deviation, floored at a tenth of the average standard deviation (a feature that was constant in
training, like a blank image border, would otherwise dominate the score). 0 means the window's
mean equals the training mean; 1 means it sits one training standard deviation away on average.
Sampling noise alone gives about ``0.8 / sqrt(window)`` for an unchanged distribution (0.05 for
the default window of 256). It detects shifts of the mean (brightness, scaling, a broken
feature), not changes of shape that keep every mean; PSI per feature would catch more but
costs a histogram per feature and request.
"""

from __future__ import annotations

import threading

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training.reference_stats import ReferenceStats

__all__ = ["DEFAULT_MIN_SAMPLES", "DEFAULT_WINDOW", "DriftMonitor"]

DEFAULT_WINDOW = 256
DEFAULT_MIN_SAMPLES = 32
#: Floor of each feature's standard deviation, as a fraction of the mean standard deviation.
_STD_FLOOR_FRACTION = 0.1
_ABS_STD_FLOOR = 1e-6


class DriftMonitor:
    """Keep a sliding window of served instances and score its mean against the reference.

    Thread-safe. :meth:`update` returns None until ``min_samples`` instances were seen.
    """

    def __init__(
        self,
        stats: ReferenceStats,
        *,
        window: int = DEFAULT_WINDOW,
        min_samples: int = DEFAULT_MIN_SAMPLES,
    ) -> None:
        if not isinstance(window, int) or window < 1:
            raise InvalidInputError(f"drift window={window!r}: must be an integer >= 1")
        if not isinstance(min_samples, int) or not 1 <= min_samples <= window:
            raise InvalidInputError(
                f"drift min_samples={min_samples!r}: must be an integer in [1, window={window}]"
            )
        self.window = window
        self.min_samples = min_samples
        self._mean = stats.mean
        floor = max(_STD_FLOOR_FRACTION * float(stats.std.mean()), _ABS_STD_FLOOR)
        self._inv_scale = 1.0 / np.maximum(stats.std, floor)
        self._buffer = np.zeros((window, stats.n_features), dtype=np.float64)
        self._sum = np.zeros(stats.n_features, dtype=np.float64)
        self._count = 0
        self._next = 0
        self._writes = 0
        self._lock = threading.Lock()

    def update(self, batch: np.ndarray) -> float | None:
        """Add a batch of instances (N, n_features); return the current score or None."""
        rows = np.asarray(batch, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self._buffer.shape[1]:
            raise InvalidInputError(
                f"drift update: expected (N, {self._buffer.shape[1]}) features, got {rows.shape}"
            )
        rows = rows[-self.window :]
        with self._lock:
            for row in self._split_at_wrap(rows):
                self._write(row)
            if self._writes >= self.window:
                # Re-sum now and then so float rounding of the running sum cannot accumulate.
                self._sum = self._buffer[: self._count].sum(axis=0)
                self._writes = 0
            if self._count < self.min_samples:
                return None
            window_mean = self._sum / self._count
        return float(np.mean(np.abs(window_mean - self._mean) * self._inv_scale))

    def _split_at_wrap(self, rows: np.ndarray) -> list[np.ndarray]:
        head = min(len(rows), self.window - self._next)
        return [part for part in (rows[:head], rows[head:]) if len(part)]

    def _write(self, rows: np.ndarray) -> None:
        """Write ``rows`` at the ring position (they fit without wrapping)."""
        start, stop = self._next, self._next + len(rows)
        if self._count == self.window:
            self._sum -= self._buffer[start:stop].sum(axis=0)
        else:
            self._count = min(self.window, self._count + len(rows))
        self._buffer[start:stop] = rows
        self._sum += rows.sum(axis=0)
        self._next = stop % self.window
        self._writes += len(rows)
