"""Compile-time CPU, memory and accelerator per step: the right steps get them, nothing else."""

from __future__ import annotations

import pytest
import yaml

from kfp_mlsecops.cli.main import main
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML, RELEASE_YAML, compile_pipeline
from kfp_mlsecops.pipelines.resources import (
    STEP_NAMES,
    ResourcePlan,
    StepResources,
    plan_from_options,
)

GPU = {
    "type": "nvidia.com/gpu",
    "resourceType": "nvidia.com/gpu",
    "count": "2",
    "resourceCount": "2",
}


def _resources(path) -> dict[str, dict | None]:
    pipeline = next(yaml.safe_load_all(path.read_text()))
    return {
        name.removeprefix("exec-"): executor["container"].get("resources")
        for name, executor in pipeline["deploymentSpec"]["executors"].items()
        if "container" in executor
    }


@pytest.fixture(scope="module")
def training(tmp_path_factory) -> dict[str, dict | None]:
    out = tmp_path_factory.mktemp("resources") / "training.yaml"
    argv = ["compile", "--output", str(out), "--cpu-request", "500m", "--cpu-limit", "2"]
    argv += ["--cpu-limit", "train=4", "--memory-request", "train=4Gi", "--memory-limit", "8Gi"]
    argv += ["--accelerator", "nvidia.com/gpu:2", "--accelerator-steps", "train,attack-test"]
    assert main(argv) == 0
    return _resources(out)


def test_every_step_gets_the_default_and_train_its_overrides(training):
    assert set(training) == {
        "validate-data",
        "train",
        "attack-test",
        "attest-robustness",
        "sign-model",
        "gate",
        "deploy",
    }
    for step, resources in training.items():
        assert resources["resourceCpuRequest"] == "500m", step
        assert resources["resourceMemoryLimit"] == "8Gi", step
        expected_limit = "4" if step == "train" else "2"
        assert resources["resourceCpuLimit"] == expected_limit, step
        assert ("resourceMemoryRequest" in resources) is (step == "train"), step
    assert training["train"]["resourceMemoryRequest"] == "4Gi"
    assert training["train"]["cpuLimit"] == 4.0 and training["gate"]["cpuRequest"] == 0.5


def test_only_the_accelerator_steps_get_the_accelerator(training):
    with_gpu = {step for step, resources in training.items() if "accelerator" in resources}
    assert with_gpu == {"train", "attack-test"}
    assert training["train"]["accelerator"] == GPU == training["attack-test"]["accelerator"]


