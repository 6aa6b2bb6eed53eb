"""DP-SGD (Abadi et al. 2016): per-example clipping and Gaussian noise, with an accounted epsilon.

Each step draws a **Poisson** batch (every training example joins independently with probability
``q = batch_size / n``), computes each example's gradient (``tf.vectorized_map``), clips it to
L2 norm ``l2_norm_clip``, sums the clipped gradients, adds Gaussian noise of standard deviation
``noise_multiplier * l2_norm_clip`` to every coordinate and divides by the *expected* batch size
``batch_size`` (dividing by the drawn size would make the scale depend on the data). The noised
gradient goes to the same Adam optimizer as plain training: what the optimizer does with it is
post-processing and does not change the guarantee.

The privacy loss is accounted with Google's ``dp-accounting`` library: ``steps = epochs *
ceil(n / batch_size)`` compositions of a Poisson-sampled Gaussian mechanism, RDP accountant,
converted to ``(epsilon, delta)``. The guarantee is example-level (add or remove one training
example) and covers the weights DP-SGD trains only: the MLP's ``Normalization`` mean and
variance, ``reference_stats.json`` (both computed from the training inputs) and the reported
training loss are not privatised; the provenance record says so under ``not_covered``.

Sampling and noise are the secret randomness the guarantee rests on, so :func:`fit_dp_sgd` draws
them from a generator seeded by the operating system, not from the recorded ``seed`` (that one
still fixes the weight initialisation): anyone holding the seed could otherwise replay the noise.
"""

from __future__ import annotations

import logging
import math
import numbers
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training.adversarial import _cross_entropy

__all__ = [
    "DEFAULT_DELTA",
    "DPAccount",
    "DPSettings",
    "account_dp_sgd",
    "check_dp",
    "compute_epsilon",
    "fit_dp_sgd",
    "private_gradient",
]

#: The default ``dp_delta``; it must stay below ``1 / n`` (n training examples).
DEFAULT_DELTA = 1e-5
ACCOUNTANT = "rdp"
SAMPLING = "poisson"
#: What the model folder derives from the training inputs outside DP-SGD (no noise added).
NOT_COVERED = (
    "normalization layer mean/variance (MLP)",
    "reference_stats.json",
    "metrics.train_loss",
)
_MIN_NORM = 1e-12  # an all-zero gradient is left as is, never divided by zero


@dataclass(frozen=True)
class DPSettings:
    """Checked DP-SGD options; ``noise_multiplier`` 0 means DP-SGD is off (plain training)."""

    noise_multiplier: float
    l2_norm_clip: float
    delta: float

    @property
    def enabled(self) -> bool:
        """True when ``noise_multiplier`` > 0."""
        return self.noise_multiplier > 0


@dataclass(frozen=True)
class DPAccount:
    """The ``(epsilon, delta)`` guarantee of one DP-SGD run and what it was computed from."""

    noise_multiplier: float
    l2_norm_clip: float
    delta: float
    epsilon: float
    sampling_probability: float
    steps: int
    expected_batch_size: int

    def to_provenance(self) -> dict[str, Any]:
        """Return the record written under ``provenance.json``'s ``differential_privacy`` key."""
        return {
            "mechanism": "dp-sgd",
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "l2_norm_clip": self.l2_norm_clip,
            "sampling": SAMPLING,
            "sampling_probability": self.sampling_probability,
            "expected_batch_size": self.expected_batch_size,
            "steps": self.steps,
            "accountant": f"dp-accounting {_accounting_version()} {ACCOUNTANT}",
            "unit": "example",
            "not_covered": list(NOT_COVERED),
        }


