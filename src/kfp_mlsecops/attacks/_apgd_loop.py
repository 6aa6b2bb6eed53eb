"""The compiled Auto-PGD loop (Croce & Hein, ICML 2020, Algorithm 1), L-inf or L2.

Step size starts at ``2 * eps`` and is halved for a sample at checkpoint ``w_j`` when either
(1) its loss increased in at most ``rho`` of the steps since ``w_{j-1}`` or (2) its step size was
not halved at ``w_{j-1}`` and its best loss has not improved since; the sample then restarts from
its best point. Checkpoints follow ``p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03,
0.06)`` times ``n_iter`` (integer rounding as in the authors' implementation). Momentum 0.75.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kfp_mlsecops.attacks import _keyed, _tf
from kfp_mlsecops.attacks.model import TFModel

#: Loss kinds: cross-entropy, untargeted DLR, targeted DLR (``target`` input used).
LOSSES = ("ce", "dlr", "dlr_targeted")
MOMENTUM = 0.75
#: The keyed-draw stream of each loss's random start.
_STREAMS = {
    "ce": _keyed.APGD_CE_START,
    "dlr": _keyed.APGD_DLR_START,
    "dlr_targeted": _keyed.APGDT_START,
}


def checkpoints(n_iter: int) -> list[int]:
    """Return the checkpoints ``w_1 < w_2 < ... <= n_iter`` (iterations done when each is checked).

    The first interval is ``0.22 * n_iter``; each next one is 0.03 * n_iter shorter, but at least
    ``0.06 * n_iter`` (integers, at least 1), as in the paper and the authors' implementation.
    """
    interval = max(int(0.22 * n_iter), 1)
    decrement, minimum = max(int(0.03 * n_iter), 1), max(int(0.06 * n_iter), 1)
    points: list[int] = []
    done = interval
    while done <= n_iter:
        points.append(done)
        interval = max(interval - decrement, minimum)
        done += interval
    return points


def build_apgd(
    model: TFModel, *, loss: str, norm: str, n_iter: int, rho: float
) -> Callable[..., Any]:
    """Return ``apgd(x, y, target, eps, ids, key) -> (adversarial, fooled)``, compiled once.

    ``eps`` is per sample; a sample with ``eps == 0`` (or already misclassified) stops after the
    random start. ``adversarial`` is the first misclassified iterate found for fooled samples and
    the highest-loss iterate otherwise. ``key`` is ``(seed, restart or target index)``: with the
    sample ids it keys each sample's random start. Every quantity (step size, checkpoints, best
    point) is per sample, so a sample's run does not depend on the rest of the batch.
    """
    import tensorflow as tf

    bounds = model.bounds
    loss_fn = _loss_function(loss, model.n_classes)
    stream = _STREAMS[loss]
    points = checkpoints(n_iter)
    # per iteration index i (0-based): is i + 1 a checkpoint, and the length of its interval
    is_check = [False] * n_iter
    length = [1] * n_iter
    for previous, point in zip([0, *points], points, strict=False):
        is_check[point - 1] = True
        length[point - 1] = point - previous
    check_table = tf.constant(is_check)
    length_table = tf.constant(length, tf.float32)

    @tf.function(
        input_signature=[
            model.input_spec(),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([2], tf.int64),
        ]
    )
    def apgd(x: Any, y: Any, target: Any, eps: Any, ids: Any, key: Any) -> tuple[Any, Any]:
        def evaluate(point: Any) -> tuple[Any, Any, Any]:
            return _tf.loss_and_gradient(model, point, lambda z: loss_fn(z, y, target))

        def evaluate_active(point: Any, active: Any, value: Any, grad: Any) -> tuple[Any, ...]:
            """Loss and gradient for the active samples only; the others keep stale values."""
            index = tf.where(active)
            y_a, t_a = tf.gather_nd(y, index), tf.gather_nd(target, index)
            logits, v_a, g_a = _tf.loss_and_gradient(
                model, tf.gather_nd(point, index), lambda z: loss_fn(z, y_a, t_a)
            )
            wrong = tf.scatter_nd(
                index, _tf.misclassified(logits, y_a), tf.shape(active, out_type=tf.int64)
            )
            value = tf.tensor_scatter_nd_update(value, index, v_a)
            return wrong, value, tf.tensor_scatter_nd_update(grad, index, g_a)

        def to_ball(point: Any) -> Any:
            return _tf.project(point, x, eps, norm=norm, bounds=bounds)

        def pick(mask: Any, a: Any, b: Any) -> Any:
            return tf.where(_tf.per_sample(mask, a), a, b)

        start = _tf.random_start(
            x,
            eps,
            norm=norm,
            ids=ids,
            seed=key[0],
            stream=stream,
            counter=key[1],
            bounds=bounds,
            sphere=True,
        )
        logits, value, grad = evaluate(start)
        fooled = _tf.misclassified(logits, y)
        zeros = tf.zeros_like(eps)
        state = (
            tf.constant(0),  # iteration
            start,  # x_adv
            start,  # x_old (for momentum)
            grad,
            value,  # loss at x_adv (to count increases)
            start,  # x_best (highest loss)
            grad,  # grad at x_best
            value,  # best loss
            start,  # first misclassified iterate
            fooled,
            2.0 * eps,  # step size
            zeros,  # loss increases since the last checkpoint
            value,  # best loss at the last checkpoint
            tf.ones_like(fooled),  # step halved at the last checkpoint
        )

        def cond(i: Any, *rest: Any) -> Any:
            active = tf.logical_and(tf.logical_not(rest[8]), eps > 0)
            return tf.logical_and(i < n_iter, tf.reduce_any(active))

        def body(
            i: Any,
            x_adv: Any,
            x_old: Any,
            grad: Any,
            prev: Any,
            x_best: Any,
            grad_best: Any,
            best: Any,
            x_fool: Any,
            fooled: Any,
            step: Any,
            increases: Any,
            best_at_check: Any,
            reduced: Any,
        ) -> tuple[Any, ...]:
            alpha = tf.where(i > 0, MOMENTUM, 1.0)
            z = to_ball(x_adv + _tf.per_sample(step, x) * _tf.ascent_direction(grad, norm=norm))
            x_new = to_ball(x_adv + alpha * (z - x_adv) + (1.0 - alpha) * (x_adv - x_old))
            active = tf.logical_and(tf.logical_not(fooled), eps > 0)
            wrong, value, grad_new = evaluate_active(x_new, active, prev, grad)
            x_fool = pick(wrong, x_new, x_fool)
            fooled = tf.logical_or(fooled, wrong)
            increases += tf.cast(value > prev, tf.float32)
            improved = value > best
            x_best = pick(improved, x_new, x_best)
            grad_best = pick(improved, grad_new, grad_best)
            best = tf.where(improved, value, best)
            at_check = check_table[i]
            oscillating = increases <= length_table[i] * rho
            stalled = tf.logical_and(tf.logical_not(reduced), best_at_check >= best)
            halve = tf.logical_and(at_check, tf.logical_or(oscillating, stalled))
            step = tf.where(halve, step / 2.0, step)
            x_next = pick(halve, x_best, x_new)
            grad_next = pick(halve, grad_best, grad_new)
            reduced = tf.where(at_check, halve, reduced)
            best_at_check = tf.where(at_check, best, best_at_check)
            increases = tf.where(at_check, zeros, increases)
            return (
                i + 1,
                x_next,
                x_adv,
                grad_next,
                value,
                x_best,
                grad_best,
                best,
                x_fool,
                fooled,
                step,
                increases,
                best_at_check,
                reduced,
            )

        final = tf.while_loop(cond, body, state, maximum_iterations=n_iter)
        x_best, x_fool, fooled = final[5], final[8], final[9]
        return pick(fooled, x_fool, x_best), fooled

    return apgd


def _loss_function(loss: str, n_classes: int) -> Callable[[Any, Any, Any], Any]:
    """Per-sample loss to maximise. DLR needs 3 (targeted: 4) classes; fewer use the margin."""
    if loss == "ce":
        return lambda logits, y, target: _tf.cross_entropy(logits, y)
    if loss == "dlr":
        if n_classes >= 3:
            return lambda logits, y, target: _tf.dlr(logits, y)
        return lambda logits, y, target: -_tf.margin(logits, y)
    if n_classes >= 4:
        return _tf.dlr_targeted

    def target_margin(logits: Any, y: Any, target: Any) -> Any:
        import tensorflow as tf

        return tf.gather(logits, target, batch_dims=1) - tf.gather(logits, y, batch_dims=1)

    return target_margin
