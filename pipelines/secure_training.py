"""The ``secure-training`` pipeline: validate, train, attack-test, attest, sign, gate, deploy."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List

from kfp import dsl, kubernetes

from kfp_mlsecops.components import (
    attack_test,
    attest_robustness,
    deploy,
    gate,
    sign_model,
    train,
    validate_data,
)
from kfp_mlsecops.constants import (
    SIGNING_KEY_FILE,
    SIGNING_KEY_MOUNT,
    VERIFY_KEY_FILE,
    VERIFY_KEY_MOUNT,
)

PIPELINE_NAME = "secure-training"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description=(
        "Validate data, train a Keras model, attack-test it, sign it, gate it on signature and "
        "robustness, and deploy it to KServe only when the gate blesses it."
    ),
)
def secure_training(
    data_source: str = "digits",
    test_fraction: float = 0.2,
    seed: int = 0,
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 0.001,
    adversarial_training: str = "none",
    epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
    attack_tier: str = "fast",
    pgd_steps: int = 20,
    min_clean_accuracy: float = 0.9,
    min_robust_accuracy: float = 0.5,
    robust_attack: str = "worst_case",
    robust_epsilon: float = 0.05,
    allow_masking_flags: List[str] = [],  # noqa: B006 - KFP reads the default from here
    signing_key_secret: str = "mlsecops-signing-key",  # noqa: S107 - a Secret name, not a secret
    verify_key_configmap: str = "mlsecops-verify-key",
    private_key_path: str = f"{SIGNING_KEY_MOUNT}/{SIGNING_KEY_FILE}",
    public_key_path: str = f"{VERIFY_KEY_MOUNT}/{VERIFY_KEY_FILE}",
    service_name: str = "digits-classifier",
    namespace: str = "kubeflow-user-example-com",
    deploy_mode: str = "dry-run",
    service_account: str = "",
    pushgateway_url: str = "",
):
    """Run the secure training chain; the gate raises (and deploy never runs) unless blessed.

    ``adversarial_training`` is ``none``, ``pgd`` (PGD-AT) or ``fgsm_rs`` (FGSM with random
    start), at the train component's default budget. ``attack_tier`` is ``fast`` (FGSM + PGD) or
    ``reliable`` (APGD-CE + APGD-T + Square). Every gradient-masking flag the attack step raises
    blocks the gate unless ``allow_masking_flags`` lists it.

    ``signing_key_secret`` holds ``private-key.pem`` and is mounted on the two signing tasks only
    (sign model, attest robustness); ``verify_key_configmap`` holds ``public-key.pem`` and is
    mounted on gate and deploy. Keep the two ``*_key_path`` defaults on a cluster; local runs
    point them at files.

    ``robust_attack="worst_case"`` gates on the per-sample worst case over the tier's attacks.
    ``service_account`` is the account the InferenceService runs as (storage credentials).
    ``pushgateway_url`` (optional) makes every step push ``mlsecops_*`` metrics, grouped by
    pipeline, run id and component; a failed push is logged and never changes a decision.
    """
    monitoring = {"pushgateway_url": pushgateway_url, "run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER}
    data = validate_data(source=data_source, test_fraction=test_fraction, seed=seed, **monitoring)
    data.set_display_name("validate data")

    trained = train(
        train_data=data.outputs["train_data"],
        test_data=data.outputs["test_data"],
        data_digest=data.outputs["data_digest"],
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        adversarial=adversarial_training,
        **monitoring,
    )
    trained.set_display_name("train")

    attacked = attack_test(
        model=trained.outputs["model"],
        test_data=data.outputs["test_data"],
        epsilons=epsilons,
        tier=attack_tier,
        pgd_steps=pgd_steps,
        seed=seed,
        **monitoring,
    )
    attacked.set_display_name("attack-test")

    attested = attest_robustness(
        model=trained.outputs["model"],
        results=attacked.outputs["results"],
        data_digest=data.outputs["data_digest"],
        min_clean_accuracy=min_clean_accuracy,
        min_robust_accuracy=min_robust_accuracy,
        robust_attack=robust_attack,
        robust_epsilon=robust_epsilon,
        allow_masking_flags=allow_masking_flags,
        epsilons=epsilons,
        tier=attack_tier,
        pgd_steps=pgd_steps,
        seed=seed,
        private_key_path=private_key_path,
        **monitoring,
    )
    attested.set_display_name("attest robustness")
    kubernetes.use_secret_as_volume(
        attested, secret_name=signing_key_secret, mount_path=SIGNING_KEY_MOUNT
    )

    signed = sign_model(
        model=trained.outputs["model"], private_key_path=private_key_path, **monitoring
    )
    signed.set_display_name("sign model")
    kubernetes.use_secret_as_volume(
        signed, secret_name=signing_key_secret, mount_path=SIGNING_KEY_MOUNT
    )

    gated = gate(
        model=trained.outputs["model"],
        signature=signed.outputs["signature"],
        results=attacked.outputs["results"],
        attestation=attested.outputs["attestation"],
        min_clean_accuracy=min_clean_accuracy,
        min_robust_accuracy=min_robust_accuracy,
        robust_attack=robust_attack,
        robust_epsilon=robust_epsilon,
        public_key_path=public_key_path,
        allow_masking_flags=allow_masking_flags,
        **monitoring,
    )
    gated.set_display_name("gate")
    kubernetes.use_config_map_as_volume(
        gated, config_map_name=verify_key_configmap, mount_path=VERIFY_KEY_MOUNT
    )

    deployed = deploy(
        model=trained.outputs["model"],
        decision=gated.outputs["decision"],
        verified_digest=gated.outputs["model_digest"],
        signature=signed.outputs["signature"],
        attestation=attested.outputs["attestation"],
        public_key_path=public_key_path,
        service_name=service_name,
        namespace=namespace,
        mode=deploy_mode,
        service_account=service_account,
        **monitoring,
    )
    deployed.set_display_name("deploy")
    kubernetes.use_config_map_as_volume(
        deployed, config_map_name=verify_key_configmap, mount_path=VERIFY_KEY_MOUNT
    )

    # A decision must never come from a cache: keys get rotated and revoked between runs.
    for task in (signed, attested, gated, deployed):
        task.set_caching_options(False)
