"""ASGI middleware in front of KServe's app: body-size limit, repository API off, request counts.

Pure ASGI (no per-request task or body copy when ``Content-Length`` is given), so it adds little
latency. Bodies without ``Content-Length`` (chunked) are read up to the limit, then replayed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "RequestGuard"]

#: Default limit of a request body (4 MiB ~ 3000 instances of 8x8 digits as JSON).
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Called once per answered inference request with (protocol, HTTP status).
OnResponse = Callable[[str, int], None]

_REPOSITORY_PREFIX = "/v2/repository"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: A refused body is drained (read and dropped) up to this many times the limit.
_DRAIN_FACTOR = 16


class RequestGuard:
    """Wrap an ASGI app serving ``model_name``; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        model_name: str,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        on_response: OnResponse | None = None,
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.on_response = on_response
        self._v1_path = f"/v1/models/{model_name}:predict"
        self._v2_path = f"/v2/models/{model_name}/infer"
        self._v2_prefix = f"/v2/models/{model_name}/versions/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        protocol = self._protocol(path)
        if protocol is not None and self.on_response is not None:
            send = self._counting(send, protocol, self.on_response)
        if path.startswith(_REPOSITORY_PREFIX):
            await _reply(send, 403, "the model repository API is disabled on this predictor")
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.max_request_bytes:
                await self._refuse(receive, send, length)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_request_bytes:
                more = bool(message.get("more_body", False))
                await self._refuse(receive if more else _nothing_more, send, None)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, receive: Receive, send: Send, length: int | None) -> None:
        """Answer 413 without parsing the body.

        The rest of the body is read and dropped (never kept) up to ``_DRAIN_FACTOR`` times the
        limit, so an ordinary client that sends the whole body still reads the 413 instead of a
        connection reset; bigger bodies are cut off.
        """
        budget = _DRAIN_FACTOR * self.max_request_bytes
        if length is None or length <= budget:
            drained = 0
            while drained <= budget:
                message = await receive()
                if message["type"] != "http.request":
                    return
                drained += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        await _reply(send, 413, self._too_large(length))

    def _protocol(self, path: str) -> str | None:
        if path == self._v1_path:
            return "v1"
        if path == self._v2_path or (path.startswith(self._v2_prefix) and path.endswith("/infer")):
            return "v2"
        return None

    def _too_large(self, length: int | None) -> str:
        size = f" ({length} bytes)" if length is not None else ""
        return (
            f"request body{size} exceeds the {self.max_request_bytes}-byte limit; "
            "send fewer instances per request"
        )

    @staticmethod
    def _counting(send: Send, protocol: str, on_response: OnResponse) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                on_response(protocol, int(message["status"]))
            await send(message)

        return wrapped


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server rejects a malformed header before we see it
    return None


async def _nothing_more() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
