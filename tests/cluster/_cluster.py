"""Helpers for the cluster tests: kubectl, API clients, overlays, model volumes, port-forwards."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


class Cluster:
    """The cluster kind-up.sh describes in cluster.env."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.kubeconfig = Path(values["KUBECONFIG"])
        self.kubectl_bin = values["KUBECTL"]
        self.models_dir = Path(values["MODELS_DIR"])
        self.node_models_dir = values["NODE_MODELS_DIR"]
        self.predictor = values["PREDICTOR_IMAGE"]
        self.component = values["COMPONENT_IMAGE"]
        # Offline, the Debian Pushgateway image kind-up built; public: the manifest's own.
        self.pushgateway = values.get("PUSHGATEWAY_IMAGE") or None
        self._scratch = Path(tempfile.mkdtemp(prefix="kfp-mlsecops-cluster-tests-"))

    def cleanup(self) -> None:
        """Delete the scratch copies of manifests/ made by :meth:`overlay`."""
        shutil.rmtree(self._scratch, ignore_errors=True)

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run our kubectl against the cluster; with ``check`` a failure shows its stderr."""
        done = subprocess.run(
            [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def api_client(self, *, token: str | None = None) -> Any:
        """An ApiClient with the admin kubeconfig, or with ``token`` as the only credential."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        if token is not None:
            configuration.cert_file = configuration.key_file = None
            configuration.api_key = {"authorization": token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(configuration)

    def overlay(
        self,
        folder: str,
        *,
        namespace: str | None = None,
        images: dict[str, str | None] | None = None,
        files: dict[str, str | bytes] | None = None,
    ) -> Path:
        """Copy manifests/ to a scratch dir; return <copy>/<folder> with namespace, images, files.

        The whole tree is copied so overlays that refer to siblings (kind/rbac) still build.
        """
        copy = Path(tempfile.mkdtemp(dir=self._scratch)) / "manifests"
        shutil.copytree(REPO / "manifests", copy)
        target = copy / folder
        for name, content in (files or {}).items():
            path = target / name
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        kustomization = target / "kustomization.yaml"
        data = yaml.safe_load(kustomization.read_text())
        if namespace is not None:
            data["namespace"] = namespace
        for name, new in (images or {}).items():
            if new is None:
                continue
            new_name, _, new_tag = new.rpartition(":")
            entry = {"name": name, "newName": new_name, "newTag": new_tag}
            data["images"] = [i for i in data.get("images", []) if i["name"] != name] + [entry]
        kustomization.write_text(yaml.safe_dump(data, sort_keys=False))
        return target

    def model_volume(self, namespace: str, name: str, model_dir: Path) -> str:
        """Put ``model_dir`` on the node (hostPath PV + bound PVC ``name``); return pvc:// URI."""
        host = self.models_dir / namespace / name
        shutil.rmtree(host, ignore_errors=True)
        shutil.copytree(model_dir, host / "model")
        for path in [host, *host.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        pv_name = f"{namespace}-{name}"
        documents = [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": pv_name, "labels": {"mlsecops-test": namespace}},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadOnlyMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "claimRef": {"namespace": namespace, "name": name},
                    "hostPath": {
                        "path": f"{self.node_models_dir}/{namespace}/{name}",
                        "type": "Directory",
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadOnlyMany"],
                    "storageClassName": "",
                    "volumeName": pv_name,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ]
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))
        return f"pvc://{name}/model"

    def delete_volumes(self, namespace: str) -> None:
        """Delete the PersistentVolumes :meth:`model_volume` made for ``namespace``."""
        self.kubectl(
            "delete", "pv", "-l", f"mlsecops-test={namespace}", "--wait=false", check=False
        )

    def config_map(self, namespace: str, name: str, files: dict[str, str]) -> None:
        """Create or replace ConfigMap ``name`` holding ``files`` (key -> text)."""
        document = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": files,
        }
        self.kubectl("apply", "-f", "-", stdin=json.dumps(document))

    def token(self, namespace: str, service_account: str, *, seconds: int = 600) -> str:
        """A real token of ``service_account`` from the TokenRequest API."""
        from kubernetes import client

        core = client.CoreV1Api(self.api_client())
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        answer = core.create_namespaced_service_account_token(service_account, namespace, request)
        return str(answer.status.token)

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """The pods matching ``selector`` as dicts."""
        done = self.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
        return list(json.loads(done.stdout)["items"])


class PortForward:
    """``kubectl port-forward`` on 127.0.0.1 with a kernel-chosen port, for a ``with`` block."""

    def __init__(self, cluster: Cluster, namespace: str, target: str, port: int) -> None:
        self.args = [
            cluster.kubectl_bin,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "port-forward",
            "--address",
            "127.0.0.1",
            "-n",
            namespace,
            target,
            f":{port}",
        ]
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> PortForward:
        self._process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        found = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        if not found:
            self._process.kill()
            _, err = self._process.communicate(timeout=10)
            raise AssertionError(f"port-forward did not start: {line!r} {err.strip()}")
        self.port = int(found.group(1))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def request_json(
    port: int, method: str, path: str, body: Any = None, *, timeout: float = 60
) -> tuple[int, Any]:
    """One HTTP request to 127.0.0.1:``port``; returns (status, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw or b"{}")
    except ValueError:
        return response.status, raw.decode(errors="replace")


def wait_for(check: Any, *, timeout: float, interval: float = 2.0, what: str) -> Any:
    """Poll ``check()`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, AssertionError, http.client.HTTPException) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout:g} s (last: {last!r})")


def demo_artifacts(out: Path) -> dict[str, Path]:
    """The files of the one run `mlsecops run --output-dir out` made."""
    (run,) = out.glob("run-*")
    (root,) = (run / "pipeline-root").glob("*")
    keys = run / "throwaway-keys"
    artifacts = {
        "run": run,
        "model": root / "train" / "model",
        "signature": root / "sign-model" / "signature",
        "attestation": root / "attest-robustness" / "attestation",
        "approval": root / "gate" / "approval",
        "test_data": root / "validate-data" / "test_data",
        "public_key": keys / "public-key.pem",
        "approval_public_key": keys / "approval-public-key.pem",
        "log": run / "pipeline.log",
    }
    missing = [name for name, path in artifacts.items() if not path.exists()]
    assert not missing, f"the demo run lacks {missing} under {run}"
    return artifacts


def b64(text: str) -> str:
    """Base64 of ``text`` (Secret data)."""
    return base64.b64encode(text.encode()).decode()
