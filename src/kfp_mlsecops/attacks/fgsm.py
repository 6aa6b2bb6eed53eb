"""Fast Gradient Sign Method (Goodfellow et al., 2015), L-inf."""

from __future__ import annotations

from typing import Any

import numpy as np

from kfp_mlsecops.attacks.base import Attack, check_sample_ids, loss_gradient
from kfp_mlsecops.attacks.model import TFModel

__all__ = ["FGSM"]


class FGSM(Attack):
    """One step of size epsilon along the sign of the loss gradient: ``x + eps * sign(grad)``."""

    name = "fgsm"

    def run_batch(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: np.ndarray,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return ``clip(x + epsilon * sign(grad_x CE), lower, upper)``, per-sample epsilon.

        FGSM draws nothing at random: ``sample_ids`` is only checked.
        """
        import tensorflow as tf

        check_sample_ids(sample_ids, len(inputs))
        step = self._compiled(model, lambda: _build(model))
        out = step(
            tf.constant(inputs, tf.float32),
            tf.constant(labels, tf.int64),
            tf.constant(epsilons, tf.float32),
        )
        return np.asarray(out.numpy())


def _build(model: TFModel) -> Any:
    import tensorflow as tf

    from kfp_mlsecops.attacks import _tf

    lower, upper = model.bounds

    @tf.function(
        input_signature=[
            model.input_spec(),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.float32),
        ],
        autograph=False,  # straight-line code: nothing to convert, and converting costs
    )
    def fgsm(x: Any, y: Any, eps: Any) -> Any:
        grad = loss_gradient(model, x, y)
        return tf.clip_by_value(x + _tf.per_sample(eps, x) * tf.sign(grad), lower, upper)

    return fgsm
