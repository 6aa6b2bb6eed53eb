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

from kfp_mlsecops.components import (
    attack_test,
    attest_robustness,
    deploy,
    gate,
    merge_attack_results,
    sign_model,
)
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines.signing_wiring import (
    SigningWiring,
    mount_approval_key,
    mount_approval_verification,
    mount_audit_key,
    mount_policy_floor,
    mount_signing_material,
    mount_verification_material,
)
from kfp_mlsecops.policy import POLICY_FILE, POLICY_MOUNT

__all__ = ["MAX_ATTACK_SHARDS", "MOUNTED_POLICY", "attest_gate_deploy", "run_monitoring"]

#: Where the compiled pipeline reads the policy floor: the mounted ``mlsecops-policy`` ConfigMap.
MOUNTED_POLICY = f"{POLICY_MOUNT}/{POLICY_FILE}"
#: The most attack-test shards a pipeline may fan out to.
MAX_ATTACK_SHARDS = 64


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
    attack_shards: int = 1,
) -> None:
    """Add attack-test, attest, sign, gate and deploy for ``model`` to the current pipeline.

    ``p`` holds the pipeline's own run parameters by name (thresholds, attack budget, signing
    paths, trust, deploy settings); ``monitoring`` the Pushgateway URL, run id and pipeline
    name every task reports under. ``attack_shards`` above 1 fans attack-test out over a
    ``dsl.ParallelFor`` of that many shards and merges them (``merge_attack_results``) into
    the results attest and gate read; 1 is the single attack-test task.
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
    # Every decision and deploy goes to the audit log (off when audit_log_path is empty).
    audit = {"audit_log": p["audit_log_path"], "audit_key_path": p["audit_key_path"]}
    attacked = _attack(
        model=model, test_data=test_data, p=p, monitoring=monitoring, shards=attack_shards
    )

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
        **audit,
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
        wait_timeout_seconds=p["deploy_wait_seconds"],
        canary_traffic_percent=p["canary_traffic_percent"],
        verify_configmap=p["verify_configmap"],
        policy_path=policy_path,
        approval_public_key_path=p["approval_public_key_path"],
        **audit,
        **trust,
        **monitoring,
    )
    deployed.set_display_name("deploy")
    mount_verification_material(deployed, configmap=p["verify_configmap"])
    mount_approval_verification(deployed)
    for task in (gated, deployed):
        mount_audit_key(task)
    if policy_path == MOUNTED_POLICY:
        for task in (gated, deployed):
            mount_policy_floor(task)

    # A decision must never come from a cache: keys get rotated and revoked between runs.
    for task in (signed, attested, gated, deployed):
        task.set_caching_options(False)


def _attack(
    *, model: Any, test_data: Any, p: Mapping[str, Any], monitoring: Mapping[str, Any], shards: int
) -> Any:
    """Add attack-test (or its shards and their merge); return the task whose results count."""
    if (
        isinstance(shards, bool)
        or not isinstance(shards, int)
        or not 1 <= shards <= MAX_ATTACK_SHARDS
    ):
        raise InvalidInputError(
            f"attack_shards={shards!r}: must be an integer from 1 to {MAX_ATTACK_SHARDS}"
        )
    budget = {
        "epsilons": p["epsilons"],
        "tier": p["attack_tier"],
        "pgd_steps": p["pgd_steps"],
        "seed": p["seed"],
    }
    if shards == 1:
        attacked = attack_test(model=model, test_data=test_data, **budget, **monitoring)
        attacked.set_display_name("attack-test")
        return attacked
    with dsl.ParallelFor(list(range(shards)), parallelism=shards) as index:
        part = attack_test(
            model=model,
            test_data=test_data,
            **budget,
            shard_index=index,
            shard_count=shards,
            **monitoring,
        )
        part.set_display_name("attack-test shard")
    merged = merge_attack_results(
        shards=dsl.Collected(part.outputs["results"]),
        model=model,
        test_data=test_data,
        **monitoring,
    )
    merged.set_display_name("merge attack results")
    return merged


def run_monitoring(pushgateway_url: Any, pipeline_name: str) -> dict[str, Any]:
    """Return the monitoring arguments every task of ``pipeline_name`` gets."""
    return {
        "pushgateway_url": pushgateway_url,
        "run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        "pipeline_name": pipeline_name,
    }
