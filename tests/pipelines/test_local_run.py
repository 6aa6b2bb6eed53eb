"""The whole pipeline on the real KFP local runner: approve, block on policy, block on tampering.

These run kfp.local.SubprocessRunner(use_venv=False): every component executes in a subprocess
exactly as its compiled command line says, with real artifacts passed between tasks.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
import json
import shutil
from pathlib import Path

import pytest
import yaml
from _leaks import assert_no_key_material
from kfp import dsl, local
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import LocalRun, run_pipeline_locally
from kfp_mlsecops.components import attest_robustness, deploy, gate, sign_model
from kfp_mlsecops.components._image import IMAGE

pytestmark = pytest.mark.slow

FAST = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10}


@pytest.fixture(scope="module")
def approved_run(tmp_path_factory) -> LocalRun:
    return run_pipeline_locally(output_dir=tmp_path_factory.mktemp("approved"), arguments=FAST)


def _manifests(run: LocalRun) -> list[Path]:
    return sorted(run.run_dir.glob("pipeline-root/*/deploy/manifest"))


def test_default_policy_approves_and_deploy_dry_runs(approved_run: LocalRun):
    assert approved_run.succeeded, approved_run.error
    decision = approved_run.decision
    assert decision is not None
    assert decision[C.DECISION] == C.DECISION_APPROVED and decision[C.BLESSED] is True
    assert [c["id"] for c in decision[C.CONTROLS]] == list(C.REQUIRED_CONTROLS)
    assert decision[C.POLICY]["allow_masking_flags"] == []
    (manifest,) = _manifests(approved_run)
    isvc = yaml.safe_load(manifest.read_text())
    assert isvc["kind"] == "InferenceService"
    assert isvc["spec"]["predictor"]["model"]["modelFormat"]["name"] == "tensorflow"
    model_dir = approved_run.task_root / "train" / "model"
    assert (model_dir / C.SAVEDMODEL_VERSION_DIR / "saved_model.pb").is_file()
    assert (model_dir / C.KERAS_FILE).is_file()
    # the signature and the attestation sit outside the model directory
    assert (approved_run.task_root / "sign-model" / "signature").is_file()
    assert not any(p.name.endswith(".sig") for p in model_dir.rglob("*"))
    attestation = json.loads(approved_run.reports["robustness attestation"].read_text())
    assert attestation["payloadType"] == C.IN_TOTO_PAYLOAD_TYPE
    controls = {c["id"]: c for c in decision[C.CONTROLS]}
    assert controls["robustness_attestation"]["measured"] == decision[C.MODEL_DIGEST]
    assert controls["model_scan"]["measured"] == 0


def test_attack_step_writes_an_html_report_the_summary_lists(approved_run: LocalRun):
    html = approved_run.reports["robustness report (HTML)"]
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == 2  # curve + digits examples
    assert "<th>tier</th><td>fast</td>" in page
    results = json.loads(approved_run.reports["robustness results"].read_text())
    assert results["tier"] == "fast"
    assert [f["id"] for f in results["masking"]] == list(C.MASKING_FLAGS)
    output = json.loads(
        (approved_run.task_root / "attack-test" / "executor_output.json").read_text()
    )
    (logged,) = output["artifacts"]["metrics"]["artifacts"]
    metrics = logged["metadata"]
    assert {metrics[f"masking.{flag}"] for flag in C.MASKING_FLAGS} <= {0.0, 1.0}
    assert metrics["robust_accuracy.worst_case.eps_0.1"] == next(
        w["robust_accuracy"] for w in results["worst_case"] if w["epsilon"] == 0.1
    )


def test_impossible_robustness_threshold_blocks_at_the_gate(tmp_path):
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments={**FAST, "min_robust_accuracy": 1.0, "robust_epsilon": 0.1},
    )
    assert run.blocked_by_gate
    assert "deploy" not in run.statuses
    assert _manifests(run) == []
    assert run.error is not None and run.error[0] == "GateRejected"
    assert run.decision is not None and run.decision[C.BLESSED] is False
    failed = [c["id"] for c in run.decision[C.CONTROLS] if not c["passed"]]
    assert failed == ["robust_accuracy"]


# --- pipelines that reuse the approved run's model and inject an attacker's step ----------------


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def flip_one_byte(model: Input[Model]):
    """The attacker: change one byte of the model after it was signed."""
    import pathlib

    target = pathlib.Path(model.path) / "model.keras"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def forge_results(results: Output[Artifact], payload: str):
    """The attacker: robustness results whose numbers are crafted strings."""
    with open(results.path, "w") as handle:
        handle.write(payload)


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def forge_decision(decision: Output[Artifact], payload: str):
    """The attacker: a decision file that claims approval with strings, not typed values."""
    with open(decision.path, "w") as handle:
        handle.write(payload)


POLICY = {
    "min_clean_accuracy": 0.5,
    "min_robust_accuracy": 0.0,
    "robust_attack": "pgd",
    "robust_epsilon": 0.05,
}
#: The dataset digest recorded in the test pipelines' attestations.
DATA_DIGEST = "sha256:" + "ab" * 32


def _copy_model(run: LocalRun, tmp_path: Path) -> str:
    target = tmp_path / "model"
    shutil.copytree(run.task_root / "train" / "model", target)
    return str(target)


def _run(pipeline, tmp_path: Path, **arguments) -> Path:
    root = tmp_path / "root"
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=False
    )
    pipeline(**arguments)
    (run_dir,) = root.iterdir()
    return run_dir


def _keys(run: LocalRun) -> dict[str, str]:
    keys = run.run_dir / "throwaway-keys"
    return {
        "private_key": str(keys / C.SIGNING_KEY_FILE),
        "public_key": str(keys / C.VERIFY_KEY_FILE),
    }


@dsl.pipeline(name="tamper-after-signing")
def tamper_after_signing(model_uri: str, results_uri: str, private_key: str, public_key: str):
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    results = dsl.importer(artifact_uri=results_uri, artifact_class=Artifact, reimport=True)
    signed = sign_model(model=model.output, private_key_path=private_key)
    attested = attest_robustness(
        model=model.output,
        results=results.output,
        data_digest=DATA_DIGEST,
        private_key_path=private_key,
        **POLICY,
    )
    tampered = flip_one_byte(model=model.output).after(signed, attested)
    gated = gate(
        model=model.output,
        signature=signed.outputs["signature"],
        results=results.output,
        attestation=attested.outputs["attestation"],
        public_key_path=public_key,
        **POLICY,
    ).after(tampered)
    deploy(
        model=model.output,
        decision=gated.outputs["decision"],
        verified_digest=gated.outputs["model_digest"],
        signature=signed.outputs["signature"],
        attestation=attested.outputs["attestation"],
        public_key_path=public_key,
        service_name="tampered",
        namespace="default",
    )


def test_model_changed_after_signing_is_blocked(approved_run: LocalRun, tmp_path):
    run_dir = _run(
        tamper_after_signing,
        tmp_path,
        model_uri=_copy_model(approved_run, tmp_path),
        results_uri=str(approved_run.reports["robustness results"]),
        **_keys(approved_run),
    )
    decision = json.loads((run_dir / "gate" / "decision").read_text())
    assert decision[C.BLESSED] is False
    signature = next(c for c in decision[C.CONTROLS] if c["id"] == "signature")
    assert signature["passed"] is False
    assert not (run_dir / "deploy").exists()


@dsl.pipeline(name="forged-results")
def forged_results(
    model_uri: str, results_uri: str, payload: str, private_key: str, public_key: str
):
    """The genuine results are attested; the attacker hands the gate other results."""
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    results = dsl.importer(artifact_uri=results_uri, artifact_class=Artifact, reimport=True)
    signed = sign_model(model=model.output, private_key_path=private_key)
    attested = attest_robustness(
        model=model.output,
        results=results.output,
        data_digest=DATA_DIGEST,
        private_key_path=private_key,
        **POLICY,
    )
    forged = forge_results(payload=payload)
    gated = gate(
        model=model.output,
        signature=signed.outputs["signature"],
        results=forged.outputs["results"],
        attestation=attested.outputs["attestation"],
        public_key_path=public_key,
        **POLICY,
    )
    deploy(
        model=model.output,
        decision=gated.outputs["decision"],
        verified_digest=gated.outputs["model_digest"],
        signature=signed.outputs["signature"],
        attestation=attested.outputs["attestation"],
        public_key_path=public_key,
        service_name="forged",
        namespace="default",
    )


def test_forged_results_pipeline_approves_genuine_results(approved_run, tmp_path):
    """Control for the test below: the same pipeline with the real results is approved."""
    run_dir = _run(
        forged_results,
        tmp_path,
        model_uri=_copy_model(approved_run, tmp_path),
        results_uri=str(approved_run.reports["robustness results"]),
        payload=approved_run.reports["robustness results"].read_text(),
        **_keys(approved_run),
    )
    decision = json.loads((run_dir / "gate" / "decision").read_text())
    assert decision[C.BLESSED] is True
    assert (run_dir / "deploy" / "manifest").exists()


def _still_passing(accuracy: float) -> float:
    """Another clean accuracy that still meets POLICY (0.5)."""
    return 0.999 if accuracy != 0.999 else 0.998


def test_well_formed_results_other_than_the_attested_ones_are_blocked(approved_run, tmp_path):
    """Results edited after attestation, still well formed and passing: only the attestation
    control can tell, and it blocks."""
    real = json.loads(approved_run.reports["robustness results"].read_text())
    run_dir = _run(
        forged_results,
        tmp_path,
        model_uri=_copy_model(approved_run, tmp_path),
        results_uri=str(approved_run.reports["robustness results"]),
        payload=json.dumps({**real, C.CLEAN_ACCURACY: _still_passing(real[C.CLEAN_ACCURACY])}),
        **_keys(approved_run),
    )
    decision = json.loads((run_dir / "gate" / "decision").read_text())
    assert decision[C.BLESSED] is False
    failed = [c["id"] for c in decision[C.CONTROLS] if not c["passed"]]
    assert failed == ["robustness_attestation"]
    assert not (run_dir / "deploy").exists()


def _results_with(approved_run: LocalRun, **overrides) -> str:
    results = json.loads(approved_run.reports["robustness results"].read_text())
    results.update(overrides)
    return json.dumps(results)


@pytest.mark.parametrize(
    "make_payload",
    [
        lambda run: _results_with(run, clean_accuracy="1.0' or True or '"),
        lambda run: _results_with(
            run,
            attacks=[
                {
                    "attack": "pgd",
                    "norm": "linf",
                    "epsilon": 0.05,
                    "robust_accuracy": "__import__('os').system('true') or 1",
                }
            ],
        ),
        lambda run: _results_with(run, clean_accuracy=True),
        lambda run: "approved' or True or 'x",
    ],
    ids=["quoted-or-true", "python-expression", "bool-as-number", "not-json"],
)
def test_gate_blocks_crafted_strings_in_its_inputs(approved_run, tmp_path, make_payload):
    """The crafted values travel through real artifacts into the real gate component."""
    run_dir = _run(
        forged_results,
        tmp_path,
        model_uri=_copy_model(approved_run, tmp_path),
        results_uri=str(approved_run.reports["robustness results"]),
        payload=make_payload(approved_run),
        **_keys(approved_run),
    )
    decision = json.loads((run_dir / "gate" / "decision").read_text())
    assert decision[C.BLESSED] is False and decision[C.DECISION] == C.DECISION_BLOCKED
    assert not (run_dir / "deploy").exists()


@dsl.pipeline(name="forged-decision")
def forged_decision(
    model_uri: str,
    signature_uri: str,
    attestation_uri: str,
    payload: str,
    digest: str,
    public_key: str,
):
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    signature = dsl.importer(artifact_uri=signature_uri, artifact_class=Artifact, reimport=True)
    attestation = dsl.importer(artifact_uri=attestation_uri, artifact_class=Artifact, reimport=True)
    forged = forge_decision(payload=payload)
    deploy(
        model=model.output,
        decision=forged.outputs["decision"],
        verified_digest=digest,
        signature=signature.output,
        attestation=attestation.output,
        public_key_path=public_key,
        service_name="forged",
        namespace="default",
    )


@pytest.mark.parametrize(
    ("overrides", "deployed"),
    [
        ({}, True),  # control: the genuine decision passes, so the refusals below mean something
        ({C.DECISION: "approved' or True or '", C.BLESSED: "True"}, False),
        ({C.BLESSED: 1}, False),
        ({C.MODEL_DIGEST: "sha256:" + "0" * 64}, False),
    ],
    ids=["genuine", "quoted-strings", "int-as-bool", "other-digest"],
)
def test_deploy_rechecks_the_decision(approved_run, tmp_path, overrides, deployed):
    real = json.loads(approved_run.reports["gate decision"].read_text())
    run_dir = _run(
        forged_decision,
        tmp_path,
        model_uri=_copy_model(approved_run, tmp_path),
        signature_uri=str(approved_run.task_root / "sign-model" / "signature"),
        attestation_uri=str(approved_run.reports["robustness attestation"]),
        payload=json.dumps({**real, **overrides}),
        digest=real[C.MODEL_DIGEST],
        public_key=_keys(approved_run)["public_key"],
    )
    assert (run_dir / "deploy" / "manifest").exists() is deployed


# --- nothing secret leaks: logs, artifacts, compiled YAML -----------------------------------------


def test_no_private_key_material_in_logs_artifacts_or_compiled_yaml(approved_run: LocalRun):
    from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML

    assert approved_run.succeeded and approved_run.keys_generated
    pem = (approved_run.run_dir / "throwaway-keys" / C.SIGNING_KEY_FILE).read_text()
    haystacks = [approved_run.log_path, PIPELINE_YAML]
    haystacks += sorted(
        p for p in (approved_run.run_dir / "pipeline-root").rglob("*") if p.is_file()
    )
    haystacks += sorted((PIPELINE_YAML.parents[1] / "components").glob("*/component.yaml"))
    # every task's outputs and executor files were looked at
    assert assert_no_key_material(pem, haystacks) > 20
    # no PEM block of any kind in the log or the compiled YAML: only key paths are passed
    for path in [approved_run.log_path, PIPELINE_YAML]:
        text = path.read_text()
        assert "PRIVATE KEY" not in text and "-----BEGIN" not in text, path
