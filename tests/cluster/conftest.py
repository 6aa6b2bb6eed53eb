"""Fixtures for the tests that need the real cluster (marker ``cluster``; `make test-cluster`).

The cluster comes from tests/infra/kind/kind-up.sh, which writes ``cluster.env`` into
$KFP_MLSECOPS_KIND_STATE (default /tmp/kfp-mlsecops-kind): the kubeconfig, kubectl, the images it
loaded and the models folder the node mounts. Without it every test here fails with the command
to run. Each test module works in namespaces of its own and deletes them afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cluster import Cluster, PortForward, demo_artifacts

STATE = Path(os.environ.get("KFP_MLSECOPS_KIND_STATE", "/tmp/kfp-mlsecops-kind"))  # noqa: S108


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The kind cluster kind-up.sh made (fails with the command to run when there is none)."""
    env_file = STATE / "cluster.env"
    if not env_file.exists():
        pytest.fail(f"no test cluster ({env_file} is missing); run `make kind-up` first")
    values = {}
    for line in env_file.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    found = Cluster(values)
    try:
        found.kubectl("get", "--raw", "/readyz")
        yield found
    finally:
        found.cleanup()


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace, deleted (and waited for) afterwards."""
    name = f"mlsecops-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=true", "--timeout=180s", check=False)
    cluster.delete_volumes(name)
    shutil.rmtree(cluster.models_dir / name, ignore_errors=True)


@pytest.fixture(scope="session")
def pushgateway(cluster: Cluster) -> Iterator[dict[str, Any]]:
    """manifests/monitoring applied in its own namespace, its Pushgateway pod Ready and forwarded.

    Offline the image is the Debian Pushgateway kind-up built (kustomize `images:` override);
    with MLSECOPS_KIND_SOURCE=public the manifest's own image is used.
    """
    name = "mlsecops-monitoring"
    cluster.kubectl("create", "namespace", name, check=False)
    overlay = cluster.overlay(
        "monitoring", namespace=name, images={"quay.io/prometheus/pushgateway": cluster.pushgateway}
    )
    cluster.kubectl("apply", "--server-side", "-k", str(overlay))
    cluster.kubectl(
        "rollout", "status", "-n", name, "deployment/mlsecops-pushgateway", "--timeout=180s"
    )
    with PortForward(cluster, name, "deployment/mlsecops-pushgateway", 9091) as forward:
        yield {"namespace": name, "url": f"http://127.0.0.1:{forward.port}"}
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def demo(
    cluster: Cluster, pushgateway: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """`mlsecops run` (the demo), pushing every step's metrics to the cluster's Pushgateway."""
    out = tmp_path_factory.mktemp("demo")
    mlsecops = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "mlsecops"
    if not mlsecops.exists():
        mlsecops = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "mlsecops"
    subprocess.run(
        [str(mlsecops), "run", "--output-dir", str(out), "--pushgateway-url", pushgateway["url"]],
        check=True,
        timeout=1800,
    )
    return demo_artifacts(out)
