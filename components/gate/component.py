"""KFP component: the deployment gate. Re-derives the evidence, signs an approval, or raises."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Model, Output

from kfp_mlsecops.components._image import IMAGE


# Defaults are literals: only the function travels to the pod (tests pin them to constants).
@dsl.component(base_image=IMAGE, install_kfp_package=False)
def gate(
    model: Input[Model],
    signature: Input[Artifact],
    results: Input[Artifact],
    attestation: Input[Artifact],
    test_data: Input[Dataset],
    test_data_digest: str,
    decision: Output[Artifact],
    report: Output[Markdown],
    approval: Output[Artifact],
    min_clean_accuracy: float,
    min_robust_accuracy: float,
    robust_attack: str,
    robust_epsilon: float,
    policy_path: str = "/etc/mlsecops/policy/policy.yaml",
    approval_key_path: str = "/etc/mlsecops/approval/private-key.pem",
    signing_method: str = "key",
    public_key_path: str = "",
    chain_paths: List[str] = [],  # noqa: B006 - KFP reads the default from here
    signer_identity: str = "",
    oidc_issuer: str = "",
    trust_config_path: str = "",
    allow_masking_flags: List[str] = [],  # noqa: B006 - KFP reads the default from here
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
    audit_log: str = "",
    audit_key_path: str = "/etc/mlsecops/audit/private-key.pem",
) -> NamedTuple("GateOutputs", [("model_digest", str)]):
    """Approve the model with a signed statement, or raise: anything wrong blocks deployment.

    Verifies the model signature and layout, scans the model, verifies the robustness
    attestation, binds the evidence to the model and to validate_data's test split, applies the
    policy floor, and re-derives the evidence itself: clean accuracy on the whole test split
    and a re-attack of sampled robust claims (seed drawn now). Only when every control passed,
    signs an approval with its own key and writes it to ``approval``; the decision (JSON) and
    report are written either way, and the task fails when blocked. A control that cannot be
    evaluated fails with its reason (fail closed).

    Args:
        model: The trained model folder (servable layout: SavedModel ``1/``).
        signature: The model-signing bundle from sign_model.
        results: The robustness results from attack_test (claims, re-derived here).
        attestation: The signed robustness attestation from attest_robustness.
        test_data: validate_data's test split (the gate re-evaluates on it).
        test_data_digest: validate_data's digest of that split (binds it).
        min_clean_accuracy: Run threshold in [0, 1]; the floor may raise it.
        min_robust_accuracy: Run threshold in [0, 1]; the floor may raise it.
        robust_attack: Attack gated on (``worst_case`` or one the tier ran, if the floor allows).
        robust_epsilon: Budget gated on, in input units (>= 0); the floor may raise it.
        policy_path: Policy floor YAML (``""``: the built-in floor). Bind a constant, never a
            run parameter: the shipped pipeline mounts the ``mlsecops-policy`` ConfigMap here.
        approval_key_path: The gate's own ECDSA private key (Secret on this task only); it must
            differ from the model-signing key.
        signing_method: How the model is signed: ``key``, ``certificate`` or ``sigstore``.
        public_key_path: key method: the model-signing public key.
        chain_paths: certificate method: trusted CA certificates.
        signer_identity: certificate/sigstore method: the signer's identity.
        oidc_issuer: sigstore method: the OIDC issuer.
        trust_config_path: sigstore method: ClientTrustConfig JSON (offline).
        allow_masking_flags: Masking flags to waive; the floor decides which may be.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics and recorded in the audit records.
        pipeline_name: Pipeline name grouping the pushed step metrics and recorded in the audit
            records.
        audit_log: Audit log file or directory (e.g. a PVC mount); ``""``: no audit trail.
            Every decision, approved or blocked, is appended before the task ends.
        audit_key_path: The audit key signing the records (Secret ``mlsecops-audit-key``).

    Returns:
        decision: The decision JSON (every control, policy, floor, re-derivation), written
            whether approved or blocked; metadata ``model_digest`` when approved.
        report: The decision as Markdown.
        approval: The signed approval (in-toto, DSSE), written only when approved; deploy acts on
            it alone.
        model_digest: The approved model digest.

    """
    from collections import namedtuple

    from kfp_mlsecops.gate import Policy, run_gate
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import SigningConfig, VerificationConfig

    with record_step(
        "gate",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts={"gate_decision": decision.path},
    ):
        approved = run_gate(
            model_dir=model.path,
            signature_path=signature.path,
            results_path=results.path,
            attestation_path=attestation.path,
            test_data_path=test_data.path,
            test_data_digest=test_data_digest,
            policy=Policy(
                min_clean_accuracy=min_clean_accuracy,
                min_robust_accuracy=min_robust_accuracy,
                robust_attack=robust_attack,
                robust_epsilon=robust_epsilon,
                allow_masking_flags=tuple(allow_masking_flags),
            ),
            floor_path=policy_path,
            approval_signing=SigningConfig().use_key(private_key_path=approval_key_path),
            approval_path=approval.path,
            verification=VerificationConfig.from_method(
                signing_method,
                public_key_path=public_key_path,
                chain_paths=chain_paths,
                identity=signer_identity,
                issuer=oidc_issuer,
                trust_config_path=trust_config_path,
            ),
            decision_json_path=decision.path,
            decision_md_path=report.path,
            audit_log=audit_log,
            audit_signing=SigningConfig().use_key(private_key_path=audit_key_path)
            if audit_log
            else None,
            run_id=run_id,
            pipeline=pipeline_name,
        )
    approval.metadata["model_digest"] = approved.model_digest
    decision.metadata["model_digest"] = approved.model_digest
    return namedtuple("GateOutputs", ["model_digest"])(approved.model_digest)