def check_dp(
    *, noise_multiplier: float, l2_norm_clip: float, delta: float = DEFAULT_DELTA
) -> DPSettings:
    """Validate the DP-SGD options; raise InvalidInputError naming the bad one.

    ``noise_multiplier`` >= 0 (0: off), ``l2_norm_clip`` > 0 and ``0 < delta < 1``, all finite.
    """
    if not _is_real(noise_multiplier) or float(noise_multiplier) < 0:
        raise InvalidInputError(
            f"dp_noise_multiplier={noise_multiplier!r}: must be a finite number >= 0 (0: off)"
        )
    if not _is_real(l2_norm_clip) or float(l2_norm_clip) <= 0:
        raise InvalidInputError(f"dp_l2_norm_clip={l2_norm_clip!r}: must be a finite number > 0")
    if not _is_real(delta) or not 0.0 < float(delta) < 1.0:
        raise InvalidInputError(f"dp_delta={delta!r}: must be a number with 0 < delta < 1")
    return DPSettings(float(noise_multiplier), float(l2_norm_clip), float(delta))


def compute_epsilon(
    *, noise_multiplier: float, sampling_probability: float, steps: int, delta: float
) -> float:
    """Return epsilon of ``steps`` Poisson-sampled Gaussian steps at ``delta`` (RDP accountant).

    ``inf`` when the accountant finds no finite bound (e.g. a tiny ``noise_multiplier``).
    """
    import dp_accounting
    from dp_accounting import rdp

    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            sampling_probability, dp_accounting.GaussianDpEvent(noise_multiplier)
        ),
        steps,
    )
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # orders that do not converge are dropped, with a warning each
    try:
        accountant = rdp.RdpAccountant()
        accountant.compose(event)
        return float(accountant.get_epsilon(delta))
    finally:
        absl.setLevel(level)


def account_dp_sgd(
    settings: DPSettings, *, n_examples: int, batch_size: int, epochs: int
) -> DPAccount:
    """Return the guarantee of training ``epochs`` epochs on ``n_examples`` with ``settings``.

    An epoch is ``ceil(n_examples / batch_size)`` Poisson steps at ``q = min(1, batch_size /
    n_examples)``. Raises InvalidInputError when ``delta >= 1 / n_examples`` (such a delta allows
    publishing a whole example) or when no finite epsilon results.
    """
    if not settings.enabled:
        raise InvalidInputError("dp_noise_multiplier=0: DP-SGD is off; nothing to account")
    if settings.delta >= 1.0 / n_examples:
        raise InvalidInputError(
            f"dp_delta={settings.delta:g}: must be below 1/n = {1.0 / n_examples:.3g} "
            f"({n_examples} training examples); pass a smaller --dp-delta"
        )
    q = min(1.0, batch_size / n_examples)
    steps = epochs * math.ceil(n_examples / batch_size)
    epsilon = compute_epsilon(
        noise_multiplier=settings.noise_multiplier,
        sampling_probability=q,
        steps=steps,
        delta=settings.delta,
    )
    if not math.isfinite(epsilon):
        raise InvalidInputError(
            f"dp_noise_multiplier={settings.noise_multiplier:g}: no finite epsilon after {steps} "
            f"steps at sampling rate {q:.3g}; raise it or train fewer epochs"
        )
    return DPAccount(
        noise_multiplier=settings.noise_multiplier,
        l2_norm_clip=settings.l2_norm_clip,
        delta=settings.delta,
        epsilon=epsilon,
        sampling_probability=q,
        steps=steps,
        expected_batch_size=batch_size,
    )


