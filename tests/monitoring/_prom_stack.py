"""A real Pushgateway + Prometheus on 127.0.0.1 for tests (Debian's prometheus packages).

`start_prom_stack()` starts `prometheus-pushgateway` (in-memory, no persistence file) and then
`prometheus` with a generated prometheus.yml that scrapes that Pushgateway every second with
`honor_labels: true`, on free loopback ports and with temp storage, so a Prometheus or Pushgateway
started by the packages' own service scripts (ports 9090/9091) is neither used nor disturbed.
Readiness (`/-/ready`) and every query are polled against a bounded deadline; each pause between
polls is a wait on the process, so a crashed server fails the test at once with its log tail.

Each server runs in its own process group (stopped with SIGTERM, then SIGKILL) and gets SIGKILL
from the kernel if the test process dies first (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import yaml

PROMETHEUS = "/usr/bin/prometheus"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
PROMTOOL = "/usr/bin/promtool"
INSTALL_HINT = (
    "install Debian's packages: sudo apt-get install -y --no-install-recommends prometheus "
    "prometheus-pushgateway (or run `make test-deps`)"
)

READY_TIMEOUT_S = 30.0
QUERY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
_PR_SET_PDEATHSIG = 1


class PromStackError(RuntimeError):
    """A server could not be started, or a query did not succeed in time."""


class _PortTaken(Exception):
    pass


class Server:
    """One running server process (Pushgateway or Prometheus) on a loopback port."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], log: IO[bytes], port: int):
        self.name = name
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log
        self.log_path = Path(log.name)

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pause(self, *, waiting_for: str) -> None:
        """Wait one poll interval; raise if the process exited meanwhile."""
        try:
            code = self.process.wait(timeout=POLL_INTERVAL_S)
        except subprocess.TimeoutExpired:
            return
        tail = self.log_tail()
        if "address already in use" in tail:
            raise _PortTaken
        raise PromStackError(
            f"{self.name} exited with code {code} while waiting for {waiting_for}; "
            f"log ends:\n{tail}"
        )

    def stop(self) -> None:
        """Stop the process group (SIGTERM, then SIGKILL); safe to call twice."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()


class PromStack:
    """A running Pushgateway and the Prometheus scraping it; create with `start_prom_stack()`."""

    def __init__(self, *, temp_dir: Path, pushgateway: Server, prometheus: Server) -> None:
        self.temp_dir = temp_dir
        self.pushgateway = pushgateway
        self.prometheus = prometheus
        self.pushgateway_url = pushgateway.url
        self.prometheus_url = prometheus.url

    def api(self, path: str, **params: str) -> Any:
        """GET a Prometheus HTTP API path; return its ``data`` (raises unless status is success)."""
        url = f"{self.prometheus_url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http
                body = json.load(response)
        except urllib.error.HTTPError as e:  # Prometheus explains a bad query in the body
            raise PromStackError(f"{path} {params}: HTTP {e.code}: {e.read()[:500]!r}") from e
        if body.get("status") != "success":
            raise PromStackError(f"{path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Run an instant query; return the result vector."""
        data = self.api("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(
        self,
        expr: str,
        *,
        until: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = QUERY_TIMEOUT_S,
    ) -> list[dict[str, Any]]:
        """Poll ``expr`` until ``until(result)`` holds; PromStackError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if until(result):
                return result
            self.prometheus.pause(waiting_for=f"query {expr!r}")
        raise PromStackError(f"query {expr!r} not satisfied after {timeout:.0f} s; last: {result}")

    def wait_for_alert(self, name: str, *, timeout: float = QUERY_TIMEOUT_S) -> dict[str, Any]:
        """Poll /api/v1/alerts until alert ``name`` is pending or firing; return it."""
        deadline = time.monotonic() + timeout
        alerts: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            alerts = self.api("/api/v1/alerts")["alerts"]
            hits = [a for a in alerts if a["labels"].get("alertname") == name]
            if hits:
                return hits[0]
            self.prometheus.pause(waiting_for=f"alert {name}")
        raise PromStackError(f"alert {name} not active after {timeout:.0f} s; active: {alerts}")

    def stop(self) -> None:
        """Stop both servers and delete the temp dir; safe to call twice."""
        try:
            self.prometheus.stop()
        finally:
            self.pushgateway.stop()
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def missing_binaries() -> list[str]:
    """Return the required binaries that are not installed."""
    return [b for b in (PROMETHEUS, PUSHGATEWAY, PROMTOOL) if not os.access(b, os.X_OK)]


def start_pushgateway(temp_dir: Path) -> Server:
    """Start a Pushgateway alone (in memory) with its log in ``temp_dir``; the caller stops it."""
    missing = missing_binaries()
    if missing:
        raise PromStackError(f"missing {', '.join(missing)}; {INSTALL_HINT}")
    return _start_ready(
        "pushgateway",
        lambda port: [
            PUSHGATEWAY,
            f"--web.listen-address=127.0.0.1:{port}",
            "--persistence.file=",
            "--log.level=warn",
        ],
        temp_dir,
    )


def start_prom_stack(*, rule_files: Sequence[Path] = ()) -> PromStack:
    """Start a Pushgateway and a Prometheus scraping it (loading ``rule_files``); caller stops."""
    temp_dir = Path(tempfile.mkdtemp(prefix="kfp-mlsecops-prom-"))
    pushgateway: Server | None = None
    try:
        pushgateway = start_pushgateway(temp_dir)
        config = temp_dir / "prometheus.yml"
        rules = []
        for index, source in enumerate(rule_files):
            target = temp_dir / f"rules-{index}.yaml"
            shutil.copyfile(source, target)
            rules.append(str(target))
        config.write_text(yaml.safe_dump(_prometheus_config(pushgateway.port, rules)))
        storage = temp_dir / "tsdb"
        prometheus = _start_ready(
            "prometheus",
            lambda port: [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            temp_dir,
        )
    except BaseException:
        if pushgateway is not None:
            pushgateway.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return PromStack(temp_dir=temp_dir, pushgateway=pushgateway, prometheus=prometheus)


def _prometheus_config(pushgateway_port: int, rule_files: list[str]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{pushgateway_port}"]}],
            }
        ],
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start_ready(name: str, command: Callable[[int], list[str]], temp_dir: Path) -> Server:
    for attempt in range(1, START_ATTEMPTS + 1):
        port = _free_port()
        log = (temp_dir / f"{name}-{attempt}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - fixed binaries, loopback only
            command(port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=temp_dir,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads start before exec
        )
        server = Server(name, process, log, port)
        try:
            _wait_ready(server)
        except _PortTaken:
            server.stop()
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise PromStackError(f"{name}: a free port was taken before binding {START_ATTEMPTS} times")


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        server.pause(waiting_for="/-/ready")
    raise PromStackError(
        f"{server.name} on {server.url} not ready after {READY_TIMEOUT_S:.0f} s (last: {last}); "
        f"log ends:\n{server.log_tail()}"
    )
