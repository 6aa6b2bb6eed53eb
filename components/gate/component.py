"""KFP component: the deployment gate. Verifies the signature, checks the policy, or raises."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Model, Output

from kfp_mlsecops.components._image import IMAGE


# Defaults are literals: only the function travels to the pod (tests pin them to constants).
@dsl.component(base_image=IMAGE, install_kfp_package=False)
def gate(
    model: Input[Model],
    signature: Input[Artifact],
    results: Input[Artifact],
    attestation: Input[Artifact],
    decision: Output[Artifact],
    report: Output[Markdown],
    min_clean_accuracy: float,
    min_robust_accuracy: float,
    robust_attack: str,
    robust_epsilon: float,
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
) -> NamedTuple("GateOutputs", [("model_digest", str)]):
    """Bless the model or raise: any failed control, error or missing input blocks deployment.

    The decision (JSON) and its Markdown table are written either way; the task fails when blocked,
    so nothing downstream runs. Trust: ``signing_method`` ``key`` (``public_key_path``),
    ``certificate`` (``chain_paths`` + ``signer_identity``) or ``sigstore`` (``signer_identity``,
    ``oidc_issuer``, ``trust_config_path``; offline). ``attestation`` (from attest_robustness) must
    verify with the same trust and attest exactly ``results``. A raised gradient-masking flag
    blocks unless ``allow_masking_flags`` lists it (then it is reported, waived). Outputs the
    verified digest.
    """
    from collections import namedtuple

    from kfp_mlsecops.gate import Policy, run_gate
    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import VerificationConfig

    with record_step(
        "gate",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts={"gate_decision": decision.path},
    ):
        policy = Policy(
            min_clean_accuracy=min_clean_accuracy,
            min_robust_accuracy=min_robust_accuracy,
            robust_attack=robust_attack,
            robust_epsilon=robust_epsilon,
            allow_masking_flags=tuple(allow_masking_flags),
        )
        blessed = run_gate(
            model_dir=model.path,
            signature_path=signature.path,
            verification=VerificationConfig.from_method(
                signing_method,
                public_key_path=public_key_path,
                chain_paths=chain_paths,
                identity=signer_identity,
                issuer=oidc_issuer,
                trust_config_path=trust_config_path,
            ),
            results_path=results.path,
            attestation_path=attestation.path,
            policy=policy,
            decision_json_path=decision.path,
            decision_md_path=report.path,
        )
    decision.metadata["model_digest"] = blessed.model_digest
    return namedtuple("GateOutputs", ["model_digest"])(blessed.model_digest)
