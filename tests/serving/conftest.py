"""Fixtures for the verified predictor: a real trained digits model, real keys, a real server."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _release import Release
from _served import SignedModel, signed_model_of

from kfp_mlsecops.signing import generate_key_pair

MODEL_NAME = "digits"
#: Upper bound for a predictor process to verify, load TensorFlow and bind (2 busy cores).
READY_DEADLINE_S = 120.0


@pytest.fixture(scope="session")
def signed_digits_model(release: Release) -> SignedModel:
    """The session's real release chain on digits (tests/_release.py), as the predictor sees it."""
    return signed_model_of(release)


@pytest.fixture(scope="session")
def other_public_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("other-keys")
    generate_key_pair(folder / "private-key.pem", folder / "public-key.pem")
    return folder / "public-key.pem"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command(model: SignedModel, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kfp_mlsecops.cli.serve_command",
        "--model-dir",
        str(model.model_dir),
        "--signature",
        str(model.signature),
        "--public-key",
        str(model.public_key),
        "--attestation",
        str(model.attestation),
        "--approval",
        str(model.approval),
        "--approval-public-key",
        str(model.approval_public_key),
        "--name",
        MODEL_NAME,
        "--port",
        str(port),
        *extra,
    ]


def subprocess_env(tmp_dir: Path) -> dict[str, str]:
    """Environment for a predictor process: quiet TensorFlow, private copies under tmp_dir."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(tmp_dir))
    return env


class Client:
    """Tiny HTTP client for the predictor on 127.0.0.1 (one connection per request)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Any = None,
        headers: dict[str, str] | None = None,
        *,
        chunked: bool = False,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, Any] | str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            send_headers = {"Content-Type": "application/json", **(headers or {})}
            if chunked:
                conn.request(method, path, body=body, headers=send_headers, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=send_headers)
            response = conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw

    def post_json(self, path: str, doc: Any) -> tuple[int, Any]:
        return self.request("POST", path, json.dumps(doc).encode())

    def predict_v1(self, x: np.ndarray) -> tuple[int, Any]:
        return self.post_json(f"/v1/models/{MODEL_NAME}:predict", {"instances": x.tolist()})

    def metrics(self) -> str:
        status, text = self.request("GET", "/metrics", headers={"Accept": "text/plain"})
        assert status == 200
        assert isinstance(text, str)
        return text

    def ready(self) -> bool:
        try:
            status, _ = self.request("GET", f"/v2/models/{MODEL_NAME}/ready", timeout=2.0)
        except OSError:
            return False
        return status == 200


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    client: Client
    port: int
    tmp_dir: Path
    log: Path
    name: str = MODEL_NAME

    def stop(self) -> int:
        """SIGTERM, then wait (bounded); return the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise


def start_server(model: SignedModel, tmp_dir: Path, *extra: str) -> RunningServer:
    """Start the predictor and poll readiness until a bounded deadline (no blind sleeps)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = tmp_dir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            serve_command(model, port, *extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=subprocess_env(tmp_dir),
        )
    client = Client(port)
    deadline = time.monotonic() + READY_DEADLINE_S
    while not client.ready():
        try:
            code = process.wait(timeout=0.25)  # doubles as the poll interval
        except subprocess.TimeoutExpired:
            code = None
        if code is not None:
            raise AssertionError(f"predictor exited {code}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError(f"predictor not ready in {READY_DEADLINE_S}s:\n{log.read_text()}")
    return RunningServer(process, client, port, tmp_dir, log)


@pytest.fixture(scope="session")
def launch_predictor(
    signed_digits_model: SignedModel,
) -> Callable[..., RunningServer]:
    """``launch_predictor(tmp_dir, *extra_args)`` starts a predictor and polls until ready."""

    def launch(tmp_dir: Path, *extra: str) -> RunningServer:
        return start_server(signed_digits_model, tmp_dir, *extra)

    return launch


@pytest.fixture(scope="session")
def start_predictor() -> Callable[..., RunningServer]:
    """``start_predictor(model, tmp_dir, *extra_args)`` serves any SignedModel until ready."""
    return start_server


@pytest.fixture(scope="session")
def serve_argv() -> Callable[..., list[str]]:
    """``serve_argv(model, port, *extra)``: the argv of a predictor process."""
    return serve_command


@pytest.fixture(scope="session")
def predictor_env() -> Callable[[Path], dict[str, str]]:
    return subprocess_env


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on right now."""
    return free_port()
