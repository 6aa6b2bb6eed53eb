"""manifests/: every folder builds with the real `kubectl kustomize`, offline, as expected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from kfp_mlsecops.signing import generate_key_pair

REPO = Path(__file__).resolve().parents[2]

KUBECTL = shutil.which("kubectl")


def _build(folder: Path) -> list[dict]:
    assert KUBECTL, "kubectl not on PATH (it ships with the dev machine image; apt: kubectl)"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def test_signing_keys_build_a_secret_and_a_configmap_named_as_the_pipeline_expects(tmp_path):
    from kfp_mlsecops.pipelines import secure_training

    folder = tmp_path / "signing-keys"
    shutil.copytree(REPO / "manifests" / "signing-keys", folder)
    generate_key_pair(folder / "private-key.pem", folder / "public-key.pem")
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _build(folder)}
    defaults = {
        name: spec.default
        for name, spec in secure_training.component_spec.inputs.items()
        if name in ("signing_key_secret", "verify_key_configmap")
    }
    secret = docs[("Secret", defaults["signing_key_secret"])]
    config_map = docs[("ConfigMap", defaults["verify_key_configmap"])]
    assert set(secret["data"]) == {"private-key.pem"}
    assert set(config_map["data"]) == {"public-key.pem"}
    assert "PRIVATE KEY" not in yaml.safe_dump(config_map)


def test_signing_keys_folder_never_holds_committed_keys():
    folder = REPO / "manifests" / "signing-keys"
    tracked = subprocess.run(
        ["git", "ls-files", str(folder)], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in tracked if p.endswith(".pem")]
    assert "*.pem" in (folder / ".gitignore").read_text()


def test_pipeline_rbac_grants_only_inferenceservice_create_get_patch():
    docs = _build(REPO / "manifests" / "pipeline-rbac")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Role", "RoleBinding"]
    role = next(d for d in docs if d["kind"] == "Role")
    assert role["rules"] == [
        {
            "apiGroups": ["serving.kserve.io"],
            "resources": ["inferenceservices"],
            "verbs": ["get", "create", "patch"],
        }
    ]
    binding = next(d for d in docs if d["kind"] == "RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_every_manifest_folder_has_a_readme_and_one_resource_per_file():
    for kustomization in (REPO / "manifests").rglob("kustomization.yaml"):
        folder = kustomization.parent
        assert (folder / "README.md").is_file(), folder
        for path in folder.glob("*.yaml"):
            if path.name == "kustomization.yaml":
                continue
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
            assert len(docs) == 1, path


def test_dockerfile_runs_as_non_root_and_installs_pinned_versions():
    text = (REPO / "Dockerfile").read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "-c constraints.txt" in text
    for source in ("src", "components", "pipelines", "pyproject.toml", "constraints.txt"):
        assert (REPO / source).exists(), source
