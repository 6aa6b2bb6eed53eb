"""The gate's two documents, one typed reader/writer each: the decision JSON and the approval.

Golden files (``golden/``) pin both formats, so any format change is a visible diff;
``UPDATE_GOLDEN=1`` rewrites them. The approval is also signed and verified for real, and every
edit of the signed statement is refused.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation import sign_statement
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.gate import (
    Approval,
    ControlResult,
    Decision,
    FloorRef,
    Policy,
    sign_approval,
    verify_approval,
)
from kfp_mlsecops.gate.decision import decide
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, generate_key_pair

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
DIGEST = "sha256:" + "ab" * 32
POLICY = Policy(
    min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="worst_case", robust_epsilon=0.05
)
FLOOR = FloorRef(
    name="builtin-default", environment="any", version=1, digest="sha256:" + "cd" * 32,
    source="builtin",
)  # fmt: skip
RECORD = {"gate_seed": 7, "sampled": 35, "unreproduced": 0, "detection_probability": 0.9904}


def _controls(failed: str | None = None) -> tuple[ControlResult, ...]:
    return tuple(
        ControlResult(cid, f"{cid} holds", 0.5, 0.5, cid != failed, f"{cid} detail")
        for cid in C.REQUIRED_CONTROLS
    )


def _decision(failed: str | None = None) -> Decision:
    return decide(
        _controls(failed),
        model_digest=DIGEST,
        policy=POLICY,
        run_policy=POLICY,
        floor=FLOOR,
        notes=("min_robust_accuracy 0.4 raised to the floor 0.5 (policy 'x' v1)",),
        rederivation=RECORD,
    )


def _approval() -> Approval:
    return Approval(
        model_digest=DIGEST,
        policy=POLICY,
        floor=FLOOR,
        evidence={
            "results": "sha256:" + "01" * 32,
            "attestation": "sha256:" + "02" * 32,
            "signature": "sha256:" + "03" * 32,
            "test_data": "sha256:" + "04" * 32,
        },
        measured={"clean_accuracy": 0.97, "robust_accuracy": 0.85},
        controls=C.REQUIRED_CONTROLS,
        rederivation=RECORD,
        model_name="model",
    )


def _golden(name: str, doc: dict[str, Any]) -> dict[str, Any]:
    path = GOLDEN / name
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        path.write_text(text)
    assert path.read_text() == text, f"{path} is stale (a format change); UPDATE_GOLDEN=1"
    return json.loads(text)


def test_decision_format_is_the_golden_file_and_reads_back() -> None:
    approved = _golden("decision_approved_v2.json", _decision().to_dict())
    read = Decision.from_dict(approved)
    assert read.blessed and read.to_dict() == approved
    blocked = _golden("decision_blocked_v2.json", _decision("evidence.robust").to_dict())
    assert not Decision.from_dict(blocked).blessed


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d.update(schema="kfp-mlsecops/gate-decision/v1"), "schema"),
        (lambda d: d.update(decision="approved' or True or '"), "neither approved nor blocked"),
        (lambda d: d.update(blessed="true"), "expected true or false"),
        (lambda d: d["controls"][0].update(passed=1), "expected true or false"),
        (lambda d: d["controls"].append(d["controls"][0]), "listed twice"),
        (lambda d: d["policy"].update(min_clean_accuracy=2), "'policy' is invalid"),
        (lambda d: d.update(model_digest="md5:1"), "not sha256"),
        (lambda d: d.update(notes="x"), "'notes'"),
    ],
)
def test_malformed_decisions_are_refused_in_one_line(edit, fragment) -> None:
    doc = _decision().to_dict()
    edit(doc)
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        Decision.from_dict(doc)
    assert "\n" not in str(caught.value)


def test_a_decision_claiming_blessed_over_a_failed_control_reads_as_blocked() -> None:
    doc = _decision("signature").to_dict()
    doc["blessed"], doc["decision"] = True, C.DECISION_APPROVED
    assert Decision.from_dict(doc).blessed is False


def test_approval_predicate_is_the_golden_file_and_reads_back() -> None:
    predicate = _golden("approval_predicate_v1.json", _approval().predicate())
    assert Approval.from_predicate(predicate, model_digest=DIGEST) == _approval()


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda p: p.update(decision="blocked"), "decision is 'blocked'"),
        (lambda p: p["controls"].remove("evidence.robust"), "missing: evidence.robust"),
        (lambda p: p["measured"].update(robust_accuracy=True), "measured.robust_accuracy"),
        (lambda p: p["evidence"].pop("signature"), "evidence fields differ"),
        (lambda p: p["floor"].update(version=0), "floor.version"),
        (lambda p: p.update(extra=1), "predicate fields differ"),
    ],
)
def test_malformed_approvals_are_refused(edit, fragment) -> None:
    predicate = _approval().predicate()
    edit(predicate)
    with pytest.raises(ValueError, match=fragment):
        Approval.from_predicate(predicate, model_digest=DIGEST)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    generate_key_pair(tmp_path / "gate.pem", tmp_path / "gate.pub")
    return tmp_path / "gate.pem", tmp_path / "gate.pub"


def _verify(path: Path, public: Path, digest: str = DIGEST) -> Approval:
    return verify_approval(
        path,
        verification=VerificationConfig().use_key(public_key_path=public),
        expected_model_digest=digest,
    )


def test_signed_approval_round_trip_and_tamper_matrix(keys, tmp_path: Path) -> None:
    private, public = keys
    out = tmp_path / "approval.json"
    sign_approval(
        _approval(), signing=SigningConfig().use_key(private_key_path=private), out_path=out
    )
    assert _verify(out, public) == _approval()
    envelope = json.loads(out.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["policy"]["min_robust_accuracy"] = 0.0  # a looser approval
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    out.write_text(json.dumps(envelope))
    with pytest.raises(VerificationError, match="invalid signature"):
        _verify(out, public)
    # a robustness-attestation-typed statement signed by the gate key is not an approval
    sign_statement(
        model_name="model",
        model_digest=DIGEST,
        predicate_type=C.ATTESTATION_PREDICATE_TYPE,
        predicate=_approval().predicate(),
        signing=SigningConfig().use_key(private_key_path=private),
        out_path=out,
    )
    with pytest.raises(VerificationError, match="predicate type"):
        _verify(out, public)
    with pytest.raises(VerificationError, match="does not exist"):
        _verify(tmp_path / "absent.json", public)
