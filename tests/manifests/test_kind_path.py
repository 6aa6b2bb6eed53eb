"""The kind end-to-end path, checked statically (kind cannot run here: no Docker engine).

What IS checked: the script parses (bash -n) and passes shellcheck, its kustomize folders build
with the real kubectl, and every pipeline parameter it passes exists in the compiled pipeline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
KIND = REPO / "manifests" / "kind"
SCRIPT = KIND / "e2e.sh"


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_e2e_script_parses_and_passes_shellcheck():
    assert _run("bash", "-n", str(SCRIPT)).returncode == 0
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck missing: `make test-deps` installs it (apt: shellcheck)"
    images = REPO / "tests" / "infra" / "images" / "build.sh"
    out = _run(shellcheck, str(SCRIPT), str(REPO / ".ci" / "run"), str(images))
    assert out.returncode == 0, out.stdout


def test_kind_kustomize_folders_build():
    for folder in ("rbac", "minio-s3"):
        out = _run("kubectl", "kustomize", str(KIND / folder))
        assert out.returncode == 0, out.stderr
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        assert docs and all(d["metadata"]["namespace"] == "kubeflow" for d in docs)
    rbac = [d for d in yaml.safe_load_all(_run("kubectl", "kustomize", str(KIND / "rbac")).stdout)]
    binding = next(d for d in rbac if d["kind"] == "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pipeline-runner"}]


def test_kind_cluster_config_is_a_kind_cluster():
    config = yaml.safe_load((KIND / "cluster.yaml").read_text())
    assert config["kind"] == "Cluster" and config["apiVersion"].startswith("kind.x-k8s.io/")


def test_every_parameter_the_script_passes_exists_in_the_pipeline():
    spec = next(yaml.safe_load_all((REPO / "pipelines" / "secure_training.yaml").read_text()))
    parameters = set(spec["root"]["inputDefinitions"]["parameters"])
    passed = set(re.findall(r"--param (\w+)=", SCRIPT.read_text()))
    assert passed and passed <= parameters, passed - parameters
