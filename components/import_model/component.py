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
    """Bring a model trained elsewhere into the servable layout the chain signs, checked on data.

    Writes ``source_model`` as the one servable SavedModel, reloads the export and requires it to
    reproduce the source's scores on ``test_data``. Fails closed with a one-line error
    (InvalidInputError), leaving ``model`` as it was: an unknown format, a Keras file refused by
    safe_mode, a SavedModel whose serving signature reads or writes files or runs Python, an input
    shape or class count that does not fit the data, non-finite scores or a symlinked path.

    Args:
        source_model: A Keras 3 classifier saved as a ``.keras`` file (loaded with safe_mode) or
            a TensorFlow SavedModel folder with a ``serving_default`` signature (or a TF Serving
            folder holding one version); e.g. from ``dsl.importer``.
        test_data: validate_data's test split; the model must take its samples' shape and score
            at least its classes.
        model_format: ``keras`` or ``savedmodel``; empty recognises it from the path.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        model: The servable model folder (SavedModel ``1/``: input ``inputs``, output
            ``probabilities`` or ``logits`` as detected; ``provenance.json``) that sign_model,
            attack_test, the gate and deploy use; metadata ``imported_from``, ``output``.

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
