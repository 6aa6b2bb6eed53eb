"""manifests/policy/: each environment's floor loads, and builds into the mounted ConfigMap."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kfp_mlsecops import constants as c
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_FILE, load_floor

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "manifests" / "policy"
ENVIRONMENTS = ("dev", "staging", "prod")


def test_every_shipped_floor_loads():
    files = sorted(POLICY.glob(f"*/{POLICY_FILE}"))
    assert [f.parent.name for f in files] == sorted(ENVIRONMENTS)
    for path in files:
        floor = load_floor(path)
        assert floor.name == floor.environment == path.parent.name
        assert floor.source == str(path)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_folder_builds_the_configmap_the_tasks_mount(tmp_path, environment):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl not on PATH (it ships with the dev machine image; apt: kubectl)"
    out = subprocess.run(
        [kubectl, "kustomize", str(POLICY / environment)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [("ConfigMap", POLICY_CONFIGMAP)]
    assert "namespace" not in docs[0]["metadata"]  # applied with -n to each namespace
    assert set(docs[0]["data"]) == {POLICY_FILE}
    built = tmp_path / POLICY_FILE
    built.write_text(docs[0]["data"][POLICY_FILE])
    assert load_floor(built).digest == load_floor(POLICY / environment / POLICY_FILE).digest


def test_the_environments_hold_the_agreed_values():
    builtin = load_floor(None).to_dict()["spec"]
    dev, staging, prod = (load_floor(POLICY / e / POLICY_FILE) for e in ENVIRONMENTS)
    assert dev.to_dict()["spec"] == {**builtin, "waivable_masking_flags": list(c.MASKING_FLAGS)}
    assert staging.to_dict()["spec"] == {
        **builtin,
        "min_clean_accuracy": 0.9,
        "min_robust_accuracy": 0.4,
        "min_robust_epsilon": 0.05,
        "min_attack_budget": {**builtin["min_attack_budget"], "pgd": {"steps": 20, "restarts": 1}},
    }
    assert staging.min_tier == "fast"
    assert prod.to_dict()["spec"] == {
        "min_clean_accuracy": 0.95,
        "min_robust_accuracy": 0.5,
        "min_robust_epsilon": 0.05,
        "robust_attacks": ["worst_case"],
        "min_tier": "reliable",
        "min_attack_budget": {
            "pgd": {"steps": 20, "restarts": 1},
            "apgd_ce": {"n_iter": 100, "restarts": 1},
            "apgd_t": {"n_iter": 30, "n_targets": 9},
            "square": {"n_queries": 1000},
        },
        "min_samples": 300,
        "waivable_masking_flags": [],
        "evidence": {"inflation": 0.05, "detection_probability": 0.99, "max_unreproduced": 0},
    }
    assert len({dev.digest, staging.digest, prod.digest}) == 3
