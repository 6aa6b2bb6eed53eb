"""`mlsecops serve` serves models trained elsewhere: a plain SavedModel and a plain `.keras` file.

Neither carries ``provenance.json`` nor ``reference_stats.json``: the served input range is the
one the attested results were measured on, the squeezing threshold is the default and no drift
score is exported. Each model goes through the real CLI steps (validate in evaluation-only mode,
attack, sign, attest, gate), then a real predictor process answers v1 and v2 on 127.0.0.1 with
the model's own probabilities; the same folder tampered never becomes ready.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _served import SignedModel
from _user_models import train_user_cnn

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main

pytestmark = pytest.mark.slow

MODEL_NAME = "digits"  # what the serving fixtures name the model
EPS = "0.05,0.1"
THRESHOLDS = ["--min-clean-accuracy", "0.9", "--min-robust-accuracy", "0.5"]
THRESHOLDS += ["--robust-attack", "worst_case", "--robust-epsilon", "0.05"]


@pytest.fixture(scope="module")
def user_model(tmp_path_factory) -> Path:
    """A CNN trained outside this package (logits), as .keras and as an exported SavedModel."""
    root = tmp_path_factory.mktemp("user")
    model, x, _ = train_user_cnn(root)
    model.save(root / "classifier.keras")
    model.export(str(root / "plain" / C.SAVEDMODEL_VERSION_DIR), verbose=False)
    logits = np.asarray(model(x[:4], training=False), dtype=np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.save(root / "expected.npy", e / e.sum(axis=1, keepdims=True))
    return root


def _validate(data: Path, root: Path, capsys) -> tuple[Path, dict[str, str]]:
    """Validate the held-out data in evaluation-only mode; return the split and its digests."""
    split = root / "split"
    argv = ["validate", "--data", str(data), "--out-dir", str(split), "--evaluation-only"]
    assert main(argv) == 0
    digests = dict(line.split() for line in capsys.readouterr().out.strip().splitlines())
    return split / "test.npz", digests


def _release(model: Path, test: Path, digests: dict[str, str], root: Path, capsys) -> SignedModel:
    """Run attack, sign, attest and gate through the CLI; return what the predictor needs."""
    from kfp_mlsecops.signing import generate_key_pair

    keys = root / "keys"
    generate_key_pair(keys / "sign.pem", keys / "sign.pub")
    generate_key_pair(keys / "gate.pem", keys / "gate.pub")
    results, signature = root / "results.json", root / "model.sig"
    attestation, approval = root / "attestation.json", root / "approval.json"
    steps = [
        ["attack", "--model", str(model), "--data", str(test), "--eps", EPS,
         "--json", str(root / "summary.json"), "--results", str(results),
         "--report", str(root / "report.md")],
        ["sign", "--model", str(model), "--signature", str(signature), "--method", "key",
         "--private-key", str(keys / "sign.pem")],
        ["attest", "--model", str(model), "--results", str(results),
         "--data-digest", digests["data_digest"], "--attestation-out", str(attestation),
         "--eps", EPS, "--private-key", str(keys / "sign.pem"), *THRESHOLDS],
        ["gate", "--model", str(model), "--signature", str(signature), "--results", str(results),
         "--attestation", str(attestation), "--test-data", str(test),
         "--test-data-digest", digests["test_data_digest"],
         "--approval-key", str(keys / "gate.pem"), "--decision-out", str(root / "decision.json"),
         "--approval-out", str(approval), "--public-key", str(keys / "sign.pub"),
         "--gate-seed", "0", *THRESHOLDS],
    ]  # fmt: skip
    for argv in steps:
        assert main(argv) == 0, (argv[0], capsys.readouterr())
    decision = json.loads((root / "decision.json").read_text())
    assert decision[C.DECISION] == C.DECISION_APPROVED
    return SignedModel(
        model_dir=model, signature=signature, public_key=keys / "sign.pub",
        private_key=keys / "sign.pem", digest="", test_split=test, train_split=test,
        attestation=attestation, approval=approval, approval_public_key=keys / "gate.pub",
    )  # fmt: skip


def _serves_and_refuses_tampered(
    signed: SignedModel, user_model: Path, tmp_path: Path, request
) -> None:
    """v1 and v2 answer with the model's probabilities; a changed weight never serves."""
    x = np.load(user_model / "eval.npz")["x"][:4]
    expected = np.load(user_model / "expected.npy")
    server = request.getfixturevalue("start_predictor")(signed, tmp_path / "serve")
    try:
        status, v1 = server.client.predict_v1(x)
        assert status == 200, v1
        np.testing.assert_allclose(v1["predictions"], expected, atol=1e-4)
        body = {
            "inputs": [
                {"name": "input-0", "shape": list(x.shape), "datatype": "FP32",
                 "data": x.ravel().tolist()}
            ]
        }  # fmt: skip
        status, v2 = server.client.post_json(f"/v2/models/{MODEL_NAME}/infer", body)
        assert status == 200, v2
        (out,) = v2["outputs"]
        np.testing.assert_allclose(np.reshape(out["data"], out["shape"]), expected, atol=1e-4)
        assert "mlsecops_predictor_model_info{" in server.client.metrics()
    finally:
        assert server.stop() == 0
    log = server.log.read_text()
    assert "no calibrated squeezing threshold" in log and "input-drift score is not" in log

    data = next(signed.model_dir.glob(f"{C.SAVEDMODEL_VERSION_DIR}/variables/variables.data-*"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    argv = request.getfixturevalue("serve_argv")(signed, request.getfixturevalue("unused_port"))
    env = request.getfixturevalue("predictor_env")(tmp_path)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert "files changed: 1/variables/variables.data" in line and "not serving it" in line


def test_a_plain_savedmodel_without_provenance_is_served_and_refused_tampered(
    user_model, tmp_path, capsys, request
):
    model = tmp_path / "model"
    shutil.copytree(user_model / "plain", model)
    assert [p.name for p in model.iterdir()] == [C.SAVEDMODEL_VERSION_DIR]
    test, digests = _validate(user_model / "eval.npz", tmp_path, capsys)
    # Keras' export leaves an empty assets/ folder, which no digest covers: the steps say so
    argv = ["attack", "--model", str(model), "--data", str(test), "--eps", EPS]
    argv += ["--json", str(tmp_path / "refused.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "'1/assets/' is an empty folder (outside every digest); remove it" in err
    (model / C.SAVEDMODEL_VERSION_DIR / "assets").rmdir()
    signed = _release(model, test, digests, tmp_path, capsys)
    _serves_and_refuses_tampered(signed, user_model, tmp_path, request)


def test_a_plain_keras_file_is_imported_served_and_refused_tampered(
    user_model, tmp_path, capsys, request
):
    test, digests = _validate(user_model / "eval.npz", tmp_path, capsys)
    model = tmp_path / "model"
    argv = ["import-model", "--model", str(user_model / "classifier.keras")]
    argv += ["--test-data", str(test), "--model-out", str(model)]
    assert main(argv) == 0, capsys.readouterr()
    (model / C.PROVENANCE_FILE).unlink()  # served without it: the attested range is used
    signed = _release(model, test, digests, tmp_path, capsys)
    _serves_and_refuses_tampered(signed, user_model, tmp_path, request)


def test_a_provenance_range_that_differs_from_the_tested_one_is_refused(user_model, tmp_path):
    from kfp_mlsecops.errors import InvalidInputError
    from kfp_mlsecops.serving.inference import load_for_serving

    model = tmp_path / "model"
    shutil.copytree(user_model / "plain", model)
    (model / C.SAVEDMODEL_VERSION_DIR / "assets").rmdir()
    (model / C.PROVENANCE_FILE).write_text('{"input_range": {"lower": 0, "upper": 255}}')
    with pytest.raises(InvalidInputError, match=r"differs from the range the model was attack"):
        load_for_serving(model, input_range=(0.0, 1.0), model_output="logits", threads=None)
    loaded = load_for_serving(model, input_range=(0.0, 255.0), model_output="logits", threads=None)
    assert loaded.spec.upper == 255.0
