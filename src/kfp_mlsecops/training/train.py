"""Train the model on a validated split and write the servable, signed-to-be model directory."""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import sha256_file, write_json_atomic
from kfp_mlsecops.data.split_io import Split, load_split
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, TrainingError
from kfp_mlsecops.servable.export import export_savedmodel
from kfp_mlsecops.servable.folder import write_model_folder
from kfp_mlsecops.training._architecture import LOGITS_LAYER, architecture_for, build_model
from kfp_mlsecops.training.adversarial import check_adversarial, fit_adversarial
from kfp_mlsecops.training.dp_sgd import DEFAULT_DELTA, account_dp_sgd, check_dp, fit_dp_sgd
from kfp_mlsecops.training.provenance import build_provenance
from kfp_mlsecops.training.reference_stats import compute_reference_stats, write_reference_stats
from kfp_mlsecops.training.squeezing import MIN_CALIBRATION_SAMPLES, calibrate_squeezing

__all__ = ["TrainResult", "check_losses", "train_model"]

_PROBE_SAMPLES = 8
_PREDICT_BATCH = 1024
#: Held-out instances the feature-squeezing threshold is calibrated on (bounds its cost).
_MAX_CALIBRATION_SAMPLES = 10_000


@dataclass(frozen=True)
class TrainResult:
    """Test-set metrics of a trained model and the provenance written next to it."""

    accuracy: float
    loss: float
    confusion_matrix: list[list[int]]
    labels: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)
    #: DP-SGD's guarantee (None when trained without DP-SGD).
    dp_epsilon: float | None = None
    dp_delta: float | None = None


