"""The real images: built from the Dockerfile (tests/infra/images/build.sh), the whole pipeline run
in them with kfp.local's DockerRunner (every step in its own container), approved and blocked,
and the predictor image started the way KServe starts it from the InferenceService deploy wrote.

Marker ``container``; ``make test`` builds the images first (``make image``; cold about 4
minutes, then cached by a hash of their inputs) and needs a Docker engine, which build.sh
installs and starts when run as root.
"""

import base64
import http.client
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from kfp_mlsecops import constants as C

pytestmark = pytest.mark.container

BUILD = Path(__file__).resolve().parent / "images" / "build.sh"
REPO = Path(__file__).resolve().parents[2]
#: Upper bound for the predictor container to verify, load TensorFlow and answer (2 busy cores).
READY_DEADLINE_S = 180.0
FAST = {"epochs": 2, "epsilons": [0.05, 0.1], "pgd_steps": 10}


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    done = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    component, predictor = done.stdout.split()
    return component, predictor


def _docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _keys(root: Path) -> Path:
    from kfp_mlsecops.signing import generate_key_pair

    keys = root / "keys"
    keys.mkdir(parents=True)
    generate_key_pair(keys / "sign.pem", keys / "sign.pub")
    generate_key_pair(keys / "gate.pem", keys / "gate.pub")
    for path in [root, keys, *keys.iterdir()]:  # the containers run as uid 10001
        os.chmod(path, 0o777 if path.is_dir() else 0o644)
    return keys


def _run_in_containers(component: str, root: Path, keys: Path, **arguments) -> Path:
    """Run secure-training with DockerRunner (every step in ``component``); return its folder."""
    from kfp import local

    from kfp_mlsecops.pipelines import make_secure_training
    from kfp_mlsecops.pipelines.compiling import _component_image

    with _component_image(component):
        pipeline = make_secure_training(policy_path="")
    local.init(runner=local.DockerRunner(), pipeline_root=str(root), raise_on_error=False)
    pipeline(
        **FAST,
        private_key_path=str(keys / "sign.pem"),
        public_key_path=str(keys / "sign.pub"),
        approval_key_path=str(keys / "gate.pem"),
        approval_public_key_path=str(keys / "gate.pub"),
        **arguments,
    )
    (run,) = root.glob("secure-training-*")
    return run


@pytest.fixture(scope="module")
def approved_run(images, tmp_path_factory) -> tuple[Path, Path]:
    """The whole pipeline, every step in the component image; (run folder, keys)."""
    root = tmp_path_factory.mktemp("approved")
    keys = _keys(root)
    return _run_in_containers(images[0], root, keys), keys


def test_the_images_run_as_non_root_without_network(images):
    for ref in images:
        done = _docker("run", "--rm", "--network", "none", "--entrypoint", "id", ref, "-u")
        assert done.returncode == 0 and done.stdout.strip() == "10001", done.stderr


