"""A real Kubernetes API server on 127.0.0.1 for tests, as a session-scoped pytest fixture.

`start_kube_apiserver()` builds (cached) and starts `tests/infra/apiserver` -- kube-apiserver with
an embedded etcd in one process -- on a free loopback port with a self-signed certificate and a
random bearer token, waits for /readyz, installs our stand-in InferenceService CRD
(`tests/infra/apiserver/inferenceservice-crd.yaml`) and creates the namespace `mlsecops-test`.
The `kube_apiserver` fixture yields that server for the whole session and stops it afterwards.

Nothing reconciles objects here (no controllers, no KServe): tests see what the API stores.
The server process runs in its own process group; `stop()` ends the group and removes the
temp dir. If the Python process dies without stopping it, the server sees its stdin close, shuts
itself down and deletes its data (only the small server.log stays behind in the temp dir).

kube-apiserver delays creates of a custom resource by 2 s while its CRD is under 2 s old
(upstream behaviour), so the first InferenceService create of a session takes ~2 s.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import kubernetes.client
import pytest
import yaml

NAMESPACE = "mlsecops-test"
INFRA_DIR = Path(__file__).resolve().parent / "infra" / "apiserver"
CRD_PATH = INFRA_DIR / "inferenceservice-crd.yaml"

# A cold build compiles kube-apiserver from source (tens of minutes on 2 cores); a cached one
# returns at once.
BUILD_TIMEOUT_S = 3600.0
READY_TIMEOUT_S = 120.0
CRD_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
POLL_INTERVAL_S = 0.2
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


class KubeApiServerError(RuntimeError):
    """The test API server could not be built, started or set up."""


class KubeApiServer:
    """A running test API server; create it with `start_kube_apiserver()`."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        temp_dir: Path,
        log: IO[bytes],
        port: int,
        token: str,
    ) -> None:
        self._process = process
        self._log = log
        self.temp_dir = temp_dir
        self.port = port
        self.host = f"https://127.0.0.1:{port}"
        self.token = token
        self.ca_cert_path = temp_dir / "work" / "certs" / "apiserver.crt"
        self.kubeconfig_path = temp_dir / "work" / "kubeconfig"
        self.log_path = temp_dir / "server.log"
        self.namespace = NAMESPACE

    def api_client(self, *, token: str | None = None) -> kubernetes.client.ApiClient:
        """Return a new ApiClient for this server (admin token unless `token` is given)."""
        config = kubernetes.client.Configuration()
        config.host = self.host
        config.api_key = {"authorization": self.token if token is None else token}
        config.api_key_prefix = {"authorization": "Bearer"}
        config.ssl_ca_cert = str(self.ca_cert_path)
        config.verify_ssl = True
        return kubernetes.client.ApiClient(config)

    def is_running(self) -> bool:
        """Return True while the server process has not exited."""
        return self._process.poll() is None

    def log_tail(self, *, lines: int = 40) -> str:
        """Return the last `lines` lines of the server log ('' once the server is stopped)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server process group and delete the temp dir; safe to call twice."""
        _stop_process_group(self._process)
        self._log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def build_apiserver() -> Path:
    """Build the server with build.sh (a no-op when cached) and return the binary path."""
    build_sh = INFRA_DIR / "build.sh"
    # Own process group, so a timeout stops `go build` and the compilers too, not just bash.
    process = subprocess.Popen(
        ["bash", str(build_sh)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise KubeApiServerError(
            f"{build_sh}: no result after {BUILD_TIMEOUT_S:.0f} s; run it by hand to see where "
            "it stalls"
        ) from e
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise KubeApiServerError(
            f"{build_sh} failed (exit {process.returncode}); run it by hand; last output: "
            f"{stderr.strip()[-2000:]}"
        )
    binary = Path(lines[-1])
    if not os.access(binary, os.X_OK):
        raise KubeApiServerError(f"{build_sh} printed {binary}, which is not an executable file")
    return binary


def start_kube_apiserver() -> KubeApiServer:
    """Build, start and set up a test API server; the caller must call `.stop()`."""
    binary = build_apiserver()
    for attempt in range(1, START_ATTEMPTS + 1):
        server = _launch(binary)
        try:
            _wait_ready(server)
            _install_fixtures(server)
            _write_kubeconfig(server)
        except _PortTaken:
            server.stop()
            if attempt == START_ATTEMPTS:
                raise KubeApiServerError(
                    f"test API server: a free port was taken before binding {START_ATTEMPTS} "
                    "times in a row; retry"
                ) from None
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeApiServer]:
    """Yield a running test API server for the session; it is stopped even if tests fail."""
    server = start_kube_apiserver()
    try:
        yield server
    finally:
        server.stop()


class _PortTaken(Exception):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _launch(binary: Path) -> KubeApiServer:
    # temp_dir/server.log is ours; temp_dir/work (certs, keys, token, kubeconfig, etcd data) is
    # deleted by the server when it exits, even if we die without calling stop().
    temp_dir = Path(tempfile.mkdtemp(prefix="kfp-mlsecops-apiserver-"))
    work_dir = temp_dir / "work"
    work_dir.mkdir(mode=0o700)
    token = secrets.token_hex(32)
    token_file = work_dir / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = _free_port()
    log = (temp_dir / "server.log").open("wb")
    try:
        process = subprocess.Popen(
            [
                str(binary),
                f"--work-dir={work_dir}",
                "--remove-work-dir-on-exit",
                f"--secure-port={port}",
                f"--token-file={token_file}",
                "--exit-on-stdin-close",
            ],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise KubeApiServerError(f"test API server {binary}: cannot start: {e}") from e
    return KubeApiServer(process=process, temp_dir=temp_dir, log=log, port=port, token=token)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    # One SIGTERM starts kube-apiserver's graceful shutdown (a second one would make it exit at
    # once), so stdin -- whose EOF also means "stop" -- is closed only after the process is gone.
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    # Whatever is left in the group (nothing, normally) does not get a second chance.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdin is not None:
        process.stdin.close()


def _pause_or_fail(server: KubeApiServer, *, waiting_for: str) -> None:
    """Wait one poll interval; raise if the server process has exited meanwhile."""
    try:
        code = server._process.wait(timeout=POLL_INTERVAL_S)
    except subprocess.TimeoutExpired:
        return
    tail = server.log_tail()
    if "address already in use" in tail:
        raise _PortTaken
    raise KubeApiServerError(
        f"test API server exited with code {code} while waiting for {waiting_for}; "
        f"log {server.log_path} ends with:\n{tail}"
    )


def _wait_ready(server: KubeApiServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    context: ssl.SSLContext | None = None
    last = "no answer yet"
    while time.monotonic() < deadline:
        if context is None and server.ca_cert_path.is_file():
            with contextlib.suppress(ssl.SSLError):  # the file may be half-written
                context = ssl.create_default_context(cafile=str(server.ca_cert_path))
        if context is not None:
            request = urllib.request.Request(
                f"{server.host}/readyz", headers={"Authorization": f"Bearer {server.token}"}
            )
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
        _pause_or_fail(server, waiting_for="/readyz")
    raise KubeApiServerError(
        f"test API server on {server.host} not ready after {READY_TIMEOUT_S:.0f} s "
        f"(last /readyz: {last}); log {server.log_path} ends with:\n{server.log_tail()}"
    )


def _install_fixtures(server: KubeApiServer) -> None:
    crd: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    with server.api_client() as client:
        kubernetes.client.ApiextensionsV1Api(client).create_custom_resource_definition(body=crd)
        kubernetes.client.CoreV1Api(client).create_namespace(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        )
        _wait_established(server, client, name=crd["metadata"]["name"])


def _wait_established(
    server: KubeApiServer, client: kubernetes.client.ApiClient, *, name: str
) -> None:
    # Read through the generic custom-objects path: it returns a plain dict, so a status that the
    # typed CRD model finds incomplete cannot break the poll.
    objects = kubernetes.client.CustomObjectsApi(client)
    deadline = time.monotonic() + CRD_TIMEOUT_S
    conditions: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        crd = objects.get_cluster_custom_object(
            group="apiextensions.k8s.io",
            version="v1",
            plural="customresourcedefinitions",
            name=name,
        )
        # A just-created CRD has "status": {"conditions": null, ...}.
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return
        _pause_or_fail(server, waiting_for=f"CRD {name} to be Established")
    raise KubeApiServerError(
        f"CRD {name} ({CRD_PATH}) not Established after {CRD_TIMEOUT_S:.0f} s; "
        f"conditions: {conditions}"
    )


def _write_kubeconfig(server: KubeApiServer) -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "mlsecops-test",
                "cluster": {
                    "server": server.host,
                    "certificate-authority": str(server.ca_cert_path),
                },
            }
        ],
        "users": [{"name": "mlsecops-test-admin", "user": {"token": server.token}}],
        "contexts": [
            {
                "name": "mlsecops-test",
                "context": {
                    "cluster": "mlsecops-test",
                    "user": "mlsecops-test-admin",
                    "namespace": NAMESPACE,
                },
            }
        ],
        "current-context": "mlsecops-test",
    }
    fd = os.open(server.kubeconfig_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(kubeconfig, f, sort_keys=False)
