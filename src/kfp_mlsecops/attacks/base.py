"""The attack base class (foolbox's shape): ``__call__`` loops epsilons, clips and scores."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from kfp_mlsecops.attacks import _tf
from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.attacks.invariants import BALL_TOLERANCE, check_perturbation
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import AttackError, InvalidInputError

__all__ = ["Attack", "check_batch", "check_sample_ids", "clip_perturbation", "loss_gradient"]


class Attack(abc.ABC):
    """An evasion attack in the ``norm`` ball. Subclasses implement only :meth:`run_batch`.

    Hyper-parameters are keyword-only constructor arguments reported by :meth:`params`.
    ``needs_gradients`` is False for score-based (black-box) attacks. Every random draw for a
    sample depends only on the attack's seed, the sample's id (``sample_ids``) and the restart,
    target or query index, so attacking any subset of points in any batch size repeats each
    point's attack exactly.
    """

    name: str = "attack"
    norm: str = "linf"
    needs_gradients: bool = True
    #: Hyper-parameters passed to the compiled function on each call instead of traced into it
    #: (a seed, a restart count the caller loops over). They stay out of the compile key, so one
    #: trace per model serves every value; list only what the build function never reads.
    call_params: ClassVar[frozenset[str]] = frozenset()

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters (JSON-serialisable), as shown by ``repr``."""
        return {}

    @abc.abstractmethod
    def run_batch(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: np.ndarray,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return adversarials for ``inputs``, sample ``i`` within budget ``epsilons[i]``.

        Inputs are checked (finite, in range, shapes match); the result may be unclipped.
        ``sample_ids`` (int64 >= 0, one per input; default ``0..N-1``) keys each sample's random
        draws: in an evaluation it is the sample's row index in the test split.
        """

    def run(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilon: float,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return adversarial candidates for ``inputs`` at budget ``epsilon`` (may be unclipped)."""
        budgets = np.full((len(inputs),), epsilon, dtype=np.float32)
        return self.run_batch(model, inputs, labels, epsilons=budgets, sample_ids=sample_ids)

    def __call__(
        self,
        model: Any,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilons: Sequence[float],
        lower: float,
        upper: float,
        sample_ids: np.ndarray | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Attack ``inputs`` at every epsilon (``sample_ids`` as in :meth:`run_batch`).

        Returns ``(raw, clipped, success)``: per-epsilon raw and clipped adversarials, and a bool
        array shaped ``(len(epsilons), N)`` that is True where the clipped adversarial is
        misclassified. Every clipped batch is checked against the attack's norm ball and range.
        """
        fmodel = (
            model.with_bounds(lower, upper)
            if isinstance(model, TFModel)
            else TFModel(model, bounds=(lower, upper))
        )
        # the largest budget: the range width (L-inf) or the diagonal of the input box (L2)
        width = (float(upper) - float(lower)) * (
            math.sqrt(math.prod(fmodel.input_shape)) if self.norm == "l2" else 1.0
        )
        budgets = validate_epsilons(epsilons, lower=lower, upper=lower + width)
        x, y = check_batch(fmodel, inputs, labels)
        ids = check_sample_ids(sample_ids, len(x))
        raws: list[np.ndarray] = []
        clipped: list[np.ndarray] = []
        success = np.zeros((len(budgets), len(y)), dtype=bool)
        for i, epsilon in enumerate(budgets):
            raw = np.asarray(self.run(fmodel, x, y, epsilon=epsilon, sample_ids=ids))
            if raw.shape != x.shape:
                raise AttackError(
                    f"attack '{self.name}': run returned shape {raw.shape} for inputs {x.shape}"
                )
            adversarial = clip_perturbation(
                x, raw, epsilon=epsilon, lower=lower, upper=upper, norm=self.norm
            )
            check_perturbation(
                x,
                adversarial,
                epsilon=epsilon,
                lower=lower,
                upper=upper,
                attack=self.name,
                norm=self.norm,
            )
            success[i] = fmodel.predict_labels(adversarial) != y
            raws.append(raw)
            clipped.append(adversarial)
        return raws, clipped, success

    def _compiled(self, model: TFModel, build: Any) -> Any:
        """Return ``build()``'s function for ``model``, cached by class and traced-in params."""
        traced = sorted((k, v) for k, v in self.params().items() if k not in self.call_params)
        return model.compiled((type(self).__name__, tuple(traced)), build)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def clip_perturbation(
    inputs: np.ndarray,
    raw: np.ndarray,
    *,
    epsilon: float | np.ndarray,
    lower: float,
    upper: float,
    norm: str = "linf",
) -> np.ndarray:
    """Project ``raw`` onto the ``norm`` ``epsilon``-ball around ``inputs``, then the range.

    ``epsilon`` is a number or one budget per sample. L2 projection rescales the perturbation
    (with a relative safety margin of 1e-6 against float32 rounding). An L-inf value that float32
    rounding left outside the ball is replaced by ``x +- epsilon`` rounded toward ``x``: float32
    spacing grows with the value (1.5e-5 near 255), so on 0..255 data an epsilon such as 0.05 or
    7.65 (3% of 255) would otherwise land a few 1e-6 outside the ball.
    """
    budgets = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (len(inputs),))
    if not np.isfinite(raw).all():
        raise AttackError(
            f"attack output at epsilon {np.max(budgets, initial=0.0):g} has non-finite values; "
            "the attack is broken"
        )
    x = inputs.astype(np.float32, copy=False)
    delta = raw.astype(np.float32, copy=False) - x
    shape = (-1,) + (1,) * (x.ndim - 1)
    if norm == "l2":
        length = np.sqrt(np.square(delta.reshape(len(x), -1).astype(np.float64)).sum(axis=1))
        scale = np.minimum(1.0, budgets * (1.0 - 1e-6) / np.maximum(length, 1e-30))
        delta = delta * scale.reshape(shape).astype(np.float32)
    else:
        radius = budgets.reshape(shape).astype(np.float32)
        delta = np.clip(delta, -radius, radius)
    adversarial = np.clip(x + delta, lower, upper).astype(np.float32, copy=False)
    if norm != "l2":
        radius64, x64 = budgets.reshape(shape), x.astype(np.float64)
        outside = np.abs(adversarial - x64) > radius64 + BALL_TOLERANCE
        if outside.any():  # replace by x +- epsilon rounded to float32 toward x
            edge = np.clip(x64 + np.sign(adversarial - x64) * radius64, lower, upper)
            edge32 = edge.astype(np.float32)
            edge32 = np.where(np.abs(edge32 - x64) > radius64, np.nextafter(edge32, x), edge32)
            adversarial = np.where(outside, edge32, adversarial)
    return adversarial


def loss_gradient(model: TFModel, x: Any, y: Any) -> Any:
    """Gradient of the summed cross-entropy w.r.t. ``x`` (call inside ``tf.function``).

    A model without a gradient path to its input yields zeros, never ``None``.
    """
    return _tf.loss_and_gradient(model, x, lambda logits: _tf.cross_entropy(logits, y))[2]


def check_batch(
    model: TFModel, inputs: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x as float32, y as int64)``; InvalidInputError unless they fit ``model``."""
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


def check_sample_ids(sample_ids: np.ndarray | None, n: int) -> np.ndarray:
    """Return ``sample_ids`` as int64 (default ``0..n-1``); InvalidInputError unless N ids >= 0."""
    if sample_ids is None:
        return np.arange(n, dtype=np.int64)
    ids = np.asarray(sample_ids)
    if ids.shape != (n,) or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise InvalidInputError(
            f"sample_ids shaped {ids.shape} ({ids.dtype}); need {n} integer ids, one per input"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= 2**63):
        raise InvalidInputError("sample_ids must be integers >= 0; pass the split's row indices")
    return ids.astype(np.int64)
