"""The compiled YAML: valid KFP specs, secrets mounted only where needed, stable, TF-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp import components as kfp_components
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_mlsecops import constants as C
from kfp_mlsecops.constants import SIGNING_KEY_MOUNT, VERIFY_KEY_MOUNT
from kfp_mlsecops.pipelines.compiling import (
    COMPONENT_NAMES,
    PIPELINE_YAML,
    RELEASE_YAML,
    compile_all,
    stale_files,
)
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_FILE, POLICY_MOUNT


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return list(yaml.safe_load_all(PIPELINE_YAML.read_text()))


@pytest.fixture(scope="module", params=[PIPELINE_YAML, RELEASE_YAML], ids=lambda p: p.stem)
def any_pipeline(request) -> list[dict]:
    """secure-training and secure-release: the chain's security properties hold in both."""
    return list(yaml.safe_load_all(request.param.read_text()))


def test_pipeline_yaml_parses_into_pipeline_and_platform_spec(documents):
    assert len(documents) == 2
    spec = json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "secure-training"
    tasks = set(spec.root.dag.tasks)
    assert tasks == {
        "validate-data",
        "train",
        "attack-test",
        "attest-robustness",
        "sign-model",
        "gate",
        "deploy",
    }
    platform = json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())
    assert "kubernetes" in platform.platforms


def test_release_yaml_imports_the_model_and_data_and_validates_for_evaluation_only():
    pipeline, _ = yaml.safe_load_all(RELEASE_YAML.read_text())
    spec = json_format.ParseDict(pipeline, pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "secure-release"
    tasks = pipeline["root"]["dag"]["tasks"]
    assert set(tasks) == {
        "importer",
        "importer-2",
        "validate-data",
        "import-model",
        "attack-test",
        "attest-robustness",
        "sign-model",
        "gate",
        "deploy",
    }
    validate = tasks["validate-data"]["inputs"]["parameters"]
    assert validate["evaluation_only"] == {"runtimeValue": {"constant": True}}
    for task in ("attack-test", "sign-model", "gate", "deploy"):
        model = tasks[task]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]
        assert model == {"outputArtifactKey": "model", "producerTask": "import-model"}, task
    root = pipeline["root"]["inputDefinitions"]["parameters"]
    assert "defaultValue" not in root["model_uri"] and "defaultValue" not in root["data_uri"]


def _mounts(documents, kind: str) -> dict[str, dict[str, dict]]:
    """executor -> mount path -> mount, for ``secretAsVolume`` or ``configMapAsVolume``."""
    executors = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    return {
        name: {m["mountPath"]: m for m in cfg.get(kind, [])}
        for name, cfg in executors.items()
        if cfg.get(kind)
    }


def test_only_the_signing_tasks_mount_the_signing_secret_and_only_the_gate_its_key(any_pipeline):
    secrets = _mounts(any_pipeline, "secretAsVolume")
    assert {n for n, m in secrets.items() if SIGNING_KEY_MOUNT in m} == {
        "exec-sign-model",
        "exec-attest-robustness",
    }
    for name in ("exec-sign-model", "exec-attest-robustness"):
        (mount,) = secrets[name].values()
        assert mount["secretNameParameter"] == {"componentInputParameter": "signing_secret"}
        assert mount["optional"] is False
    # the gate's approval key: the gate only, never a signing task, a constant name
    assert {n for n, m in secrets.items() if C.APPROVAL_KEY_MOUNT in m} == {"exec-gate"}
    approval = secrets["exec-gate"][C.APPROVAL_KEY_MOUNT]
    assert approval["secretName"] == C.APPROVAL_SECRET and approval["optional"] is False
    # the audit key (its own Secret, optional: the audit log is off by default): gate and deploy
    assert {n for n, m in secrets.items() if C.AUDIT_KEY_MOUNT in m} == {"exec-gate", "exec-deploy"}
    assert set(secrets["exec-gate"]) == {C.APPROVAL_KEY_MOUNT, C.AUDIT_KEY_MOUNT}
    for name in ("exec-gate", "exec-deploy"):
        audit = secrets[name][C.AUDIT_KEY_MOUNT]
        assert audit["secretName"] == C.AUDIT_SECRET and audit["optional"] is True


