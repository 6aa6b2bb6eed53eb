"""KFP's own Go backend (2.17.0, matching the kfp SDK pin) accepts every pipeline variant we ship.

`tests/infra/kfp-backend` builds `kfp-backend-check` from KFP's source: template parsing, the
upload-time name check, the argo compiler and Argo's workflow validation (with and without lint),
as the API server runs them when a run is created. Every variant passes; broken copies fail with
the backend's error. The compiled Workflows are then checked for what the backend does not check:
our image and every Secret/ConfigMap mount must reach the driver through the workflow arguments
(`implementations-*`, `kubernetes-comp-<component>`), since a dropped platform spec fails nowhere.

The binary is built by `make kfp-backend` (part of `make test`); when it cannot be built (no KFP
source: see tests/infra/kfp-backend/README.md) these tests fail with build.sh's one-line reason.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML, RELEASE_YAML

BUILD_SH = Path(__file__).resolve().parents[1] / "infra" / "kfp-backend" / "build.sh"
# A cold build compiles KFP's backend and Argo (7-14 min on 2 cores); a cached one returns at once.
BUILD_TIMEOUT_S = 3600.0
CHECK_TIMEOUT_S = 300.0
DIGEST_IMAGE = "registry.example.com/ml/kfp-mlsecops@sha256:" + "ab" * 32
#: secure-release has two inputs without defaults; its runs name them (as `mlsecops submit` does).
RELEASE_PARAMETERS = {"model_uri": "s3://models/digits/1", "data_uri": "s3://data/digits.npz"}

#: The variants we ship: name -> `mlsecops compile` arguments (None: the committed YAML).
VARIANTS: dict[str, list[str] | None] = {
    "committed-secure-training": None,
    "committed-secure-release": None,
    **{
        f"{pipeline}-{method}": ["--pipeline", pipeline, "--signing-method", method]
        for pipeline in ("secure-training", "secure-release")
        for method in ("key", "certificate", "sigstore")
    },
    "secure-training-shards": ["--pipeline", "secure-training", "--attack-shards", "2"],
    "secure-release-shards": ["--pipeline", "secure-release", "--attack-shards", "2"],
    "secure-training-own-image-resources": [
        *("--pipeline", "secure-training", "--image", DIGEST_IMAGE, "--attack-shards", "2"),
        *("--cpu-request", "1", "--memory-limit", "train=8Gi", "--accelerator", "nvidia.com/gpu:1"),
        *("--accelerator-steps", "train,attack-test"),
    ],
}
COMMITTED = {"committed-secure-training": PIPELINE_YAML, "committed-secure-release": RELEASE_YAML}


#: build.sh's exit code when no KFP source can be obtained (and only then).
SOURCE_UNAVAILABLE = 3


def _run_build() -> Path:
    # Own process group, so a timeout stops `go build` and the compilers too, not just bash.
    process = subprocess.Popen(
        ["bash", str(BUILD_SH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{BUILD_SH}: no result after {BUILD_TIMEOUT_S:.0f} s; run it by hand")
    lines = stdout.strip().splitlines()
    reason = (stderr.strip().splitlines() or ["no output"])[-1]
    if process.returncode == SOURCE_UNAVAILABLE:
        # The only case reported as not run: KFP's Go source cannot be had on this machine
        # (the module proxy refuses KFP's versions, GitHub unreachable; docs/verification.md,
        # "Not run here").
        pytest.skip(f"KFP backend check not run: {reason}")
    if process.returncode != 0 or not lines:
        pytest.fail(
            f"kfp-backend-check could not be built (exit {process.returncode}): {reason}",
            pytrace=False,
        )
    return Path(lines[-1])


@pytest.fixture(scope="module")
def backend_check() -> Path:
    """The kfp-backend-check binary (built by tests/infra/kfp-backend/build.sh, cached)."""
    return _run_build()


def _check(
    binary: Path,
    files: list[Path],
    workflow_dir: Path | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[Path, str]:
    """Run the backend on `files`; return each file's result line ('OK' or 'FAIL: ...')."""
    args = [str(binary)]
    if workflow_dir is not None:
        args += ["-workflow-dir", str(workflow_dir)]
    if parameters:
        args += ["-parameters", json.dumps(parameters)]
    done = subprocess.run(
        [*args, *map(str, files)], capture_output=True, text=True, timeout=CHECK_TIMEOUT_S
    )
    assert done.returncode in (0, 1), f"exit {done.returncode}: {done.stderr}"
    results: dict[Path, str] = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        path, _, error = rest.partition(": ") if status == "FAIL" else (rest, "", "")
        results[Path(path)] = "OK" if status == "OK" else f"FAIL: {error}"
    assert set(results) == set(files), done.stdout
    assert (done.returncode == 0) == all(r == "OK" for r in results.values()), done.stdout
    return results


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every variant compiled (or committed) to YAML."""
    out = tmp_path_factory.mktemp("variants")
    paths: dict[str, Path] = {}
    for name, argv in VARIANTS.items():
        if argv is None:
            paths[name] = COMMITTED[name]
            continue
        paths[name] = out / f"{name}.yaml"
        assert main(["compile", "--output", str(paths[name]), *argv]) == 0, name
    return paths


@pytest.fixture(scope="module")
def checked(
    backend_check: Path, compiled: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Each variant's backend result and, when it passed, its compiled Argo Workflow."""
    workflows = tmp_path_factory.mktemp("workflows")
    # The committed files keep their names (secure_training.yaml): the JSON names stay unique.
    release = [path for name, path in compiled.items() if "release" in name]
    training = [path for path in compiled.values() if path not in release]
    results = _check(backend_check, training, workflows)
    results |= _check(backend_check, release, workflows, RELEASE_PARAMETERS)
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for name, path in compiled.items():
        workflow_json = workflows / f"{path.stem}.json"
        workflow = json.loads(workflow_json.read_text()) if workflow_json.exists() else None
        out[name] = (results[path], workflow)
    return out


