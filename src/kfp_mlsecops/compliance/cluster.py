"""Read access to one cluster namespace for the cluster controls (``mlsecops check --namespace``).

All Kubernetes API traffic of ``mlsecops check`` goes through :class:`Cluster`: it loads the
kube config on first use (``--kubeconfig``/``--context``, else in-cluster, else ``$KUBECONFIG``
or ``~/.kube/config``), lists custom objects and asks the API server's own authorizer
(SubjectAccessReview) what a service account may do. Every failure -- no usable config, an
unreachable server, 401/403, a CRD that is not installed -- is a one-line :class:`ClusterError`,
so the control that needed the answer fails with that reason (fail closed).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_mlsecops._io import one_line
from kfp_mlsecops.errors import MLSecOpsError

__all__ = ["Access", "Cluster", "ClusterError"]

#: (connect, read) seconds per API call: an unreachable server fails the control, never hangs.
_TIMEOUT = (10, 30)
#: HTTP 429 (the API server's priority and fairness shedding load): the calls are reads and access
#: reviews, so they are repeated, waiting as Retry-After says (at most _MAX_WAIT_S each), up to
#: _THROTTLE_RETRIES times; then the control fails as for any other API error.
_THROTTLE_RETRIES = 5
_MAX_WAIT_S = 5.0


class ClusterError(MLSecOpsError):
    """The namespace could not be read through the Kubernetes API (one line, names the fix)."""


@dataclass(frozen=True)
class Access:
    """The authorizer's answer for one request: allowed or not, and why (RBAC's reason)."""

    allowed: bool
    reason: str


@dataclass
class Cluster:
    """One namespace behind a kube config; the API client is made on first use.

    Args:
        namespace: the namespace the cluster controls judge.
        kubeconfig: the kubeconfig file (None: in-cluster config, then ``$KUBECONFIG`` or
            ``~/.kube/config``).
        context: the kubeconfig context (None: its current context).
        api_client: a ready ``kubernetes.client.ApiClient`` (tests); skips loading a config.

    """

    namespace: str
    kubeconfig: Path | None = None
    context: str | None = None
    api_client: Any = None
    _cache: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def where(self) -> str:
        """``namespace NS`` plus the context, for messages."""
        return f"namespace {self.namespace}" + (
            f" (context {self.context})" if self.context else ""
        )

    def client(self) -> Any:
        """Return the ``kubernetes.client.ApiClient`` (ClusterError without a usable config)."""
        if self.api_client is None:
            self.api_client = self._load_client()
        return self.api_client

    def custom_objects(self, group: str, version: str, plural: str) -> list[dict[str, Any]]:
        """Return every ``plural.group`` object in the namespace (cached per instance).

        A 404 means the CustomResourceDefinition is not installed: ClusterError naming it.
        """
        key = (group, version, plural)
        if key not in self._cache:
            from kubernetes import client

            api = client.CustomObjectsApi(self.client())
            answer = self._call(
                f"list {plural}.{group}/{version}",
                lambda: api.list_namespaced_custom_object(
                    group, version, self.namespace, plural, _request_timeout=_TIMEOUT
                ),
                not_found=f"{plural}.{group}/{version} is not served: its CRD is not installed",
            )
            items = answer.get("items") if isinstance(answer, dict) else None
            self._cache[key] = [i for i in items or [] if isinstance(i, dict)]
        found: list[dict[str, Any]] = self._cache[key]
        return found

    def may(
        self,
        user: str,
        groups: list[str],
        *,
        verb: str,
        group: str,
        resource: str,
        namespace: str | None,
    ) -> Access:
        """Ask the API server whether ``user`` may ``verb`` ``resource`` (SubjectAccessReview).

        ``resource`` may name a subresource (``pods/exec``); ``namespace`` None is cluster scope.
        """
        from kubernetes import client

        name, _, subresource = resource.partition("/")
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user,
                groups=groups,
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb,
                    group=group,
                    resource=name,
                    subresource=subresource or None,
                    namespace=namespace,
                ),
            )
        )
        api = client.AuthorizationV1Api(self.client())
        answer = self._call(
            "create subjectaccessreviews.authorization.k8s.io",
            lambda: api.create_subject_access_review(review, _request_timeout=_TIMEOUT),
            not_found="SubjectAccessReview (authorization.k8s.io/v1) is not served",
        )
        status = answer.status
        return Access(bool(status.allowed), one_line(status.reason or "", 300))

    def _call(self, what: str, call: Any, *, not_found: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        for attempt in range(_THROTTLE_RETRIES + 1):
            try:
                return self._call_once(what, call, not_found=not_found)
            except ApiException as e:  # only 429 gets here
                if attempt == _THROTTLE_RETRIES:
                    raise ClusterError(
                        f"{self.where}: {what} still throttled after {_THROTTLE_RETRIES} retries "
                        "(HTTP 429 Too Many Requests); check the API server's load"
                    ) from None
                time.sleep(_retry_after(e))
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, what: str, call: Any, *, not_found: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return call()
        except ApiException as e:
            if e.status == 429:
                raise
            if e.status == 404:
                raise ClusterError(f"{self.where}: {not_found}") from None
            if e.status in (401, 403):
                raise ClusterError(
                    f"{self.where}: {what} refused (HTTP {e.status} {e.reason or ''}); the "
                    "kubeconfig user needs read access to it and create on "
                    "subjectaccessreviews.authorization.k8s.io"
                ) from None
            raise ClusterError(
                f"{self.where}: {what} failed (HTTP {e.status} {e.reason or ''}); check the "
                "API server"
            ) from None
        except Exception as e:  # noqa: BLE001 - urllib3/ssl/socket errors: unreachable server
            host = getattr(getattr(self.api_client, "configuration", None), "host", "?")
            raise ClusterError(
                f"{self.where}: cannot reach the Kubernetes API at {host} ({type(e).__name__}: "
                f"{one_line(e, 160)}); check --kubeconfig/--context and the network"
            ) from None

    def _load_client(self) -> Any:
        from kubernetes import client, config

        configuration = client.Configuration()
        if self.kubeconfig is None and self.context is None:
            try:
                config.load_incluster_config(client_configuration=configuration)
                configuration.retries = 0
                return client.ApiClient(configuration)
            except config.ConfigException:
                pass
        # Read $KUBECONFIG now: the client library only reads it once, when first imported.
        path = str(self.kubeconfig) if self.kubeconfig else os.environ.get("KUBECONFIG") or None
        try:
            config.load_kube_config(
                config_file=path, context=self.context, client_configuration=configuration
            )
        except Exception as e:  # noqa: BLE001 - ConfigException, YAML, OSError: all mean unusable
            raise ClusterError(
                f"no usable kube config ({path or '~/.kube/config'}"
                + (f", context {self.context}" if self.context else "")
                + f": {type(e).__name__}: {one_line(e, 200)}); pass --kubeconfig FILE "
                "[--context CTX] or run inside the cluster"
            ) from None
        # One attempt per call: an unreachable server fails at once instead of retrying.
        configuration.retries = 0
        return client.ApiClient(configuration)


def _retry_after(error: Any) -> float:
    """Return the wait a 429 asks for (its Retry-After seconds), 1 s if absent, capped."""
    headers = getattr(error, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", 1))
    except (TypeError, ValueError):
        wait = 1.0
    return min(max(wait, 0.0), _MAX_WAIT_S)
