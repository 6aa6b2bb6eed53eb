from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.signing import generate_key_pair, sign_model


@dataclass
class Blessed:
    model: Path
    digest: str
    decision: Path


@pytest.fixture(scope="session")
def deploy_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("deploy-keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture
def blessed(tmp_path: Path, deploy_keys: tuple[Path, Path]) -> Blessed:
    """A model that went through real signing and a real, approving gate."""
    model = tmp_path / "model"
    (model / "1").mkdir(parents=True)
    (model / "1" / "saved_model.pb").write_bytes(b"graph" * 8)
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
                c.MODEL_DIGEST: digest,
            }
        )
    )
    decision = tmp_path / "gate" / "decision.json"
    run_gate(
        model_dir=model,
        signature_path=signature,
        public_key_path=deploy_keys[1],
        results_path=results,
        policy=Policy(
            min_clean_accuracy=0.9,
            min_robust_accuracy=0.5,
            robust_attack="pgd",
            robust_epsilon=0.1,
        ),
        decision_json_path=decision,
        decision_md_path=tmp_path / "gate" / "decision.md",
    )
    return Blessed(model, digest, decision)