def test_gate_and_deploy_mount_the_verify_key_the_floor_and_deploy_the_approval_key(any_pipeline):
    maps = _mounts(any_pipeline, "configMapAsVolume")
    assert set(maps) == {"exec-gate", "exec-deploy"}
    for name in maps:
        verify = maps[name][VERIFY_KEY_MOUNT]
        assert verify["configMapNameParameter"] == {"componentInputParameter": "verify_configmap"}
        floor = maps[name][POLICY_MOUNT]
        assert floor["configMapName"] == POLICY_CONFIGMAP and floor["optional"] is False
    assert set(maps["exec-gate"]) == {VERIFY_KEY_MOUNT, POLICY_MOUNT}
    approval = maps["exec-deploy"][C.APPROVAL_VERIFY_MOUNT]
    assert approval["configMapName"] == C.APPROVAL_VERIFY_CONFIGMAP


def test_the_policy_floor_path_is_a_constant_not_a_run_parameter(any_pipeline):
    """Finding 4: no run parameter can point the gate or deploy at a laxer floor."""
    root = any_pipeline[0]["root"]["inputDefinitions"]["parameters"]
    assert not any("policy" in name for name in root)
    tasks = any_pipeline[0]["root"]["dag"]["tasks"]
    for name in ("gate", "deploy"):
        path = tasks[name]["inputs"]["parameters"]["policy_path"]
        assert path == {"runtimeValue": {"constant": f"{POLICY_MOUNT}/{POLICY_FILE}"}}, name


def test_the_verified_predictor_is_the_default(any_pipeline):
    """Finding 5: the default predictor re-checks signature, attestation and approval."""
    root = any_pipeline[0]["root"]["inputDefinitions"]["parameters"]
    assert root["predictor"]["defaultValue"] == C.PREDICTOR_VERIFIED


def test_decisions_are_never_served_from_cache(any_pipeline):
    tasks = any_pipeline[0]["root"]["dag"]["tasks"]
    for name in ("sign-model", "attest-robustness", "gate", "deploy"):
        assert tasks[name]["cachingOptions"].get("enableCache", False) is False, name


def test_deploy_depends_on_the_gate_outputs(any_pipeline):
    deploy = any_pipeline[0]["root"]["dag"]["tasks"]["deploy"]
    inputs = deploy["inputs"]
    approval = inputs["artifacts"]["approval"]["taskOutputArtifact"]
    assert approval == {"outputArtifactKey": "approval", "producerTask": "gate"}
    assert "decision" not in inputs["artifacts"]  # the unsigned decision is never trusted
    digest = inputs["parameters"]["verified_digest"]["taskOutputParameter"]
    assert digest == {"outputParameterKey": "model_digest", "producerTask": "gate"}
    assert inputs["artifacts"]["signature"]["taskOutputArtifact"]["producerTask"] == "sign-model"
    attestation = inputs["artifacts"]["attestation"]["taskOutputArtifact"]
    assert attestation["producerTask"] == "attest-robustness"
    assert inputs["parameters"]["public_key_path"] == {"componentInputParameter": "public_key_path"}