def train_model(
    *,
    train_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    data_digest: str = "",
    adversarial: str = "none",
    adv_epsilon: float = 0.2,
    adv_steps: int = 10,
    adv_step_size: float | None = None,
    dp_noise_multiplier: float = 0.0,
    dp_l2_norm_clip: float = 1.0,
    dp_delta: float = DEFAULT_DELTA,
    unsafe_dp_seed: int | None = None,
) -> TrainResult:
    """Train a CNN (image splits) or MLP (tabular splits) and write ``model_dir``.

    ``adversarial`` picks the training: ``none`` (Keras ``fit`` on clean data), ``pgd`` (PGD-AT,
    Madry et al. 2018: ``adv_steps`` steps of ``adv_step_size``, default ``2.5 * adv_epsilon /
    adv_steps``) or ``fgsm_rs`` (one step of ``adv_step_size``, default ``1.25 * adv_epsilon``,
    after a random start; Wong et al. 2020). ``adv_epsilon`` is the L-inf budget in input units (the
    split's range, e.g. 0.2 for [0, 1]); the adversarial settings are recorded in the provenance
    under ``adversarial_training``, and ``train_loss`` is then the loss on attacked batches.

    ``dp_noise_multiplier`` > 0 trains with DP-SGD (:mod:`.dp_sgd`: Poisson batches of expected
    size ``batch_size``, each example's gradient clipped to L2 norm ``dp_l2_norm_clip``, Gaussian
    noise of std ``dp_noise_multiplier * dp_l2_norm_clip``); the ``(epsilon, dp_delta)``
    guarantee from ``dp-accounting``'s RDP accountant is returned (``dp_epsilon``, ``dp_delta``)
    and recorded in the provenance under ``differential_privacy``. ``dp_delta`` must be below
    ``1 / n``. DP-SGD and adversarial training are not combined. With 0 (the default) training
    and provenance are exactly the plain ones. DP-SGD's sampling and noise come from the operating
    system; ``unsafe_dp_seed`` fixes them (reproducible tests only: whoever knows the seed can
    replay the noise, so it warns and the provenance says ``secret_randomness: false``).

    ``model_dir`` receives the servable layout (:mod:`kfp_mlsecops.servable`): ``1/`` (the TF
    SavedModel KServe serves and every later step loads), ``provenance.json`` and
    ``reference_stats.json`` (per-feature statistics of the training
    inputs, for the predictor's drift score, plus the feature-squeezing threshold calibrated on
    the test split at a 5% false-positive rate; see :mod:`.reference_stats`), so signing the
    directory covers all of them. It is assembled in a temporary sibling folder and renamed into
    place, so a failure leaves no partial model. Raises InvalidInputError for bad parameters and
    TrainingError when the data do not fit together (the test split needs at least 10
    instances) or training diverges.
    """
    _check_parameters(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    check_attack = functools.partial(
        check_adversarial,
        adversarial,
        epsilon=adv_epsilon,
        steps=adv_steps,
        step_size=adv_step_size,
    )
    check_attack()  # before reading any file; the range check needs the split
    dp = check_dp(
        noise_multiplier=dp_noise_multiplier, l2_norm_clip=dp_l2_norm_clip, delta=dp_delta
    )
    if dp.enabled and adversarial != "none":
        raise InvalidInputError(
            f"dp_noise_multiplier={dp_noise_multiplier!r} with adversarial={adversarial!r}: "
            "DP-SGD and adversarial training are not combined; pick one"
        )
    train, test = load_split(train_path), load_split(test_path)
    _check_splits(train, test, train_path=train_path, test_path=test_path)
    settings = check_attack(lower=train.lower, upper=train.upper)
    if unsafe_dp_seed is not None and (
        isinstance(unsafe_dp_seed, bool)
        or not isinstance(unsafe_dp_seed, (int, np.integer))
        or not 0 <= unsafe_dp_seed < 2**62
    ):
        raise InvalidInputError(
            f"unsafe_dp_seed={unsafe_dp_seed!r}: must be an integer in [0, 2**62)"
        )
    if unsafe_dp_seed is not None and dp.enabled:
        warnings.warn(
            f"unsafe_dp_seed={unsafe_dp_seed}: DP-SGD sampling and noise are not secret; "
            "the privacy guarantee assumes they are (use only in tests)",
            UserWarning,
            stacklevel=2,
        )
    dp_account = (
        account_dp_sgd(dp, n_examples=len(train.y), batch_size=batch_size, epochs=epochs)
        if dp.enabled
        else None
    )

    import keras

    keras.utils.set_random_seed(seed)
    try:
        model = build_model(
            x_train=train.x, n_classes=train.n_classes, lower=train.lower, upper=train.upper
        )
        if dp.enabled:
            losses = fit_dp_sgd(
                model,
                train.x,
                train.y,
                settings=dp,
                logits_layer=LOGITS_LAYER,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                secret_seed=unsafe_dp_seed,
            )
        elif settings.enabled:
            losses = fit_adversarial(
                model,
                train.x,
                train.y,
                settings=settings,
                logits_layer=LOGITS_LAYER,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                seed=seed,
                lower=train.lower,
                upper=train.upper,
            )
        else:
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(),
                metrics=["accuracy"],
            )
            history = model.fit(
                train.x,
                train.y,
                epochs=epochs,
                batch_size=batch_size,
                shuffle=True,
                verbose=0,
                callbacks=[keras.callbacks.TerminateOnNaN()],
            )
            losses = [float(v) for v in history.history.get("loss", [])]
        probabilities = np.asarray(model.predict(test.x, batch_size=_PREDICT_BATCH, verbose=0))
    except TrainingError as e:
        raise TrainingError(f"split '{train_path}': {e}") from e
    except Exception as e:  # noqa: BLE001 - any framework failure means no model
        detail = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        raise TrainingError(
            f"training on '{train_path}' failed ({detail}); check the split and parameters"
        ) from e

    check_losses(losses, epochs=epochs, train_path=train_path)
    accuracy, loss, matrix = _score(probabilities, test.y, test.n_classes)
    if not (math.isfinite(loss) and np.isfinite(probabilities).all()):
        raise TrainingError(
            f"evaluation on '{test_path}': non-finite loss or predictions; lower learning_rate"
        )

    reference_stats = _reference_stats(model, train=train, test=test, test_path=test_path)
    provenance = build_provenance(
        data_digest=data_digest,
        parameters={
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": float(learning_rate),
            "seed": seed,
        },
        adversarial_training=settings.to_provenance(),
        architecture=architecture_for(train.x),
        input_shape=tuple(train.x.shape[1:]),
        n_classes=train.n_classes,
        lower=train.lower,
        upper=train.upper,
        metrics={"accuracy": accuracy, "loss": loss, "train_loss": losses[-1]},
        split_sha256={"train": sha256_file(train_path), "test": sha256_file(test_path)},
        samples={"train": len(train.y), "test": len(test.y)},
        differential_privacy=(
            None
            if dp_account is None
            else {**dp_account.to_provenance(), "secret_randomness": unsafe_dp_seed is None}
        ),
    )
    _write_model_dir(
        model,
        Path(model_dir),
        provenance=provenance,
        reference_stats=reference_stats,
        probe=test.x[:_PROBE_SAMPLES],
    )
    return TrainResult(
        accuracy=accuracy,
        loss=loss,
        confusion_matrix=matrix,
        labels=[str(i) for i in range(test.n_classes)],
        provenance=provenance,
        dp_epsilon=None if dp_account is None else dp_account.epsilon,
        dp_delta=None if dp_account is None else dp_account.delta,
    )


def check_losses(losses: list[float], *, epochs: int, train_path: str | os.PathLike[str]) -> None:
    """Raise TrainingError unless each epoch has a finite loss (TerminateOnNaN stops early)."""
    if len(losses) != epochs or not all(math.isfinite(v) for v in losses):
        raise TrainingError(
            f"training on '{train_path}': loss became non-finite after {len(losses)} of {epochs} "
            f"epochs ({losses[-1:]}); lower learning_rate or check the data for extreme values"
        )


