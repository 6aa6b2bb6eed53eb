"""The verified runtime in-process, with the real trained model: signals and refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.serving import (
    MonitorSettings,
    VerificationPolicy,
    VerifiedModelRuntime,
    calibrate_squeezing,
)
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.signing import VerificationConfig, sign_model

pytestmark = pytest.mark.slow


def _runtime(model_dir, signature, public_key, registry=None, **settings):
    return VerifiedModelRuntime(
        "digits",
        model_dir=model_dir,
        policy=VerificationPolicy(
            signature, VerificationConfig().use_key(public_key_path=public_key)
        ),
        settings=MonitorSettings(**settings),
        registry=registry or CollectorRegistry(),
    )


def _value(registry, name, **labels) -> float:
    return registry.get_sample_value(name, {"model": "digits", **labels}) or 0.0


def _fgsm(model_dir, x, y, epsilon):
    import keras
    import tensorflow as tf

    from kfp_mlsecops.training import load_model

    model = load_model(model_dir)
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = keras.losses.sparse_categorical_crossentropy(y, model(inputs))
    step = np.sign(tape.gradient(loss, inputs).numpy())
    return np.clip(x + epsilon * step, 0.0, 1.0).astype(np.float32)


def test_squeezing_flags_fgsm_inputs_far_more_often_than_clean_ones(signed_digits_model):
    m = signed_digits_model
    split = load_split(m.test_split)
    half = len(split.y) // 2
    probe = _runtime(m.model_dir, m.signature, m.public_key)
    probe.load()
    settings = calibrate_squeezing(
        probe._loaded().predict, split.x[:half], lower=0.0, upper=1.0, false_positive_rate=0.05
    )
    probe.close()
    registry = CollectorRegistry()
    runtime = _runtime(
        m.model_dir,
        m.signature,
        m.public_key,
        registry,
        squeeze_bits=settings["bits"],
        squeeze_threshold=settings["threshold"],
    )
    runtime.load()
    clean, labels = split.x[half:], split.y[half:]
    runtime.predict(clean)
    assert runtime.flush(30)
    clean_rate = _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) / len(clean)
    adversarial = _fgsm(m.model_dir, clean, labels, 0.1)
    runtime.predict(adversarial)
    assert runtime.flush(30)
    adversarial_rate = _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) / len(clean) - clean_rate
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2 * len(clean)
    runtime.close()
    assert clean_rate < 0.2
    assert adversarial_rate > clean_rate + 0.25


def test_runtime_exports_digest_and_uses_calibration_saved_with_the_model(
    signed_digits_model, tmp_path
):
    m = signed_digits_model
    model = tmp_path / "model"
    shutil.copytree(m.model_dir, model)
    stats_path = model / C.REFERENCE_STATS_FILE
    stats = json.loads(stats_path.read_text())
    stats["squeezing"] = {"bits": 4, "median_window": 2, "threshold": 0.05}
    stats_path.write_text(json.dumps(stats))
    signature = tmp_path / "model.sig"
    digest = sign_model(model, signature, private_key_path=m.private_key)
    registry = CollectorRegistry()
    runtime = _runtime(model, signature, m.public_key, registry, squeeze_threshold=0.3)
    runtime.load()
    try:
        assert runtime.ready and runtime.digest == digest and runtime.drift_enabled
        squeezer = runtime.squeezer
        assert (squeezer.bits, squeezer.median_window, squeezer.threshold) == (4, 2, 0.3)
        probabilities = runtime.predict(load_split(m.test_split).x[:4])
        assert probabilities.shape == (4, 10)
        assert runtime.flush(30)
        assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
        assert _value(registry, n.MODEL_INFO, digest=digest) == 1.0
        assert (
            sum(_value(registry, n.PREDICTIONS_TOTAL, **{"class": str(c)}) for c in range(10)) == 4
        )
    finally:
        runtime.close()
    assert not runtime.ready


def test_a_model_without_reference_stats_serves_without_a_drift_score(
    signed_digits_model, tmp_path
):
    m = signed_digits_model
    model = tmp_path / "model"
    shutil.copytree(m.model_dir, model)
    (model / C.REFERENCE_STATS_FILE).unlink()
    signature = tmp_path / "model.sig"
    sign_model(model, signature, private_key_path=m.private_key)
    runtime = _runtime(model, signature, m.public_key)
    runtime.load()
    assert runtime.ready and not runtime.drift_enabled
    runtime.close()


def test_unverified_predictor_is_never_ready_and_is_refused_by_serve(
    signed_digits_model, other_public_key
):
    from kfp_mlsecops.serving import VerifiedPredictor, serve

    m = signed_digits_model
    predictor = VerifiedPredictor(_runtime(m.model_dir, m.signature, other_public_key))
    with pytest.raises(VerificationError, match="does not verify"):
        predictor.load()
    predictor.start()  # KServe calls start(); it must not flip readiness
    assert predictor.ready is False
    with pytest.raises(VerificationError, match="refusing to serve"):
        serve(predictor, port=1)
