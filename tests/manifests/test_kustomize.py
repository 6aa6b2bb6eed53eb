"""manifests/: every folder builds with the real `kubectl kustomize`, offline, as expected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
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


@pytest.mark.parametrize(
    ("method", "folder_name", "secret_files", "configmap_files"),
    [
        ("key", "signing-keys", {"private-key.pem"}, {"public-key.pem"}),
        (
            "certificate",
            "signing-certificate",
            {"private-key.pem", "certificate.pem", "chain.pem"},
            {"ca-chain.pem"},
        ),
        ("sigstore", "signing-sigstore", {"token"}, {"trust_config.json"}),
    ],
)
def test_signing_folders_build_what_the_pipeline_mounts(
    tmp_path, method, folder_name, secret_files, configmap_files
):
    from kfp_mlsecops.pipelines import make_secure_training

    folder = tmp_path / folder_name
    shutil.copytree(REPO / "manifests" / folder_name, folder)
    for name in secret_files | configmap_files:
        (folder / name).write_text(f"placeholder {name}\n")
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _build(folder)}
    inputs = make_secure_training(method).component_spec.inputs
    secret = docs[("Secret", inputs["signing_secret"].default)]
    config_map = docs[("ConfigMap", inputs["verify_configmap"].default)]
    assert set(secret["data"]) == secret_files
    assert set(config_map["data"]) == configmap_files
    # every path default of the compiled pipeline points at a file the mounts provide
    mounted = {f"/etc/mlsecops/signing/{n}" for n in secret_files} | {
        f"/etc/mlsecops/verify/{n}" for n in configmap_files
    }
    assert _mounted_path_defaults(inputs, "/etc/mlsecops/signing/", "/etc/mlsecops/verify/") == (
        mounted
    )


def _mounted_path_defaults(inputs, *prefixes: str) -> set[str]:
    paths = set()
    for spec in inputs.values():
        values = spec.default if isinstance(spec.default, list) else [spec.default]
        paths |= {v for v in values if isinstance(v, str) and v.startswith(prefixes)}
    return paths


def test_approval_keys_folder_builds_what_the_gate_and_deploy_mount(tmp_path):
    from kfp_mlsecops import constants as C
    from kfp_mlsecops.pipelines import make_secure_training

    folder = tmp_path / "approval-keys"
    shutil.copytree(REPO / "manifests" / "approval-keys", folder)
    generate_key_pair(folder / "private-key.pem", folder / "public-key.pem")
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _build(folder)}
    assert set(docs[("Secret", C.APPROVAL_SECRET)]["data"]) == {C.APPROVAL_KEY_FILE}
    config_map = docs[("ConfigMap", C.APPROVAL_VERIFY_CONFIGMAP)]
    assert set(config_map["data"]) == {C.APPROVAL_VERIFY_FILE}
    assert "PRIVATE KEY" not in yaml.safe_dump(config_map)
    inputs = make_secure_training("key").component_spec.inputs
    assert _mounted_path_defaults(inputs, C.APPROVAL_KEY_MOUNT, C.APPROVAL_VERIFY_MOUNT) == {
        f"{C.APPROVAL_KEY_MOUNT}/{C.APPROVAL_KEY_FILE}",
        f"{C.APPROVAL_VERIFY_MOUNT}/{C.APPROVAL_VERIFY_FILE}",
    }


def test_the_key_folder_keeps_the_private_key_out_of_the_configmap(tmp_path):
    folder = tmp_path / "signing-keys"
    shutil.copytree(REPO / "manifests" / "signing-keys", folder)
    generate_key_pair(folder / "private-key.pem", folder / "public-key.pem")
    config_map = next(d for d in _build(folder) if d["kind"] == "ConfigMap")
    assert "PRIVATE KEY" not in yaml.safe_dump(config_map)


@pytest.mark.parametrize(
    ("folder_name", "ignored"),
    [
        ("signing-keys", {"*.pem"}),
        ("signing-certificate", {"*.pem"}),
        ("signing-sigstore", {"token", "*.json"}),
        ("approval-keys", {"*.pem"}),
    ],
)
def test_signing_folders_never_hold_committed_material(folder_name, ignored):
    folder = REPO / "manifests" / folder_name
    tracked = subprocess.run(
        ["git", "ls-files", str(folder)], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(Path(p).name for p in tracked) == [
        ".gitignore",
        "README.md",
        "kustomization.yaml",
    ]
    assert ignored <= set((folder / ".gitignore").read_text().split())


def test_pipeline_rbac_grants_only_what_deploy_applies_and_reads():
    docs = _build(REPO / "manifests" / "pipeline-rbac")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Role", "RoleBinding"]
    role = next(d for d in docs if d["kind"] == "Role")
    assert role["rules"] == [
        {
            "apiGroups": ["serving.kserve.io"],
            "resources": ["inferenceservices"],
            "verbs": ["get", "create", "patch"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
        # deploy reads the predictor Deployment to see the new revision roll out
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
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
