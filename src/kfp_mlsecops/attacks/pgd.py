"""Projected Gradient Descent (Madry et al., 2018), L-inf, with random start and restarts."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from kfp_mlsecops.attacks.base import Attack, loss_gradient
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["PGD"]


class PGD(Attack):
    """Iterated signed-gradient steps of ``rel_stepsize * epsilon``, projected onto the ball.

    Each restart starts at a uniform random point of the ball (``random_start``); per sample the
    first restart that fools the model is kept. Randomness is stateless, seeded by ``seed`` and
    the restart index, so ``run`` is a pure function of its inputs.
    """

    name: ClassVar[str] = "pgd"

    def __init__(
        self,
        *,
        steps: int = 20,
        rel_stepsize: float | None = None,
        restarts: int = 1,
        random_start: bool = True,
        seed: int = 0,
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InvalidInputError(f"PGD steps={steps!r}: must be an integer >= 1")
        if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
            raise InvalidInputError(f"PGD restarts={restarts!r}: must be an integer >= 1")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
            raise InvalidInputError(f"PGD seed={seed!r}: must be an integer in [0, 2**31)")
        size = 2.5 / steps if rel_stepsize is None else rel_stepsize
        if (
            isinstance(size, bool)
            or not isinstance(size, (int, float))
            or not (math.isfinite(size) and size > 0)
        ):
            raise InvalidInputError(
                f"PGD rel_stepsize={rel_stepsize!r}: must be a finite number > 0"
            )
        self.steps = steps
        self.rel_stepsize = float(size)
        self.restarts = restarts
        self.random_start = bool(random_start)
        self.seed = seed

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters."""
        return {
            "steps": self.steps,
            "rel_stepsize": self.rel_stepsize,
            "restarts": self.restarts,
            "random_start": self.random_start,
            "seed": self.seed,
        }

    def run(
        self, model: TFModel, inputs: np.ndarray, labels: np.ndarray, *, epsilon: float
    ) -> np.ndarray:
        """Return the PGD adversarials (already inside the ball and the input range)."""
        import tensorflow as tf

        attack = self._compiled(model, lambda: self._build(model))
        out = attack(
            tf.constant(inputs, tf.float32),
            tf.constant(labels, tf.int64),
            tf.constant(epsilon, tf.float32),
        )
        return np.asarray(out.numpy())

    def _build(self, model: TFModel) -> Any:
        import tensorflow as tf

        lower, upper = model.bounds
        steps, rel_stepsize, restarts = self.steps, self.rel_stepsize, self.restarts
        random_start, seed = self.random_start, self.seed
        mask_shape = [-1] + [1] * len(model.input_shape)

        def project(adv: Any, x: Any, eps: Any) -> Any:
            return tf.clip_by_value(x + tf.clip_by_value(adv - x, -eps, eps), lower, upper)

        @tf.function(
            input_signature=[
                model.input_spec(),
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def pgd(x: Any, y: Any, eps: Any) -> Any:
            step = rel_stepsize * eps
            best = x
            fooled = tf.zeros_like(y, dtype=tf.bool)
            for restart in range(restarts):
                adv = x
                if random_start:
                    noise = tf.random.stateless_uniform(
                        tf.shape(x), seed=[seed, restart], minval=-1.0, maxval=1.0
                    )
                    adv = project(x + eps * noise, x, eps)
                for _ in tf.range(steps):
                    adv = project(adv + step * tf.sign(loss_gradient(model, adv, y)), x, eps)
                wrong = tf.argmax(model.logits(adv), axis=-1, output_type=tf.int64) != y
                take = (
                    tf.ones_like(fooled)
                    if restart == 0
                    else tf.logical_and(wrong, tf.logical_not(fooled))
                )
                best = tf.where(tf.reshape(take, mask_shape), adv, best)
                fooled = tf.logical_or(fooled, wrong)
            return best

        return pgd
