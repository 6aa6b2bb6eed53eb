"""Square attack, L-inf (Andriushchenko et al., ECCV 2020): score-based, forward passes only.

Starts from vertical stripes of ``+-eps``; each query sets one random square window (per sample,
the same sign per channel across the window) to ``x +- eps`` and keeps it when the margin
``z_y - max_{j != y} z_j`` drops. The window covers a fraction ``p`` of the image, ``p_init``
halved at the paper's query counts (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10000,
rescaled to ``n_queries``). A sample stops as soon as it is misclassified. Proposals that would
not change the current point (the window already holds that sign) flip the sign instead. A
sample's stripes and every query's window and signs are keyed by ``seed``, its id and the query
index, so its run does not depend on the rest of the batch.
Inputs shaped ``(H, W, C)``, ``(H, W)`` or ``(F,)`` (treated as one row of ``F`` pixels).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kfp_mlsecops.attacks import _keyed, _tf
from kfp_mlsecops.attacks._params import check_fraction, check_int
from kfp_mlsecops.attacks.base import Attack, check_sample_ids
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["Square"]

#: Query counts (of 10000) at which the window fraction halves, from the paper's schedule.
SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


class Square(Attack):
    """The L-inf Square attack; needs only the model's scores (no gradients)."""

    name = "square"
    needs_gradients = False

    def __init__(self, *, n_queries: int = 5000, p_init: float = 0.8, seed: int = 0) -> None:
        self.n_queries = check_int("Square n_queries", n_queries, 1)
        self.p_init = check_fraction("Square p_init", p_init)
        self.seed = check_int("Square seed", seed, 0, 2**31)

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters."""
        return {"n_queries": self.n_queries, "p_init": self.p_init, "seed": self.seed}

    def run_batch(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: np.ndarray,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the Square adversarials (inside the L-inf ball and the range)."""
        import tensorflow as tf

        ids = check_sample_ids(sample_ids, len(inputs))
        attack = self._compiled(model, lambda: self._build(model))
        out = attack(
            tf.constant(inputs, tf.float32),
            tf.constant(labels, tf.int64),
            tf.constant(epsilons, tf.float32),
            tf.constant(ids, tf.int64),
        )
        return np.asarray(out.numpy())

    def _build(self, model: TFModel) -> Any:
        import tensorflow as tf

        height, width, channels = _grid_shape(model.input_shape)
        lower, upper = model.bounds
        n_queries, p_init, seed = self.n_queries, self.p_init, self.seed
        rows = tf.reshape(tf.range(height), [1, height, 1, 1])
        cols = tf.reshape(tf.range(width), [1, 1, width, 1])
        sides = [window_sides(i, n_queries, p_init, height, width) for i in range(n_queries)]
        side_table = tf.constant(sides, tf.int32)

        def signs(uniform: Any) -> Any:
            return tf.where(uniform < 0.5, -1.0, 1.0)

        @tf.function(
            input_signature=[
                model.input_spec(),
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([None], tf.int64),
            ]
        )
        def square(x_in: Any, y: Any, eps: Any, ids: Any) -> Any:
            x = tf.reshape(x_in, [-1, height, width, channels])
            radius = _tf.per_sample(eps, x)
            stripes = signs(
                _keyed.keyed_uniform(
                    ids, [1, width, channels], seed=seed, stream=_keyed.SQUARE_STRIPES, counter=0
                )
            )
            x_best = tf.clip_by_value(x + radius * stripes, lower, upper)
            logits = model.logits(tf.reshape(x_best, tf.shape(x_in)))
            best = _tf.margin(logits, y)
            fooled = _tf.misclassified(logits, y)

            def cond(i: Any, x_best: Any, best: Any, fooled: Any) -> Any:
                active = tf.logical_and(tf.logical_not(fooled), eps > 0)
                return tf.logical_and(i < n_queries, tf.reduce_any(active))

            def body(i: Any, x_best: Any, best: Any, fooled: Any) -> tuple[Any, ...]:
                active = tf.where(tf.logical_and(tf.logical_not(fooled), eps > 0))
                xa, xb = tf.gather_nd(x, active), tf.gather_nd(x_best, active)
                ya, ra, ba = (
                    tf.gather_nd(y, active),
                    tf.gather_nd(radius, active),
                    tf.gather_nd(best, active),
                )
                draw = _keyed.keyed_uniform(
                    tf.gather_nd(ids, active),
                    [2 + channels],
                    seed=seed,
                    stream=_keyed.SQUARE_QUERY,
                    counter=i,
                )
                side_h, side_w = side_table[i, 0], side_table[i, 1]
                top = tf.cast(draw[:, 0] * tf.cast(height - side_h + 1, tf.float32), tf.int32)
                left = tf.cast(draw[:, 1] * tf.cast(width - side_w + 1, tf.float32), tf.int32)
                top = tf.reshape(tf.minimum(top, height - side_h), [-1, 1, 1, 1])
                left = tf.reshape(tf.minimum(left, width - side_w), [-1, 1, 1, 1])
                window = (rows >= top) & (rows < top + side_h) & (cols >= left)
                window = window & (cols < left + side_w)
                sign = tf.reshape(signs(draw[:, 2:]), [-1, 1, 1, channels])
                candidate = tf.clip_by_value(tf.where(window, xa + ra * sign, xb), lower, upper)
                same = tf.reduce_max(tf.abs(candidate - xb), axis=[1, 2, 3]) < 1e-7
                flipped = tf.clip_by_value(tf.where(window, xa - ra * sign, xb), lower, upper)
                candidate = tf.where(tf.reshape(same, [-1, 1, 1, 1]), flipped, candidate)
                batch_shape = tf.concat([[-1], tf.shape(x_in)[1:]], axis=0)
                logits = model.logits(tf.reshape(candidate, batch_shape))
                value = _tf.margin(logits, ya)
                wrong = _tf.misclassified(logits, ya)
                keep = tf.logical_or(value < ba, wrong)
                x_best = tf.tensor_scatter_nd_update(
                    x_best, active, tf.where(tf.reshape(keep, [-1, 1, 1, 1]), candidate, xb)
                )
                best = tf.tensor_scatter_nd_update(best, active, tf.where(keep, value, ba))
                fooled = tf.tensor_scatter_nd_update(fooled, active, wrong)
                return i + 1, x_best, best, fooled

            final = tf.while_loop(cond, body, (tf.constant(1), x_best, best, fooled))
            return tf.reshape(final[1], tf.shape(x_in))

        return square


def window_fraction(i: int, n_queries: int, p_init: float) -> float:
    """Return the fraction ``p`` of the image a window covers at query ``i`` (paper's schedule)."""
    scaled = int(i / n_queries * 10000)
    return p_init / 2 ** sum(scaled > boundary for boundary in SCHEDULE)


def window_sides(i: int, n_queries: int, p_init: float, height: int, width: int) -> tuple[int, int]:
    """Return the window's ``(height, width)`` at query ``i``: a square of area ``p * H * W``.

    A one-row input (``height == 1``) gets a segment of ``p * W`` pixels. Sides are at least 1
    and at most the image side.
    """
    p = window_fraction(i, n_queries, p_init)
    if height == 1:
        return 1, min(max(round(p * width), 1), width)
    side = min(max(round(math.sqrt(p * height * width)), 1), height, width)
    return side, side


def _grid_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Return ``(H, W, C)`` for an input shape of rank 1 (one row), 2 or 3."""
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 1:
        return 1, shape[0], 1
    raise InvalidInputError(
        f"Square attack: inputs shaped {shape} are not supported; use (H, W, C), (H, W) or (F,)"
    )
