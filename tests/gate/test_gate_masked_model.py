"""End to end: a gradient-masked model is flagged by attack_test and blocked by the default policy.

Real training, real attacks, real signing: the masked model is the trained CNN behind a
quantizing input layer (``Discretization``), whose gradient is zero everywhere, so gradient attacks
fail while the black-box Square attack still finds adversarials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops import constants as c
from kfp_mlsecops.attacks.html_report import run_attack_report
from kfp_mlsecops.attestation import create_attestation
from kfp_mlsecops.data.split_io import Split, save_split
from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.signing import sign_model

pytestmark = pytest.mark.slow

LENIENT = dict(
    min_clean_accuracy=0.5, min_robust_accuracy=0.0, robust_attack="worst_case", robust_epsilon=0.2
)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Plain and masked model folders with their robustness results (fast tier)."""
    import keras

    from kfp_mlsecops.training import load_model, train_model

    root = tmp_path_factory.mktemp("masked")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    y = digits.target.astype(np.int64)
    train = save_split(root / "train.npz", Split(x[:1400], y[:1400], 0.0, 1.0, 10))
    test = save_split(root / "test.npz", Split(x[1400:], y[1400:], 0.0, 1.0, 10))
    train_model(train_path=train, test_path=test, model_dir=root / "plain", epochs=2, seed=0)

    inputs = keras.Input((8, 8, 1), name=c.SERVING_INPUT_NAME)
    levels = keras.layers.Discretization(bin_boundaries=[(i + 0.5) / 16 for i in range(16)])
    quantized = keras.layers.Rescaling(1 / 16)(levels(inputs))
    masked = keras.Model(inputs, load_model(root / "plain")(quantized))
    (root / "masked").mkdir()
    masked.save(root / "masked" / c.KERAS_FILE)

    out: dict[str, dict[str, Any]] = {}
    for name in ("plain", "masked"):
        folder = root / f"{name}-out"
        results = run_attack_report(
            model_path=root / name,
            test_path=test,
            results_path=folder / "results.json",
            report_md_path=folder / "report.md",
            html_report_path=folder / "report.html",
            epsilons=[0.1, 0.2],
            tier="fast",
            pgd_steps=10,
            max_samples=80,
        )
        out[name] = {"model": root / name, "dir": folder, "results": results}
    return out


def _gate(entry: dict[str, Any], keys: tuple[Path, Path], policy: Policy, tag: str) -> Path:
    signature = entry["dir"] / f"{tag}.sig"
    sign_model(entry["model"], signature, private_key_path=keys[0])
    attestation = entry["dir"] / f"{tag}.intoto.json"
    create_attestation(
        model_dir=entry["model"],
        results_path=entry["dir"] / "results.json",
        policy=policy.to_dict(),
        data_digest="sha256:" + "0" * 64,
        attack_config={"tier": "fast", "epsilons": [0.1, 0.2], "pgd_steps": 10},
        private_key_path=keys[0],
        out_path=attestation,
    )
    decision = entry["dir"] / f"{tag}-decision.json"
    run_gate(
        model_dir=entry["model"],
        signature_path=signature,
        public_key_path=keys[1],
        results_path=entry["dir"] / "results.json",
        attestation_path=attestation,
        policy=policy,
        decision_json_path=decision,
        decision_md_path=entry["dir"] / f"{tag}-decision.md",
    )
    return decision


def _flags(results: dict[str, Any]) -> set[str]:
    return {f["id"] for f in results["masking"] if f["flagged"]}


def test_plain_model_is_not_flagged_and_is_blessed(evaluated, gate_keys) -> None:
    assert _flags(evaluated["plain"]["results"]) == set()
    _gate(evaluated["plain"], gate_keys, Policy(**LENIENT), "default")


def test_masked_model_is_flagged_and_blocked_by_the_default_policy(evaluated, gate_keys) -> None:
    results = evaluated["masked"]["results"]
    raised = _flags(results)
    assert {"degenerate_gradients", "blackbox_beats_whitebox"} <= raised
    # the masked model looks robust to the gradient attacks: exactly what the flags warn about
    assert results["worst_case"][-1]["robust_accuracy"] > 0.5
    with pytest.raises(GateRejected) as info:
        _gate(evaluated["masked"], gate_keys, Policy(**LENIENT), "default")
    for flag in raised:
        assert f"masking.{flag}: flagged" in str(info.value)
    assert "clean_accuracy:" not in str(info.value)  # only the masking controls failed
    page = (evaluated["masked"]["dir"] / "report.html").read_text()
    assert f"{len(raised)} gradient-masking flag(s) raised" in page


def test_policy_can_waive_the_flags_it_names(evaluated, gate_keys) -> None:
    raised = _flags(evaluated["masked"]["results"])
    waived = Policy(**LENIENT, allow_masking_flags=tuple(raised))
    _gate(evaluated["masked"], gate_keys, waived, "waived")
    partial = Policy(**LENIENT, allow_masking_flags=tuple(sorted(raised))[1:])
    with pytest.raises(GateRejected, match="masking"):
        _gate(evaluated["masked"], gate_keys, partial, "partial")