def _check_parameters(*, epochs: int, batch_size: int, learning_rate: float, seed: int) -> None:
    def is_int(value: object) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not is_int(epochs) or epochs < 1:
        raise InvalidInputError(f"epochs={epochs!r}: must be an integer >= 1")
    if not is_int(batch_size) or batch_size < 1:
        raise InvalidInputError(f"batch_size={batch_size!r}: must be an integer >= 1")
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, (int, float, np.floating))
        or not 0.0 < float(learning_rate) < 1.0
    ):
        raise InvalidInputError(
            f"learning_rate={learning_rate!r}: must be a number with 0 < lr < 1"
        )
    if not is_int(seed) or not 0 <= seed < 2**32:
        raise InvalidInputError(f"seed={seed!r}: must be an integer in [0, 2**32)")


def _check_splits(
    train: Split,
    test: Split,
    *,
    train_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
) -> None:
    for split, path in ((train, train_path), (test, test_path)):
        if split.x.ndim not in (2, 4):
            raise TrainingError(
                f"split '{path}': x has shape {split.x.shape}; "
                "expected (N, H, W, C) images or (N, F) tables"
            )
        if len(split.y) == 0 or split.y.shape != (len(split.x),):
            raise TrainingError(
                f"split '{path}': {len(split.x)} inputs but labels shaped {split.y.shape}; "
                "regenerate the split"
            )
        if split.n_classes < 2 or split.y.min() < 0 or split.y.max() >= split.n_classes:
            raise TrainingError(
                f"split '{path}': labels must lie in 0..{split.n_classes - 1} with n_classes >= 2"
            )
        if not (
            math.isfinite(split.lower) and math.isfinite(split.upper) and split.lower < split.upper
        ):
            raise TrainingError(
                f"split '{path}': invalid input range [{split.lower}, {split.upper}]"
            )
        if not np.isfinite(split.x).all():
            raise TrainingError(f"split '{path}': x has non-finite values; run validate_data first")
    if len(test.y) < MIN_CALIBRATION_SAMPLES:
        raise TrainingError(
            f"split '{test_path}': {len(test.y)} test instances; need at least "
            f"{MIN_CALIBRATION_SAMPLES} to calibrate feature squeezing; use a larger test split"
        )
    if train.x.shape[1:] != test.x.shape[1:]:
        raise TrainingError(
            f"splits '{train_path}' and '{test_path}': input shapes {train.x.shape[1:]} and "
            f"{test.x.shape[1:]} differ; use splits from one validate_data run"
        )
    if (train.n_classes, train.lower, train.upper) != (test.n_classes, test.lower, test.upper):
        raise TrainingError(
            f"splits '{train_path}' and '{test_path}': n_classes or input range differ; "
            "use splits from one validate_data run"
        )


def _reference_stats(
    model: Any, *, train: Split, test: Split, test_path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Return ``reference_stats.json``: training-input statistics + squeezing calibration.

    The threshold is calibrated on the held-out test split (clean inputs the model never trained
    on), as :func:`~kfp_mlsecops.training.squeezing.calibrate_squeezing` expects.
    """
    stats = compute_reference_stats(train.x)

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(batch, batch_size=_PREDICT_BATCH, verbose=0))

    stride = -(-len(test.x) // _MAX_CALIBRATION_SAMPLES)  # spread over a (maybe sorted) split
    try:
        stats["squeezing"] = calibrate_squeezing(
            predict, test.x[::stride], lower=train.lower, upper=train.upper
        )
    except MLSecOpsError:
        raise
    except Exception as e:  # noqa: BLE001 - any framework failure means no servable model
        detail = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        raise TrainingError(
            f"feature-squeezing calibration on '{test_path}' failed ({detail}); check the split"
        ) from e
    return stats


def _score(
    probabilities: np.ndarray, y: np.ndarray, n_classes: int
) -> tuple[float, float, list[list[int]]]:
    predicted = probabilities.argmax(axis=1)
    accuracy = float(np.mean(predicted == y))
    picked = probabilities[np.arange(len(y)), y].astype(np.float64)
    loss = float(np.mean(-np.log(np.clip(picked, 1e-7, 1.0))))
    counts = np.bincount(y * n_classes + predicted, minlength=n_classes * n_classes)
    matrix = counts.reshape(n_classes, n_classes).astype(int).tolist()
    return accuracy, loss, matrix


def _write_model_dir(
    model: Any,
    target: Path,
    *,
    provenance: dict[str, Any],
    reference_stats: dict[str, Any],
    probe: np.ndarray,
) -> None:
    def fill(staging: Path) -> None:
        export_savedmodel(model, staging / C.SAVEDMODEL_VERSION_DIR, probe=probe)
        write_json_atomic(staging / C.PROVENANCE_FILE, provenance)
        write_reference_stats(staging / C.REFERENCE_STATS_FILE, reference_stats)

    write_model_folder(target, fill)
