"""The chain every pipeline shares once it has a servable model and a validated test split.

attack-test, attest robustness, sign model, gate (re-derived evidence, policy floor, signed
approval) and deploy, with the same mounts whatever produced the model: ``secure-training``
(trained here) and ``secure-release`` (imported) call :func:`attest_gate_deploy` with their own
run parameters, so a change to the chain is made once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfp import dsl

from kfp_mlsecops.components import attack_test, attest_robustness, deploy, gate, sign_model
from kfp_mlsecops.pipelines.signing_wiring import (
    SigningWiring,
    mount_approval_key,
    mount_approval_verification,
    mount_policy_floor,
    mount_signing_material,
    mount_verification_material,
)
from kfp_mlsecops.policy import POLICY_FILE, POLICY_MOUNT

__all__ = ["MOUNTED_POLICY", "attest_gate_deploy", "run_monitoring"]

#: Where the compiled pipeline reads the policy floor: the mounted ``mlsecops-policy`` ConfigMap.
MOUNTED_POLICY = f"{POLICY_MOUNT}/{POLICY_FILE}"


def attest_gate_deploy(
    *,
    wiring: SigningWiring,
    policy_path: str,
    model: Any,
    test_data: Any,
    data_digest: Any,
    test_data_digest: Any,
    p: Mapping[str, Any],
    monitoring: Mapping[str, Any],
) -> None:
    """Add attack-test, attest, sign, gate and deploy for ``model`` to the current pipeline.

    ``p`` holds the pipeline's own run parameters by name (thresholds, attack budget, signing
    paths, trust, deploy settings); ``monitoring`` the Pushgateway URL, run id and pipeline
    name every task reports under.
    """
    signing = {
        "signing_method": wiring.method,
        "private_key_path": p["private_key_path"],
        "password_path": p["password_path"],
        "certificate_path": p["certificate_path"],
        "chain_paths": p["chain_paths"],
        "identity_token_path": p["identity_token_path"],
        "use_ambient_credentials": p["use_ambient_credentials"],
        "sigstore_trust_config_path": p["signing_trust_config_path"],
    }
    trust = {
        "signing_method": wiring.method,
        "public_key_path": p["public_key_path"],
        "chain_paths": p["verify_chain_paths"],
        "signer_identity": p["signer_identity"],
        "oidc_issuer": p["oidc_issuer"],
        "trust_config_path": p["trust_config_path"],
    }
    thresholds = {
        "min_clean_accuracy": p["min_clean_accuracy"],
        "min_robust_accuracy": p["min_robust_accuracy"],
        "robust_attack": p["robust_attack"],
        "robust_epsilon": p["robust_epsilon"],
        "allow_masking_flags": p["allow_masking_flags"],
    }
    attacked = attack_test(
        model=model,
        test_data=test_data,
        epsilons=p["epsilons"],
        tier=p["attack_tier"],
        pgd_steps=p["pgd_steps"],
        seed=p["seed"],
        **monitoring,
    )
    attacked.set_display_name("attack-test")

    attested = attest_robustness(
        model=model,
        results=attacked.outputs["results"],
        data_digest=data_digest,
        epsilons=p["epsilons"],
        tier=p["attack_tier"],
        pgd_steps=p["pgd_steps"],
        seed=p["seed"],
        **thresholds,
        **signing,
        **monitoring,
    )
    attested.set_display_name("attest robustness")
    mount_signing_material(attested, method=wiring.method, secret=p["signing_secret"])

    signed = sign_model(model=model, **signing, **monitoring)
    signed.set_display_name("sign model")
    mount_signing_material(signed, method=wiring.method, secret=p["signing_secret"])

    gated = gate(
        model=model,
        signature=signed.outputs["signature"],
        results=attacked.outputs["results"],
        attestation=attested.outputs["attestation"],
        test_data=test_data,
        test_data_digest=test_data_digest,
        policy_path=policy_path,
        approval_key_path=p["approval_key_path"],
        **thresholds,
        **trust,
        **monitoring,
    )
    gated.set_display_name("gate")
    mount_verification_material(gated, configmap=p["verify_configmap"])
    mount_approval_key(gated)

    deployed = deploy(
        model=model,
        approval=gated.outputs["approval"],
        verified_digest=gated.outputs["model_digest"],
        signature=signed.outputs["signature"],
        attestation=attested.outputs["attestation"],
        service_name=p["service_name"],
        namespace=p["namespace"],
        mode=p["deploy_mode"],
        service_account=p["service_account"],
        predictor=p["predictor"],
        predictor_image=p["predictor_image"],
        verify_configmap=p["verify_configmap"],
        policy_path=policy_path,
        approval_public_key_path=p["approval_public_key_path"],
        **trust,
        **monitoring,
    )
    deployed.set_display_name("deploy")
    mount_verification_material(deployed, configmap=p["verify_configmap"])
    mount_approval_verification(deployed)
    if policy_path == MOUNTED_POLICY:
        for task in (gated, deployed):
            mount_policy_floor(task)

    # A decision must never come from a cache: keys get rotated and revoked between runs.
    for task in (signed, attested, gated, deployed):
        task.set_caching_options(False)


def run_monitoring(pushgateway_url: Any, pipeline_name: str) -> dict[str, Any]:
    """Return the monitoring arguments every task of ``pipeline_name`` gets."""
    return {
        "pushgateway_url": pushgateway_url,
        "run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        "pipeline_name": pipeline_name,
    }
