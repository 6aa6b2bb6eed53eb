"""The attack base class (foolbox's shape): ``__call__`` loops epsilons, clips and scores."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.attacks.invariants import check_perturbation
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import AttackError, InvalidInputError

__all__ = ["Attack", "clip_perturbation", "loss_gradient"]


class Attack(abc.ABC):
    """An L-inf evasion attack. Subclasses implement only :meth:`run`.

    Hyper-parameters are keyword-only constructor arguments reported by :meth:`params`.
    """

    name: ClassVar[str] = "attack"
    norm: ClassVar[str] = "linf"

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters (JSON-serialisable), as shown by ``repr``."""
        return {}

    @abc.abstractmethod
    def run(
        self, model: TFModel, inputs: np.ndarray, labels: np.ndarray, *, epsilon: float
    ) -> np.ndarray:
        """Return adversarial candidates for ``inputs`` at budget ``epsilon`` (may be unclipped)."""

    def __call__(
        self,
        model: Any,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: Sequence[float],
        lower: float,
        upper: float,
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Attack ``inputs`` at every epsilon.

        Returns ``(raw, clipped, success)``: per-epsilon raw and clipped adversarials, and a bool
        array shaped ``(len(epsilons), N)`` that is True where the clipped adversarial is
        misclassified. Every clipped batch is checked against the L-inf ball and input range.
        """
        fmodel = (
            model.with_bounds(lower, upper)
            if isinstance(model, TFModel)
            else TFModel(model, bounds=(lower, upper))
        )
        budgets = validate_epsilons(epsilons, lower=lower, upper=upper)
        x, y = _check_batch(fmodel, inputs, labels)
        raws: list[np.ndarray] = []
        clipped: list[np.ndarray] = []
        success = np.zeros((len(budgets), len(y)), dtype=bool)
        for i, epsilon in enumerate(budgets):
            raw = np.asarray(self.run(fmodel, x, y, epsilon=epsilon))
            if raw.shape != x.shape:
                raise AttackError(
                    f"attack '{self.name}': run returned shape {raw.shape} for inputs {x.shape}"
                )
            adversarial = clip_perturbation(x, raw, epsilon=epsilon, lower=lower, upper=upper)
            check_perturbation(
                x, adversarial, epsilon=epsilon, lower=lower, upper=upper, attack=self.name
            )
            success[i] = fmodel.predict_labels(adversarial) != y
            raws.append(raw)
            clipped.append(adversarial)
        return raws, clipped, success

    def _compiled(self, model: TFModel, build: Any) -> Any:
        key = (type(self).__name__, tuple(sorted(self.params().items())))
        return model.compiled(key, build)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def clip_perturbation(
    inputs: np.ndarray, raw: np.ndarray, *, epsilon: float, lower: float, upper: float
) -> np.ndarray:
    """Project ``raw`` onto the L-inf ``epsilon``-ball around ``inputs``, then onto the range."""
    if not np.isfinite(raw).all():
        raise AttackError(
            f"attack output at epsilon {epsilon:g} has non-finite values; the attack is broken"
        )
    x = inputs.astype(np.float32, copy=False)
    delta = np.clip(raw.astype(np.float32, copy=False) - x, -epsilon, epsilon)
    return np.clip(x + delta, lower, upper).astype(np.float32, copy=False)


def loss_gradient(model: TFModel, x: Any, y: Any) -> Any:
    """Gradient of the summed cross-entropy w.r.t. ``x`` (call inside ``tf.function``)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model.logits(x))
        )
    return tape.gradient(loss, x)


def _check_batch(
    model: TFModel, inputs: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(labels)
    if x.shape[1:] != model.input_shape:
        raise InvalidInputError(
            f"inputs shaped {x.shape[1:]} per sample; the model expects {model.input_shape}"
        )
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise InvalidInputError(
            f"labels shaped {y.shape} ({y.dtype}); need {len(x)} integer labels"
        )
    if len(y) and (y.min() < 0 or y.max() >= model.n_classes):
        raise InvalidInputError(
            f"labels must lie in 0..{model.n_classes - 1}; got {y.min()}..{y.max()}"
        )
    lower, upper = model.bounds
    if not np.isfinite(x).all() or (x.size and (x.min() < lower or x.max() > upper)):
        raise InvalidInputError(
            f"inputs must be finite and within [{lower:g}, {upper:g}]; check the split's range"
        )
    return x, y.astype(np.int64)
