"""Push samples to a Prometheus Pushgateway as one group (job, pipeline, run id, component).

A push is a PUT: it replaces every metric the group held before, so a retried step never leaves
stale series of its previous attempt. Credentials in the URL (``http://user:pass@host:9091``) are
sent as HTTP basic auth and never appear in messages; :func:`redact_url` shows a URL safely.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
from collections.abc import Callable, Iterable
from urllib.parse import SplitResult, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler

from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError
from kfp_mlsecops.monitoring import names as n
from kfp_mlsecops.monitoring.samples import Sample, check_label_value

__all__ = ["build_registry", "push_samples", "redact_url", "resolve_pushgateway"]

#: Seconds a push may take before it is abandoned (the step is never held up longer).
DEFAULT_TIMEOUT_S = 10.0

Handler = Callable[..., Callable[[], None]]


def resolve_pushgateway(url: str | None) -> str | None:
    """Return ``url``, or ``$MLSECOPS_PUSHGATEWAY_URL`` when ``url`` is None; None means off.

    An empty or blank value (either source) turns pushing off.
    """
    value = os.environ.get(n.PUSHGATEWAY_URL_ENV) if url is None else url
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def redact_url(url: str) -> str:
    """Return ``url`` without user info, query or fragment (safe to log)."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def build_registry(samples: Iterable[Sample]) -> CollectorRegistry:
    """Return a fresh registry holding ``samples`` as gauges; InvalidInputError on a duplicate."""
    registry = CollectorRegistry(auto_describe=True)
    gauges: dict[str, Gauge] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for sample in samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key in seen:
            raise InvalidInputError(
                f"metric {sample.name}{dict(key[1])} was recorded twice; record it once per step"
            )
        seen.add(key)
        spec = n.PIPELINE_METRICS[sample.name]
        gauge = gauges.get(sample.name)
        if gauge is None:
            gauge = Gauge(sample.name, spec.help, spec.labels, registry=registry)
            gauges[sample.name] = gauge
        if spec.labels:
            gauge.labels(**sample.labels).set(sample.value)
        else:
            gauge.set(sample.value)
    return registry


def push_samples(
    samples: Iterable[Sample],
    *,
    gateway: str,
    pipeline: str,
    run_id: str,
    component: str,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Replace the group (job, ``pipeline``, ``run_id``, ``component``) with ``samples``.

    Raises InvalidInputError for a bad URL, grouping key or sample set, and MLSecOpsError when the
    Pushgateway cannot be reached or refuses the push. :func:`record_step` catches both.
    """
    grouping = {
        n.LABEL_PIPELINE: check_label_value(pipeline, what="pipeline"),
        n.LABEL_RUN_ID: check_label_value(run_id, what="run id"),
        n.LABEL_COMPONENT: check_label_value(component, what="component"),
    }
    target, handler = _target(gateway)
    registry = build_registry(samples)
    try:
        push_to_gateway(
            target,
            job=n.JOB,
            registry=registry,
            grouping_key=grouping,
            timeout=timeout,
            handler=handler,
        )
    except urllib.error.HTTPError as e:
        body = _error_body(e)
        raise MLSecOpsError(
            f"Pushgateway {redact_url(gateway)} refused the push: HTTP {e.code}{body}"
        ) from e
    except (OSError, http.client.HTTPException, ValueError) as e:
        reason = " ".join(str(getattr(e, "reason", e) or type(e).__name__).split())[:200]
        raise MLSecOpsError(
            f"Pushgateway {redact_url(gateway)} unreachable ({type(e).__name__}: {reason}); "
            f"check {n.PUSHGATEWAY_URL_ENV} or the pushgateway_url parameter"
        ) from e


def _target(gateway: str) -> tuple[str, Handler]:
    """Return the URL to push to (without credentials) and the handler that sends them."""
    if not isinstance(gateway, str) or not gateway.strip():
        raise InvalidInputError("Pushgateway URL is empty; pass e.g. http://pushgateway:9091")
    raw = gateway.strip()
    try:
        parts: SplitResult = urlsplit(raw if "://" in raw else f"http://{raw}")
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise InvalidInputError(
            f"Pushgateway URL {redact_url(raw)}: not a URL ({e}); pass e.g. http://host:9091"
        ) from e
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise InvalidInputError(
            f"Pushgateway URL {redact_url(raw)}: use http(s)://host[:port][/path] without query"
        )
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    target = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if parts.username is None:
        return target, default_handler
    username, password = parts.username, parts.password or ""

    def with_basic_auth(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, username, password)

    return target, with_basic_auth


def _error_body(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read(300).decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException):
        return ""
    text = " ".join(text.split())[:200]
    return f" ({text})" if text else ""
