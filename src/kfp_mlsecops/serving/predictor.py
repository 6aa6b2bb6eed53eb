"""The KServe adapter: a ``kserve.Model`` that serves a :class:`VerifiedModelRuntime`.

Importing this module imports KServe (the ``serving`` extra). The model is ready only after
:meth:`VerifiedPredictor.load` verified and loaded it; KServe's ``start()`` hook cannot make an
unverified model ready. Bad payloads become HTTP 400 with the one-line reason.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving._kserve import (
    InferOutput,
    InferRequest,
    InferResponse,
    InvalidInput,
    Model,
)
from kfp_mlsecops.serving.payload import decode_v1, decode_v2
from kfp_mlsecops.serving.runtime import VerifiedModelRuntime

__all__ = ["VerifiedPredictor"]


class VerifiedPredictor(Model):
    """Serve a verified model over KServe's v1 and v2 REST protocols."""

    def __init__(self, runtime: VerifiedModelRuntime) -> None:
        super().__init__(runtime.name)
        self.runtime = runtime
        self.ready = False

    def load(self) -> bool:
        """Verify and load the model; raises (and stays unready) when verification fails."""
        self.ready = False
        self.runtime.load()
        self.ready = self.runtime.ready
        return bool(self.ready)

    def start(self) -> None:
        """Keep readiness tied to verification (KServe's default would set it to True)."""
        self.ready = self.runtime.ready

    def stop(self) -> None:
        """Mark unready and delete the private model copy."""
        self.ready = False
        self.runtime.close()

    def get_input_types(self) -> list[dict[str, Any]]:
        """Describe the v2 input tensor (``GET /v2/models/<name>``)."""
        spec = self.runtime.spec
        return [{"name": C.SERVING_INPUT_NAME, "datatype": "FP32", "shape": [-1, *spec.shape]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        """Describe the v2 output tensor."""
        n_classes = self.runtime.n_classes
        return [{"name": C.SERVING_OUTPUT_NAME, "datatype": "FP32", "shape": [-1, n_classes]}]

    def predict(
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Predict a v1 ``{"instances": ...}`` body or a v2 InferRequest."""
        spec = self.runtime.spec
        try:
            if isinstance(payload, InferRequest):
                batch = decode_v2(payload, spec)
            else:
                batch = decode_v1(payload, spec)
        except InvalidInputError as e:
            raise InvalidInput(str(e)) from e
        probabilities = self.runtime.predict(batch)
        if not isinstance(payload, InferRequest):
            return {"predictions": probabilities.tolist()}
        output = InferOutput(
            name=C.SERVING_OUTPUT_NAME,
            shape=list(probabilities.shape),
            datatype="FP32",
            data=np.asarray(probabilities, dtype=np.float32).ravel().tolist(),
        )
        return InferResponse(
            response_id=payload.id or str(uuid.uuid4()),
            model_name=self.name,
            infer_outputs=[output],
        )
