"""End to end: a gradient-masked model is flagged by attack_test and blocked by the floor.

Real training, real attacks, real signing: the masked model quantizes its input
(``Discretization``), whose gradient is zero everywhere, so gradient attacks fail while the
black-box Square attack still finds adversarials. The built-in floor lets no run waive a flag;
the dev floor (manifests/policy/dev) lets a run waive the flags it names.
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
from kfp_mlsecops.data.manifest import split_digest
from kfp_mlsecops.data.split_io import Split, save_split
from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import Policy, run_gate
from kfp_mlsecops.signing import SigningConfig, generate_key_pair, sign_model

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEV_FLOOR = REPO / "manifests" / "policy" / "dev" / "policy.yaml"
LENIENT = dict(
    min_clean_accuracy=0.5, min_robust_accuracy=0.0, robust_attack="worst_case", robust_epsilon=0.2
)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plain and masked model folders with their robustness results (fast tier)."""
    import keras

    from kfp_mlsecops.servable.export import export_savedmodel
    from kfp_mlsecops.training import train_model

    root = tmp_path_factory.mktemp("masked")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    y = digits.target.astype(np.int64)
    test_split = Split(x[1400:], y[1400:], 0.0, 1.0, 10)
    train = save_split(root / "train.npz", Split(x[:1400], y[:1400], 0.0, 1.0, 10))
    test = save_split(root / "test.npz", test_split)
    train_model(train_path=train, test_path=test, model_dir=root / "plain", epochs=2, seed=0)

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1), name=c.SERVING_INPUT_NAME)
    levels = keras.layers.Discretization(bin_boundaries=[(i + 0.5) / 16 for i in range(16)])
    hidden = keras.layers.Rescaling(1 / 16)(levels(inputs))
    hidden = keras.layers.Flatten()(hidden)
    hidden = keras.layers.Dense(64, activation="relu")(hidden)
    masked = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    masked.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    masked.fit(x[:1400], y[:1400], epochs=20, batch_size=64, verbose=0)
    export_savedmodel(masked, root / "masked" / c.SAVEDMODEL_VERSION_DIR, probe=x[:8])

    keys = root / "keys"
    generate_key_pair(keys / "private.pem", keys / "public.pem")
    generate_key_pair(keys / "approval.pem", keys / "approval-public.pem")
    out: dict[str, Any] = {"keys": keys, "test": test, "test_digest": split_digest(test_split)}
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
            max_samples=100,
        )
        out[name] = {"model": root / name, "dir": folder, "results": results}
    return out


def _gate(evaluated: dict[str, Any], name: str, policy: Policy, tag: str, floor: Path | None):
    entry, keys = evaluated[name], evaluated["keys"]
    signature = entry["dir"] / f"{tag}.sig"
    sign_model(entry["model"], signature, private_key_path=keys / "private.pem")
    attestation = entry["dir"] / f"{tag}.intoto.json"
    create_attestation(
        model_dir=entry["model"],
        results_path=entry["dir"] / "results.json",
        policy=policy.to_dict(),
        data_digest="sha256:" + "0" * 64,
        attack_config={"tier": "fast", "epsilons": [0.1, 0.2], "pgd_steps": 10},
        private_key_path=keys / "private.pem",
        out_path=attestation,
    )
    return run_gate(
        model_dir=entry["model"],
        signature_path=signature,
        public_key_path=keys / "public.pem",
        results_path=entry["dir"] / "results.json",
        attestation_path=attestation,
        test_data_path=evaluated["test"],
        test_data_digest=evaluated["test_digest"],
        policy=policy,
        floor_path=floor,
        approval_signing=SigningConfig().use_key(private_key_path=keys / "approval.pem"),
        approval_path=entry["dir"] / f"{tag}-approval.json",
        decision_json_path=entry["dir"] / f"{tag}-decision.json",
        decision_md_path=entry["dir"] / f"{tag}-decision.md",
        gate_seed=0,
    )


def _flags(results: dict[str, Any]) -> set[str]:
    return {f["id"] for f in results["masking"] if f["flagged"]}


def test_plain_model_is_not_flagged_and_is_approved(evaluated) -> None:
    assert _flags(evaluated["plain"]["results"]) == set()
    at_small_eps = Policy(**{**LENIENT, "robust_epsilon": 0.1})  # 2 epochs: little robustness
    _gate(evaluated, "plain", at_small_eps, "default", None)


def test_masked_model_is_flagged_and_blocked_by_the_builtin_floor(evaluated) -> None:
    results = evaluated["masked"]["results"]
    raised = _flags(results)
    assert {"degenerate_gradients", "blackbox_beats_whitebox"} <= raised
    with pytest.raises(GateRejected) as info:
        _gate(evaluated, "masked", Policy(**LENIENT), "default", None)
    for flag in raised:
        assert f"masking.{flag}: flagged" in str(info.value)
    assert "clean_accuracy:" not in str(info.value)
    page = (evaluated["masked"]["dir"] / "report.html").read_text()
    assert f"{len(raised)} gradient-masking flag(s) raised" in page


def test_builtin_floor_drops_every_waiver_the_run_asks_for(evaluated) -> None:
    raised = _flags(evaluated["masked"]["results"])
    waived = Policy(**LENIENT, allow_masking_flags=tuple(raised))
    with pytest.raises(GateRejected, match="masking"):
        _gate(evaluated, "masked", waived, "builtin-waived", None)


def test_dev_floor_lets_a_run_waive_the_flags_it_names(evaluated) -> None:
    raised = _flags(evaluated["masked"]["results"])
    waived = Policy(**LENIENT, allow_masking_flags=tuple(raised))
    decision = _gate(evaluated, "masked", waived, "waived", DEV_FLOOR)
    assert {ctl.id for ctl in decision.controls if ctl.waived} == {f"masking.{f}" for f in raised}
    partial = Policy(**LENIENT, allow_masking_flags=tuple(sorted(raised))[1:])
    with pytest.raises(GateRejected, match="masking"):
        _gate(evaluated, "masked", partial, "partial", DEV_FLOOR)
