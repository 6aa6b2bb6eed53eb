"""HTTP 429 from the API server: the cluster controls wait and repeat, then fail closed.

The kube-apiserver of these tests answers 429 only under load it cannot be made to produce on
demand, so the calls here are plain functions raising the client's own ApiException as the real
client does (a stand-in for the server's answer, not for our code).
"""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from kfp_mlsecops.compliance.cluster import Cluster, ClusterError


def _throttled(times: int, answer: object, headers: dict[str, str]):
    calls = {"n": 0}

    def call() -> object:
        calls["n"] += 1
        if calls["n"] <= times:
            error = ApiException(status=429, reason="Too Many Requests")
            error.headers = headers
            raise error
        return answer

    return call, calls


def test_a_throttled_call_is_repeated_until_it_answers():
    call, calls = _throttled(3, "listed", {"Retry-After": "0"})
    cluster = Cluster(namespace="ns", api_client=object())
    assert cluster._call("list things", call, not_found="no things") == "listed"
    assert calls["n"] == 4


def test_throttling_that_does_not_end_fails_closed_naming_the_call():
    call, calls = _throttled(100, "never", {"Retry-After": "0"})
    with pytest.raises(
        ClusterError, match=r"list things still throttled after 5 retries \(HTTP 429"
    ):
        Cluster(namespace="ns", api_client=object())._call("list things", call, not_found="x")
    assert calls["n"] == 6


def test_other_api_errors_are_not_repeated():
    calls = {"n": 0}

    def call() -> object:
        calls["n"] += 1
        raise ApiException(status=500, reason="Internal Server Error")

    with pytest.raises(ClusterError, match="list things failed \\(HTTP 500"):
        Cluster(namespace="ns", api_client=object())._call("list things", call, not_found="x")
    assert calls["n"] == 1


@pytest.mark.parametrize(
    ("header", "wait"), [("2", 2.0), ("600", 5.0), ("soon", 1.0), (None, 1.0), ("-3", 0.0)]
)
def test_retry_after_is_honoured_within_bounds(header, wait):
    from kfp_mlsecops.compliance.cluster import _retry_after

    error = ApiException(status=429)
    error.headers = {} if header is None else {"Retry-After": header}
    assert _retry_after(error) == wait
