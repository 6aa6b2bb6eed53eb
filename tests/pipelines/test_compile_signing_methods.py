"""Each signing method compiles to its own mounts, defaults and component options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines import make_secure_training
from kfp_mlsecops.pipelines.compiling import compile_pipeline

SIGNING_TASKS = {"sign-model", "attest-robustness"}
VERIFYING_TASKS = {"gate", "deploy"}
SIGNING_OPTIONS = (
    "private_key_path",
    "password_path",
    "certificate_path",
    "chain_paths",
    "identity_token_path",
    "use_ambient_credentials",
    "sigstore_trust_config_path",
)
TRUST_OPTIONS = (
    "public_key_path",
    "chain_paths",
    "signer_identity",
    "oidc_issuer",
    "trust_config_path",
)
#: Pipeline defaults per method: what the mounted Secret / ConfigMap must hold.
EXPECTED_DEFAULTS = {
    "key": {
        "signing_secret": "mlsecops-signing-key",
        "verify_configmap": "mlsecops-verify-key",
        "private_key_path": "/etc/mlsecops/signing/private-key.pem",
        "certificate_path": "",
        "chain_paths": [],
        "identity_token_path": "",
        "public_key_path": "/etc/mlsecops/verify/public-key.pem",
        "verify_chain_paths": [],
        "trust_config_path": "",
    },
    "certificate": {
        "signing_secret": "mlsecops-signing-certificate",
        "verify_configmap": "mlsecops-verify-chain",
        "private_key_path": "/etc/mlsecops/signing/private-key.pem",
        "certificate_path": "/etc/mlsecops/signing/certificate.pem",
        "chain_paths": ["/etc/mlsecops/signing/chain.pem"],
        "identity_token_path": "",
        "public_key_path": "",
        "verify_chain_paths": ["/etc/mlsecops/verify/ca-chain.pem"],
        "trust_config_path": "",
    },
    "sigstore": {
        "signing_secret": "mlsecops-sigstore-token",
        "verify_configmap": "mlsecops-sigstore-trust",
        "private_key_path": "",
        "certificate_path": "",
        "chain_paths": [],
        "identity_token_path": "/etc/mlsecops/signing/token",
        "public_key_path": "",
        "verify_chain_paths": [],
        "trust_config_path": "/etc/mlsecops/verify/trust_config.json",
    },
}


@pytest.fixture(scope="module", params=C.SIGNING_METHODS)
def compiled(request, tmp_path_factory) -> tuple[str, list[dict]]:
    method = request.param
    path = compile_pipeline(
        tmp_path_factory.mktemp(method) / "pipeline.yaml", signing_method=method
    )
    return method, list(yaml.safe_load_all(path.read_text()))


def _executors(documents: list[dict]) -> dict[str, dict]:
    return documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def test_the_signing_secret_is_mounted_on_the_signing_tasks_only(compiled):
    method, documents = compiled
    own_keys = (C.APPROVAL_KEY_MOUNT, C.AUDIT_KEY_MOUNT)
    mounted = {
        n: [m for m in cfg["secretAsVolume"] if m["mountPath"] not in own_keys]
        for n, cfg in _executors(documents).items()
        if cfg.get("secretAsVolume")
    }
    # the gate mounts only its own approval and audit keys (whatever the method), no signing
    # material; deploy only the audit key
    assert mounted.pop("exec-gate") == []
    assert mounted.pop("exec-deploy") == []
    assert set(mounted) == {f"exec-{t}" for t in SIGNING_TASKS}
    for mounts in mounted.values():
        (mount,) = mounts
        assert mount["mountPath"] == C.SIGNING_KEY_MOUNT
        assert mount["secretNameParameter"] == {"componentInputParameter": "signing_secret"}
        # a Sigstore token Secret may be absent when ambient credentials are used
        assert mount["optional"] is (method == "sigstore")


def test_the_audit_key_is_mounted_on_gate_and_deploy_only(compiled):
    _, documents = compiled
    audit = {
        n: [m for m in cfg.get("secretAsVolume", []) if m["mountPath"] == C.AUDIT_KEY_MOUNT]
        for n, cfg in _executors(documents).items()
    }
    assert {n for n, mounts in audit.items() if mounts} == {"exec-gate", "exec-deploy"}
    for name in ("exec-gate", "exec-deploy"):
        (mount,) = audit[name]
        assert mount["optional"] is True  # the log is off unless audit_log_path is set


def test_the_verification_configmap_is_mounted_on_gate_and_deploy_only(compiled):
    _, documents = compiled
    executors = _executors(documents)
    mounted = {
        n: [m for m in cfg["configMapAsVolume"] if m["mountPath"] == C.VERIFY_KEY_MOUNT]
        for n, cfg in executors.items()
        if cfg.get("configMapAsVolume")
    }
    assert set(mounted) == {f"exec-{t}" for t in VERIFYING_TASKS}
    for mounts in mounted.values():
        (mount,) = mounts
        assert mount["mountPath"] == C.VERIFY_KEY_MOUNT
        assert mount["configMapNameParameter"] == {"componentInputParameter": "verify_configmap"}
    assert not any(
        cfg.get("secretAsEnv") or cfg.get("configMapAsEnv") for cfg in executors.values()
    )


def test_defaults_point_into_the_mounts_of_the_method(compiled):
    method, documents = compiled
    root = documents[0]["root"]["inputDefinitions"]["parameters"]
    for name, value in EXPECTED_DEFAULTS[method].items():
        assert root[name].get("defaultValue", "" if not isinstance(value, list) else []) == value, (
            name
        )
    assert root["signer_identity"]["defaultValue"] == ""  # no identity is trusted by default
    assert f"Signing method: {method}" in documents[0]["pipelineInfo"]["description"]


def test_the_method_and_every_option_reach_the_components(compiled):
    method, documents = compiled
    tasks = documents[0]["root"]["dag"]["tasks"]
    for task in SIGNING_TASKS | VERIFYING_TASKS:
        params = tasks[task]["inputs"]["parameters"]
        assert params["signing_method"]["runtimeValue"]["constant"] == method, task
    for task in SIGNING_TASKS:
        params = tasks[task]["inputs"]["parameters"]
        for option in SIGNING_OPTIONS:
            source = {"sigstore_trust_config_path": "signing_trust_config_path"}.get(option, option)
            assert params[option] == {"componentInputParameter": source}, (task, option)
    for task in VERIFYING_TASKS:
        params = tasks[task]["inputs"]["parameters"]
        for option in TRUST_OPTIONS:
            source = {"chain_paths": "verify_chain_paths"}.get(option, option)
            assert params[option] == {"componentInputParameter": source}, (task, option)
    deploy = tasks["deploy"]["inputs"]["parameters"]
    assert deploy["predictor"] == {"componentInputParameter": "predictor"}
    # the verified predictor mounts the same verification ConfigMap as gate and deploy
    assert deploy["verify_configmap"] == {"componentInputParameter": "verify_configmap"}
    for task in set(tasks) - SIGNING_TASKS - VERIFYING_TASKS:
        params = tasks[task]["inputs"].get("parameters", {})
        assert not set(params) & {*SIGNING_OPTIONS, *TRUST_OPTIONS}, task


def test_compiled_variants_hold_names_and_paths_never_material(compiled):
    _, documents = compiled
    text = yaml.safe_dump_all(documents)
    for marker in ("BEGIN ", "PRIVATE KEY", "eyJ"):  # PEM blocks, JWT tokens
        assert marker not in text


def test_unknown_method_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="signing_method='gpg'.*key, certificate, sigstore"):
        make_secure_training("gpg")


@pytest.mark.slow
def test_cli_compiles_a_variant_and_rejects_half_options(tmp_path: Path):
    out = tmp_path / "cert.yaml"
    cmd = [sys.executable, "-m", "kfp_mlsecops.cli.main", "compile"]
    done = subprocess.run(
        [*cmd, "--signing-method", "certificate", "--output", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Signing method: certificate" in out.read_text()
    half = subprocess.run([*cmd, "--signing-method", "sigstore"], capture_output=True, text=True)
    assert half.returncode == 2
    assert "--signing-method need(s) --output" in half.stderr
