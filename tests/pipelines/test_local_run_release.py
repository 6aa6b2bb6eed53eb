"""secure-release on the real KFP local runner: a model trained elsewhere, through the same gate.

The model is a user's own Keras CNN (logits output, saved as .keras) or the same weights as a
SavedModel; the evaluation data is an NPZ the model never trained on. dsl.importer brings both
in; validate-data keeps every sample (evaluation only); import-model writes the servable
SavedModel that sign, attack-test, the gate and deploy act on.
"""

import json

import numpy as np
import pytest
from _user_models import train_user_cnn

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.cli.run_local import run_pipeline_locally

pytestmark = pytest.mark.slow

FAST = {"epsilons": [0.05, 0.1], "pgd_steps": 10}


@pytest.fixture(scope="module")
def user_model(tmp_path_factory):
    """A CNN trained outside this package (logits, no softmax) and its held-out data."""
    root = tmp_path_factory.mktemp("user")
    model, _, _ = train_user_cnn(root)
    model.save(root / "classifier.keras")
    model.export(str(root / "savedmodel"), verbose=False)
    return root


def test_a_keras_model_trained_elsewhere_is_imported_attacked_gated_and_deployed(
    tmp_path, user_model
):
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments={
            "model_uri": str(user_model / "classifier.keras"),
            "data_uri": str(user_model / "eval.npz"),
            **FAST,
        },
    )
    assert run.succeeded, run.error
    assert run.decision[C.DECISION] == C.DECISION_APPROVED
    imported = run.task_root / "import-model" / "model"
    assert sorted(p.name for p in imported.iterdir()) == [
        C.SAVEDMODEL_VERSION_DIR,
        C.PROVENANCE_FILE,
    ]
    manifest = json.loads((run.task_root / "validate-data" / "manifest").read_text())
    assert manifest["evaluation_only"] is True
    assert manifest["splits"]["test"]["n_samples"] == 397  # every held-out sample, no re-split
    results = json.loads(run.reports["robustness results"].read_text())
    assert results["n_samples"] == 397 and results["model_output"] == "logits"
    assert run.decision["rederivation"]["unreproduced"] == 0
    assert run.reports["InferenceService manifest"].is_file()


def test_a_savedmodel_that_misses_the_policy_is_blocked_from_the_command_line(
    tmp_path, user_model, capsys
):
    argv = ["run", "--model", str(user_model / "savedmodel"), "--data"]
    argv += [str(user_model / "eval.npz"), "--output-dir", str(tmp_path)]
    argv += ["--eps", "0.05,0.1", "--pgd-steps", "10", "--min-robust-accuracy", "0.99"]
    assert main(argv) == 3
    out = capsys.readouterr().out
    assert "GATE DECISION: BLOCKED" in out and "robust_accuracy" in out
    assert not list(tmp_path.glob("run-*/pipeline-root/*/deploy/manifest"))


def test_a_model_that_does_not_fit_the_data_stops_at_import(tmp_path, user_model):
    other = tmp_path / "other.npz"
    x = np.random.default_rng(0).uniform(size=(40, 4, 4, 1)).astype(np.float32)
    np.savez(other, x=x, y=np.arange(40) % 10)
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments={"model_uri": str(user_model / "classifier.keras"), "data_uri": str(other)},
    )
    assert not run.succeeded and run.statuses["import-model"].upper() == "FAILURE"
    kind, message = run.error
    assert kind == "InvalidInputError"
    assert "takes inputs shaped (8, 8, 1) but the data's samples are (4, 4, 1)" in message
    assert run.decision is None
