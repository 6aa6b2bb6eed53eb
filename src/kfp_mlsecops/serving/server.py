"""Run KServe's ModelServer for a verified predictor on a chosen host (loopback by default)."""

from __future__ import annotations

import logging
from typing import Any

from kfp_mlsecops._io import first_line
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.serving._kserve import (
    InvalidInput,
    ModelNotFound,
    ModelServer,
    model_server_module,
)
from kfp_mlsecops.serving.predictor import VerifiedPredictor
from kfp_mlsecops.serving.request_guard import DEFAULT_MAX_REQUEST_BYTES, RequestGuard

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "loopback_model_server", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
_MIN_REQUEST_BYTES = 1024
_log = logging.getLogger(__name__)


class _HostModelServer(ModelServer):
    """KServe's ModelServer, unchanged except that its REST listener binds ``host``.

    KServe 0.21 hard-codes ``0.0.0.0``; the REST server exists once ``start()`` built it and is
    configured in ``setup_event_loop()``, right before uvicorn binds. If KServe's internals move,
    we refuse to start rather than listen on every interface.
    """

    def __init__(self, *, host: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listen_host = host

    def setup_event_loop(self) -> None:
        rest = getattr(self, "_rest_server", None)
        config = getattr(rest, "config", None)
        if config is None or not hasattr(config, "host"):
            raise RuntimeError(
                "this KServe version does not expose its REST server config; refusing to bind "
                "0.0.0.0 (pin kserve 0.21)"
            )
        config.host = self.listen_host
        super().setup_event_loop()


class _ClientErrorsWithoutTraceback(logging.Filter):
    """Log rejected requests as one WARNING line instead of an ERROR with a traceback.

    KServe logs every 400 and 404 with a full traceback; a client sending bad payloads would
    flood the log. Server errors (5xx) keep their tracebacks.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, (InvalidInput, ModelNotFound)):
            record.msg, record.args = "rejected request: %s", (first_line(error, 300),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def loopback_model_server(*, port: int, host: str = DEFAULT_HOST) -> Any:
    """Return a stock KServe ModelServer (REST only, one worker, no per-request log) on ``host``."""
    _check_listen(host, port)
    return _HostModelServer(
        host=host,
        http_port=port,
        enable_grpc=False,
        workers=1,
        enable_docs_url=False,
        enable_latency_logging=False,
    )


def serve(
    predictor: VerifiedPredictor,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> None:
    """Serve ``predictor`` (already loaded) until SIGTERM/SIGINT; blocks.

    Adds :class:`~.request_guard.RequestGuard` (body limit, repository API off, request counts) in
    front of KServe's app. Refuses a predictor that is not verified and loaded.
    """
    if not predictor.ready or not predictor.runtime.ready:
        raise VerificationError(
            f"model '{predictor.name}': not verified and loaded; refusing to serve it"
        )
    if isinstance(max_request_bytes, bool) or not (
        isinstance(max_request_bytes, int) and max_request_bytes >= _MIN_REQUEST_BYTES
    ):
        raise InvalidInputError(
            f"max_request_bytes={max_request_bytes!r}: must be an integer >= {_MIN_REQUEST_BYTES}"
        )
    server = loopback_model_server(port=port, host=host)
    kserve_logger = logging.getLogger("kserve")
    if not any(isinstance(f, _ClientErrorsWithoutTraceback) for f in kserve_logger.filters):
        kserve_logger.addFilter(_ClientErrorsWithoutTraceback())
    model_server_module.app.add_middleware(
        RequestGuard,
        model_name=predictor.name,
        max_request_bytes=max_request_bytes,
        on_response=predictor.runtime.metrics.record_request,
    )
    _log.info(
        "serving verified model %s (%s) on http://%s:%d",
        predictor.name,
        predictor.runtime.digest,
        host,
        port,
    )
    server.start([predictor])


def _check_listen(host: str, port: int) -> None:
    if not isinstance(host, str) or not host.strip():
        raise InvalidInputError(f"host={host!r}: pass an address to listen on, e.g. 127.0.0.1")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInputError(f"port={port!r}: must be an integer in 1..65535")
