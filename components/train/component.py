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
    """Train on ``train_data``, evaluate on ``test_data``.

    ``adversarial`` is ``none``, ``pgd`` (PGD-AT, ``adv_steps`` steps) or ``fgsm_rs`` (FGSM with
    random start), at L-inf budget ``adv_epsilon`` in input units. ``dp_noise_multiplier`` > 0
    trains with DP-SGD instead (each example's gradient clipped to ``dp_l2_norm_clip``, Gaussian
    noise of std ``dp_noise_multiplier * dp_l2_norm_clip``; 0: off) and logs the accounted
    ``dp_epsilon`` at ``dp_delta`` (must be below 1 / training examples). ``model`` is a folder
    in the servable layout: ``1/`` (the SavedModel KServe serves), ``provenance.json`` and
    ``reference_stats.json``.
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
