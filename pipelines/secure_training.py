"""The ``secure-training`` pipeline: validate, train, attack-test, attest, sign, gate, deploy."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, Optional

from kfp import dsl

from kfp_mlsecops import constants as C
from kfp_mlsecops.components import train, validate_data
from kfp_mlsecops.constants import SIGNING_METHOD_KEY, SIGNING_METHODS
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines.parameters import document_parameters
from kfp_mlsecops.pipelines.release_chain import (
    MOUNTED_POLICY,
    attest_gate_deploy,
    run_monitoring,
)
from kfp_mlsecops.pipelines.resources import ResourcePlan, apply_resources
from kfp_mlsecops.pipelines.signing_wiring import WIRINGS

PIPELINE_NAME = "secure-training"


def make_secure_training(  # noqa: ANN201 - a KFP pipeline
    signing_method: str = SIGNING_METHOD_KEY,
    *,
    policy_path: str = MOUNTED_POLICY,
    predictor_image: str = "",
    resources: Optional[ResourcePlan] = None,
    attack_shards: int = 1,
):
    """Return the ``secure-training`` pipeline wired for ``signing_method`` (compile-time choice).

    ``key`` (the default and the committed YAML), ``certificate`` or ``sigstore``; see
    :mod:`kfp_mlsecops.pipelines.signing_wiring` for the Secret / ConfigMap each one mounts.
    ``policy_path`` is where the gate and deploy read the policy floor; it is compiled in as a
    constant, NOT a run parameter, so a run cannot pick a laxer floor. The default is the
    mounted ``mlsecops-policy`` ConfigMap (mounted only then); local runs compile a file path, or
    ``""`` for the built-in default floor. ``predictor_image`` becomes the default of the run
    parameter of that name (empty: the project's predictor image). ``resources`` sets CPU, memory
    and accelerators per step (:mod:`kfp_mlsecops.pipelines.resources`; None: nothing set).
    ``attack_shards`` > 1 fans attack-test out over a ``dsl.ParallelFor`` of that many shards
    (each attacks a contiguous block of the samples) and merges them (``merge_attack_results``)
    into exactly the unsharded results, which attest and gate read; kfp.local runs the fan-out
    too (``mlsecops run --attack-shards``). 1 (default) is the single attack-test of the
    committed YAML.
    """
    if signing_method not in WIRINGS:
        raise InvalidInputError(
            f"signing_method={signing_method!r}: use one of {', '.join(SIGNING_METHODS)}"
        )
    w = WIRINGS[signing_method]

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description=(
            "Validate data, train a Keras model, attack-test it, attest and sign it, gate it "
            "(re-derived evidence, policy floor, signed approval) and deploy it to KServe only "
            f"with the gate's approval. Signing method: {w.method} ({w.description})."
        ),
    )
    @document_parameters
    def secure_training(
        data_source: str = "digits",
        data_format: str = "",
        label_column: str = "label",
        value_min: float = 0.0,
        value_max: float = 1.0,
        test_fraction: float = 0.2,
        seed: int = 0,
        epochs: int = 5,
        batch_size: int = 64,
        learning_rate: float = 0.001,
        adversarial_training: str = "none",
        dp_noise_multiplier: float = 0.0,
        dp_l2_norm_clip: float = 1.0,
        dp_delta: float = 1e-5,
        epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
        attack_tier: str = "fast",
        pgd_steps: int = 20,
        min_clean_accuracy: float = 0.9,
        min_robust_accuracy: float = 0.5,
        robust_attack: str = "worst_case",
        robust_epsilon: float = 0.05,
        allow_masking_flags: List[str] = [],  # noqa: B006 - KFP reads the default from here
        signing_secret: str = w.signing_secret,
        verify_configmap: str = w.verify_configmap,
        private_key_path: str = w.private_key_path,
        password_path: str = "",
        certificate_path: str = w.certificate_path,
        chain_paths: List[str] = list(w.chain_paths),  # noqa: B006 - KFP reads the default
        identity_token_path: str = w.identity_token_path,
        use_ambient_credentials: bool = False,
        signing_trust_config_path: str = "",
        public_key_path: str = w.public_key_path,
        approval_key_path: str = f"{C.APPROVAL_KEY_MOUNT}/{C.APPROVAL_KEY_FILE}",
        approval_public_key_path: str = f"{C.APPROVAL_VERIFY_MOUNT}/{C.APPROVAL_VERIFY_FILE}",
        audit_log_path: str = "",
        audit_key_path: str = f"{C.AUDIT_KEY_MOUNT}/{C.AUDIT_KEY_FILE}",
        verify_chain_paths: List[str] = list(w.verify_chain_paths),  # noqa: B006 - as above
        signer_identity: str = "",
        oidc_issuer: str = "",
        trust_config_path: str = w.trust_config_path,
        service_name: str = "digits-classifier",
        namespace: str = "kubeflow-user-example-com",
        deploy_mode: str = "dry-run",
        service_account: str = "",
        predictor: str = "verified",
        predictor_image: str = predictor_image,
        deploy_wait_seconds: int = C.DEPLOY_WAIT_SECONDS,
        canary_traffic_percent: int = -1,
        pushgateway_url: str = "",
    ):
        """Run the secure training chain; deploy runs only with the gate's signed approval.

        Features must lie in [``value_min``, ``value_max``], the model's input range, which also
        bounds every attack (epsilons are in the same units). Every gradient-masking flag the
        attack step raises blocks the gate unless ``allow_masking_flags`` lists it.

        Signing (the method is fixed at compile time, see ``make_secure_training``): the
        ``signing_secret`` Secret is mounted on the two signing tasks only (sign model, attest
        robustness) and the ``verify_configmap`` ConfigMap on gate and deploy only. The path
        parameters default to files in those mounts; local runs point them at files. An option
        the method does not use must stay empty (the task fails otherwise).

        The thresholds are the run's; the policy floor (ConfigMap ``mlsecops-policy``, mounted on
        gate and deploy) may only tighten them. The gate re-derives the evidence and signs an
        approval with its own key, which deploy verifies before it touches the cluster.

        The ``Args:`` section KFP reads (the parameter descriptions in the compiled YAML) is
        appended by ``document_parameters`` from ``PARAMETER_DESCRIPTIONS`` in
        :mod:`kfp_mlsecops.pipelines.parameters`.
        """
        p = dict(locals())  # the run parameters by name (before any other local)
        monitoring = run_monitoring(pushgateway_url, PIPELINE_NAME)
        data = validate_data(
            source=data_source,
            dataset_format=data_format,
            label_column=label_column,
            value_min=value_min,
            value_max=value_max,
            test_fraction=test_fraction,
            seed=seed,
            **monitoring,
        )
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
            dp_noise_multiplier=dp_noise_multiplier,
            dp_l2_norm_clip=dp_l2_norm_clip,
            dp_delta=dp_delta,
            **monitoring,
        )
        trained.set_display_name("train")

        attest_gate_deploy(
            wiring=w,
            policy_path=policy_path,
            model=trained.outputs["model"],
            test_data=data.outputs["test_data"],
            data_digest=data.outputs["data_digest"],
            test_data_digest=data.outputs["test_data_digest"],
            p=p,
            monitoring=monitoring,
            attack_shards=attack_shards,
        )
        apply_resources(resources, PIPELINE_NAME)

    return secure_training


#: The key-method pipeline (what ``pipelines/secure_training.yaml`` holds).
secure_training = make_secure_training(SIGNING_METHOD_KEY)