def test_the_pipeline_runs_in_containers_and_the_predictor_image_verifies_its_model(
    images, approved_run
):
    run, keys = approved_run
    decision = json.loads((run / "gate" / "decision").read_text())
    assert decision[C.DECISION] == C.DECISION_APPROVED
    assert decision["rederivation"]["unreproduced"] == 0
    assert (run / "deploy" / "manifest").is_file()
    # the predictor image verifies the signed model (mounted read-only, no network)
    mounts = ["-v", f"{run}:/run:ro", "-v", f"{keys}:/keys:ro"]
    verify = _docker(
        "run", "--rm", "--network", "none", *mounts, "--entrypoint", "mlsecops", images[1],
        "verify", "--model", "/run/train/model", "--signature", "/run/sign-model/signature",
        "--method", "key", "--public-key", "/keys/sign.pub",
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr


def test_a_model_that_misses_the_policy_is_blocked_in_containers(images, tmp_path):
    root = tmp_path / "root"
    keys = _keys(root)
    run = _run_in_containers(images[0], root, keys, min_robust_accuracy=0.99)
    decision = json.loads((run / "gate" / "decision").read_text())
    assert decision[C.DECISION] == C.DECISION_BLOCKED
    assert "robust_accuracy" in decision["message"]
    assert not (run / "gate" / "approval").exists()
    assert not (run / "deploy").exists()


def _kserve_container(run: Path) -> tuple[dict, dict]:
    """The predictor container and the signature ConfigMap exactly as deploy rendered them."""
    docs = list(yaml.safe_load_all((run / "deploy" / "manifest").read_text()))
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    (isvc,) = [d for d in docs if d["kind"] == "InferenceService"]
    (container,) = isvc["spec"]["predictor"]["containers"]
    return container, configmap


def _pod_volumes(tmp: Path, configmap: dict, keys: Path) -> dict[str, Path]:
    """Folders standing in for the pod's ConfigMap volumes (the same files, read-only mounts)."""
    folders = {
        "model-signature": configmap["data"],
        "verify-key": {"public-key.pem": (keys / "sign.pub").read_text()},
        "approval-verify": {"public-key.pem": (keys / "gate.pub").read_text()},
        "policy": {"policy.yaml": (REPO / "manifests/policy/dev/policy.yaml").read_text()},
    }
    made = {}
    for name, files in folders.items():
        folder = tmp / name
        folder.mkdir(parents=True)
        for file, text in files.items():
            (folder / file).write_text(text)
            os.chmod(folder / file, 0o644)
        os.chmod(folder, 0o755)
        made[name] = folder
    return made


def _docker_run_as_kserve(
    image: str, container: dict, model: Path, volumes: dict[str, Path], *, port: int | None
) -> list[str]:
    """``docker run`` with the container's args, env, mounts and security context.

    The model is mounted read-only at /mnt/models (KServe's storage initializer target), /tmp
    is an empty writable volume, the root filesystem is read-only, every capability is dropped.
    """
    context = container["securityContext"]
    argv = ["run", "--rm", "--read-only", "--tmpfs", "/tmp:rw,size=2g,mode=1777"]
    argv += ["--user", str(context["runAsUser"]), "--cap-drop", "ALL"]
    argv += ["--security-opt", "no-new-privileges"]
    argv += ["-v", f"{model}:/mnt/models:ro"]
    for mount in container["volumeMounts"]:
        if mount["name"] in volumes:
            argv += ["-v", f"{volumes[mount['name']]}:{mount['mountPath']}:ro"]
    for env in container["env"]:
        argv += ["-e", f"{env['name']}={env['value']}"]
    if port is None:
        argv += ["--network", "none"]
    else:
        (exposed,) = container["ports"]
        argv += ["-p", f"127.0.0.1:{port}:{exposed['containerPort']}"]
    return [*argv, image, *container["args"]]


def _request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    return response.status, json.loads(raw or b"{}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_predictor_image_serves_the_approved_model_as_kserve_starts_it(
    images, approved_run, tmp_path
):
    run, keys = approved_run
    container, configmap = _kserve_container(run)
    volumes = _pod_volumes(tmp_path, configmap, keys)
    model = run / "train" / "model"
    port = _free_port()
    name = f"mlsecops-predictor-test-{port}"
    argv = _docker_run_as_kserve(images[1], container, model, volumes, port=port)
    started = _docker(*argv[:2], "-d", "--name", name, *argv[2:])
    assert started.returncode == 0, started.stderr
    probe = container["readinessProbe"]["httpGet"]["path"]
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while True:
            state = _docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            assert state == "true", _docker("logs", name).stderr[-3000:]
            try:
                if _request(port, "GET", probe)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, _docker("logs", name).stderr[-3000:]
            time.sleep(0.5)  # poll interval while TensorFlow loads; bounded by the deadline
        x = np.load(run / "validate-data" / "test_data")["x"][:3].astype(np.float32)
        model_name = container["args"][container["args"].index("--name") + 1]
        status, v1 = _request(port, "POST", f"/v1/models/{model_name}:predict",
                              {"instances": x.tolist()})  # fmt: skip
        assert status == 200, v1
        p1 = np.asarray(v1["predictions"])
        assert p1.shape == (3, 10) and np.allclose(p1.sum(axis=1), 1.0, atol=1e-4)
        body = {"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32",
                            "data": x.ravel().tolist()}]}  # fmt: skip
        status, v2 = _request(port, "POST", f"/v2/models/{model_name}/infer", body)
        assert status == 200, v2
        (out,) = v2["outputs"]
        np.testing.assert_allclose(np.reshape(out["data"], out["shape"]), p1, atol=1e-5)
    finally:
        _docker("rm", "-f", name)

    # the same pod spec on a model changed in the serving bucket never becomes ready
    tampered = tmp_path / "tampered"
    shutil.copytree(model, tampered)
    data = next(tampered.glob("1/variables/variables.data-*"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    os.chmod(tmp_path, 0o755)
    refused = _docker(*_docker_run_as_kserve(images[1], container, tampered, volumes, port=None))
    assert refused.returncode == 1, refused.stderr[-3000:]
    last = refused.stderr.strip().splitlines()[-1]
    assert "files changed: 1/variables/variables.data" in last and "not serving it" in last


def test_the_signature_configmap_is_what_the_pipeline_signed(approved_run):
    run, _ = approved_run
    _, configmap = _kserve_container(run)
    for key, produced in (
        (C.SIGNATURE_FILE, run / "sign-model" / "signature"),
        (C.APPROVAL_FILE, run / "gate" / "approval"),
    ):
        assert configmap["data"][key] == produced.read_text(), key
    envelope = json.loads(configmap["data"][C.APPROVAL_FILE])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["decision"] == C.DECISION_APPROVED
