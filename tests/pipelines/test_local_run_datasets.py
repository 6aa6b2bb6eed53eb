"""The whole pipeline on data a user has: a folder of PNG images, one sub-folder per class.

Real KFP local runner (SubprocessRunner(use_venv=False)), real training and attacks: the value
range travels from validate-data through training, the attacks, the gate's floor (epsilon as a
fraction of the range) and the re-derivation.
"""

import json

import numpy as np
import pytest
from PIL import Image

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import run_pipeline_locally

pytestmark = pytest.mark.slow


def _digits_as_png_folder(root):
    """sklearn's digits as 8-bit grayscale PNGs (0..255) in folders named d0 .. d9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    for i, (image, label) in enumerate(zip(pixels, bunch.target, strict=True)):
        folder = root / f"d{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{i:04d}.png")
    return root


def test_an_image_folder_in_0_255_is_validated_trained_attacked_and_approved(tmp_path):
    data = _digits_as_png_folder(tmp_path / "digits-png")
    eps = [0.05 * 255, 0.1 * 255]  # epsilons are in input units
    run = run_pipeline_locally(
        output_dir=tmp_path / "runs",
        arguments={
            "data_source": str(data),
            "value_max": 255.0,
            "epochs": 3,
            "epsilons": eps,
            "robust_epsilon": eps[0],
            "pgd_steps": 10,
        },
    )
    assert run.succeeded, run.error
    assert run.decision[C.DECISION] == C.DECISION_APPROVED
    report = json.loads((run.task_root / "validate-data" / "report_json").read_text())
    assert report["class_names"] == [f"d{c}" for c in range(10)]
    assert report["feature_shape"] == [8, 8, 1]
    results = json.loads(run.reports["robustness results"].read_text())
    assert results["epsilons"] == eps
    robust = {c["id"]: c for c in run.decision[C.CONTROLS]}["robust_accuracy"]
    assert robust["passed"] and robust["measured"] >= 0.5


def test_an_image_folder_outside_the_value_range_stops_at_validate_data(tmp_path):
    data = _digits_as_png_folder(tmp_path / "digits-png")
    run = run_pipeline_locally(
        output_dir=tmp_path / "runs", arguments={"data_source": str(data), "epochs": 1}
    )
    assert not run.succeeded
    kind, message = run.error
    assert kind == "DataValidationError" and run.statuses["validate-data"].lower() == "failure"
    assert "check 'value_range' failed" in message and "set value_min/value_max" in message
    assert run.decision is None
