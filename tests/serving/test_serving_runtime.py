"""The verified runtime in-process, with the real trained model: signals and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _served import approved_policy, signed_model_of
from prometheus_client import CollectorRegistry

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.serving import (
    MonitorSettings,
    VerifiedModelRuntime,
    calibrate_squeezing,
)
from kfp_mlsecops.serving import metric_names as n
from kfp_mlsecops.signing import VerificationConfig

pytestmark = pytest.mark.slow


def _runtime(model, public_key=None, registry=None, **settings):
    """The runtime for a released model (``public_key`` overrides the trusted model key)."""
    trust = VerificationConfig().use_key(public_key_path=public_key or model.public_key)
    return VerifiedModelRuntime(
        "digits",
        model_dir=model.model_dir,
        policy=approved_policy(model, verification=trust),
        settings=MonitorSettings(**settings),
        registry=registry or CollectorRegistry(),
    )


def _value(registry, name, **labels) -> float:
    return registry.get_sample_value(name, {"model": "digits", **labels}) or 0.0


def _fgsm(model_dir, x, y, epsilon):
    """FGSM on the served SavedModel (the project's own attack)."""
    from kfp_mlsecops.attacks.fgsm import FGSM
    from kfp_mlsecops.servable import load_servable

    _, clipped, _ = FGSM()(load_servable(model_dir), x, y, epsilons=[epsilon], lower=0.0, upper=1.0)
    return clipped[0]


def test_squeezing_flags_fgsm_inputs_far_more_often_than_clean_ones(signed_digits_model):
    m = signed_digits_model
    split = load_split(m.test_split)
    half = len(split.y) // 2
    probe = _runtime(m)
    probe.load()
    settings = calibrate_squeezing(
        probe._loaded().predict, split.x[:half], lower=0.0, upper=1.0, false_positive_rate=0.05
    )
    probe.close()
    registry = CollectorRegistry()
    runtime = _runtime(
        m,
        registry=registry,
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


def test_one_pass_squeezing_flags_exactly_what_separate_model_calls_flag(signed_digits_model):
    """The squeezed copies ride in later requests' model calls (16 rows at a time): same
    scores, same detection rate on FGSM inputs and same false-positive rate on clean reference
    data as two separate calls."""
    m = signed_digits_model
    split = load_split(m.test_split)
    registry = CollectorRegistry()
    runtime = _runtime(m, registry=registry)
    runtime.load()
    predict, squeezer = runtime._loaded().predict, runtime.squeezer
    clean = split.x
    adversarial = _fgsm(m.model_dir, clean, split.y, 0.1)
    flagged = {}
    for name, x in (("clean", clean), ("fgsm", adversarial)):
        before = _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL)
        served = np.concatenate([runtime.predict(x[i : i + 7]) for i in range(0, len(x), 7)])
        assert runtime.flush(30)
        flagged[name] = _value(registry, n.SUSPECTED_ADVERSARIAL_TOTAL) - before
        # the reference: the input and its squeezed copy through the model separately
        alone = predict(x)
        (squeezed,) = squeezer.squeeze(x)
        reference = np.abs(alone - predict(squeezed)).sum(axis=1)
        np.testing.assert_allclose(served, alone, atol=1e-5)
        _, one_call = squeezer.scores(predict, x)
        np.testing.assert_allclose(one_call, reference, atol=1e-5)
        near = np.abs(reference - squeezer.threshold) < 1e-5  # float noise may tip only these
        expected = int(np.sum(reference > squeezer.threshold))
        assert abs(flagged[name] - expected) <= int(near.sum()), (name, flagged[name], expected)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 2 * len(clean)
    runtime.close()
    assert flagged["fgsm"] > flagged["clean"]  # the signal is there at all


def test_squeeze_every_n_squeezes_one_instance_in_n_across_requests(signed_digits_model):
    registry = CollectorRegistry()
    runtime = _runtime(signed_digits_model, registry=registry, squeeze_every=3)
    runtime.load()
    x = load_split(signed_digits_model.test_split).x
    for size in (2, 2, 5, 1, 1):  # 11 instances: numbers 0, 3, 6 and 9 are squeezed
        runtime.predict(x[:size])
    assert runtime.flush(30)
    assert _value(registry, f"{n.SQUEEZE_SCORE}_count") == 4
    runtime.close()


def test_runtime_exports_digest_and_uses_calibration_saved_with_the_model(fresh_release):
    stats_path = fresh_release.model / C.REFERENCE_STATS_FILE
    stats = json.loads(stats_path.read_text())
    stats["squeezing"] = {"bits": 4, "median_window": 2, "threshold": 0.05}
    stats_path.write_text(json.dumps(stats))
    m = signed_model_of(fresh_release.reissue())
    digest = m.digest
    registry = CollectorRegistry()
    runtime = _runtime(m, registry=registry, squeeze_threshold=0.3)
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


def test_a_model_without_reference_stats_serves_without_a_drift_score(fresh_release):
    (fresh_release.model / C.REFERENCE_STATS_FILE).unlink()
    runtime = _runtime(signed_model_of(fresh_release.reissue()))
    runtime.load()
    assert runtime.ready and not runtime.drift_enabled
    runtime.close()


def test_unverified_predictor_is_never_ready_and_is_refused_by_serve(
    signed_digits_model, other_public_key
):
    from kfp_mlsecops.serving import VerifiedPredictor, serve

    m = signed_digits_model
    predictor = VerifiedPredictor(_runtime(m, other_public_key))
    with pytest.raises(VerificationError, match="does not verify"):
        predictor.load()
    predictor.start()  # KServe calls start(); it must not flip readiness
    assert predictor.ready is False
    with pytest.raises(VerificationError, match="refusing to serve"):
        serve(predictor, port=1)
