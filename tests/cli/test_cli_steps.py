"""Every step as a CLI subcommand: CI can validate, train, attest, gate and deploy without a
cluster, with the same cores as the components. The review's findings, through the real CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from _release import POLICY, Release

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks.results import RobustnessResults
from kfp_mlsecops.cli.main import main

pytestmark = pytest.mark.slow

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_BLOCKED = 0, 1, 2, 3


def _thresholds(policy=POLICY) -> list[str]:
    return [
        "--min-clean-accuracy",
        str(policy.min_clean_accuracy),
        "--min-robust-accuracy",
        str(policy.min_robust_accuracy),
        "--robust-attack",
        policy.robust_attack,
        "--robust-epsilon",
        str(policy.robust_epsilon),
    ]


def _gate(release: Release, *extra: str, thresholds: list[str] | None = None) -> int:
    return main(
        [
            "gate",
            "--model", str(release.model),
            "--signature", str(release.signature),
            "--results", str(release.results),
            "--attestation", str(release.attestation),
            "--test-data", str(release.test_split),
            "--test-data-digest", release.test_digest,
            "--approval-key", str(release.approval_key),
            "--decision-out", str(release.decision),
            "--approval-out", str(release.approval),
            "--public-key", str(release.public_key),
            "--gate-seed", "0",
            *(thresholds if thresholds is not None else _thresholds()),
            *extra,
        ]
    )  # fmt: skip


def _deploy(release: Release, out: Path, *extra: str) -> int:
    return main(
        [
            "deploy",
            "--model", str(release.model),
            "--approval", str(release.approval),
            "--signature", str(release.signature),
            "--attestation", str(release.attestation),
            "--approval-public-key", str(release.approval_public_key),
            "--public-key", str(release.public_key),
            "--service-name", "digits",
            "--namespace", "models",
            "--manifest-out", str(out),
            *extra,
        ]
    )  # fmt: skip


def _one_line(err: str, prefix: str) -> str:
    (line,) = err.strip().splitlines()
    assert line.startswith(prefix), line
    return line


def test_validate_train_attest_gate_deploy_from_the_command_line(tmp_path, capsys):
    """The CI path, every step through the CLI."""
    from kfp_mlsecops.signing import generate_key_pair

    data = tmp_path / "data"
    assert main(["validate", "--data", "digits", "--out-dir", str(data)]) == EXIT_OK
    digests = dict(line.split() for line in capsys.readouterr().out.strip().splitlines())
    model = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "--train-data",
                str(data / "train.npz"),
                "--test-data",
                str(data / "test.npz"),
                "--data-digest",
                digests["data_digest"],
                "--model-out",
                str(model),
                "--epochs",
                "3",
            ]
        )  # fmt: skip
        == EXIT_OK
    )
    results = tmp_path / "results.json"
    code = main(
        [
            "attack",
            "--model", str(model),
            "--data", str(data / "test.npz"),
            "--eps", "0.05,0.1",
            "--json", str(tmp_path / "summary.json"),
            "--results", str(results),
            "--report", str(tmp_path / "report.md"),
        ]
    )  # fmt: skip
    assert code == EXIT_OK
    keys = tmp_path / "keys"
    generate_key_pair(keys / "sign.pem", keys / "sign.pub")
    generate_key_pair(keys / "gate.pem", keys / "gate.pub")
    signature = tmp_path / "model.sig"
    assert (
        main(
            [
                "sign",
                "--model",
                str(model),
                "--signature",
                str(signature),
                "--method",
                "key",
                "--private-key",
                str(keys / "sign.pem"),
            ]
        )  # fmt: skip
        == EXIT_OK
    )
    attestation = tmp_path / "attestation.json"
    code = main(
        [
            "attest",
            "--model", str(model),
            "--results", str(results),
            "--data-digest", digests["data_digest"],
            "--attestation-out", str(attestation),
            "--eps", "0.05,0.1",
            "--private-key", str(keys / "sign.pem"),
            *_thresholds(),
        ]
    )  # fmt: skip
    assert code == EXIT_OK
    capsys.readouterr()
    release = Release(
        root=tmp_path, train_split=data / "train.npz", test_split=data / "test.npz",
        data_digest=digests["data_digest"], test_digest=digests["test_data_digest"],
        model=model, private_key=keys / "sign.pem", public_key=keys / "sign.pub",
        approval_key=keys / "gate.pem", approval_public_key=keys / "gate.pub",
        signature=signature, digest="", results=results, report=tmp_path / "report.md",
        attestation=attestation, decision=tmp_path / "decision.json",
        decision_md=tmp_path / "decision.md", approval=tmp_path / "approval.json",
    )  # fmt: skip
    assert _gate(release) == EXIT_OK
    digest = capsys.readouterr().out.strip()
    assert digest.startswith("sha256:") and release.approval.is_file()
    manifest = tmp_path / "isvc.yaml"
    assert _deploy(release, manifest) == EXIT_OK
    assert digest in manifest.read_text()


def test_gate_exits_3_on_forged_results_naming_the_control(fresh_release, capsys):
    """Finding 1 through the CLI: every point claimed robust, attested with the real key."""
    results = RobustnessResults.read(fresh_release.results)
    forged = dataclasses.replace(
        results,
        clean_correct=np.ones_like(results.clean_correct),
        outcomes={k: np.ones_like(v) for k, v in results.outcomes.items()},
    )
    fresh_release.results.write_text(json.dumps(forged.to_dict()))
    fresh_release.attest()
    fresh_release.approval.unlink()
    assert _gate(fresh_release) == EXIT_BLOCKED
    line = _one_line(capsys.readouterr().err, "mlsecops gate: BLOCKED: ")
    assert "evidence.robust" in line and "forged or not reproducible" in line
    assert not fresh_release.approval.exists()
    assert json.loads(fresh_release.decision.read_text())[C.DECISION] == C.DECISION_BLOCKED


def test_gate_exits_3_on_lax_thresholds_below_the_floor(fresh_release, capsys):
    """Finding 4 through the CLI: min robust 0 at epsilon 0, every masking flag waived."""
    lax = [
        "--min-clean-accuracy", "0", "--min-robust-accuracy", "0",
        "--robust-attack", "fgsm", "--robust-epsilon", "0",
        *(arg for flag in C.MASKING_FLAGS for arg in ("--allow-masking-flag", flag)),
    ]  # fmt: skip
    assert _gate(fresh_release, thresholds=lax) == EXIT_BLOCKED
    assert "policy_floor" in _one_line(capsys.readouterr().err, "mlsecops gate: BLOCKED: ")
    prod = Path(__file__).resolve().parents[2] / "manifests/policy/prod/policy.yaml"
    assert _gate(fresh_release, "--policy", str(prod)) == EXIT_BLOCKED
    assert "tier 'fast' is below" in _one_line(capsys.readouterr().err, "mlsecops gate: ")


def test_deploy_exits_3_on_an_unsigned_decision_or_a_changed_layout(
    fresh_release, tmp_path, capsys
):
    """Findings 3 and 2 through the CLI."""
    out = tmp_path / "isvc.yaml"
    fresh_release.approval.write_text(fresh_release.decision.read_text())
    assert _deploy(fresh_release, out) == EXIT_BLOCKED
    assert "approval" in _one_line(capsys.readouterr().err, "mlsecops deploy: REFUSED: ")
    assert not out.exists()


def test_deploy_exits_3_when_an_empty_version_folder_appears(fresh_release, tmp_path, capsys):
    (fresh_release.model / "2").mkdir()
    out = tmp_path / "isvc.yaml"
    assert _deploy(fresh_release, out) == EXIT_BLOCKED
    assert "'2/' is an empty folder" in _one_line(capsys.readouterr().err, "mlsecops deploy: ")
    assert not out.exists()


def test_attest_refuses_results_of_another_model_and_bad_options(fresh_release, capsys):
    doc = json.loads(fresh_release.results.read_text())
    doc[C.MODEL_DIGEST] = "sha256:" + "4" * 64
    fresh_release.results.write_text(json.dumps(doc))
    code = main(
        [
            "attest",
            "--model", str(fresh_release.model),
            "--results", str(fresh_release.results),
            "--data-digest", fresh_release.data_digest,
            "--attestation-out", str(fresh_release.attestation),
            "--private-key", str(fresh_release.private_key),
            *_thresholds(),
        ]
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert "were computed for model" in _one_line(capsys.readouterr().err, "mlsecops attest: ")
    with pytest.raises(SystemExit):
        main(["gate", "--model", "m"])  # argparse names the missing options


def test_every_step_has_help(capsys):
    for step in ("validate", "train", "attack", "attest", "sign", "gate", "deploy", "verify"):
        with pytest.raises(SystemExit) as info:
            main([step, "--help"])
        assert info.value.code == 0
        assert "usage: mlsecops " + step in capsys.readouterr().out


def test_validate_reads_a_parquet_table_for_evaluation_only(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=(60, 3))
    table = {"f0": x[:, 0], "f1": x[:, 1], "f2": x[:, 2], "cls": np.arange(60) % 3}
    pq.write_table(pa.table(table), tmp_path / "eval.parquet")
    out = tmp_path / "out"
    argv = ["validate", "--data", str(tmp_path / "eval.parquet"), "--out-dir", str(out)]
    argv += ["--label-column", "cls", "--value-min", "-1", "--evaluation-only"]
    assert main(argv) == EXIT_OK
    printed = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluation_only"] is True
    assert printed["test_data_digest"] == manifest["splits"]["test"]["digest"]
    assert manifest["splits"]["test"]["n_samples"] == 60
    # a file that is not what --dataset-format says is one line naming it
    argv = ["validate", "--data", str(tmp_path / "eval.parquet"), "--out-dir", str(out)]
    assert main([*argv, "--dataset-format", "npz"]) == EXIT_USAGE
    assert "not a readable NPZ archive" in _one_line(capsys.readouterr().err, "mlsecops validate: ")


def test_deploy_renders_the_canary_and_checks_the_wait_timeout(fresh_release, tmp_path, capsys):
    import yaml

    out = tmp_path / "isvc.yaml"
    assert _deploy(fresh_release, out, "--canary-traffic-percent", "20") == EXIT_OK
    *_, isvc = yaml.safe_load_all(out.read_text())
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 20
    capsys.readouterr()
    for flag, value, words in (
        ("--canary-traffic-percent", "101", "canary traffic percent 101"),
        ("--wait-timeout", "-5", "deploy wait timeout -5.0"),
    ):
        other = tmp_path / f"{value}.yaml"
        assert _deploy(fresh_release, other, flag, value) != EXIT_OK
        assert words in _one_line(capsys.readouterr().err, "mlsecops deploy: ")
        assert not other.exists()
