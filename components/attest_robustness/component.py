"""KFP component: sign a robustness attestation binding attack_test's results to the model."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


# Defaults are literals: only the function travels to the pod (tests pin them to constants).
@dsl.component(base_image=IMAGE, install_kfp_package=False)
def attest_robustness(
    model: Input[Model],
    results: Input[Artifact],
    data_digest: str,
    attestation: Output[Artifact],
    min_clean_accuracy: float,
    min_robust_accuracy: float,
    robust_attack: str,
    robust_epsilon: float,
    allow_masking_flags: List[str] = [],  # noqa: B006 - KFP reads the default from here
    epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
    tier: str = "fast",
    pgd_steps: int = 20,
    seed: int = 0,
    signing_method: str = "key",
    private_key_path: str = "",
    password_path: str = "",
    certificate_path: str = "",
    chain_paths: List[str] = [],  # noqa: B006 - KFP reads the default from here
    identity_token_path: str = "",
    use_ambient_credentials: bool = False,
    sigstore_trust_config_path: str = "",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("AttestRobustnessOutputs", [("model_digest", str)]):
    """Sign an in-toto robustness attestation binding attack_test's ``results`` to ``model``.

    The Statement's subject is the model digest; its predicate holds the results JSON, the gate
    policy, the dataset digest, the attack configuration and library versions. It is signed with
    the same method and material as the model (the signing options are sign_model's; on a cluster
    a Secret mounted on this task and the sign task only). Fails closed, writing nothing: results
    computed for another model, a malformed digest or policy, an option the method does not use
    (InvalidInputError) or an unusable key or token (SigningError). The gate and deploy verify it.

    Args:
        model: The model folder in the servable layout (the attestation's subject).
        results: attack_test's (or merge_attack_results') robustness results JSON (schema
            ``kfp-mlsecops/robustness/v2``, not a shard); results for another model are refused.
        data_digest: validate_data's dataset digest (``sha256:<64 hex>``), recorded in the
            predicate.
        min_clean_accuracy: Gate policy: minimum clean accuracy, in [0, 1].
        min_robust_accuracy: Gate policy: minimum robust accuracy, in [0, 1].
        robust_attack: Gate policy: the attack whose robust accuracy is gated (e.g. ``pgd`` or
            ``worst_case``).
        robust_epsilon: Gate policy: the budget (input units, >= 0) at which robust accuracy is
            read.
        allow_masking_flags: Gate policy: gradient-masking flag ids that are reported but do not
            block (unknown ids are refused).
        epsilons: The budgets attack_test was given, recorded as attack configuration.
        tier: The attack tier attack_test ran (``fast`` or ``reliable``), recorded.
        pgd_steps: The PGD steps attack_test was given, recorded.
        seed: The seed attack_test was given, recorded.
        signing_method: ``key``, ``certificate`` or ``sigstore``; an option the method does not
            use must stay empty.
        private_key_path: key and certificate methods: the PEM ECDSA private key file.
        password_path: key method: file holding the private key's password (empty: unencrypted).
        certificate_path: certificate method: the signing (leaf) certificate file.
        chain_paths: certificate method: the issuing CA certificate files.
        identity_token_path: sigstore method: file holding the OIDC identity token.
        use_ambient_credentials: sigstore method: take the identity token from the environment
            instead of a file (exactly one token source).
        sigstore_trust_config_path: sigstore method: ClientTrustConfig JSON (empty: the public-good
            instance).
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        attestation: The signed attestation (key: a DSSE envelope; certificate and sigstore: a
            Sigstore bundle carrying it); metadata ``model_digest``.
        model_digest: The attested model digest (``sha256:<hex>``).

    """
    from collections import namedtuple

    from kfp_mlsecops.attestation import create_attestation
    from kfp_mlsecops.gate import Policy
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import SigningConfig

    with record_step(
        "attest_robustness",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        policy = Policy(
            min_clean_accuracy=min_clean_accuracy,
            min_robust_accuracy=min_robust_accuracy,
            robust_attack=robust_attack,
            robust_epsilon=robust_epsilon,
            allow_masking_flags=tuple(allow_masking_flags),
        )
        digest = create_attestation(
            model_dir=model.path,
            results_path=results.path,
            policy=policy.to_dict(),
            data_digest=data_digest,
            attack_config={
                "tier": tier,
                "epsilons": [float(e) for e in epsilons],
                "pgd_steps": pgd_steps,
                "seed": seed,
            },
            signing=SigningConfig.from_method(
                signing_method,
                private_key_path=private_key_path,
                password_path=password_path,
                certificate_path=certificate_path,
                chain_paths=chain_paths,
                identity_token_path=identity_token_path,
                use_ambient_credentials=use_ambient_credentials,
                trust_config_path=sigstore_trust_config_path,
            ),
            out_path=attestation.path,
        )
    attestation.metadata["model_digest"] = digest
    return namedtuple("AttestRobustnessOutputs", ["model_digest"])(digest)
