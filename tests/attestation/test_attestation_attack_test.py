"""End to end on real parts: train, attack_test, sign, attest, verify both as the gate would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import check_attested_numbers, create_attestation, verify_attestation
from kfp_mlsecops.data.split_io import Split, save_split
from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import sign_model, verify_model


@pytest.mark.slow
def test_attest_real_attack_test_results(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    from kfp_mlsecops.attacks import run_attack_test
    from kfp_mlsecops.training import train_model

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    y = digits.target.astype(np.int64)
    train = save_split(tmp_path / "train.npz", Split(x[:1400], y[:1400], 0.0, 1.0, 10))
    test = save_split(tmp_path / "test.npz", Split(x[1400:], y[1400:], 0.0, 1.0, 10))
    model = tmp_path / "model"
    train_model(train_path=train, test_path=test, model_dir=model, epochs=1, seed=0)
    attack_config = {"epsilons": [0.05], "attacks": ["fgsm", "pgd"], "pgd_steps": 3, "seed": 0}
    results_path = tmp_path / "attack" / "robustness.json"
    run_attack_test(
        model_path=model,
        test_path=test,
        results_path=results_path,
        report_md_path=tmp_path / "attack" / "report.md",
        epsilons=attack_config["epsilons"],
        attacks=attack_config["attacks"],
        pgd_steps=attack_config["pgd_steps"],
        max_samples=64,
        seed=attack_config["seed"],
    )
    signed_digest = sign_model(model, tmp_path / "sig" / "model.sig", private_key_path=keys[0])
    attested_digest = create_attestation(
        model_dir=model,
        results_path=results_path,
        policy={"min_clean_accuracy": 0.5, "min_robust_accuracy": 0.1, "robust_attack": "pgd"},
        data_digest="sha256:" + "cd" * 32,
        attack_config=attack_config,
        private_key_path=keys[0],
        out_path=tmp_path / "sig" / c.ATTESTATION_FILE,
    )
    assert attested_digest == signed_digest

    # what the gate does: verify the model, then the attestation against that digest
    verified = verify_model(model, tmp_path / "sig" / "model.sig", public_key_path=keys[1])
    predicate = verify_attestation(
        attestation_path=tmp_path / "sig" / c.ATTESTATION_FILE,
        public_key_path=keys[1],
        expected_model_digest=verified,
    )
    gated = json.loads(results_path.read_text())
    check_attested_numbers(predicate, gated)
    assert predicate.results[c.MODEL_DIGEST] == verified
    assert predicate.library_versions["keras"]

    # a results file edited after attestation (robust accuracy raised) no longer matches
    gated[c.ATTACKS][-1][c.ROBUST_ACCURACY] = 1.0
    results_path.write_text(json.dumps(gated))
    with pytest.raises(VerificationError, match="differ"):
        check_attested_numbers(predicate, json.loads(results_path.read_text()))
