"""The whole pipeline on the real KFP local runner: approve, and block every attack the review
found (and the next ones) with a reason naming the control that failed.

These run kfp.local.SubprocessRunner(use_venv=False): every component executes in a subprocess
exactly as its compiled command line says, with real artifacts passed between tasks. The
attacker pipelines reuse the approved run's model, results and test split (dsl.importer) and add
one attacker step where the review placed one: a compromised step's output, a write to the
artifact store, or a forged file handed to deploy.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
import json
import shutil
from pathlib import Path

import pytest
import yaml
from _leaks import assert_no_key_material
from kfp import dsl, local
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import LocalRun, run_pipeline_locally
from kfp_mlsecops.components import attack_test, attest_robustness, deploy, gate, sign_model
from kfp_mlsecops.components._image import IMAGE

pytestmark = pytest.mark.slow

FAST = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10}


@pytest.fixture(scope="module")
def approved_run(tmp_path_factory) -> LocalRun:
    return run_pipeline_locally(output_dir=tmp_path_factory.mktemp("approved"), arguments=FAST)


def _manifests(run: LocalRun) -> list[Path]:
    return sorted(run.run_dir.glob("pipeline-root/*/deploy/manifest"))


def _failed(decision: dict) -> set:
    """Controls that failed for their own reason (not only because re-derivation could not run)."""
    return {
        c["id"]
        for c in decision[C.CONTROLS]
        if not c["passed"] and not c["detail"].startswith("not re-derived")
    }


def test_default_policy_approves_and_deploys_the_verified_predictor(approved_run: LocalRun):
    """Finding 5: the default predictor re-checks signature, attestation and approval."""
    assert approved_run.succeeded, approved_run.error
    decision = approved_run.decision
    assert decision is not None
    assert decision[C.DECISION] == C.DECISION_APPROVED and decision[C.BLESSED] is True
    assert [c["id"] for c in decision[C.CONTROLS]] == list(C.REQUIRED_CONTROLS)
    assert decision[C.POLICY]["allow_masking_flags"] == []
    assert decision["floor"]["source"] == "builtin"
    assert decision["rederivation"]["unreproduced"] == 0
    (manifest,) = _manifests(approved_run)
    config_map, isvc = yaml.safe_load_all(manifest.read_text())
    assert set(config_map["data"]) == {C.SIGNATURE_FILE, C.ATTESTATION_FILE, C.APPROVAL_FILE}
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert "--approval" in container["args"] and "--policy" in container["args"]
    model_dir = approved_run.task_root / "train" / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        C.SAVEDMODEL_VERSION_DIR,
        C.PROVENANCE_FILE,
        C.REFERENCE_STATS_FILE,
    ]
    assert approved_run.reports["signed approval"].is_file()
    # the signature and the attestation sit outside the model directory
    assert (approved_run.task_root / "sign-model" / "signature").is_file()
    assert not any(p.name.endswith(".sig") for p in model_dir.rglob("*"))
    attestation = json.loads(approved_run.reports["robustness attestation"].read_text())
    assert attestation["payloadType"] == C.IN_TOTO_PAYLOAD_TYPE


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
    assert _failed(run.decision) == {"robust_accuracy"}
    assert not run.reports.get("signed approval")


def test_finding_4_lax_run_parameters_are_blocked_by_the_floor(tmp_path):
    """min robust 0 at epsilon 0 with PGD-1 and every masking flag waived: not approved."""
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments={
            "epochs": 3,
            "epsilons": [0.0],
            "pgd_steps": 1,
            "min_robust_accuracy": 0.0,
            "robust_epsilon": 0.0,
            "allow_masking_flags": list(C.MASKING_FLAGS),
        },
    )
    assert run.blocked_by_gate and _manifests(run) == []
    assert _failed(run.decision) == {"policy_floor"}
    detail = next(c for c in run.decision[C.CONTROLS] if c["id"] == "policy_floor")["detail"]
    assert "steps=1 is below the floor" in detail and "was not evaluated" in detail
    assert run.decision[C.POLICY]["allow_masking_flags"] == []
    assert "policy_floor" in run.error[1]


# --- pipelines that reuse the approved run's outputs and inject an attacker's step --------------


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def tamper_model(model: Input[Model], how: str):
    """The attacker with write access to the model artifact (before or after signing)."""
    import pathlib
    import shutil

    root = pathlib.Path(model.path)
    if how == "flip-byte":
        target = root / "1" / "variables" / "variables.index"
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif how == "empty-version":
        (root / "2").mkdir()
    elif how == "second-version":
        shutil.copytree(root / "1", root / "2")
    elif how == "keras-file":
        (root / "model.keras").write_bytes(b"another loadable form")
    elif how != "none":
        raise ValueError(how)


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def forge_results(results: Output[Artifact], payload: str):
    """The attacker: a compromised attack-test writes these results (then they are attested)."""
    with open(results.path, "w") as handle:
        handle.write(payload)


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def forge_approval(approval: Output[Artifact], payload: str):
    """The attacker: hands deploy a file that claims approval."""
    with open(approval.path, "w") as handle:
        handle.write(payload)


POLICY = {
    "min_clean_accuracy": 0.5,
    "min_robust_accuracy": 0.1,
    "robust_attack": "worst_case",
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


def _inputs(run: LocalRun, tmp_path: Path) -> dict:
    keys = run.run_dir / "throwaway-keys"
    validate = run.task_root / "validate-data"
    digest = json.loads((validate / "executor_output.json").read_text())
    return {
        "model_uri": _copy_model(run, tmp_path),
        "test_uri": str(validate / "test_data"),
        "test_digest": digest["parameterValues"]["test_data_digest"],
        "private_key": str(keys / C.SIGNING_KEY_FILE),
        "public_key": str(keys / C.VERIFY_KEY_FILE),
        "approval_key": str(keys / "approval-private-key.pem"),
        "approval_public_key": str(keys / "approval-public-key.pem"),
    }


@dsl.pipeline(name="attacked-release")
def attacked_release(
    model_uri: str,
    results_uri: str,
    test_uri: str,
    test_digest: str,
    payload: str,
    before_signing: str,
    after_signing: str,
    private_key: str,
    public_key: str,
    approval_key: str,
    approval_public_key: str,
):
    """sign, attest, gate and deploy, with an attacker able to act at three places."""
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    test = dsl.importer(artifact_uri=test_uri, artifact_class=Dataset, reimport=True)
    forged = forge_results(payload=payload)
    early = tamper_model(model=model.output, how=before_signing)
    signed = sign_model(model=model.output, private_key_path=private_key).after(early)
    attested = attest_robustness(
        model=model.output,
        results=forged.outputs["results"],
        data_digest=DATA_DIGEST,
        private_key_path=private_key,
        **POLICY,
    ).after(early)
    late = tamper_model(model=model.output, how=after_signing).after(signed, attested)
    gated = gate(
        model=model.output,
        signature=signed.outputs["signature"],
        results=forged.outputs["results"],
        attestation=attested.outputs["attestation"],
        test_data=test.output,
        test_data_digest=test_digest,
        policy_path="",
        approval_key_path=approval_key,
        public_key_path=public_key,
        **POLICY,
    ).after(late)
    deploy(
        model=model.output,
        approval=gated.outputs["approval"],
        verified_digest=gated.outputs["model_digest"],
        signature=signed.outputs["signature"],
        attestation=attested.outputs["attestation"],
        policy_path="",
        approval_public_key_path=approval_public_key,
        public_key_path=public_key,
        service_name="attacked",
        namespace="default",
    )


def _attack(run: LocalRun, tmp_path: Path, *, payload=None, before="none", after="none"):
    genuine = run.reports["robustness results"]
    run_dir = _run(
        attacked_release,
        tmp_path,
        results_uri=str(genuine),
        payload=genuine.read_text() if payload is None else payload,
        before_signing=before,
        after_signing=after,
        **_inputs(run, tmp_path),
    )
    decision_file = run_dir / "gate" / "decision"
    decision = json.loads(decision_file.read_text()) if decision_file.exists() else None
    return run_dir, decision


def test_the_attacker_pipeline_approves_when_nothing_is_attacked(approved_run, tmp_path):
    """Control for the tests below: the same pipeline with genuine inputs is approved."""
    run_dir, decision = _attack(approved_run, tmp_path)
    assert decision[C.BLESSED] is True
    assert (run_dir / "deploy" / "manifest").exists()


def _forged_payload(run: LocalRun, how: str) -> str:
    import dataclasses

    import numpy as np

    from kfp_mlsecops.attacks.results import RobustnessResults

    doc = json.loads(run.reports["robustness results"].read_text())
    if how == "all-ones":  # the review's forgery: every number 1.0, the right digest
        doc[C.CLEAN_ACCURACY] = 1.0
        for row in doc[C.ATTACKS] + doc[C.WORST_CASE]:
            row[C.ROBUST_ACCURACY] = 1.0
        return json.dumps(doc)
    results = RobustnessResults.from_dict(doc)
    everything = dataclasses.replace(  # consistent: every point claimed clean and robust
        results,
        clean_correct=np.ones_like(results.clean_correct),
        outcomes={k: np.ones_like(v) for k, v in results.outcomes.items()},
    )
    return json.dumps(everything.to_dict())


@pytest.mark.parametrize("how", ["all-ones", "consistent"])
def test_finding_1_forged_results_attested_as_given_are_blocked(approved_run, tmp_path, how):
    run_dir, decision = _attack(approved_run, tmp_path, payload=_forged_payload(approved_run, how))
    assert decision[C.BLESSED] is False
    assert {"evidence.clean", "evidence.robust"} <= _failed(decision)
    assert not (run_dir / "deploy").exists()
    assert not (run_dir / "gate" / "approval").exists()


def test_finding_2_an_empty_version_folder_added_after_signing_is_blocked(approved_run, tmp_path):
    """Outside every digest: signature, attestation and evidence all still verify."""
    run_dir, decision = _attack(approved_run, tmp_path, after="empty-version")
    assert decision[C.BLESSED] is False and _failed(decision) == {"model_layout"}
    detail = next(c for c in decision[C.CONTROLS] if c["id"] == "model_layout")["detail"]
    assert "'2/' is an empty folder" in detail
    assert not (run_dir / "deploy").exists()


def test_finding_2_a_version_added_after_testing_never_gets_attested(approved_run, tmp_path, capfd):
    """'2/' written into the store between attack-test and signing: the results are not its."""
    run_dir, decision = _attack(approved_run, tmp_path, before="second-version")
    assert decision is None and not (run_dir / "deploy").exists()
    assert "were computed for model" in capfd.readouterr().out


@dsl.pipeline(name="tampered-training-output")
def tampered_training_output(model_uri: str, test_uri: str, how: str):
    """A compromised train step: the model folder carries a second loadable form."""
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    test = dsl.importer(artifact_uri=test_uri, artifact_class=Dataset, reimport=True)
    tampered = tamper_model(model=model.output, how=how)
    attack_test(model=model.output, test_data=test.output, epsilons=[0.05], pgd_steps=10).after(
        tampered
    )


@pytest.mark.parametrize("how", ["second-version", "keras-file", "empty-version"])
def test_finding_2_attack_test_refuses_a_model_it_would_not_be_testing(
    approved_run, tmp_path, capfd, how
):
    """What attack-test evaluates is what TF Serving serves, or attack-test fails."""
    inputs = _inputs(approved_run, tmp_path)
    run_dir = _run(
        tampered_training_output,
        tmp_path,
        model_uri=inputs["model_uri"],
        test_uri=inputs["test_uri"],
        how=how,
    )
    assert not (run_dir / "attack-test" / "results").exists()
    assert "keep exactly one SavedModel under '1/'" in capfd.readouterr().out


def test_model_changed_after_signing_is_blocked(approved_run, tmp_path):
    run_dir, decision = _attack(approved_run, tmp_path, after="flip-byte")
    assert decision[C.BLESSED] is False and "signature" in _failed(decision)
    assert not (run_dir / "deploy").exists()


def _results_with(run: LocalRun, **overrides) -> str:
    results = json.loads(run.reports["robustness results"].read_text())
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
    run_dir, decision = _attack(approved_run, tmp_path, payload=make_payload(approved_run))
    if decision is None:  # refused before the gate (attest-robustness reads strict JSON too)
        assert not (run_dir / "gate").exists()
    else:
        assert decision[C.BLESSED] is False and decision[C.DECISION] == C.DECISION_BLOCKED
    assert not (run_dir / "deploy").exists()


@dsl.pipeline(name="forged-approval")
def forged_approval(
    model_uri: str,
    signature_uri: str,
    attestation_uri: str,
    payload: str,
    digest: str,
    public_key: str,
    approval_public_key: str,
):
    model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=True)
    signature = dsl.importer(artifact_uri=signature_uri, artifact_class=Artifact, reimport=True)
    attestation = dsl.importer(artifact_uri=attestation_uri, artifact_class=Artifact, reimport=True)
    forged = forge_approval(payload=payload)
    deploy(
        model=model.output,
        approval=forged.outputs["approval"],
        verified_digest=digest,
        signature=signature.output,
        attestation=attestation.output,
        policy_path="",
        approval_public_key_path=approval_public_key,
        public_key_path=public_key,
        service_name="forged",
        namespace="default",
    )


@pytest.mark.parametrize(
    ("make_payload", "deployed"),
    [
        (lambda run: run.reports["signed approval"].read_text(), True),  # control: genuine
        (lambda run: run.reports["gate decision"].read_text(), False),  # approved, unsigned
        (
            lambda run: json.dumps(
                {**json.loads(run.reports["gate decision"].read_text()), "blessed": "True"}
            ),
            False,
        ),
        (lambda run: "approved' or True or 'x", False),
    ],
    ids=["genuine", "decision-json", "decision-with-strings", "not-json"],
)
def test_finding_3_deploy_acts_only_on_the_signed_approval(
    approved_run, tmp_path, make_payload, deployed
):
    inputs = _inputs(approved_run, tmp_path)
    run_dir = _run(
        forged_approval,
        tmp_path,
        model_uri=inputs["model_uri"],
        signature_uri=str(approved_run.task_root / "sign-model" / "signature"),
        attestation_uri=str(approved_run.reports["robustness attestation"]),
        payload=make_payload(approved_run),
        digest=approved_run.decision[C.MODEL_DIGEST],
        public_key=inputs["public_key"],
        approval_public_key=inputs["approval_public_key"],
    )
    assert (run_dir / "deploy" / "manifest").exists() is deployed


# --- nothing secret leaks: logs, artifacts, compiled YAML -----------------------------------------


def test_no_private_key_material_in_logs_artifacts_or_compiled_yaml(approved_run: LocalRun):
    from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML

    assert approved_run.succeeded and approved_run.keys_generated
    haystacks = [approved_run.log_path, PIPELINE_YAML]
    haystacks += sorted(
        p for p in (approved_run.run_dir / "pipeline-root").rglob("*") if p.is_file()
    )
    haystacks += sorted((PIPELINE_YAML.parents[1] / "components").glob("*/component.yaml"))
    for key in (C.SIGNING_KEY_FILE, "approval-private-key.pem"):
        pem = (approved_run.run_dir / "throwaway-keys" / key).read_text()
        # every task's outputs and executor files were looked at
        assert assert_no_key_material(pem, haystacks) > 20
    # no PEM block of any kind in the log or the compiled YAML: only key paths are passed
    for path in [approved_run.log_path, PIPELINE_YAML]:
        text = path.read_text()
        assert "PRIVATE KEY" not in text and "-----BEGIN" not in text, path
