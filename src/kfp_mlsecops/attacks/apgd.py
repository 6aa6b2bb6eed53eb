"""Auto-PGD (Croce & Hein, ICML 2020): APGD-CE / APGD-DLR and targeted APGD-T (DLR loss).

Both run the compiled loop of :mod:`kfp_mlsecops.attacks._apgd_loop` (step-size schedule,
checkpoints and momentum of the paper). Restarts and targets run one after another, each only on
the samples every earlier run failed to fool, as AutoAttack does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kfp_mlsecops.attacks import _tf
from kfp_mlsecops.attacks._apgd_loop import build_apgd
from kfp_mlsecops.attacks._params import check_choice, check_fraction, check_int
from kfp_mlsecops.attacks.base import Attack, check_sample_ids
from kfp_mlsecops.attacks.model import TFModel

__all__ = ["APGD", "APGDT"]


class APGD(Attack):
    """Untargeted Auto-PGD with cross-entropy (``apgd_ce``) or DLR (``apgd_dlr``) loss.

    ``n_iter`` iterations per restart; ``restarts`` random restarts (from a random point on the
    ball's surface), later ones only on samples not yet fooled; ``rho`` is the oscillation
    threshold of the step-size schedule (0.75 in the paper).
    """

    # each restart is one call of the same compiled loop, keyed by (seed, restart)
    call_params = frozenset({"seed", "restarts"})

    def __init__(
        self,
        *,
        loss: str = "ce",
        norm: str = "linf",
        n_iter: int = 100,
        restarts: int = 1,
        rho: float = 0.75,
        seed: int = 0,
    ) -> None:
        self.loss = check_choice("APGD loss", loss, ("ce", "dlr"))
        self.norm = check_choice("APGD norm", norm, _tf.NORMS)
        self.name = f"apgd_{loss}" + ("" if norm == _tf.LINF else "_l2")
        self.n_iter = check_int("APGD n_iter", n_iter, 1)
        self.restarts = check_int("APGD restarts", restarts, 1)
        self.rho = check_fraction("APGD rho", rho)
        self.seed = check_int("APGD seed", seed, 0, 2**31)

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters."""
        return {
            "loss": self.loss,
            "norm": self.norm,
            "n_iter": self.n_iter,
            "restarts": self.restarts,
            "rho": self.rho,
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
        """Return the APGD adversarials (inside the ball and the range)."""
        ids = check_sample_ids(sample_ids, len(inputs))
        loop = self._compiled(
            model,
            lambda: build_apgd(
                model, loss=self.loss, norm=self.norm, n_iter=self.n_iter, rho=self.rho
            ),
        )
        runs = [(labels, self.seed, restart) for restart in range(self.restarts)]
        return _run_sequence(loop, inputs, labels, epsilons, ids, runs)


class APGDT(Attack):
    """Targeted Auto-PGD with the targeted DLR loss (``apgd_t``), as in AutoAttack.

    Targets are the ``n_targets`` highest-scoring wrong classes of the clean input (at most
    ``n_classes - 1``), tried in order of score; each target runs ``n_iter`` iterations on the
    samples no earlier target fooled. With fewer than 4 classes the loss falls back to the
    unscaled target margin ``z_t - z_y``.
    """

    name = "apgd_t"
    # each target is one call of the same compiled loop, keyed by (seed, target rank)
    call_params = frozenset({"seed", "n_targets"})

    def __init__(
        self,
        *,
        norm: str = "linf",
        n_iter: int = 100,
        n_targets: int = 9,
        rho: float = 0.75,
        seed: int = 0,
    ) -> None:
        self.norm = check_choice("APGD-T norm", norm, _tf.NORMS)
        self.name = "apgd_t" if norm == _tf.LINF else "apgd_t_l2"
        self.n_iter = check_int("APGD-T n_iter", n_iter, 1)
        self.n_targets = check_int("APGD-T n_targets", n_targets, 1)
        self.rho = check_fraction("APGD-T rho", rho)
        self.seed = check_int("APGD-T seed", seed, 0, 2**31)

    def params(self) -> dict[str, Any]:
        """Return the hyper-parameters."""
        return {
            "norm": self.norm,
            "n_iter": self.n_iter,
            "n_targets": self.n_targets,
            "rho": self.rho,
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
        """Return the APGD-T adversarials (inside the ball and the range)."""
        ids = check_sample_ids(sample_ids, len(inputs))
        loop = self._compiled(
            model,
            lambda: build_apgd(
                model, loss="dlr_targeted", norm=self.norm, n_iter=self.n_iter, rho=self.rho
            ),
        )
        scores = model.scores(inputs)
        ranked = np.argsort(-scores, axis=1, kind="stable")
        count = min(self.n_targets, model.n_classes - 1)
        runs = [(ranked[:, rank], self.seed, rank) for rank in range(1, count + 1)]
        return _run_sequence(loop, inputs, labels, epsilons, ids, runs)


def _run_sequence(
    loop: Any,
    inputs: np.ndarray,
    labels: np.ndarray,
    epsilons: np.ndarray,
    ids: np.ndarray,
    runs: list[tuple[np.ndarray, int, int]],
) -> np.ndarray:
    """Run ``loop`` once per ``(target, seed, index)``; each run sees only unfooled samples.

    The first run sees every sample (so epsilon 0 goes through the attack's own code path).
    Which runs a sample sees depends only on its own earlier runs.
    """
    import tensorflow as tf

    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    eps = np.asarray(epsilons, dtype=np.float32)
    best = x.copy()
    fooled = np.zeros(len(x), dtype=bool)
    for position, (target, seed, index) in enumerate(runs):
        todo = np.arange(len(x)) if position == 0 else np.flatnonzero(~fooled & (eps > 0))
        if len(todo) == 0:
            break
        adv, hit = loop(
            tf.constant(x[todo]),
            tf.constant(y[todo]),
            tf.constant(np.asarray(target, dtype=np.int64)[todo]),
            tf.constant(eps[todo]),
            tf.constant(ids[todo], tf.int64),
            tf.constant([seed, index], tf.int64),
        )
        adv, hit = adv.numpy(), hit.numpy()
        take = hit | (position == 0)
        best[todo[take]] = adv[take]
        fooled[todo] |= hit
    return best
