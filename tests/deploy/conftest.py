from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import create_attestation
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.signing import generate_key_pair, sign_model


@dataclass
class Blessed:
    model: Path
    digest: str
    decision: Path
    signature: Path
    attestation: Path
    public_key: Path


@pytest.fixture(scope="session")
def deploy_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("deploy-keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture
def blessed(tmp_path: Path, deploy_keys: tuple[Path, Path]) -> Blessed:
    """A model that went through real signing, a real attestation and a real, approving gate."""
    model = tmp_path / "model"
    (model / "1" / "variables").mkdir(parents=True)
    (model / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights" * 8)
    signature = tmp_path / "model.sig"
    digest = sign_model(model, signature, private_key_path=deploy_keys[0])
    results = tmp_path / "robustness.json"
    results.write_text(
        json.dumps(
            {
                c.SCHEMA: c.ROBUSTNESS_SCHEMA,
                c.CLEAN_ACCURACY: 0.97,
                c.N_SAMPLES: 100,
                c.EPSILONS: [0.1],
                c.ATTACKS: [
                    {
                        "attack": "pgd",
                        "norm": "linf",
                        "epsilon": 0.1,
                        "robust_accuracy": 0.8,
                        "params": {},
                    }
                ],
                c.WORST_CASE: [{"epsilon": 0.1, "robust_accuracy": 0.8}],
                "invariants": [{"name": n} for n in c.ROBUSTNESS_INVARIANTS],
                "masking": [
                    {"id": f, "flagged": False, "measured": 0.0, "threshold": 0.1, "detail": ""}
                    for f in c.MASKING_FLAGS
                ],
                c.MODEL_DIGEST: digest,
            }
        )
    )
    attestation = tmp_path / "attestation" / "robustness.intoto.json"
    create_attestation(
        model_dir=model,
        results_path=results,
        policy={"min_clean_accuracy": 0.9, "min_robust_accuracy": 0.5},
        data_digest="sha256:" + "cd" * 32,
        attack_config={"attacks": ["pgd"], "epsilons": [0.1]},
        private_key_path=deploy_keys[0],
        out_path=attestation,
    )
    decision = tmp_path / "gate" / "decision.json"
    run_gate(
        model_dir=model,
        signature_path=signature,
        public_key_path=deploy_keys[1],
        results_path=results,
        attestation_path=attestation,
        policy=Policy(
            min_clean_accuracy=0.9,
            min_robust_accuracy=0.5,
            robust_attack="pgd",
            robust_epsilon=0.1,
        ),
        decision_json_path=decision,
        decision_md_path=tmp_path / "gate" / "decision.md",
    )
    return Blessed(model, digest, decision, signature, attestation, deploy_keys[1])
