"""`mlsecops check` on a genuine local run (kfp.local, once per module): the profile, the reporters
parsed by a real JUnit consumer, waivers, --controls, a missing threat model, a tampered model."""

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped

from kfp_mlsecops.cli.main import main
from kfp_mlsecops.cli.run_local import LocalRun, run_pipeline_locally
from kfp_mlsecops.compliance import load_profile

pytestmark = pytest.mark.slow

FAST = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10}
REPO = Path(__file__).resolve().parents[2]
#: The default predictor image is a tag (the repo cannot know a registry digest): minor failure.
UNPINNED = "mlsvs-image-pinned"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> LocalRun:
    result = run_pipeline_locally(output_dir=tmp_path_factory.mktemp("approved"), arguments=FAST)
    assert result.succeeded, result.error
    return result


def _key(run: LocalRun) -> Path:
    return run.run_dir / "throwaway-keys" / "public-key.pem"


def _check(run_dir: Path, tmp_path: Path, *extra: str, key: Path | None = None) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    args = ["check", "--run", str(run_dir), "--reporter", "cli", f"json:{out}"]
    if key is not None:
        args += ["--public-key", str(key)]
    code = main([*args, *extra])
    return code, json.loads(out.read_text())


def _status(report: dict) -> dict:
    return {c["id"]: c["status"] for c in report["controls"]}


def _waivers(tmp_path: Path, expires: date) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        f"waivers:\n  - control: {UNPINNED}\n    reason: registry digest pinned at release\n"
        f"    expires: {expires.isoformat()}\n"
    )
    return path


def test_genuine_run_passes_every_run_control_but_the_unpinned_image(run, tmp_path, capsys):
    junit, markdown = tmp_path / "check.xml", tmp_path / "check.md"
    code, report = _check(
        run.run_dir,
        tmp_path,
        "--threat-model",
        str(REPO / "THREAT_MODEL.md"),
        "--reporter",
        "cli",
        f"json:{tmp_path / 'report.json'}",
        f"junit:{junit}",
        f"markdown:{markdown}",
        key=_key(run),
    )
    status = _status(report)
    ids = [c.id for c in load_profile("mlsvs").controls]
    assert list(status) == ids
    cluster = [i for i in ids if i.startswith("mlsvs-cluster-")]  # no --namespace: not run
    assert {i: s for i, s in status.items() if s != "passed"} == {
        UNPINNED: "failed",
        **dict.fromkeys(cluster, "not_run"),
    }
    assert code == 4 and report["exit_code"] == 4  # only a control below impact 0.7 failed
    gate = next(c for c in report["controls"] if c["id"] == "mlsvs-gate-approved")
    assert gate["evidence"] == ["gate/decision"]
    assert len(gate["findings"]) == 15 and all(f["passed"] for f in gate["findings"])
    signed = next(c for c in report["controls"] if c["id"] == "mlsvs-model-signed")
    assert "sign-model/signature" in signed["evidence"] and "train/model" in signed["evidence"]
    assert "[   PASS] mlsvs-model-signed" in capsys.readouterr().out

    xml = JUnitXml.fromfile(str(junit))
    (suite,) = list(xml)
    assert suite.name == "mlsvs"
    skipped = len(cluster)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (len(ids), 1, 0, skipped)
    cases = {case.name: case for case in suite}
    assert list(cases) == ids
    (failure,) = cases[UNPINNED].result
    assert isinstance(failure, Failure) and "is a tag, not a digest" in failure.message
    assert cases["mlsvs-model-signed"].is_passed

    text = markdown.read_text()
    assert text.startswith("# Compliance: OWASP MLSVS baseline")
    assert f"| FAIL | {UNPINNED} | 0.5 |" in text


def test_a_future_waiver_waives_an_expired_one_does_not(run, tmp_path):
    future = _waivers(tmp_path, date.today() + timedelta(days=30))
    code, report = _check(run.run_dir, tmp_path, "--waivers", str(future), key=_key(run))
    assert code == 0 and _status(report)[UNPINNED] == "waived"
    waived = next(c for c in report["controls"] if c["id"] == UNPINNED)
    assert waived["check_status"] == "failed" and waived["waiver"]["expired"] is False

    expired = _waivers(tmp_path, date.today() - timedelta(days=1))
    junit = tmp_path / "expired.xml"
    code, report = _check(
        run.run_dir,
        tmp_path,
        "--waivers",
        str(expired),
        "--reporter",
        f"json:{tmp_path / 'report.json'}",
        f"junit:{junit}",
        key=_key(run),
    )
    assert code == 4 and _status(report)[UNPINNED] == "failed"
    assert next(c for c in report["controls"] if c["id"] == UNPINNED)["waiver"]["expired"]
    (failure,) = {c.name: c for c in list(JUnitXml.fromfile(str(junit)))[0]}[UNPINNED].result
    assert "waiver expired on" in failure.message


def test_without_a_public_key_signature_controls_are_not_run_and_skipped_in_junit(run, tmp_path):
    junit = tmp_path / "check.xml"
    signing = ["mlsvs-model-signed", "mlsvs-robustness-attested"]
    code, report = _check(
        run.run_dir,
        tmp_path,
        "--controls",
        *signing,
        "mlsvs-gate-approved",
        "--reporter",
        f"json:{tmp_path / 'report.json'}",
        f"junit:{junit}",
    )
    assert code == 0  # not run is not failed; the report says so
    assert _status(report) == {**dict.fromkeys(signing, "not_run"), "mlsvs-gate-approved": "passed"}
    assert report["summary"]["not_run"] == 2
    (suite,) = list(JUnitXml.fromfile(str(junit)))
    assert (suite.tests, suite.failures, suite.skipped) == (3, 0, 2)
    for case in suite:
        if case.name in signing:
            (skipped,) = case.result
            assert isinstance(skipped, Skipped) and "--public-key" in skipped.message


def test_a_missing_threat_model_fails_its_control(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no THREAT_MODEL.md here nor in the run folder
    code, report = _check(run.run_dir, tmp_path, "--controls", "mlsvs-threat-model")
    assert code == 3 and _status(report) == {"mlsvs-threat-model": "failed"}
    assert "write one or pass --threat-model" in report["controls"][0]["detail"]

    missing = tmp_path / "nowhere" / "THREAT_MODEL.md"
    code, report = _check(
        run.run_dir, tmp_path, "--controls", "mlsvs-threat-model", "--threat-model", str(missing)
    )
    assert code == 3 and str(missing) in report["controls"][0]["detail"]


def test_a_tampered_model_fails_the_signature_and_attestation_controls(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    (model,) = copy.glob("pipeline-root/*/train/model")
    provenance = model / "provenance.json"
    provenance.write_text(provenance.read_text().replace('"cnn"', '"mlp"'))
    code, report = _check(copy, tmp_path, key=_key(run))
    status = _status(report)
    assert status["mlsvs-model-signed"] == "failed"
    assert status["mlsvs-robustness-attested"] == "failed"
    assert code == 3
    detail = next(c for c in report["controls"] if c["id"] == "mlsvs-model-signed")["detail"]
    assert "does not verify" in detail and "do not deploy" in detail and "\n" not in detail


def test_a_bad_waiver_file_is_a_one_line_error(run, tmp_path, capsys):
    bad = tmp_path / "waivers.yaml"
    bad.write_text("waivers:\n  - control: mlsvs-nope\n    reason: x\n    expires: 2030-01-01\n")
    assert main(["check", "--run", str(run.run_dir), "--waivers", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'mlsvs-nope' is not in profile mlsvs; fix the id" in err
