"""KFP component: deploy the approved model as a KServe InferenceService (or render a dry run)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def deploy(
    model: Input[Model],
    approval: Input[Artifact],
    signature: Input[Artifact],
    attestation: Input[Artifact],
    verified_digest: str,
    manifest: Output[Artifact],
    service_name: str,
    namespace: str,
    mode: str = "dry-run",
    policy_path: str = "/etc/mlsecops/policy/policy.yaml",
    approval_public_key_path: str = "/etc/mlsecops/approval-verify/public-key.pem",
    signing_method: str = "key",
    public_key_path: str = "",
    chain_paths: List[str] = [],  # noqa: B006 - KFP reads the default from here
    signer_identity: str = "",
    oidc_issuer: str = "",
    trust_config_path: str = "",
    service_account: str = "",
    predictor: str = "verified",
    predictor_image: str = "",
    verify_configmap: str = "",
    wait_timeout_seconds: int = 300,  # the core's default; a literal: only this source travels
    canary_traffic_percent: int = -1,
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
    audit_log: str = "",
    audit_key_path: str = "/etc/mlsecops/audit/private-key.pem",
) -> NamedTuple("DeployOutputs", [("status", str)]):
    """Re-check the gate's signed approval and its evidence, then apply or dry-run.

    A signature alone never deploys. Right before writing or applying: the approval verifies
    with the gate's public key for exactly the model's digest, its policy meets this
    environment's floor, the signature and attestation are the files the gate approved and
    verify again, and the approved policy holds on the attested numbers. Nothing is written or
    applied when a check fails.

    Args:
        model: The model folder (servable layout).
        approval: The gate's signed approval.
        signature: The model-signing bundle.
        attestation: The signed robustness attestation.
        verified_digest: The digest the gate approved (must equal the model's).
        service_name: InferenceService name (DNS-1035 label).
        namespace: Namespace to deploy to.
        mode: ``dry-run`` (only write the manifest) or ``apply``.
        policy_path: Policy floor YAML (``""``: the built-in floor); bind a constant.
        approval_public_key_path: The gate's approval public key (a ConfigMap on this task).
        signing_method: How the model is signed: ``key``, ``certificate`` or ``sigstore``.
        public_key_path: key method: the model-signing public key.
        chain_paths: certificate method: trusted CA certificates.
        signer_identity: certificate/sigstore method: the signer's identity.
        oidc_issuer: sigstore method: the OIDC issuer.
        trust_config_path: sigstore method: ClientTrustConfig JSON (offline).
        service_account: Account the predictor runs as (e.g. storage credentials).
        predictor: ``verified`` (default: our predictor re-verifies signature, attestation
            and approval before serving) or ``kserve`` (opt-out: KServe's TensorFlow runtime
            serves whatever is in storage; nothing is re-checked after deploy).
        predictor_image: The verified predictor image (default: the project's).
        verify_configmap: ConfigMap with the model verification material in the serving
            namespace (default: the method's).
        wait_timeout_seconds: apply mode: seconds to wait for the new revision to be Ready
            before rolling back (0: apply without waiting; at most 3600).
        canary_traffic_percent: ``spec.predictor.canaryTrafficPercent`` (0-100; -1: not set).
            KServe validates it in every mode; only Serverless mode splits traffic.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics and recorded in the audit record.
        pipeline_name: Pipeline name grouping the pushed step metrics and recorded in the audit
            record.
        audit_log: Audit log file or directory (e.g. a PVC mount); ``""``: no audit trail.
        audit_key_path: The audit key signing the record (Secret ``mlsecops-audit-key``).

    Returns:
        manifest: The rendered documents (ConfigMap + InferenceService with ``verified``, the
            InferenceService alone with ``kserve``); metadata ``status``, ``storage_uri``.
        status: ``dry-run``, ``created`` or ``patched``.

    """
    from collections import namedtuple

    from kfp_mlsecops.deploy import DEFAULT_PREDICTOR_IMAGE, PredictorTrust, run_deploy
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import SigningConfig, VerificationConfig

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
            approval_path=approval.path,
            verified_digest=verified_digest,
            signature_path=signature.path,
            attestation_path=attestation.path,
            floor_path=policy_path,
            approval_public_key_path=approval_public_key_path,
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
            wait_timeout=wait_timeout_seconds,
            canary_traffic_percent=None if canary_traffic_percent == -1 else canary_traffic_percent,
            audit_log=audit_log,
            audit_signing=SigningConfig().use_key(private_key_path=audit_key_path)
            if audit_log
            else None,
            run_id=run_id,
            pipeline=pipeline_name,
        )
    manifest.metadata.update({"status": result.status, "storage_uri": result.storage_uri})
    return namedtuple("DeployOutputs", ["status"])(result.status)
