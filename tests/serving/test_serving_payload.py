from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving._kserve import InferRequest
from kfp_mlsecops.serving.payload import InputSpec, decode_v1, decode_v2
from kfp_mlsecops.serving.predictor import VerifiedPredictor  # noqa: F401 - import works

SPEC = InputSpec(shape=(2, 2, 1), lower=0.0, upper=1.0)
GOOD = [[[[0.0], [0.5]], [[1.0], [0.25]]]]


def v2_request(data, *, shape=(1, 2, 2, 1), datatype="FP32"):
    from kserve.protocol.rest.v2_datamodels import InferenceRequest

    body = {
        "inputs": [{"name": "inputs", "shape": list(shape), "datatype": datatype, "data": data}]
    }
    return InferRequest.from_inference_request(InferenceRequest(**body), "m")


def test_valid_v1_and_v2_payloads_decode_to_the_same_float32_batch():
    v1 = decode_v1({"instances": GOOD}, SPEC)
    v2 = decode_v2(v2_request([0.0, 0.5, 1.0, 0.25]), SPEC)
    nested = decode_v2(v2_request(GOOD), SPEC)
    assert v1.dtype == np.float32 and v1.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(v1, nested)
    ints = decode_v1({"instances": [[[[0], [1]], [[1], [0]]]]}, SPEC)
    assert ints.dtype == np.float32


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"raw bytes", "not a JSON object"),
        ([1, 2], "JSON list"),
        ({"inputs": GOOD}, 'no "instances"'),
        ({"instances": []}, "non-empty list"),
        ({"instances": [[0.1, 0.2]]}, "shape (2, 2, 1)"),
        ({"instances": [0.1]}, "scalars"),
        ({"instances": [[[[0.1], [0.2]], [[0.3]]]]}, "different lengths"),
        ({"instances": [[[["a"], ["b"]], [["c"], ["d"]]]]}, "strings"),
        ({"instances": [[[[True], [False]], [[True], [True]]]]}, "booleans"),
        ({"instances": [[[[None], [0.1]], [[0.1], [0.1]]]]}, "mixed or null"),
        ({"instances": [[[[float("nan")], [0.1]], [[0.1], [0.1]]]]}, "NaN"),
        ({"instances": [[[[1e39], [0.1]], [[0.1], [0.1]]]]}, "beyond float32"),
        ({"instances": [[[[1.5], [0.1]], [[0.1], [0.1]]]]}, "outside the model's input range"),
    ],
)
def test_bad_v1_payloads_get_one_line_reasons(body, message):
    with pytest.raises(InvalidInputError, match=None) as info:
        decode_v1(body, SPEC)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"data": [1, 0, 1, 0], "datatype": "INT32"}, "datatype 'INT32' is not accepted"),
        ({"data": ["a", "b", "c", "d"], "datatype": "BYTES"}, "not accepted"),
        ({"data": [0.1, 0.2, 0.3], "shape": (1, 3)}, "does not match [N, 2, 2, 1]"),
        ({"data": [0.1, 0.2, 0.3]}, "3 values for shape"),
        ({"data": [0.1, 0.2, float("inf"), 0.1]}, "infinite"),
        ({"data": [0.1, 0.2, -3.0, 0.1]}, "input range"),
    ],
)
def test_bad_v2_payloads_get_one_line_reasons(request_args, message):
    with pytest.raises(InvalidInputError) as info:
        decode_v2(v2_request(**request_args), SPEC)
    assert message in str(info.value)


def test_v2_binary_tensor_is_decoded_with_its_declared_datatype():
    from kserve.protocol.infer_type import InferInput

    good = np.array(GOOD, dtype=np.float32)
    tensor = InferInput("inputs", list(good.shape), "FP32")
    tensor.set_data_from_numpy(good, binary_data=True)
    request = InferRequest("m", [tensor])
    np.testing.assert_array_equal(decode_v2(request, SPEC), good)
    short = InferInput("inputs", [1, 2, 2, 1], "FP32")
    short.set_data_from_numpy(good.reshape(1, 2, 2, 1), binary_data=True)
    short._raw_data = short._raw_data[:8]  # truncated binary payload from a client
    with pytest.raises(InvalidInputError, match="binary data"):
        decode_v2(InferRequest("m", [short]), SPEC)
    with pytest.raises(InvalidInputError, match="exactly one"):
        decode_v2(InferRequest("m", [tensor, tensor]), SPEC)
