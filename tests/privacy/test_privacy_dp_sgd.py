"""The headline of DP-SGD training: on a setting where plain training memorises its training set
(~990 digits, 30 epochs, no regularisation) and fails the MLSVS membership-privacy control,
DP-SGD training reports a finite epsilon, leaks clearly less and passes the control."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance import CheckContext, RunFolder, load_profile, run_profile
from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.privacy import MembershipResults, run_membership_test
from kfp_mlsecops.training import TrainResult, train_model
from kfp_mlsecops.training.dp_sgd import compute_epsilon

pytestmark = pytest.mark.slow

CONTROL = "mlsvs-membership-privacy"
TRAINING = {"epochs": 30, "batch_size": 64, "learning_rate": 1e-2, "seed": 0}
# Measured here: plain accuracy 0.964, advantage 0.134. DP-SGD at epsilon 3.61: over 25 runs
# (fresh sampling and noise, or seeds 0-7) accuracy 0.853-0.892 and advantage 0.051-0.099
# (median 0.071); the test fixes the DP randomness (unsafe_dp_seed=0: 0.882, 0.077) so it is
# reproducible.
NOISE, CLIP, DELTA = 2.0, 1.0, 1e-5


def _train(tmp_path: Path, name: str, **dp: Any) -> tuple[Path, TrainResult, MembershipResults]:
    """Validate the whole digits set (45% held out: ~990 members), train, attack, write results."""
    digits = load_digits()
    source = tmp_path / f"{name}.npz"
    np.savez(source, x=(digits.data / 16.0).astype(np.float32), y=digits.target.astype(np.int64))
    run_dir = tmp_path / name
    data = run_dir / "validate-data"
    run_validate_data(
        source=str(source),
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        report_json_path=data / "report_json",
        report_md_path=data / "report",
        manifest_path=data / "manifest",
        test_fraction=0.45,
        seed=0,
    )
    model = run_dir / "train" / "model"
    result = train_model(
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        model_dir=model,
        **TRAINING,
        **dp,
    )
    privacy = run_membership_test(
        model_path=model,
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        out_path=run_dir / C.PRIVACY_RESULTS_FILE,
    )
    return run_dir, result, privacy


def _control(run_dir: Path):
    report = run_profile(
        load_profile("mlsvs"), CheckContext(run=RunFolder.locate(run_dir)), only=[CONTROL]
    )
    (control,) = report.controls
    return control


def test_dp_sgd_reports_epsilon_lowers_the_advantage_and_fixes_the_control(tmp_path):
    plain_dir, plain, plain_privacy = _train(tmp_path, "plain")
    with pytest.warns(UserWarning, match="unsafe_dp_seed=0: DP-SGD sampling and noise are not"):
        dp_dir, private, dp_privacy = _train(
            tmp_path,
            "dp",
            dp_noise_multiplier=NOISE,
            dp_l2_norm_clip=CLIP,
            dp_delta=DELTA,
            unsafe_dp_seed=0,
        )
    n = dp_privacy.figures.available_members
    steps = TRAINING["epochs"] * math.ceil(n / TRAINING["batch_size"])
    epsilon = compute_epsilon(
        noise_multiplier=NOISE,
        sampling_probability=TRAINING["batch_size"] / n,
        steps=steps,
        delta=DELTA,
    )
    print(
        f"\nplain:  accuracy {plain.accuracy:.3f}, {plain_privacy.summary()}"
        f"\nDP-SGD: accuracy {private.accuracy:.3f}, epsilon {private.dp_epsilon:.2f} at delta "
        f"{private.dp_delta:g} (noise {NOISE}, clip {CLIP}, {steps} steps), "
        f"{dp_privacy.summary()}"
    )
    # the guarantee is reported, finite, and dp-accounting's for what was run
    assert plain.dp_epsilon is None and C.PROVENANCE_DIFFERENTIAL_PRIVACY not in plain.provenance
    assert private.dp_epsilon == pytest.approx(epsilon, rel=1e-12) and math.isfinite(epsilon)
    assert private.dp_delta == DELTA
    record = private.provenance[C.PROVENANCE_DIFFERENTIAL_PRIVACY]
    assert (record["epsilon"], record["steps"], record["noise_multiplier"]) == (
        private.dp_epsilon,
        steps,
        NOISE,
    )
    assert record["secret_randomness"] is False  # the test's fixed seed is on record

    # plain training memorised: clearly above chance and above the control's 0.1
    assert plain_privacy.advantage > max(0.12, plain_privacy.figures.chance_advantage)
    # DP-SGD leaks clearly less, at a bounded accuracy cost
    assert dp_privacy.advantage < plain_privacy.advantage - 0.04
    assert dp_privacy.advantage <= 0.1
    assert private.accuracy > 0.8 and plain.accuracy - private.accuracy < 0.15

    leaky = _control(plain_dir)
    fixed = _control(dp_dir)
    assert leaky.status == "failed", leaky.outcome.detail
    assert fixed.status == "passed", fixed.outcome.detail
