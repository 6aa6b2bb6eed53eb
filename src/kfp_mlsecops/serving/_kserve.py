"""Import KServe without letting it parse our command line.

``kserve.model_server`` parses ``sys.argv`` with its own argparse parser at import time; a
``mlsecops serve`` option that happened to prefix-match one of KServe's would be taken by it. We
hide our arguments during that import, so KServe sees only its defaults.
"""

from __future__ import annotations

import sys

_saved_argv = sys.argv
sys.argv = _saved_argv[:1]
try:
    from kserve import Model, ModelServer
    from kserve import model_server as model_server_module
    from kserve.errors import InvalidInput, ModelNotFound
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
finally:
    sys.argv = _saved_argv

__all__ = [
    "InferOutput",
    "InferRequest",
    "InferResponse",
    "InvalidInput",
    "Model",
    "ModelNotFound",
    "ModelServer",
    "model_server_module",
]