def test_the_cli_warns_that_the_default_image_has_no_gpu_tensorflow(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    argv = ["compile", "--output", str(out), "--accelerator", "amd.com/gpu"]
    assert main([*argv, "--accelerator-steps", "train"]) == 0
    assert "EXTRAS=gpu" in capsys.readouterr().err
    assert _resources(out)["train"]["accelerator"]["resourceCount"] == "1"


def test_every_attack_shard_gets_the_step_values(tmp_path):
    plan = ResourcePlan(steps={"attack-test": StepResources(accelerator_type="nvidia.com/gpu")})
    path = compile_pipeline(tmp_path / "s.yaml", attack_shards=2, resources=plan)
    resources = _resources(path)
    assert resources.pop("attack-test")["accelerator"]["resourceCount"] == "1"
    assert "merge-attack-results" in resources
    assert all(r is None for r in resources.values())


def test_release_steps_include_import_model_and_exclude_train(tmp_path):
    plan = ResourcePlan(steps={"import-model": StepResources(memory_limit="16Gi")})
    path = compile_pipeline(tmp_path / "r.yaml", pipeline="secure-release", resources=plan)
    resources = _resources(path)
    assert resources.pop("import-model") == {
        "memoryLimit": 17.179869184,
        "resourceMemoryLimit": "16Gi",
    }
    assert all(r is None for r in resources.values())  # the others (importers: no container)
    with pytest.raises(InvalidInputError, match="step 'train' is not in secure-release"):
        compile_pipeline(
            tmp_path / "x.yaml",
            pipeline="secure-release",
            resources=ResourcePlan(steps={"train": StepResources(cpu_limit="1")}),
        )


def test_the_committed_yaml_has_no_resources():
    for path in (PIPELINE_YAML, RELEASE_YAML):
        assert all(r is None for r in _resources(path).values()), path
    assert plan_from_options() is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cpu-limit", "abc"], "--cpu-limit 'abc': 'abc' is not a CPU quantity; use cores"),
        (["--cpu-request", "0"], "--cpu-request '0': '0' is not a CPU quantity"),
        (["--cpu-limit", "trian=2"], "--cpu-limit 'trian=2': 'trian' is not a step; use one of"),
        (["--memory-limit", "4GB"], "--memory-limit '4GB': '4GB' is not a memory quantity"),
        (["--memory-request", "1.5Gi"], "'1.5Gi' is not a memory quantity; use a whole number"),
        (["--cpu-limit", "2", "--cpu-limit", "3"], "'3': every step has a value already"),
        (["--cpu-request", "train=4", "--cpu-limit", "2"], "step train: cpu request 4 exceeds"),
        (["--memory-request", "1G", "--memory-limit", "512Mi"], "memory request 1G exceeds"),
        (["--accelerator", "nvidia.com/gpu"], "--accelerator and --accelerator-steps go together"),
        (["--accelerator-steps", "train"], "--accelerator and --accelerator-steps go together"),
        (
            ["--accelerator", "gpu", "--accelerator-steps", "train"],
            "--accelerator 'gpu': 'gpu' is not an accelerator resource; use vendor/name",
        ),
        (
            ["--accelerator", "nvidia.com/gpu:0", "--accelerator-steps", "train"],
            "'0' is not a count; use TYPE:N with N >= 1",
        ),
        (
            ["--accelerator", "nvidia.com/gpu", "--accelerator-steps", "train,gpu"],
            "--accelerator-steps 'train,gpu': 'gpu' is not a step",
        ),
        (
            ["--pipeline", "secure-release", "--accelerator", "nvidia.com/gpu"]
            + ["--accelerator-steps", "train"],
            "step 'train' is not in secure-release; its steps:",
        ),
    ],
)
def test_bad_options_fail_with_one_line_naming_the_flag(tmp_path, capsys, argv, message):
    out = tmp_path / "p.yaml"
    assert main(["compile", "--output", str(out), *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlsecops compile: error: ") and message in err
    assert err.count("\n") == 0
    assert not out.exists()


def test_resource_flags_need_output(capsys):
    assert main(["compile", "--cpu-limit", "2"]) == 2
    assert "--cpu-limit need(s) --output" in capsys.readouterr().err


def test_the_python_api_validates_too():
    with pytest.raises(InvalidInputError, match="accelerator_count needs accelerator_type"):
        StepResources(accelerator_count=1)
    with pytest.raises(InvalidInputError, match="accelerator_count: 0 is not a count"):
        StepResources(accelerator_type="nvidia.com/gpu", accelerator_count=0)
    with pytest.raises(InvalidInputError, match="cpu_limit: '2 cores' is not a CPU quantity"):
        StepResources(cpu_limit="2 cores")
    with pytest.raises(InvalidInputError, match="step 'trian' is unknown"):
        ResourcePlan(steps={"trian": StepResources()})
    plan = ResourcePlan(
        default=StepResources(cpu_limit="2", memory_limit="1Gi"),
        steps={"train": StepResources(cpu_limit="4000m")},
    )
    assert plan.for_step("train") == StepResources(cpu_limit="4000m", memory_limit="1Gi")
    assert plan.for_step("gate") == plan.default


def test_the_help_lists_every_step(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside attack-test
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    help_text = capsys.readouterr().out
    for step in STEP_NAMES:
        assert step in help_text, step
