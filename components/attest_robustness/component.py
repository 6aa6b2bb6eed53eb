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
    """Sign an in-toto Statement (DSSE) whose subject is ``model`` and predicate its results.

    The predicate holds attack_test's ``results``, the gate policy, the dataset digest from
    validate_data, the attack configuration and library versions; it is signed with the same
    method and material as the model (the signing options are sign_model's; on a cluster a Secret
    mounted on this task and the sign task only). The gate and deploy verify it. Outputs the
    attested model digest.
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
