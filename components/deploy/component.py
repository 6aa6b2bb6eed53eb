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
    signature: Input[Artifact],
    attestation: Input[Artifact],
    verified_digest: str,
    manifest: Output[Artifact],
    service_name: str,
    namespace: str,
    mode: str = "dry-run",
    public_key_path: str = "/etc/mlsecops/verify/public-key.pem",
    service_account: str = "",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("DeployOutputs", [("status", str)]):
    """Re-check the blessing and the model digest, then apply (``mode=apply``) or dry-run.

    Right before writing or applying, the model ``signature`` and the robustness ``attestation``
    are verified again with ``public_key_path`` (on a cluster a ConfigMap mounted on this task).

    ``dry-run`` only writes the InferenceService manifest to ``manifest``. ``service_account``
    (optional) is the account the predictor runs as, e.g. one carrying storage credentials.
    """
    from collections import namedtuple

    from kfp_mlsecops.deploy import run_deploy
    from kfp_mlsecops.monitoring import record_step

    with record_step(
        "deploy",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        result = run_deploy(
            model_dir=model.path,
            model_uri=model.uri,
            decision_path=decision.path,
            verified_digest=verified_digest,
            signature_path=signature.path,
            attestation_path=attestation.path,
            public_key_path=public_key_path,
            name=service_name,
            namespace=namespace,
            mode=mode,
            manifest_path=manifest.path,
            service_account=service_account,
        )
    manifest.metadata.update({"status": result.status, "storage_uri": result.storage_uri})
    return namedtuple("DeployOutputs", ["status"])(result.status)
