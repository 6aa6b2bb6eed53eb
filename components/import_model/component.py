"""KFP component: bring a model trained elsewhere into the servable layout the chain signs."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def import_model(
    source_model: Input[Model],
    test_data: Input[Dataset],
    model: Output[Model],
    model_format: str = "",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-release",
):
    """Write a model trained elsewhere as the one servable SavedModel, checked on ``test_data``.

    Args:
        source_model: A Keras 3 classifier saved as a ``.keras`` file (loaded with safe_mode) or
            a TensorFlow SavedModel folder with a ``serving_default`` signature (or a TF Serving
            folder holding one version); e.g. from ``dsl.importer``.
        test_data: validate-data's test split; the model must take its samples' shape and score
            at least its classes.
        model: The servable model folder (``1/``, input ``inputs``, output ``probabilities`` or
            ``logits`` as detected) that sign-model, attack-test, the gate and deploy use.
        model_format: ``keras`` or ``savedmodel``; empty recognises it from the path.
        pushgateway_url: Optional Prometheus Pushgateway for the step's metrics.
        run_id: The run id metrics are grouped by.
        pipeline_name: The pipeline name metrics are grouped by.

    """
    from kfp_mlsecops.model_import import import_model as run_import
    from kfp_mlsecops.monitoring import record_step

    with record_step(
        "import_model",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        result = run_import(
            source=source_model.path,
            model_dir=model.path,
            test_path=test_data.path,
            model_format=model_format,
        )
    model.metadata.update(
        {
            "framework": "tensorflow",
            "format": "savedmodel",
            "imported_from": result.model_format,
            "output": result.output_kind,
        }
    )
