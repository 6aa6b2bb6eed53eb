"""KFP component: train a seeded Keras model and export it in KServe's TensorFlow layout."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train(
    train_data: Input[Dataset],
    test_data: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    data_digest: str,
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 0.001,
    seed: int = 0,
    adversarial: str = "none",
    adv_epsilon: float = 0.2,
    adv_steps: int = 10,
    dp_noise_multiplier: float = 0.0,
    dp_l2_norm_clip: float = 1.0,
    dp_delta: float = 1e-5,
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
):
    """Train a seeded Keras model on ``train_data`` and export it in KServe's servable layout.

    A small CNN (image splits) or MLP (tabular splits) ending in a softmax is trained with Adam:
    plainly, adversarially (``adversarial``) or with DP-SGD (``dp_noise_multiplier`` > 0), never
    both; then it is scored on ``test_data``. A bad parameter (InvalidInputError), splits that do
    not fit together or a non-finite loss (TrainingError) fail the task; the model folder is
    assembled aside and renamed into place, so a failure leaves no half-written model.

    Args:
        train_data: validate_data's train split (NPZ: ``x``, ``y``, value range, class count).
        test_data: validate_data's test split: scored for the metrics and used to calibrate the
            feature-squeezing threshold (at least 10 samples).
        data_digest: validate_data's dataset digest (``sha256:<hex>``), recorded in the model's
            ``provenance.json``.
        epochs: Passes over the train split (integer >= 1).
        batch_size: Samples per training step (integer >= 1); with DP-SGD the expected size of
            the Poisson-sampled batches.
        learning_rate: Adam's learning rate (0 < lr < 1).
        seed: Seeds weight initialisation, shuffling and the adversarial random starts (integer
            in [0, 2**32)); DP-SGD's sampling and noise come from the OS, never from it.
        adversarial: ``none`` (clean training), ``pgd`` (PGD-AT, Madry et al. 2018) or
            ``fgsm_rs`` (FGSM with random start, Wong et al. 2020).
        adv_epsilon: Adversarial training's L-inf budget in input units (e.g. 0.2 for [0, 1]
            data); > 0 and at most the input range width.
        adv_steps: PGD-AT steps per batch (integer >= 1, step size ``2.5 * adv_epsilon /
            adv_steps``); ``fgsm_rs`` always takes one step of ``1.25 * adv_epsilon``.
        dp_noise_multiplier: DP-SGD's Gaussian noise std as a multiple of ``dp_l2_norm_clip``
            (>= 0; 0: DP-SGD off).
        dp_l2_norm_clip: DP-SGD's per-example gradient clipping norm (L2, > 0).
        dp_delta: Delta of the reported (epsilon, delta) DP guarantee; 0 < delta < 1 / number of
            training examples.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        model: The servable model folder: SavedModel ``1/`` (what KServe serves and every later
            step loads), ``provenance.json`` (data digest, parameters, library versions) and
            ``reference_stats.json`` (drift statistics, squeezing threshold); metadata
            ``framework``, ``format``.
        metrics: Test-split ``accuracy`` and ``loss``; with DP-SGD also ``dp_epsilon`` and
            ``dp_delta``.
        confusion: The confusion matrix on the test split.

    """
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.training import train_model

    with record_step(
        "train",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        result = train_model(
            train_path=train_data.path,
            test_path=test_data.path,
            model_dir=model.path,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            data_digest=data_digest,
            adversarial=adversarial,
            adv_epsilon=adv_epsilon,
            adv_steps=adv_steps,
            dp_noise_multiplier=dp_noise_multiplier,
            dp_l2_norm_clip=dp_l2_norm_clip,
            dp_delta=dp_delta,
        )
    model.metadata.update({"framework": "tensorflow", "format": "savedmodel"})
    metrics.log_metric("accuracy", result.accuracy)
    metrics.log_metric("loss", result.loss)
    if result.dp_epsilon is not None:
        metrics.log_metric("dp_epsilon", result.dp_epsilon)
        metrics.log_metric("dp_delta", result.dp_delta)
    confusion.log_confusion_matrix(result.labels, result.confusion_matrix)
