"""Adversarial training: PGD-AT (Madry et al., 2018) and FGSM with random start (Wong et al., 2020).

A plain TensorFlow loop: one ``tf.function`` per model holds the inner L-inf attack and the weight
update, traced once (the batch axis is unknown, so the last, smaller batch reuses the trace).
Randomness is seeded: the shuffle comes from ``numpy``'s generator and the random start from
stateless TF ops keyed by ``(seed, step)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ADVERSARIAL_METHODS",
    "AdversarialSettings",
    "check_adversarial",
    "fit_adversarial",
    "linf_attack",
]

#: Accepted values of ``train_model(adversarial=...)``: none (Keras fit), PGD-AT, FGSM-RS.
ADVERSARIAL_METHODS = ("none", "pgd", "fgsm_rs")

_PGD_STEP_FACTOR = 2.5  # Madry et al.: step = 2.5 * eps / steps, so steps can cross the ball
_FGSM_RS_STEP_FACTOR = 1.25  # Wong et al. 2020: alpha = 1.25 * eps after a uniform random start


@dataclass(frozen=True)
class AdversarialSettings:
    """A checked adversarial-training configuration (L-inf, in input units)."""

    method: str
    epsilon: float
    steps: int
    step_size: float

    @property
    def enabled(self) -> bool:
        """True unless ``method`` is ``none``."""
        return self.method != "none"

    def to_provenance(self) -> dict[str, Any]:
        """Return the record written under ``provenance.json``'s ``adversarial_training`` key."""
        if not self.enabled:
            return {"method": "none"}
        return {
            "method": self.method,
            "norm": "linf",
            "epsilon": self.epsilon,
            "steps": self.steps,
            "step_size": self.step_size,
            "random_start": True,
        }


def check_adversarial(
    method: str,
    *,
    epsilon: float,
    steps: int,
    step_size: float | None,
    lower: float | None = None,
    upper: float | None = None,
) -> AdversarialSettings:
    """Validate the adversarial-training parameters; raise InvalidInputError naming the bad one.

    ``step_size`` None picks ``2.5 * epsilon / steps`` for ``pgd`` and ``1.25 * epsilon`` for
    ``fgsm_rs`` (which always takes one step). With ``lower``/``upper`` given, ``epsilon`` must not
    exceed the input range width.
    """
    if not isinstance(method, str) or method not in ADVERSARIAL_METHODS:
        raise InvalidInputError(
            f"adversarial={method!r}: must be one of {', '.join(ADVERSARIAL_METHODS)}"
        )
    if not _is_positive_real(epsilon):
        raise InvalidInputError(f"adv_epsilon={epsilon!r}: must be a finite number > 0")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise InvalidInputError(f"adv_steps={steps!r}: must be an integer >= 1")
    if step_size is not None and not _is_positive_real(step_size):
        raise InvalidInputError(
            f"adv_step_size={step_size!r}: must be a finite number > 0, or None for the default"
        )
    eps = float(epsilon)
    if lower is not None and upper is not None and method != "none" and eps > upper - lower:
        raise InvalidInputError(
            f"adv_epsilon={epsilon!r}: exceeds the input range width {upper - lower:g} "
            f"([{lower:g}, {upper:g}]); use a smaller budget"
        )
    n_steps = 1 if method == "fgsm_rs" else int(steps)
    if step_size is not None:
        size = float(step_size)
    elif method == "fgsm_rs":
        size = _FGSM_RS_STEP_FACTOR * eps
    else:
        size = _PGD_STEP_FACTOR * eps / n_steps
    return AdversarialSettings(method=method, epsilon=eps, steps=n_steps, step_size=size)


def fit_adversarial(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    settings: AdversarialSettings,
    logits_layer: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    lower: float,
    upper: float,
) -> list[float]:
    """Train ``model`` in place on adversarial examples; return the mean loss of each epoch.

    Each batch is replaced by its attack (random start in the ``epsilon``-ball, then
    ``settings.steps`` signed-gradient steps of ``settings.step_size``, projected onto the ball and
    ``[lower, upper]``), and Adam minimises the cross-entropy on the attacked batch, computed from
    the output of ``logits_layer``. Stops early after an epoch with a non-finite loss, so the
    caller sees fewer losses than epochs.
    """
    import keras
    import tensorflow as tf

    logits_model = keras.Model(model.inputs, model.get_layer(logits_layer).output)
    weights = model.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build(weights)
    attack = linf_attack(logits_model, settings, lower=lower, upper=upper)
    step = _build_train_step(logits_model, weights, optimizer, attack)

    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    counter = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        total = tf.constant(0.0, tf.float32)
        for start in range(0, len(y), batch_size):
            part = order[start : start + batch_size]
            total += step(
                tf.constant(x[part]),
                tf.constant(y[part]),
                tf.constant([seed, counter], tf.int64),
            ) * float(len(part))
            counter += 1
        loss = float(total.numpy()) / len(y)
        losses.append(loss)
        if not math.isfinite(loss):
            break
    return losses


def linf_attack(
    logits_model: Any, settings: AdversarialSettings, *, lower: float, upper: float
) -> Callable[[Any, Any, Any], Any]:
    """Return ``attack(x, labels, noise_seed)``, the training attack, for use in ``tf.function``.

    It starts at a uniform random point of the ``settings.epsilon`` L-inf ball around ``x``
    (stateless, keyed by the int64 pair ``noise_seed``), takes ``settings.steps`` steps of
    ``settings.step_size`` along the sign of the cross-entropy gradient, and projects onto the ball
    and ``[lower, upper]`` after each; the result carries no gradient.
    """
    import tensorflow as tf

    eps, size, steps = settings.epsilon, settings.step_size, settings.steps

    def attack(x: Any, labels: Any, noise_seed: Any) -> Any:
        noise = tf.random.stateless_uniform(tf.shape(x), seed=noise_seed, minval=-eps, maxval=eps)
        adv = tf.clip_by_value(x + noise, lower, upper)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(adv)
                loss = tf.reduce_sum(_cross_entropy(logits_model(adv, training=False), labels))
            adv = adv + size * tf.sign(tape.gradient(loss, adv))
            adv = tf.clip_by_value(tf.clip_by_value(adv, x - eps, x + eps), lower, upper)
        return tf.stop_gradient(adv)

    return attack


def _build_train_step(
    logits_model: Any,
    weights: list[Any],
    optimizer: Any,
    attack: Callable[[Any, Any, Any], Any],
) -> Any:
    import tensorflow as tf

    spec = tf.TensorSpec((None, *logits_model.inputs[0].shape[1:]), tf.float32)

    @tf.function(
        input_signature=[spec, tf.TensorSpec([None], tf.int64), tf.TensorSpec([2], tf.int64)],
    )
    def train_step(x: Any, labels: Any, noise_seed: Any) -> Any:
        adv = attack(x, labels, noise_seed)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(_cross_entropy(logits_model(adv, training=True), labels))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    return train_step


def _cross_entropy(logits: Any, labels: Any) -> Any:
    import tensorflow as tf

    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _is_positive_real(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
        and float(value) > 0
    )
