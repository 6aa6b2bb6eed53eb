"""KFP component: deploy the blessed model as a KServe InferenceService (or render a dry run)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

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
    signing_method: str = "key",
    public_key_path: str = "",
    chain_paths: List[str] = [],  # noqa: B006 - KFP reads the default from here
    signer_identity: str = "",
    oidc_issuer: str = "",
    trust_config_path: str = "",
    service_account: str = "",
    predictor: str = "kserve",
    predictor_image: str = "",
    verify_configmap: str = "",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("DeployOutputs", [("status", str)]):
    """Re-check the blessing and the model digest, then apply (``mode=apply``) or dry-run.

    Right before writing or applying, the model ``signature`` and the robustness ``attestation``
    are verified again with the gate's trust options (``signing_method`` and its material, see the
    gate; on a cluster a ConfigMap mounted on the gate and this task).

    ``dry-run`` only writes the InferenceService manifest to ``manifest``. ``service_account``
    (optional) is the account the predictor runs as, e.g. one carrying storage credentials.
    ``predictor="verified"`` deploys our verified predictor (``predictor_image``, default the
    project's predictor image) instead of KServe's TensorFlow runtime: it verifies signature and
    attestation again at startup with the same trust, reading the material from the
    ``verify_configmap`` ConfigMap (default: the method's) in the serving namespace.
    """
    from collections import namedtuple

    from kfp_mlsecops.deploy import DEFAULT_PREDICTOR_IMAGE, PredictorTrust, run_deploy
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import VerificationConfig

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
            verification=VerificationConfig.from_method(
                signing_method,
                public_key_path=public_key_path,
                chain_paths=chain_paths,
                identity=signer_identity,
                issuer=oidc_issuer,
                trust_config_path=trust_config_path,
            ),
            name=service_name,
            namespace=namespace,
            mode=mode,
            manifest_path=manifest.path,
            service_account=service_account,
            predictor=predictor,
            predictor_trust=PredictorTrust.from_method(
                signing_method,
                configmap=verify_configmap,
                identity=signer_identity,
                issuer=oidc_issuer,
            )
            if predictor == "verified"
            else None,
            predictor_image=predictor_image or DEFAULT_PREDICTOR_IMAGE,
        )
    manifest.metadata.update({"status": result.status, "storage_uri": result.storage_uri})
    return namedtuple("DeployOutputs", ["status"])(result.status)
