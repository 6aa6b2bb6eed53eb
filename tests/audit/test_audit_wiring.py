"""Gate and deploy append to the audit log: every decision (approved or blocked) and deploy."""

from __future__ import annotations

from pathlib import Path

import pytest
from _release import Release

from kfp_mlsecops.audit import read_log, verify_log
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.deploy import PredictorTrust, run_deploy
from kfp_mlsecops.errors import GateRejected, InvalidInputError
from kfp_mlsecops.gate import run_gate
from kfp_mlsecops.signing import SigningConfig

pytestmark = pytest.mark.slow


def _audit(release: Release, log: Path) -> dict:
    """Audit arguments: the records are signed with the release's approval key pair."""
    signing = SigningConfig().use_key(private_key_path=release.approval_key)
    return {"audit_log": log, "audit_signing": signing, "run_id": "run-7", "pipeline": "p"}


def test_gate_appends_on_approve_and_on_block_then_deploy_appends(
    fresh_release: Release, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "pvc"
    log.mkdir()
    run_gate(**fresh_release.gate_kwargs(gate_seed=0, **_audit(fresh_release, log)))
    model_key = SigningConfig().use_key(private_key_path=fresh_release.private_key)
    with pytest.raises(GateRejected, match="approval_signed") as info:
        run_gate(
            **fresh_release.gate_kwargs(
                gate_seed=0, approval_signing=model_key, **_audit(fresh_release, log)
            )
        )
    assert "NOT in the audit log" not in str(info.value)
    run_gate(**fresh_release.gate_kwargs(gate_seed=0, **_audit(fresh_release, log)))
    result = run_deploy(
        model_dir=fresh_release.model,
        model_uri="minio://mlpipeline/v2/artifacts/run-1/model",
        approval_path=fresh_release.approval,
        verified_digest=fresh_release.digest,
        signature_path=fresh_release.signature,
        attestation_path=fresh_release.attestation,
        public_key_path=fresh_release.public_key,
        approval_public_key_path=fresh_release.approval_public_key,
        name="mnist",
        namespace="kubeflow-user",
        mode="dry-run",
        manifest_path=tmp_path / "deploy" / "isvc.yaml",
        predictor_trust=PredictorTrust.from_method("key"),
        **_audit(fresh_release, log),
    )
    verify_log(log, fresh_release.approval_public_key)
    records = read_log(log)
    assert [(r.kind, r.outcome) for r in records] == [
        ("gate_decision", "approved"),
        ("gate_decision", "blocked"),
        ("gate_decision", "approved"),
        ("deploy", "dry-run"),
    ]
    assert all(r.model_digest == fresh_release.digest and r.run_id == "run-7" for r in records)
    assert records[1].document == fresh_release.decision.name
    assert records[2].document == fresh_release.approval.name
    assert records[3].document == "isvc.yaml" and result.status == "dry-run"

    # The CLI: verify (exit 0, one summary line), show (a table), a wrong key (exit 1).
    pub = str(fresh_release.approval_public_key)
    assert main(["audit", "verify", "--log", str(log), "--public-key", pub]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "4 records verified" in out
    assert main(["audit", "show", "--log", str(log)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["seq", "time", "kind", "outcome", "model", "run"]
    assert len(table) == 5 and "blocked" in table[2]
    other = str(fresh_release.public_key)
    assert main(["audit", "verify", "--log", str(log), "--public-key", other]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "record 1 (line 1) has a bad signature" in err


def test_approval_is_withdrawn_when_it_cannot_be_recorded(
    fresh_release: Release, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text('{"truncated": ')  # a damaged log: nothing can be chained onto it
    fresh_release.approval.unlink()
    with pytest.raises(GateRejected, match="audit_recorded: audit log .* truncated line"):
        run_gate(**fresh_release.gate_kwargs(gate_seed=0, **_audit(fresh_release, log)))
    assert not fresh_release.approval.exists()


def test_blocked_decision_that_cannot_be_recorded_is_still_blocked(
    fresh_release: Release, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text('{"truncated": ')
    model_key = SigningConfig().use_key(private_key_path=fresh_release.private_key)
    kwargs = fresh_release.gate_kwargs(approval_signing=model_key, **_audit(fresh_release, log))
    with pytest.raises(GateRejected, match="approval_signed.*decision is NOT in the audit log"):
        run_gate(**kwargs)


def test_audit_log_needs_a_key_and_a_local_path(fresh_release: Release) -> None:
    with pytest.raises(InvalidInputError, match="audit_log needs audit_signing"):
        run_gate(**fresh_release.gate_kwargs(audit_log="/tmp/x.jsonl"))
    audit = _audit(fresh_release, Path("unused"))
    with pytest.raises(InvalidInputError, match="object storage is not supported"):
        run_gate(**fresh_release.gate_kwargs(**{**audit, "audit_log": "s3://bucket/audit"}))