def test_attestation_follows_attack_test_and_feeds_the_gate(any_pipeline):
    tasks = any_pipeline[0]["root"]["dag"]["tasks"]
    attest = tasks["attest-robustness"]["inputs"]
    assert attest["artifacts"]["results"]["taskOutputArtifact"]["producerTask"] == "attack-test"
    assert attest["parameters"]["data_digest"]["taskOutputParameter"] == {
        "outputParameterKey": "data_digest",
        "producerTask": "validate-data",
    }
    gate_inputs = tasks["gate"]["inputs"]
    gate_attestation = gate_inputs["artifacts"]["attestation"]["taskOutputArtifact"]
    assert gate_attestation["producerTask"] == "attest-robustness"
    # the gate re-derives on validate-data's split, bound by validate-data's digest
    test_data = gate_inputs["artifacts"]["test_data"]["taskOutputArtifact"]
    assert test_data == {"outputArtifactKey": "test_data", "producerTask": "validate-data"}
    assert gate_inputs["parameters"]["test_data_digest"]["taskOutputParameter"] == {
        "outputParameterKey": "test_data_digest",
        "producerTask": "validate-data",
    }


def test_components_use_the_project_image_without_installing_kfp(any_pipeline):
    executors = any_pipeline[0]["deploymentSpec"]["executors"]
    for name, executor in executors.items():
        if "importer" in executor:  # dsl.importer runs in KFP's own launcher, not our image
            assert name.startswith("exec-importer"), name
            continue
        container = executor["container"]
        assert container["image"].startswith("ghcr.io/kfp-mlsecops/kfp-mlsecops:"), name
        assert "pip install" not in " ".join(container["command"]), name


def test_committed_yaml_is_current_and_compile_is_byte_stable(tmp_path):
    assert stale_files() == {}, "run 'make compile' and commit the result"
    first = compile_all(tmp_path / "a" / "pipelines", tmp_path / "a" / "components")
    second = compile_all(tmp_path / "b" / "pipelines", tmp_path / "b" / "components")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_stale_yaml_is_detected(tmp_path):
    written = compile_all(tmp_path / "pipelines", tmp_path / "components")
    written[0].write_text(written[0].read_text().replace("secure-training", "tampered"))
    stale = stale_files(tmp_path / "pipelines", tmp_path / "components")
    assert list(stale) == [written[0]]
    assert "tampered" in stale[written[0]]


@pytest.mark.parametrize("name", COMPONENT_NAMES)
def test_component_yaml_loads_for_users(name, repo_root: Path):
    component = kfp_components.load_component_from_file(
        str(repo_root / "components" / name / "component.yaml")
    )
    assert component.name == name.replace("_", "-")


def test_no_key_material_in_compiled_yaml(repo_root: Path):
    for path in [PIPELINE_YAML, RELEASE_YAML, *(repo_root / "components").glob("*/component.yaml")]:
        text = path.read_text()
        assert "PRIVATE KEY" not in text and "BEGIN " not in text, path


