"""A real predictor process on a loopback port: v1/v2, bad input, metrics, drift, shutdown."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.serving import metric_names as n

pytestmark = pytest.mark.slow

V1 = "/v1/models/digits:predict"
V2 = "/v2/models/digits/infer"


@pytest.fixture(scope="module")
def server(launch_predictor, tmp_path_factory, signed_digits_model):
    """One verified predictor for this module: signature, attestation and approval verified,
    drift window 64 with a score after 8 instances.

    Teardown checks the shutdown: SIGTERM exits 0 and the private model copy is gone.
    """
    folder = tmp_path_factory.mktemp("server")
    m = signed_digits_model
    running = launch_predictor(
        folder,
        "--expected-digest",
        m.digest,
        "--drift-window",
        "64",
        "--drift-min-samples",
        "8",
    )
    assert list(folder.glob("mlsecops-predictor-*")), "no private verified copy while serving"
    yield running
    assert running.stop() == 0, running.log.read_text()[-3000:]
    assert not list(folder.glob("mlsecops-predictor-*"))


@pytest.fixture(scope="module")
def client(server):
    return server.client


@pytest.fixture(scope="module")
def test_digits(signed_digits_model):
    split = load_split(signed_digits_model.test_split)
    return split.x, split.y


def _sample(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(4))
    return total


def _settled(client, timeout: float = 20.0) -> str:
    """Poll /metrics (bounded) until the signal worker has handled every predicted instance.

    Drift and squeeze scores are recorded asynchronously; with every instance squeezed, the
    worker is idle when squeezed + skipped equals the instances predicted.
    """
    deadline = time.monotonic() + timeout
    while True:
        text = client.metrics()
        handled = _sample(text, f"{n.SQUEEZE_SCORE}_count") + _sample(text, n.SQUEEZE_SKIPPED_TOTAL)
        if handled == _sample(text, n.PREDICTIONS_TOTAL):
            return text
        assert time.monotonic() < deadline, "the signal worker did not catch up in time"


def _v2_body(x: np.ndarray) -> dict:
    return {
        "inputs": [
            {
                "name": "inputs",
                "shape": list(x.shape),
                "datatype": "FP32",
                "data": x.ravel().tolist(),
            }
        ]
    }


def test_listens_on_loopback_only(server):
    listening = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":  # LISTEN
            address, port = local.split(":")
            listening.add((address, int(port, 16)))
    assert ("0100007F", server.port) in listening  # 127.0.0.1
    assert ("00000000", server.port) not in listening  # not 0.0.0.0


def test_v1_and_v2_serve_the_same_correct_probabilities(client, test_digits):
    x, y = test_digits[0][:64], test_digits[1][:64]
    status, v1 = client.predict_v1(x)
    assert status == 200, v1
    p1 = np.asarray(v1["predictions"])
    assert p1.shape == (64, 10)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(p1.argmax(axis=1) == y) > 0.8
    status, v2 = client.post_json(V2, _v2_body(x))
    assert status == 200, v2
    (output,) = v2["outputs"]
    assert output["name"] == "probabilities" and output["shape"] == [64, 10]
    np.testing.assert_allclose(np.asarray(output["data"]).reshape(64, 10), p1, atol=1e-6)


GOOD_INSTANCE = np.full((8, 8, 1), 0.5).tolist()
BAD_REQUESTS = [
    # (id, path, raw body, extra headers, status, message fragment)
    ("malformed-json-v1", V1, b'{"instances": [', None, 400, "Unrecognized request format"),
    ("malformed-json-v2", V2, b'{"inputs": [', None, 422, "JSON decode error"),
    ("not-json-content-type", V1, b"instances=1", {"Content-Type": "text/plain"}, 400, "JSON"),
    ("json-list", V1, b"[1, 2, 3]", None, 400, "JSON list"),
    ("no-instances", V1, b'{"rows": []}', None, 400, 'no "instances"'),
    (
        "wrong-shape-v1",
        V1,
        json.dumps({"instances": [[0.5] * 64]}).encode(),
        None,
        400,
        "(8, 8, 1)",
    ),
    (
        "wrong-shape-v2",
        V2,
        json.dumps(
            {"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}
        ).encode(),
        None,
        400,
        "does not match [N, 8, 8, 1]",
    ),
    (
        "ragged",
        V1,
        json.dumps({"instances": [GOOD_INSTANCE, [[0.5]]]}).encode(),
        None,
        400,
        "same shape",
    ),
    ("nan-literal", V1, b'{"instances": [[[[NaN]]]]}', None, 400, "Unrecognized request format"),
    (
        "nan-string",
        V1,
        json.dumps({"instances": [[[["NaN"]] * 8] * 8]}).encode(),
        None,
        400,
        "strings",
    ),
    (
        "overflow",
        V1,
        json.dumps({"instances": [[[[1e300]] * 8] * 8]}).encode(),
        None,
        400,
        "beyond float32",
    ),
    (
        "out-of-range",
        V1,
        json.dumps({"instances": [[[[7.0]] * 8] * 8]}).encode(),
        None,
        400,
        "input range [0, 1]",
    ),
    (
        "wrong-dtype-v2",
        V2,
        json.dumps(
            {
                "inputs": [
                    {"name": "x", "shape": [1, 8, 8, 1], "datatype": "INT64", "data": [0] * 64}
                ]
            }
        ).encode(),
        None,
        400,
        "datatype 'INT64' is not accepted",
    ),
    (
        "booleans",
        V1,
        json.dumps({"instances": [[[[True]] * 8] * 8]}).encode(),
        None,
        400,
        "booleans",
    ),
    ("unknown-model", "/v1/models/nope:predict", b'{"instances": []}', None, 404, "nope"),
]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "fragment"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_input_gets_a_clear_4xx_and_the_server_stays_healthy(
    client, test_digits, path, body, headers, status, fragment
):
    got, answer = client.request("POST", path, body, headers)
    assert got == status, answer
    text = answer["error"] if isinstance(answer, dict) and "error" in answer else json.dumps(answer)
    assert fragment in text
    assert client.ready()
    ok, _ = client.predict_v1(test_digits[0][:2])
    assert ok == 200


def test_v2_metadata_describes_the_tensors_and_rejections_log_one_line(client, server):
    status, meta = client.request("GET", "/v2/models/digits")
    assert status == 200
    assert meta["inputs"] == [{"name": "inputs", "datatype": "FP32", "shape": [-1, 8, 8, 1]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
    marker = "no-traceback-marker"
    assert client.post_json(V1, {"instances": [[[[marker]]]]})[0] == 400
    log = server.log.read_text()
    assert "rejected request" in log
    assert "Traceback" not in log


def test_huge_payloads_are_refused_before_parsing(client, test_digits):
    huge = b'{"instances": [' + b"0," * (3 * 1024 * 1024) + b"0]}"
    status, answer = client.request("POST", V1, huge)
    assert status == 413 and "4194304-byte limit" in answer["error"]
    chunks = (huge[i : i + 65536] for i in range(0, len(huge), 65536))
    status, answer = client.request("POST", V2, chunks, chunked=True)
    assert status == 413 and "limit" in answer["error"]
    assert client.ready()
    assert client.predict_v1(test_digits[0][:1])[0] == 200


def test_model_repository_api_is_disabled(client):
    status, answer = client.request("POST", "/v2/repository/models/digits/unload", b"")
    assert status == 403 and "disabled" in answer["error"]
    assert client.ready()


def test_every_documented_metric_is_exported_and_counts_what_happened(
    client, test_digits, signed_digits_model
):
    x = test_digits[0][:16]
    before = _settled(client)
    assert client.predict_v1(x)[0] == 200
    assert client.request("POST", V1, b"[]")[0] == 400
    after = _settled(client)
    exported = {line.split("{")[0].split(" ")[0] for line in after.splitlines() if line[:1] != "#"}
    missing = n.exported_series_names() - exported
    assert not missing, f"documented but not exported: {sorted(missing)}"
    assert _sample(after, n.PREDICTIONS_TOTAL, model="digits") - _sample(
        before, n.PREDICTIONS_TOTAL, model="digits"
    ) == pytest.approx(16)
    assert _sample(after, f"{n.SQUEEZE_SCORE}_count") - _sample(
        before, f"{n.SQUEEZE_SCORE}_count"
    ) == pytest.approx(16)
    for code in ("200", "400"):
        delta = _sample(after, n.REQUESTS_TOTAL, protocol="v1", code=code) - _sample(
            before, n.REQUESTS_TOTAL, protocol="v1", code=code
        )
        assert delta == pytest.approx(1)
    assert _sample(after, n.MODEL_INFO, digest=signed_digits_model.digest) == 1.0


def test_drift_score_stays_low_on_test_digits_and_rises_on_inverted_ones(client, test_digits):
    x = test_digits[0][:64]  # the server's drift window is 64 instances

    def after_predicting(batch) -> float:
        assert client.predict_v1(batch)[0] == 200
        return _sample(_settled(client), n.INPUT_DRIFT_SCORE, model="digits")

    same = after_predicting(x)
    inverted = after_predicting(1.0 - x)
    assert same < 0.3 < 1.0 < inverted