def private_gradient(
    logits_model: Any,
    weights: list[Any],
    x: Any,
    labels: Any,
    *,
    l2_norm_clip: float,
    noise_multiplier: float,
    expected_batch_size: int,
    noise_seed: Any,
) -> tuple[list[Any], Any]:
    """Return the DP-SGD gradient of the batch and the per-example losses (graph-compatible).

    The gradient is ``(sum_i clip(g_i) + N(0, (noise_multiplier * l2_norm_clip)^2 I)) /
    expected_batch_size`` with ``clip(g) = g * min(1, l2_norm_clip / ||g||_2)``, the norm taken
    over all of ``weights`` together. Noise is stateless, keyed by the int64 pair ``noise_seed``.
    An empty batch gives noise only.
    """
    import tensorflow as tf

    def one(args: tuple[Any, Any]) -> tuple[Any, list[Any]]:
        xi, yi = args
        with tf.GradientTape() as tape:
            loss = _cross_entropy(logits_model(xi[None], training=True), yi[None])[0]
        return loss, tape.gradient(loss, weights)

    def clipped_sum() -> tuple[Any, list[Any]]:
        losses, grads = tf.vectorized_map(one, (x, labels))
        squares = tf.add_n(
            [tf.reduce_sum(tf.reshape(g, [tf.shape(g)[0], -1]) ** 2, 1) for g in grads]
        )
        factor = tf.minimum(1.0, l2_norm_clip / tf.maximum(tf.sqrt(squares), _MIN_NORM))
        return losses, [tf.tensordot(factor, g, axes=1) for g in grads]

    def nothing() -> tuple[Any, list[Any]]:
        return tf.zeros([0], tf.float32), [tf.zeros_like(w) for w in weights]

    losses, sums = tf.cond(tf.shape(x)[0] > 0, clipped_sum, nothing)
    std = noise_multiplier * l2_norm_clip
    noised = []
    for i, (s, w) in enumerate(zip(sums, weights, strict=True)):
        key = tf.random.experimental.stateless_fold_in(noise_seed, i)
        noise = tf.random.stateless_normal(tf.shape(w), seed=key, stddev=std, dtype=s.dtype)
        noised.append((s + noise) / float(expected_batch_size))
    return noised, losses


def fit_dp_sgd(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    settings: DPSettings,
    logits_layer: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    secret_seed: int | None = None,
) -> list[float]:
    """Train ``model`` in place with DP-SGD; return the mean loss of each epoch.

    The loss of an epoch is the mean over the examples its Poisson batches drew. Sampling and
    noise come from ``secret_seed`` (None: fresh randomness from the operating system; pass one
    only in tests: :func:`~kfp_mlsecops.training.train_model`'s ``unsafe_dp_seed``). Stops early
    after an epoch with a non-finite loss.
    """
    import keras
    import tensorflow as tf

    if secret_seed is None:
        secret_seed = secrets.randbits(62)
    logits_model = keras.Model(model.inputs, model.get_layer(logits_layer).output)
    weights = model.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build(weights)
    step = _build_dp_step(logits_model, weights, optimizer, settings, batch_size)

    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    q = min(1.0, batch_size / n)
    rng = np.random.default_rng(secret_seed)
    losses: list[float] = []
    counter = 0
    for _ in range(epochs):
        total, seen = 0.0, 0
        for _ in range(math.ceil(n / batch_size)):
            part = np.flatnonzero(rng.random(n) < q)
            batch_losses = step(
                tf.constant(x[part]),
                tf.constant(y[part]),
                tf.constant([secret_seed, counter], tf.int64),
            )
            total += float(tf.reduce_sum(batch_losses).numpy())
            seen += len(part)
            counter += 1
        loss = total / seen if seen else math.nan
        losses.append(loss)
        if not math.isfinite(loss):
            break
    return losses


def _build_dp_step(
    logits_model: Any, weights: list[Any], optimizer: Any, settings: DPSettings, batch_size: int
) -> Callable[[Any, Any, Any], Any]:
    import tensorflow as tf

    spec = tf.TensorSpec((None, *logits_model.inputs[0].shape[1:]), tf.float32)

    @tf.function(
        input_signature=[spec, tf.TensorSpec([None], tf.int64), tf.TensorSpec([2], tf.int64)],
    )
    def dp_step(x: Any, labels: Any, noise_seed: Any) -> Any:
        grads, losses = private_gradient(
            logits_model,
            weights,
            x,
            labels,
            l2_norm_clip=settings.l2_norm_clip,
            noise_multiplier=settings.noise_multiplier,
            expected_batch_size=batch_size,
            noise_seed=noise_seed,
        )
        optimizer.apply_gradients(zip(grads, weights, strict=True))
        return losses

    return dp_step


def _accounting_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dp-accounting")
    except PackageNotFoundError:  # pragma: no cover - imported above, so installed
        return "unknown"


def _is_real(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
    )