def _documents(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline, platform = yaml.safe_load_all(path.read_text())
    return pipeline, platform


def _arguments(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow's arguments by name (values are strings; protos are stored as JSON)."""
    return {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}


def _driver_arguments(workflow: dict[str, Any], parameter: str) -> set[str]:
    """The values the DAG tasks (the drivers) pass as `parameter`."""
    return {
        param["value"]
        for template in workflow["spec"]["templates"]
        for task in (template.get("dag") or {}).get("tasks", [])
        for param in (task.get("arguments") or {}).get("parameters", [])
        if param["name"] == parameter
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_kfp_backend_accepts_every_shipped_variant(checked, variant):
    result, workflow = checked[variant]
    assert result == "OK"
    assert workflow is not None and workflow["kind"] == "Workflow"


@pytest.mark.parametrize("variant", VARIANTS)
def test_compiled_workflow_runs_our_image_in_every_executor(checked, compiled, variant):
    pipeline, _ = _documents(compiled[variant])
    expected = DIGEST_IMAGE if "--image" in (VARIANTS[variant] or []) else C.DEFAULT_IMAGE
    # (secure-release also has an importer executor: no container, no image.)
    containers = [
        e["container"] for e in pipeline["deploymentSpec"]["executors"].values() if "container" in e
    ]
    assert {c["image"] for c in containers} == {expected}

    workflow = checked[variant][1]
    arguments = _arguments(workflow)
    implementations = {
        name: json.loads(value)
        for name, value in arguments.items()
        if name.startswith("implementations-")
    }
    implementations = {k: v for k, v in implementations.items() if "image" in v}  # not importers
    # One implementation per distinct container, exactly as the pipeline spec states it
    # (image, command, args, resources and accelerators).
    assert {impl["image"] for impl in implementations.values()} == {expected}
    assert all(impl in containers for impl in implementations.values())
    assert all(container in implementations.values() for container in containers)

    # Every task's driver is handed one of them; Argo's own templates run only KFP's driver and
    # launcher images, so our image reaches the pod through the driver alone.
    handed = _driver_arguments(workflow, "container")
    assert handed == {f"{{{{workflow.parameters.{name}}}}}" for name in implementations}
    assert expected not in json.dumps(workflow["spec"]["templates"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_mount_reaches_the_driver(checked, compiled, variant):
    pipeline, platform = _documents(compiled[variant])
    workflow = checked[variant][1]
    arguments = _arguments(workflow)
    executor_configs = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]

    # Each component whose executor has Kubernetes settings gets them, verbatim, as
    # kubernetes-comp-<component>; nothing else carries Kubernetes settings.
    expected = {
        f"kubernetes-{name}": executor_configs[component["executorLabel"]]
        for name, component in pipeline["components"].items()
        if component.get("executorLabel") in executor_configs
    }
    actual = {k: json.loads(v) for k, v in arguments.items() if k.startswith("kubernetes-comp-")}
    assert actual == expected
    assert set(executor_configs) <= {
        pipeline["components"][k.removeprefix("kubernetes-")]["executorLabel"] for k in actual
    }

    # The signing steps mount the signing Secret, gate and deploy the verify ConfigMap.
    def mounts(component: str, kind: str) -> set[str]:
        return {m["mountPath"] for m in actual[f"kubernetes-comp-{component}"].get(kind, [])}

    for component in ("sign-model", "attest-robustness"):
        assert C.SIGNING_KEY_MOUNT in mounts(component, "secretAsVolume"), component
    for component in ("gate", "deploy"):
        assert C.VERIFY_KEY_MOUNT in mounts(component, "configMapAsVolume"), component
    assert C.APPROVAL_KEY_MOUNT in mounts("gate", "secretAsVolume")
    assert C.APPROVAL_VERIFY_MOUNT in mounts("deploy", "configMapAsVolume")

    # ...and the driver of each such task is handed that argument.
    handed = _driver_arguments(workflow, "kubernetes-config")
    assert handed == {f"{{{{workflow.parameters.{name}}}}}" for name in expected}


# Broken copies of the committed secure-training YAML: name -> (how to break it, expected error).
def _drop_executor(pipeline, platform):
    del pipeline["deploymentSpec"]["executors"]["exec-train"]


def _unknown_dependency(pipeline, platform):
    pipeline["root"]["dag"]["tasks"]["gate"]["dependentTasks"].append("no-such-task")


def _bad_parameter_type(pipeline, platform):
    pipeline["root"]["inputDefinitions"]["parameters"]["signing_secret"]["parameterType"] = "TEXT"


def _misspelt_secret_field(pipeline, platform):
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    volume = executors["exec-sign-model"]["secretAsVolume"][0]
    volume["mountPth"] = volume.pop("mountPath")


def _missing_component(pipeline, platform):
    del pipeline["components"]["comp-gate"]


def _old_schema(pipeline, platform):
    pipeline["schemaVersion"] = "2.0.0"


def _misspelt_platform_key(pipeline, platform):
    platform["platform"] = platform.pop("platforms")


def _unknown_pipeline_config_field(pipeline, platform):
    platform["platforms"]["kubernetes"]["pipelineConfig"] = {"workspce": {}}


BROKEN = {
    "missing-executor": (_drop_executor, "exec-train"),
    "unknown-dependent-task": (_unknown_dependency, "no-such-task"),
    "bad-parameter-type": (_bad_parameter_type, "TEXT"),
    "misspelt-secretAsVolume-field": (_misspelt_secret_field, "mountPth"),
    "missing-component": (_missing_component, "comp-gate"),
    "schema-2.0.0": (_old_schema, "KFP only supports schema version 2.1.0"),
    # The backend itself ignores this document; kfp-backend-check's own check reports it.
    "misspelt-platform-key": (_misspelt_platform_key, "silently ignores a platform spec"),
    "unknown-pipelineConfig-field": (_unknown_pipeline_config_field, "KFP's backend kept 1"),
}


@pytest.fixture(scope="module")
def broken_results(backend_check: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("broken")
    files: dict[str, Path] = {}
    for name, (breaker, _) in BROKEN.items():
        pipeline, platform = (copy.deepcopy(d) for d in _documents(PIPELINE_YAML))
        breaker(pipeline, platform)
        files[name] = out / f"{name}.yaml"
        files[name].write_text(yaml.safe_dump_all([pipeline, platform], sort_keys=False))
    results = _check(backend_check, list(files.values()))
    return {name: results[path] for name, path in files.items()}


@pytest.mark.parametrize("name", BROKEN)
def test_kfp_backend_rejects_a_broken_spec_with_a_clear_error(broken_results, name):
    result = broken_results[name]
    assert result.startswith("FAIL: ")
    assert BROKEN[name][1] in result, result


def test_a_yaml_syntax_error_fails_instead_of_hanging(backend_check, tmp_path):
    # KFP's template.New loops forever on a YAML syntax error; kfp-backend-check decodes first.
    path = tmp_path / "syntax.yaml"
    path.write_text(PIPELINE_YAML.read_text().replace("pipelineInfo:", "pipelineInfo: [", 1))
    (result,) = _check(backend_check, [path]).values()
    assert result.startswith("FAIL: cannot decode YAML"), result


def test_an_unbroken_round_trip_passes(backend_check, tmp_path):
    # The broken copies go through PyYAML; the same round trip without a change must pass, so
    # each failure above is the change's.
    pipeline, platform = _documents(PIPELINE_YAML)
    path = tmp_path / "round-trip.yaml"
    path.write_text(yaml.safe_dump_all([pipeline, platform], sort_keys=False))
    assert _check(backend_check, [path]) == {path: "OK"}


def test_the_backend_release_matches_the_kfp_sdk_pin():
    # KFP ships SDK 2.17.x with backend 2.17.0: a new SDK minor needs a new backend here too.
    tag = re.search(r"^kfp_tag=(\S+)$", BUILD_SH.read_text(), re.MULTILINE)
    assert tag, "build.sh has no kfp_tag= line"
    sdk = importlib.metadata.version("kfp")
    assert tag.group(1).split(".")[:2] == sdk.split(".")[:2], (tag.group(1), sdk)


def test_build_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck missing: `make test-deps` installs it (apt: shellcheck)"
    done = subprocess.run([shellcheck, str(BUILD_SH)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
