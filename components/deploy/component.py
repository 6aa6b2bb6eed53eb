"""KFP component: deploy the blessed model as a KServe InferenceService (or render a dry run)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def deploy(
    model: Input[Model],
    decision: Input[Artifact],
    verified_digest: str,
    manifest: Output[Artifact],
    service_name: str,
    namespace: str,
    mode: str = "dry-run",
) -> NamedTuple("DeployOutputs", [("status", str)]):
    """Re-check the blessing and the model digest, then apply (``mode=apply``) or dry-run.

    ``dry-run`` only writes the InferenceService manifest to ``manifest``.
    """
    from collections import namedtuple

    from kfp_mlsecops.deploy import run_deploy

    result = run_deploy(
        model_dir=model.path,
        model_uri=model.uri,
        decision_path=decision.path,
        verified_digest=verified_digest,
        name=service_name,
        namespace=namespace,
        mode=mode,
        manifest_path=manifest.path,
    )
    manifest.metadata.update({"status": result.status, "storage_uri": result.storage_uri})
    return namedtuple("DeployOutputs", ["status"])(result.status)
