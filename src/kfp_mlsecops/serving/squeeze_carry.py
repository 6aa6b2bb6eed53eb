"""Squeezed copies carried into a later request's model call, several requests' worth at once.

Every squeezed instance needs one more model row. Added to each request's own call (a batch
of 2 for one instance) that row cost about a quarter of the call in ``bench/serving.py``; rows
added together to one call cost much less each, and squeezing many instances at once costs
about what squeezing one does. So the instances to squeeze wait here (a private copy and their
served outputs), and the request that brings them to ``min_rows`` squeezed rows squeezes and
predicts them all in its own model call, beside its inputs: still one call per request,
``min_rows`` more rows in one request of every few, and the same scores (the squeezed copies
and the model are the same; only the batch they ride in differs). Copies still waiting when
traffic stops are predicted by the signal worker after its linger time, by ``flush`` and on
close (:meth:`SqueezeCarry.drain`), and so are copies that waited that long under sparse
squeezing (``squeeze_every`` > 1).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training.squeezing import FeatureSqueezer, Predict

__all__ = ["DEFAULT_CARRY_ROWS", "Scored", "SqueezeCarry"]

#: Squeezed rows predicted together. 16 halved the squeezing cost per request against 1 (each
#: request predicts its own) on the digits CNN and kept the p99 within the goal
#: (bench/serving.py, 2 cores); larger values grow the call of the request that carries them.
DEFAULT_CARRY_ROWS = 16


@dataclass(frozen=True)
class Scored:
    """Model outputs of squeezed instances: as served, and of their squeezed copies.

    ``squeezed`` holds one block of ``len(reference)`` rows per squeezer, in order, as
    :meth:`FeatureSqueezer.distances` reads them.
    """

    reference: np.ndarray
    squeezed: np.ndarray


@dataclass(frozen=True)
class _Waiting:
    reference: np.ndarray  # the served outputs of the instances to squeeze
    inputs: np.ndarray  # those instances (a private copy), squeezed when their call comes


class SqueezeCarry:
    """Squeezed copies waiting for a model call; see the module docstring."""

    def __init__(
        self,
        squeezer: FeatureSqueezer,
        *,
        min_rows: int = DEFAULT_CARRY_ROWS,
        on_lost: Callable[[int], None] | None = None,
    ) -> None:
        """Carry ``squeezer``'s copies until ``min_rows`` squeezed rows are due.

        ``on_lost(n)`` hears of ``n`` served instances whose copies were taken for a model
        call that failed; they are not retried, so serving never depends on them.
        """
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise InvalidInputError(f"squeeze carry min_rows={min_rows!r}: must be an integer >= 1")
        self.squeezer = squeezer
        self.min_rows = min_rows
        self._on_lost = on_lost
        self._waiting: list[_Waiting] = []
        self._rows = 0  # squeezed rows the waiting instances need
        self._since: float | None = None  # when the oldest waiting instance came
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Squeezed rows waiting for a model call."""
        return self._rows

    def waited(self) -> float:
        """Seconds the oldest waiting instance has waited (0.0 when none waits)."""
        since = self._since
        return 0.0 if since is None else time.monotonic() - since

    def predict(
        self, predict: Predict, batch: np.ndarray, rows: np.ndarray | None
    ) -> tuple[np.ndarray, list[Scored]]:
        """Predict ``batch`` and, when due, every waiting squeezed copy in the same call.

        ``rows`` are the rows of ``batch`` to squeeze (None: all). Returns the batch's
        outputs (read-only) and the :class:`Scored` outputs this call completed, if any.
        """
        n = len(batch)
        picked = batch.copy() if rows is None else batch[rows]
        needed = len(picked) * self.squeezer.n_squeezers
        with self._lock:
            due = needed > 0 and self._rows + needed >= self.min_rows
            carried = self._take() if due else []
        if not due:
            outputs = _read_only(predict(batch))
            if needed:
                self._add(_Waiting(_picked(outputs, rows), picked))
            return outputs, []
        try:
            copies = self.squeezer.copies(np.concatenate([*(w.inputs for w in carried), picked]))
            outputs = _read_only(predict(np.concatenate([batch, copies])))
        except BaseException:
            self._lost(carried)
            raise
        served = outputs[:n]
        reference = np.concatenate([*(w.reference for w in carried), _picked(served, rows)])
        return served, [Scored(reference, outputs[n:])]

    def drain(self, predict: Predict) -> list[Scored]:
        """Predict every waiting squeezed copy now, in one call (idle traffic, flush, close)."""
        with self._lock:
            carried = self._take()
        if not carried:
            return []
        try:
            copies = self.squeezer.copies(np.concatenate([w.inputs for w in carried]))
            outputs = _read_only(predict(copies))
        except BaseException:
            self._lost(carried)
            raise
        return [Scored(np.concatenate([w.reference for w in carried]), outputs)]

    def _lost(self, carried: list[_Waiting]) -> None:
        if self._on_lost is not None and carried:
            self._on_lost(sum(len(w.inputs) for w in carried))

    def _add(self, waiting: _Waiting) -> None:
        with self._lock:
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.append(waiting)
            self._rows += len(waiting.inputs) * self.squeezer.n_squeezers

    def _take(self) -> list[_Waiting]:
        taken, self._waiting, self._rows, self._since = self._waiting, [], 0, None
        return taken


def _picked(outputs: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return outputs if rows is None else outputs[rows]


def _read_only(outputs: np.ndarray) -> np.ndarray:
    out = np.asarray(outputs)
    out.setflags(write=False)  # the signal worker reads them later; callers get views
    return out
