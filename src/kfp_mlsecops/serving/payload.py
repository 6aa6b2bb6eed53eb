"""Decode and check inference payloads (KServe v1 and v2) into one float32 batch.

Every problem raises InvalidInputError with a one-line message the client can act on; the
predictor turns it into HTTP 400. Accepted: numbers only (no strings, booleans or nulls), the
model's exact instance shape, finite values inside the model's declared input range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["V2_DATATYPES", "InputSpec", "check_batch", "decode_v1", "decode_v2"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: v2 tensor datatypes accepted (converted to float32).
V2_DATATYPES = ("FP32", "FP64")


@dataclass(frozen=True)
class InputSpec:
    """What one instance must look like: its shape and the valid value range."""

    shape: tuple[int, ...]
    lower: float
    upper: float

    def describe(self) -> str:
        """Return e.g. ``(8, 8, 1) in [0, 1]``."""
        return f"{self.shape} in [{self.lower:g}, {self.upper:g}]"


def decode_v1(body: Any, spec: InputSpec) -> np.ndarray:
    """Return the batch in a v1 body ``{"instances": [instance, ...]}``."""
    if isinstance(body, (bytes, bytearray, str)):
        raise InvalidInputError(
            "request body is not a JSON object; send JSON with Content-Type: application/json"
        )
    if not isinstance(body, dict):
        raise InvalidInputError(
            f'request body is a JSON {type(body).__name__}; send an object {{"instances": [...]}}'
        )
    if "instances" not in body:
        raise InvalidInputError(
            'request body has no "instances"; send {"instances": [instance, ...]} with each '
            f"instance shaped {spec.describe()}"
        )
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError('"instances" must be a non-empty list of instances')
    return check_batch(_numeric_array(instances, what='"instances"'), spec, what='"instances"')


def decode_v2(request: Any, spec: InputSpec) -> np.ndarray:
    """Return the batch in a v2 InferRequest with one FP32/FP64 input shaped [N, *shape]."""
    inputs = getattr(request, "inputs", None)
    if not isinstance(inputs, list) or len(inputs) != 1:
        count = len(inputs) if isinstance(inputs, list) else 0
        raise InvalidInputError(f"request has {count} input tensors; send exactly one")
    tensor = inputs[0]
    name = str(getattr(tensor, "name", ""))[:64]
    where = f"input '{name}'"
    datatype = getattr(tensor, "datatype", None)
    if datatype not in V2_DATATYPES:
        raise InvalidInputError(
            f"{where}: datatype {str(datatype)[:16]!r} is not accepted; send "
            f"{' or '.join(V2_DATATYPES)}"
        )
    shape = _tensor_shape(getattr(tensor, "shape", None), where=where)
    expected = (shape[0], *spec.shape)
    if tuple(shape) != expected:
        raise InvalidInputError(
            f"{where}: shape {list(shape)} does not match [N, {', '.join(map(str, spec.shape))}]"
        )
    data = getattr(tensor, "data", None)
    if data is None:  # binary tensor extension: the bytes already are the declared datatype
        try:
            array = np.asarray(tensor.as_numpy())
        except Exception as e:  # noqa: BLE001 - any decoding failure is the client's payload
            raise InvalidInputError(f"{where}: binary data does not match shape {shape}") from e
    else:
        array = _numeric_array(data, what=where)
        if array.size != math.prod(shape):
            raise InvalidInputError(
                f"{where}: {array.size} values for shape {list(shape)} "
                f"({math.prod(shape)} expected)"
            )
        array = array.reshape(shape)
    return check_batch(array, spec, what=where)


def check_batch(array: np.ndarray, spec: InputSpec, *, what: str) -> np.ndarray:
    """Check shape, finiteness and range of a numeric batch; return it as float32."""
    if array.ndim != 1 + len(spec.shape) or tuple(array.shape[1:]) != spec.shape:
        got = tuple(array.shape[1:]) if array.ndim > 1 else "scalars"
        raise InvalidInputError(
            f"{what}: each instance must have shape {spec.shape}, got {got}; reshape the input"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{what}: the batch is empty; send at least one instance")
    # min and max are NaN when any value is NaN and infinite when any is: one pass over the
    # batch on the usual path, the detailed count only on refusal. Taken before the cast to
    # float32, so a value that would overflow it is refused here instead.
    low, high = float(array.min()), float(array.max())
    if not (-_FLOAT32_MAX <= low and high <= _FLOAT32_MAX):  # False for NaN too
        with np.errstate(over="ignore", invalid="ignore"):
            bad = int(array.size - np.count_nonzero(np.abs(array) <= _FLOAT32_MAX))
        raise InvalidInputError(
            f"{what}: {bad} values are NaN, infinite or beyond float32; send finite numbers"
        )
    batch = array.astype(np.float32, copy=False)
    if low < spec.lower or high > spec.upper:
        raise InvalidInputError(
            f"{what}: values span [{low:g}, {high:g}], outside the model's input range "
            f"[{spec.lower:g}, {spec.upper:g}]; scale the input as in training"
        )
    return batch


def _numeric_array(data: Any, *, what: str) -> np.ndarray:
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as e:  # ragged nesting
        raise InvalidInputError(
            f"{what}: nested lists of different lengths; every instance needs the same shape"
        ) from e
    if array.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "bytes", "O": "mixed or null values"}.get(
            array.dtype.kind, f"dtype {array.dtype}"
        )
        raise InvalidInputError(f"{what}: contains {kind}; send numbers only")
    return array


def _tensor_shape(shape: Any, *, where: str) -> tuple[int, ...]:
    if not isinstance(shape, Sequence) or not shape:
        raise InvalidInputError(f"{where}: 'shape' must be a non-empty list of sizes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise InvalidInputError(f"{where}: 'shape' {list(shape)[:8]} must hold sizes >= 0")
    return tuple(int(d) for d in shape)
