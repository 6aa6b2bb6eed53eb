"""The real images: built from the Dockerfile (tests/infra/images/build.sh), the whole pipeline run
in them with kfp.local's DockerRunner (every step in its own container), the predictor image
verifying the model the pipeline signed.

Opt-in (marker ``container``; ``make test-images``): building cold takes about 4 minutes and needs
a Docker engine, which this script starts when run as root.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from kfp_mlsecops import constants as C

pytestmark = pytest.mark.container

BUILD = Path(__file__).resolve().parent / "images" / "build.sh"


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    done = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    component, predictor = done.stdout.split()
    return component, predictor


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=600)


def test_the_images_run_as_non_root_without_network(images):
    for ref in images:
        done = _docker("run", "--rm", "--network", "none", "--entrypoint", "id", ref, "-u")
        assert done.returncode == 0 and done.stdout.strip() == "10001", done.stderr


def test_the_pipeline_runs_in_containers_and_the_predictor_image_verifies_its_model(
    images, tmp_path
):
    from kfp import local

    from kfp_mlsecops.pipelines import make_secure_training
    from kfp_mlsecops.pipelines.compiling import _component_image
    from kfp_mlsecops.signing import generate_key_pair

    component, predictor = images
    root = tmp_path / "root"
    keys = root / "keys"
    keys.mkdir(parents=True)
    generate_key_pair(keys / "sign.pem", keys / "sign.pub")
    generate_key_pair(keys / "gate.pem", keys / "gate.pub")
    for path in [root, keys, *keys.iterdir()]:  # the containers run as uid 10001
        os.chmod(path, 0o777 if path.is_dir() else 0o644)
    with _component_image(component):
        pipeline = make_secure_training(policy_path="")
    local.init(runner=local.DockerRunner(), pipeline_root=str(root), raise_on_error=True)
    pipeline(
        epochs=2,
        epsilons=[0.05, 0.1],
        pgd_steps=10,
        private_key_path=str(keys / "sign.pem"),
        public_key_path=str(keys / "sign.pub"),
        approval_key_path=str(keys / "gate.pem"),
        approval_public_key_path=str(keys / "gate.pub"),
    )
    (run,) = root.glob("secure-training-*")
    decision = json.loads((run / "gate" / "decision").read_text())
    assert decision[C.DECISION] == C.DECISION_APPROVED
    assert (run / "deploy" / "manifest").is_file()
    # the predictor image verifies the signed model (mounted read-only, no network)
    mounts = ["-v", f"{run}:/run:ro", "-v", f"{keys}:/keys:ro"]
    verify = _docker(
        "run", "--rm", "--network", "none", *mounts, "--entrypoint", "mlsecops", predictor,
        "verify", "--model", "/run/train/model", "--signature", "/run/sign-model/signature",
        "--method", "key", "--public-key", "/keys/sign.pub",
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
