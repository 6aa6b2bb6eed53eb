"""Projected Gradient Descent (Madry et al., 2018), L-inf or L2, with random start and restarts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kfp_mlsecops.attacks import _keyed, _tf
from kfp_mlsecops.attacks._low_precision import PRECISIONS, resolve_precision
from kfp_mlsecops.attacks._params import check_choice, check_int
from kfp_mlsecops.attacks.base import Attack, check_sample_ids
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["PGD"]


class PGD(Attack):
    """Iterated steepest-ascent steps of ``rel_stepsize * epsilon``, projected onto the ball.

    ``norm="linf"`` (attack name ``pgd``) steps along ``sign(grad)``; ``norm="l2"`` (``pgd_l2``)
    along ``grad / ||grad||_2``. Each restart starts at a uniform random point of the ball
    (``random_start``); per sample the restart with the lowest final margin ``z_y - max z_j`` (the
    worst case for the model) is kept. A sample's random start depends only on ``seed``, its id
    and the restart index (keyed draws), so ``run`` is a pure function of its inputs, per sample.

    ``early_stop`` (default) keeps the first iterate that is misclassified and stops spending
    gradient passes on that sample, in this restart and the later ones (AutoAttack does the same
    across its attacks). It never raises robust accuracy, since the kept point is misclassified,
    and it drops the cost roughly by the fraction of samples already broken.

    ``precision`` is ``float32``, ``bfloat16`` or ``auto`` (bfloat16 on a CPU-only host whose CPU
    computes it natively, else float32; the resolved value is what ``params`` reports). With
    bfloat16 only the gradient comes from a checked bfloat16 copy of the model: a sample counts
    as broken, and the restart selection is made, on float32 logits (see ``_low_precision``).
    """

    # a seed-averaged evaluation traces the loop once per model, not once per seed
    call_params = frozenset({"seed"})

    def __init__(
        self,
        *,
        norm: str = "linf",
        steps: int = 20,
        rel_stepsize: float | None = None,
        restarts: int = 1,
        random_start: bool = True,
        early_stop: bool = True,
        precision: str = "auto",
        seed: int = 0,
    ) -> None:
        check_choice("PGD norm", norm, _tf.NORMS)
        check_choice("PGD precision", precision, PRECISIONS)
        check_int("PGD steps", steps, 1)
        check_int("PGD restarts", restarts, 1)
        check_int("PGD seed", seed, 0, 2**31)
        size = 2.5 / steps if rel_stepsize is None else rel_stepsize
        if (
            isinstance(size, bool)
            or not isinstance(size, (int, float))
            or not (math.isfinite(size) and size > 0)
        ):
            raise InvalidInputError(
                f"PGD rel_stepsize={rel_stepsize!r}: must be a finite number > 0"
            )
        self.name = "pgd" if norm == _tf.LINF else "pgd_l2"
        self.norm = norm
        self.steps = steps
        self.rel_stepsize = float(size)
        self.restarts = restarts
        self.random_start = bool(random_start)
        self.early_stop = bool(early_stop)
        self.precision = resolve_precision(precision)
        self.seed = seed

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters."""
        return {
            "norm": self.norm,
            "steps": self.steps,
            "rel_stepsize": self.rel_stepsize,
            "restarts": self.restarts,
            "random_start": self.random_start,
            "early_stop": self.early_stop,
            "precision": self.precision,
            "seed": self.seed,
        }

    def run_batch(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: np.ndarray,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the PGD adversarials (already inside the ball and the input range)."""
        import tensorflow as tf

        ids = check_sample_ids(sample_ids, len(inputs))
        attack = self._compiled(model, lambda: self._build(model))
        out = attack(
            tf.constant(inputs, tf.float32),
            tf.constant(labels, tf.int64),
            tf.constant(epsilons, tf.float32),
            tf.constant(ids, tf.int64),
            tf.constant(self.seed, tf.int64),
        )
        return np.asarray(out.numpy())

    def _build(self, model: TFModel) -> Any:
        import tensorflow as tf

        bounds, norm = model.bounds, self.norm
        steps, rel_stepsize, restarts = self.steps, self.rel_stepsize, self.restarts
        random_start, early_stop = self.random_start, self.early_stop
        low = model.bf16_logits() if self.precision == "bfloat16" else None
        n_classes = model.n_classes

        def gradient_logits(z: Any) -> Any:
            assert low is not None  # only passed when the copy exists
            return tf.cast(low(z, training=False), tf.float32)

        def judge(adv: Any, ya: Any, logits: Any) -> tuple[Any, Any]:
            """Per active sample: misclassified, and its margin, both on float32 logits."""
            if low is None:
                return _tf.misclassified(logits, ya), _tf.margin(logits, ya)
            # the bfloat16 logits only nominate candidates; float32 decides
            cand = tf.where(_tf.misclassified(logits, ya))[:, 0]
            exact = tf.cond(
                tf.size(cand) > 0,
                lambda: model.logits(tf.gather(adv, cand)),
                lambda: tf.zeros([0, n_classes], tf.float32),
            )
            ycand, at = tf.gather(ya, cand), tf.expand_dims(cand, 1)
            hit = tf.tensor_scatter_nd_update(
                tf.zeros(tf.shape(ya), tf.bool), at, _tf.misclassified(exact, ycand)
            )
            margin = tf.tensor_scatter_nd_update(
                tf.fill(tf.shape(ya), float("inf")), at, _tf.margin(exact, ycand)
            )
            return hit, margin

        def step(idx: Any, adv: Any, xa: Any, ya: Any, ea: Any, state: Any) -> tuple[Any, ...]:
            """One gradient step on the active samples; with early stop, retire the broken."""
            best, best_margin, done = state
            logits, _, grad = _tf.loss_and_gradient(
                model,
                adv,
                lambda z: _tf.cross_entropy(z, ya),
                logits_fn=None if low is None else gradient_logits,
            )
            if early_stop:
                # the logits of this gradient pass decide the current iterate: no extra forward
                hit, margins = judge(adv, ya, logits)
                # gather by index, not boolean_mask: the same rows, far fewer ops to trace
                broken, kept = tf.where(hit)[:, 0], tf.where(~hit)[:, 0]
                at = tf.expand_dims(tf.gather(idx, broken), 1)
                best = tf.tensor_scatter_nd_update(best, at, tf.gather(adv, broken))
                best_margin = tf.tensor_scatter_nd_update(
                    best_margin, at, tf.gather(margins, broken)
                )
                done = tf.tensor_scatter_nd_update(done, at, tf.fill([tf.size(at)], True))
                idx, adv, xa, ya, ea, grad = (
                    tf.gather(t, kept) for t in (idx, adv, xa, ya, ea, grad)
                )
            adv = _tf.project(
                adv
                + _tf.per_sample(rel_stepsize * ea, adv) * _tf.ascent_direction(grad, norm=norm),
                xa,
                ea,
                norm=norm,
                bounds=bounds,
            )
            return idx, adv, xa, ya, ea, (best, best_margin, done)

        # Written with explicit tf.while_loop / tf.cond (autograph off): converting the Python
        # loop cost more than the whole re-attack the gate runs on a sample of points.
        @tf.function(
            input_signature=[
                model.input_spec(),
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([], tf.int64),
            ],
            autograph=False,
        )
        def pgd(x: Any, y: Any, eps: Any, ids: Any, seed: Any) -> Any:
            best, best_margin = x, tf.fill(tf.shape(y), float("inf"))
            done = tf.zeros(tf.shape(y), tf.bool)  # misclassified by an earlier iterate
            # a batch whose budgets are all 0 cannot move: skip its gradient steps
            n_steps = tf.where(tf.reduce_any(eps > 0), steps, 0)
            for restart in range(restarts):
                start = x
                if random_start:
                    start = _tf.random_start(
                        x,
                        eps,
                        norm=norm,
                        ids=ids,
                        seed=seed,
                        stream=_keyed.PGD_START,
                        counter=restart,
                        bounds=bounds,
                    )
                # the samples still to attack, compacted so broken ones cost no more passes
                idx = tf.where(~done)[:, 0]
                adv, xa, ya, ea = (tf.gather(t, idx) for t in (start, x, y, eps))
                _, idx, adv, xa, ya, ea, (best, best_margin, done) = tf.while_loop(
                    # stop when every sample is broken (an empty batch also upsets oneDNN)
                    lambda i, idx, *_: tf.logical_and(i < n_steps, tf.size(idx) > 0),
                    lambda i, *loop: (i + 1, *step(*loop)),
                    (tf.constant(0), idx, adv, xa, ya, ea, (best, best_margin, done)),
                )
                if restarts == 1:  # nothing to compare with: keep the last iterate
                    return tf.tensor_scatter_nd_update(best, tf.expand_dims(idx, 1), adv)
                margin = tf.cond(
                    tf.size(idx) > 0,
                    lambda adv=adv, ya=ya: _tf.margin(model.logits(adv), ya),
                    lambda: tf.zeros([0], tf.float32),
                )
                take = margin < tf.gather(best_margin, idx)
                at = tf.expand_dims(tf.boolean_mask(idx, take), 1)
                best = tf.tensor_scatter_nd_update(best, at, tf.boolean_mask(adv, take))
                best_margin = tf.tensor_scatter_nd_update(
                    best_margin, at, tf.boolean_mask(margin, take)
                )
                if early_stop:
                    done = best_margin <= 0
            return best

        return pgd