def test_importing_pipelines_does_not_load_tensorflow():
    code = (
        "import sys, kfp_mlsecops.pipelines, kfp_mlsecops.components, kfp_mlsecops.cli.main;"
        "bad = sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules);"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_key_path_defaults_match_the_mount_constants(documents):
    from kfp_mlsecops.constants import SIGNING_KEY_FILE, VERIFY_KEY_FILE

    root = documents[0]["root"]["inputDefinitions"]["parameters"]
    assert root["private_key_path"]["defaultValue"] == f"{SIGNING_KEY_MOUNT}/{SIGNING_KEY_FILE}"
    assert root["public_key_path"]["defaultValue"] == f"{VERIFY_KEY_MOUNT}/{VERIFY_KEY_FILE}"


def test_attack_tier_html_report_and_masking_allow_list_are_wired(documents):
    spec = documents[0]
    attack = spec["components"]["comp-attack-test"]
    html = attack["outputDefinitions"]["artifacts"]["html_report"]["artifactType"]
    assert html["schemaTitle"] == "system.HTML"
    assert attack["inputDefinitions"]["parameters"]["tier"]["defaultValue"] == "fast"
    root = spec["root"]["inputDefinitions"]["parameters"]
    assert root["attack_tier"]["defaultValue"] == "fast"
    assert root["allow_masking_flags"]["defaultValue"] == []  # default: every flag blocks
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["attack-test"]["inputs"]["parameters"]["tier"] == {
        "componentInputParameter": "attack_tier"
    }
    assert tasks["gate"]["inputs"]["parameters"]["allow_masking_flags"] == {
        "componentInputParameter": "allow_masking_flags"
    }


def test_train_passes_adversarial_training_with_the_core_defaults(documents):
    import inspect

    from kfp_mlsecops.components import train
    from kfp_mlsecops.training import train_model

    task = documents[0]["root"]["dag"]["tasks"]["train"]
    assert task["inputs"]["parameters"]["adversarial"] == {
        "componentInputParameter": "adversarial_training"
    }
    root = documents[0]["root"]["inputDefinitions"]["parameters"]
    assert root["adversarial_training"]["defaultValue"] == "none"
    component = inspect.signature(train.python_func).parameters
    core = inspect.signature(train_model).parameters
    for name in ("adversarial", "adv_epsilon", "adv_steps"):
        assert component[name].default == core[name].default, name


DIGEST = "@sha256:" + "c" * 64


def test_compile_points_every_component_and_the_predictor_at_a_users_registry(tmp_path, capsys):
    from kfp_mlsecops.cli.main import main

    out = tmp_path / "release.yaml"
    image, predictor = f"registry.example/mlsecops{DIGEST}", f"registry.example/pred{DIGEST}"
    argv = ["compile", "--output", str(out), "--pipeline", "secure-release"]
    assert main([*argv, "--image", image, "--predictor-image", predictor]) == 0
    assert "warning" not in capsys.readouterr().err  # digests: nothing to warn about
    pipeline, _ = yaml.safe_load_all(out.read_text())
    assert pipeline["pipelineInfo"]["name"] == "secure-release"
    images = {
        name: executor["container"]["image"]
        for name, executor in pipeline["deploymentSpec"]["executors"].items()
        if "container" in executor
    }
    assert len(images) == 7 and set(images.values()) == {image}
    root = pipeline["root"]["inputDefinitions"]["parameters"]
    assert root["predictor_image"]["defaultValue"] == predictor
    deploy = pipeline["root"]["dag"]["tasks"]["deploy"]["inputs"]["parameters"]
    assert deploy["predictor_image"] == {"componentInputParameter": "predictor_image"}
    # the committed YAML and later compiles keep the project image
    assert stale_files() == {}


def test_compile_warns_on_tags_and_refuses_bad_references(tmp_path, capsys):
    from kfp_mlsecops.cli.main import main

    out = tmp_path / "p.yaml"
    assert main(["compile", "--output", str(out), "--image", "registry.example/m:1.0"]) == 0
    assert "--image registry.example/m:1.0 is a tag, not a digest" in capsys.readouterr().err
    assert main(["compile", "--output", str(out), "--predictor-image", "Not An Image"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--predictor-image 'Not An Image' is not an image" in err
    assert main(["compile", "--image", f"registry.example/m{DIGEST}"]) == 2
    assert "--image need(s) --output" in capsys.readouterr().err


def test_deploy_wait_and_canary_defaults_match_the_core(any_pipeline):
    """The component's literal default (its source travels alone) equals the core's constant."""
    spec = any_pipeline[0]
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert inputs["deploy_wait_seconds"]["defaultValue"] == C.DEPLOY_WAIT_SECONDS
    assert inputs["canary_traffic_percent"]["defaultValue"] == -1
    deploy = spec["components"]["comp-deploy"]["inputDefinitions"]["parameters"]
    assert deploy["wait_timeout_seconds"]["defaultValue"] == C.DEPLOY_WAIT_SECONDS
    assert deploy["canary_traffic_percent"]["defaultValue"] == -1
    executor = next(
        e for name, e in spec["deploymentSpec"]["executors"].items() if name == "exec-deploy"
    )
    source = executor["container"]["command"][-1]
    assert "wait_timeout_seconds: int = 300," in source
    assert "DEPLOY_WAIT_SECONDS" not in source
