"""TensorFlow building blocks shared by the attacks (call them inside ``tf.function``).

Epsilons are per-sample vectors shaped ``(N,)``, so one trace serves every budget. Losses are
per-sample vectors; gradients are of their sum, so each sample gets its own gradient.
"""

from __future__ import annotations

from typing import Any

from kfp_mlsecops.attacks.model import TFModel

#: Added to denominators (L2 norms, DLR scale) as in the reference implementations.
TINY = 1e-12
LINF = "linf"
L2 = "l2"
NORMS = (LINF, L2)


def per_sample(v: Any, like: Any) -> Any:
    """Reshape a ``(N,)`` vector to broadcast against a batch shaped like ``like``."""
    import tensorflow as tf

    return tf.reshape(v, tf.concat([[-1], tf.ones([tf.rank(like) - 1], tf.int32)], axis=0))


def l2_norm(v: Any) -> Any:
    """Per-sample L2 norm of a batch, shaped ``(N,)``.

    Squares are summed in float64, so the float32 norm does not depend on the summation order
    (which differs between batch sizes) except in the rarest ties.
    """
    import tensorflow as tf

    flat = tf.cast(tf.reshape(v, [tf.shape(v)[0], -1]), tf.float64)
    return tf.cast(tf.sqrt(tf.reduce_sum(flat * flat, axis=1)), v.dtype)


def project(adv: Any, x: Any, eps: Any, *, norm: str, bounds: tuple[float, float]) -> Any:
    """Project ``adv`` onto the ``norm`` ball of radius ``eps`` (N,) around ``x``, then the range.

    Clipping to the range after the ball never leaves the ball: ``x`` lies inside the range, so
    clipping moves every coordinate of ``adv`` towards ``x``.
    """
    import tensorflow as tf

    delta = adv - x
    if norm == LINF:
        radius = per_sample(eps, x)
        delta = tf.clip_by_value(delta, -radius, radius)
    else:
        length = l2_norm(delta)
        scale = tf.minimum(1.0, eps / tf.maximum(length, TINY))
        delta = delta * per_sample(scale, x)
    return tf.clip_by_value(x + delta, bounds[0], bounds[1])


def ascent_direction(grad: Any, *, norm: str) -> Any:
    """Steepest ascent direction for a unit step: ``sign(g)`` (L-inf) or ``g / ||g||_2`` (L2)."""
    import tensorflow as tf

    if norm == LINF:
        return tf.sign(grad)
    return grad / per_sample(l2_norm(grad) + TINY, grad)


def random_start(
    x: Any,
    eps: Any,
    *,
    norm: str,
    ids: Any,
    seed: Any,
    stream: int,
    counter: Any,
    bounds: tuple[float, float],
    sphere: bool = False,
) -> Any:
    """Return a random point of the ball around ``x`` (``sphere``: on its surface for L2).

    Sample ``i``'s point depends only on ``(seed, stream, counter, ids[i])`` and its budget (see
    :mod:`~kfp_mlsecops.attacks._keyed`), never on the rest of the batch. L-inf: uniform in the
    box. L2: a normal vector scaled to the sphere; inside the ball, the first ``D`` of ``D + 2``
    normals over their norm, which is uniform in the ball without a power of the radius.
    """
    import tensorflow as tf

    from kfp_mlsecops.attacks import _keyed

    shape = tf.shape(x)[1:]
    size = tf.reduce_prod(shape)
    key = {"ids": ids, "seed": seed, "counter": counter}
    if norm == LINF:
        noise = _keyed.keyed_uniform(shape=shape, stream=stream, minval=-1.0, maxval=1.0, **key)
        return project(x + per_sample(eps, x) * noise, x, eps, norm=norm, bounds=bounds)
    extra = 0 if sphere else 2
    normals = _keyed.keyed_normal(shape=[size + extra], stream=stream + _keyed.L2_NORMALS, **key)
    point = normals / tf.expand_dims(l2_norm(normals) + TINY, 1)
    point = tf.reshape(point[:, :size], tf.shape(x))
    return project(x + per_sample(eps, x) * point, x, eps, norm=norm, bounds=bounds)


def cross_entropy(logits: Any, y: Any) -> Any:
    """Per-sample cross-entropy."""
    import tensorflow as tf

    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)


def margin(logits: Any, y: Any) -> Any:
    """Per-sample ``z_y - max_{j != y} z_j``; a sample is misclassified when it is <= 0."""
    import tensorflow as tf

    true = tf.gather(logits, y, batch_dims=1)
    others = tf.where(tf.one_hot(y, tf.shape(logits)[1]) > 0, -float("inf"), logits)
    return true - tf.reduce_max(others, axis=1)


def dlr(logits: Any, y: Any) -> Any:
    """Difference-of-logits-ratio loss (Croce & Hein 2020), untargeted; needs >= 3 classes."""
    import tensorflow as tf

    top = tf.math.top_k(logits, k=3).values
    return -margin(logits, y) / (top[:, 0] - top[:, 2] + TINY)


def dlr_targeted(logits: Any, y: Any, target: Any) -> Any:
    """Targeted DLR: ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)``; needs >= 4 classes."""
    import tensorflow as tf

    top = tf.math.top_k(logits, k=4).values
    gap = tf.gather(logits, y, batch_dims=1) - tf.gather(logits, target, batch_dims=1)
    return -gap / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + TINY)


def misclassified(logits: Any, y: Any) -> Any:
    """Per-sample bool: the argmax differs from ``y``."""
    import tensorflow as tf

    return tf.argmax(logits, axis=-1, output_type=tf.int64) != y


def loss_and_gradient(
    model: TFModel, x: Any, loss: Any, *, logits_fn: Any = None
) -> tuple[Any, Any, Any]:
    """Return ``(logits, per-sample loss, d sum(loss) / dx)``; ``loss(logits) -> (N,)``.

    ``logits_fn`` replaces ``model.logits`` (e.g. PGD's bfloat16 copy). A model with no gradient
    path to its input (e.g. a rounding layer) gets zero gradients, never ``None``: that is
    exactly what the gradient-masking diagnostics look for.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = (logits_fn or model.logits)(x)
        values = loss(logits)
        total = tf.reduce_sum(values)
    grad = tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return logits, values, grad
